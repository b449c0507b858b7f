"""Supplied input frames: spike trains or analog frames a user brings in ``.npy``/``.npz`` files.

Graphs imported from other frameworks (``asnn import``) and graphs built with
``GraphBuilder(shape, encoding="frames")`` are fed recorded or pre-encoded streams rather
than images through one of this package's encoders; ``asnn simulate --inputs FILE
--layout TN|NT`` reads them with :func:`load_frames`, and ``simulate(graph, frames=...,
layout=...)`` takes an array. Whether a step holds spikes or values is decided by the
data (see :func:`asnn_sim.graph.encoding.frame_kinds_of`): event counts above 1 in a
pixel make the step analog, which is what they are.

Event cameras: Tonic's ``ToFrame(sensor_size, n_time_bins=T)`` turns one sample's events
into ``(T, C, H, W)`` (C = polarities, int16 event counts). A list of those is one
``"TN"`` array stacked along a new axis 1, or one ``"NT"`` array along axis 0
(:func:`stack_frames` does either and checks the samples agree).
"""

from __future__ import annotations

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
    frames, labels = _read(path, "frames")
    if frames.ndim < 3:
        raise ValueError(f"{path}: frames must have at least 3 axes ({', '.join(layout)}, features...), got shape {frames.shape}")
    return frames, _checked_labels(path, labels, frames.shape[1] if layout == "TN" else frames.shape[0])


def load_images(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Images ``(N, *input_shape)`` in [0, 1] and optional labels, for a graph's own encoder.

    ``.npy`` files are memory-mapped (a dataset larger than memory replays in bounded
    memory); ``.npz`` files hold ``images`` (or one array) and optionally ``labels``.
    Raises ``ValueError`` with one line naming the file and the problem.
    """
    path = Path(path)
    images, labels = _read(path, "images")
    if images.ndim < 2:
        raise ValueError(f"{path}: images must be (N, features...) or (N, C, H, W), got shape {images.shape}")
    return images, _checked_labels(path, labels, images.shape[0])


def stack_frames(samples, layout: str = "TN") -> np.ndarray:
    """One array of frames from per-sample frames ``(T, *input_shape)``.

    Parameters
    ----------
    samples : sequence of array_like
        One ``(T, ...)`` array per sample, all of one shape, e.g. the ``(T, C, H, W)``
        int16 event counts of Tonic's ``ToFrame(sensor_size, n_time_bins=T)``.
    layout : {"TN", "NT"}
        Stack along a new axis 1, ``(T, N, ...)``, or axis 0, ``(N, T, ...)``; pass the
        same ``layout`` to ``simulate``.

    Returns
    -------
    numpy.ndarray
        The samples stacked, in their own dtype (counts stay integers).

    Raises
    ------
    ValueError
        One line naming the first sample that differs from sample 0, or a bad layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    arrays = [np.asarray(s) for s in samples]
    if not arrays:
        raise ValueError("no samples to stack")
    first = arrays[0].shape
    if len(first) < 2:
        raise ValueError(f"each sample must be (T, features...), sample 0 has shape {first}")
    for i, a in enumerate(arrays):
        if a.dtype.kind not in "fiub":
            raise ValueError(f"sample {i} must hold numbers, got dtype {a.dtype}")
        if a.shape != first:
            why = (f"{a.shape[0]} timesteps, sample 0 {first[0]}: bin every sample into the same T "
                   "(Tonic: ToFrame(n_time_bins=T))") if a.shape[1:] == first[1:] else f"shape {a.shape}, sample 0 {first}"
            raise ValueError(f"sample {i} has {why}")
    return np.stack(arrays, axis=1 if layout == "TN" else 0)


NPY_MAGIC, NPZ_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def _read(path: Path, key: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The array ``key`` (or an ``.npz``'s only array) and the ``labels`` array if any.

    The format is told by the file's signature, not its name (an ``.npz`` named ``.npy``
    is read as what it is); anything numpy cannot read is one line naming the file.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(6)
    if not head:
        raise ValueError(f"{path}: the file is empty")
    if not head.startswith((NPY_MAGIC, NPZ_MAGIC)):
        raise ValueError(f"{path}: not a .npy or .npz file (it has neither format's signature)")
    labels = None
    try:
        if head.startswith(NPZ_MAGIC):
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.files)
                found = key if key in names else (names[0] if len(names) == 1 else None)
                if found is None:
                    raise LookupError(f"holds {', '.join(names) or 'no arrays'}; name the {key} array '{key}'")
                data = archive[found]
                if "labels" in names:
                    labels = archive["labels"]
        else:
            data = np.load(path, mmap_mode="r", allow_pickle=False)
    except LookupError as e:
        raise ValueError(f"{path}: {e.args[0]}") from None
    # Whatever numpy or zipfile raise on a damaged file is "unreadable": they parse headers
    # with tokenize and ast (TokenError, SyntaxError), allocate what a header declares
    # (MemoryError), and refuse zip features they lack (NotImplementedError), among others.
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{path}: not a readable .npy/.npz file, truncated or corrupt ({reason})") from None
    if data.dtype.kind not in "fiub":
        raise ValueError(f"{path}: {key} must be numbers, got dtype {data.dtype}")
    return data, labels


def _checked_labels(path: Path, labels: np.ndarray | None, n: int) -> np.ndarray | None:
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != n:
            raise ValueError(f"{path}: labels must be {n} integer class indices (one per sample), got {labels.dtype}{list(labels.shape)}")
    return labels
