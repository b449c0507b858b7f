"""The graph builder: what it builds, the errors it names, and that its graphs replay exactly.

The mapping of snnTorch's and SpikingJelly's LIF neurons is checked against the
frameworks themselves where they are installed (they are not dependencies: those tests
skip otherwise; ``pip install --no-deps snntorch spikingjelly loguru`` next to torch runs them).
"""

from __future__ import annotations


import numpy as np
import pytest

from asnn_sim.interop.builder import GraphBuilder, fold_bn, snntorch_leaky, spikingjelly_lif
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import Add, AvgPool2d, Conv2d, Flatten, Graph, GraphError, Input, Linear, Neuron, Readout, load_graph, save_graph
from asnn_sim.sim import Simulator
from asnn_sim.sim.engine import SLOT
from dense_check import replay_against_dense


def assert_same_graph(a: Graph, b: Graph) -> None:
    """Node for node: kind, name, inputs, attributes and arrays (values and dtypes)."""
    assert (a.kind, a.timesteps) == (b.kind, b.timesteps)
    assert [n.name for n in a.nodes] == [n.name for n in b.nodes]
    for x, y in zip(a.nodes, b.nodes):
        assert (x.kind, x.inputs, x.attrs()) == (y.kind, y.inputs, y.attrs()), x.name
        ax, ay = x.arrays(), y.arrays()
        assert set(ax) == set(ay), x.name
        for k in ax:
            assert ax[k].dtype == ay[k].dtype, (x.name, k)
            np.testing.assert_array_equal(ax[k], ay[k], err_msg=f"{x.name}.{k}")
    assert a.shapes == b.shapes and a.types == b.types


# ---------------------------------------------------------------- what it builds


def test_builds_a_small_lenet_with_generated_names():
    net = GraphBuilder((1, 8, 8), encoding="temporal", timesteps=4, seed=0)
    net.conv(8, 3, padding=1).neuron(leak=0.9).maxpool(2).conv(16, 3, padding=1).neuron().maxpool(2)
    graph = net.flatten().linear(32).neuron().linear(10).readout().build(class_names=[str(i) for i in range(10)])
    assert [n.name for n in graph.nodes] == [
        "input", "conv1", "lif1", "pool1", "conv2", "lif2", "pool2", "flatten1", "fc1", "lif3", "fc2", "readout"]
    assert graph.shapes["pool2"] == (16, 2, 2) and graph.shapes["flatten1"] == (64,)
    assert graph.types["conv1"] == "current" and graph.types["lif1"] == "binary"
    assert graph.input.encoder == EncoderSpec("temporal", 4).to_dict()
    conv1 = graph.node("conv1")
    assert conv1.weight.shape == (1, 8, 1, 3, 3) and conv1.bias is None and conv1.weight_set.tolist() == [0, 0, 0, 0]
    assert graph.node("lif1").leak.tolist() == [0.9] * 4 and not graph.node("lif1").per_timestep
    assert graph.metadata["built_by"] == "asnn_sim.interop.builder.GraphBuilder" and graph.class_names[3] == "3"
    # random weights at the Kaiming scale, reproducible from the seed
    assert 0.3 < conv1.weight.std() * np.sqrt(9 / 2) < 1.7
    again = GraphBuilder((1, 8, 8), encoding="temporal", timesteps=4, seed=0).conv(8, 3, padding=1)
    np.testing.assert_array_equal(again.nodes[-1].weight, conv1.weight)
    assert "lif1      neuron     conv1     8x8x8   binary" in net.describe()


def test_equivalent_to_the_node_classes():
    """The builder's graph of tests/test_sim.py's single-conv network equals the hand-made one."""
    c_out, size, T = 3, 5, 1
    steps = np.zeros(T, int)
    encoder = {"name": "temporal", "timesteps": T, "thresholds": "uniform", "legacy": False, "seed": 0}
    by_hand = Graph([
        Input("input", (), shape=(1, size, size), encoder=encoder),
        Conv2d("conv", ("input",), weight=np.ones((1, c_out, 1, 3, 3)), bias=np.zeros((1, c_out)), weight_set=steps, stride=1, padding=1),
        Neuron("lif", ("conv",), leak=np.ones(T), gain=np.ones(T)),
        Flatten("flatten", ("lif",)),
        Linear("fc", ("flatten",), weight=np.ones((1, 2, c_out * size * size)), bias=np.zeros((1, 2)), weight_set=steps),
        Readout("readout", ("fc",)),
    ], "snn", T)
    built = (GraphBuilder((1, size, size), encoding="temporal", timesteps=T)
             .conv(weight=np.ones((c_out, 1, 3, 3)), bias=0.0, padding=1, name="conv")
             .neuron(name="lif", per_timestep=True)
             .flatten(name="flatten")
             .linear(weight=np.ones((2, c_out * size * size)), bias=np.zeros(2), name="fc")
             .readout().build())
    assert_same_graph(built, by_hand)


