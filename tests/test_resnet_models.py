"""Spiking ResNets: layout, shapes per config x coding x neuron x residual, spike values,
the hybrid stem, twin parameter names, recorded names, a short digits training run."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.training.models import MODELS, build_model
from asnn_sim.training.models.resnet import CONFIGS, ResNetSNN
from asnn_sim.training.train import TrainConfig, TrainError, make_model, train

RESNETS = sorted(CONFIGS)
FAMILIES = ("direct", "temporal", "hybrid")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: these tensors are tiny, and on a busy shared machine two
    spinning threads make this file several times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _frames(enc: EncoderSpec, shape, batch: int, seed: int = 0) -> torch.Tensor:
    x = np.random.default_rng(seed).random((batch,) + tuple(shape)).astype(np.float32)
    return torch.from_numpy(enc.encode(x))


def _resnet19_hand_count(n_classes: int, c_in: int) -> int:
    """ResNet-19 weights from the layout: bias-free convs + BN (2 per channel), FCs with bias."""
    conv = lambda ci, co, k: ci * co * k * k  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731
    n = conv(c_in, 128, 3) + bn(128)  # stem
    n += 3 * (2 * conv(128, 128, 3) + 2 * bn(128))  # stage 1: identity shortcuts
    n += conv(128, 256, 3) + conv(256, 256, 3) + 2 * bn(256) + conv(128, 256, 1) + bn(256)
    n += 2 * (2 * conv(256, 256, 3) + 2 * bn(256))
    n += conv(256, 512, 3) + conv(512, 512, 3) + 2 * bn(512) + conv(256, 512, 1) + bn(512)
    n += 2 * conv(512, 512, 3) + 2 * bn(512)
    n += 512 * 256 + 256  # FC 256 (no BatchNorm)
    n += 256 * n_classes + n_classes
    return n


def test_resnet19_parameter_count_matches_the_layout():
    expected = _resnet19_hand_count(10, 3)
    assert expected == 12_697_994
    ann = build_model("resnet19", input_shape=(3, 32, 32), n_classes=10, ann=True)
    assert sum(p.numel() for p in ann.parameters()) == expected
    T = 4
    snn = build_model("resnet19", input_shape=(3, 32, 32), n_classes=10, encoder=EncoderSpec("direct", T))
    # + leak and gain per step for 18 neuron layers (stem, 8 blocks x 2, FC 256) + readout scale
    assert sum(p.numel() for p in snn.parameters()) == expected + 18 * 2 * T + T
    sew = build_model("resnet19", input_shape=(3, 32, 32), n_classes=10, encoder=EncoderSpec("direct", T), residual="sew")
    # + the two SEW downsample-shortcut neurons
    assert sum(p.numel() for p in sew.parameters()) == expected + 20 * 2 * T + T


def test_resnet19_layout():
    m = build_model("resnet19", input_shape=(3, 32, 32), n_classes=10, ann=True)
    assert m.stem_conv.out_channels == 128 and m.stem_conv.kernel_size == (3, 3) and m.stem_conv.stride == (1, 1)
    assert list(m.blocks) == ["s1b0", "s1b1", "s1b2", "s2b0", "s2b1", "s2b2", "s3b0", "s3b1"]
    widths = [b.conv2.out_channels for b in m.blocks.values()]
    strides = [b.conv1.stride[0] for b in m.blocks.values()]
    assert widths == [128] * 3 + [256] * 3 + [512] * 2 and strides == [1, 1, 1, 2, 1, 1, 2, 1]
    assert [k for k, b in m.blocks.items() if b.short_conv is not None] == ["s2b0", "s3b0"]
    assert m.fc1.in_features == 512 and m.fc1.out_features == 256 and m.fc.in_features == 256
    assert all(c.bias is None for c in m.modules() if isinstance(c, torch.nn.Conv2d))


def test_resnet19_forward_on_cifar_sized_input():
    enc = EncoderSpec("hybrid", 2)
    m = build_model("resnet19", input_shape=(3, 32, 32), n_classes=10, encoder=enc).eval()
    with torch.no_grad():
        out = m.forward_steps(_frames(enc, (3, 32, 32), 1), record=True)
    assert out.logits.shape == (2, 1, 10)
    assert out.spikes["s1b0_lif2"].shape == (2, 1, 128, 32, 32)
    assert out.spikes["s3b1_lif2"].shape == (2, 1, 512, 8, 8)
    assert out.spikes["fc1_lif"].shape == (2, 1, 256)


@pytest.mark.parametrize("name", RESNETS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("asnn", [True, False])
@pytest.mark.parametrize("residual", ["standard", "sew"])
def test_forward_shapes(name, family, asnn, residual):
    # 8x8 inputs: the smallest every config accepts (ResNet-18/34 stride by 8), and cheap.
    shape, T = (3, 8, 8), 2
    enc = EncoderSpec(family, T)
    snn = build_model(name, input_shape=shape, n_classes=5, encoder=enc, asnn=asnn, residual=residual)
    frames = _frames(enc, shape, 2)
    with torch.no_grad():
        assert snn(frames).shape == (2, 5)
        assert snn.forward_steps(frames).logits.shape == (T, 2, 5)
    assert (snn.readout.scale is not None) == asnn
    assert snn.stem_lif.leak.shape == ((T,) if asnn else (1,))
    assert hasattr(snn, "stem_conv_analog") == (family == "hybrid")


def _block_outputs(model: ResNetSNN, frames: torch.Tensor) -> dict[str, torch.Tensor]:
    outs: dict[str, torch.Tensor] = {}
    hooks = [
        block.register_forward_hook(lambda mod, args, out, key=key: outs.__setitem__(key, out))
        for key, block in model.blocks.items()
    ]
    try:
        with torch.no_grad():
            model(frames)
    finally:
        for h in hooks:
            h.remove()
    return outs


def _lively(model: torch.nn.Module) -> None:
    """Neuron parameters that make most layers fire on random input (deterministic)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gain"):
                p.fill_(2.0)


