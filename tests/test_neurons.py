"""Spike function, surrogate gradients and the LIF/ASNN neuron dynamics."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from asnn_sim.training.neurons import (
    SURROGATES,
    Readout,
    SpikingNeurons,
    get_surrogate,
    neuron_step,
    spike,
)


class _SmoothWithSurrogateBackward(torch.autograd.Function):
    """Forward: the surrogate's smooth primitive. Backward: the surrogate's derivative.

    gradcheck compares the analytic backward with finite differences of the forward,
    so it proves ``derivative`` is the true derivative of ``primitive``.
    """

    @staticmethod
    def forward(ctx, x, name):
        ctx.save_for_backward(x)
        ctx.name = name
        s = SURROGATES[name]
        return s.primitive(x, s.alpha)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = SURROGATES[ctx.name]
        return grad * s.derivative(x, s.alpha), None


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_surrogate_derivative_passes_gradcheck(name):
    x = torch.linspace(-3, 3, 61, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: _SmoothWithSurrogateBackward.apply(v, name), (x,))


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_spike_backward_is_the_surrogate_derivative(name):
    x = torch.linspace(-2, 2, 41, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(spike(x, name).sum(), x)
    s = SURROGATES[name]
    torch.testing.assert_close(grad, s.derivative(x.detach(), s.alpha))
    # Peak at the threshold: the derivative of the smooth step is largest there.
    assert grad.argmax().item() == 20


def test_reference_surrogate_is_sigmoid_alpha_4():
    s = get_surrogate("sigmoid")
    assert s.alpha == 4.0
    x = torch.tensor([0.3], dtype=torch.float64)
    sg = torch.sigmoid(4 * x)
    torch.testing.assert_close(s.derivative(x, 4.0), 4 * sg * (1 - sg))


def test_spike_is_strict_heaviside():
    x = torch.tensor([-1.0, -1e-12, 0.0, 1e-12, 2.0])
    assert spike(x).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_unknown_surrogate_is_rejected():
    with pytest.raises(ValueError, match="unknown surrogate"):
        spike(torch.zeros(1), "boxcar")


@given(
    st.floats(-3, 3), st.floats(-3, 3), st.floats(0, 1), st.floats(0, 2),
)
def test_neuron_step_matches_hand_computation(current, mem0, leak, gain):
    c = torch.tensor(current, dtype=torch.float64)
    m = torch.tensor(mem0, dtype=torch.float64)
    s, m1 = neuron_step(c, m, torch.tensor(leak, dtype=torch.float64), torch.tensor(gain, dtype=torch.float64))
    v = leak * mem0 + gain * current
    fired = 1.0 if v - 1.0 > 0 else 0.0
    assert s.item() == fired
    assert m1.item() == pytest.approx(v - fired, abs=1e-12)


def test_membrane_exactly_at_threshold_does_not_fire():
    s, m = neuron_step(torch.tensor(2.0), torch.tensor(0.0), torch.tensor(0.5), torch.tensor(0.5))
    assert s.item() == 0.0 and m.item() == 1.0


def test_asnn_has_per_timestep_parameters_and_lif_shares_them():
    asnn = SpikingNeurons(5, per_timestep=True)
    lif = SpikingNeurons(5, per_timestep=False)
    assert asnn.leak.shape == asnn.gain.shape == (5,)
    assert lif.leak.shape == lif.gain.shape == (1,)
    assert torch.all(asnn.leak == 0.5) and torch.all(asnn.gain == 0.5)


def test_layer_uses_each_steps_own_leak_and_gain():
    layer = SpikingNeurons(3, per_timestep=True).double()
    with torch.no_grad():
        layer.leak.copy_(torch.tensor([0.9, 0.1, 0.7]))
        layer.gain.copy_(torch.tensor([2.0, 0.3, 1.5]))
    currents = torch.tensor([[0.6], [0.2], [0.9]], dtype=torch.float64)
    out = layer(currents)
    mem, expected = 0.0, []
    for t, c in enumerate([0.6, 0.2, 0.9]):
        mem = [0.9, 0.1, 0.7][t] * mem + [2.0, 0.3, 1.5][t] * c
        s = 1.0 if mem > 1.0 else 0.0
        mem -= s
        expected.append(s)
    assert out[:, 0].tolist() == expected


def test_gradients_reach_leak_gain_and_input():
    torch.manual_seed(0)
    layer = SpikingNeurons(4, per_timestep=True)
    currents = (torch.rand(4, 8, 16) * 3).requires_grad_()
    layer(currents).sum().backward()
    assert currents.grad.abs().sum() > 0
    assert torch.all(layer.gain.grad.abs() > 0)
    # The first step's leak multiplies a zero membrane, so only later leaks get gradient.
    assert layer.leak.grad[0] == 0 and torch.all(layer.leak.grad[1:].abs() > 0)


def test_layer_rejects_wrong_number_of_steps():
    with pytest.raises(ValueError, match="expected 4 timesteps"):
        SpikingNeurons(4)(torch.zeros(3, 2))


def test_readout_scales_per_step_then_averages():
    ro = Readout(2, learn_scale=True)
    with torch.no_grad():
        ro.scale.copy_(torch.tensor([2.0, 0.5]))
    logits = torch.tensor([[[1.0, 4.0]], [[2.0, 8.0]]])  # (T=2, B=1, K=2)
    assert ro(logits).tolist() == [[1.5, 6.0]]
    plain = Readout(2, learn_scale=False)
    assert plain.scale is None and plain(logits).tolist() == [[1.5, 6.0]]