def _hybrid_residual(rng, bn=None):
    """A hybrid-coded residual network through the builder, with its parameters given."""
    T = 3
    p = {
        "w0": rng.normal(0, 0.5, (4, 2, 3, 3)), "wa": rng.normal(0, 0.5, (4, 2, 3, 3)), "b0": rng.normal(0, 0.1, 4),
        "w1": rng.normal(0, 0.3, (4, 4, 3, 3)), "w2": rng.normal(0, 0.3, (4, 4, 3, 3)),
        "fc": rng.normal(0, 0.3, (3, 4 * 3 * 3)), "fcb": rng.normal(0, 0.1, 3),
        "leak": [0.5, 0.7, 0.9], "thr": rng.uniform(0.5, 1.5, (4, 1, 1)), "scale": [1.0, 0.5, 2.0],
    }
    net = GraphBuilder((2, 6, 6), encoding="hybrid", timesteps=T)
    net.conv(4, 3, padding=1, weight=p["w0"], bias=p["b0"], hybrid_analog={"weight": p["wa"]}, bn=bn)
    net.neuron(leak=p["leak"], gain=0.5, threshold=p["thr"], name="block_in")
    net.conv(weight=p["w1"], padding=1).neuron(reset="hard", v_reset=-0.1, bias=0.05)
    net.conv(weight=p["w2"], padding=1).add("block_in").neuron()
    net.avgpool(2, stride=2).flatten().linear(weight=p["fc"], bias=p["fcb"]).readout(scale=p["scale"])
    return net.build(), p


def test_hybrid_residual_equivalent_to_the_node_classes():
    graph, p = _hybrid_residual(np.random.default_rng(3))
    T, z = 3, np.zeros(3, int)
    by_hand = Graph([
        Input("input", (), shape=(2, 6, 6), encoder=EncoderSpec("hybrid", T).to_dict()),
        Conv2d("conv1", ("input",), weight=np.stack([p["wa"], p["w0"]]), bias=np.stack([np.zeros(4), p["b0"]]),
               weight_set=np.array([0, 1, 1]), stride=1, padding=1),
        Neuron("block_in", ("conv1",), leak=np.array(p["leak"]), gain=np.full(T, 0.5), threshold=p["thr"]),
        Conv2d("conv2", ("block_in",), weight=p["w1"][None], weight_set=z, stride=1, padding=1),
        Neuron("lif1", ("conv2",), leak=np.ones(T), gain=np.ones(T), reset="hard", v_reset=-0.1, bias=np.array(0.05),
               per_timestep=False),
        Conv2d("conv3", ("lif1",), weight=p["w2"][None], weight_set=z, stride=1, padding=1),
        Add("add1", ("conv3", "block_in")),
        Neuron("lif2", ("add1",), leak=np.ones(T), gain=np.ones(T), per_timestep=False),
        AvgPool2d("pool1", ("lif2",), kernel=2, stride=2),
        Flatten("flatten1", ("pool1",)),
        Linear("fc1", ("flatten1",), weight=p["fc"][None], bias=p["fcb"][None], weight_set=z),
        Readout("readout", ("fc1",), scale=np.array(p["scale"])),
    ], "snn", T)
    assert_same_graph(graph, by_hand)


