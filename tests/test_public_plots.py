"""``asnn_sim.plots``: figures for any graph from ``simulate`` and ``energy`` results.

Each figure is checked for what it draws (the plotted values are the result's numbers),
for drawing without a warning, and for one-line errors when the result lacks what it needs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import asnn_sim.api as asnn
from asnn_sim import plots


@pytest.fixture(scope="module")
def replay():
    graph = (asnn.GraphBuilder((1, 8, 8), encoding="hybrid", timesteps=3, seed=0)
             .conv(4, 3, padding=1).neuron(leak=0.9, threshold=0.5).maxpool(2)
             .flatten().linear(12).neuron(threshold=0.3).linear(10).readout().build())
    x, y = asnn.load_images("digits", limit=12)
    result = asnn.simulate(graph, x, y, record=True, record_membranes=True, record_samples=4)
    return graph, result, asnn.simulate(graph, x), asnn.energy(result, hw=["loihi", "cmos45-int8-sram"])


def drawn(fig: Figure) -> Figure:
    """``fig`` after a full draw with every warning an error (layout problems show up here)."""
    assert isinstance(fig, Figure)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.canvas.draw()
    return fig


def test_raster_draws_one_band_per_recorded_layer(replay):
    _, result, _, _ = replay
    fig = drawn(plots.raster(result, sample=2))
    labels = [ax.get_ylabel() for ax in fig.axes]
    spikes = {name: int(result.recording.spikes[name][:, 2].sum()) for name in ("lif1", "lif2")}
    assert labels == [f"lif1\n{spikes['lif1']:,} spikes / 256 neurons", f"lif2\n{spikes['lif2']:,} spikes / 12 neurons"]
    assert len(drawn(plots.raster(result.recording, nodes=["lif2"])).axes) == 1


def test_firing_rates_plot_the_tables_numbers(replay):
    _, result, unrecorded, _ = replay
    fig = drawn(plots.firing_rates(unrecorded))  # needs no recording: the counts hold the rates
    table = unrecorded.firing_rates()
    lines = {line.get_label(): line.get_ydata() for line in fig.axes[0].get_lines()}
    for name in ("lif1", "lif2"):
        np.testing.assert_allclose(lines[name], table[table["layer"] == name]["firing_rate"])
    bars = [p.get_width() for p in fig.axes[1].patches]
    np.testing.assert_allclose(bars, unrecorded.firing_rates(per_step=False)["firing_rate"])
    drawn(plots.firing_rates(result.recording))


def test_membranes_trace_the_recorded_values_and_mark_the_spikes(replay):
    graph, result, _, _ = replay
    rec = result.recording
    fig = drawn(plots.membranes(result, "lif1", neurons=[(1, 2, 3), 7], sample=1, graph=graph))
    ax = fig.axes[0]
    before = rec.membranes_before_reset["lif1"][:, 1].reshape(3, -1)
    after = rec.membranes_after_reset["lif1"][:, 1].reshape(3, -1)
    trace = [line for line in ax.get_lines() if line.get_label() == "neuron (1, 2, 3)"][0]
    j = np.ravel_multi_index((1, 2, 3), (4, 8, 8))
    np.testing.assert_array_equal(trace.get_ydata(), np.ravel(np.c_[before[:, j], after[:, j]]))
    assert any(line.get_label() == "neuron 7" or line.get_label() == "neuron (0, 0, 7)" for line in ax.get_lines())
    # the default picks the busiest neurons of the sample
    busiest = drawn(plots.membranes(result, "lif1", sample=1)).axes[0]
    spikes = rec.spikes["lif1"][:, 1].reshape(3, -1).sum(axis=0)
    first = [line for line in busiest.get_lines() if line.get_label().startswith("neuron")][0]
    index = tuple(int(v) for v in first.get_label()[len("neuron "):].strip("()").split(","))
    assert spikes[np.ravel_multi_index(index, (4, 8, 8))] == spikes.max()


def test_energy_breakdown_stacks_the_breakdown_table(replay):
    _, _, _, energy = replay
    fig = drawn(plots.energy_breakdown(energy, "loihi"))
    ax = fig.axes[0]
    total_drawn = sum(p.get_width() for p in ax.patches)
    rows = energy.breakdown.query("profile == 'loihi' and system == 'snn'")
    unit = ax.get_xlabel().split("(")[1].rstrip(")")
    scale = {"pJ": 1.0, "nJ": 1e3, "µJ": 1e6, "mJ": 1e9}[unit]
    assert total_drawn == pytest.approx(rows["energy_pj"].sum() / scale, rel=1e-9)
    assert rows["energy_pj"].sum() == pytest.approx(float(energy.summary.set_index("profile").loc["loihi", "snn_pj"]), rel=1e-9)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(dict.fromkeys(rows.sort_values("layer_index")["layer"]))
    drawn(plots.energy_breakdown(energy))


def test_accuracy_by_timestep_plots_the_early_exit_curve(replay):
    _, result, _, _ = replay
    fig = drawn(plots.accuracy_by_timestep({"hybrid": result}))
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), result.summary["accuracy_by_timesteps"])


@pytest.mark.parametrize("call, message", [
    (lambda r: plots.raster(r[2]), r"raster needs recorded spikes: simulate\(..., record=True\)"),
    (lambda r: plots.raster(r[1], sample=9), r"sample 9 was not recorded \(recorded samples: 0 to 3\)"),
    (lambda r: plots.raster(r[1], nodes=["fc1"]), "layer 'fc1' was not recorded; the recording holds lif1, lif2"),
    (lambda r: plots.membranes(r[1], "lif1", neurons=[999]), r"neuron 999 is outside the layer's shape \(4, 8, 8\)"),
    (lambda r: plots.energy_breakdown(r[3], "truenorth"), "no profile 'truenorth' in this result; it holds loihi"),
    (lambda r: plots.accuracy_by_timestep(r[2]), "has no accuracy: simulate it with labels"),
])
def test_missing_data_is_named_in_one_line(replay, call, message):
    with pytest.raises(ValueError, match=message):
        call(replay)


def test_membranes_need_recorded_membranes(replay):
    graph = replay[0]
    result = asnn.simulate(graph, asnn.load_images("digits", limit=2)[0], record="lif2")
    with pytest.raises(ValueError, match=r"membranes needs recorded membranes: simulate\(..., record=..., record_membranes=True\)"):
        plots.membranes(result, "lif2")


def test_raster_draws_the_input_frames_on_top():
    graph = asnn.GraphBuilder((2, 6, 6), encoding="frames", timesteps=3, seed=0).conv(3, 3, padding=1).neuron(threshold=0.3) \
        .flatten().linear(2).readout().build()
    frames = np.random.default_rng(0).poisson(0.4, (3, 2, 2, 6, 6)).astype(np.int16)  # event counts: analog steps
    frames[1] = frames[1] > 0  # a step of 0/1 spikes
    result = asnn.simulate(graph, frames=frames, record=True)
    fig = drawn(plots.raster(result, sample=1, frames=frames))
    assert fig.axes[0].get_ylabel().startswith("input (2x6x6)") and "analog at t = 0, 2" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="the frames have 2 steps but the recording 3"):
        plots.raster(result, frames=frames[:2])
