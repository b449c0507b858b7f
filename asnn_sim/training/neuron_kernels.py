"""Training's neuron time loop as two Numba kernels: all T steps forward, all T steps back.

Why
---
Run step by step in eager PyTorch, a layer of T-step neurons costs about eight
full-size elementwise operations per step forward and more backward, and autograd's
backward of ``currents[t]`` allocates and zero-fills a whole ``(T, ...)`` tensor per step.
For the Fashion-MNIST LeNet that was over half of a training step (NOTES.md). Here one
pass over memory does a step's whole arithmetic for a block of neurons, and the backward
pass is the recurrence written out by hand.

Layout
------
Every array is ``(T, N)``, C-contiguous: ``N`` neurons (the batch and feature axes
flattened in memory order) at each of ``T`` steps. ``leak`` and ``gain`` are ``(T,)``.
Arrays of one call share a dtype (float32 or float64); each dtype compiles once and is
cached on disk.

The neuron (``asnn_sim.training.neurons.neuron_step``), for each neuron and step ``t``::

    h[t]   = leak[t] * m[t-1] + gain[t] * I[t]      (m[-1] = 0)
    s[t]   = h[t] - threshold > 0
    m[t]   = h[t] - threshold * s[t]                 soft reset
    m[t]   = h[t] * (1 - s[t])                       hard reset (the reset's gradient detached)

Backward, with ``g_s[t] = dL/ds[t]``, the surrogate derivative ``sg[t]`` at
``h[t] - threshold`` and ``g_m = dL/dm[t]`` carried from step ``t + 1``::

    dh[t]       = g_s[t] * sg[t] + g_m * (1 - threshold * sg[t])   soft
    dh[t]       = g_s[t] * sg[t] + g_m * (1 - s[t])                hard
    dL/dI[t]    = gain[t] * dh[t]
    dL/dgain[t] = sum over neurons of dh[t] * I[t]
    dL/dleak[t] = sum over neurons of dh[t] * m[t-1]
    g_m         = leak[t] * dh[t]                                  (for step t - 1)

Exactness
---------
The forward pass performs, per element, exactly the floating-point operations of
``neuron_step`` in the same order, in the arrays' dtype, without ``fastmath`` or fused
multiply-adds: spikes and membranes equal the eager loop's bit for bit (tested), so the
float64 parity of an exported model is untouched. The backward pass equals autograd's up
to rounding (the same terms, summed in a different order); the per-step sums over
neurons are taken per block of :data:`BLOCK` neurons in float64, then added in block
order, so a result does not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Neurons per block: each thread keeps a block's membranes in registers/L1 across all T.
BLOCK = 1024


@njit(parallel=True, cache=True, nogil=True)
def neuron_forward(currents, leak, gain, threshold, hard, spikes, pre_reset):
    """All T steps of a layer: fill ``spikes`` and ``pre_reset`` (``h``), both ``(T, N)``.

    ``pre_reset`` of shape ``(T, 0)`` skips storing ``h`` (no backward pass will need it).
    """
    steps, n = currents.shape
    keep = pre_reset.shape[1] == n
    n_blocks = (n + BLOCK - 1) // BLOCK
    zero = currents.dtype.type(0)
    one = currents.dtype.type(1)
    for b in prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        mem = np.zeros(m, currents.dtype)
        h_block = np.empty(m, currents.dtype)
        for t in range(steps):
            lk = leak[t]
            gn = gain[t]
            current = currents[t, lo : lo + m]
            h = pre_reset[t, lo : lo + m] if keep else h_block
            s = spikes[t, lo : lo + m]
            for i in range(m):
                h[i] = lk * mem[i] + gn * current[i]
                s[i] = one if h[i] - threshold > zero else zero
            # Branch-free loops (one per reset) so that each vectorises.
            if hard:
                for i in range(m):
                    mem[i] = h[i] * (one - s[i])
            else:
                for i in range(m):
                    mem[i] = h[i] - s[i] * threshold
    return spikes, pre_reset


#: Surrogate derivatives the backward kernel computes itself, by the surrogate's name
#: (their formulas: :data:`asnn_sim.training.neurons.SURROGATES`). Any other surrogate's derivative
#: is computed by torch and passed in (:data:`GIVEN`).
SURROGATE_CODES = {"sigmoid": 0, "arctan": 1}
GIVEN = -1

# Cody-Waite split of ln 2 and the degree-6 polynomial for e^r on [-ln2/2, ln2/2] of
# Cephes' expf (Moshier): about 1e-7 relative error in float32.
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_EXP_POLY = (
    np.float32(1.9875691500e-4), np.float32(1.3981999507e-3), np.float32(8.3334519073e-3),
    np.float32(4.1665795894e-2), np.float32(1.6666665459e-1), np.float32(5.0000001201e-1),
)
#: exp(x) for x below this is taken as 0 (a surrogate derivative under 1e-34): it keeps
#: every intermediate a normal float32 (denormals cost a hundred cycles each).
_EXP_FLOOR = np.float32(-80.0)


@njit(inline="always")
def _exp_nonpositive_f32(x, out, k_float, k_bits):
    """``out[i] = exp(x[i])`` for ``x <= 0`` in float32, in three vectorisable loops (``out`` must not be ``x``).

    ``2^k`` is built from its bit pattern (``(k + 127) << 23``), which a scalar
    ``math.exp`` call cannot be vectorised into.
    """
    m = x.shape[0]
    c0, c1, c2, c3, c4, c5 = _EXP_POLY
    one = np.float32(1)
    for i in range(m):
        a = x[i] if x[i] > _EXP_FLOOR else _EXP_FLOOR
        k = np.floor(a * _LOG2E + np.float32(0.5))
        r = a - k * _LN2_HI - k * _LN2_LO
        p = ((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5
        out[i] = p * r * r + r + one
        k_float[i] = k
    for i in range(m):
        k_bits[i] = (np.int32(k_float[i]) + np.int32(127)) << 23
    scale = k_bits[:m].view(np.float32)
    for i in range(m):
        out[i] = out[i] * scale[i] if x[i] > _EXP_FLOOR else np.float32(0)


@njit(inline="always")
def _surrogate_grad(code, alpha, threshold, h, sg, work, k_float, k_bits, fast_exp):
    """The surrogate derivative at ``h - threshold`` into ``sg`` (codes: :data:`SURROGATE_CODES`).

    ``work``: scratch of ``h``'s length. ``fast_exp``: float32 arrays, whose
    exponentials take the vectorised path.
    """
    m = h.shape[0]
    one = h.dtype.type(1)
    if code == 0:
        # alpha * s * (1 - s) with s = sigmoid(alpha * x) equals alpha * e / (1 + e)^2
        # with e = exp(-|alpha * x|), which never overflows.
        for i in range(m):
            z = alpha * (h[i] - threshold)
            work[i] = -z if z > 0 else z
        if fast_exp:
            _exp_nonpositive_f32(work, sg, k_float, k_bits)
        else:
            for i in range(m):
                sg[i] = np.exp(work[i])
        for i in range(m):
            e = sg[i]
            sg[i] = alpha * e / ((one + e) * (one + e))
    else:  # arctan: 0.5 * alpha / (1 + (pi/2 * alpha * x)^2)
        scale = h.dtype.type(0.5 * np.pi) * alpha
        half_alpha = h.dtype.type(0.5) * alpha
        for i in range(m):
            y = scale * (h[i] - threshold)
            sg[i] = half_alpha / (one + y * y)


# Reassociation (and only that: no fused multiply-adds, no approximations) lets LLVM
# vectorise the sums over neurons; each block's sum is then fixed by the block's length
# and the machine's vector width, never by the number of threads.
@njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc"})
def neuron_backward(grad_spikes, pre_reset, currents, leak, gain, threshold, hard, code, alpha, given_grad,
                    grad_currents):
    """Reverse the time loop: fill ``grad_currents`` and return ``(grad_leak, grad_gain)``, each ``(T,)`` float64.

    ``code`` names the surrogate (:data:`SURROGATE_CODES`, sharpness ``alpha``), or is
    :data:`GIVEN`: its derivative at every ``pre_reset - threshold`` is then ``given_grad``
    (``(T, N)``; otherwise unread).
    """
    steps, n = currents.shape
    n_blocks = (n + BLOCK - 1) // BLOCK
    zero = currents.dtype.type(0)
    one = currents.dtype.type(1)
    alpha = currents.dtype.type(alpha)
    fast_exp = currents.itemsize == 4
    leak_parts = np.zeros((n_blocks, steps))
    gain_parts = np.zeros((n_blocks, steps))
    for b in prange(n_blocks):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        carried = np.zeros(m, currents.dtype)  # dL/dm[t], from step t + 1
        dh = np.empty(m, currents.dtype)
        sg_block = np.empty(m, currents.dtype)
        work = np.empty(m, currents.dtype)
        k_float = np.empty(m, np.float32)
        k_bits = np.empty(m, np.int32)
        for t in range(steps - 1, -1, -1):
            lk = leak[t]
            gn = gain[t]
            g_s = grad_spikes[t, lo : lo + m]
            h = pre_reset[t, lo : lo + m]
            if code == GIVEN:
                sg = given_grad[t, lo : lo + m]
            else:
                _surrogate_grad(code, alpha, threshold, h, sg_block, work, k_float, k_bits, fast_exp)
                sg = sg_block
            # Branch-free loops (one per reset) so that each vectorises.
            if hard:
                for i in range(m):
                    keep = one if h[i] - threshold <= zero else zero
                    dh[i] = g_s[i] * sg[i] + carried[i] * keep
            else:
                for i in range(m):
                    dh[i] = g_s[i] * sg[i] + carried[i] * (one - threshold * sg[i])
            current = currents[t, lo : lo + m]
            out = grad_currents[t, lo : lo + m]
            sum_gain = 0.0
            for i in range(m):
                out[i] = gn * dh[i]
                sum_gain += dh[i] * current[i]
                carried[i] = lk * dh[i]
            gain_parts[b, t] = sum_gain
            if t > 0:
                previous = pre_reset[t - 1, lo : lo + m]
                sum_leak = 0.0
                if hard:
                    for i in range(m):
                        hp = previous[i]
                        sum_leak += dh[i] * (zero if hp - threshold > zero else hp)
                else:
                    for i in range(m):
                        hp = previous[i]
                        sum_leak += dh[i] * (hp - threshold if hp - threshold > zero else hp)
                leak_parts[b, t] = sum_leak
    grad_leak = np.zeros(steps)
    grad_gain = np.zeros(steps)
    for b in range(n_blocks):  # block order: independent of the thread count
        for t in range(steps):
            grad_leak[t] += leak_parts[b, t]
            grad_gain[t] += gain_parts[b, t]
    return grad_leak, grad_gain
