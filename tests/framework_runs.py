"""Stepping a framework's own model (snnTorch, SpikingJelly) through frames, for the NIR
parity checks in tests/test_nir.py and benchmarks/nir_parity.py."""

from __future__ import annotations

import numpy as np
import torch


def louder(net, gain: float = 3.0):
    """Scale the synaptic weights of ``net`` up so that small random nets spike plenty."""
    with torch.no_grad():
        for m in net:
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                m.weight.mul_(gain)
    return net


def run_sequential(net, frames: np.ndarray, spiking_types, reset) -> tuple[dict, dict]:
    """Step a float64 copy of the sequential ``net`` through ``frames`` (T, B, ...).

    Returns the spikes ``(T, B, ...)`` uint8 of every module of ``spiking_types`` and the
    inputs of every module (a list over steps), both keyed by the module's index as a
    string (the node names the frameworks' exporters give). ``reset(net)`` clears state.
    """
    net = net.double()
    reset(net)
    spikes: dict[str, list] = {}
    inputs: dict[str, list] = {}
    with torch.no_grad():
        for t in range(frames.shape[0]):
            x = torch.from_numpy(frames[t])
            for i, module in enumerate(net):
                inputs.setdefault(str(i), []).append(x)
                x = module(x)
                if isinstance(x, tuple):
                    x = x[0]
                if isinstance(module, spiking_types):
                    x = x.to(torch.float64)  # snnTorch returns float32 spikes from float64 membranes: 0/1, exact
                    spikes.setdefault(str(i), []).append(x.numpy().astype(np.uint8))
    return {k: np.stack(v) for k, v in spikes.items()}, inputs
