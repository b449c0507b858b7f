"""The reference LeNet: shapes, the hybrid first layer, and equality with a step-by-step loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_sim.graph.encoding import ENCODINGS, EncoderSpec
from asnn_sim.training.models import build_model
from asnn_sim.training.neurons import neuron_step


@pytest.mark.parametrize(
    "shape, flat",
    [((1, 8, 8), 64), ((1, 28, 28), 576), ((3, 32, 32), 1024)],
)
def test_lenet_is_sized_from_the_input_shape(shape, flat):
    enc = EncoderSpec("direct", 2)
    snn = build_model("lenet", input_shape=shape, n_classes=7, encoder=enc)
    ann = build_model("lenet", input_shape=shape, n_classes=7, ann=True)
    assert snn.fc1.in_features == flat and ann.fc1.in_features == flat
    x = np.random.default_rng(0).random((3,) + shape).astype(np.float32)
    assert snn(torch.from_numpy(enc.encode(x))).shape == (3, 7)
    assert ann(torch.from_numpy(x)).shape == (3, 7)


def test_reference_channel_widths():
    m = build_model("lenet", input_shape=(3, 32, 32), n_classes=100, encoder=EncoderSpec("direct", 2))
    assert [m.conv1.out_channels, m.conv2.out_channels, m.conv3.out_channels, m.fc1.out_features] == [32, 48, 64, 256]


def test_too_small_input_is_rejected():
    with pytest.raises(ValueError, match="at least 8x8"):
        build_model("lenet", input_shape=(1, 4, 4), n_classes=10, ann=True)


def test_unknown_model_and_missing_encoder():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("vgg", input_shape=(1, 8, 8), n_classes=10, ann=True)
    with pytest.raises(ValueError, match="needs an encoder"):
        build_model("lenet", input_shape=(1, 8, 8), n_classes=10)


def test_asnn_flag_controls_per_step_parameters_and_scale():
    enc = EncoderSpec("temporal", 5)
    asnn = build_model("lenet", input_shape=(1, 8, 8), n_classes=10, encoder=enc, asnn=True)
    lif = build_model("lenet", input_shape=(1, 8, 8), n_classes=10, encoder=enc, asnn=False)
    assert asnn.lif1.leak.shape == (5,) and asnn.readout.scale.shape == (5,)
    assert lif.lif1.leak.shape == (1,) and lif.readout.scale is None


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Give BN running stats and neuron parameters non-trivial values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=g) * 0.2)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)
        for name, p in model.named_parameters():
            if name.endswith(("leak", "gain", "scale")):
                p.copy_(torch.rand(p.shape, generator=g) + 0.4)


def _reference_loop(m, frames: torch.Tensor) -> torch.Tensor:
    """The reference code's forward, one timestep at a time (eval mode)."""
    T, B = frames.shape[:2]
    mems = [None] * 4
    outs = []
    pool = torch.nn.MaxPool2d(2)
    lifs = [m.lif1, m.lif2, m.lif3, m.lif4]

    def lif(i, x, t):
        mem = torch.zeros_like(x) if mems[i] is None else mems[i]
        s, mems[i] = neuron_step(x, mem, *lifs[i].step_params(t))
        return s

    for t in range(T):
        if m.hybrid and t == 0:
            x = m.bn1_analog(m.conv1_analog(frames[t]))
        else:
            x = m.bn1(m.conv1(frames[t]))
        x = pool(lif(0, x, t))
        x = pool(lif(1, m.bn2(m.conv2(x)), t))
        x = pool(lif(2, m.bn3(m.conv3(x)), t))
        x = lif(3, m.bn4(m.fc1(x.flatten(1))), t)
        y = m.fc2(x)
        outs.append(y * m.readout.scale[t] if m.readout.scale is not None else y)
    return torch.stack(outs).mean(0)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("asnn", [True, False])
def test_layer_by_layer_equals_the_reference_step_loop(encoding, asnn):
    torch.manual_seed(0)
    enc = EncoderSpec(encoding, 4)
    m = build_model("lenet", input_shape=(1, 16, 16), n_classes=10, encoder=enc, asnn=asnn).double().eval()
    _randomise(m, 1)
    x = np.random.default_rng(2).random((6, 1, 16, 16))
    frames = torch.from_numpy(enc.encode(x))
    with torch.no_grad():
        ours = m(frames)
        ref = _reference_loop(m, frames)
        rec = m.forward_steps(frames, record=True)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    assert set(rec.spikes) == {"lif1", "lif2", "lif3", "lif4"}
    assert rec.spikes["lif1"].shape == (4, 6, 32, 16, 16)
    assert rec.logits.shape == (4, 6, 10)
    # The network is not silent: the comparison above exercised spikes.
    assert sum(s.sum().item() for s in rec.spikes.values()) > 0


def test_hybrid_step_zero_goes_through_its_own_first_conv():
    enc = EncoderSpec("hybrid", 3)
    m = build_model("lenet", input_shape=(1, 8, 8), n_classes=10, encoder=enc).eval()
    frames = torch.from_numpy(enc.encode(np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)))
    with torch.no_grad():
        before = m._first_layer_current(frames)
        m.conv1_analog.weight.mul_(-1)
        flipped = m._first_layer_current(frames)
        m.conv1_analog.weight.mul_(-1)
        m.conv1.weight.zero_()
        no_spike_conv = m._first_layer_current(frames)
    assert not torch.equal(before[0], flipped[0])
    torch.testing.assert_close(flipped[1:], before[1:])
    torch.testing.assert_close(no_spike_conv[0], before[0])
    assert not torch.equal(no_spike_conv[1:], before[1:])


def test_ann_twin_activations_are_relu_outputs():
    m = build_model("lenet", input_shape=(1, 8, 8), n_classes=10, ann=True).eval()
    logits, acts = m.forward_activations(torch.rand(4, 1, 8, 8))
    assert logits.shape == (4, 10)
    assert set(acts) == {"relu1", "relu2", "relu3", "relu4"}
    assert all((a >= 0).all() for a in acts.values())
