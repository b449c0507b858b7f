"""NIR import and export, checked against the frameworks that wrote the files.

Models are built in snnTorch and SpikingJelly, exported with their own exporters, imported
here, and replayed by the event-driven simulator in float64 next to the framework's own
forward pass (float64 too) on the same frames: every spike of every layer is compared,
and every count against a brute-force count taken from the framework's own activity.
Where a framework's semantics differ from NIR's (snnTorch's subtract reset), the test
shows the difference instead of hiding it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from framework_runs import louder, run_sequential

from asnn_sim.graph.ir import GraphError, load_graph, retimed, save_graph
from asnn_sim.interop.nir_export import export_nir, nir_problems, write_nir
from asnn_sim.interop.nir_import import AmbiguousResetWarning, import_nir
from asnn_sim.sim import Conventions, Simulator, simulate_frames
from asnn_sim.sim.engine import SLOT
from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches

# Every test here checks our NIR import and export against NIR and the frameworks themselves.
# snnTorch's files raise AmbiguousResetWarning (its subtract reset reads as zero): asserted
# where it matters, ignored elsewhere.
pytestmark = [pytest.mark.frameworks, pytest.mark.filterwarnings("ignore::asnn_sim.interop.nir_import.AmbiguousResetWarning")]

nir = pytest.importorskip("nir")
torch = pytest.importorskip("torch")

T = 6


def _frames(rng, shape, n=4, binary=True) -> np.ndarray:
    x = rng.random((T, n) + tuple(shape))
    return (x < 0.35).astype(np.float64) if binary else x


def _replay(graph, frames):
    sim = Simulator(graph, "float64", Conventions(), batch_size=frames.shape[1])
    return sim, sim.run_batch(frames, record=True)


def _counts_of(sim, result, name: str, column: str) -> int:
    return int(result.counts[:, sim.row_index[name], :, SLOT[column]].sum())


def _brute_synaptic(module, x: torch.Tensor) -> int:
    """Synaptic operations of ``module`` on input ``x`` (B, ...): one per (non-zero input,
    in-bounds synapse) pair, the same definition as ours, counted on the framework's side."""
    nz = (x != 0).to(torch.float64)
    if isinstance(module, torch.nn.Linear):
        return int(nz.sum().item()) * module.out_features
    ones = torch.ones((1, module.in_channels) + tuple(module.kernel_size), dtype=torch.float64)
    pairs = torch.nn.functional.conv2d(nz, ones, stride=module.stride, padding=module.padding)
    return int(pairs.sum().item()) * module.out_channels


def _ours(graph, table: dict) -> dict:
    """``table`` keyed by the file's node names (the frameworks number their layers: ``"1"``)
    re-keyed by our names (``lif1``: see metadata["nir_name"]); other keys kept."""
    names = {n.metadata.get("nir_name", n.name): n.name for n in graph.nodes}
    return {names.get(k, k): v for k, v in table.items()}


def _node(graph, file_name: str):
    """The imported node the file named ``file_name``."""
    return graph.node(_ours(graph, {file_name: None}).popitem()[0])


def _check_against_framework(graph, frames, layers, their_spikes, their_inputs) -> dict:
    """Spikes of each spiking layer equal the framework's; synaptic ops, neuron updates and
    spikes equal the brute-force count on the framework's own activity. The dicts may be
    keyed by the file's names or ours."""
    layers, their_spikes, their_inputs = (_ours(graph, d) for d in (layers, their_spikes, their_inputs))
    sim, result = _replay(graph, frames)
    compared = 0
    for name, spikes in their_spikes.items():
        ours = result.spikes[name]
        assert ours.shape == spikes.shape, name
        mismatches = int((ours != spikes).sum())
        assert mismatches == 0, f"{name}: {mismatches} of {spikes.size} spikes differ"
        compared += spikes.size
        assert _counts_of(sim, result, name, "output_spikes") == int(spikes.sum())
        assert _counts_of(sim, result, name, "neurons") == spikes.size
    for name, module in layers.items():
        expected = sum(_brute_synaptic(module, their_inputs[name][t]) for t in range(T))
        got = _counts_of(sim, result, name, "synaptic_acs") + _counts_of(sim, result, name, "synaptic_macs")
        assert got == expected, f"{name}: {got} synaptic ops, brute force on the framework's activity {expected}"
    # and our own dense reference agrees on every count of every node
    _, _, dense = TorchGraph(graph).run(frames, count=True)
    problems = count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, Conventions())
    assert not problems, "\n".join(problems[:10])
    return {"spikes_compared": compared, "spikes": int(sum(s.sum() for s in their_spikes.values()))}