def test_standard_block_outputs_are_binary_spikes():
    torch.manual_seed(0)
    enc = EncoderSpec("direct", 4)
    m = build_model("resnet-small", input_shape=(1, 8, 8), n_classes=10, encoder=enc)
    _lively(m)
    outs = _block_outputs(m, _frames(enc, (1, 8, 8), 8))
    assert set(outs) == {"s1b0", "s2b0"}
    for key, out in outs.items():
        assert set(out.unique().tolist()) == {0.0, 1.0}, key


def test_sew_block_outputs_are_graded():
    torch.manual_seed(0)
    enc = EncoderSpec("direct", 4)
    m = build_model("resnet-small", input_shape=(1, 8, 8), n_classes=10, encoder=enc, residual="sew")
    _lively(m)
    outs = _block_outputs(m, _frames(enc, (1, 8, 8), 8))
    for key, out in outs.items():
        values = set(out.unique().tolist())
        assert values <= set(range(0, 10)), key  # whole numbers: sums of spike counts
        assert 2.0 in values, key
    # The second block reads graded input: its stage input (block s1b0's output) holds 2s.
    assert (outs["s1b0"] == 2).any()


def test_hybrid_stem_uses_the_analog_conv_at_step_zero_only():
    torch.manual_seed(0)
    enc = EncoderSpec("hybrid", 4)
    m = build_model("resnet-small", input_shape=(1, 8, 8), n_classes=10, encoder=enc).eval()
    frames = _frames(enc, (1, 8, 8), 3)
    with torch.no_grad():
        before = m.stem_current(frames)
        m.stem_conv.weight.zero_()
        after = m.stem_current(frames)
        torch.testing.assert_close(after[0], before[0])
        assert not torch.allclose(after[1:], before[1:])
        m.stem_conv_analog.weight.zero_()
        zeroed = m.stem_current(frames)
    assert not torch.allclose(zeroed[0], before[0])
    torch.testing.assert_close(zeroed[1:], after[1:])


@pytest.mark.parametrize("name", RESNETS)
@pytest.mark.parametrize("residual", ["standard", "sew"])
def test_ann_twin_shapes_and_parameter_names(name, residual):
    shape = (3, 8, 8)
    snn = build_model(name, input_shape=shape, n_classes=10, encoder=EncoderSpec("hybrid", 3), residual=residual)
    ann = build_model(name, input_shape=shape, n_classes=10, ann=True, residual=residual)
    with torch.no_grad():
        assert ann(torch.rand(2, *shape)).shape == (2, 10)
    spiking_only = (".leak", ".gain", "readout.scale", "stem_conv_analog.", "stem_bn_analog.")
    snn_names = {n for n, _ in snn.named_parameters() if not any(s in n for s in spiking_only)}
    assert snn_names == {n for n, _ in ann.named_parameters()}
    assert any("_lif" in n or ".lif" in n for n, _ in snn.named_parameters())
    # The weights load across: a twin can start from the SNN's weights.
    state = {k: v for k, v in snn.state_dict().items() if not any(s in k for s in spiking_only)}
    ann.load_state_dict(state)


def _expected_neurons(name: str, residual: str) -> list[str]:
    cfg = CONFIGS[name]
    names, c_in = ["stem_lif"], cfg.stem
    for s, (n, c, stride) in enumerate(cfg.stages, start=1):
        for b in range(n):
            names += [f"s{s}b{b}_lif1", f"s{s}b{b}_lif2"]
            if residual == "sew" and b == 0 and (stride != 1 or c_in != c):
                names.append(f"s{s}b{b}_short_lif")
            c_in = c
    return names + (["fc1_lif"] if cfg.hidden else [])


