"""Report figures: each writes a valid PNG, validates its input, and uses consistent colours."""

from __future__ import annotations

import warnings

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from asnn_sim.app import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ENCODINGS = ["direct", "temporal", "hybrid", "ANN"]


def assert_png(path, min_px=300):
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert min_px <= w <= 5000 and min_px <= h <= 5000, (w, h)
    assert img.std() > 0.01  # not a blank canvas
    # atomic write: no temporary file left next to it
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert path.stat().st_mode & 0o444 == 0o444  # readable by all, not mkstemp's 0600


# ------------------------------------------------------------------ fake data


def energy_frame(profiles=("cmos45-int8-sram", "loihi")):
    rows = []
    for k, prof in enumerate(profiles):
        for j, enc in enumerate(ENCODINGS):
            comps = {c: (j + 1) * 10.0 ** (3 + k) * (i + 1) for i, c in enumerate(plots.COMPONENTS)}
            comps["static"] = 0.0  # zero everywhere: must not appear in the legend
            total = sum(comps.values())
            for comp, e in comps.items():
                rows.append(dict(encoding=enc, profile=prof, component=comp, energy_pj=e,
                                 total_low_pj=0.8 * total, total_high_pj=1.3 * total))
    return pd.DataFrame(rows)


def firing_frame():
    rng = np.random.default_rng(0)
    rows = []
    for enc, T in (("direct", 4), ("temporal", 6), ("hybrid", 4)):
        for li, layer in enumerate(["conv1", "conv2", "fc1", "out"]):
            for t in range(T):
                rows.append(dict(encoding=enc, layer=layer, layer_index=li, t=t, firing_rate=rng.uniform(0, 0.3)))
    return pd.DataFrame(rows)


def points_frame():
    rows = []
    for prof, scale in (("cmos45-int8-sram", 1e4), ("loihi", 1e6)):
        for enc, acc, e in (("direct", 0.98, 2.0), ("temporal", 0.95, 1.0), ("hybrid", 0.975, 1.4), ("ANN", 0.985, 4.0)):
            rows.append(dict(encoding=enc, profile=prof, accuracy=acc, energy_pj=e * scale, energy_low_pj=0.7 * e * scale,
                             energy_high_pj=1.5 * e * scale, system="ann" if enc == "ANN" else "snn"))
    return pd.DataFrame(rows)


def curves_frame():
    rows = [dict(encoding=enc, steps=s, accuracy=0.9 + 0.02 * s, cumulative_energy_pj=1e4 * s * (j + 1), profile="loihi")
            for j, enc in enumerate(["direct", "temporal", "hybrid"]) for s in range(1, 5)]
    rows.append(dict(encoding="ANN", steps=np.nan, accuracy=0.99, cumulative_energy_pj=1e5, profile="loihi"))
    return pd.DataFrame(rows)


def raster_list():
    rng = np.random.default_rng(0)
    inp = rng.random((4, 1, 8, 8)) * (rng.random((4, 1, 8, 8)) < 0.3)  # analog, multi-dimensional
    return [("input", inp), ("conv1", rng.random((4, 300)) < 0.1), ("out", (rng.random((4, 10)) < 0.3).astype(np.uint8))]


# ------------------------------------------------------------------ each figure renders


def test_energy_by_encoding_png(tmp_path):
    out = plots.plot_energy_by_encoding(energy_frame(), tmp_path / "energy.png")
    assert out == tmp_path / "energy.png"
    assert_png(out)


@pytest.mark.slow
def test_energy_by_encoding_many_profiles_grid(tmp_path):
    out = plots.plot_energy_by_encoding(energy_frame([f"p{k}" for k in range(5)]), tmp_path / "sub" / "e.png")
    assert_png(out)  # parent folder created; 5 panels on a 3-column grid


def test_firing_heatmaps_png(tmp_path):
    assert_png(plots.plot_firing_heatmaps(firing_frame(), tmp_path / "firing.png"))


