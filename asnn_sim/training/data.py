"""Datasets for training and evaluating small image classifiers (numpy only).

``load_dataset`` returns a :class:`Dataset` of float32 images in ``[0, 1]`` laid out
``(N, C, H, W)`` and int64 labels:

``digits``
    scikit-learn's bundled 8x8 digits, split 80/20 (stratified, ``random_state=0``).
    Needs no files.
``mnist``, ``fashion-mnist``
    The four standard IDX files (plain or ``.gz``) in ``data_dir``, in a sub-folder
    named after the dataset (``data_dir/fashion-mnist``) or in the folder torchvision
    uses (``data_dir/MNIST/raw``, ``data_dir/FashionMNIST/raw``).
``cifar10``, ``cifar100``
    The "python version" archives, extracted: ``cifar-10-batches-py/`` or
    ``cifar-100-python/`` inside ``data_dir`` (or ``data_dir`` may be that folder).

Nothing is ever downloaded: the files must be placed there by hand. Without a
``data_dir`` the folder comes from the environment variable ``ASNN_DATA_DIR``, else from
where a system package installs the dataset (:data:`SYSTEM_FOLDERS`: Debian's
``dataset-fashion-mnist`` puts Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``).
Every problem a user can cause (unknown name, missing or malformed files) raises :class:`DatasetError`
with a one-line message naming the file or folder involved.

The files themselves are read and checked by :mod:`asnn_sim.training.dataset_files`
(CIFAR's pickles through an unpickler that resolves only numpy's constructors).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asnn_sim.training.dataset_files import (
    MNIST_FILES,
    DatasetError,
    _cifar_layout,
    _class_names,
    _find_idx_files,
    _idx_path,
    _read_cifar_batches,
    _read_idx_pair,
    _read_pickle,
)
from asnn_sim.util.names import unknown_name

__all__ = [
    "DATASETS",
    "DATA_DIR_VARIABLE",
    "SYSTEM_FOLDERS",
    "Dataset",
    "DatasetError",
    "augment_batch",
    "default_data_dir",
    "iterate_batches",
    "load_dataset",
]

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100")

FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DIGIT_CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))

#: The environment variable naming the data folder when ``data_dir`` is not given.
DATA_DIR_VARIABLE = "ASNN_DATA_DIR"
#: Where an operating-system package installs a dataset, and that package's name:
#: searched when neither ``data_dir`` nor :data:`DATA_DIR_VARIABLE` is given.
SYSTEM_FOLDERS: dict[str, tuple[Path, str]] = {
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"), "dataset-fashion-mnist"),
}

# Sub-folders searched after data_dir itself: one named after the dataset, and the one
# torchvision extracts the IDX files into.
_IDX_SUBFOLDERS = {
    "mnist": (Path("mnist"), Path("MNIST", "raw")),
    "fashion-mnist": (Path("fashion-mnist"), Path("FashionMNIST", "raw")),
}

@dataclass(frozen=True)
class Dataset:
    """Train and test splits of an image classification dataset.

    Attributes
    ----------
    name : str
        One of :data:`DATASETS`.
    x_train, x_test : numpy.ndarray
        float32 images, shape ``(N, C, H, W)``, values in ``[0, 1]``.
    y_train, y_test : numpy.ndarray
        int64 class indices, shape ``(N,)``, in ``[0, n_classes)``.
    n_classes : int
        Number of classes.
    class_names : tuple of str
        Human-readable name of each class index.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    class_names: tuple[str, ...]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(C, H, W)``."""
        c, h, w = (self.x_train if len(self.x_train) else self.x_test).shape[1:]
        return int(c), int(h), int(w)


# --------------------------------------------------------------------------- loading


def load_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    limit: int | None = None,
    split: str | None = None,
) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (case-insensitive; ``_`` is accepted for ``-``).
    data_dir : str or os.PathLike, optional
        Folder holding the dataset's files (ignored for ``digits``). ``None``: the
        folder named by ``$ASNN_DATA_DIR``, else the dataset's system folder
        (:data:`SYSTEM_FOLDERS`) when it exists.
    limit : int, optional
        Keep only the first ``limit`` samples of the train split and of the test
        split (quick tests and demos). ``None`` keeps everything.
    split : {"train", "test"}, optional
        Read only that split (the other is left empty): a replay of the CIFAR test set
        then never holds the 50,000 training images in memory. ``None`` reads both.

    Returns
    -------
    Dataset
        float32 images ``(N, C, H, W)`` in ``[0, 1]`` and int64 labels.

    Raises
    ------
    DatasetError
        Unknown name, missing ``data_dir``, missing files or malformed files.

    Notes
    -----
    Files are never downloaded. With ``limit`` set, CIFAR-10 reads only as many batch
    files as it needs (all must still exist), so later batches are not validated.
    """
    key = _canonical_name(name)
    limit = _check_limit(limit)
    if split not in (None, "train", "test"):
        raise DatasetError(f"split must be 'train', 'test' or None, got {split!r}")
    if key == "digits":
        return _load_digits(limit)  # small: both splits
    root = default_data_dir(key) if data_dir is None else Path(data_dir).expanduser()
    if root.is_file():
        raise DatasetError(f"data directory {str(root)!r} is a file, not a folder; give the folder holding the {key} files ({_expected_hint(key)})")
    if not root.is_dir():
        raise DatasetError(
            f"data directory {str(root)!r} does not exist or is not a folder; "
            f"create it and place the {key} files there manually ({_expected_hint(key)})"
        )
    if key in ("mnist", "fashion-mnist"):
        return _load_mnist_like(key, root, limit, split)
    return _load_cifar(key, root, limit, split)


