"""The simulator's inner loops: Numba kernels over a batch of samples, parallel over samples.

One module per family: :mod:`.events` (frames to event lists and back), :mod:`.scatter`
(convolution, linear and pooling: the receptive-field scatter), :mod:`.neurons` (LIF/ASNN,
current-based, ReLU, leaky integrator, readout), :mod:`.elementwise` (residual adds) and
:mod:`.attention`. Node kinds reach them as ``ctx.kernels.<name>``; this package collects
every module's ``__all__`` (a new kind's kernel module needs no edit here).

Data layout
-----------
Feature maps are stored channels-last: element ``(c, y, x)`` of a ``(C, H, W)`` map has
flat index ``(y * W + x) * C + c``. A spike then adds one contiguous weight vector
(all output channels) per kernel tap, which the compiler vectorises.

A tensor travelling between layers is an *event list* per sample:
``idx[b, :cnt[b]]`` are the flat indices of its non-zero elements and, for analog or
graded tensors, ``val[b, :cnt[b]]`` their values. Binary spike lists carry no values
(their ``val`` is a placeholder no kernel reads): a spike adds the weight itself, an
accumulate (AC).

A *current* (what a neuron integrates) is a dense ``(B, n)`` buffer plus *marks* of the
neurons an input event reached; its consumer (neuron, ReLU, readout or an add of
currents) adds the pending bias, reads it, and leaves buffer and marks zeroed.

Counting happens where the work happens: every kernel that performs synaptic operations
returns how many (input event, in-bounds synapse) pairs it processed, per sample, so a
padded tap is never counted. Conventions (graded events, zero weights) are applied here
and nowhere else.

Performance notes
-----------------
Measurements and the commands that produce them: ``docs/performance.md``.

* Synaptic scatter: a spike adds whole contiguous weight rows (all output channels)
  through slices, which LLVM vectorises (no index arithmetic inside the loop). Which
  outputs a spike reaches along each axis is precomputed per layer (:func:`conv_tables`,
  :func:`window_table`), so there are no per-tap divisions or bounds branches. The
  events of one pixel (its channels, consecutive in a list) share the tap lookup. Rows
  up to 384 float32 (192 float64) are summed in 64-float32 (32-float64) blocks held in
  registers across the whole run of events (an LLVM-IR intrinsic in ``scatter.py``:
  1.16x on ResNet-19's conv calls in float32); the rest of a row takes passes of up to
  four events over the output row.
* Neuron update (:func:`neuron_update`, and :func:`cuba_update` for current-based
  neurons): two passes over 512-neuron chunks, the arithmetic and threshold (vectorised)
  into flags, then the compaction of the spike indices.
* Input frames are scanned plane by plane and the events counting-sorted into
  channels-last order, instead of reading a transposed copy.
* Attention (:func:`attention_products`): a ``(D, H, W)`` map stored channels-last is
  the token-major ``(N, D)`` matrix, so the three event lists are written into dense
  float64 ``Q``, ``K^T`` and ``V`` (rows contiguous where the products read them) and
  every head's products skip zero operands. The kernel works sample after sample
  without the GIL, and :func:`attention_in_threads` splits a batch over Python threads,
  each with its own dense operands (a parallel region would add seconds to the cold
  compile; the threads add none).
* Exactness: no ``fastmath`` and no fused multiply-adds (Numba's default). Every output
  element receives the same floating-point operations in the same order (input events
  in list order) as a plain scalar loop, so replays are reproducible bit for bit and a
  float64 replay stays spike-for-spike identical to PyTorch.
"""

import importlib as _importlib
import pkgutil as _pkgutil


def _collect() -> list[str]:
    """Every public name of every kernel module, so that a new module needs no edit here."""
    names = {}
    for info in _pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = _importlib.import_module(f"{__name__}.{info.name}")
        for name in module.__all__:
            if names.setdefault(name, info.name) != info.name:
                raise ImportError(f"kernel name {name!r} is defined in both {names[name]} and {info.name}")
            globals()[name] = getattr(module, name)
    return sorted(names)


__all__ = _collect()
