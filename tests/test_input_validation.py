"""Bad inputs are refused with one line naming where the problem is, before they become wrong counts."""

from __future__ import annotations

import numpy as np
import pytest

import asnn_sim.api as asnn
from asnn_sim.app.cli import main


def _graph(encoding=None):
    """A small graph with ``encoding``; None: one that reads supplied frames (no encoder)."""
    from dataclasses import replace

    from asnn_sim.graph.ir import Graph

    net = asnn.GraphBuilder((1, 4, 4), encoding=encoding or "direct", timesteps=3, seed=0)
    built = net.conv(2, 3).neuron().flatten().linear(10).readout().build()
    if encoding:
        return built
    return Graph([replace(built.input, encoder=None)] + list(built.nodes[1:]), "snn", 3)


def test_one_nan_in_a_frame_is_named_by_step_sample_and_position():
    frames = (np.random.default_rng(0).random((3, 5, 1, 4, 4)) < 0.3).astype(np.float32)
    frames[2, 3, 0, 1, 2] = np.nan  # used to turn step 2 analog for every sample
    with pytest.raises(ValueError, match=r"input frames hold nan at step 2, sample 3, position \(0, 1, 2\): frames must be finite"):
        asnn.simulate(_graph(), frames=frames)


def test_all_nan_frames_and_infinite_images_are_refused():
    with pytest.raises(ValueError, match="at step 0, sample 0, position"):
        asnn.simulate(_graph(), frames=np.full((3, 2, 1, 4, 4), np.nan))
    images = np.random.default_rng(1).random((6, 1, 4, 4))
    images[4, 0, 3, 3] = -np.inf
    with pytest.raises(ValueError, match=r"image 4 holds -inf at position \(0, 3, 3\): images must be finite"):
        asnn.simulate(_graph("hybrid"), images, batch_size=2)


@pytest.mark.parametrize("bad, said", [(999, "label 999 of sample 1"), (-1, "label -1 of sample 1")])
def test_labels_outside_the_classes_are_refused(bad, said):
    images = np.random.default_rng(2).random((3, 1, 4, 4))
    labels = np.array([0, bad, 2])
    with pytest.raises(ValueError, match=rf"{said} is not a class of this graph \(0 to 9\); 1 label\(s\) out of range"):
        asnn.simulate(_graph("direct"), images, labels)


def test_the_command_says_it_in_one_line_and_writes_nothing(tmp_path, capsys):
    graph = tmp_path / "g.asnn"
    asnn.save(_graph(), graph)
    frames = np.zeros((3, 2, 1, 4, 4), np.float32)
    frames[1, 1, 0, 0, 0] = np.inf
    np.save(tmp_path / "frames.npy", frames)
    out = tmp_path / "counts"
    assert main(["simulate", str(graph), "--inputs", str(tmp_path / "frames.npy"), "--layout", "TN",
                 "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["asnn: error: input frames hold inf at step 1, sample 1, position (0, 0, 0): frames must be finite"]
    assert not out.exists()


def _containers(tmp_path):
    """Broken input files a user can end up with, and what the one-line error must say."""
    zip_named_npy = tmp_path / "zip.npy"
    np.savez(zip_named_npy.with_suffix(".npz"), frames=np.zeros((3, 2, 1, 4, 4)))
    zip_named_npy.write_bytes(zip_named_npy.with_suffix(".npz").read_bytes())
    good = tmp_path / "good.npy"
    np.save(good, np.zeros((3, 2, 1, 4, 4)))
    cases = {
        "empty.npy": (b"", "the file is empty"),
        "empty.npz": (b"", "the file is empty"),
        "text.npy": (b"frames,1,2,3\n", "not a .npy or .npz file"),
        "truncated.npy": (good.read_bytes()[:70], "truncated or corrupt"),
        "garbled.npz": (b"PK\x03\x04" + bytes(range(200)), "truncated or corrupt"),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    return [(tmp_path / name, said) for name, (_, said) in cases.items()], zip_named_npy


def test_broken_input_files_get_one_line_naming_the_file(tmp_path):
    from asnn_sim.graph.frames import load_frames, load_images

    broken, zip_named_npy = _containers(tmp_path)
    for path, said in broken:
        for load in (lambda p: load_frames(p, "TN"), load_images):
            with pytest.raises(ValueError, match=rf"^{tmp_path}/{path.name}: .*{said}"):
                load(path)
    frames, labels = load_frames(zip_named_npy, "TN")  # read as what it is, whatever its name
    assert frames.shape == (3, 2, 1, 4, 4) and labels is None