def default_data_dir(name: str) -> Path:
    """The folder a dataset is read from when no ``data_dir`` is given.

    ``$ASNN_DATA_DIR`` when set, else the dataset's system folder
    (:data:`SYSTEM_FOLDERS`) when it exists.

    Raises
    ------
    DatasetError
        Neither is there; the message says what to give or install (and, for a
        packaged dataset, the package and its four file names).
    """
    key = _canonical_name(name)
    from_env = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    system = SYSTEM_FOLDERS.get(key)
    if system is not None and system[0].is_dir():
        return system[0]
    where = f"give --data-dir or set {DATA_DIR_VARIABLE} to the folder holding the {key} files ({_expected_hint(key)})"
    if system is not None:
        folder, package = system
        raise DatasetError(
            f"{key} not found: install the system package {package} (apt-get install {package}), "
            f"which puts {', '.join(n + '.gz' for n in MNIST_FILES)} in {folder}, or {where}"
        )
    raise DatasetError(f"dataset {key!r} is read from files, which are never downloaded: {where}")


def _empty(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A split that was not asked for."""
    return np.empty((0, *shape), np.float32), np.empty(0, np.int64)


def _canonical_name(name: object) -> str:
    if not isinstance(name, str):
        raise DatasetError(
            f"dataset name must be a string, got {type(name).__name__}; valid names: {', '.join(DATASETS)}"
        )
    key = name.strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise DatasetError(unknown_name("dataset", name, DATASETS, choose="valid names:"))
    return key


def _check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    # bool is an int subclass; limit=True is surely a mistake.
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise DatasetError(f"limit must be a positive integer or None, got {limit!r}")
    return int(limit)


def _expected_hint(key: str) -> str:
    if key in ("mnist", "fashion-mnist"):
        return "expected " + ", ".join(MNIST_FILES) + " (each may be gzipped as NAME.gz)"
    folder, files = _cifar_layout(key)
    return f"expected folder {folder}/ with " + ", ".join(files)


def _load_digits(limit: int | None) -> Dataset:
    # scikit-learn's bundled file, read without importing scikit-learn (its import alone
    # takes most of a second); the split is the one train_test_split(test_size=0.2,
    # stratify=y, random_state=0) gives, stored with the package (tests/test_data.py
    # checks both against scikit-learn).
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("digits: scikit-learn (which bundles the digits file) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise DatasetError(f"digits: {path} not found in the installed scikit-learn")
    table = np.loadtxt(path, delimiter=",")
    x = (table[:, :-1].astype(np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
    y = table[:, -1].astype(np.int64)
    with np.load(Path(__file__).with_name("digits_split.npz")) as split:
        train, test = split["train"].astype(np.int64), split["test"].astype(np.int64)
    x_train, x_test, y_train, y_test = x[train], x[test], y[train], y[test]
    return Dataset(
        name="digits",
        x_train=np.ascontiguousarray(x_train[:limit]),
        y_train=np.ascontiguousarray(y_train[:limit]),
        x_test=np.ascontiguousarray(x_test[:limit]),
        y_test=np.ascontiguousarray(y_test[:limit]),
        n_classes=10,
        class_names=DIGIT_CLASSES,
    )


# ---------------------------------------------------------------------------- IDX


def _load_mnist_like(key: str, root: Path, limit: int | None, split: str | None = None) -> Dataset:
    folders = [root, *(root / sub for sub in _IDX_SUBFOLDERS[key])]
    paths = None
    for folder in folders:
        paths = _find_idx_files(folder)
        if paths is not None:
            break
    if paths is None:
        searched = ", ".join(repr(str(f)) for f in folders)
        # When some files are there, say which are not: the usual slip is one file.
        missing = [n for n in MNIST_FILES if _idx_path(root, n) is None]
        partial = ""
        if len(missing) < len(MNIST_FILES):
            partial = f"; missing in {str(root)!r}: {', '.join(missing)}"
        raise DatasetError(
            f"{key} files not found in {searched}: expected {', '.join(MNIST_FILES)} "
            f"(each may be gzipped as NAME.gz{partial}); "
            f"download them yourself and place them there manually, nothing is downloaded"
        )
    train_x, train_y, test_x, test_y = paths
    x_train, y_train = _read_idx_pair(train_x, train_y, limit) if split != "test" else _empty((1, 28, 28))
    x_test, y_test = _read_idx_pair(test_x, test_y, limit) if split != "train" else _empty((1, 28, 28))
    return Dataset(
        name=key,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=10,
        class_names=FASHION_MNIST_CLASSES if key == "fashion-mnist" else DIGIT_CLASSES,
    )


# -------------------------------------------------------------------------- CIFAR


def _load_cifar(key: str, root: Path, limit: int | None, split: str | None = None) -> Dataset:
    folder_name, files = _cifar_layout(key)
    candidates = [root / folder_name, root]
    folder = next((c for c in candidates if all((c / f).is_file() for f in files)), None)
    if folder is None:
        searched = " and ".join(repr(str(c)) for c in candidates)
        raise DatasetError(
            f"{key} files not found in {searched}: expected folder {folder_name}/ with "
            f"{', '.join(files)} (the extracted 'python version' archive); "
            f"download it yourself and place it there manually, nothing is downloaded"
        )
    if key == "cifar10":
        meta = _read_pickle(folder / "batches.meta")
        names = _class_names(meta, b"label_names", 10, folder / "batches.meta")
        train = [folder / f"data_batch_{i}" for i in range(1, 6)]
        x_train, y_train = _read_cifar_batches(train, b"labels", 10, limit) if split != "test" else _empty((3, 32, 32))
        x_test, y_test = _read_cifar_batches([folder / "test_batch"], b"labels", 10, limit) if split != "train" else _empty((3, 32, 32))
    else:
        meta = _read_pickle(folder / "meta")
        names = _class_names(meta, b"fine_label_names", 100, folder / "meta")
        x_train, y_train = _read_cifar_batches([folder / "train"], b"fine_labels", 100, limit) if split != "test" else _empty((3, 32, 32))
        x_test, y_test = _read_cifar_batches([folder / "test"], b"fine_labels", 100, limit) if split != "train" else _empty((3, 32, 32))
    return Dataset(
        name=key,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=len(names),
        class_names=names,
    )


# ------------------------------------------------------------------------ batching


def iterate_batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Split ``(x, y)`` into mini-batches along the first axis (one epoch).

    Parameters
    ----------
    x, y : numpy.ndarray
        Inputs and targets with the same length along axis 0.
    batch_size : int
        Samples per batch (the last batch may be smaller unless ``drop_last``).
    shuffle : bool
        Visit samples in a random order drawn from ``rng``.
    rng : numpy.random.Generator, optional
        Source of the order when shuffling. ``None`` draws fresh OS entropy, so pass
        one for a reproducible order.
    drop_last : bool, default False
        Skip a final batch smaller than ``batch_size``.

    Yields
    ------
    xb, yb : numpy.ndarray
        Views of ``x`` and ``y`` when not shuffling (do not modify them in place),
        copies when shuffling.

    Raises
    ------
    DatasetError
        Mismatched lengths or a non-positive ``batch_size`` (checked at call time,
        not at the first ``next``).
    """
    if len(x) != len(y):
        raise DatasetError(f"x and y differ in length: {len(x)} vs {len(y)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DatasetError(f"batch_size must be a positive integer, got {batch_size!r}")
    order = None
    if shuffle:
        # Drawn now, not lazily, so the rng advances by one permutation per call even
        # if the caller stops early: epochs stay reproducible from one seed.
        order = (rng if rng is not None else np.random.default_rng()).permutation(len(x))
    return _batches(x, y, int(batch_size), order, drop_last)


def _batches(x, y, batch_size, order, drop_last):
    n = len(x)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield x[start : start + batch_size], y[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]


def augment_batch(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    flip: bool = True,
    crop_padding: int = 4,
) -> np.ndarray:
    """Random horizontal flip and random zero-padded crop, one draw per image.

    Parameters
    ----------
    x : numpy.ndarray
        Images ``(N, C, H, W)``; not modified.
    rng : numpy.random.Generator
        Source of the random flips and offsets.
    flip : bool, default True
        Mirror each image left-right with probability 1/2.
    crop_padding : int, default 4
        Pad each side with ``crop_padding`` zeros, then cut an ``H x W`` window at a
        uniform random offset in ``[0, 2 * crop_padding]`` along each axis (the
        CIFAR-style "pad and crop", i.e. a shift of up to ``crop_padding`` pixels).
        ``0`` disables cropping.

    Returns
    -------
    numpy.ndarray
        New array, same shape and dtype as ``x``.
    """
    if x.ndim != 4:
        raise DatasetError(f"augment_batch expects images (N, C, H, W), got shape {x.shape}")
    if isinstance(crop_padding, bool) or not isinstance(crop_padding, (int, np.integer)) or crop_padding < 0:
        raise DatasetError(f"crop_padding must be a non-negative integer, got {crop_padding!r}")
    n, _, h, w = x.shape
    out = x.copy()
    if flip:
        mirror = rng.random(n) < 0.5
        out[mirror] = out[mirror, :, :, ::-1]
    if crop_padding:
        p = int(crop_padding)
        padded = np.pad(out, ((0, 0), (0, 0), (p, p), (p, p)))
        # Every possible H x W window of the padded images, as a view of shape
        # (N, C, 2p+1, 2p+1, H, W); picking one (dy, dx) per image is one gather.
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
        dy = rng.integers(0, 2 * p + 1, size=n)
        dx = rng.integers(0, 2 * p + 1, size=n)
        # Advanced indices split by a slice put the batch axis first: (N, C, H, W).
        out = windows[np.arange(n), :, dy, dx]
    return out
