"""The peers' side of ``peers.py``: the workload, and the digits LeNet in each peer's stock classes.

The workload is the digits LeNet trained with plain LIF neurons (``asnn=False``: one leak
and one input gain per layer, shared by every step) and direct coding (the analog image at
every step), T=4; trained on first use and cached under ``benchmarks/.cache/``.

Each peer gets the same network written the way its users write it: PyTorch layers with
the graph's folded weights, and the peer's own LIF class:

* snnTorch ``snn.Leaky`` (stepped one timestep per call, the layout NeuroBench's
  ``SNNTorchModel`` drives);
* SpikingJelly ``layer.Conv2d`` / ``layer.Linear`` / ... and ``neuron.LIFNode`` in
  multi-step mode (``(T, B, ...)``);
* Sinabs ``nn.Conv2d`` / ``nn.Linear`` on ``(B*T, ...)`` and ``sinabs.layers.LIFSqueeze``;
* plain torch: the same layers and a few lines of torch for the neuron (no framework).

The trained neuron is ``v = leak * v + gain * I``, fire when ``v > 1``, ``v -= 1`` on a
spike. None of the stock classes has an input gain next to its decay (snnTorch: ``mem =
beta * mem + I``; SpikingJelly with ``decay_input=False``: ``v - v / tau + I``; Sinabs
with ``norm_input=False``: ``alpha * v + I``), so ``gain`` is folded into the weights and
bias of the conv/linear layer feeding the neuron (``W' = gain * W``, ``b' = gain * b``):
the same network in exact arithmetic, but not bit for bit (see ``peers.py``'s
cross-check). Our simulator runs the exported graph itself, unfolded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

LIF_CONFIG = {"model": "lenet", "dataset": "digits", "encoding": "direct", "timesteps": 4, "epochs": 30, "seed": 0, "asnn": False}
LIF_RUN = "digits_lenet_direct_lif_T4"
LENET_KINDS = ("input", "conv2d", "neuron", "maxpool2d", "conv2d", "neuron", "maxpool2d", "conv2d", "neuron",
               "maxpool2d", "flatten", "linear", "neuron", "linear", "readout")
SYNAPSES = ("conv1", "conv2", "conv3", "fc1", "fc2")
NEURONS = ("lif1", "lif2", "lif3", "lif4")  # fed by conv1, conv2, conv3, fc1


# ---------------------------------------------------------------- the workload


def trained_lif_run(cache: Path, log) -> Path:
    """The cached run of :data:`LIF_CONFIG`, trained now if missing or trained with other settings."""
    from asnn_sim.training.train import TrainConfig, train

    run = cache / LIF_RUN
    if (run / "model.pt").is_file() and (run / "summary.json").is_file() and (run / "config.json").is_file():
        stored = json.loads((run / "config.json").read_text())["config"]
        if all(stored.get(k) == v for k, v in LIF_CONFIG.items()):
            return run
    cache.mkdir(parents=True, exist_ok=True)
    log(f"training the digits LeNet ({LIF_CONFIG}) into {run} (done once, then cached) ...")
    train(TrainConfig(**LIF_CONFIG), run, progress=False, force=True)
    return run


def lif_lenet(cache: Path, limit: int | None = None, log=print):
    """The workload: the LIF digits LeNet's graph, its direct-coded test frames (float64) and images."""
    from workloads import digits_run_workload

    run = trained_lif_run(cache, log)
    return digits_run_workload(run, f"digits LeNet (LIF, direct coding, T={LIF_CONFIG['timesteps']})", "lenet-lif", limit)


# ---------------------------------------------------------------- the graph, read for the stock classes


@dataclass
class StockNet:
    """What the stock models are built from (all float64 numpy).

    ``weights[name] = (W, b)`` with the gain of the neuron the layer feeds folded in
    (``fc2``, feeding the readout, unchanged); ``leak[lif]``, ``gain[lif]`` the graph's
    constant values; ``conv[name] = (stride, padding)``; ``pool = (kernel, stride)``.
    """

    timesteps: int
    weights: dict
    leak: dict
    gain: dict
    conv: dict
    pool: tuple