# ---------------------------------------------------------------- snnTorch


snn = pytest.importorskip("snntorch")
pytest.importorskip("nirtorch")


def _snntorch_export(net, sample, path):
    from snntorch.export_nir import export_to_nir

    graph = export_to_nir(net, sample)
    nir.write(path, graph)
    return path


def _snntorch_reset(net):
    from snntorch import utils

    utils.reset(net)


def _leaky(n, beta=0.9, threshold=1.0, **kw):
    # per-neuron tensors: snnTorch's exporter fails NIR's shape check for scalar beta/threshold
    return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.full((n,), threshold), init_hidden=True, **kw)


@pytest.mark.parametrize("binary", [True, False])
def test_snntorch_mlp_replays_spike_for_spike(tmp_path, binary):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), _leaky(16, 0.9, reset_mechanism="zero"),
                              torch.nn.Linear(16, 5), _leaky(5, 0.8, 0.5, reset_mechanism="zero"))
    louder(net)
    path = _snntorch_export(net, torch.zeros(10), tmp_path / "mlp.nir")
    graph = import_nir(path, timesteps=T)
    assert [n.kind for n in graph.nodes] == ["input", "linear", "neuron", "linear", "neuron", "readout"]
    assert [n.name for n in graph.nodes] == ["input", "fc1", "lif1", "fc2", "lif2", "output"]  # snnTorch numbers them
    assert float(_node(graph, "1").leak[0]) == float(np.float32(0.9))  # snnTorch's own float32 beta, exactly
    assert float(graph.node("lif1").gain[0]) == 1.0
    frames = _frames(np.random.default_rng(1), (10,), binary=binary) * (1 if binary else 1.5)
    spikes, inputs = run_sequential(net, frames, snn.Leaky, _snntorch_reset)
    facts = _check_against_framework(graph, frames, {"0": net[0], "2": net[2]}, spikes, inputs)
    assert facts["spikes"] > 50


def test_snntorch_conv_net_replays_spike_for_spike(tmp_path):
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), _leaky(4 * 8 * 8, 0.95, reset_mechanism="zero"),
        # snnTorch's exporter traces a sample without a batch axis: the flatten must start at 0 there
        torch.nn.AvgPool2d(2), torch.nn.Flatten(start_dim=0), torch.nn.Linear(4 * 4 * 4, 6), _leaky(6, 0.9, 0.5, reset_mechanism="zero"),
    )
    # a conv layer's Leaky needs per-neuron tensors of the map's shape
    net[1] = snn.Leaky(beta=torch.full((4, 8, 8), 0.95), threshold=torch.ones(4, 8, 8), init_hidden=True, reset_mechanism="zero")
    louder(net)
    path = _snntorch_export(net, torch.zeros(2, 8, 8), tmp_path / "conv.nir")
    net[3] = torch.nn.Flatten()  # the same flatten, for batches
    graph = import_nir(path, timesteps=T)
    assert [n.kind for n in graph.nodes] == ["input", "conv2d", "neuron", "avgpool2d", "flatten", "linear", "neuron", "readout"]
    frames = _frames(np.random.default_rng(2), (2, 8, 8))
    spikes, inputs = run_sequential(net, frames, snn.Leaky, _snntorch_reset)
    facts = _check_against_framework(graph, frames, {"0": net[0], "4": net[4]}, spikes, inputs)
    assert facts["spikes"] > 100