def test_batchnorm_folding_matches_the_exporter():
    torch = pytest.importorskip("torch")
    from asnn_sim.interop.export import fold_batchnorm

    torch.manual_seed(0)
    conv, bn = torch.nn.Conv2d(2, 4, 3, bias=True), torch.nn.BatchNorm2d(4, eps=1e-3)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    w_ref, b_ref = fold_batchnorm(conv, bn.eval())
    w, b = fold_bn(conv.weight.detach().numpy(), conv.bias.detach().numpy(), bn.weight.detach().numpy(), bn.bias.detach().numpy(),
                   bn.running_mean.numpy(), bn.running_var.numpy(), bn.eps)
    np.testing.assert_allclose(w, w_ref, rtol=1e-6)  # the torch tensors are float32; the exporter casts first
    np.testing.assert_allclose(b, b_ref, rtol=1e-6, atol=1e-7)
    # bn= takes the module, or its state_dict (plus eps, which a state_dict lacks), tensors as they are
    for given in (bn, {**bn.state_dict(), "eps": bn.eps}):
        node = GraphBuilder((2, 5, 5), encoding="direct", timesteps=1).conv(weight=conv.weight, bias=conv.bias, bn=given).nodes[-1]
        np.testing.assert_allclose(node.weight[0], w_ref, rtol=1e-12)
        np.testing.assert_allclose(node.bias[0], b_ref, rtol=1e-12, atol=1e-15)
    # and the folded layer computes BN(conv(x))
    x = torch.rand(3, 2, 5, 5, dtype=torch.float64)
    ref = bn.double().eval()(conv.double()(x))
    ours = torch.nn.functional.conv2d(x, torch.from_numpy(node.weight[0]), torch.from_numpy(node.bias[0]))
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_save_and_load_keep_the_built_graph(tmp_path):
    graph, _ = _hybrid_residual(np.random.default_rng(0))
    save_graph(graph, tmp_path / "own.asnn")
    assert_same_graph(load_graph(tmp_path / "own.asnn"), graph)


def test_ann_graph():
    graph = GraphBuilder((1, 8, 8), ann=True).conv(4, 3).relu().maxpool(2).flatten().linear(10).readout().build()
    assert graph.kind == "ann" and graph.timesteps == 1 and graph.input.encoder is None
    assert graph.types["relu1"] == "analog"


# ---------------------------------------------------------------- errors that name the problem


def _net(**kw):
    return GraphBuilder((1, 8, 8), **{"encoding": "temporal", "timesteps": 4, **kw})


def _unread_current():
    net = _net().conv(4, 3, name="side")
    net.conv(4, 3, source="input").neuron().flatten().linear(2).readout()
    return net.build()


def _read_twice():
    _net().conv(4, 3).neuron().neuron(source="conv1")