@pytest.mark.parametrize("name", RESNETS)
@pytest.mark.parametrize("residual", ["standard", "sew"])
def test_recorded_names_are_the_neuron_node_names(name, residual):
    shape = (1, 8, 8)
    enc = EncoderSpec("temporal", 2)
    snn = build_model(name, input_shape=shape, n_classes=4, encoder=enc, residual=residual).eval()
    ann = build_model(name, input_shape=shape, n_classes=4, ann=True, residual=residual).eval()
    frames = _frames(enc, shape, 2)
    with torch.no_grad():
        spikes = snn.forward_steps(frames, record=True).spikes
        _, acts = ann.forward_activations(frames[0])
        assert snn.forward_steps(frames).spikes == {}
    expected = _expected_neurons(name, residual)
    assert list(spikes) == expected and list(acts) == [n.replace("lif", "relu") for n in expected]
    assert all("." not in k for k in expected)
    for key, s in spikes.items():
        assert set(s.unique().tolist()) <= {0.0, 1.0}, key  # every neuron emits binary spikes
        assert s.shape[1:] == acts[key.replace("lif", "relu")].shape, key
    if residual == "standard":
        assert not any(k.endswith("short_lif") for k in expected)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="at least 8x8"):
        build_model("resnet18", input_shape=(3, 4, 4), n_classes=10, ann=True)
    with pytest.raises(ValueError, match="at least 4x4"):
        build_model("resnet19", input_shape=(3, 32, 2), n_classes=10, encoder=EncoderSpec("direct", 2))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        build_model("resnet-small", input_shape=(8, 8), n_classes=10, ann=True)
    with pytest.raises(ValueError, match="unknown residual"):
        build_model("resnet-small", input_shape=(1, 8, 8), n_classes=10, ann=True, residual="dense")
    with pytest.raises(ValueError, match="no 'sew' residual"):
        build_model("lenet", input_shape=(1, 8, 8), n_classes=10, ann=True, residual="sew")
    m = build_model("resnet-small", input_shape=(1, 8, 8), n_classes=10, encoder=EncoderSpec("direct", 2))
    with pytest.raises(ValueError, match="expected frames shaped"):
        m(torch.zeros(2, 1, 1, 16, 16))


def test_registry_and_train_config():
    assert {"resnet19", "resnet18", "resnet34", "resnet-small"} <= set(MODELS)
    config = TrainConfig(model="resnet-small", residual="sew", timesteps=2)
    assert make_model(config, (1, 8, 8), 10).residual == "sew"
    assert make_model(TrainConfig(model="resnet-small", ann=True, residual="sew"), (1, 8, 8), 10).residual == "sew"
    with pytest.raises(TrainError, match="--residual sew needs a ResNet model"):
        TrainConfig(model="lenet", residual="sew")
    with pytest.raises(TrainError, match="--residual must be one of standard, sew"):
        TrainConfig(model="resnet-small", residual="dense")
    # Configs written before the field existed still load, as standard residuals.
    old = {k: v for k, v in asdict(TrainConfig(model="resnet-small")).items() if k != "residual"}
    assert TrainConfig.from_dict(old).residual == "standard"


@pytest.mark.slow
def test_resnet_small_learns_digits(tmp_path):
    # Measured: 4 epochs (hybrid, T=4, ASNN, seed 0) reach 0.95 test accuracy in ~6 s of
    # CPU on one thread (3 epochs: 0.90; 30 epochs: 0.986).
    config = TrainConfig(model="resnet-small", encoding="hybrid", timesteps=4, epochs=4, seed=0)
    summary = train(config, tmp_path / "run", device="cpu", progress=False)
    assert summary["test_accuracy"] > 0.85


def test_cli_residual_flag(tmp_path, capsys):
    from asnn_sim.app.cli import main

    out = tmp_path / "run"
    assert main(["train", "--model", "lenet", "--residual", "sew", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--residual sew needs a ResNet model" in err[0]
    assert not out.exists()
    argv = ["train", "--model", "resnet-small", "--residual", "sew", "--epochs", "1", "--limit", "64", "-T", "2"]
    assert main(argv + ["--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["residual"] == "sew"


def test_cache_key_of_standard_configs_is_unchanged():
    from asnn_sim.app.pipeline import config_key

    config = TrainConfig(encoding="temporal", timesteps=6)
    before = {k: v for k, v in asdict(config).items() if k not in ("residual", "reset", "pool")}  # the pre-residual dict
    expected = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:10]
    assert config_key(config) == expected
    assert config_key(TrainConfig(model="resnet-small", residual="sew")) != config_key(TrainConfig(model="resnet-small"))


def test_registry_names_every_resnet_config():
    from asnn_sim.training.models import REGISTRY

    registered = {name for name, entry in REGISTRY.items() if entry.module == "asnn_sim.training.models.resnet"}
    assert registered == set(CONFIGS)