def test_snntorch_dilated_grouped_conv_replays_spike_for_spike(tmp_path):
    """Conv2d with dilation 2 and groups 2: the same spikes, and the conv's ACs equal the
    brute-force count on snnTorch's own inputs (C_out / groups synapses per in-bounds tap)."""
    torch.manual_seed(4)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2),
        snn.Leaky(beta=torch.full((8, 8, 8), 0.9), threshold=torch.ones(8, 8, 8), reset_mechanism="zero", init_hidden=True),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(start_dim=0), torch.nn.Linear(8 * 4 * 4, 6), _leaky(6, 0.9, 0.5, reset_mechanism="zero"),
    )
    louder(net)
    path = _snntorch_export(net, torch.zeros(4, 8, 8), tmp_path / "dilated.nir")
    net[3] = torch.nn.Flatten()  # the same flatten, for batches
    graph = import_nir(path, timesteps=T)
    assert [n.kind for n in graph.nodes] == ["input", "conv2d", "neuron", "avgpool2d", "flatten", "linear", "neuron", "readout"]
    conv = _node(graph, "0")
    assert (conv.dilation, conv.groups, conv.padding, conv.weight.shape) == ((2, 2), 2, (2, 2), (1, 8, 2, 3, 3))
    frames = _frames(np.random.default_rng(5), (4, 8, 8))
    spikes, inputs = run_sequential(net, frames, snn.Leaky, _snntorch_reset)
    facts = _check_against_framework(graph, frames, {"4": net[4]}, spikes, inputs)
    assert facts["spikes"] > 100
    # the conv's synaptic ops, brute force on snnTorch's inputs: a ones kernel (C_out, C_in / groups, kh, kw)
    m = net[0]
    ones = torch.ones((m.out_channels, m.in_channels // m.groups) + tuple(m.kernel_size), dtype=torch.float64)
    expected = sum(int(torch.nn.functional.conv2d((inputs["0"][t] != 0).to(torch.float64), ones, stride=m.stride,
                                                  padding=m.padding, dilation=m.dilation, groups=m.groups).sum().item())
                   for t in range(T))
    sim, result = _replay(graph, frames)
    assert _counts_of(sim, result, conv.name, "synaptic_acs") == expected > 0
    # and NIR export writes dilation and groups back
    write_nir(graph, tmp_path / "back.nir")
    again = import_nir(tmp_path / "back.nir", timesteps=T)
    assert (again.node(conv.name).dilation, again.node(conv.name).groups) == ((2, 2), 2)
    np.testing.assert_array_equal(again.node(conv.name).weight, conv.weight)


def test_snntorch_synaptic_imports_as_cuba_neurons(tmp_path):
    """snn.Synaptic -> NIR CubaLIF -> cuba_neuron: exact with reset_mechanism='zero',
    reset_delay=False (snnTorch's delayed zero reset drops a step's input; docs/nir.md)."""
    torch.manual_seed(3)
    syn = snn.Synaptic(alpha=torch.full((16,), 0.8), beta=torch.full((16,), 0.7), threshold=torch.ones(16), init_hidden=True,
                       reset_mechanism="zero", reset_delay=False)
    net = louder(torch.nn.Sequential(torch.nn.Linear(10, 16), syn, torch.nn.Linear(16, 4), _leaky(4, 0.9, reset_mechanism="zero")))
    graph = import_nir(_snntorch_export(net, torch.zeros(10), tmp_path / "syn.nir"), timesteps=T)
    assert [n.kind for n in graph.nodes] == ["input", "linear", "cuba_neuron", "linear", "neuron", "readout"]
    cuba = _node(graph, "1")
    assert cuba.name == "cuba1" and cuba.metadata["nir_name"] == "1"
    assert [float(getattr(cuba, k)[0]) for k in ("syn_leak", "syn_gain", "leak", "gain")] == \
        [float(np.float32(0.8)), 1.0, float(np.float32(0.7)), 1.0]
    frames = _frames(np.random.default_rng(10), (10,), binary=False)
    spikes, inputs = run_sequential(net, frames, (snn.Synaptic, snn.Leaky), _snntorch_reset)
    facts = _check_against_framework(graph, frames, {"0": net[0], "2": net[2]}, spikes, inputs)
    assert facts["spikes"] > 50
    # and back: the cuba neuron writes as CubaLIF and reads back bit for bit
    write_nir(graph, tmp_path / "back.nir")
    again = import_nir(tmp_path / "back.nir")
    for key in ("syn_leak", "syn_gain", "leak", "gain"):
        np.testing.assert_array_equal(getattr(again.node(cuba.name), key), getattr(cuba, key))


def test_snntorch_subtract_reset_is_written_as_a_zero_reset(tmp_path):
    """snnTorch writes v_reset = 0 for reset_mechanism='subtract' too: the two files hold the
    same numbers, the import is the hard reset, and a subtract-reset model's spikes differ."""
    def net_with(reset):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(8, 12), _leaky(12, 0.9, reset_mechanism=reset))

    graphs = {}
    for r in ("zero", "subtract"):
        path = _snntorch_export(net_with(r), torch.zeros(8), tmp_path / f"{r}.nir")
        with pytest.warns(AmbiguousResetWarning, match=r"node lif1 reset to 0.*reset_mechanism='subtract'"):
            graphs[r] = import_nir(path, timesteps=T)  # the import cannot tell, and says so
    for a, b in zip(graphs["zero"].nodes, graphs["subtract"].nodes):
        assert a.kind == b.kind and all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values()))
        assert a.attrs() == b.attrs()
    frames = _frames(np.random.default_rng(3), (8,), binary=False) * 2
    theirs, _ = run_sequential(net_with("subtract"), frames, snn.Leaky, _snntorch_reset)
    _, ours = _replay(graphs["subtract"], frames)
    assert (ours.spikes["lif1"] != theirs["1"]).sum() > 0  # the documented difference is real