ERRORS = [
    (lambda: _net().conv(4, 3).neuron().linear(10), "node 'fc1': a linear layer reads a vector, but 'lif1' gives shape (4, 6, 6); add .flatten()"),
    (lambda: _net().flatten().conv(4, 3), "node 'conv1': a convolution reads a (C, H, W) map, but 'flatten1' gives shape (64,)"),
    (lambda: _net().conv(4, 3).neuron().neuron(), "node 'lif2': a neuron node reads a current (from conv2d, linear or an add of currents), but 'lif1' gives binary"),
    (lambda: _net().conv(weight=np.zeros((4, 2, 3, 3))), "node 'conv1': weight (4, 2, 3, 3) expects 2 input channels, but the input has 1"),
    (lambda: _net().conv(weight=np.zeros((1, 4, 1, 3, 3))), "weight has 5 dimensions; give it as (C_out, C_in, kh, kw): the builder adds the weight-set axis"),
    (lambda: _net().conv(4, weight=np.zeros((4, 1, 3, 3)), kernel_size=5), "weight has a 3x3 kernel, but kernel_size is 5"),
    (lambda: _net().conv(4), "node 'conv1': give out_channels and kernel_size, or a weight"),
    (lambda: _net().conv(4, 3).neuron(leak=[0.5, 0.6, 0.7]), "node 'lif1': leak has 3 values; give one value, or one per timestep (T=4)"),
    (lambda: _net().conv(4, 3).neuron(leak=float("nan")), "node 'lif1': leak contains NaN or infinite values"),
    (lambda: _net().conv(4, 3).neuron(threshold=-1.0), "node 'lif1': threshold must be positive"),
    (lambda: _net().conv(4, 3).neuron(threshold=np.ones(3)), "node 'lif1': threshold of shape (3,) does not broadcast to the neurons' shape (4, 6, 6)"),
    (lambda: _net().conv(4, 3).neuron(reset="zero"), "node 'lif1': reset must be 'soft' or 'hard'"),
    (lambda: _net().conv(4, 3, bias=[1.0, 2.0, 3.0]), "node 'conv1': bias has 3 values, expected one per output (4)"),
    (lambda: _net().conv(4, 3, bn={"gamma": np.ones(4), "beta": np.zeros(4), "mean": np.zeros(4)}), "node 'conv1': bn lacks var"),
    (lambda: _net().conv(4, 3, bn={"gamma": 1, "scale": 2}), "node 'conv1': bn has an unknown entry 'scale'"),
    (lambda: _net().conv(4, 3, bn={"gamma": np.ones(3), "beta": np.zeros(4), "mean": np.zeros(4), "var": np.ones(4)}),
     "node 'conv1': BatchNorm gamma has 3 values, expected one per output channel (4)"),
    (lambda: _net().conv(4, 3, hybrid_analog=True), "node 'conv1': hybrid_analog= gives the analog frame its own weights: it needs hybrid coding"),
    (lambda: _net(encoding="hybrid").conv(4, 3).neuron().conv(4, 3, hybrid_analog=True), "the conv reads 'lif1', not the input"),
    (lambda: _net(encoding="hybrid").conv(4, 3, hybrid_analog=np.zeros((4, 1, 5, 5))), "hybrid_analog weight has a 5x5 kernel, but kernel_size is (3, 3)"),
    (lambda: _net().conv(4, 3, name="a").conv(4, 3, name="a"), "node 'a': the name is already used by the conv2d node added earlier"),
    (lambda: _net().conv(4, 3, name="conv.1"), "invalid node name 'conv.1'"),
    (lambda: _net().conv(4, 3, source="nope"), "node 'conv1': reads 'nope', which is not an earlier node (the nodes so far: input)"),
    (lambda: _net().conv(4, 3).neuron().add("nope"), "node 'add1': adds 'nope', which is not an earlier node"),
    (lambda: _net().conv(4, 3).neuron().maxpool(2).add("lif1"), "node 'add1': inputs of an add must have equal shapes"),
    (_read_twice, "node 'lif2': reads the current of 'conv1', which 'lif1' already integrates; a current has one reader"),
    (lambda: _net().conv(4, 3).neuron().flatten().readout(), "node 'readout': the readout reads a current, but 'flatten1' gives binary events; end the network with .linear(n_classes).readout()"),
    (lambda: _net().flatten().linear(2).readout().linear(2), "the network already ends with 'readout': the readout must be the last node"),
    (lambda: _net().conv(4, 3).neuron().build(), "the network has no readout yet (its last node is 'lif1'); end it with .linear(n_classes).readout()"),
    (_unread_current, "node 'side': its current is read by no node"),
    (lambda: _net().flatten().linear(2).readout().build(class_names=["a", "b", "c"]), "3 class names for a readout of 2 outputs"),
    (lambda: _net().maxpool(16), "node 'pool1': pool (16, 16) does not fit the input (1, 8, 8)"),
    (lambda: _net().conv(4, 3).neuron().relu(), "node 'relu1': a relu node does not belong in an snn graph"),
    (lambda: GraphBuilder((1, 8, 8), ann=True).conv(4, 3).neuron(), "node 'lif1': a neuron node does not belong in an ann graph"),
    (lambda: GraphBuilder((1, 8, 8), ann=True, timesteps=4), "an ANN graph runs one step; timesteps is 4"),
    (lambda: _net(encoding="morse"), "input: unknown encoding 'morse'; choose one of direct, rate, temporal"),
    (lambda: _net(encoding="hybrid", timesteps=1), "input: timesteps must be"),
    (lambda: GraphBuilder((8, 8)), "node 'input': input shape must be (C, H, W)"),
    (lambda: _net(timesteps=0), "timesteps must be a positive integer, got 0"),
]


@pytest.mark.parametrize(("make", "message"), ERRORS, ids=[m[:48] for _, m in ERRORS])
def test_errors_name_the_node_and_the_problem(make, message):
    with pytest.raises(GraphError) as info:
        make()
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)  # the CLI's one-line error path catches ValueError
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- replay


@pytest.mark.slow
def test_replay_matches_the_dense_reference_spike_for_spike():
    pytest.importorskip("torch")
    graph, _ = _hybrid_residual(np.random.default_rng(1), bn={"gamma": np.full(4, 1.5), "beta": np.full(4, 0.2),
                                                               "mean": np.zeros(4), "var": np.ones(4)})
    x = np.random.default_rng(2).random((6, 2, 6, 6))
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(x)
    _, result, _ = replay_against_dense(graph, frames)
    assert sum(int(s.sum()) for s in result.spikes.values()) > 0


