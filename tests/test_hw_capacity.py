"""The capacity mapping (hw_models/capacity.py) on hand-sized cases, and the [capacity] table."""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import pandas as pd
import pytest

from hw_models import EnergyError, load_profile
from hw_models.capacity import capacity_table, map_model, neuron_groups
from hw_models.profile import parse_profile

# conv (6 synapses per step unrolled, fan-in 3) -> lif (4 neurons)
# conv2 (8 unrolled, fan-in 2) + lif's spikes (identity shortcut) -> add -> lif2 (4 neurons)
# pool (no neurons) -> fc (10 synapses, fan-in 5) -> readout (2 accumulators)
LAYERS = pd.DataFrame([
    dict(layer="conv", inputs="input", output="current", n_weights=6, n_neurons=0, fan_in=3, dense_macs_per_step=12),
    dict(layer="lif", inputs="conv", output="binary", n_weights=0, n_neurons=4, fan_in=0, dense_macs_per_step=0),
    dict(layer="conv2", inputs="lif", output="current", n_weights=4, n_neurons=0, fan_in=2, dense_macs_per_step=8),
    dict(layer="add", inputs="conv2,lif", output="current", n_weights=0, n_neurons=0, fan_in=0, dense_macs_per_step=0),
    dict(layer="lif2", inputs="add", output="binary", n_weights=0, n_neurons=4, fan_in=0, dense_macs_per_step=0),
    dict(layer="pool", inputs="lif2", output="analog", n_weights=0, n_neurons=0, fan_in=0, dense_macs_per_step=0),
    dict(layer="fc", inputs="pool", output="current", n_weights=10, n_neurons=0, fan_in=5, dense_macs_per_step=10),
    dict(layer="readout", inputs="fc", output="logits", n_weights=0, n_neurons=2, fan_in=0, dense_macs_per_step=0),
])


def test_groups_count_unrolled_synapses_and_identity_shortcuts_by_hand():
    g = neuron_groups(LAYERS).set_index("layer")
    assert list(g.index) == ["lif", "lif2", "readout"]
    assert g.loc["lif"].tolist() == [4, 12, 3]
    assert g.loc["lif2"].tolist() == [4, 8 + 4, 2 + 1]  # conv2's 8, plus one identity synapse per neuron
    assert g.loc["readout"].tolist() == [2, 10, 5]


def _profile(capacity: dict):
    data = tomllib.loads(resources.files("hw_models").joinpath("profiles/loihi.toml").read_text())
    data["capacity"] = {"source": "hand-made for a test", "grade": "derived", **capacity}
    return parse_profile(data, "toy.toml")


def test_cores_chips_and_utilisation_by_hand():
    p = _profile({"cores_per_chip": 2, "neurons_per_core": 3, "axons_per_core": 4, "synapse_bytes_per_core": 8,
                  "synapse_bits": 8})
    m = map_model(LAYERS, p)
    rows = m.layers.set_index("layer")
    # lif: neurons ceil(4/3) = 2, fan-in 3 <= 4 axons; memory ceil(12 B / 8) = 2 -> 2 cores (ties: neurons first)
    assert rows.loc["lif", "cores"] == 2
    # lif2: fan-in 3 fits; memory ceil(12/8) = 2; neurons 2 -> 2
    assert rows.loc["lif2", "cores"] == 2
    # readout: neurons 1 core, but fan-in 5 > 4 axons -> split in 2: 2; memory ceil(10/8) = 2 -> 2, limited by axons
    assert rows.loc["readout", "cores"] == 2 and rows.loc["readout", "limited_by"] == "axons"
    assert m.cores == 6 and m.chips == 3 and not m.fits
    assert m.neuron_utilisation == pytest.approx(10 / (6 * 3))
    assert m.synapse_utilisation == pytest.approx((12 + 12 + 10) / (6 * 8))


def test_synapse_memory_can_be_the_limit_and_one_chip_fits():
    p = _profile({"cores_per_chip": 100, "neurons_per_core": 1000, "synapse_bytes_per_core": 4, "synapse_bits": 16})
    m = map_model(LAYERS, p)
    rows = m.layers.set_index("layer")
    assert rows.loc["lif", "cores"] == math.ceil(12 * 2 / 4) == 6 and rows.loc["lif", "limited_by"] == "synapse memory"
    assert m.cores == 6 + 6 + 5 and m.chips == 1 and m.fits


def test_profiles_without_capacity_are_not_mapped():
    assert map_model(LAYERS, load_profile("cmos45-fp32-arith")) is None
    assert capacity_table(LAYERS, [load_profile("cmos45-fp32-arith")]).empty


@pytest.mark.parametrize("capacity, field", [
    ({"cores_per_chip": 0, "neurons_per_core": 4}, "capacity.cores_per_chip"),
    ({"cores_per_chip": 2}, "capacity"),
    ({"cores_per_chip": 2, "axons_per_core": 4, "synapse_bytes_per_core": 8}, "capacity.axons_per_core"),
    ({"cores_per_chip": 2, "neurons_per_core": 4, "wires": 3}, "capacity.wires"),
    ({"cores_per_chip": 2, "neurons_per_core": 4.5}, "capacity.neurons_per_core"),
])
def test_a_bad_capacity_table_is_refused_naming_the_field(capacity, field):
    with pytest.raises(EnergyError, match=field.replace(".", r"\.")) as e:
        _profile(capacity)
    assert "\n" not in str(e.value)