# ---------------------------------------------------------------- SpikingJelly


sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")


def _sj_export(net, sample, path):
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    export_to_nir(net, sample, save_path=path)
    return path


def _sj_reset(net):
    from spikingjelly.activation_based import functional

    functional.reset_net(net)


@pytest.mark.parametrize("decay_input", [True, False])
def test_spikingjelly_conv_net_replays_spike_for_spike(tmp_path, decay_input):
    from spikingjelly.activation_based import layer

    torch.manual_seed(2)
    net = torch.nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1), sj_neuron.LIFNode(tau=2.0, decay_input=decay_input),
        layer.AvgPool2d(2), layer.Flatten(), layer.Linear(4 * 3 * 3, 5), sj_neuron.IFNode(),
    )
    louder(net)
    path = _sj_export(net, torch.zeros(1, 2, 6, 6), tmp_path / "sj.nir")
    graph = import_nir(path, timesteps=T, compare="ge")
    assert [n.kind for n in graph.nodes] == ["input", "conv2d", "neuron", "avgpool2d", "flatten", "linear", "neuron", "readout"]
    lif = graph.nodes[2]
    assert (float(lif.leak[0]), float(lif.gain[0])) == (0.5, 0.5 if decay_input else 1.0)
    frames = _frames(np.random.default_rng(4), (2, 6, 6), binary=False) * 2
    names = {"1": graph.nodes[2].name, "5": graph.nodes[6].name}
    spikes, inputs = run_sequential(net, frames, sj_neuron.BaseNode, _sj_reset)
    spikes = {names[k]: v for k, v in spikes.items()}
    inputs = {graph.nodes[1].name: inputs["0"], graph.nodes[5].name: inputs["4"]}
    facts = _check_against_framework(graph, frames, {graph.nodes[1].name: net[0], graph.nodes[5].name: net[4]}, spikes, inputs)
    assert facts["spikes"] > 100


