"""Atomic file writes: write to a temporary file in the same folder, then rename.

A crash or Ctrl-C mid-write leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out.csv"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("a,b")
    >>> out.read_text(), [p.name for p in out.parent.iterdir()]
    ('a,b', ['out.csv'])
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp creates 0600 files; results are meant to be shared, so use the usual mode.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        full = disk_full_error(e, path)
        if full is not None:
            raise full from e
        raise


#: Free bytes below which a failed write is taken for a full disk.
NEARLY_FULL = 1 << 20


def disk_full_error(error: BaseException, path: str | os.PathLike) -> OSError | None:
    """An ``OSError(ENOSPC)`` naming ``path`` if ``error`` is a write that failed on a full disk.

    Libraries report a full disk in their own words (torch: "unexpected pos ...",
    safetensors: "I/O error ... os error 28", h5py, pyarrow): a failure counts as one when
    its message says so or when the folder has under :data:`NEARLY_FULL` bytes free
    afterwards. None for anything else (it is re-raised as it is).
    """
    import errno
    import shutil

    if not isinstance(error, Exception) or isinstance(error, (ValueError, OSError)):  # one-line messages already
        return None
    text = str(error)
    said = "No space left" in text or "os error 28" in text
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        nearly_full = shutil.disk_usage(folder).free < NEARLY_FULL
    except OSError:
        nearly_full = False
    if not (said or nearly_full):
        return None
    return OSError(errno.ENOSPC, f"cannot write {path}: no space left on device")


def prepare_output_dir(out: str | os.PathLike, files: tuple[str, ...], force: bool, hint: str = "pass --force to overwrite its results") -> Path:
    """Create ``out``, refusing to mix new results into a non-empty folder unless ``force``.

    With ``force`` only ``files`` (what the command writes) are removed, never a user's
    other files. Raises ``ValueError`` with a one-line message; ``hint`` ends it.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ValueError(f"--out {out} already exists; {hint}")
        for name in files:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


@contextmanager
def removed_on_failure(out: str | os.PathLike, files: tuple[str, ...] = (), keep: str | None = None) -> Iterator[Path]:
    """Undo the creation of ``out`` if the block fails (an error or Ctrl-C).

    Enter it *before* the folder is created. On failure, if ``out`` did not exist on entry
    (and ``out/keep`` does not exist now: e.g. a checkpoint worth resuming), the
    command's own ``files`` are removed from it, then ``out`` and the parent folders
    created with it are removed while empty. A folder that existed before, or that holds
    anything else (a user's file), is never touched. The exception propagates.
    """
    out = Path(out)
    created = None  # the outermost folder the command will create
    probe = out
    while not probe.exists():
        created = probe
        if probe.parent == probe:
            break
        probe = probe.parent
    try:
        yield out
    except BaseException:
        if created is not None and out.is_dir() and not (keep and (out / keep).exists()):
            for name in files:
                (out / name).unlink(missing_ok=True)
            folder = out
            while True:
                try:
                    folder.rmdir()  # only succeeds on an empty folder
                except OSError:
                    break
                if folder == created:
                    break
                folder = folder.parent
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write a text file (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj) -> None:
    """Atomically write ``obj`` as indented JSON."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