def test_accuracy_vs_energy_png(tmp_path):
    assert_png(plots.plot_accuracy_vs_energy(points_frame(), tmp_path / "acc.png"))


@pytest.mark.slow
def test_early_exit_png(tmp_path):
    assert_png(plots.plot_early_exit(curves_frame(), tmp_path / "early.png"))
    assert_png(plots.plot_early_exit(curves_frame(), tmp_path / "early2.png", profile="loihi", energy_log=True))


def test_early_exit_needs_profile_when_several(tmp_path):
    curves = pd.concat([curves_frame(), curves_frame().assign(profile="truenorth")])
    with pytest.raises(ValueError, match="profile"):
        plots.plot_early_exit(curves, tmp_path / "x.png")
    assert_png(plots.plot_early_exit(curves, tmp_path / "ok.png", profile="truenorth"))


def test_spike_raster_png(tmp_path):
    assert_png(plots.plot_spike_raster(raster_list(), tmp_path / "raster.png", title="one sample"))


def test_spike_raster_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        plots.plot_spike_raster([], tmp_path / "r.png")
    with pytest.raises(ValueError, match="timesteps"):
        plots.plot_spike_raster([("a", np.zeros((4, 5))), ("b", np.zeros((3, 5)))], tmp_path / "r.png")
    with pytest.raises(ValueError, match="shape"):
        plots.plot_spike_raster([("a", np.zeros(5))], tmp_path / "r.png")


