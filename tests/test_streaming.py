"""A dataset larger than memory streams: replaying a memory-mapped ``.npy`` keeps the memory
the replay allocates bounded by the batch (and the per-sample tables), not by the file."""

from __future__ import annotations

import pytest
import pickle
import tracemalloc

import numpy as np
import pandas as pd

from asnn_sim.graph.ir import Flatten, Graph, Input, Linear, Neuron, Readout
from asnn_sim.sim.replay import frame_input, image_input, replay
from asnn_sim.sim.shards import MappedArray, ReplayInput


def _vector_graph(n_in: int, T: int, encoder: dict | None) -> Graph:
    """input -> fc (8) -> neuron -> fc (4) -> readout; an image input (1, n_in) is flattened first."""
    rng = np.random.default_rng(0)
    steps = lambda v: np.full(T, v)  # noqa: E731
    head = [Input("input", (), shape=(n_in,))] if encoder is None else [
        Input("input", (), shape=(1, 1, n_in), encoder=encoder), Flatten("flat", ("input",))]
    return Graph(head + [
        Linear("fc1", (head[-1].name,), weight=rng.normal(0, 0.05, (1, 8, n_in)), weight_set=np.zeros(T, np.int64)),
        Neuron("lif1", ("fc1",), leak=steps(0.9), gain=steps(1.0), threshold=np.array([0.5]), reset="hard",
               per_timestep=False),
        Linear("fc2", ("lif1",), weight=rng.normal(0, 0.5, (1, 4, 8)), weight_set=np.zeros(T, np.int64)),
        Readout("readout", ("fc2",)),
    ], "snn", T)


def _peak_bytes(fn) -> tuple[object, int]:
    """``fn()`` and the peak of the memory Python and NumPy allocated meanwhile (a mapped
    file's pages are not allocations: only copies of them count)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_memory_mapped_image_file_replays_in_memory_bounded_by_the_batch(tmp_path):
    n, features, T = 2500, 4096, 2
    graph = _vector_graph(features, T, {"name": "rate", "timesteps": T, "seed": 3})
    images = np.random.default_rng(1).random((n, 1, 1, features), dtype=np.float32)
    np.save(tmp_path / "images.npy", images)
    size = (tmp_path / "images.npy").stat().st_size  # 41 MB
    mapped = np.load(tmp_path / "images.npy", mmap_mode="r")
    run = lambda k: replay(graph, image_input(graph, mapped, limit=k), batch_size=32, progress=False)  # noqa: E731
    run(64)  # first-use costs (pandas' import, kernel loading) are not the replay's
    _, peak_fifth = _peak_bytes(lambda: run(n // 5))
    streamed, peak = _peak_bytes(lambda: run(n))
    # a batch of float64 frames (32 x 2 x 4096 x 8 B = 2 MB), its encoding and the
    # simulator's buffers; beyond those only the per-sample tables grow with N
    assert peak < size / 3, f"replay allocated {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file"
    grown, data_grown = peak - peak_fifth, size * 4 / 5
    assert grown < 0.15 * data_grown, f"{grown / 1e6:.1f} MB more for {data_grown / 1e6:.0f} MB more data"
    in_memory = replay(graph, image_input(graph, images), batch_size=32, progress=False)
    for name in ("counts", "per_sample"):
        pd.testing.assert_frame_equal(getattr(streamed, name), getattr(in_memory, name), check_exact=True)
    assert streamed.per_sample["output_spikes"].sum() > 0


def test_memory_mapped_frames_stream_too(tmp_path):
    n, T = 2000, 3
    graph = _vector_graph(2048, T, None)
    frames = (np.random.default_rng(2).random((T, n, 2048)) < 0.2).astype(np.float32)
    np.save(tmp_path / "frames.npy", frames)
    size = (tmp_path / "frames.npy").stat().st_size  # 49 MB
    mapped = np.load(tmp_path / "frames.npy", mmap_mode="r")
    run = lambda: replay(graph, frame_input(graph, mapped, "TN"), batch_size=32, progress=False)  # noqa: E731
    replay(graph, frame_input(graph, mapped, "TN", limit=64), batch_size=32, progress=False)  # first-use costs
    streamed, peak = _peak_bytes(run)
    assert peak < size / 5, f"replay allocated {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file"
    assert streamed.summary["n_samples"] == n and streamed.per_sample["synaptic_acs"].sum() > 0


def test_a_shard_of_a_mapped_file_travels_by_name(tmp_path):
    """What a Dask worker is sent for a shard of a mapped file is its name, not its bytes;
    a view of a map (or an array in memory) travels as the shard's slice."""
    data = np.arange(4 * 1000 * 6, dtype=np.float32).reshape(4, 1000, 6)
    np.save(tmp_path / "f.npy", data)
    mapped = np.load(tmp_path / "f.npy", mmap_mode="r")
    part = ReplayInput(mapped, layout="TN").part(100, 200)
    assert isinstance(part.data, MappedArray) and len(pickle.dumps(part)) < 1000
    assert np.array_equal(part.batch(150, 160, np.float32), data[:, 150:160])
    view = ReplayInput(mapped[:, :500], layout="TN").part(100, 200)  # a view: its bytes, the shard's only
    assert view.data.shape == (4, 100, 6) and view.first == 100
    assert np.array_equal(view.batch(150, 160, np.float32), data[:, 150:160])
    images = ReplayInput(np.arange(60.0).reshape(10, 6)).part(4, 7)
    assert images.data.shape == (3, 6) and np.array_equal(images.batch(5, 7, np.float64), np.arange(60.0).reshape(10, 6)[5:7][None])