def test_spikingjelly_ties_need_compare_ge(tmp_path):
    """Weights on a 1/4 grid and tau = 2 keep every membrane exact, so many sit exactly at
    the threshold: SpikingJelly fires on them (v >= threshold), NIR's rule does not."""
    from spikingjelly.activation_based import layer

    fc = layer.Linear(6, 8, bias=False)
    with torch.no_grad():
        fc.weight.copy_(torch.from_numpy(np.random.default_rng(5).integers(-2, 5, (8, 6)) / 4.0))
    net = torch.nn.Sequential(fc, sj_neuron.LIFNode(tau=2.0))
    path = _sj_export(net, torch.zeros(1, 6), tmp_path / "ties.nir")
    frames = _frames(np.random.default_rng(6), (6,), n=8)
    theirs, _ = run_sequential(net, frames, sj_neuron.BaseNode, _sj_reset)
    name = import_nir(path, timesteps=T).nodes[2].name
    _, ge = _replay(import_nir(path, timesteps=T, compare="ge"), frames)
    _, gt = _replay(import_nir(path, timesteps=T), frames)
    np.testing.assert_array_equal(ge.spikes[name], theirs["1"])
    assert (gt.spikes[name] != theirs["1"]).sum() > 0  # 5 ties with these seeds


# ---------------------------------------------------------------- round trip and refusals


def _hard_lif_graph():
    from asnn_sim.interop.builder import GraphBuilder

    net = GraphBuilder((2, 6, 6), encoding="temporal", timesteps=T, seed=3)
    net.conv(4, 3, padding=1).neuron(leak=0.9, gain=0.7, threshold=0.6, reset="hard", bias=0.05).avgpool(2)
    net.flatten().linear(5).neuron(leak=0.8, reset="hard", v_reset=-0.1).linear(3).readout()
    return net.build(class_names=["a", "b", "c"])


def test_export_then_import_is_the_same_graph_and_replay(tmp_path):
    graph = _hard_lif_graph()
    write_nir(graph, tmp_path / "m.nir", dt=1e-3)
    back = import_nir(tmp_path / "m.nir")
    assert back.metadata["source"]["dt"] == 1e-3 and back.timesteps == T
    assert back.input.encoder == graph.input.encoder and back.class_names == ["a", "b", "c"]
    assert [(n.name, n.kind, n.inputs) for n in back.nodes] == [(n.name, n.kind, n.inputs) for n in graph.nodes]
    for a, b in zip(graph.nodes, back.nodes):
        for key, arr in a.arrays().items():
            other = b.arrays()[key]
            if arr.size == np.size(other):
                np.testing.assert_array_equal(np.broadcast_to(arr, other.shape), other, err_msg=f"{a.name}.{key}")
            else:  # a per-neuron array stored once on one side
                np.testing.assert_array_equal(np.broadcast_to(arr, graph.shapes[a.name]), np.broadcast_to(other, graph.shapes[a.name]))
    images = np.random.default_rng(7).random((6, 2, 6, 6))
    from asnn_sim.sim import simulate

    r1 = simulate(graph, images, progress=False)
    r2 = simulate(back, images, progress=False)
    np.testing.assert_array_equal(r1.step_logits, r2.step_logits)
    assert r1.counts.equals(r2.counts)


@settings(max_examples=60, deadline=None)
@example(leak=0.03125, gain=1.0, syn_leak=0.0, syn_gain=1.0, bias=[0.5, 0.0, -0.25], dt=1e-4)  # 1 - dt/tau steps over it
@given(leak=st.floats(0.0, 1.0), gain=st.floats(1e-3, 50.0), syn_leak=st.floats(0.0, 0.999),
       syn_gain=st.floats(1e-3, 50.0), bias=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
       dt=st.sampled_from([1e-4, 1e-3, 1.0]))
