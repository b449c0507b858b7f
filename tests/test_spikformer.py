"""Spikformer: layout and weights, the attention and its neuron, graded residuals, the hybrid
patch conv, the ANN twin; trained on digits, exported and replayed spike for spike (every
encoding family, ASNN and LIF, float64 and float32, counts against brute force); the full
Spikformer-4-384 at CIFAR size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.training.models import build_model
from asnn_sim.training.models.calibrate import calibrate_batchnorm
from asnn_sim.training.models.spikformer import CONFIGS, SpikformerConfig, SpikformerSNN, ThresholdNeurons, attention, count_parameters
from asnn_sim.training.neurons import SpikingNeurons

FAMILIES = ("direct", "temporal", "hybrid")
BLOCK_NEURONS = ("q", "k", "v", "attn", "proj", "fc1", "fc2")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: the tensors are small, and two spinning threads on a busy shared
    machine make this file several times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _frames(enc: EncoderSpec, shape, batch: int, seed: int = 0) -> torch.Tensor:
    x = np.random.default_rng(seed).random((batch,) + tuple(shape)).astype(np.float32)
    return torch.from_numpy(enc.encode(x))


def _hand_count(dim: int, depth: int, c_in: int, n_classes: int, mlp_ratio: int = 4) -> int:
    """Weights of the layout, written out: bias-free 3x3 convs + BN (2 per channel);
    linears with bias + BatchNorm1d; the head with bias."""
    conv = lambda ci, co: 9 * ci * co + 2 * co  # noqa: E731
    lin_bn = lambda di, do: di * do + do + 2 * do  # noqa: E731
    n = conv(c_in, dim // 8) + conv(dim // 8, dim // 4) + conv(dim // 4, dim // 2) + conv(dim // 2, dim)
    n += conv(dim, dim)  # relative-position branch
    hid = dim * mlp_ratio
    n += depth * (4 * lin_bn(dim, dim) + lin_bn(dim, hid) + lin_bn(hid, dim))
    return n + dim * n_classes + n_classes


def test_spikformer_4_384_parameter_count_matches_the_layout():
    expected = _hand_count(384, 4, 3, 10)
    assert expected == 9_324_730  # the paper's "9.32 M" (Zhou et al., ICLR 2023, CIFAR-10)
    assert count_parameters("spikformer-4-384", 3, 10) == expected
    ann = build_model("spikformer-4-384", input_shape=(3, 32, 32), n_classes=10, ann=True)
    assert sum(p.numel() for p in ann.parameters()) == expected
    T = 4
    snn = build_model("spikformer-4-384", input_shape=(3, 32, 32), n_classes=10, encoder=EncoderSpec("hybrid", T))
    # + leak and gain per step of 33 neuron layers (4 patch, rpe, 7 per block) + readout scale
    # + the hybrid analog first conv and its BatchNorm
    assert len(snn.neuron_names) == 33
    assert sum(p.numel() for p in snn.parameters()) == expected + 33 * 2 * T + T + (27 * 48 + 2 * 48)


def test_spikformer_small_parameter_count():
    expected = _hand_count(64, 2, 1, 10)
    assert expected == 163_906
    ann = build_model("spikformer-small", input_shape=(1, 8, 8), n_classes=10, ann=True)
    assert sum(p.numel() for p in ann.parameters()) == expected == count_parameters("spikformer-small", 1, 10)
    lif = build_model("spikformer-small", input_shape=(1, 8, 8), n_classes=10, encoder=EncoderSpec("direct", 4), asnn=False)
    assert sum(p.numel() for p in lif.parameters()) == expected + 19 * 2  # shared leak and gain, no readout scale


def test_spikformer_4_384_layout():
    m = build_model("spikformer-4-384", input_shape=(3, 32, 32), n_classes=10, ann=True)
    assert [getattr(m, f"patch_conv{i}").out_channels for i in range(1, 5)] == [48, 96, 192, 384]
    assert all(c.bias is None and c.kernel_size == (3, 3) and c.padding == (1, 1)
               for c in m.modules() if isinstance(c, torch.nn.Conv2d))
    assert (m.pool.kernel_size, m.pool.stride, m.pool.padding) == (3, 2, 1)
    assert m.config.pool_after == (3, 4) and m.grid == (8, 8)  # 64 tokens
    assert len(m.blocks) == 4 and m.blocks[0].heads == 12 and m.blocks[0].scale == 0.125
    b = m.blocks[0]
    assert (b.q_linear.in_features, b.q_linear.out_features, b.fc1_linear.out_features) == (384, 384, 1536)
    assert b.q_linear.bias is not None and isinstance(b.q_bn, torch.nn.BatchNorm1d)
    small = CONFIGS["spikformer-small"]
    assert small.grid(8, 8) == (4, 4) and small.dim // small.heads == 16


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("asnn", [True, False])
def test_forward_shapes_and_recorded_names(family, asnn):
    shape, T = (1, 8, 8), 3
    enc = EncoderSpec(family, T)
    snn = build_model("spikformer-small", input_shape=shape, n_classes=5, encoder=enc, asnn=asnn).eval()
    frames = _frames(enc, shape, 2)
    with torch.no_grad():
        out = snn.forward_steps(frames, record=True)
        assert snn(frames).shape == (2, 5)
        assert snn.forward_steps(frames).spikes == {}
    assert out.logits.shape == (T, 2, 5)
    assert list(out.spikes) == snn.neuron_names
    assert all("." not in k for k in out.spikes)
    expected = {"patch_lif1": (8, 8, 8), "patch_lif2": (16, 8, 8), "patch_lif3": (32, 8, 8), "patch_lif4": (64, 4, 4),
                "b0_fc1_lif": (256, 4, 4), "b1_fc1_lif": (256, 4, 4)}
    for name, s in out.spikes.items():
        assert s.shape[:2] == (T, 2)
        assert tuple(s.shape[2:]) == expected.get(name, (64, 4, 4)), name
        assert set(s.unique().tolist()) <= {0.0, 1.0}, name
    assert (snn.readout.scale is not None) == asnn
    assert snn.patch_lif1.leak.shape == ((T,) if asnn else (1,))
    assert hasattr(snn, "patch_conv1_analog") == (family == "hybrid")
    assert isinstance(snn.blocks[0].attn_lif, ThresholdNeurons) and snn.blocks[0].attn_lif.threshold == 0.5
    assert type(snn.blocks[0].q_lif) is SpikingNeurons


def test_attention_is_the_softmax_free_product_per_head():
    g = torch.Generator().manual_seed(0)
    heads, dh, n = 3, 4, 5
    q, k, v = ((torch.rand(2, heads * dh, n, generator=g) < 0.4).double() for _ in range(3))
    out = attention(q, k, v, heads, 0.125)
    expected = torch.zeros_like(out)
    for b in range(2):
        for j in range(heads):
            f = slice(j * dh, (j + 1) * dh)
            for i in range(n):
                for e in range(dh):
                    expected[b, j * dh + e, i] = 0.125 * sum(
                        float(q[b, f, i] @ k[b, f, m]) * float(v[b, j * dh + e, m]) for m in range(n)
                    )
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_threshold_neuron_and_the_exported_scale_fold_are_exact():
    """The exporter moves the attention scale 1/8 into the threshold (0.5 -> 4): with any
    leak and gain, a neuron of threshold 0.5 fed I/8 spikes exactly when one of threshold
    4 fed I does (both soft reset by their threshold)."""
    g = torch.Generator().manual_seed(1)
    T = 6
    currents = torch.randint(0, 40, (T, 500), generator=g).double()  # integer attention sums
    a = ThresholdNeurons(T, per_timestep=True, threshold=0.5).double()
    b = ThresholdNeurons(T, per_timestep=True, threshold=4.0).double()
    with torch.no_grad():
        leak, gain = torch.rand(T, generator=g, dtype=torch.float64), torch.rand(T, generator=g, dtype=torch.float64)
        for n in (a, b):
            n.leak.copy_(leak)
            n.gain.copy_(gain)
        sa, sb = a(currents * 0.125), b(currents)
    assert 0 < sa.mean() < 1
    assert torch.equal(sa, sb)
    plain = SpikingNeurons(T, per_timestep=False).double()
    one = ThresholdNeurons(T, per_timestep=False, threshold=1.0).double()
    with torch.no_grad():
        assert torch.equal(plain(currents * 0.3), one(currents * 0.3))
    with pytest.raises(ValueError, match="threshold must be positive"):
        ThresholdNeurons(T, threshold=0.0)


def _lively(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gain"):
                p.fill_(2.0)


def test_residual_stream_is_graded_and_attention_inputs_are_spikes():
    torch.manual_seed(0)
    enc = EncoderSpec("direct", 4)
    m = build_model("spikformer-small", input_shape=(1, 8, 8), n_classes=10, encoder=enc)
    frames = _frames(enc, (1, 8, 8), 8)
    calibrate_batchnorm(m, frames, 0.5)  # untrained BatchNorm statistics would silence the net
    _lively(m)
    outs: dict[str, torch.Tensor] = {}
    hooks = [blk.register_forward_hook(lambda mod, args, out, j=j: outs.__setitem__(f"b{j}", (args[0], out)))
             for j, blk in enumerate(m.blocks)]
    try:
        with torch.no_grad():
            spikes = m.forward_steps(frames, record=True).spikes
    finally:
        for h in hooks:
            h.remove()
    stream_in, stream_out = outs["b0"]
    first = set(stream_in.unique().tolist())
    assert first <= {0.0, 1.0, 2.0} and 2.0 in first  # patch features + position spikes
    for key, (_, out) in outs.items():
        values = out.unique()
        assert torch.equal(values, values.round()) and values.max() > 2, key  # sums of spikes
    for name in ("b0_q_lif", "b0_k_lif", "b0_v_lif", "b1_attn_lif"):
        assert set(spikes[name].unique().tolist()) == {0.0, 1.0}, name


def test_hybrid_patch_conv_uses_the_analog_conv_at_step_zero_only():
    torch.manual_seed(0)
    enc = EncoderSpec("hybrid", 4)
    m = build_model("spikformer-small", input_shape=(1, 8, 8), n_classes=10, encoder=enc).eval()
    frames = _frames(enc, (1, 8, 8), 3)
    with torch.no_grad():
        before = m.patch_current(frames)
        m.patch_conv1.weight.zero_()
        after = m.patch_current(frames)
        torch.testing.assert_close(after[0], before[0])
        assert not torch.allclose(after[1:], before[1:])
        m.patch_conv1_analog.weight.zero_()
        zeroed = m.patch_current(frames)
    assert not torch.allclose(zeroed[0], before[0])
    torch.testing.assert_close(zeroed[1:], after[1:])


def test_ann_twin_names_weights_and_activations():
    shape = (1, 8, 8)
    snn = build_model("spikformer-small", input_shape=shape, n_classes=10, encoder=EncoderSpec("hybrid", 3))
    ann = build_model("spikformer-small", input_shape=shape, n_classes=10, ann=True).eval()
    spiking_only = (".leak", ".gain", "readout.scale", "patch_conv1_analog.", "patch_bn1_analog.")
    assert {n for n, _ in snn.named_parameters() if not any(s in n for s in spiking_only)} == {n for n, _ in ann.named_parameters()}
    state = {k: v for k, v in snn.state_dict().items() if not any(s in k for s in spiking_only)}
    ann.load_state_dict(state)
    x = torch.rand(2, *shape)
    with torch.no_grad():
        logits, acts = ann.forward_activations(x)
    assert logits.shape == (2, 10)
    assert list(acts) == [n.replace("lif", "relu") for n in snn.neuron_names]
    # the twin's attention: ReLU(0.125 (q k^T) v) of its ReLU'd q, k, v
    expected = torch.relu(attention(*(acts[f"b0_{n}_relu"].flatten(-2) for n in "qkv"), 4, 0.125))
    torch.testing.assert_close(acts["b0_attn_relu"].flatten(-2), expected)


def test_bad_inputs_are_rejected():
    unpadded = SpikformerConfig(dim=64, depth=1, heads=4, pool_after=(3,), pool=(2, 2, 0))
    with pytest.raises(ValueError, match="max-pools do not fit"):
        SpikformerSNN((1, 1, 1), 10, EncoderSpec("direct", 2), config=unpadded)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        build_model("spikformer-small", input_shape=(8, 8), n_classes=10, ann=True)
    with pytest.raises(ValueError, match="no 'sew' residual"):
        build_model("spikformer-small", input_shape=(1, 8, 8), n_classes=10, ann=True, residual="sew")
    with pytest.raises(ValueError, match="multiple of 8 and of heads"):
        SpikformerSNN((1, 8, 8), 10, EncoderSpec("direct", 2), config=SpikformerConfig(dim=64, depth=1, heads=5))
    with pytest.raises(ValueError, match="unknown Spikformer config"):
        SpikformerSNN((1, 8, 8), 10, EncoderSpec("direct", 2), config="spikformer-huge")
    m = build_model("spikformer-small", input_shape=(1, 8, 8), n_classes=10, encoder=EncoderSpec("direct", 2))
    with pytest.raises(ValueError, match="expected frames shaped"):
        m(torch.zeros(2, 1, 1, 16, 16))


def test_registry_names_every_spikformer_config():
    from asnn_sim.interop.export import EXPORTERS
    from asnn_sim.training.models import REGISTRY

    registered = {name for name, entry in REGISTRY.items() if entry.module == "asnn_sim.training.models.spikformer"}
    assert registered == set(CONFIGS) <= set(EXPORTERS)


# ---------------------------------------------------------------- trained on digits, exported, replayed

RUNS = [(family, asnn) for family in FAMILIES for asnn in (True, False)]


def _label(config) -> str:
    family, asnn = config
    return "ann" if family == "ann" else f"{family}-{'asnn' if asnn else 'lif'}"


@pytest.fixture(scope="module")
def spikformer_runs(tmp_path_factory):
    """label -> run directory of spikformer-small trained briefly on digits (T = 4).

    One epoch over 720 images in batches of 16: 45 BatchNorm updates, enough for running
    statistics that keep every layer firing in eval mode (the test accuracy is ~0.3-0.6;
    30 epochs reach far more, see the README)."""
    from asnn_sim.training.train import TrainConfig, train

    root = tmp_path_factory.mktemp("spikformer-runs")
    runs = {}
    for config in RUNS + [("ann", True)]:
        family, asnn = config
        extra = dict(ann=True) if family == "ann" else dict(encoding=family, asnn=asnn)
        label = _label(config)
        train(TrainConfig(model="spikformer-small", epochs=1, timesteps=4, limit=720, batch_size=16, **extra),
              root / label, device="cpu", progress=False)
        runs[label] = root / label
    return runs


@pytest.fixture(scope="module")
def digits():
    from asnn_sim.training.data import load_dataset

    return load_dataset("digits")


@pytest.mark.slow
def test_exported_graph(spikformer_runs):
    from asnn_sim.interop.export import export_run
    from asnn_sim.training.train import load_run

    graph = export_run(spikformer_runs["hybrid-asnn"])
    kinds = [n.kind for n in graph.nodes]
    assert kinds[:13] == ["input", "conv2d", "neuron", "conv2d", "neuron", "conv2d", "neuron", "maxpool2d", "conv2d",
                          "neuron", "conv2d", "neuron", "add"]
    block = ["token_linear", "neuron"] * 3 + ["attention", "neuron", "token_linear", "neuron", "add"] + \
            ["token_linear", "neuron"] * 2 + ["add"]
    assert kinds[13:13 + 2 * len(block)] == block * 2
    assert kinds[-4:] == ["avgpool2d", "flatten", "linear", "readout"]
    assert graph.node("b0_attn").inputs == ("b0_q_lif", "b0_k_lif", "b0_v_lif")
    assert graph.node("b0_q").inputs == ("rpe_add",) and graph.node("b1_q").inputs == ("b0_add2",)
    assert graph.node("rpe_add").inputs == ("patch_lif4", "rpe_lif") and graph.node("patch_conv4").inputs == ("patch_pool3",)
    # the scale 1/8 folded into the attention neuron: threshold 0.5 * 8
    assert graph.node("b0_attn").scale == 1.0 and graph.node("b0_attn").heads == 4
    for n in graph.nodes:
        if n.kind == "neuron":
            assert n.threshold.tolist() == ([4.0] if n.name.endswith("attn_lif") else [1.0]), n.name
    assert graph.node("patch_conv1").weight.shape[0] == 2  # hybrid: the analog weight set
    assert graph.node("pool").kernel == (4, 4)
    assert (graph.node("patch_pool3").kernel, graph.node("patch_pool3").padding) == ((3, 3), (1, 1))
    # weights: BatchNorm folded into the bias-free convs (a bias per channel) and into the
    # linears (whose own bias stays); the hybrid patch conv holds a second weight set
    _, model = load_run(spikformer_runs["hybrid-asnn"])
    twin = [p.numel() for name, p in model.named_parameters()
            if not any(s in name for s in (".leak", ".gain", "readout.", "_analog."))]
    bn2d = sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)) - 8  # minus the analog BN
    bn1d = sum(2 * m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))
    analog = graph.node("patch_conv1").weight[0].size + graph.node("patch_conv1").bias[0].size
    assert graph.n_parameters() == sum(twin) - bn2d - bn1d + analog

    ann = export_run(spikformer_runs["ann"])
    assert ann.node("b0_attn").scale == 0.125 and ann.node("b0_attn_relu").kind == "relu"


@pytest.mark.slow
@pytest.mark.parametrize("config", RUNS, ids=_label)
def test_float64_replay_is_identical(spikformer_runs, digits, config):
    from asnn_sim.interop.export import export_run
    from asnn_sim.interop.parity import check_parity

    run = spikformer_runs[_label(config)]
    result, report = check_parity(export_run(run), run, digits.x_test, digits.y_test, precision="float64", progress=False)
    assert report.n_samples == 360 and len(report.per_layer) == 19
    assert report.spike_mismatches == 0 and report.prediction_mismatches == 0
    # every neuron node spikes: the comparison is not vacuous
    assert all(rate > 0.001 for rate in result.summary["firing_rate"].values()), result.summary["firing_rate"]
    counts = result.counts
    tokens = counts[counts["kind"] == "token_linear"]
    assert tokens["in_events_graded"].sum() > 0 and tokens["synaptic_macs"].sum() > 0  # q, k, v, fc1 read the stream
    attn = counts[counts["kind"] == "attention"]
    assert attn["coincidences"].sum() > 0 and attn["product_acs"].sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize("config", RUNS, ids=_label)
def test_float32_replay_keeps_predictions(spikformer_runs, digits, config):
    from asnn_sim.interop.export import export_run
    from asnn_sim.interop.parity import check_parity

    run = spikformer_runs[_label(config)]
    _, report = check_parity(export_run(run), run, digits.x_test, digits.y_test, precision="float32", progress=False)
    assert report.prediction_mismatches == 0
    assert report.spike_mismatch_rate <= 1e-4


@pytest.mark.slow
def test_ann_twin_replay_matches(spikformer_runs, digits):
    from asnn_sim.interop.export import export_run
    from asnn_sim.interop.parity import check_parity

    run = spikformer_runs["ann"]
    _, report = check_parity(export_run(run), run, digits.x_test, digits.y_test, precision="float64", progress=False)
    assert report.prediction_mismatches == 0 and report.max_logit_difference < 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("label", ["hybrid-asnn", "temporal-lif", "ann"])
@pytest.mark.parametrize("graded", ["mac", "expand"])
def test_counts_of_the_trained_model_equal_brute_force(spikformer_runs, digits, label, graded):
    from asnn_sim.interop.export import export_run
    from asnn_sim.sim import Conventions, Simulator
    from asnn_sim.interop.torch_graph import TorchGraph, count_mismatches

    graph = export_run(spikformer_runs[label])
    enc = graph.input.encoder
    x = digits.x_test[:48]
    frames = EncoderSpec.from_dict(enc).encode(x) if enc else x[None]
    conventions = Conventions(graded=graded)
    sim = Simulator(graph, "float64", conventions, batch_size=48)
    result = sim.run_batch(frames)
    _, _, dense = TorchGraph(graph).run(frames, count=True)
    problems = count_mismatches(graph, sim.rows, result.counts.sum(axis=0), dense.facts, conventions)
    assert not problems, "\n".join(problems[:20])


# ---------------------------------------------------------------- Spikformer-4-384 at CIFAR size


def _conv3x3_pairs(c_in: int, c_out: int, h: int, w: int) -> int:
    """In-bounds (input, synapse) pairs of a 3x3 padding-1 stride-1 conv: the ANN's MACs."""
    return c_in * c_out * (3 * h - 2) * (3 * w - 2)