def stock_net(graph) -> StockNet:
    """Read the LIF LeNet graph; refuse anything the stock classes cannot express."""
    kinds = tuple(n.kind for n in graph.nodes)
    if kinds != LENET_KINDS:
        raise ValueError(f"peers.py builds the digits LeNet graph only; got node kinds {kinds}")
    T = graph.timesteps
    syn = [n for n in graph.nodes if n.kind in ("conv2d", "linear")]
    lifs = [n for n in graph.nodes if n.kind == "neuron"]
    leak, gain = {}, {}
    for n in lifs:
        lk, gn = np.asarray(n.leak, np.float64), np.asarray(n.gain, np.float64)
        if len(set(lk.tolist())) != 1 or len(set(gn.tolist())) != 1:
            raise ValueError(f"{n.name}: leak/gain change over time ({lk}, {gn}): an ASNN graph, not plain LIF")
        if not 0.0 < lk[0] < 1.0 or not gn[0] > 0.0:
            raise ValueError(f"{n.name}: leak {lk[0]} outside (0, 1) or gain {gn[0]} <= 0: no stock LIF expresses it")
        thr = np.unique(np.asarray(n.threshold, np.float64))
        if thr.tolist() != [1.0] or n.reset != "soft" or n.compare != "gt" or n.bias is not None:
            raise ValueError(f"{n.name}: expected threshold 1, soft reset, compare 'gt', no bias; got {thr}, {n.reset}, {n.compare}")
        leak[n.name], gain[n.name] = float(lk[0]), float(gn[0])
    if graph.nodes[-1].scale is not None:
        raise ValueError("the readout has a per-step scale (an ASNN graph); plain LIF has none")
    feeds = dict(zip(SYNAPSES, NEURONS))
    weights, conv = {}, {}
    for n in syn:
        if len(set(int(s) for s in n.weight_set)) != 1:
            raise ValueError(f"{n.name}: one weight set expected (direct coding), got {n.weight_set}")
        s = int(n.weight_set[0])
        g = gain[feeds[n.name]] if n.name in feeds else 1.0
        weights[n.name] = (np.asarray(n.weight[s], np.float64) * g, np.asarray(n.bias[s], np.float64) * g)
        if n.kind == "conv2d":
            conv[n.name] = (tuple(int(v) for v in np.broadcast_to(n.stride, 2)), tuple(int(v) for v in np.broadcast_to(n.padding, 2)))
    pools = {(tuple(np.broadcast_to(p.kernel, 2).tolist()), tuple(np.broadcast_to(p.stride, 2).tolist()))
             for p in graph.nodes if p.kind == "maxpool2d"}
    if len(pools) != 1:
        raise ValueError("all max-pools must be alike")
    return StockNet(T, weights, leak, gain, conv, pools.pop())


def _load(module: nn.Module, w: np.ndarray, b: np.ndarray) -> nn.Module:
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        module.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _synapses(net: StockNet, conv_cls=nn.Conv2d, linear_cls=nn.Linear, **kw) -> dict:
    """conv1..fc2 as ``conv_cls`` / ``linear_cls`` (float64) with the folded weights."""
    out = {}
    for name, (w, b) in net.weights.items():
        if name in net.conv:
            stride, padding = net.conv[name]
            m = conv_cls(w.shape[1], w.shape[0], tuple(w.shape[2:]), stride=stride, padding=padding, **kw)
        else:
            m = linear_cls(w.shape[1], w.shape[0], **kw)
        out[name] = _load(m.to(torch.float64), w, b)
    return out


# ---------------------------------------------------------------- the models


class TorchLIF(nn.Module):
    """The LIF neuron in plain torch over ``(T, B, ...)``: ``v = leak * v + I``; spike ``v > 1``; ``v -= 1``."""

    def __init__(self, leak: float) -> None:
        super().__init__()
        self.leak = float(leak)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x[0])
        out = torch.empty_like(x)
        for t in range(x.shape[0]):
            v = self.leak * v + x[t]
            s = (v > 1.0).to(x.dtype)
            v = v - s
            out[t] = s
        return out


def _time_flat(fn, x: torch.Tensor) -> torch.Tensor:
    """A per-sample layer on every step at once: ``(T, B, ...)`` -> ``(T, B, ...)``."""
    return fn(x.flatten(0, 1)).unflatten(0, x.shape[:2])


