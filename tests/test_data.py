"""Tests for asnn_sim.training.data: dataset files written in their exact real formats into tmp_path."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asnn_sim.training import data
from asnn_sim.training.data import (
    DATASETS,
    FASHION_MNIST_CLASSES,
    Dataset,
    DatasetError,
    augment_batch,
    iterate_batches,
    load_dataset,
)

# ------------------------------------------------------------------ file writers
# Written from the format descriptions (IDX: LeCun's page; CIFAR: Krizhevsky's page),
# independently of the loader, so the tests check the format and not the code.


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0x0000 08 NDIM, big-endian uint32 dims, data."""
    assert array.dtype == np.uint8
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write(path: Path, blob: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(blob))
    else:
        path.write_bytes(blob)
    return path


def mnist_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_mnist(folder: Path, n_train: int = 7, n_test: int = 4, gz: bool = False) -> dict:
    arrays = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = mnist_arrays(n, seed)
        write(folder / f"{prefix}-images-idx3-ubyte", idx_bytes(images), gz)
        write(folder / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels), gz)
        arrays[prefix] = (images, labels)
    return arrays


def dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)  # the protocol of the original files


def cifar_rows(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3072), dtype=np.uint8)


CIFAR10_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                 b"dog", b"frog", b"horse", b"ship", b"truck"]


def write_cifar10(folder: Path, per_batch: int = 3, n_test: int = 4) -> dict:
    batches = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else per_batch
        data = cifar_rows(n, seed=10 + i)
        labels = [int(v) for v in np.random.default_rng(20 + i).integers(0, 10, n)]
        dump(folder / name, {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                             b"filenames": [b"img_%d.png" % j for j in range(n)]})
        batches[name] = (data, labels)
    meta = {b"num_cases_per_batch": per_batch, b"label_names": CIFAR10_NAMES, b"num_vis": 3072}
    dump(folder / "batches.meta", meta)
    return batches