def test_coefficients_survive_export_and_import_bit_for_bit(leak, gain, syn_leak, syn_gain, bias, dt):
    """Whatever the coefficients, the round trip gives them back exactly: through nudged ODE
    parameters, or, where none reproduces a value, the exact value kept in the metadata."""
    from asnn_sim.interop.builder import GraphBuilder

    net = GraphBuilder((1, 3, 3), encoding="rate", timesteps=2, seed=0).flatten().linear(3)
    net.neuron(leak=leak, gain=gain, reset="hard", bias=None if leak == 1.0 else np.array(bias)).linear(3)
    net.cuba_neuron(syn_leak=syn_leak, syn_gain=syn_gain, leak=min(leak, 0.999), gain=gain, reset="hard").linear(2).readout()
    graph = net.build()
    back = import_nir(export_nir(graph, dt=dt))
    if leak == 0.03125:  # one case through the file too (h5py has its own rules for metadata)
        with tempfile.TemporaryDirectory() as tmp:
            write_nir(graph, Path(tmp) / "m.nir", dt=dt)
            assert [n.arrays().keys() for n in import_nir(Path(tmp) / "m.nir").nodes] == [n.arrays().keys() for n in back.nodes]
    for a, b in zip(graph.nodes, back.nodes):
        theirs = b.arrays()
        for key, arr in a.arrays().items():
            if key == "bias" and key not in theirs:  # v_leak = 0 imports as no bias (as every snnTorch LIF's)
                assert not arr.any(), f"{a.name}: a non-zero bias was lost"
                continue
            np.testing.assert_array_equal(np.broadcast_to(arr, np.shape(theirs[key])), theirs[key], err_msg=f"{a.name}.{key}")


def test_export_refuses_what_nir_cannot_say_in_one_line():
    from asnn_sim.interop.builder import GraphBuilder

    net = GraphBuilder((1, 8, 8), encoding="hybrid", timesteps=4, seed=0)
    net.conv(4, 3, hybrid_analog=np.ones((4, 1, 3, 3))).neuron(leak=[0.5, 0.6, 0.7, 0.8]).maxpool(2).flatten().linear(10).readout(scale=[1, 2, 3, 4])
    graph = net.build()
    problems = nir_problems(graph)
    assert any("'conv1'" in p and "weight sets" in p for p in problems)
    assert any("'lif1'" in p and "per-timestep leak" in p for p in problems)
    assert any("'lif1'" in p and "soft reset" in p for p in problems)
    assert any("'pool1'" in p and "max pooling" in p for p in problems)
    assert any("'readout'" in p and "readout scale" in p for p in problems)
    with pytest.raises(GraphError) as e:
        export_nir(graph)
    assert "\n" not in str(e.value) and str(e.value).startswith("cannot export to NIR exactly: ")


def _nir_graph(nodes: dict, edges: list):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _lif(n, tau=2e-4):
    return nir.LIF(tau=np.full(n, tau), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))


