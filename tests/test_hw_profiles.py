"""Profiles as data: every shipped constant cited and graded; malformed files named."""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path

import pytest

from hw_models import EnergyError, estimate, list_profiles, load_profile
from hw_models.synthetic import two_layer_counts
from hw_models.profile import GRADES, SCOPES, tomllib
from tomli_w import dumps as _dump

REQUIRED = {"cmos45-fp32-arith", "cmos45-int8-sram", "cmos45-int16-sram", "lemaire2022-45nm", "loihi", "truenorth", "spinnaker2"}


def _shipped_toml(name: str) -> dict:
    return tomllib.loads(resources.files("hw_models").joinpath("profiles", f"{name}.toml").read_text())


def test_required_profiles_ship():
    assert REQUIRED <= set(list_profiles())


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_constant_is_cited_graded_and_scoped(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.chip and profile.process_node and profile.description and profile.memory and profile.references
    assert profile.clocking in ("clock-driven", "event-driven")
    for const in profile.constants.values():
        assert len(const.source) > 10, const.name
        assert const.grade in GRADES
        assert const.scope in SCOPES
        assert const.low <= const.value <= const.high
    for assumption in profile.assumptions.values():
        assert len(assumption.why) > 20


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_raw_files_spell_out_every_field(name):
    # Defaults must not hide a missing citation: each constant table names all four.
    for const in _shipped_toml(name)["constants"].values():
        assert {"value", "unit", "source", "grade", "scope"} <= set(const)


def test_key_constants():
    fp32 = load_profile("cmos45-fp32-arith")
    assert fp32.constants["ac"].value == 0.9 and fp32.constants["mac"].value == 4.6
    int16 = load_profile("cmos45-int16-sram")
    assert int16.constants["mult"].grade == "derived"
    assert int16.constants["mult"].low < int16.constants["mult"].high
    loihi = load_profile("loihi")
    assert loihi.constants["ac"].value == 23.6
    # The known trap: Table 2's 3.5 ns is a time. No constant may be 23.6 + 3.5.
    assert all(abs(c.value - 27.1) > 1e-9 for c in loihi.constants.values())
    assert loihi.constants["neuron_active"].value == 81.0 and loihi.constants["neuron_inactive"].value == 52.0
    truenorth = load_profile("truenorth")
    assert truenorth.scope == "all-in" and truenorth.constants["ac"].value == 26.0
    assert truenorth.constants["ac"].grade == "measured"
    spinnaker = load_profile("spinnaker2")
    assert spinnaker.constants["ac"].value == 450.0
    assert spinnaker.constants["neuron_update"].value == pytest.approx(2190.0)  # 2.19 nJ in pJ
    assert "28 nm" in spinnaker.process_node


def test_truenorth_adds_nothing_on_top():
    m = load_profile("truenorth").model
    assert all(m[k] == "included" for k in ("neuron", "weight_memory", "potential_memory", "routing", "static"))


def test_user_profile_from_path(tmp_path):
    data = _shipped_toml("cmos45-fp32-arith")
    data["name"] = "my-chip"
    data["constants"]["ac"]["value"] = 1.5
    path = tmp_path / "my-chip.toml"
    path.write_text(_dump(data))
    profile = load_profile(path)
    assert profile.name == "my-chip" and profile.constants["ac"].value == 1.5
    assert load_profile(str(path)).path == path


def test_unknown_name():
    with pytest.raises(EnergyError, match="unknown profile 'nope'"):
        load_profile("nope")
    with pytest.raises(EnergyError, match="profile file not found"):
        load_profile("/no/such/file.toml")


def _set(path):
    """Mutation that sets a dotted key (or deletes it when value is ...)."""

    def apply(data, value):
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value

    return apply


@pytest.mark.parametrize(
    ("base", "key", "value", "field"),
    [
        ("cmos45-int8-sram", "constants.ac.source", ..., "constants.ac.source"),
        ("cmos45-int8-sram", "constants.ac.grade", "guess", "constants.ac.grade"),
        ("cmos45-int8-sram", "constants.ac.scope", ..., "constants.ac.scope"),
        ("cmos45-int8-sram", "constants.ac.unit", "kWh", "constants.ac.unit"),
        ("cmos45-int8-sram", "constants.ac.value", -1.0, "constants.ac.value"),
        ("cmos45-int8-sram", "constants.ac.value", "0.03", "constants.ac.value"),
        ("cmos45-int8-sram", "constants.mult.low", 0.5, "constants.mult.low/high"),
        ("cmos45-int8-sram", "constants.mult", ..., "constants.mult"),
        ("cmos45-int8-sram", "constants.sram_1mb", ..., "constants.sram_1mb"),
        ("cmos45-int8-sram", "model.neuron", "magic", "model.neuron"),
        ("cmos45-int8-sram", "model.sram", "none", "model.sram"),
        ("cmos45-int8-sram", "model.turbo", "on", "model.turbo"),
        ("cmos45-int8-sram", "schema_version", 2, "schema_version"),
        ("cmos45-int8-sram", "name", ..., "name"),
        ("cmos45-int8-sram", "references", [], "references"),
        ("cmos45-int8-sram", "clocking", "sometimes", "clocking"),
        ("cmos45-int8-sram", "bits", 0, "bits"),
        ("truenorth", "model.weight_memory", "sram", "model.weight_memory"),
        ("truenorth", "model.routing", "per-spike", "model.routing"),
        ("loihi", "assumptions.hops_per_spike.why", ..., "assumptions.hops_per_spike.why"),
        ("loihi", "assumptions.hops_per_spike", ..., "assumptions.hops_per_spike"),
        ("spinnaker2", "constants.neuron_update.unit", "W", "constants.neuron_update.unit"),
        # a typo would silently drop a value: every unknown key is refused
        ("cmos45-int8-sram", "descripton", "x", "descripton is not a known profile field; did you mean 'description'?"),
        ("cmos45-int8-sram", "constants.mac_energy", {"value": 1.0}, "constants.mac_energy is not a known constant"),
        ("cmos45-int8-sram", "constants.ac.vaule", 1.0, "constants.ac.vaule is not a known field of a constant; did you mean 'value'?"),
        ("loihi", "assumptions.hops_per_spike.note", "x", "assumptions.hops_per_spike.note is not a known field"),
        ("loihi", "assumptions.hop_per_spike", {"value": 1}, "assumptions.hop_per_spike is not a known assumption; did you mean"),
        # the barrier by tiles in use: t_barrier only, tiles ascending, values within low..high
        ("loihi-sanafe", "constants.t_synop.by_tiles", [[1, 3.8]], "constants.t_synop.by_tiles is read for t_barrier only"),
        ("loihi-sanafe", "constants.t_barrier.by_tiles", [[2, 1.0], [1, 0.6]], "constants.t_barrier.by_tiles must be [[tiles, value]"),
        ("loihi-sanafe", "constants.t_barrier.by_tiles", [[0, 1.0]], "constants.t_barrier.by_tiles must be [[tiles, value]"),
        ("loihi-sanafe", "constants.t_barrier.by_tiles", [[1, 5.0]], "constants.t_barrier.by_tiles every value must lie within low..high (0.6-1.8 us)"),
        ("loihi-sanafe", "capacity.cores_per_tile", 0, "capacity.cores_per_tile must be a positive integer"),
        # absurd magnitudes are unit slips (1e308 pJ printed inf)
        ("cmos45-int8-sram", "constants.ac.value", 1e308, "constants.ac.value is 1e+308 pJ, beyond any chip"),
        ("cmos45-int8-sram", "constants.ac.value", 2e6, "constants.ac.value is 2000000.0 pJ, beyond any chip"),
    ],
)
def test_malformed_profile_names_file_and_field(tmp_path, base, key, value, field):
    data = copy.deepcopy(_shipped_toml(base))
    _set(key)(data, value)
    path = tmp_path / "broken.toml"
    path.write_text(_dump(data))
    with pytest.raises(EnergyError) as err:
        load_profile(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {field}")
    assert "\n" not in message


def test_toml_nested_past_the_parser_is_one_line(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(EnergyError, match=r"deep.toml: nested too deeply to be a hardware profile"):
        load_profile(path)


def test_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = [unclosed\n")
    with pytest.raises(EnergyError, match=r"bad.toml: not valid TOML"):
        load_profile(path)


def test_all_in_rule_message_explains_double_count(tmp_path):
    data = _shipped_toml("truenorth")
    data["model"]["neuron"] = "per-update"
    data["constants"]["neuron_update"] = dict(data["constants"]["ac"])
    path = tmp_path / "tn.toml"
    path.write_text(_dump(data))
    with pytest.raises(EnergyError, match="double-count"):
        load_profile(path)


# ---------------------------------------------------------------- names and problems, reported once and all


def test_misspelt_name_gets_the_closest_shipped_names():
    with pytest.raises(EnergyError) as err:
        load_profile("lohi")
    message = str(err.value)
    assert message.startswith("unknown profile 'lohi' (did you mean 'loihi'?); shipped: ")
    assert "or give a path to a .toml file" in message and "\n" not in message
    with pytest.raises(EnergyError, match=r"did you mean 'truenorth'\?"):
        estimate(two_layer_counts(), "truenort")  # what the Python API's energy() calls


def test_every_problem_of_a_file_in_one_error(tmp_path):
    data = _shipped_toml("cmos45-int8-sram")
    data["bits"] = 0
    data["constants"]["ac"]["grade"] = "guess"
    del data["constants"]["mult"]["source"]
    data["model"]["turbo"] = "on"
    path = tmp_path / "three.toml"
    path.write_text(_dump(data))
    with pytest.raises(EnergyError) as err:
        load_profile(path)
    message = str(err.value)
    assert message.startswith(f"{path}: 4 problems: (1) bits must be an integer") and "\n" not in message
    assert err.value.problems == (
        f"{path}: bits must be an integer from 1 to 64 (got 0)",
        f"{path}: model.turbo is not a known switch",
        f"{path}: constants.ac.grade must be one of measured, simulated, derived (got 'guess')",
        f"{path}: constants.mult.source must be a non-empty string",
    )


def test_a_missing_constant_is_one_problem_naming_every_switch_that_needs_it(tmp_path):
    data = _shipped_toml("cmos45-int8-sram")
    del data["constants"]["sram_1mb"]
    path = tmp_path / "p.toml"
    path.write_text(_dump(data))
    with pytest.raises(EnergyError) as err:
        load_profile(path)
    assert len(err.value.problems) == 1
    assert "constants.sram_1mb is required by model.weight_memory = 'sram', by model.potential_memory" in str(err.value)


def _doc_template() -> str:
    text = (Path(__file__).resolve().parents[1] / "docs" / "energy.md").read_text()
    section = text.split("### The smallest profile: synaptic operations only", 1)[1]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


def test_the_documented_ac_mac_template_prices_synaptic_ops_only(tmp_path):
    path = tmp_path / "my-arith.toml"
    path.write_text(_doc_template())
    profile = load_profile(path)
    assert set(profile.constants) == {"ac", "mac"}
    counts = two_layer_counts()
    b = estimate(counts, profile)
    snn = b[b["system"] == "snn"]
    acs, macs = counts.counts["synaptic_acs"].sum(), counts.counts["synaptic_macs"].sum()
    assert acs > 0
    assert snn["energy_pj"].sum() == pytest.approx((0.4 * acs + 1.5 * macs) / counts.n_samples, rel=1e-12)
    assert snn["energy_low_pj"].sum() == pytest.approx((0.3 * acs + 1.5 * macs) / counts.n_samples, rel=1e-12)
    assert (snn.loc[snn["component"] != "synaptic_compute", "energy_pj"] == 0).all()
    ann = b[b["system"] == "ann"]
    assert (ann.loc[ann["component"] != "synaptic_compute", "energy_pj"] == 0).all() and ann["energy_pj"].sum() > 0