def write_cifar100(folder: Path, n_train: int = 5, n_test: int = 3) -> dict:
    out = {}
    for i, (name, n) in enumerate((("train", n_train), ("test", n_test))):
        data = cifar_rows(n, seed=30 + i)
        fine = [int(v) for v in np.random.default_rng(40 + i).integers(0, 100, n)]
        dump(folder / name, {b"filenames": [b"f%d" % j for j in range(n)], b"batch_label": name.encode(),
                             b"fine_labels": fine, b"coarse_labels": [v // 5 for v in fine], b"data": data})
        out[name] = (data, fine)
    dump(folder / "meta", {b"fine_label_names": [b"class%02d" % k for k in range(100)],
                           b"coarse_label_names": [b"super%02d" % k for k in range(20)]})
    return out


def py2_cifar_batch(rows: bytes, n: int, labels: list[int]) -> bytes:
    """A batch pickled the way Python 2 + numpy 1.x wrote the real files (str -> SHORT_BINSTRING)."""
    def s(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<I", len(b)) + b

    def k(v: int) -> bytes:
        return b"M" + struct.pack("<H", v)  # BININT2

    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s(b"b") + b"\x87R"
        + b"(K\x01" + k(n) + k(3072) + b"\x86cnumpy\ndtype\n" + s(b"u1") + b"K\x00K\x01\x87R"
        + b"(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89" + s(rows) + b"tb"
    )
    labels_op = b"](" + b"".join(k(v) for v in labels) + b"e"
    return b"\x80\x02}(" + s(b"data") + array + s(b"labels") + labels_op + b"u."


def assert_images(x: np.ndarray, n: int, shape: tuple[int, int, int]) -> None:
    assert x.shape == (n, *shape)
    assert x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0


# -------------------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def test_digits_shapes_and_split(digits):
    assert digits.name == "digits"
    assert_images(digits.x_train, 1437, (1, 8, 8))
    assert_images(digits.x_test, 360, (1, 8, 8))
    assert digits.y_train.dtype == np.int64 and digits.y_test.shape == (360,)
    assert digits.input_shape == (1, 8, 8)
    assert digits.n_classes == 10 and digits.class_names == tuple("0123456789")
    assert digits.x_train.max() == 1.0  # 16/16 occurs: scaled by 16, not 255


def test_digits_split_is_stratified_and_deterministic(digits):
    train_counts = np.bincount(digits.y_train, minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    total = train_counts + test_counts
    assert (test_counts > 0).all()
    # Stratified: each class's test share is 20% up to rounding.
    assert np.all(np.abs(test_counts - 0.2 * total) <= 1)
    again = load_dataset("digits", "/no/such/dir")  # data_dir is ignored
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(digits, field), getattr(again, field))


@pytest.mark.slow
def test_digits_equal_scikit_learns_load_and_split(digits):
    # The loader reads scikit-learn's bundled file without importing scikit-learn and uses
    # a stored split: both must equal what scikit-learn itself gives.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0))[:, None, :, :]
    x_train, x_test, y_train, y_test = train_test_split(x, bunch.target.astype(np.int64), test_size=0.2,
                                                        stratify=bunch.target, random_state=0)
    for name, expected in (("x_train", x_train), ("x_test", x_test), ("y_train", y_train), ("y_test", y_test)):
        np.testing.assert_array_equal(getattr(digits, name), expected, err_msg=name)


def test_digits_limit():
    ds = load_dataset("digits", limit=10)
    full = load_dataset("digits")
    assert len(ds.x_train) == len(ds.y_train) == len(ds.x_test) == 10
    np.testing.assert_array_equal(ds.x_train, full.x_train[:10])
    np.testing.assert_array_equal(ds.y_test, full.y_test[:10])


# --------------------------------------------------------------------------- MNIST


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_plain_and_gzip(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    ds = load_dataset("mnist", tmp_path)
    assert_images(ds.x_train, 7, (1, 28, 28))
    assert_images(ds.x_test, 4, (1, 28, 28))
    images, labels = arrays["train"]
    # Exact layout: pixel (row 3, col 17) of image 5 lands at [5, 0, 3, 17].
    assert ds.x_train[5, 0, 3, 17] == np.float32(images[5, 3, 17]) / np.float32(255)
    np.testing.assert_array_equal(ds.x_train[:, 0], images.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(ds.y_train, labels)
    np.testing.assert_array_equal(ds.y_test, arrays["t10k"][1])
    assert ds.y_train.dtype == np.int64
    assert ds.class_names == tuple("0123456789") and ds.n_classes == 10


def test_mnist_prefers_plain_over_gz(tmp_path):
    write_mnist(tmp_path, n_train=7, gz=True)
    arrays = write_mnist(tmp_path, n_train=5, gz=False)
    ds = load_dataset("mnist", tmp_path)
    assert len(ds.x_train) == 5
    np.testing.assert_array_equal(ds.y_train, arrays["train"][1])


def test_fashion_mnist_torchvision_layout_and_limit(tmp_path):
    arrays = write_mnist(tmp_path / "FashionMNIST" / "raw", gz=True)
    ds = load_dataset("fashion-mnist", tmp_path, limit=3)
    assert ds.name == "fashion-mnist"
    assert ds.class_names == FASHION_MNIST_CLASSES and ds.class_names[9] == "Ankle boot"
    assert len(ds.x_train) == len(ds.y_train) == len(ds.x_test) == len(ds.y_test) == 3
    np.testing.assert_array_equal(ds.y_train, arrays["train"][1][:3])
    # Larger limit than the data keeps everything.
    assert len(load_dataset("fashion_mnist", tmp_path, limit=1000).x_train) == 7


def test_mnist_data_dir_searched_before_torchvision_folder(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", n_train=7)
    write_mnist(tmp_path, n_train=2, gz=True)
    assert len(load_dataset("mnist", tmp_path).x_train) == 2


def test_mnist_missing_files_message(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist", tmp_path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(tmp_path) in msg and "manually" in msg
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in msg
    assert str(tmp_path / "MNIST" / "raw") in msg


def test_missing_data_dir_and_nonexistent_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("ASNN_DATA_DIR", raising=False)
    with pytest.raises(DatasetError, match="give --data-dir or set ASNN_DATA_DIR") as info:
        load_dataset("mnist")
    assert "never downloaded" in str(info.value) and "train-images-idx3-ubyte" in str(info.value)
    with pytest.raises(DatasetError, match="does not exist") as info:
        load_dataset("cifar10", tmp_path / "nope")
    assert "data_batch_1" in str(info.value)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(DatasetError) as info:
        load_dataset("imagenet")
    assert all(name in str(info.value) for name in DATASETS)


@pytest.mark.parametrize("limit", [0, -1, 2.5, True])
def test_bad_limit(limit):
    with pytest.raises(DatasetError, match="limit"):
        load_dataset("digits", limit=limit)


def _corrupt(tmp_path: Path, name: str, blob: bytes, gz: bool = False) -> str:
    write_mnist(tmp_path)
    (tmp_path / name).unlink()
    path = write(tmp_path / name, blob, gz)
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist", tmp_path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_idx_truncated_payload(tmp_path):
    images, _ = mnist_arrays(7, 1)
    msg = _corrupt(tmp_path, "train-images-idx3-ubyte", idx_bytes(images)[:-5])
    assert "truncated" in msg


def test_idx_truncated_header_and_gzip(tmp_path):
    assert "truncated" in _corrupt(tmp_path, "train-labels-idx1-ubyte", b"\x00\x00")
    images, _ = mnist_arrays(7, 1)
    gz_blob = gzip.compress(idx_bytes(images))[:-20]  # gzip stream cut short
    name = "train-images-idx3-ubyte"
    write_mnist(tmp_path)
    (tmp_path / name).unlink()
    (tmp_path / (name + ".gz")).write_bytes(gz_blob)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz"):
        load_dataset("mnist", tmp_path)


def test_idx_wrong_magic(tmp_path):
    _, labels = mnist_arrays(7, 1)
    # A labels file where the images file should be: magic 0x801, not 0x803.
    assert "0x00000803" in _corrupt(tmp_path, "train-images-idx3-ubyte", idx_bytes(labels))
    # Element type 0x0D (float) instead of 0x08.
    blob = bytearray(idx_bytes(labels))
    blob[2] = 0x0D
    assert "0x08" in _corrupt(tmp_path, "train-labels-idx1-ubyte", bytes(blob))


def test_idx_count_mismatch_and_bad_labels(tmp_path):
    msg = _corrupt(tmp_path, "train-labels-idx1-ubyte", idx_bytes(np.zeros(6, np.uint8)))
    assert "7 images" in msg and "6 labels" in msg
    assert "out of range" in _corrupt(tmp_path, "t10k-labels-idx1-ubyte", idx_bytes(np.full(4, 10, np.uint8)))


# --------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("inside", [True, False], ids=["parent-dir", "the-dir-itself"])
def test_cifar10(tmp_path, inside):
    folder = tmp_path / "cifar-10-batches-py"
    batches = write_cifar10(folder)
    ds = load_dataset("cifar10", tmp_path if inside else folder)
    assert_images(ds.x_train, 15, (3, 32, 32))
    assert_images(ds.x_test, 4, (3, 32, 32))
    assert ds.class_names[0] == "airplane" and ds.class_names[9] == "truck" and ds.n_classes == 10
    # Row layout: R plane then G then B, each 32x32 row-major. Sample 1 of batch 2 is row 4.
    data, labels = batches["data_batch_2"]
    c, h, w = 2, 5, 30
    assert ds.x_train[4, c, h, w] == np.float32(data[1, c * 1024 + h * 32 + w]) / np.float32(255)
    assert ds.x_train[4, 1, 0, 0] == np.float32(data[1, 1024]) / np.float32(255)
    all_train = np.concatenate([batches[f"data_batch_{k}"][0] for k in range(1, 6)])
    np.testing.assert_array_equal(ds.x_train.reshape(15, -1), all_train.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(ds.y_train, sum((batches[f"data_batch_{k}"][1] for k in range(1, 6)), []))
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][1])
    assert ds.y_train.dtype == np.int64


def test_cifar10_limit_reads_across_batches(tmp_path):
    batches = write_cifar10(tmp_path / "cifar-10-batches-py")
    ds = load_dataset("cifar10", tmp_path, limit=5)
    assert len(ds.x_train) == 5 and len(ds.x_test) == 4
    np.testing.assert_array_equal(ds.y_train, batches["data_batch_1"][1] + batches["data_batch_2"][1][:2])


def test_cifar10_python2_pickles(tmp_path):
    """The real files are Python 2 pickles (str opcodes, numpy.core module paths)."""
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    rows = cifar_rows(2, seed=99)
    (folder / "test_batch").write_bytes(py2_cifar_batch(rows.tobytes(), 2, [3, 9]))
    ds = load_dataset("cifar10", tmp_path)
    np.testing.assert_array_equal(ds.y_test, [3, 9])
    np.testing.assert_array_equal(ds.x_test.reshape(2, -1), rows.astype(np.float32) / np.float32(255))


def test_cifar100(tmp_path):
    out = write_cifar100(tmp_path / "cifar-100-python")
    ds = load_dataset("cifar100", tmp_path, limit=4)
    assert_images(ds.x_train, 4, (3, 32, 32))
    assert_images(ds.x_test, 3, (3, 32, 32))
    assert ds.n_classes == 100 and len(ds.class_names) == 100 and ds.class_names[7] == "class07"
    np.testing.assert_array_equal(ds.y_train, out["train"][1][:4])  # fine labels, not coarse
    data = out["test"][0]
    assert ds.x_test[2, 0, 31, 31] == np.float32(data[2, 1023]) / np.float32(255)


def test_cifar_missing_files_message(tmp_path):
    write_cifar100(tmp_path / "cifar-100-python")
    (tmp_path / "cifar-100-python" / "meta").unlink()
    with pytest.raises(DatasetError) as info:
        load_dataset("cifar100", tmp_path)
    msg = str(info.value)
    assert "\n" not in msg and "manually" in msg
    assert "cifar-100-python" in msg and all(f in msg for f in ("train", "test", "meta"))


class _Evil:
    """Pickles as a call to os.system: the classic pickle exploit."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar_refuses_malicious_pickle(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    marker = tmp_path / "pwned"
    dump(folder / "data_batch_3", {b"data": _Evil(marker), b"labels": []})
    with pytest.raises(DatasetError, match="refusing") as info:
        load_dataset("cifar10", tmp_path)
    msg = str(info.value)
    assert "data_batch_3" in msg and "system" in msg and "\n" not in msg
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"not a pickle at all", "not a valid CIFAR pickle"),
        ([1, 2, 3], "expected a pickled dict"),
        ({b"labels": [0]}, "no 'data' entry"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8"),
        ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, "3072"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "outside 0..9"),
    ],
)
def test_cifar_malformed_batch(tmp_path, payload, match):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    if isinstance(payload, bytes):
        (folder / "test_batch").write_bytes(payload)
    else:
        dump(folder / "test_batch", payload)
    with pytest.raises(DatasetError, match=match) as info:
        load_dataset("cifar10", tmp_path)
    assert "test_batch" in str(info.value) and "\n" not in str(info.value)


def test_cifar_truncated_pickle(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    blob = (folder / "data_batch_1").read_bytes()
    (folder / "data_batch_1").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetError, match="data_batch_1"):
        load_dataset("cifar10", tmp_path)


def test_cifar_wrong_number_of_class_names(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    dump(folder / "batches.meta", {b"label_names": CIFAR10_NAMES[:9]})
    with pytest.raises(DatasetError, match="batches.meta"):
        load_dataset("cifar10", tmp_path)


# ------------------------------------------------------------------------ batching


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 50),
    batch_size=st.integers(1, 20),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_iterate_batches_covers_each_sample_once(n, batch_size, shuffle, drop_last, seed):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    batches = list(iterate_batches(x, y, batch_size, shuffle=shuffle, rng=rng, drop_last=drop_last))
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.empty(0, np.int64)
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # x and y stay paired
        assert len(yb) <= batch_size
    if drop_last:
        assert all(len(yb) == batch_size for _, yb in batches)
        assert len(batches) == n // batch_size
        assert len(np.unique(seen)) == len(seen) == n - n % batch_size
    else:
        assert len(batches) == -(-n // batch_size)
        np.testing.assert_array_equal(np.sort(seen), y)
    if not shuffle:
        np.testing.assert_array_equal(seen, y[: len(seen)])


def test_iterate_batches_shuffle_reproducible():
    x, y = np.arange(100).reshape(50, 2), np.arange(50)

    def order(seed):
        batches = iterate_batches(x, y, 8, shuffle=True, rng=np.random.default_rng(seed))
        return np.concatenate([yb for _, yb in batches])

    np.testing.assert_array_equal(order(3), order(3))
    assert not np.array_equal(order(3), order(4))
    assert not np.array_equal(order(3), y)


def test_iterate_batches_validates_eagerly():
    with pytest.raises(DatasetError, match="length"):
        iterate_batches(np.zeros((3, 1)), np.zeros(2), 2, shuffle=False)
    with pytest.raises(DatasetError, match="batch_size"):
        iterate_batches(np.zeros((3, 1)), np.zeros(3), 0, shuffle=False)


# ---------------------------------------------------------------------- augmenting


def _images(n=16, c=3, h=6, w=7, seed=0):
    # Strictly positive so that the zero padding is distinguishable from the image.
    return np.random.default_rng(seed).uniform(0.1, 1.0, (n, c, h, w)).astype(np.float32)


def test_augment_flip_only():
    x = _images()
    out = augment_batch(x, np.random.default_rng(0), flip=True, crop_padding=0)
    assert out.shape == x.shape and out.dtype == x.dtype
    flipped = [np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)]
    same = [np.array_equal(o, xi) for o, xi in zip(out, x)]
    assert all(f or s for f, s in zip(flipped, same))
    assert any(flipped) and any(same)  # 16 fair coins
    np.testing.assert_array_equal(x, _images())  # input untouched


@pytest.mark.parametrize("p", [1, 2, 4])
def test_augment_crop_only_is_a_shift_of_the_padded_image(p):
    x = _images()
    out = augment_batch(x, np.random.default_rng(1), flip=False, crop_padding=p)
    assert out.shape == x.shape
    h, w = x.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    offsets = set()
    for o, pad_img in zip(out, padded):
        matches = [(dy, dx) for dy in range(2 * p + 1) for dx in range(2 * p + 1)
                   if np.array_equal(o, pad_img[:, dy : dy + h, dx : dx + w])]
        assert len(matches) == 1  # positive pixels: exactly one offset explains the crop
        offsets.add(matches[0])
    assert len(offsets) > 1


def test_augment_defaults_and_noop():
    x = _images(n=8, h=32, w=32)
    out = augment_batch(x, np.random.default_rng(2))
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_array_equal(augment_batch(x, np.random.default_rng(2), flip=False, crop_padding=0), x)
    a = augment_batch(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, augment_batch(x, np.random.default_rng(5)))
    with pytest.raises(DatasetError):
        augment_batch(x[0], np.random.default_rng(0))


def test_one_split_leaves_the_other_empty(tmp_path):
    write_cifar10(tmp_path)
    both = load_dataset("cifar10", tmp_path)
    test = load_dataset("cifar10", tmp_path, split="test")
    assert test.x_train.shape == (0, 3, 32, 32) and test.y_train.shape == (0,)
    np.testing.assert_array_equal(test.x_test, both.x_test)
    assert test.input_shape == (3, 32, 32)
    train = load_dataset("cifar10", tmp_path, split="train")
    assert len(train.x_test) == 0 and len(train.x_train) == len(both.x_train)
    with pytest.raises(DatasetError, match="split must be"):
        load_dataset("cifar10", tmp_path, split="val")


# ------------------------------------------------------- the folder when none is given


def test_data_dir_from_the_environment_and_a_subfolder_named_after_the_dataset(tmp_path, monkeypatch):
    arrays = write_mnist(tmp_path / "fashion-mnist", n_train=6, gz=True)
    monkeypatch.setenv("ASNN_DATA_DIR", str(tmp_path))
    ds = load_dataset("fashion-mnist")
    np.testing.assert_array_equal(ds.y_train, arrays["train"][1])
    # An explicit folder wins over the variable.
    write_mnist(tmp_path / "other", n_train=3)
    assert len(load_dataset("fashion-mnist", tmp_path / "other").x_train) == 3


def test_system_folder_used_when_nothing_is_given(tmp_path, monkeypatch):
    monkeypatch.delenv("ASNN_DATA_DIR", raising=False)
    folder = tmp_path / "usr-share-datasets-fashion-mnist"
    write_mnist(folder, n_train=4, gz=True)
    monkeypatch.setitem(data.SYSTEM_FOLDERS, "fashion-mnist", (folder, "dataset-fashion-mnist"))
    assert data.default_data_dir("fashion_mnist") == folder
    assert len(load_dataset("fashion-mnist").x_train) == 4


def test_missing_system_dataset_names_the_package_and_the_files(tmp_path, monkeypatch):
    monkeypatch.delenv("ASNN_DATA_DIR", raising=False)
    monkeypatch.setitem(data.SYSTEM_FOLDERS, "fashion-mnist", (tmp_path / "absent", "dataset-fashion-mnist"))
    with pytest.raises(DatasetError) as info:
        load_dataset("fashion-mnist")
    msg = str(info.value)
    assert "\n" not in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "ASNN_DATA_DIR" in msg
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in msg
