"""Supplied input frames: spike trains or analog frames a user brings in ``.npy``/``.npz`` files.

Graphs imported from other frameworks (``asnn import``) are usually fed recorded or
pre-encoded streams rather than images through one of this package's encoders; ``asnn
simulate --inputs FILE --layout TN|NT`` reads them with :func:`load_frames`. Whether a
step holds spikes or values is decided by the data (see
:func:`asnn_sim.encoding.frame_kinds_of`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

LAYOUTS = {"TN": "(T, N, ...): time first", "NT": "(N, T, ...): samples first"}


def load_frames(path: str | Path, layout: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Frames and optional labels from ``path``.

    Parameters
    ----------
    path : str or Path
        ``.npy``: the frames (memory-mapped, so only the batches being replayed are read).
        ``.npz``: an array ``frames`` (or the file's only array) and optionally ``labels``
        (``(N,)`` class indices).
    layout : {"TN", "NT"}
        The frames' leading axes: ``(T, N, ...)`` or ``(N, T, ...)``.

    Returns
    -------
    frames, labels : numpy.ndarray, numpy.ndarray or None

    Raises
    ------
    ValueError
        One line naming the file and the problem.
    """
    path = Path(path)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    labels = None
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.files)
                key = "frames" if "frames" in names else (names[0] if len(names) == 1 else None)
                if key is None:
                    raise ValueError(f"{path}: holds {', '.join(names)}; name the frames array 'frames'")
                frames = archive[key]
                if "labels" in names:
                    labels = archive["labels"]
        else:
            frames = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npy/.npz file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if frames.dtype.kind not in "fiub":
        raise ValueError(f"{path}: frames must be numbers, got dtype {frames.dtype}")
    if frames.ndim < 3:
        raise ValueError(f"{path}: frames must have at least 3 axes ({', '.join(layout)}, features...), got shape {frames.shape}")
    n = frames.shape[1] if layout == "TN" else frames.shape[0]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != n:
            raise ValueError(f"{path}: labels must be {n} integer class indices (one per sample), got {labels.dtype}{list(labels.shape)}")
    return frames, labels
