"""Output folders that are either complete or absent, and written by one job at a time.

Every command that writes a folder (``--out``) goes through :func:`output_folder`:

1. **A lock.** ``.<name>.lock`` beside the folder holds an exclusive ``flock`` and names
   its holder (pid, host, start time, command). A second job aiming at the same folder
   gets :class:`FolderBusy` (one line naming the holder) and writes nothing. The kernel
   drops the lock when its process dies, so a ``kill -9`` leaves no stale lock: the next
   job takes it over (the file's old content is just overwritten).
2. **A staging folder.** The command writes into ``.<name>.partial-<pid>`` beside the
   folder, never into the folder itself.
3. **One rename.** When the command succeeds the staging folder takes the folder's place
   in one atomic exchange (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames
   whose gap is repaired by the next job). A failure or a kill at any instant before that
   leaves the earlier folder (or none) as it was; the next job on the folder removes the
   dead job's staging folder.

With ``force`` an existing folder is replaced, but the files in it that the command does
not write (a user's notes) are carried over into the new one as hard links first, so they
survive whatever instant the job dies at.

Why a sibling and not a subfolder: the rename must stay on one file system and must not
be visible inside the folder a reader lists. Why ``flock`` and not a pid file alone: the
kernel releases it on any death, so staleness never has to be guessed from a pid (pids
are reused, and a pid on another host cannot be checked); the pid and host in the file
are for the message only. On network file systems without ``flock`` the lock is
advisory at best: run one job per folder there.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import socket
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from asnn_sim.util.atomic import disk_full_error

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock is then only the pid file's word
    fcntl = None


class FolderBusy(ValueError):
    """Another live job holds the folder's lock (a one-line message naming it)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a folder's lock, as written in its lock file."""

    pid: int
    host: str
    since: str
    command: str

    @classmethod
    def me(cls) -> "Holder":
        command = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))[:200]
        return cls(os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%d %H:%M:%S"), command or "python")

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since} ({self.command})"


def lock_path(out: Path) -> Path:
    """The lock file of folder ``out`` (a hidden sibling)."""
    return out.parent / f".{out.name}.lock"


def staging_path(out: Path, pid: int | None = None) -> Path:
    """Where the job with ``pid`` (default: this one) stages ``out``."""
    return out.parent / f".{out.name}.partial-{os.getpid() if pid is None else pid}"


def _old_path(out: Path) -> Path:
    return out.parent / f".{out.name}.old-{os.getpid()}"


def _wait_for_holder(fd: int, patience_s: float = 1.0) -> Holder | None:
    """The holder named in the open lock file ``fd``, waiting briefly for it to be written.

    A job takes the lock before it writes its name, so a refusal that lands in between
    would otherwise say "another job". Reading our own descriptor, not the path, still
    finds the name if the holder finishes and unlinks the file meanwhile.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return Holder(**json.loads(os.pread(fd, 1 << 16, 0)))
        except (OSError, ValueError, TypeError):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)


@contextmanager
def folder_lock(out: str | os.PathLike) -> Iterator[None]:
    """Hold the lock of folder ``out`` for the block, or raise :class:`FolderBusy`.

    The parent folder must exist. The lock file is removed on release.
    """
    out = Path(out)
    path = lock_path(out)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _wait_for_holder(fd)
            os.close(fd)
            who = holder.describe() if holder else "another job"
            raise FolderBusy(f"{out} is being written by {who}; wait for it to finish or choose another folder") from None
        # A releasing holder unlinks the file before it lets go: if our lock is on an
        # unlinked file, someone else may already hold a fresh one at this path. Retry.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(asdict(Holder.me())).encode())
        yield
    finally:
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # releases the flock


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step; False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # glibc < 2.28, musl
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # kernel or file system without it
        return False
    raise OSError(code, os.strerror(code), str(a))


def _repair(out: Path) -> None:
    """Undo what a dead job left beside ``out`` (call with the lock held)."""
    old = sorted(out.parent.glob(f".{out.name}.old-*"))
    if old and not out.exists():
        # Killed between the two renames of the fallback swap: the old folder is whole.
        os.rename(old[-1], out)
        old = old[:-1]
    for leftover in [*old, *out.parent.glob(f".{out.name}.partial-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _carry_over(out: Path, stage: Path, files: tuple[str, ...]) -> None:
    """Hard-link into ``stage`` what ``out`` holds that the command neither writes nor wrote."""
    for entry in out.iterdir():
        if entry.name in files or (stage / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, stage / entry.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, stage / entry.name)


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:  # a file system without hard links
        shutil.copy2(src, dst, follow_symlinks=False)


def _install(stage: Path, out: Path, files: tuple[str, ...]) -> None:
    if not out.exists():
        os.rename(stage, out)
        return
    _carry_over(out, stage, files)
    if _exchange(stage, out):
        shutil.rmtree(stage)  # now the previous folder
        return
    old = _old_path(out)
    os.rename(out, old)
    os.rename(stage, out)
    shutil.rmtree(old)


@contextmanager
def output_folder(out: str | os.PathLike, files: tuple[str, ...] = (), *, force: bool = False,
                  hint: str = "pass --force to overwrite its results") -> Iterator[Path]:
    """Lock ``out`` and yield an empty staging folder that replaces ``out`` when the block succeeds.

    Parameters
    ----------
    out : path
        The folder the command writes (``--out``).
    files : tuple of str
        Names the command writes into it (files or folders). With ``force`` these are
        replaced and everything else in ``out`` is kept.
    force : bool
        Replace a non-empty ``out``; without it a non-empty ``out`` is refused before any
        work (``ValueError``).
    hint : str
        How to get past the refusal, ending its message.

    Yields
    ------
    pathlib.Path
        The staging folder: write every output there.

    Raises
    ------
    FolderBusy
        Another live job holds ``out``.
    ValueError
        ``out`` is a file, or is not empty and ``force`` is not set.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "run1"
    >>> with output_folder(out, ("summary.json",)) as stage:
    ...     _ = (stage / "summary.json").write_text("{}")
    >>> sorted(p.name for p in out.parent.iterdir()), (out / "summary.json").read_text()
    (['run1'], '{}')
    """
    shown = Path(out)  # as the user wrote it, for messages
    with locked_folder(out) as out:
        if not force and out.is_dir() and any(out.iterdir()):
            raise ValueError(f"--out {shown} already exists; {hint}")
        stage = staging_path(out)
        stage.mkdir()
        try:
            yield stage
            _install(stage, out, files)
        except Exception as e:
            full = disk_full_error(e, shown)  # in the library's own words, often not an OSError
            if full is not None:
                raise full from e
            raise
        finally:
            shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def locked_folder(out: str | os.PathLike) -> Iterator[Path]:
    """Hold ``out``'s lock for the block, after repairing what a dead job left beside it.

    For a command that writes its folder in place over a long time (``asnn train`` and its
    checkpoints). Parent folders are created; those this call created are removed again
    if the block fails while they are empty. Yields ``out`` as an absolute path.

    Raises
    ------
    FolderBusy
        Another live job holds ``out``.
    ValueError
        ``out`` exists and is not a folder.
    """
    shown = Path(out)
    out = Path(os.path.abspath(out))  # "." and "runs/" have a name and a parent
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {shown} exists and is not a directory")
    created = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with folder_lock(out):
            _repair(out)
            yield out
    except BaseException:
        for parent in created:  # innermost first; only the folders this call made, while empty
            try:
                parent.rmdir()
            except OSError:
                break
        raise