def test_recurrent_edges_are_refused_naming_the_cycle():
    g = _nir_graph({"input": nir.Input(input_type=np.array([3])), "fc": nir.Linear(weight=np.ones((4, 3))), "lif": _lif(4),
                    "rec": nir.Linear(weight=np.eye(4)), "output": nir.Output(output_type=np.array([4]))},
                   [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    with pytest.raises(GraphError, match=r"node 'lif': recurrent edge: the cycle lif -> rec -> lif"):
        import_nir(g)


def test_snntorch_rleaky_is_refused_as_recurrent(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), snn.RLeaky(beta=torch.full((3,), 0.9), linear_features=3, init_hidden=True))
    from snntorch.export_nir import export_to_nir

    graph = export_to_nir(net, torch.zeros(4))
    with pytest.raises(GraphError, match="recurrent edge"):
        import_nir(graph)


@pytest.mark.parametrize(("node", "message"), [
    (nir.Delay(delay=np.ones(4)), "delays are not supported"),
    (nir.LIF(tau=np.array([2e-4, 3e-4, 2e-4, 2e-4]), r=np.ones(4), v_leak=np.zeros(4), v_threshold=np.ones(4), v_reset=np.zeros(4)),
     "differs between neurons"),
    (nir.LIF(tau=np.full(4, 5e-5), r=np.ones(4), v_leak=np.zeros(4), v_threshold=np.ones(4), v_reset=np.zeros(4)),
     "shorter than dt"),
])
def test_unsupported_nodes_are_named(node, message):
    g = _nir_graph({"input": nir.Input(input_type=np.array([3])), "fc": nir.Linear(weight=np.ones((4, 3))), "x": node,
                    "output": nir.Output(output_type=np.array([4]))},
                   [("input", "fc"), ("fc", "x"), ("x", "output")])
    with pytest.raises(GraphError, match=f"node 'x': .*{message}"):
        import_nir(g)


def test_shape_mismatch_is_named():
    g = _nir_graph({"input": nir.Input(input_type=np.array([3])), "fc": nir.Linear(weight=np.ones((4, 5))), "lif": _lif(4),
                    "output": nir.Output(output_type=np.array([4]))},
                   [("input", "fc"), ("fc", "lif"), ("lif", "output")])
    with pytest.raises(GraphError, match="node 'fc': weight expects 5 input features"):
        import_nir(g)


def test_two_edges_into_a_neuron_are_summed_and_li_threshold_scale_import():
    """Hand-built NIR: two affine layers into one LIF (NIR sums them), a Scale folded into
    a layer, a Threshold, and an LI readout; replayed against our dense reference."""
    rng = np.random.default_rng(8)
    g = _nir_graph({
        "input": nir.Input(input_type=np.array([5])),
        "a": nir.Affine(weight=rng.normal(size=(6, 5)), bias=rng.normal(size=6) * 0.1),
        "b": nir.Linear(weight=rng.normal(size=(6, 5))),
        "s": nir.Scale(scale=np.full(6, 0.5)),
        "lif": _lif(6),
        "c": nir.Linear(weight=rng.normal(size=(4, 6))),
        "thr": nir.Threshold(threshold=np.full(4, 0.25)),
        "d": nir.Linear(weight=rng.normal(size=(3, 4))),
        "li": nir.LI(tau=np.full(3, 4e-4), r=np.full(3, 2.0), v_leak=np.full(3, 0.1)),
        "output": nir.Output(output_type=np.array([3])),
    }, [("input", "a"), ("input", "b"), ("b", "s"), ("a", "lif"), ("s", "lif"), ("lif", "c"), ("c", "thr"), ("thr", "d"),
        ("d", "li"), ("li", "output")])
    graph = import_nir(g, timesteps=T)
    assert [n.kind for n in graph.nodes] == ["input", "linear", "linear", "add", "neuron", "linear", "neuron", "linear", "li", "readout"]
    np.testing.assert_array_equal(graph.node("b").weight[0], g.nodes["b"].weight * 0.5)
    li = graph.node("li")
    assert (float(li.leak[0]), float(li.gain[0])) == (0.75, 0.5) and np.allclose(li.bias, 0.025)
    frames = _frames(rng, (5,), binary=False)
    sim, result = _replay(graph, frames)
    logits, step_logits, dense = TorchGraph(graph).run(frames, count=True)
    assert not count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, Conventions())
    for name, spikes in dense.spikes.items():
        np.testing.assert_array_equal(result.spikes[name], spikes.numpy())
    np.testing.assert_allclose(result.step_logits, step_logits.numpy().transpose(1, 0, 2), rtol=1e-12)


def test_retimed_graph_and_supplied_frames(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), _leaky(16, 0.9, reset_mechanism="zero"))
    graph = import_nir(_snntorch_export(net, torch.zeros(10), tmp_path / "m.nir"))
    assert graph.timesteps == 4
    frames = _frames(np.random.default_rng(9), (10,), n=9)
    long = retimed(graph, T)
    a = simulate_frames(long, frames, progress=False, batch_size=4)
    b = simulate_frames(long, np.swapaxes(frames, 0, 1).copy(), layout="NT", progress=False, batch_size=9)
    assert a.counts.equals(b.counts)
    np.testing.assert_array_equal(a.step_logits, b.step_logits)
    with pytest.raises(ValueError, match="the frames have 6 timesteps but the graph runs 4"):
        simulate_frames(graph, frames, progress=False)
    save_graph(long, tmp_path / "m.asnn")
    assert load_graph(tmp_path / "m.asnn").timesteps == T
