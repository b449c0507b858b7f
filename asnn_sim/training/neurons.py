"""Spiking neurons for training: the spike function, surrogate gradients, LIF and ASNN layers.

The neuron of the reference code, one timestep ``t``::

    mem   = leak[t] * mem + gain[t] * current
    spike = mem - 1 > 0          # strict threshold at 1
    mem   = mem - spike          # soft reset (the default)
    mem   = mem * (1 - spike)    # hard reset to 0 (reset="hard": NIR's and most chips' neuron)

ASNN learns ``leak[t]`` and ``gain[t]`` per layer *and per timestep* (both start at 0.5)
and a per-timestep scale on the readout logits. Plain LIF mode shares one leak and one
gain across time and has no readout scale. (The reference code uses per-timestep leak
and gain even with ASNN off; here ``asnn=False`` really is the plain LIF baseline.)

The forward pass of the spike is a Heaviside step; its backward pass is a surrogate
derivative. Each surrogate is a smooth ``primitive`` whose derivative stands in for the
step's, so the tests can check the backward formula with ``torch.autograd.gradcheck``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from asnn_sim.util import threads
from asnn_sim.util.names import unknown_name

THRESHOLD = 1.0
INIT_LEAK = 0.5
INIT_GAIN = 0.5
#: After a spike the membrane loses the threshold (``soft``, the reference's) or becomes 0
#: (``hard``, the neuron NIR 1.0 and most chips implement).
RESETS: tuple[str, ...] = ("soft", "hard")


@dataclass(frozen=True)
class Surrogate:
    """A smooth stand-in for the Heaviside step, used only for gradients.

    Attributes
    ----------
    name : str
    alpha : float
        Sharpness; larger is closer to the step.
    primitive : callable
        ``primitive(x, alpha)``, a smooth function rising from 0 to 1.
    derivative : callable
        ``derivative(x, alpha)``, the derivative of ``primitive`` with respect to ``x``.
    """

    name: str
    alpha: float
    primitive: Callable[[torch.Tensor, float], torch.Tensor]
    derivative: Callable[[torch.Tensor, float], torch.Tensor]


# The derivatives work in place on their own temporaries: on a CPU, a full-size
# elementwise pass costs little next to allocating (and page-faulting) a new tensor.
def _sigmoid_derivative(x: torch.Tensor, alpha: float) -> torch.Tensor:
    s = torch.sigmoid(alpha * x)
    return s.mul_(1.0 - s).mul_(alpha)


def _arctan_primitive(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return 0.5 + torch.atan(0.5 * math.pi * alpha * x) / math.pi


def _arctan_derivative(x: torch.Tensor, alpha: float) -> torch.Tensor:
    y = (0.5 * math.pi * alpha) * x
    return y.square_().add_(1.0).reciprocal_().mul_(0.5 * alpha)


SURROGATES: dict[str, Surrogate] = {
    # The reference code's choice: derivative of sigmoid(4x).
    "sigmoid": Surrogate("sigmoid", 4.0, lambda x, a: torch.sigmoid(a * x), _sigmoid_derivative),
    # Arctan as in Fang et al. (ICCV 2021): heavier tails, so far-from-threshold neurons still learn.
    "arctan": Surrogate("arctan", 2.0, _arctan_primitive, _arctan_derivative),
}


def get_surrogate(name: str) -> Surrogate:
    """Look up a surrogate by name; a ``ValueError`` lists the valid ones."""
    try:
        return SURROGATES[name]
    except KeyError:
        raise ValueError(unknown_name("surrogate", name, SURROGATES)) from None


class _SpikeFunction(torch.autograd.Function):
    """Heaviside forward, surrogate backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        s = ctx.surrogate
        return grad_output * s.derivative(x, s.alpha), None