def test_overwrites_existing_file(tmp_path):
    path = tmp_path / "energy.png"
    path.write_bytes(b"old")
    plots.plot_energy_by_encoding(energy_frame(["loihi"]), path)
    assert_png(path)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "func, frame, column",
    [
        (plots.plot_energy_by_encoding, energy_frame, "total_high_pj"),
        (plots.plot_energy_by_encoding, energy_frame, "component"),
        (plots.plot_firing_heatmaps, firing_frame, "layer_index"),
        (plots.plot_accuracy_vs_energy, points_frame, "energy_low_pj"),
        (plots.plot_accuracy_vs_energy, points_frame, "system"),
        (plots.plot_early_exit, curves_frame, "cumulative_energy_pj"),
        (plots.plot_early_exit, curves_frame, "steps"),
    ],
)
def test_missing_column_named(tmp_path, func, frame, column):
    with pytest.raises(ValueError, match=f"missing required column '{column}'"):
        func(frame().drop(columns=[column]), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_bad_values_rejected(tmp_path):
    bad = energy_frame()
    bad.loc[0, "component"] = "leakage"
    with pytest.raises(ValueError, match="unknown component 'leakage'"):
        plots.plot_energy_by_encoding(bad, tmp_path / "x.png")
    with pytest.raises(ValueError, match="accuracy"):
        plots.plot_accuracy_vs_energy(points_frame().assign(accuracy=98.0), tmp_path / "x.png")
    with pytest.raises(ValueError, match="repeated"):
        plots.plot_firing_heatmaps(pd.concat([firing_frame(), firing_frame().head(1)]), tmp_path / "x.png")
    with pytest.raises(ValueError, match="steps"):
        plots.plot_early_exit(curves_frame().assign(steps=np.nan), tmp_path / "x.png")
    with pytest.raises(ValueError, match="no rows"):
        plots.plot_firing_heatmaps(firing_frame().iloc[0:0], tmp_path / "x.png")


# ------------------------------------------------------------------ units and colours


@pytest.mark.parametrize(
    "values, unit, scale",
    [
        (0.4, "pJ", 1.0),
        (1.0, "pJ", 1.0),
        ([3.0, 999.0], "pJ", 1.0),
        ([350.0, 1200.0], "nJ", 1e3),
        (2.5e6, "µJ", 1e6),
        ([1e3, 4.2e9], "mJ", 1e9),
        (7e12, "J", 1e12),
        ([np.nan, 5e4], "nJ", 1e3),
        ([], "pJ", 1.0),
    ],
)
def test_energy_unit(values, unit, scale):
    assert plots.energy_unit(values) == (unit, scale)


def test_energy_unit_geomean_and_format():
    # 10 pJ and 1 µJ: the max picks µJ; the geometric mean (about 3.2 nJ) picks nJ, for log axes
    assert plots.energy_unit([10.0, 1e6]) == ("µJ", 1e6)
    assert plots.energy_unit([10.0, 1e6], reference="geomean") == ("nJ", 1e3)
    assert plots.format_energy(1234.0) == "1.23 nJ"
    assert plots.format_energy(999.96) == "1.00 nJ"
    assert plots.format_energy(0.5) == "0.500 pJ"
    with pytest.raises(ValueError):
        plots.energy_unit([1.0], reference="median")


def test_encoding_colors_consistent():
    a = plots.encoding_colors(["direct", "temporal", "hybrid", "ANN"])
    b = plots.encoding_colors(["ANN", "hybrid"])
    c = plots.encoding_colors(["hybrid", "my-new-code", "direct"])
    assert a["hybrid"] == b["hybrid"] == c["hybrid"]
    assert a["direct"] == c["direct"]
    assert a["ANN"] == b["ANN"] == plots.ANN_COLOR
    assert plots.encoding_colors(["ann"])["ann"] == plots.ANN_COLOR
    assert len(set(a.values())) == 4
    # unknown names: deterministic, distinct from the fixed ones
    assert plots.encoding_colors(["my-new-code"]) == plots.encoding_colors(["my-new-code"])
    assert c["my-new-code"] not in {a["direct"], a["temporal"], a["hybrid"], plots.ANN_COLOR}
    many = plots.encoding_colors([f"code{k}" for k in range(6)])
    assert len(set(many.values())) == 6  # collisions within one call are resolved


def test_no_pyplot_state_left(tmp_path):
    import sys

    plots.plot_energy_by_encoding(energy_frame(["loihi"]), tmp_path / "e.png")
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


# ------------------------------------------------------------------ what the reader sees (issue 10)


@pytest.fixture
def drawn(monkeypatch):
    """Capture each figure's axes (scale, labelled ticks, texts) just before it is saved."""
    seen = []
    real = plots.style._save

    def spy(fig, path, dpi):
        fig.canvas.draw()
        axes = []
        for ax in fig.axes:
            if not ax.get_visible():
                continue

            def labelled(axis):
                lo, hi = sorted(axis.get_view_interval())
                return [t.get_text() for t, loc in zip(axis.get_ticklabels(), axis.get_ticklocs())
                        if t.get_text() and lo <= loc <= hi]

            axes.append(dict(
                xscale=ax.get_xscale(), yscale=ax.get_yscale(), xticks=labelled(ax.xaxis), yticks=labelled(ax.yaxis),
                texts=[t.get_text() for t in ax.texts], ylabel=ax.get_ylabel(), xlabel=ax.get_xlabel(),
                legend=[t.get_text() for lg in fig.legends for t in lg.get_texts()],
            ))
        seen.append(axes)
        return real(fig, path, dpi)

    monkeypatch.setattr(plots.style, "_save", spy)
    return seen


@pytest.mark.slow
def test_accuracy_vs_energy_linear_below_a_decade_and_ticks_on_every_axis(tmp_path, drawn):
    points = points_frame()  # both profiles span 0.7x..1.5x of 1..4: under a decade
    points["accuracy_low"], points["accuracy_high"] = points["accuracy"] - 0.004, points["accuracy"] + 0.003
    wide = points[points["profile"] == "loihi"].assign(profile="wide")
    wide.loc[wide["encoding"] == "ANN", ["energy_pj", "energy_low_pj", "energy_high_pj"]] *= 40  # > a decade
    assert_png(plots.plot_accuracy_vs_energy(pd.concat([points, wide]), tmp_path / "acc.png", bounds_label="min–max over 3 seeds"))
    (axes,) = drawn
    assert [a["xscale"] for a in axes] == ["linear", "linear", "log"]
    for a in axes:
        assert len(a["xticks"]) >= 3 and len(a["yticks"]) >= 3, a
    assert "min–max over 3 seeds" in axes[0]["legend"]


@pytest.mark.slow
def test_accuracy_vs_energy_names_both_ann_baselines(tmp_path, drawn):
    points = points_frame()
    skip = points[points["encoding"] == "ANN"].assign(encoding="ANN zero-skip")
    skip[["energy_pj", "energy_low_pj", "energy_high_pj"]] *= 0.8
    points = pd.concat([points.replace({"encoding": {"ANN": "ANN dense"}}), skip])
    assert_png(plots.plot_accuracy_vs_energy(points, tmp_path / "acc.png"))
    legend = drawn[0][0]["legend"]
    assert "ANN dense" in legend and "ANN zero-skip" in legend
    colors = plots.encoding_colors(["ANN dense", "ANN zero-skip"])
    assert set(colors.values()) == {plots.ANN_COLOR}


def test_early_exit_numbers_steps_from_zero_with_error_bars(tmp_path, drawn):
    curves = curves_frame()
    curves["accuracy_low"], curves["accuracy_high"] = curves["accuracy"] - 0.01, curves["accuracy"] + 0.01
    assert_png(plots.plot_early_exit(curves, tmp_path / "early.png"))
    acc, energy = drawn[0]
    assert acc["xticks"][0] == "0" and acc["xticks"][-1] == "3" and "0-based" in acc["xlabel"]
    assert energy["xticks"] == acc["xticks"]


def test_raster_shows_inputs_as_images_and_analog_frames_as_analog(tmp_path, drawn):
    rng = np.random.default_rng(0)
    image = rng.random((1, 8, 8))
    spikes = rng.random((3, 1, 8, 8)) < 0.2
    frames = np.concatenate([image[None], spikes.astype(float)])  # hybrid: analog t = 0, then spikes
    raster = [("input", frames, ("analog", "binary", "binary", "binary")), ("conv1", rng.random((4, 300)) < 0.1)]
    assert_png(plots.plot_spike_raster(raster, tmp_path / "raster.png"))
    inp = drawn[0][0]
    assert inp["texts"][0] == "analog"  # the analog frame is not counted as spikes
    assert inp["texts"][1:] == [f"{int(s.sum()):,}" for s in spikes]
    assert "(1x8x8)" in inp["ylabel"] and f"{int(spikes.sum())} spikes / 64 pixels" in inp["ylabel"]
    assert "analog at t = 0" in inp["ylabel"]
    assert "0-based" in drawn[0][-1]["xlabel"]
    with pytest.raises(ValueError, match="kinds"):
        plots.plot_spike_raster([("input", frames, ("analog",))], tmp_path / "r.png")
    with pytest.raises(ValueError, match="shape"):
        plots.plot_spike_raster([("input", frames.reshape(4, -1), ("binary",) * 4)], tmp_path / "r.png")


def timesteps_frame():
    rows = [dict(encoding=enc, timesteps=T, accuracy=0.85 + 0.01 * k + 0.005 * T, energy_pj=2e5 * T * (k + 1))
            for k, enc in enumerate(["hybrid", "direct", "temporal"]) for T in (1, 2, 4, 8) if (enc, T) != ("hybrid", 1)]
    df = pd.DataFrame(rows)
    return df.assign(accuracy_low=df["accuracy"] - 0.007, accuracy_high=df["accuracy"] + 0.006)


def test_against_timesteps_marks_exactly_the_steps_run_and_the_ann_lines(tmp_path, drawn):
    out = plots.plot_against_timesteps(timesteps_frame(), tmp_path / "t.png",
                                       ann_energy_pj={"ANN dense": 3e6, "ANN zero-skip": 1.5e6})
    assert_png(out)
    acc, energy = drawn[0]
    assert acc["xticks"] == energy["xticks"] == ["1", "2", "4", "8"]
    assert energy["yscale"] == "log" and len(energy["yticks"]) >= 3 and "(µJ)" in energy["ylabel"]
    assert acc["ylabel"] == "accuracy (%)"


def test_against_timesteps_rejects_two_rows_for_one_point(tmp_path):
    frame = timesteps_frame()
    with pytest.raises(ValueError, match="more than one row"):
        plots.plot_against_timesteps(pd.concat([frame, frame.head(1)]), tmp_path / "t.png")
    with pytest.raises(ValueError, match="'energy_pj'"):
        plots.plot_against_timesteps(frame.drop(columns="energy_pj"), tmp_path / "t.png")


# ------------------------------------------------------------------ labels stay readable (legends, not free text)


@pytest.fixture
def layout(monkeypatch):
    """Per figure, just before it is saved: legend entries, text inside panels, texts outside the canvas."""
    from matplotlib.text import Text

    seen = []
    real = plots.style._save

    def spy(fig, path, dpi):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        canvas = fig.bbox
        hidden = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)  # ticks outside the view are not drawn
                  for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                  if not min(axis.get_view_interval()) <= tick.get_loc() <= max(axis.get_view_interval())
                  for t in (tick.label1, tick.label2)}
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
        seen.append(dict(
            legend=[t.get_text() for lg in fig.legends for t in lg.get_texts()],
            panel_texts=[t.get_text() for ax in fig.axes for t in ax.texts],
            outside=[t.get_text() for t in texts
                     if not canvas.contains(*t.get_window_extent(renderer).p0)
                     or not canvas.contains(*t.get_window_extent(renderer).p1)],
        ))
        return real(fig, path, dpi)

    monkeypatch.setattr(plots.style, "_save", spy)
    return seen


