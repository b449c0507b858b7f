"""Realistic spike activity for an untrained model: BatchNorm calibrated on a batch.

Untrained spiking networks are mostly silent or saturated, so their event traffic says
little about a trained one's. For benchmarks and tests at model scale (a ResNet-19 on
CIFAR-shaped inputs) without a training run, :func:`calibrate_batchnorm` makes every
BatchNorm output unit-variance with a common mean ``bias`` on a calibration batch: each
neuron then integrates a current of roughly ``N(bias, 1)``, and :func:`calibrate_rate`
finds the ``bias`` that gives a target mean firing rate. Weights stay random.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, frames: torch.Tensor, bias: float) -> None:
    """Set every BatchNorm to normalise ``frames``' activity exactly, then scale 1, shift ``bias``.

    One pass in training mode with cumulative statistics (``momentum=None``) stores each
    layer's batch mean and variance as its running statistics; the model is left in eval
    mode.

    Parameters
    ----------
    model : torch.nn.Module
        A spiking model (frames ``(T, B, C, H, W)``) or an ANN twin (images).
    frames : torch.Tensor
        A calibration batch, in the model's input format.
    bias : float
        The BatchNorm shift: neurons see currents of about ``N(bias, 1)``.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None
        bn.weight.fill_(1.0)
        bn.bias.fill_(bias)
    model.train()
    model(frames)
    model.eval()
    for bn in norms:
        bn.momentum = 0.1


@torch.no_grad()
def firing_rates(model: nn.Module, frames: torch.Tensor) -> dict[str, float]:
    """Mean spikes per neuron per step of every recorded neuron layer of a spiking model."""
    return {name: float(s.float().mean()) for name, s in model.forward_steps(frames, record=True).spikes.items()}


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the layer of interest has run."""


@torch.no_grad()
def calibrate_rate(model: nn.Module, frames: torch.Tensor, target: float = 0.15, iterations: int = 10) -> dict[str, float]:
    """Give every neuron layer of a spiking model a mean firing rate near ``target``.

    After :func:`calibrate_batchnorm` (shift 0: unit-variance currents), each neuron
    layer in turn (in the order the model registers them, which is execution order)
    gets its ``gain`` multiplied by the factor that a bisection on ``log(factor)`` finds
    for its mean rate on ``frames``; a forward pass stops at that layer. Leak, weights
    and thresholds are untouched.

    Returns
    -------
    dict
        Module path -> the layer's mean firing rate after calibration.
    """
    from asnn_sim.training.neurons import SpikingNeurons

    calibrate_batchnorm(model, frames, 0.0)
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, SpikingNeurons)]
    rates: dict[str, float] = {}
    for name, layer in layers:
        seen: list[float] = []

        def hook(module, args, output):
            seen.append(float(output.float().mean()))
            raise _Stop

        handle = layer.register_forward_hook(hook)
        base = layer.gain.detach().clone()
        low, high = -4.0, 4.0  # log of the gain factor
        try:
            for _ in range(iterations):
                mid = 0.5 * (low + high)
                layer.gain.copy_(base * float(np.exp(mid)))
                seen.clear()
                try:
                    model(frames)
                except _Stop:
                    pass
                if seen[-1] < target:
                    low = mid
                else:
                    high = mid
            layer.gain.copy_(base * float(np.exp(0.5 * (low + high))))
        finally:
            handle.remove()
    captured: dict[str, float] = {}
    handles = [m.register_forward_hook(lambda mod, a, out, n=n: captured.__setitem__(n, float(out.float().mean())))
               for n, m in layers]
    try:
        model(frames)
    finally:
        for h in handles:
            h.remove()
    rates.update(captured)
    return rates