class TorchLeNet(nn.Module):
    """Plain torch, no framework: input ``(T, B, C, H, W)``, returns the logits ``(B, K)``."""

    layout = "TB"

    def __init__(self, net: StockNet) -> None:
        super().__init__()
        for name, m in _synapses(net).items():
            setattr(self, name, m)
        for lif in NEURONS:
            setattr(self, lif, TorchLIF(net.leak[lif]))
        self.pool = nn.MaxPool2d(*net.pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, lif in (("conv1", "lif1"), ("conv2", "lif2"), ("conv3", "lif3")):
            x = _time_flat(self.pool, getattr(self, lif)(_time_flat(getattr(self, conv), x)))
        x = self.lif4(_time_flat(self.fc1, x.flatten(2)))
        return _time_flat(self.fc2, x).mean(0)


class SnnTorchLeNet(nn.Module):
    """snnTorch, one timestep per call (as NeuroBench's ``SNNTorchModel`` drives it).

    ``forward(x_t)`` takes ``(B, C, H, W)`` and returns ``(logits_t, None)``;
    ``reset()`` zeroes the membranes (``SNNTorchModel`` calls it before each batch).
    Neurons: ``snn.Leaky(beta=leak, threshold=1, reset_mechanism="subtract",
    reset_delay=False, init_hidden=True)``; ``beta`` is given as a float64 tensor so that
    it is the graph's leak exactly (a Python float would be stored as float32).
    """

    layout = "BT"

    def __init__(self, net: StockNet) -> None:
        import snntorch as snn

        super().__init__()
        for name, m in _synapses(net).items():
            setattr(self, name, m)
        for lif in NEURONS:
            setattr(self, lif, snn.Leaky(beta=torch.tensor(net.leak[lif], dtype=torch.float64),
                                         threshold=torch.tensor(1.0, dtype=torch.float64),
                                         reset_mechanism="subtract", reset_delay=False, init_hidden=True))
        self.pool = nn.MaxPool2d(*net.pool)
        self.flat = nn.Flatten()

    def reset(self) -> None:
        for lif in NEURONS:
            getattr(self, lif).reset_mem()

    def forward(self, x: torch.Tensor):
        dtype = x.dtype
        # snnTorch's spikes are float32 whatever the membrane's dtype (its Heaviside is
        # `(x > 0).float()`), then multiplied by its float64 graded_spikes_factor buffer in a
        # float64 model: already the model's dtype.
        x = self.pool(self.lif1(self.conv1(x)).to(dtype))
        x = self.pool(self.lif2(self.conv2(x)).to(dtype))
        x = self.pool(self.lif3(self.conv3(x)).to(dtype))
        x = self.lif4(self.fc1(self.flat(x))).to(dtype)
        return self.fc2(x), None


class SpikingJellyLeNet(nn.Module):
    """SpikingJelly, multi-step: input ``(T, B, C, H, W)``, returns the logits ``(B, K)``.

    Layers ``layer.Conv2d`` / ``layer.MaxPool2d`` / ``layer.Flatten`` / ``layer.Linear``
    with ``step_mode="m"``; neurons ``neuron.LIFNode(tau=1/(1-leak), decay_input=False,
    v_threshold=1.0, v_reset=None, step_mode="m")`` (``v_reset=None``: soft reset). Reset
    between batches with ``functional.reset_net``.
    """

    layout = "TB"

    def __init__(self, net: StockNet) -> None:
        from spikingjelly.activation_based import layer, neuron

        super().__init__()
        for name, m in _synapses(net, layer.Conv2d, layer.Linear, step_mode="m").items():
            setattr(self, name, m)
        for lif in NEURONS:
            setattr(self, lif, neuron.LIFNode(tau=1.0 / (1.0 - net.leak[lif]), decay_input=False, v_threshold=1.0, v_reset=None,
                                              step_mode="m"))
        self.pool = layer.MaxPool2d(*net.pool, step_mode="m")
        self.flat = layer.Flatten(start_dim=1, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.lif1(self.conv1(x)))
        x = self.pool(self.lif2(self.conv2(x)))
        x = self.pool(self.lif3(self.conv3(x)))
        x = self.lif4(self.fc1(self.flat(x)))
        return self.fc2(x).mean(0)


class SinabsLeNet(nn.Module):
    """Sinabs: input ``(B, T, C, H, W)``, everything on ``(B*T, ...)``, returns the logits ``(B, K)``.

    Neurons ``sinabs.layers.LIFSqueeze(tau_mem, num_timesteps=T, spike_threshold=1,
    spike_fn=SingleSpike, reset_fn=MembraneSubtract(), norm_input=False,
    train_alphas=True)``, the decay ``alpha_mem`` then set to the graph's leak (with
    ``train_alphas=False`` Sinabs recomputes ``exp(-1/tau_mem)`` from a float32 ``tau_mem``
    every call, which moves the decay by ~1e-7). Reset between batches with
    ``sinabs.utils.reset_states``.
    """

    layout = "BT"

    def __init__(self, net: StockNet) -> None:
        import sinabs.layers as sl
        from sinabs.activation import MembraneSubtract, SingleSpike

        super().__init__()
        T = net.timesteps
        for name, m in _synapses(net).items():
            setattr(self, name, m)
        for lif in NEURONS:
            leak = net.leak[lif]
            m = sl.LIFSqueeze(tau_mem=-1.0 / np.log(leak), num_timesteps=T, spike_threshold=torch.tensor(1.0, dtype=torch.float64),
                              spike_fn=SingleSpike, reset_fn=MembraneSubtract(), norm_input=False, train_alphas=True)
            with torch.no_grad():
                m.alpha_mem.data = torch.tensor(leak, dtype=torch.float64)
            m.alpha_mem.requires_grad_(False)
            setattr(self, lif, m)
        self.pool = nn.MaxPool2d(*net.pool)
        self.flat = nn.Flatten()
        self.timesteps = T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype, (B, T) = x.dtype, x.shape[:2]
        x = x.flatten(0, 1)
        # Sinabs' SingleSpike returns float32 spikes whatever the membrane's dtype: the cast
        # does nothing in float32 and makes float64 runs possible at all.
        x = self.pool(self.lif1(self.conv1(x)).to(dtype))
        x = self.pool(self.lif2(self.conv2(x)).to(dtype))
        x = self.pool(self.lif3(self.conv3(x)).to(dtype))
        x = self.lif4(self.fc1(self.flat(x))).to(dtype)
        return self.fc2(x).unflatten(0, (B, T)).mean(1)


MODELS = {"torch": TorchLeNet, "snntorch": SnnTorchLeNet, "spikingjelly": SpikingJellyLeNet, "sinabs": SinabsLeNet}


def build(kind: str, net: StockNet, dtype: torch.dtype) -> nn.Module:
    """One of :data:`MODELS`, in ``dtype``, in eval mode."""
    return MODELS[kind](net).to(dtype).eval()


def reset_fn(kind: str):
    """What to call on the model before each batch (None: stateless between calls)."""
    if kind == "snntorch":
        return lambda m: m.reset()
    if kind == "spikingjelly":
        from spikingjelly.activation_based import functional

        return functional.reset_net
    if kind == "sinabs":
        import sinabs.utils

        return sinabs.utils.reset_states
    return None


def run_model(kind: str, model: nn.Module, frames: torch.Tensor, parts: list, reset=None) -> torch.Tensor:
    """Logits ``(N, K)`` of ``model`` over every batch of ``frames`` (in the model's layout).

    ``snntorch`` models are stepped through time here, one call per step (what NeuroBench's
    ``SNNTorchModel`` does); the others take the whole sequence.
    """
    out = []
    with torch.no_grad():
        for s in parts:
            if reset is not None:
                reset(model)
            if kind == "snntorch":
                x = frames[s]
                out.append(torch.stack([model(x[:, t])[0] for t in range(x.shape[1])]).mean(0))
            elif model.layout == "BT":
                out.append(model(frames[s]))
            else:
                out.append(model(frames[:, s]))
    return torch.cat(out)


def record_spikes(kind: str, model: nn.Module, frames: torch.Tensor, parts: list):
    """Logits and every neuron layer's spikes ``{lif: (T, N, ...) uint8}`` over the batches."""
    got: dict = {lif: [] for lif in NEURONS}
    handles = [getattr(model, lif).register_forward_hook(lambda m, i, o, lif=lif: got[lif].append(o.detach()))
               for lif in NEURONS]
    try:
        logits = []
        spikes = {lif: [] for lif in NEURONS}
        for s in parts:
            for v in got.values():
                v.clear()
            logits.append(run_model(kind, model, frames, [s], reset_fn(kind)))
            n = logits[-1].shape[0]
            for lif, outs in got.items():
                if kind == "snntorch":  # one (B, ...) per step
                    sp = torch.stack(outs)
                elif kind == "sinabs":  # (B*T, ...)
                    sp = outs[0].unflatten(0, (n, -1)).transpose(0, 1)
                else:  # (T, B, ...)
                    sp = outs[0]
                spikes[lif].append(sp.to(torch.uint8).numpy())
    finally:
        for h in handles:
            h.remove()
    return torch.cat(logits), {k: np.concatenate(v, 1) for k, v in spikes.items()}