def both_baselines(frame):
    """``frame`` with its ANN as the two baselines of a report: dense and a cheaper zero-skip one."""
    ann = frame[frame["encoding"] == "ANN"]
    skip = ann.assign(encoding="ANN zero-skip")
    for col in [c for c in skip.columns if "energy" in c]:
        skip[col] = skip[col] * 0.8
    return pd.concat([frame.replace({"encoding": {"ANN": "ANN dense"}}), skip], ignore_index=True)


LONG_TITLE = "Accuracy vs energy per inference (mean over seeds 0, 1; ANN baselines: dense (every MAC) and zero-skip (non-zero inputs only))"


@pytest.mark.parametrize("profiles", [("cmos45-fp32-arith", "cmos45-int8-sram", "loihi"), ("loihi",)])
def test_accuracy_vs_energy_names_each_series_once_in_a_legend(tmp_path, layout, profiles):
    points = pd.concat([points_frame().query("profile == 'loihi'").assign(profile=p) for p in profiles])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. constrained_layout giving up
        assert_png(plots.plot_accuracy_vs_energy(both_baselines(points), tmp_path / "a.png", title=LONG_TITLE,
                                                 bounds_label="min–max over 2 seeds"))
    (fig,) = layout
    assert fig["panel_texts"] == []  # no free labels to leave a panel or cover a point
    assert fig["legend"] == ["direct", "temporal", "hybrid", "ANN dense", "ANN zero-skip", "min–max over 2 seeds"]
    assert fig["outside"] == []  # the long title is wrapped, not cut off