def test_counts_of_a_hand_checked_network():
    """One spike at the centre of a 5x5 image into a 3x3 conv (padding 1): 9 synapses per channel."""
    graph = (GraphBuilder((1, 5, 5), encoding="temporal", timesteps=1)
             .conv(weight=np.ones((3, 1, 3, 3)), padding=1).neuron(threshold=0.5)
             .flatten().linear(2).readout().build())
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    result = Simulator(graph, "float64", batch_size=1).run_batch(EncoderSpec.from_dict(graph.input.encoder).encode(x))
    conv, lif, fc = (dict(zip(SLOT, result.counts[0, i, 0])) for i in range(1, 4))  # row 0: the input
    assert (conv["in_events_binary"], conv["synaptic_acs"], conv["synaptic_macs"]) == (1, 27, 0)
    assert (lif["neurons"], lif["neurons_touched"], lif["output_spikes"]) == (75, 27, 27)  # weight 1 > threshold 0.5
    assert (lif["neuron_mults"], lif["neuron_adds"], lif["neuron_compares"]) == (150, 75, 75)  # no bias: one add each
    assert (fc["in_events_binary"], fc["synaptic_acs"], fc["dense_macs"]) == (27, 54, 150)


def test_simulate_a_random_network_on_digits():
    from asnn_sim.training.data import load_dataset
    from asnn_sim.sim import simulate

    data = load_dataset("digits", limit=40)
    graph = (GraphBuilder(data.input_shape, encoding="rate", timesteps=4, seed=0)
             .conv(8, 3, padding=1).neuron(leak=0.9).maxpool(2)
             .flatten().linear(10).readout().build())
    result = simulate(graph, data.x_test, data.y_test, progress=False)
    per = result.summary["per_inference"]
    assert per["synaptic_macs"] == 0 and per["synaptic_acs"] > 0 and per["output_spikes"] > 0
    assert 0 < result.summary["firing_rate"]["lif1"] < 1
    assert list(result.layers["layer"]) == ["input", "conv1", "lif1", "pool1", "fc1", "readout"]


# ---------------------------------------------------------------- snnTorch and SpikingJelly


def test_mapping_values_and_refusals():
    with pytest.raises(ValueError, match="reset_delay=False for an exact match"):
        snntorch_leaky(0.8)
    assert snntorch_leaky(0.8, reset_delay=False) == {"leak": 0.8, "gain": 1.0, "threshold": 1.0, "reset": "soft"}
    assert snntorch_leaky(1.0) == {"leak": 1.0, "gain": 1.0, "threshold": 1.0, "reset": "soft"}  # IF: exact either way
    assert snntorch_leaky(1.7, reset_delay=False)["leak"] == 1.0  # snnTorch clips beta to [0, 1]
    assert snntorch_leaky(0.8, exact=False)["reset"] == "soft"
    with pytest.raises(ValueError, match="never resets"):
        snntorch_leaky(0.8, reset_mechanism="none")
    with pytest.raises(ValueError, match="per-neuron beta"):
        snntorch_leaky(np.array([0.5, 0.6]))
    assert spikingjelly_lif(tau=4.0, v_reset=None) == {"leak": 0.75, "gain": 0.25, "threshold": 1.0, "compare": "ge", "reset": "soft"}
    with pytest.raises(ValueError, match="starts its membrane at v_reset"):
        spikingjelly_lif(v_reset=-0.5)
    assert spikingjelly_lif(tau=2.0, v_reset=-0.5, exact=False) == {
        "leak": 0.5, "gain": 0.5, "threshold": 1.0, "compare": "ge", "reset": "hard", "v_reset": -0.5, "bias": -0.25}
    with pytest.raises(ValueError, match="tau must be > 1"):
        spikingjelly_lif(tau=1.0)


