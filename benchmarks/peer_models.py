"""The peers' side of ``peers.py``: the workloads, and any graph of theirs in each peer's stock classes.

Two workloads, both with plain LIF neurons (one leak and one input gain per layer, constant
over time) and direct coding (the analog image at every step), T=4:

* ``lenet``: the digits LeNet trained with ``asnn=False``, cached under ``benchmarks/.cache/``;
* ``resnet19``: the tdBN ResNet-19 at CIFAR size, untrained and calibrated to about 15 %
  firing per layer (``workloads.resnet19_lif``).

Each peer gets the same network written the way its users write it: PyTorch layers with
the graph's weights and the peer's own LIF class. One small builder reads the exported
graph (:func:`stock_net`) and makes the modules node by node from a table per peer, kind
-> converter (:data:`CONVERTERS`); a model runs the nodes in the graph's order, an
``add`` as a sum of its inputs. The peers' LIF classes:

* snnTorch ``snn.Leaky`` (stepped one timestep per call, the layout NeuroBench's
  ``SNNTorchModel`` drives);
* SpikingJelly ``layer.Conv2d`` / ``layer.Linear`` / ... and ``neuron.LIFNode`` in
  multi-step mode (``(T, B, ...)``);
* Sinabs ``nn.Conv2d`` / ``nn.Linear`` on ``(B*T, ...)`` and ``sinabs.layers.LIFSqueeze``;
* plain torch: the same layers and a few lines of torch for the neuron (no framework).

The trained neuron is ``v = leak * v + gain * I``, fire when ``v > 1``, ``v -= 1`` on a
spike. None of the stock classes has an input gain next to its decay (snnTorch: ``mem =
beta * mem + I``; SpikingJelly with ``decay_input=False``: ``v - v / tau + I``; Sinabs
with ``norm_input=False``: ``alpha * v + I``). Two exact rewrites (exact in real
arithmetic, not bit for bit; ``peers.py`` cross-checks the spikes):

* **folded**: where every current the neuron integrates comes from conv/linear layers
  (directly, or through an ``add`` of such currents: a ResNet block with a 1x1 shortcut
  conv), ``gain`` goes into their weights and biases (``W' = gain * W``, ``b' = gain * b``)
  and the stock threshold stays 1;
* **threshold 1/gain**: where the neuron also integrates events as they are (an identity
  shortcut adds the block input's spikes), no weight can carry the gain; the membrane is
  divided by ``gain`` instead, so the stock neuron integrates the unscaled current and
  fires at, and subtracts, ``1 / gain``.

Our simulator runs the exported graph itself, unchanged.
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
# The node kinds a stock model is built from (add and readout are handled by the model itself).
SUPPORTED = ("input", "conv2d", "linear", "neuron", "add", "maxpool2d", "avgpool2d", "flatten", "readout")


# ---------------------------------------------------------------- the workloads


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


def lif_resnet19(cache: Path, limit: int | None = None, log=print):
    """The workload: ResNet-19 with plain LIF neurons, direct coding, T=4, calibrated to 15 %
    firing per layer (cached as ``resnet19_direct_lif_T4_rate15.asnn``), on ``limit`` (16)
    CIFAR-shaped images (no labels)."""
    from workloads import resnet19_lif

    return resnet19_lif(16 if limit is None else limit, cache=cache, log=log)


WORKLOADS = {"lenet": lif_lenet, "resnet19": lif_resnet19}


# ---------------------------------------------------------------- the graph, read for the stock classes


@dataclass
class StockNet:
    """What the stock models are built from (all float64 numpy), read from a plain-LIF graph.

    Attributes
    ----------
    timesteps : int
    steps : list of (name, kind, inputs)
        Every node after the input, in execution order (the last is the readout).
    input : str
        The input node's name.
    weights : dict
        conv/linear name -> ``(W, b)``, times the gain of the neuron it feeds where that
        gain is folded (see the module docstring).
    layer_args : dict
        conv name -> ``{stride, padding, dilation, groups}``; pool name -> ``{kernel_size,
        stride, padding}``.
    leak, gain : dict
        neuron name -> the graph's constant value.
    threshold : dict
        neuron name -> the stock neuron's threshold: 1 where the gain is folded, else 1/gain.
    folded : dict
        neuron name -> whether its gain is folded into the weights feeding it.
    """

    timesteps: int
    steps: list
    input: str
    weights: dict
    layer_args: dict
    leak: dict
    gain: dict
    threshold: dict
    folded: dict

    @property
    def neurons(self) -> list[str]:
        return [name for name, kind, _ in self.steps if kind == "neuron"]

    @property
    def synapses(self) -> list[str]:
        return [name for name, kind, _ in self.steps if kind in ("conv2d", "linear")]


def _neuron_params(n) -> tuple[float, float]:
    """(leak, gain) of a plain LIF neuron node; ValueError for anything a stock LIF cannot express."""
    lk, gn = np.asarray(n.leak, np.float64), np.asarray(n.gain, np.float64)
    if len(set(lk.tolist())) != 1 or len(set(gn.tolist())) != 1:
        raise ValueError(f"{n.name}: leak/gain change over time ({lk}, {gn}): an ASNN graph, not plain LIF")
    if not 0.0 < lk[0] < 1.0 or not gn[0] > 0.0:
        raise ValueError(f"{n.name}: leak {lk[0]} outside (0, 1) or gain {gn[0]} <= 0: no stock LIF expresses it")
    thr = np.unique(np.asarray(n.threshold, np.float64))
    if thr.tolist() != [1.0] or n.reset != "soft" or n.compare != "gt" or n.bias is not None:
        raise ValueError(f"{n.name}: expected threshold 1, soft reset, compare 'gt', no bias; got {thr}, {n.reset}, {n.compare}")
    return float(lk[0]), float(gn[0])


def _feeding_synapses(graph, neuron) -> list[str] | None:
    """The conv/linear layers whose currents are all that ``neuron`` integrates (its gain can
    be folded into them), or None where it also integrates events (an identity shortcut).

    A current feeds exactly one node (the graph validates it), so folding a gain into a
    layer changes nothing else.
    """
    src = graph.node(neuron.inputs[0])
    if src.kind in ("conv2d", "linear"):
        return [src.name]
    if src.kind == "add" and all(graph.node(i).kind in ("conv2d", "linear") for i in src.inputs):
        return list(src.inputs)
    return None


def _layer_args(node) -> dict:
    def pair(v):
        return tuple(int(x) for x in np.broadcast_to(v, 2))

    if node.kind == "conv2d":
        return {"stride": pair(node.stride), "padding": pair(node.padding), "dilation": pair(node.dilation), "groups": int(node.groups)}
    return {"kernel_size": pair(node.kernel), "stride": pair(node.stride), "padding": pair(node.padding)}


def stock_net(graph) -> StockNet:
    """Read a plain-LIF graph for the stock classes; ValueError (one line) for anything they cannot express."""
    for n in graph.nodes:
        if n.kind not in SUPPORTED:
            raise ValueError(f"{n.name}: node kind {n.kind!r} has no stock module here (peers.py builds {', '.join(SUPPORTED)})")
        if "." in n.name:
            raise ValueError(f"{n.name}: a node name with '.' cannot name a torch module")
    if graph.readout.scale is not None:
        raise ValueError("the readout has a per-step scale (an ASNN graph); plain LIF has none")
    leak, gain, threshold, folded, fold_into = {}, {}, {}, {}, {}
    for n in graph.nodes_of_role("neuron"):
        leak[n.name], gain[n.name] = _neuron_params(n)
        into = _feeding_synapses(graph, n)
        folded[n.name] = into is not None
        threshold[n.name] = 1.0 if into is not None else 1.0 / gain[n.name]
        fold_into.update({s: gain[n.name] for s in into or ()})
    weights, layer_args = {}, {}
    for n in graph.nodes:
        if n.kind in ("conv2d", "linear"):
            if len(set(int(s) for s in n.weight_set)) != 1:
                raise ValueError(f"{n.name}: one weight set expected (direct coding), got {n.weight_set}")
            s, g = int(n.weight_set[0]), fold_into.get(n.name, 1.0)
            weights[n.name] = (np.asarray(n.weight[s], np.float64) * g, np.asarray(n.bias[s], np.float64) * g)
        if n.kind in ("conv2d", "maxpool2d", "avgpool2d"):
            layer_args[n.name] = _layer_args(n)
    steps = [(n.name, n.kind, tuple(n.inputs)) for n in graph.nodes[1:]]
    return StockNet(graph.timesteps, steps, graph.input.name, weights, layer_args, leak, gain, threshold, folded)


# ---------------------------------------------------------------- converters: node -> stock module


def _load(module: nn.Module, w: np.ndarray, b: np.ndarray) -> nn.Module:
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        module.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _conv(cls, **kw):
    """A converter making a ``cls`` (``nn.Conv2d`` or a peer's subclass) with the net's (folded) weights."""
    def make(net: StockNet, name: str) -> nn.Module:
        w, b = net.weights[name]
        m = cls(w.shape[1] * net.layer_args[name]["groups"], w.shape[0], tuple(w.shape[2:]), **net.layer_args[name], **kw)
        return _load(m.to(torch.float64), w, b)
    return make


def _linear(cls, **kw):
    def make(net: StockNet, name: str) -> nn.Module:
        w, b = net.weights[name]
        return _load(cls(w.shape[1], w.shape[0], **kw).to(torch.float64), w, b)
    return make


def _pool(cls, **kw):
    """Max- or average-pool (``count_include_pad`` as torch's default: the graph's mean divides by the whole window)."""
    def make(net: StockNet, name: str) -> nn.Module:
        return cls(**net.layer_args[name], **kw)
    return make


class TorchLIF(nn.Module):
    """The LIF neuron in plain torch over ``(T, B, ...)``: ``v = leak * v + I``; spike ``v > threshold``; ``v -= threshold``."""

    def __init__(self, leak: float, threshold: float = 1.0) -> None:
        super().__init__()
        self.leak, self.threshold = float(leak), float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x[0])
        out = torch.empty_like(x)
        for t in range(x.shape[0]):
            v = self.leak * v + x[t]
            s = (v > self.threshold).to(x.dtype)
            v = v - s if self.threshold == 1.0 else v - s * self.threshold
            out[t] = s
        return out


def _torch_lif(net: StockNet, name: str) -> nn.Module:
    return TorchLIF(net.leak[name], net.threshold[name])


def _snntorch_leaky(net: StockNet, name: str) -> nn.Module:
    """``snn.Leaky``; ``beta`` and ``threshold`` as float64 tensors (a Python float is stored as float32)."""
    import snntorch as snn

    return snn.Leaky(beta=torch.tensor(net.leak[name], dtype=torch.float64), threshold=torch.tensor(net.threshold[name], dtype=torch.float64),
                     reset_mechanism="subtract", reset_delay=False, init_hidden=True)


def _spikingjelly_lif(net: StockNet, name: str) -> nn.Module:
    """``LIFNode`` with ``decay_input=False`` (else the input is scaled by ``1/tau``) and ``v_reset=None`` (soft reset)."""
    from spikingjelly.activation_based import neuron

    return neuron.LIFNode(tau=1.0 / (1.0 - net.leak[name]), decay_input=False, v_threshold=net.threshold[name], v_reset=None, step_mode="m")


def _sinabs_lif(net: StockNet, name: str) -> nn.Module:
    """``LIFSqueeze`` with ``alpha_mem`` set to the leak (``train_alphas=True``: with ``False``
    Sinabs recomputes ``exp(-1/tau_mem)`` from a float32 ``tau_mem`` every call, ~1e-7 off)."""
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, SingleSpike

    leak = net.leak[name]
    m = sl.LIFSqueeze(tau_mem=-1.0 / np.log(leak), num_timesteps=net.timesteps,
                      spike_threshold=torch.tensor(net.threshold[name], dtype=torch.float64), spike_fn=SingleSpike,
                      reset_fn=MembraneSubtract(), norm_input=False, train_alphas=True)
    with torch.no_grad():
        m.alpha_mem.data = torch.tensor(leak, dtype=torch.float64)
    m.alpha_mem.requires_grad_(False)
    return m


def _torch_layers() -> dict:
    return {"conv2d": _conv(nn.Conv2d), "linear": _linear(nn.Linear), "maxpool2d": _pool(nn.MaxPool2d),
            "avgpool2d": _pool(nn.AvgPool2d), "flatten": lambda net, name: nn.Flatten()}


def _spikingjelly_layers() -> dict:
    from spikingjelly.activation_based import layer

    m = {"step_mode": "m"}
    return {"conv2d": _conv(layer.Conv2d, **m), "linear": _linear(layer.Linear, **m), "maxpool2d": _pool(layer.MaxPool2d, **m),
            "avgpool2d": _pool(layer.AvgPool2d, **m), "flatten": lambda net, name: layer.Flatten(start_dim=1, step_mode="m"),
            "neuron": _spikingjelly_lif}


# peer -> (node kind -> converter(net, name) -> module), built when first asked for (the peers import late)
CONVERTERS = {
    "torch": lambda: {**_torch_layers(), "neuron": _torch_lif},
    "snntorch": lambda: {**_torch_layers(), "neuron": _snntorch_leaky},
    "spikingjelly": _spikingjelly_layers,
    "sinabs": lambda: {**_torch_layers(), "neuron": _sinabs_lif},
}


# ---------------------------------------------------------------- the models


def _time_flat(fn, x: torch.Tensor) -> torch.Tensor:
    """A per-sample layer on every step at once: ``(T, B, ...)`` -> ``(T, B, ...)``."""
    return fn(x.flatten(0, 1)).unflatten(0, x.shape[:2])


def _schedule(steps: list, first: str) -> list:
    """``(name, kind, inputs, done)`` per step: ``done`` are the values no later step reads
    (dropped then, so a ResNet holds a few feature maps, not all of them)."""
    last = {first: -1}
    for i, (name, _, inputs) in enumerate(steps):
        last[name] = i
        for s in inputs:
            last[s] = i
    return [(name, kind, inputs, tuple(v for v in dict.fromkeys(inputs) if last[v] == i))
            for i, (name, kind, inputs) in enumerate(steps)]


class StockModel(nn.Module):
    """The graph in one peer's modules, run node by node in the graph's order.

    Subclasses say how a layer meets the peer's data layout (:meth:`layer`), how the
    input enters (:meth:`enter`) and how the readout's input leaves (:meth:`leave`).
    ``tap(name, current) -> spikes``, where given, replaces every neuron (peers.py feeds
    snnTorch our spikes layer by layer with it).
    """

    layout = "TB"
    peer = "torch"

    def __init__(self, net: StockNet) -> None:
        super().__init__()
        convert = CONVERTERS[self.peer]()
        self.neuron_names = net.neurons
        self.plan = _schedule(net.steps, net.input)
        self.input_name = net.input
        for name, kind, _ in net.steps:
            if kind not in ("add", "readout"):
                self.add_module(name, convert[kind](net, name))

    def layer(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return module(x)

    def enter(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def leave(self, y: torch.Tensor, x: torch.Tensor):
        return y.mean(0)

    def walk(self, x: torch.Tensor, tap=None) -> torch.Tensor:
        """The readout's input, in the model's layout."""
        dtype = x.dtype
        env = {self.input_name: self.enter(x)}
        y = None
        for name, kind, inputs, done in self.plan:
            if kind == "readout":
                y = env[inputs[0]]
            elif kind == "add":
                y = env[inputs[0]]
                for s in inputs[1:]:
                    y = y + env[s]
            elif kind == "neuron":
                current = env[inputs[0]]
                # snnTorch's and Sinabs' spikes are float32 whatever the membrane's dtype (their
                # Heaviside is `(x > 0).float()` / `(x >= 0).float()`): a no-op in float32.
                y = (getattr(self, name)(current) if tap is None else tap(name, current)).to(dtype)
            else:
                y = self.layer(getattr(self, name), env[inputs[0]])
            for v in done:
                del env[v]
            env[name] = y
        return y

    def forward(self, x: torch.Tensor):
        return self.leave(self.walk(x), x)


class TorchNet(StockModel):
    """Plain torch, no framework: input ``(T, B, C, H, W)``, returns the logits ``(B, K)``."""

    def layer(self, module, x):
        return _time_flat(module, x)


class SnnTorchNet(StockModel):
    """snnTorch, one timestep per call (as NeuroBench's ``SNNTorchModel`` drives it).

    ``forward(x_t)`` takes ``(B, C, H, W)`` and returns ``(logits_t, None)``; ``reset()``
    zeroes the membranes (``SNNTorchModel`` calls it before each batch). Neurons:
    ``snn.Leaky(beta=leak, threshold=..., reset_mechanism="subtract", reset_delay=False,
    init_hidden=True)``.
    """

    layout = "BT"
    peer = "snntorch"

    def reset(self) -> None:
        for name in self.neuron_names:
            getattr(self, name).reset_mem()

    def leave(self, y, x):
        return y, None


class SpikingJellyNet(StockModel):
    """SpikingJelly, multi-step: input ``(T, B, C, H, W)``, returns the logits ``(B, K)``.

    Layers ``layer.Conv2d`` / ``layer.MaxPool2d`` / ``layer.AvgPool2d`` / ``layer.Flatten``
    / ``layer.Linear`` with ``step_mode="m"``; neurons ``neuron.LIFNode(tau=1/(1-leak),
    decay_input=False, v_threshold=..., v_reset=None, step_mode="m")`` (``v_reset=None``:
    soft reset). Reset between batches with ``functional.reset_net``.
    """

    peer = "spikingjelly"


class SinabsNet(StockModel):
    """Sinabs: input ``(B, T, C, H, W)``, everything on ``(B*T, ...)``, returns the logits ``(B, K)``.

    Neurons ``sinabs.layers.LIFSqueeze(tau_mem, num_timesteps=T, spike_threshold=...,
    spike_fn=SingleSpike, reset_fn=MembraneSubtract(), norm_input=False,
    train_alphas=True)``, ``alpha_mem`` set to the leak. Reset between batches with
    ``sinabs.utils.reset_states``.
    """

    layout = "BT"
    peer = "sinabs"

    def enter(self, x):
        return x.flatten(0, 1)

    def leave(self, y, x):
        return y.unflatten(0, x.shape[:2]).mean(1)


MODELS = {"torch": TorchNet, "snntorch": SnnTorchNet, "spikingjelly": SpikingJellyNet, "sinabs": SinabsNet}


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
    """Logits and every neuron layer's spikes ``{name: (T, N, ...) uint8}`` over the batches."""
    names = model.neuron_names
    got: dict = {name: [] for name in names}
    handles = [getattr(model, name).register_forward_hook(lambda m, i, o, name=name: got[name].append(o.detach()))
               for name in names]
    try:
        logits = []
        spikes = {name: [] for name in names}
        for s in parts:
            for v in got.values():
                v.clear()
            logits.append(run_model(kind, model, frames, [s], reset_fn(kind)))
            n = logits[-1].shape[0]
            for name, outs in got.items():
                if kind == "snntorch":  # one (B, ...) per step
                    sp = torch.stack(outs)
                elif kind == "sinabs":  # (B*T, ...)
                    sp = outs[0].unflatten(0, (n, -1)).transpose(0, 1)
                else:  # (T, B, ...)
                    sp = outs[0]
                spikes[name].append(sp.to(torch.uint8).numpy())
    finally:
        for h in handles:
            h.remove()
    return torch.cat(logits), {k: np.concatenate(v, 1) for k, v in spikes.items()}