def test_early_exit_labels_its_lines_in_the_legend_only(tmp_path, layout):
    curves = curves_frame()
    curves.loc[curves["encoding"] == "ANN", "accuracy"] = 0.94  # the ANN line runs through the curves
    curves = both_baselines(curves)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_png(plots.plot_early_exit(curves, tmp_path / "e.png", title=LONG_TITLE))
    (fig,) = layout
    assert fig["panel_texts"] == []
    assert fig["legend"] == ["direct", "temporal", "hybrid", "ANN dense and ANN zero-skip accuracy (one model)",
                             "ANN dense energy (no timesteps)", "ANN zero-skip energy (no timesteps)"]
    assert fig["outside"] == []


def test_other_figures_keep_their_text_on_the_canvas_without_warnings(tmp_path, layout):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.plot_energy_by_encoding(both_baselines(energy_frame(["loihi"])), tmp_path / "1.png", title=LONG_TITLE)
        plots.plot_against_timesteps(timesteps_frame(), tmp_path / "2.png", title=LONG_TITLE,
                                     ann_energy_pj={"ANN dense": 3e6, "ANN zero-skip": 1.5e6})
        plots.plot_sensitivity(sensitivity_frame(), tmp_path / "3.png", title=LONG_TITLE)
    energy, timesteps, tornado = layout
    for fig in layout:
        assert fig["outside"] == []
    assert timesteps["legend"] == ["direct", "temporal", "hybrid", "ANN dense", "ANN zero-skip"]  # below, not on a line
    assert "every constant at its value" in tornado["legend"]  # the reader learns what the lines are