def _our_spikes(neuron_kwargs: dict, frames: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Spikes ``(T, B, n)`` of ``linear(weight) -> neuron(**neuron_kwargs)`` replayed on rate-coded ``frames``."""
    T, B = frames.shape[:2]
    graph = (GraphBuilder(frames.shape[2:], encoding="rate", timesteps=T)
             .flatten().linear(weight=weight).neuron(**neuron_kwargs, name="lif").linear(2).readout().build())
    return Simulator(graph, "float64", batch_size=B).run_batch(frames, record=True).spikes["lif"]


def _currents(T=24, B=5, n_in=12, n=16, seed=0, max_current=None, grid=None):
    """Rate-coded frames, a weight, and the currents ``(T, B, n)`` they give.

    ``grid``: weights rounded to multiples of it (a power of two), so that every current and,
    with leaks and gains that are powers of two, every membrane is exact: many land exactly
    on the threshold.
    """
    rng = np.random.default_rng(seed)
    frames = EncoderSpec("rate", T, seed=seed).encode(rng.random((B, 1, 1, n_in)))
    weight = rng.normal(0.3, 0.6, (n, n_in))
    if max_current is not None:
        weight *= max_current / (frames.reshape(T, B, n_in) @ weight.T).max()
    if grid is not None:
        weight = np.round(weight / grid) * grid
    return frames, weight, frames.reshape(T, B, n_in) @ weight.T


@pytest.mark.frameworks
@pytest.mark.parametrize(("reset_mechanism", "reset_delay", "beta", "max_current"), [
    ("subtract", False, 0.8, 1.15),  # exact while inputs stay below (2 - beta) * threshold (see snntorch_leaky)
    ("zero", True, 0.8, None),
    ("zero", False, 0.6, None),
    ("subtract", True, 1.0, None),
])
def test_snntorch_leaky_gives_the_same_spikes(reset_mechanism, reset_delay, beta, max_current):
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    frames, weight, current = _currents(max_current=max_current)
    lif = snn.Leaky(beta=torch.tensor(beta, dtype=torch.float64), threshold=torch.tensor(1.0, dtype=torch.float64),
                    reset_mechanism=reset_mechanism, reset_delay=reset_delay)
    mem, theirs = None, []
    with torch.no_grad():
        for t in range(len(current)):
            spk, mem = lif(torch.from_numpy(current[t]), mem)
            theirs.append(spk.numpy())
    ours = _our_spikes(snntorch_leaky(beta, 1.0, reset_mechanism, reset_delay), frames, weight)
    assert np.sum(theirs) > 20
    np.testing.assert_array_equal(ours, np.array(theirs))


@pytest.mark.frameworks
@pytest.mark.parametrize(("decay_input", "v_reset", "tau"), [(True, None, 2.0), (False, None, 3.0), (True, 0.0, 2.0), (False, 0.0, 4.0)])
def test_spikingjelly_lif_gives_the_same_spikes(decay_input, v_reset, tau):
    torch = pytest.importorskip("torch")
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    frames, weight, current = _currents(seed=1)
    lif = neuron.LIFNode(tau=tau, decay_input=decay_input, v_threshold=1.0, v_reset=v_reset, step_mode="m").eval()
    with torch.no_grad():
        theirs = lif(torch.from_numpy(current)).numpy()
    ours = _our_spikes(spikingjelly_lif(tau, 1.0, v_reset, decay_input), frames, weight)
    assert theirs.sum() > 20
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.frameworks
@pytest.mark.parametrize(("decay_input", "v_reset"), [(False, None), (True, None), (True, 0.0), (False, 0.0)])
def test_spikingjelly_lif_fires_on_exact_ties_as_spikingjelly_does(decay_input, v_reset):
    # Weights on a grid of 1/4 and tau = 2 (leak and gain 1/2 or 1): every membrane is exact
    # in float64, in both simulators, and many sit exactly at the threshold.
    torch = pytest.importorskip("torch")
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    frames, weight, current = _currents(seed=3, grid=0.25)
    lif = neuron.LIFNode(tau=2.0, decay_input=decay_input, v_threshold=1.0, v_reset=v_reset, step_mode="m").eval()
    with torch.no_grad():
        theirs = lif(torch.from_numpy(current)).numpy()
    mapped = spikingjelly_lif(2.0, 1.0, v_reset, decay_input)
    assert mapped["compare"] == "ge"
    ours = _our_spikes(mapped, frames, weight)
    np.testing.assert_array_equal(ours, theirs)
    strict = _our_spikes({**mapped, "compare": "gt"}, frames, weight)
    assert (strict != theirs).sum() > 5  # the ties are there, and only v >= threshold fires on them
