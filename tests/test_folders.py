"""Output folders complete or absent, one writer at a time (asnn_sim/util/folders.py), under faults."""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from asnn_sim.util import folders
from asnn_sim.util.folders import FolderBusy, folder_lock, output_folder

FILES = ("a.txt", "b.txt", "c.txt", "figures")


def _write_all(stage: Path, tag: str) -> None:
    for name in FILES[:3]:
        (stage / name).write_text(tag)
    (stage / "figures").mkdir()
    (stage / "figures" / "f.png").write_text(tag)


def _siblings(out: Path) -> list[str]:
    """Anything the machinery left beside the folder."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _tag_of(out: Path) -> str:
    """The single tag every output file carries, or an AssertionError for a mixed or partial folder."""
    tags = {(out / n).read_text() for n in FILES[:3]} | {(out / "figures" / "f.png").read_text()}
    assert len(tags) == 1, f"mixed folder: {tags}"
    return tags.pop()


def test_a_finished_block_leaves_the_folder_and_nothing_beside_it(tmp_path):
    out = tmp_path / "deep" / "run"
    with output_folder(out, FILES) as stage:
        assert not out.exists() and stage.parent == out.parent
        _write_all(stage, "one")
    assert _tag_of(out) == "one" and _siblings(out) == []


def test_a_failed_block_leaves_no_folder_and_removes_the_parents_it_made(tmp_path):
    out = tmp_path / "deep" / "er" / "run"
    with pytest.raises(RuntimeError), output_folder(out, FILES) as stage:
        _write_all(stage, "one")
        raise RuntimeError("disk full")
    assert not (tmp_path / "deep").exists()


def test_a_failed_forced_rerun_keeps_the_earlier_folder_whole(tmp_path):
    out = tmp_path / "run"
    with output_folder(out, FILES) as stage:
        _write_all(stage, "old")
    with pytest.raises(KeyboardInterrupt), output_folder(out, FILES, force=True) as stage:
        (stage / "a.txt").write_text("new")
        raise KeyboardInterrupt
    assert _tag_of(out) == "old" and _siblings(out) == []


def test_without_force_a_non_empty_folder_is_refused_before_the_block(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "a.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists; pass --force"), output_folder(out, FILES):
        pytest.fail("the block ran")
    assert (out / "a.txt").read_text() == "mine" and _siblings(out) == []
    (out / "a.txt").unlink()
    with output_folder(out, FILES) as stage:  # an empty folder is fine
        _write_all(stage, "one")
    assert _tag_of(out) == "one"


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_force_replaces_the_commands_files_and_keeps_the_users(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    out = tmp_path / "run"
    with output_folder(out, FILES) as stage:
        _write_all(stage, "old")
    (out / "notes.txt").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "x.txt").write_text("deep")
    with output_folder(out, FILES, force=True) as stage:
        for name in FILES[:2]:  # this run writes fewer files
            (stage / name).write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "mine", "notes.txt"]
    assert (out / "a.txt").read_text() == "new" and (out / "notes.txt").read_text() == "mine"
    assert (out / "mine" / "x.txt").read_text() == "deep" and _siblings(out) == []


def test_a_second_writer_is_told_who_holds_the_folder(tmp_path):
    out = tmp_path / "run"
    with output_folder(out, FILES):
        with pytest.raises(FolderBusy, match=rf"being written by pid {os.getpid()} on .* since .*choose another folder"):
            with output_folder(out, FILES, force=True):
                pytest.fail("two writers")
    assert _siblings(out) == []


def test_a_dead_jobs_lock_and_staging_folder_do_not_block_the_next(tmp_path):
    out = tmp_path / "run"
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from asnn_sim.util.folders import output_folder
with output_folder({str(out)!r}, ("a.txt",)) as stage:
    (stage / "a.txt").write_text("dead")
    os.kill(os.getpid(), 9)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    assert not out.exists() and folders.lock_path(out).exists()  # the dead job's files stay...
    with output_folder(out, FILES) as stage:  # ...until the next job on the folder
        _write_all(stage, "next")
    assert _tag_of(out) == "next" and _siblings(out) == []


def test_a_job_killed_between_the_two_renames_gets_its_old_folder_back(tmp_path):
    out = tmp_path / "run"
    with output_folder(out, FILES) as stage:
        _write_all(stage, "old")
    os.rename(out, out.parent / f".{out.name}.old-999999")  # what a kill there leaves
    (out.parent / f".{out.name}.partial-999999").mkdir()
    with pytest.raises(ValueError, match="already exists"), output_folder(out, FILES):
        pass  # the repair puts the whole old folder back, which then is not empty
    assert _tag_of(out) == "old" and _siblings(out) == []


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from asnn_sim.util.folders import output_folder
    out, tag, force = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    print("started", flush=True)
    with output_folder(out, ("a.txt", "b.txt", "c.txt", "figures"), force=force) as stage:
        for name in ("a.txt", "b.txt", "c.txt"):
            (stage / name).write_text(tag)
            time.sleep(0.01)
        (stage / "figures").mkdir()
        (stage / "figures" / "f.png").write_text(tag)
""")