def sensitivity_frame():
    rows = [dict(profile="loihi", parameter=p, ratio=0.95, ratio_at_low=0.95 - s, ratio_at_high=0.95 + 2 * s, swing=3 * s)
            for p, s in (("ac", 0.1), ("mac", 0.05), ("hop", 1e-5))]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ energy against time


def latency_frame():
    rows = []
    for profile, scale in (("loihi", 1.0), ("truenorth", 10.0)):
        for enc, steps in (("direct", 4), ("temporal", 8), ("hybrid", 4)):
            rows.append(dict(encoding=enc, profile=profile, snn_pj=1e5 * scale * steps / 4, snn_seconds=2e-6 * steps * scale,
                             ann_dense_pj=2e5 * scale, ann_dense_seconds=3e-6 * scale))
    return pd.DataFrame(rows)


def test_energy_vs_latency_png(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_png(plots.plot_energy_vs_latency(latency_frame(), tmp_path / "el.png"))


def test_energy_vs_latency_joins_a_sweep_over_t_and_labels_each_point(tmp_path):
    import warnings

    from matplotlib.figure import Figure

    rows = [dict(encoding=e, profile="loihi", timesteps=T, snn_pj=1e5 * T, snn_seconds=2e-6 * T, ann_dense_pj=3e5,
                 ann_dense_seconds=5e-6) for e in ("direct", "hybrid") for T in (4, 1, 2)]
    drawn = {}
    original = Figure.savefig

    def keep(fig, *args, **kwargs):
        ax = fig.axes[0]
        drawn["labels"] = sorted(t.get_text() for t in ax.texts)
        drawn["lines"] = [line.get_xdata().tolist() for line in ax.lines if line.get_linestyle() == "-"]
        return original(fig, *args, **kwargs)

    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("error")
        mp.setattr(Figure, "savefig", keep)
        assert_png(plots.plot_energy_vs_latency(pd.DataFrame(rows), tmp_path / "sweep.png"))
    assert drawn["labels"] == ["T=1", "T=1", "T=2", "T=2", "T=4", "T=4"]
    assert drawn["lines"] == [[2.0, 4.0, 8.0], [2.0, 4.0, 8.0]]  # each encoding in the order of T, in us


def test_energy_vs_latency_needs_a_time(tmp_path):
    frame = latency_frame().assign(snn_seconds=np.nan)
    with pytest.raises(ValueError, match="no row has a time per inference"):
        plots.plot_energy_vs_latency(frame, tmp_path / "el.png")
    with pytest.raises(ValueError, match="ann_dense_seconds"):
        plots.plot_energy_vs_latency(latency_frame().drop(columns="ann_dense_seconds"), tmp_path / "el.png")
