"""The dataset files on disk: IDX (MNIST, Fashion-MNIST) and CIFAR pickles, read and checked.

Readers return numpy arrays and raise :class:`DatasetError` with one line naming the
file; :mod:`asnn_sim.training.data` turns them into datasets. The CIFAR files are
pickles, and unpickling runs whatever the file names, so they are read with an
unpickler that resolves only the few numpy constructors the real files use; anything
else is refused before it is called.
"""

from __future__ import annotations

import codecs
import gzip
import io
import math
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

MNIST_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CIFAR10_FILES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6)) + (
    "test_batch",
    "batches.meta",
)
CIFAR100_FILES: tuple[str, ...] = ("train", "test", "meta")

_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_IDX_UBYTE = 0x08
_CIFAR_PIXELS = 3 * 32 * 32



class DatasetError(ValueError):
    """A dataset cannot be loaded or used as asked; the message is a single line."""

    def __init__(self, message: str):
        # Callers print this as-is (e.g. a CLI error line), so fold any embedded
        # newlines coming from wrapped exception texts.
        super().__init__(" ".join(str(message).split()))



def _idx_path(folder: Path, name: str) -> Path | None:
    # Plain first: it is what a user who gunzipped the files deliberately wants read.
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _find_idx_files(folder: Path) -> list[Path] | None:
    """All four IDX files from one folder, or None (never mix folders)."""
    paths = [_idx_path(folder, n) for n in MNIST_FILES]
    return None if any(p is None for p in paths) else paths  # type: ignore[return-value]