def _spikformer_4_384_dense_macs(n_classes: int = 10) -> dict[str, int]:
    """The ANN twin's MACs per 3x32x32 image, by kind, from the layout alone."""
    convs = (_conv3x3_pairs(3, 48, 32, 32) + _conv3x3_pairs(48, 96, 32, 32) + _conv3x3_pairs(96, 192, 32, 32)
             + _conv3x3_pairs(192, 384, 16, 16) + _conv3x3_pairs(384, 384, 8, 8))
    n, d, heads = 64, 384, 12
    dh = d // heads
    tokens = 4 * (4 * n * d * d + 2 * n * d * 4 * d)
    attention = 4 * heads * min(2 * n * n * dh, 2 * n * dh * dh)  # the cheaper association order
    return {"conv2d": convs, "token_linear": tokens, "attention": attention, "linear": d * n_classes}


@pytest.mark.slow
def test_spikformer_4_384_at_cifar_size_builds_exports_and_replays():
    """The full Spikformer-4-384 (10 classes, 3x32x32, T = 4): export, replay two encoded
    random samples in float64 spike for spike against PyTorch; weights and dense MACs
    against the layout's hand counts."""
    from asnn_sim.graph.counts_schema import SLOT
    from asnn_sim.interop.export import export_spikformer
    from asnn_sim.graph.ir import Graph
    from asnn_sim.training.models.calibrate import calibrate_rate
    from asnn_sim.sim import Simulator

    torch.manual_seed(0)
    T = 4
    encoder = EncoderSpec("hybrid", T)
    model = build_model("spikformer-4-384", input_shape=(3, 32, 32), n_classes=10, encoder=encoder)
    frames = encoder.encode(np.random.default_rng(0).random((2, 3, 32, 32)))
    # untrained nets are silent or saturated: every layer calibrated to fire (coarsely) 15 %
    rates = calibrate_rate(model, torch.from_numpy(frames).float(), target=0.15, iterations=3)
    assert len(rates) == 33 and all(0.01 < r < 0.5 for r in rates.values()), rates
    model = model.double().eval()
    graph = Graph(export_spikformer(model, (3, 32, 32), T), "snn", T)
    assert graph.shapes["patch_pool4"] == (384, 8, 8) and graph.node("b3_attn").heads == 12
    assert graph.node("patch_pool3").padding == (1, 1) and graph.shapes["patch_pool3"] == (192, 16, 16)

    twin = build_model("spikformer-4-384", input_shape=(3, 32, 32), n_classes=10, ann=True)
    n_weights = sum(p.numel() for p in twin.parameters())
    assert n_weights == _hand_count(384, 4, 3, 10) == 9_324_730
    bn2d = sum(m.num_features for m in twin.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn1d = sum(2 * m.num_features for m in twin.modules() if isinstance(m, torch.nn.BatchNorm1d))
    analog = graph.node("patch_conv1").weight[0].size + graph.node("patch_conv1").bias[0].size
    assert graph.n_parameters() == n_weights - bn2d - bn1d + analog

    sim = Simulator(graph, "float64", batch_size=2)
    result = sim.run_batch(frames, record=True)
    with torch.no_grad():
        out = model.forward_steps(torch.from_numpy(frames), record=True)
    assert list(out.spikes) == [n.name for n in graph.nodes if n.kind == "neuron"]
    for name, spikes in out.spikes.items():
        np.testing.assert_array_equal(result.spikes[name], spikes.numpy().astype(np.uint8), err_msg=name)
    np.testing.assert_allclose(result.logits, out.logits.mean(0).numpy(), rtol=1e-9, atol=1e-9)

    totals = result.counts.sum(axis=(0, 2))  # per node, over samples and steps
    dense = {}
    for node in sim.rows:
        c = dict(zip(SLOT, totals[sim.row_index[node.name]]))
        dense[node.kind] = dense.get(node.kind, 0) + c["dense_macs"] // (2 * T)  # per image and step
        if node.kind == "neuron":
            assert 0 < c["output_spikes"] < c["neurons"], node.name
        if node.kind in ("conv2d", "token_linear", "linear"):
            assert c["synaptic_acs"] + c["synaptic_macs"] <= c["dense_macs"], node.name
    expected = _spikformer_4_384_dense_macs()
    assert {k: v for k, v in dense.items() if v} == expected
    assert sum(expected.values()) == 891_511_104  # the ANN twin's MACs per image


# ---------------------------------------------------------------- the command line, end to end


@pytest.mark.slow
def test_cli_export_simulate_parity_energy(spikformer_runs, tmp_path, capsys):
    import json

    from asnn_sim.app.cli import main

    graph_file = tmp_path / "spikformer.asnn"
    assert main(["export", str(spikformer_runs["hybrid-asnn"]), "-o", str(graph_file)]) == 0
    counts = tmp_path / "counts"
    assert main(["simulate", str(graph_file), "--out", str(counts), "--limit", "40", "--quiet",
                 "--check-parity", str(spikformer_runs["hybrid-asnn"])]) == 0
    out = capsys.readouterr().out
    assert "0 of 40 predictions differ" in out
    assert "attention products per inference:" in out and "head-steps in the order Q (K^T V)" in out
    assert "readout after step t (0-based): t=0 " in out  # one numbering for every user-facing t
    summary = json.loads((counts / "summary.json").read_text())
    assert summary["parity"]["identical"] is True
    energy = tmp_path / "energy"
    # A graph with both maxpool2d and avgpool2d once failed here (a read-only column in
    # hw_models.activity.zero_spike_table under pandas copy-on-write).
    assert main(["energy", str(counts), "--hw", "cmos45-int8-sram,loihi", "--out", str(energy)]) == 0
    assert any(energy.iterdir())



@pytest.mark.slow
def test_compare_reports_a_spikformer_like_any_model(tmp_path):
    """`compare` (here through the Python API) trains, replays with parity, prices and
    reports a Spikformer and its ANN twin; every printed ratio recomputes, and the report
    puts the papers' firing-rate convention beside the exact counts."""
    import asnn_sim.api as asnn
    from report_tables import check_headline, check_ratios

    report = asnn.compare(tmp_path / "report", model="spikformer-small", encodings=["hybrid"],
                          hw=["cmos45-fp32-arith", "cmos45-int8-sram"], cache=tmp_path / "cache", limit=24,
                          train_limit=240, epochs=1, timesteps=2, device="cpu")
    md = (tmp_path / "report" / "summary.md").read_text()
    assert check_headline(md) == 3 + 2 and check_ratios(md) == 2 * 2
    assert "## Energy conventions side by side" in md
    conv = report.tables["conventions"].set_index("encoding")
    assert conv.loc["hybrid", "ratio_firing_rate"] > 0 and conv.loc["hybrid", "ratio_memory"] > 0
    assert report.tables["encodings"].set_index("encoding").loc["hybrid", "parity_identical"]