def _writer(tmp_path: Path, out: Path, tag: str, force: bool) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(Path(__file__).resolve().parents[1])))
    return subprocess.Popen([sys.executable, str(script), str(out), tag, "1" if force else "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_kill_9_at_random_instants_leaves_the_old_folder_or_the_new_one(tmp_path):
    rng = random.Random(21)
    out = tmp_path / "run"
    outcomes = {"old": 0, "new": 0}
    for k in range(8):
        if k % 2:  # every other round starts from a complete earlier folder, the others from none
            with output_folder(out, FILES, force=True) as stage:
                _write_all(stage, "old")
        else:
            shutil.rmtree(out, ignore_errors=True)
        proc = _writer(tmp_path, out, "new", force=True)
        assert proc.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.0, 0.06))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert out.exists() or not k % 2  # an earlier folder is never lost
        if out.exists():
            outcomes[_tag_of(out)] += 1  # complete and unmixed, whichever it is
        with output_folder(out, FILES, force=True) as stage:  # the next job is never blocked
            _write_all(stage, "after")
        assert _tag_of(out) == "after" and _siblings(out) == []


def test_two_concurrent_writers_never_mix_one_folder(tmp_path):
    out = tmp_path / "run"
    for _ in range(3):
        procs = [_writer(tmp_path, out, tag, force=True) for tag in ("x", "y")]
        results = [(p.wait(), p.stderr.read()) for p in procs]
        assert _tag_of(out) in ("x", "y")
        for code, err in results:  # each either finished or was refused naming the other
            assert code == 0 or ("being written by pid" in err and code == 1), err
        assert _siblings(out) == []


def test_the_lock_alone_is_reentrant_for_nobody(tmp_path):
    with folder_lock(tmp_path / "x"):
        with pytest.raises(FolderBusy):
            with folder_lock(tmp_path / "x"):
                pass
    with folder_lock(tmp_path / "x"):  # released
        pass
    assert not folders.lock_path(tmp_path / "x").exists()


def test_a_refusal_in_the_instant_before_the_holder_writes_its_name_still_names_it(tmp_path):
    # The holder takes the flock first and writes its name just after; a second job
    # refused in between must wait for the name (this race failed CI once).
    out = tmp_path / "run"
    fd = os.open(folders.lock_path(out), os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    holder = folders.Holder(4242, "elsewhere", "2026-12-06 00:00:00", "asnn train")
    late = threading.Timer(0.2, lambda: os.write(fd, json.dumps(folders.asdict(holder)).encode()))
    late.start()
    try:
        with pytest.raises(FolderBusy, match="being written by pid 4242 on elsewhere"):
            with folder_lock(out):
                pass
    finally:
        late.join()
        os.close(fd)
