"""The energy side's activity rate says what it is: input events per input element, not a firing rate."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hw_models import activity, estimate, layer_activity, run_energy, summarize
from hw_models.synthetic import two_layer_counts

DOC = Path(__file__).resolve().parents[1] / "docs" / "energy.md"
# two_layer_counts: an analog-input conv (no spike rows), then a linear layer reading 32
# inputs for T = 2 steps with 7 spike events in all: 7 / (32 x 2).
RATE = 7 / 64


def test_activity_names_the_input_event_rate():
    act = activity(two_layer_counts())
    assert act.input_event_rate == pytest.approx(RATE)
    assert not hasattr(act, "spike_rate")
    per_layer = layer_activity(two_layer_counts())
    assert "input_event_rate" in per_layer.columns and "spike_rate" not in per_layer.columns
    assert per_layer["input_event_rate"].dropna().tolist() == pytest.approx([RATE])


def test_summary_names_each_rate_once():
    counts = two_layer_counts()
    s = summarize(estimate(counts, "cmos45-fp32-arith"), counts).iloc[0]
    assert s["input_event_rate"] == pytest.approx(RATE)
    lam = s["break_even_scale"]
    assert s["break_even_input_event_rate"] == pytest.approx(lam * RATE)
    assert not [c for c in s.index if "spike_rate" in c], "one name per rate"
    assert not math.isnan(lam)


def test_the_definitions_written_with_the_results_tell_it_from_a_firing_rate():
    definitions = run_energy(two_layer_counts(), "cmos45-fp32-arith").meta["definitions"]
    assert "per input element per timestep" in definitions["input_event_rate"]
    assert "not a firing rate" in definitions["input_event_rate"]
    assert definitions["break_even_input_event_rate"] == "lambda* x input_event_rate"


def test_docs_define_the_input_event_rate_against_the_firing_rate():
    text = DOC.read_text()
    section = text.split("**Input event rate** `r` (`input_event_rate`)", 1)[1].split("\n\n", 1)[0]
    assert "per input element per timestep" in section and "`firing_rate`" in section
    assert "output spikes per neuron per timestep" in section and "`spike_rate`" in section
