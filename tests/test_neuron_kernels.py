"""The fused neuron time loop (neurons.neuron_sequence, neuron_kernels) against the step-by-step reference.

Forward: spikes equal, bit for bit, to ``neuron_step`` called T times (so the float64
parity of exported models is untouched). Backward: equal to autograd through those T
steps up to rounding. Both implementations are checked: the Numba kernels (CPU float32
and float64) and the torch operations used elsewhere (CUDA, half precision).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import asnn_sim.training.neurons as neurons
from asnn_sim.training import neuron_kernels
from asnn_sim.training.neurons import SURROGATES, SpikingNeurons, Surrogate, neuron_sequence, neuron_step


def _stepwise(currents, leak, gain, surrogate, threshold, reset):
    mem = torch.zeros_like(currents[0])
    out = []
    for t in range(currents.shape[0]):
        s, mem = neuron_step(currents[t], mem, leak[t], gain[t], surrogate, threshold, reset)
        out.append(s)
    return torch.stack(out)


def _grads(fn, currents, leak, gain, weights):
    x, lk, gn = (v.detach().clone().requires_grad_() for v in (currents, leak, gain))
    out = fn(x, lk, gn)
    return out.detach(), torch.autograd.grad((out * weights).sum(), (x, lk, gn))


@pytest.fixture(params=["kernels", "torch"])
def backend(request, monkeypatch):
    if request.param == "torch":
        monkeypatch.setattr(neurons, "_uses_kernels", lambda x: False)
    return request.param


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    steps=st.integers(1, 6),
    shape=st.sampled_from([(3,), (2, 5), (2, 3, 4, 5), (1, 1, 7, 3)]),
    dtype=st.sampled_from([torch.float64, torch.float32]),
    surrogate=st.sampled_from(sorted(SURROGATES)),
    reset=st.sampled_from(["soft", "hard"]),
    threshold=st.sampled_from([1.0, 0.5, 0.3]),
    channels_last=st.booleans(),
)
def test_fused_equals_the_step_by_step_neuron(seed, steps, shape, dtype, surrogate, reset, threshold, channels_last):
    for use_kernels in (True, False):
        original = neurons._uses_kernels
        if not use_kernels:
            neurons._uses_kernels = lambda x: False
        try:
            _check_against_stepwise(seed, steps, shape, dtype, surrogate, reset, threshold, channels_last)
        finally:
            neurons._uses_kernels = original


def _check_against_stepwise(seed, steps, shape, dtype, surrogate, reset, threshold, channels_last):
    g = torch.Generator().manual_seed(seed)
    currents = torch.randn(steps, *shape, generator=g, dtype=dtype) * 1.5 + 0.3
    if channels_last and len(shape) == 4:
        # (T, B, C, H, W) from a channels-last (T*B, C, H, W) map, as the models make them.
        currents = currents.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, (steps, shape[0]))
    leak = torch.rand(steps, generator=g, dtype=dtype)
    gain = torch.rand(steps, generator=g, dtype=dtype) + 0.25
    weights = torch.randn(steps, *shape, generator=g, dtype=dtype)
    fused, fused_grads = _grads(lambda x, lk, gn: neuron_sequence(x, lk, gn, surrogate, threshold, reset),
                                currents, leak, gain, weights)
    ref, ref_grads = _grads(lambda x, lk, gn: _stepwise(x, lk, gn, surrogate, threshold, reset),
                            currents, leak, gain, weights)
    assert torch.equal(fused, ref)  # bit for bit
    assert fused.stride() == currents.stride()  # the layout is kept
    tol = 1e-9 if dtype == torch.float64 else 2e-4
    for got, want in zip(fused_grads, ref_grads):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)


def test_no_gradient_needed_stores_nothing_and_gives_the_same_spikes(backend):
    currents = torch.randn(4, 8, 16, dtype=torch.float64)
    leak = gain = torch.full((4,), 0.6, dtype=torch.float64)
    with torch.no_grad():
        fast = neuron_sequence(currents, leak, gain)
    assert torch.equal(fast, _stepwise(currents, leak, gain, "sigmoid", 1.0, "soft"))


def test_a_surrogate_of_ones_own_is_honoured(backend):
    # Not one the kernel knows: its derivative comes from torch (kernel code GIVEN).
    tent = Surrogate("tent", 1.0, lambda x, a: torch.clamp(x + 0.5, 0, 1), lambda x, a: (x.abs() < 0.5).to(x.dtype))
    currents = torch.randn(3, 50, dtype=torch.float64)
    leak = gain = torch.full((3,), 0.5, dtype=torch.float64)
    weights = torch.randn(3, 50, dtype=torch.float64)
    _, fused = _grads(lambda x, lk, gn: neuron_sequence(x, lk, gn, tent), currents, leak, gain, weights)
    _, ref = _grads(lambda x, lk, gn: _stepwise(x, lk, gn, tent, 1.0, "soft"), currents, leak, gain, weights)
    for got, want in zip(fused, ref):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_shared_leak_and_gain_get_the_sum_of_the_steps_gradients():
    layer = SpikingNeurons(4, per_timestep=False).double()
    currents = torch.randn(4, 6, 10, dtype=torch.float64)
    layer(currents).sum().backward()
    fused = (layer.leak.grad.clone(), layer.gain.grad.clone())
    layer.zero_grad()
    _stepwise(currents, layer.leak.expand(4), layer.gain.expand(4), "sigmoid", 1.0, "soft").sum().backward()
    torch.testing.assert_close(fused, (layer.leak.grad, layer.gain.grad), rtol=1e-12, atol=1e-12)


def test_gradients_do_not_depend_on_the_thread_count():
    import numba

    currents = torch.randn(4, 3 * neuron_kernels.BLOCK + 17)
    leak = gain = torch.full((4,), 0.7)
    weights = torch.randn_like(currents)
    results = []
    before = torch.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            torch.set_num_threads(threads)
            results.append(_grads(lambda x, lk, gn: neuron_sequence(x, lk, gn), currents, leak, gain, weights)[1])
            # The kernels ran on torch's count, and left it as it was.
            assert numba.get_num_threads() == threads and torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)
    for a, b in zip(*results):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_fast_float32_exponential_is_accurate_to_a_few_ulps():
    x = -np.concatenate([np.linspace(0, 79.9, 200_001), [0.0, 1e-30, 1e-8]]).astype(np.float32)
    out = np.empty_like(x)
    k_float, k_bits = np.empty(len(x), np.float32), np.empty(len(x), np.int32)
    _exp = njit(lambda x, out, k_float, k_bits: neuron_kernels._exp_nonpositive_f32(x, out, k_float, k_bits))
    _exp(x, out, k_float, k_bits)
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(out - exact) / exact) < 3e-7
    below = np.array([-80.5, -100.0, -1e30], np.float32)
    _exp(below, out[:3], k_float, k_bits)
    assert np.all(out[:3] == 0)  # flushed: no denormals


def test_wrong_parameter_shapes_are_refused():
    with pytest.raises(ValueError, match=r"one value per step, shape \(3,\)"):
        neuron_sequence(torch.zeros(3, 4), torch.zeros(1), torch.zeros(3))
    with pytest.raises(ValueError, match="reset"):
        neuron_sequence(torch.zeros(3, 4), torch.zeros(3), torch.zeros(3), reset="zero")


def test_the_sigmoid_surrogate_far_from_threshold_is_zero_not_denormal():
    # |alpha (h - threshold)| > 80: exp underflows; the kernel gives exactly 0 there.
    h = np.array([[1.0 + 25.0, 1.0 - 25.0, 1.0 + 1.0]], np.float32)  # alpha 4: z = 100, -100, 4
    out = np.empty_like(h)
    one = np.ones(1, np.float32)
    neuron_kernels.neuron_backward(np.ones_like(h), h, h, one, one, np.float32(1), False, 0, 4.0, h, out)
    s = 1 / (1 + np.exp(-4.0))
    np.testing.assert_allclose(out[0], [0.0, 0.0, 4 * s * (1 - s)], rtol=1e-6)