def spike(x: torch.Tensor, surrogate: str | Surrogate = "sigmoid") -> torch.Tensor:
    """Emit 1 where ``x > 0`` (strictly), else 0; gradients flow through the surrogate.

    Parameters
    ----------
    x : torch.Tensor
        Membrane potential minus threshold.
    surrogate : str or Surrogate
        Name in :data:`SURROGATES` or a :class:`Surrogate`.

    Examples
    --------
    >>> x = torch.tensor([-0.5, 0.0, 0.5], requires_grad=True)
    >>> spike(x)
    tensor([0., 0., 1.], grad_fn=<_SpikeFunctionBackward>)
    """
    if isinstance(surrogate, str):
        surrogate = get_surrogate(surrogate)
    return _SpikeFunction.apply(x, surrogate)


def check_reset(reset: str) -> str:
    """``reset`` if it is one of :data:`RESETS`; else a ``ValueError`` listing them."""
    if reset not in RESETS:
        raise ValueError(unknown_name("reset", reset, RESETS))
    return reset


def neuron_step(
    current: torch.Tensor,
    mem: torch.Tensor,
    leak: torch.Tensor,
    gain: torch.Tensor,
    surrogate: str | Surrogate = "sigmoid",
    threshold: float = THRESHOLD,
    reset: str = "soft",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advance a layer of neurons by one timestep.

    Parameters
    ----------
    current : torch.Tensor
        Synaptic input current (weights times input, plus bias).
    mem : torch.Tensor
        Membrane potential after the previous step's reset (zeros at the start).
    leak, gain : torch.Tensor
        Scalars (0-d tensors) for this layer and timestep.
    surrogate : str or Surrogate
    threshold : float
        Spike when ``mem - threshold > 0``; the soft reset subtracts it (default 1).
    reset : {"soft", "hard"}
        After a spike, subtract the threshold (``soft``, the reference's) or set the
        membrane to 0 (``hard``).

    Returns
    -------
    spikes, mem : torch.Tensor
        Output spikes (0/1) and the membrane potential after the reset.

    Examples
    --------
    >>> one = torch.tensor(1.0)
    >>> neuron_step(torch.tensor(3.0), torch.tensor(0.0), one, one)
    (tensor(1.), tensor(2.))
    >>> neuron_step(torch.tensor(3.0), torch.tensor(0.0), one, one, reset="hard")
    (tensor(1.), tensor(0.))
    """
    mem = leak * mem + gain * current
    out = spike(mem - threshold, surrogate)
    if reset == "soft":
        # As the reference code (and SpikingJelly's default, detach_reset=False): the
        # subtracted spike carries its surrogate gradient. Kept so soft-reset training is
        # unchanged.
        return out, mem - out * threshold
    if reset == "hard":
        # The reset is detached, as snnTorch always does (and SpikingJelly with
        # detach_reset=True): d(mem_after)/d(mem) = 1 - spike, with no term through the
        # spike. Not detached, mem * (1 - spike) would add -mem * surrogate'(mem - threshold):
        # negative, largest exactly where the surrogate is, and scaled by the membrane
        # itself, so it fights the spike's own gradient; Zenke & Vogels (Neural Computation
        # 2021) found that dropping the reset's gradient does not hurt learning and often
        # helps. Forward values are unaffected: mem * 0 = 0 and mem * 1 = mem exactly, so
        # the simulator's "v = v_reset (0) where it spiked" replays it bit for bit.
        return out, mem * (1.0 - out.detach())
    raise ValueError(unknown_name("reset", reset, RESETS))


def neuron_sequence(
    currents: torch.Tensor,
    leak: torch.Tensor,
    gain: torch.Tensor,
    surrogate: str | Surrogate = "sigmoid",
    threshold: float = THRESHOLD,
    reset: str = "soft",
) -> torch.Tensor:
    """Run a layer of neurons through all T timesteps as one fused, differentiable operation.

    The same spikes, bit for bit, as calling :func:`neuron_step` for ``t = 0 .. T-1``
    from a zero membrane, and the same gradients up to rounding, but with one pass over
    memory per direction instead of a dozen elementwise operations per step. On the CPU
    (float32 and float64) the loops are the Numba kernels of
    :mod:`asnn_sim.training.neuron_kernels`; elsewhere (CUDA, half precision) the same recurrence
    runs as torch operations.

    Parameters
    ----------
    currents : torch.Tensor
        Input currents ``(T, ...)``.
    leak, gain : torch.Tensor
        ``(T,)``: the value used at each step (expand a shared value to T).
    surrogate : str or Surrogate
    threshold : float
    reset : {"soft", "hard"}
        As in :func:`neuron_step` (the hard reset's gradient is detached there too).

    Returns
    -------
    torch.Tensor
        Spikes (0/1), the shape and dtype of ``currents``.

    Examples
    --------
    >>> half = torch.full((3,), 0.5)
    >>> neuron_sequence(torch.tensor([[3.0], [3.0], [0.0]]), half, half)
    tensor([[1.],
            [1.],
            [0.]])
    """
    if isinstance(surrogate, str):
        surrogate = get_surrogate(surrogate)
    check_reset(reset)
    steps = currents.shape[0]
    if leak.shape != (steps,) or gain.shape != (steps,):
        raise ValueError(
            f"leak and gain must have one value per step, shape ({steps},); got {tuple(leak.shape)} and {tuple(gain.shape)}"
        )
    return _NeuronSequence.apply(currents, leak, gain, surrogate, float(threshold), reset == "hard")


def _uses_kernels(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


@contextmanager
def _kernels() -> Iterator:
    """:mod:`asnn_sim.training.neuron_kernels`, run on torch's thread count, leaving torch's count as it was.

    Both runtimes share one OpenMP runtime, and Numba sets its process-wide thread count
    when its pool starts (asnn_sim.util.threads): without both guards a Numba kernel would
    change the count torch computes with for the rest of the run (and with it the order
    of torch's sums: a DDP rank meant to use 1 thread would use every core).
    """
    import numba

    from asnn_sim.training import neuron_kernels

    with threads.torch_threads_kept():  # taken before Numba's pool may start (and reset it)
        wanted = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
        if numba.get_num_threads() != wanted:
            numba.set_num_threads(wanted)
        yield neuron_kernels


class _NeuronSequence(torch.autograd.Function):
    """Forward and backward of the neuron's whole time loop (equations: :mod:`asnn_sim.training.neuron_kernels`)."""

    @staticmethod
    def forward(ctx, currents, leak, gain, surrogate: Surrogate, threshold: float, hard: bool):
        # Work in memory order, whatever the layout (channels-last feature maps stay
        # channels-last: the pool and BatchNorm after the neurons are much faster so).
        currents = _dense(currents.detach())
        order = _memory_order(currents)
        flat = _flat(currents, order)
        leak_v = leak.detach().to(flat.dtype).contiguous()
        gain_v = gain.detach().to(flat.dtype).contiguous()
        spikes_out = torch.empty_like(currents)
        # The membranes before the reset are all the backward pass needs; none is coming
        # when no input asks for a gradient (evaluation, replays).
        needs_grad = any(ctx.needs_input_grad[:3])
        spikes = _flat(spikes_out, order)
        pre_reset = torch.empty_like(flat) if needs_grad else flat.new_empty((flat.shape[0], 0))
        if _uses_kernels(flat):
            with _kernels() as kernels:
                kernels.neuron_forward(
                    flat.numpy(), leak_v.numpy(), gain_v.numpy(), flat.numpy().dtype.type(threshold), hard,
                    spikes.numpy(), pre_reset.numpy(),
                )
        else:
            pre_reset = torch.empty_like(flat)
            _torch_forward(flat, leak_v, gain_v, threshold, hard, spikes, pre_reset)
        ctx.save_for_backward(flat, pre_reset, leak_v, gain_v)
        ctx.surrogate, ctx.threshold, ctx.hard = surrogate, threshold, hard
        ctx.order, ctx.like, ctx.param_dtype = order, torch.empty_like(currents, device="meta"), leak.dtype
        return spikes_out

    @staticmethod
    def backward(ctx, grad_spikes):
        flat, pre_reset, leak, gain = ctx.saved_tensors
        s, threshold, hard = ctx.surrogate, ctx.threshold, ctx.hard
        order = ctx.order
        grad_spikes = _flat(grad_spikes.to(flat.dtype).permute(order).contiguous(), None).view(flat.shape)
        grad_out = torch.empty_like(ctx.like, device=flat.device)
        grad_currents = _flat(grad_out, order)
        if _uses_kernels(flat):
            with _kernels() as kernels:
                code = kernels.SURROGATE_CODES.get(s.name, kernels.GIVEN)
                if SURROGATES.get(s.name) is not s:  # a surrogate of the user's own: torch computes it
                    code = kernels.GIVEN
                given = s.derivative(pre_reset - threshold, s.alpha) if code == kernels.GIVEN else pre_reset
                grad_leak, grad_gain = kernels.neuron_backward(
                    grad_spikes.numpy(), pre_reset.numpy(), flat.numpy(), leak.numpy(), gain.numpy(),
                    flat.numpy().dtype.type(threshold), hard, code, float(s.alpha), given.numpy(),
                    grad_currents.numpy(),
                )
            grad_leak, grad_gain = torch.from_numpy(grad_leak), torch.from_numpy(grad_gain)
        else:
            surrogate_grad = s.derivative(pre_reset - threshold, s.alpha)
            grad_leak, grad_gain = _torch_backward(
                grad_spikes, surrogate_grad, pre_reset, flat, leak, gain, threshold, hard, grad_currents
            )
        dtype = ctx.param_dtype
        return grad_out, grad_leak.to(dtype), grad_gain.to(dtype), None, None, None


def _dense(x: torch.Tensor) -> torch.Tensor:
    """``x`` itself if its elements fill its memory in some axis order with time outermost, else a contiguous copy."""
    order = _memory_order(x)
    if order[0] == 0 and x.permute(order).is_contiguous():
        return x
    return x.contiguous()


def _memory_order(x: torch.Tensor) -> tuple[int, ...]:
    """Axes from the largest stride to the smallest (ties keep axis order): the order of ``x`` in memory."""
    return tuple(sorted(range(x.dim()), key=lambda d: (-x.stride(d), d)))


def _flat(x: torch.Tensor, order: tuple[int, ...] | None) -> torch.Tensor:
    """A ``(T, N)`` view of a dense ``x`` in memory order (``order`` from :func:`_memory_order`; None: already permuted)."""
    y = x if order is None else x.permute(order)
    return y.view(y.shape[0], -1)


def _torch_forward(flat, leak, gain, threshold, hard, spikes, pre_reset) -> None:
    """The kernels' forward as torch operations (CUDA, half precision); the same arithmetic as :func:`neuron_step`."""
    mem = torch.zeros_like(flat[0])
    for t in range(flat.shape[0]):
        h = leak[t] * mem + gain[t] * flat[t]
        pre_reset[t] = h
        s = (h - threshold > 0).to(h.dtype)
        spikes[t] = s
        mem = h * (1.0 - s) if hard else h - s * threshold


def _torch_backward(grad_spikes, surrogate_grad, pre_reset, flat, leak, gain, threshold, hard, grad_currents):
    """The kernels' backward as torch operations; returns ``(grad_leak, grad_gain)``."""
    steps = flat.shape[0]
    grad_leak = torch.zeros(steps, dtype=torch.float64, device=flat.device)
    grad_gain = torch.zeros(steps, dtype=torch.float64, device=flat.device)
    carried = torch.zeros_like(flat[0])
    for t in range(steps - 1, -1, -1):
        sg = surrogate_grad[t]
        keep = (pre_reset[t] - threshold <= 0).to(sg.dtype) if hard else 1.0 - threshold * sg
        dh = grad_spikes[t] * sg + carried * keep
        grad_currents[t] = gain[t] * dh
        grad_gain[t] = (dh * flat[t]).sum(dtype=torch.float64)
        if t > 0:
            hp = pre_reset[t - 1]
            fired = (hp - threshold > 0).to(hp.dtype)
            m_prev = hp * (1.0 - fired) if hard else hp - fired * threshold
            grad_leak[t] = (dh * m_prev).sum(dtype=torch.float64)
        carried = leak[t] * dh
    return grad_leak, grad_gain


class SpikingNeurons(nn.Module):
    """A layer of LIF neurons, adaptive (per-timestep leak and gain) or plain.

    Parameters
    ----------
    timesteps : int
        Number of steps T the layer will run for.
    per_timestep : bool
        True (ASNN): ``leak`` and ``gain`` have T entries, one per step. False (LIF): one
        entry each, shared by every step.
    surrogate : str
        Name in :data:`SURROGATES`.
    threshold : float
        Firing threshold, also what the soft reset subtracts (default 1; Spikformer's
        attention neuron uses 0.5).
    reset : {"soft", "hard"}
        After a spike, subtract the threshold (``soft``, default) or set the membrane to
        0 (``hard``; what ``asnn export --format nir`` needs). See :func:`neuron_step`.
    """

    def __init__(
        self,
        timesteps: int,
        per_timestep: bool = True,
        surrogate: str = "sigmoid",
        threshold: float = THRESHOLD,
        reset: str = "soft",
    ) -> None:
        super().__init__()
        if not threshold > 0:
            raise ValueError(f"threshold must be positive, got {threshold}")
        self.threshold = float(threshold)
        self.reset = check_reset(reset)
        n = timesteps if per_timestep else 1
        self.timesteps = timesteps
        self.per_timestep = per_timestep
        self.surrogate = get_surrogate(surrogate)
        self.leak = nn.Parameter(torch.full((n,), INIT_LEAK))
        self.gain = nn.Parameter(torch.full((n,), INIT_GAIN))

    def step_params(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Leak and gain used at step ``t``."""
        i = t if self.per_timestep else 0
        return self.leak[i], self.gain[i]

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        """Run all timesteps: currents ``(T, B, ...)`` to spikes ``(T, B, ...)``.

        The whole time loop runs as one fused operation (:func:`neuron_sequence`): the
        same spikes as :func:`neuron_step` called T times, bit for bit, at a fraction of
        the cost.
        """
        if currents.shape[0] != self.timesteps:
            raise ValueError(f"expected {self.timesteps} timesteps of input, got {currents.shape[0]}")
        leak, gain = self.leak, self.gain
        if not self.per_timestep:  # one shared value; expand's backward sums the steps' gradients
            leak, gain = leak.expand(self.timesteps), gain.expand(self.timesteps)
        return neuron_sequence(currents, leak, gain, self.surrogate, self.threshold, self.reset)

    def extra_repr(self) -> str:
        mode = "asnn (per-timestep)" if self.per_timestep else "lif (shared)"
        threshold = "" if self.threshold == THRESHOLD else f", threshold={self.threshold}"
        reset = "" if self.reset == "soft" else f", reset={self.reset}"
        return f"timesteps={self.timesteps}, {mode}, surrogate={self.surrogate.name}{threshold}{reset}"


class Readout(nn.Module):
    """Per-timestep logits to one prediction: optional learnable ``scale[t]``, then the mean over T.

    Parameters
    ----------
    timesteps : int
    learn_scale : bool
        True for ASNN (``scale`` starts at 1); False leaves the logits unscaled.
    """

    def __init__(self, timesteps: int, learn_scale: bool = True) -> None:
        super().__init__()
        self.timesteps = timesteps
        self.scale = nn.Parameter(torch.ones(timesteps)) if learn_scale else None

    def scaled(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-step logits ``(T, B, K)`` after the per-step scale."""
        if self.scale is None:
            return logits
        return logits * self.scale.view(-1, *([1] * (logits.dim() - 1)))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-step logits ``(T, B, K)`` to the prediction logits ``(B, K)``."""
        return self.scaled(logits).mean(0)
