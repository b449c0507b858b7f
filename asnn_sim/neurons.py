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
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from asnn_sim.names import unknown_name

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


def _sigmoid_derivative(x: torch.Tensor, alpha: float) -> torch.Tensor:
    s = torch.sigmoid(alpha * x)
    return alpha * s * (1.0 - s)


def _arctan_primitive(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return 0.5 + torch.atan(0.5 * math.pi * alpha * x) / math.pi


def _arctan_derivative(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return 0.5 * alpha / (1.0 + (0.5 * math.pi * alpha * x) ** 2)


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
        """Run all timesteps: currents ``(T, B, ...)`` to spikes ``(T, B, ...)``."""
        if currents.shape[0] != self.timesteps:
            raise ValueError(f"expected {self.timesteps} timesteps of input, got {currents.shape[0]}")
        mem = torch.zeros_like(currents[0])
        out = []
        for t in range(self.timesteps):
            s, mem = neuron_step(currents[t], mem, *self.step_params(t), self.surrogate, self.threshold, self.reset)
            out.append(s)
        return torch.stack(out)

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
