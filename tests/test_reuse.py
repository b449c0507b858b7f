"""The compiled simulator kept between replays (asnn_sim.sim.reuse), the one-pass count tally, and the direct-coded first layer computed once."""

from __future__ import annotations

import threading

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from asnn_sim.sim import Simulator, simulate
from asnn_sim.sim import reuse
from asnn_sim.sim.kernels import tally_counts
from asnn_sim.graph.encoding import EncoderSpec
from graph_factory import Spec, build, images_for


def _graph_and_images(seed: int = 3):
    spec = Spec(encoding="rate", timesteps=3, in_shape=(1, 6, 6), convs=[(4, 3, 1, 1, None)], residual=False, hidden=8,
                classes=5, zero_fraction=0.0, per_timestep=True, ann=False, seed=seed)
    return build(spec), images_for(spec, 20)


def test_same_graph_reuses_the_compiled_simulator_and_gives_the_same_tables():
    graph, images = _graph_and_images()
    first = simulate(graph, images, progress=False)
    kept = reuse._kept[-1][1]
    second = simulate(graph, images, progress=False)
    assert reuse._kept[-1][1] is kept  # handed out again and kept again
    assert first.counts.equals(second.counts) and first.per_sample.equals(second.per_sample)
    assert np.array_equal(first.step_logits, second.step_logits)


def test_a_weight_changed_in_place_is_noticed():
    graph, images = _graph_and_images()
    before = simulate(graph, images, progress=False)
    kept = reuse._kept[-1][1]
    linear = next(node for node in graph.nodes if node.kind == "linear")
    linear.weight[:] *= -1.0  # same object, new contents
    changed = simulate(graph, images, progress=False)
    assert reuse._kept[-1][1] is not kept
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(images, sample_ids=np.arange(len(images)))
    fresh = Simulator(graph, "float64", batch_size=len(images)).run_batch(frames)
    assert np.array_equal(changed.step_logits, fresh.step_logits)
    assert not np.array_equal(changed.step_logits, before.step_logits)


def test_another_precision_or_batch_size_compiles_anew():
    graph, images = _graph_and_images()
    simulate(graph, images, progress=False, batch_size=8)
    kept = reuse._kept[-1][1]
    simulate(graph, images, progress=False, batch_size=8, precision="float32")
    assert reuse._kept[-1][1] is not kept and reuse._kept[-1][1].precision == "float32"
    simulate(graph, images, progress=False, batch_size=4, precision="float32")
    assert reuse._kept[-1][1].batch_size == 4
    simulate(graph, images, progress=False, batch_size=8)  # the float64 one of the start, kept all along
    assert reuse._kept[-1][1] is kept
    assert len(reuse._kept) <= reuse.KEEP


def test_threads_replaying_at_once_agree():
    graph, images = _graph_and_images()
    expected = simulate(graph, images, progress=False).per_sample
    results = [None] * 4

    def run(i):
        results[i] = simulate(graph, images, progress=False).per_sample

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.equals(expected) for r in results)


def test_big_simulators_are_not_kept(monkeypatch):
    graph, images = _graph_and_images()
    monkeypatch.setattr(reuse, "KEEP_BYTES", 0)
    reuse._kept = []
    simulate(graph, images, progress=False)
    assert reuse._kept == []


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.integers(1, 7), st.integers(0, 2**31 - 1))
def test_tally_equals_numpy_sums(B, R, T, C, seed):
    counts = np.random.default_rng(seed).integers(0, 2**40, (B, R, T, C))
    totals = np.random.default_rng(seed + 1).integers(0, 2**20, (R, T, C))
    expected_totals = totals + counts.sum(axis=0)
    per_sample = np.full((B, R, C), -7, np.int64)  # overwritten, not added to
    tally_counts(counts, totals, per_sample)
    assert np.array_equal(totals, expected_totals)
    assert np.array_equal(per_sample, counts.sum(axis=2))


def _direct_graph():
    spec = Spec(encoding="direct", timesteps=3, in_shape=(2, 6, 6), convs=[(4, 3, 1, 1, "max")], residual=False, hidden=8,
                classes=5, zero_fraction=0.2, per_timestep=True, ann=False, seed=5)
    return build(spec), images_for(spec, 12)


def _recomputing(sim: Simulator) -> Simulator:
    """``sim`` with the direct-coded first layer computed at every step again."""
    for st in sim.states:
        if getattr(st, "reuse", False):
            st.reuse = False
    return sim


def test_direct_first_layer_computed_once_equals_recomputed():
    graph, images = _direct_graph()
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(images)
    once = Simulator(graph, "float64", batch_size=12)
    assert any(getattr(st, "reuse", False) for st in once.states)
    a = once.run_batch(frames, record=True)
    b = _recomputing(Simulator(graph, "float64", batch_size=12)).run_batch(frames, record=True)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.step_logits, b.step_logits)
    assert all(np.array_equal(a.spikes[k], b.spikes[k]) for k in a.spikes)


def test_direct_graph_given_frames_that_change_computes_every_step():
    graph, images = _direct_graph()
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(images)
    frames = frames * np.linspace(1.0, 0.5, len(frames))[:, None, None, None, None]  # not the encoder's: steps differ
    a = Simulator(graph, "float64", batch_size=12).run_batch(frames, record=True)
    b = _recomputing(Simulator(graph, "float64", batch_size=12)).run_batch(frames, record=True)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.step_logits, b.step_logits)
    assert all(np.array_equal(a.spikes[k], b.spikes[k]) for k in a.spikes)


def test_footprint_counts_buffers_weights_and_the_graph_once():
    graph, _ = _graph_and_images()
    sim = Simulator(graph, "float64", batch_size=8)
    weights = sum(node.weight.nbytes for node in graph.nodes if getattr(node, "weight", None) is not None)
    size = reuse.footprint(sim)
    assert size >= sim.buffer_bytes + 2 * weights  # the graph's weights and their compiled copies
    assert size < sim.buffer_bytes + 3 * weights + 2**14  # each counted once (the rest: tables, thresholds)


def test_the_layers_table_is_kept_per_structure_and_handed_out_as_a_copy():
    from asnn_sim.sim import replay

    graph, images = _graph_and_images()
    first = simulate(graph, images, progress=False)
    first.layers.loc[0, "layer"] = "changed by the user"
    second = simulate(graph, images, progress=False)
    fresh = replay._build_layer_table(replay.ReplayFacts(graph, "float64", None))
    assert second.layers.equals(fresh)  # the user's edit did not reach the kept table
    other, _ = _graph_and_images(seed=4)  # same structure, another graph object: its own entry
    assert simulate(other, images, progress=False).layers.equals(fresh)
    assert replay._LAYER_TABLES[id(other)][0]() is other
    wider = build(Spec(encoding="rate", timesteps=3, in_shape=(1, 6, 6), convs=[(6, 3, 1, 1, None)], residual=False, hidden=8,
                       classes=5, zero_fraction=0.0, per_timestep=True, ann=False, seed=3))
    assert not simulate(wider, images, progress=False).layers.equals(fresh)
