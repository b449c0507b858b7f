"""Every writing command on a full disk: one line naming the file, exit 1, nothing left behind.

The commands run in a private mount namespace (``unshare``) on a 64 KiB tmpfs, so the
disk is really full (torch, safetensors, HDF5 and pyarrow each meet ENOSPC in their own
code) and nothing stays mounted if the test dies.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A trained run, its graph, its NIR file and a replay, all on the real disk."""
    from asnn_sim.app.cli import main

    d = tmp_path_factory.mktemp("inputs")
    common = ["--epochs", "1", "--limit", "40", "--timesteps", "2", "--quiet"]
    assert main(["train", *common, "--out", str(d / "run")]) == 0
    assert main(["train", *common, "--no-asnn", "--reset", "hard", "--pool", "avg", "--encoding", "direct",
                 "--out", str(d / "plain")]) == 0
    assert main(["export", str(d / "run"), "-o", str(d / "g.asnn")]) == 0
    assert main(["export", str(d / "plain"), "--format", "nir", "-o", str(d / "g.nir")]) == 0
    assert main(["simulate", str(d / "g.asnn"), "--limit", "16", "--out", str(d / "counts"), "--quiet"]) == 0
    return d


def _commands(d: Path, full: Path) -> dict[str, list[str]]:
    return {
        "train": ["train", "--epochs", "1", "--limit", "40", "--timesteps", "2", "--quiet", "--out", f"{full}/run"],
        "export": ["export", f"{d}/run", "-o", f"{full}/g.asnn"],
        "export nir": ["export", f"{d}/plain", "--format", "nir", "-o", f"{full}/g.nir"],
        "import": ["import", f"{d}/g.nir", "-o", f"{full}/i.asnn"],
        "simulate": ["simulate", f"{d}/g.asnn", "--limit", "16", "--out", f"{full}/counts", "--quiet"],
        "energy": ["energy", f"{d}/counts", "--out", f"{full}/energy"],
        "compare": ["compare", "--encodings", "hybrid", "--epochs", "1", "--limit", "8", "--seeds", "0", "--no-ann",
                    "--hw", "loihi", "--cache-dir", f"{d}/cache", "--out", f"{full}/report", "--quiet"],
    }


def test_every_writing_command_on_a_full_disk(inputs, tmp_path):
    if shutil.which("unshare") is None:
        pytest.fail("this test needs util-linux's unshare (a private mount namespace for a small tmpfs)")
    full, logs = tmp_path / "full", tmp_path / "logs"
    full.mkdir()
    logs.mkdir()
    commands = _commands(inputs, full)
    lines = [f"mount -t tmpfs -o size=64k tmpfs {full} || exit 99"]
    for name, argv in commands.items():
        tag = name.replace(" ", "-")
        run = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "asnn_sim.cli", *argv])
        lines.append(f"{run} > {logs}/{tag}.out 2> {logs}/{tag}.err; echo $? > {logs}/{tag}.rc; "
                     f"ls -A {full} > {logs}/{tag}.left")
    namespace = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    done = subprocess.run([*namespace, "sh", "-c", "\n".join(lines)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode != 99, f"could not mount a tmpfs in a private namespace: {done.stderr}"
    for name in commands:
        tag = name.replace(" ", "-")
        err = (logs / f"{tag}.err").read_text().strip().splitlines()
        assert (logs / f"{tag}.rc").read_text().strip() == "1", (name, err)
        assert len(err) == 1 and err[0].startswith("asnn: error: ") and "no space left on device" in err[0].lower(), (name, err)
        assert (logs / f"{tag}.left").read_text().split() == [], (name, "left behind")