def _read_idx_pair(images_path: Path, labels_path: Path, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    images = _read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, _IDX_LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise DatasetError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and int(labels.max()) >= 10:
        raise DatasetError(f"{labels_path}: label {int(labels.max())} out of range, expected 0..9")
    images, labels = images[:limit], labels[:limit]
    x = images[:, None, :, :].astype(np.float32)  # the one copy; scaled in place below
    x /= np.float32(255.0)
    return x, labels.astype(np.int64)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file of unsigned bytes and return it as a read-only uint8 array.

    IDX layout: a big-endian uint32 magic ``0x0000TTDD`` (``TT`` the element type,
    ``0x08`` for unsigned byte; ``DD`` the number of dimensions), then one big-endian
    uint32 per dimension, then the elements in row-major order.
    """
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                blob = f.read()
        else:
            blob = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    if len(blob) < 4:
        raise DatasetError(f"{path}: truncated IDX file ({len(blob)} bytes, no header)")
    (found,) = struct.unpack(">I", blob[:4])
    zeros, dtype_code, ndim = found >> 16, (found >> 8) & 0xFF, found & 0xFF
    if zeros != 0:
        raise DatasetError(f"{path}: not an IDX file (magic 0x{found:08X}, expected 0x{magic:08X})")
    if dtype_code != _IDX_UBYTE:
        raise DatasetError(f"{path}: IDX element type 0x{dtype_code:02X}, expected 0x08 (unsigned byte)")
    if found != magic:
        raise DatasetError(
            f"{path}: IDX file has {ndim} dimensions (magic 0x{found:08X}), "
            f"expected {magic & 0xFF} (0x{magic:08X})"
        )
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(blob)} bytes, need {header})")
    dims = struct.unpack(f">{ndim}I", blob[4:header])
    expected = math.prod(dims)
    if len(blob) - header != expected:
        problem = "truncated" if len(blob) - header < expected else "has trailing bytes"
        raise DatasetError(
            f"{path}: IDX file {problem}: dimensions {'x'.join(map(str, dims))} need "
            f"{expected} data bytes, found {len(blob) - header}"
        )
    return np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(dims)


def _cifar_layout(key: str) -> tuple[str, tuple[str, ...]]:
    if key == "cifar10":
        return "cifar-10-batches-py", CIFAR10_FILES
    return "cifar-100-python", CIFAR100_FILES


def _read_cifar_batches(
    paths: list[Path], label_key: bytes, n_classes: int, limit: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Read CIFAR batch files in order, stopping once ``limit`` samples are in hand."""
    chunks: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    have = 0
    for path in paths:
        if limit is not None and have >= limit:
            break
        data, y = _cifar_batch(path, label_key, n_classes)
        if limit is not None:
            data, y = data[: limit - have], y[: limit - have]
        chunks.append(data)
        labels.append(y)
        have += len(y)
    # Fill one float32 array and scale it in place: the peak is the uint8 batches plus
    # the output (~750 MB for CIFAR train) instead of several float copies.
    x = np.empty((have, 3, 32, 32), dtype=np.float32)
    start = 0
    for data in chunks:
        # Each row is R (32x32), then G, then B, each row-major: exactly (3, 32, 32).
        x[start : start + len(data)] = data.reshape(-1, 3, 32, 32)
        start += len(data)
    x /= np.float32(255.0)
    return x, np.concatenate(labels).astype(np.int64)


def _cifar_batch(path: Path, label_key: bytes, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = _read_pickle(path)
    for key in (b"data", label_key):
        if key not in batch:
            raise DatasetError(f"{path}: not a CIFAR batch (no {key.decode()!r} entry)")
    data = batch[b"data"]
    is_array = isinstance(data, np.ndarray)
    if not is_array or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _CIFAR_PIXELS:
        what = f"{data.dtype} array of shape {data.shape}" if is_array else type(data).__name__
        raise DatasetError(f"{path}: 'data' is {what}, expected uint8 array of shape (N, {_CIFAR_PIXELS})")
    try:
        y = np.asarray(batch[label_key])
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: {label_key.decode()!r} is not a list of integers ({exc})") from None
    if y.ndim != 1 or not (y.dtype.kind in "iu" or y.size == 0):
        raise DatasetError(f"{path}: {label_key.decode()!r} is not a flat list of integers")
    if len(y) != len(data):
        raise DatasetError(f"{path}: {len(data)} images but {len(y)} labels in {label_key.decode()!r}")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise DatasetError(f"{path}: labels outside 0..{n_classes - 1} in {label_key.decode()!r}")
    return data, y.astype(np.int64)


def _class_names(meta: dict, key: bytes, n_classes: int, path: Path) -> tuple[str, ...]:
    names = meta.get(key)
    if not isinstance(names, (list, tuple)) or len(names) != n_classes:
        raise DatasetError(f"{path}: expected {n_classes} class names in {key.decode()!r}")
    try:
        return tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: class names are not text ({exc})") from None


def _numpy_globals() -> dict[tuple[str, str], object]:
    """The only globals a CIFAR pickle may name, keyed by (module, name) as written."""
    try:  # numpy >= 2 moved the internals to numpy._core
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric
    allowed: dict[tuple[str, str], object] = {
        # The real files (Python 2, numpy 1.x) and re-pickles by numpy 2 with protocol <= 4.
        ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Protocol 5 re-pickles build arrays with _frombuffer: a pure array constructor.
        ("numpy.core.numeric", "_frombuffer"): numeric._frombuffer,
        ("numpy._core.numeric", "_frombuffer"): numeric._frombuffer,
        # Python 3 writes bytes as codecs.encode(str, 'latin1') under protocols 0-2.
        ("_codecs", "encode"): codecs.encode,
    }
    # Plain containers with no opcode of their own (module spelled per Python 2 or 3).
    for module in ("builtins", "__builtin__"):
        for name, obj in (("bytes", bytes), ("bytearray", bytearray), ("set", set), ("frozenset", frozenset)):
            allowed[(module, name)] = obj
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy array constructors and plain containers.

    ``find_class`` is where an unpickler turns a name in the file into a callable it
    will later invoke; answering from a fixed table (not by importing) means a hostile
    file cannot reach ``os.system`` or anything else.
    """

    def __init__(self, file: io.BufferedIOBase, path: Path):
        super().__init__(file, encoding="bytes")  # the files are Python 2 pickles
        self._path = path
        self._allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise DatasetError(
                f"{self._path}: refusing to unpickle global {module}.{name} "
                f"(only numpy arrays and plain containers are allowed; is this a real CIFAR file?)"
            ) from None


def _read_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _RestrictedUnpickler(f, path).load()
    except DatasetError:
        raise
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    except Exception as exc:  # any parse failure of untrusted bytes is a malformed file
        raise DatasetError(f"{path}: not a valid CIFAR pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}: expected a pickled dict, found {type(obj).__name__}")
    return obj
