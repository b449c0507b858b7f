"""The peers' side of ``peers.py``: their neurons and one torch LeNet built from our graph.

``TorchASNN`` (our neuron step in torch), SpikingJelly's and Sinabs's stock neurons set to
the same dynamics, and ``LeNetFromGraph``, which loads the exported graph's weights into
plain torch layers so that each peer counts the very network the simulator replays.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from asnn_sim.graph.encoding import EncoderSpec

DTYPE = torch.float64
LENET_KINDS = ("input", "conv2d", "neuron", "maxpool2d", "conv2d", "neuron", "maxpool2d", "conv2d", "neuron",
               "maxpool2d", "flatten", "linear", "neuron", "linear", "readout")


# ---------------------------------------------------------------- neurons


class TorchASNN(nn.Module):
    """Our neuron in plain torch, over a ``(T, B, ...)`` current (the NeuroBench model's neuron)."""

    batch_first = False

    def __init__(self, leak, gain, threshold: float = 1.0) -> None:
        super().__init__()
        self.leak, self.gain, self.threshold = [float(v) for v in leak], [float(v) for v in gain], float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem = torch.zeros_like(x[0])
        out = []
        for t in range(x.shape[0]):
            mem = self.leak[t] * mem + self.gain[t] * x[t]
            s = (mem - self.threshold > 0).to(x.dtype)
            mem = mem - s * self.threshold
            out.append(s)
        return torch.stack(out)


def spikingjelly_neuron():
    """Our neuron as a SpikingJelly ``SimpleBaseNode`` (multi-step mode, ``(T, B, ...)``)."""
    from spikingjelly.activation_based import neuron

    class SJASNN(neuron.SimpleBaseNode):
        batch_first = False

        def __init__(self, leak, gain, threshold: float = 1.0) -> None:
            # v_reset=None: SpikingJelly's soft reset, v -= v_threshold * spike
            super().__init__(v_threshold=float(threshold), v_reset=None, detach_reset=True, step_mode="m")
            self.leak, self.gain = [float(v) for v in leak], [float(v) for v in gain]
            self.register_memory("t", 0)  # the step index; functional.reset_net sets it back to 0

        def neuronal_charge(self, x: torch.Tensor) -> None:
            self.v = self.leak[self.t] * self.v + self.gain[self.t] * x
            self.t = self.t + 1

        def neuronal_fire(self) -> torch.Tensor:
            # strict threshold (SpikingJelly's surrogate forward is the Heaviside x >= 0)
            return (self.v - self.v_threshold > 0).to(self.v.dtype)

    return SJASNN


def sinabs_neuron():
    """Our neuron as a Sinabs ``StatefulLayer`` (Sinabs' layout, ``(B, T, ...)``)."""
    import sinabs.layers as sl

    class SinabsASNN(sl.StatefulLayer):
        batch_first = True
        does_spike = True

        def __init__(self, leak, gain, threshold: float = 1.0) -> None:
            super().__init__(state_names=["v_mem"])
            self.leak, self.gain, self.threshold = [float(v) for v in leak], [float(v) for v in gain], float(threshold)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            v = torch.zeros_like(x[:, 0])
            out = []
            for t in range(x.shape[1]):
                v = self.leak[t] * v + self.gain[t] * x[:, t]
                s = (v - self.threshold > 0).to(x.dtype)
                v = v - s * self.threshold
                out.append(s)
            self.v_mem = v
            return torch.stack(out, 1)

        @property
        def _param_dict(self) -> dict:
            return {"leak": self.leak, "gain": self.gain, "threshold": self.threshold}

    return SinabsASNN


# ---------------------------------------------------------------- the torch model


def _over_time(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-sample layer to every timestep at once: (T, B, ...) -> (T, B, ...)."""
    return fn(x.flatten(0, 1)).unflatten(0, x.shape[:2])


def _frozen(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class LeNetFromGraph(nn.Module):
    """The exported digits LeNet as a torch model: the graph's folded weights, one neuron class.

    Input ``(T, B, C, H, W)``; returns the prediction logits ``(B, K)`` and, with
    ``record=True``, every neuron layer's spikes ``(T, B, ...)`` keyed like the
    simulator's (by the synaptic layer that feeds the neuron). A first layer with several
    weight sets (hybrid coding: the analog frame has its own conv) becomes one
    ``nn.Conv2d`` per set, ``conv1_analog`` for the analog one.

    Attributes
    ----------
    modules_of : list of (module name, graph layer, timesteps)
        Which graph layer and timesteps each conv/linear module computes.
    """

    def __init__(self, graph, neuron_cls) -> None:
        super().__init__()
        kinds = tuple(n.kind for n in graph.nodes)
        if kinds != LENET_KINDS:
            raise ValueError(f"peers.py builds the digits LeNet graph only; got node kinds {kinds}")
        T = graph.timesteps
        nodes = graph.nodes
        conv1, conv2, conv3, fc1, fc2 = (n for n in nodes if n.kind in ("conv2d", "linear"))
        lifs = [n for n in nodes if n.kind == "neuron"]
        self.timesteps = T
        frame_kinds = EncoderSpec.from_dict(graph.input.encoder).frame_kinds
        self.first: list[tuple[str, int, int]] = []  # (module name, first step, stop step)
        self.modules_of: list[tuple[str, str, list[int]]] = []
        sets = sorted(set(int(s) for s in conv1.weight_set))
        for s in sets:
            steps = [t for t in range(T) if int(conv1.weight_set[t]) == s]
            if steps != list(range(steps[0], steps[-1] + 1)):
                raise ValueError(f"conv1 weight set {s} is used at non-consecutive steps {steps}")
            analog = all(frame_kinds[t] == "analog" for t in steps)
            name = "conv1" if len(sets) == 1 else ("conv1_analog" if analog else "conv1")
            if hasattr(self, name):
                name = f"conv1_set{s}"
            setattr(self, name, self._conv(conv1, s))
            self.first.append((name, steps[0], steps[-1] + 1))
            self.modules_of.append((name, "conv1", steps))
        self.first.sort(key=lambda r: r[1])  # time order, for torch.cat
        for node in (conv2, conv3, fc1, fc2):
            if len(set(int(s) for s in node.weight_set)) != 1:
                raise ValueError(f"{node.name}: one weight set expected")
            setattr(self, node.name, self._conv(node, int(node.weight_set[0])) if node.kind == "conv2d" else self._linear(node, int(node.weight_set[0])))
            self.modules_of.append((node.name, node.name, list(range(T))))
        pools = [n for n in nodes if n.kind == "maxpool2d"]
        if len({(tuple(p.kernel), tuple(p.stride)) for p in pools}) != 1:
            raise ValueError("all max-pools must be alike")
        self.pool = nn.MaxPool2d(tuple(pools[0].kernel), tuple(pools[0].stride))
        for i, n in enumerate(lifs, start=1):
            setattr(self, f"lif{i}", neuron_cls(n.leak, n.gain, float(n.threshold.reshape(-1)[0])))
        scale = nodes[-1].scale
        self.scale = None if scale is None else torch.as_tensor(np.asarray(scale), dtype=DTYPE)
        self.layer_names = ("conv1", "conv2", "conv3", "fc1")  # the synaptic layers that feed lif1..lif4

    @staticmethod
    def _conv(node, s: int) -> nn.Conv2d:
        w = node.weight[s]
        conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), stride=tuple(node.stride), padding=tuple(node.padding), dtype=DTYPE)
        conv.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        conv.bias.data.copy_(torch.from_numpy(np.ascontiguousarray(node.bias[s])))
        return _frozen(conv)

    @staticmethod
    def _linear(node, s: int) -> nn.Linear:
        w = node.weight[s]
        lin = nn.Linear(w.shape[1], w.shape[0], dtype=DTYPE)
        lin.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        lin.bias.data.copy_(torch.from_numpy(np.ascontiguousarray(node.bias[s])))
        return _frozen(lin)

    @staticmethod
    def _fire(neurons: nn.Module, current: torch.Tensor) -> torch.Tensor:
        if getattr(neurons, "batch_first", False):
            return neurons(current.transpose(0, 1)).transpose(0, 1)
        return neurons(current)

    def forward(self, frames: torch.Tensor, record: bool = False):
        spikes = {}
        parts = [_over_time(getattr(self, name), frames[a:b]) for name, a, b in self.first]
        current = parts[0] if len(parts) == 1 else torch.cat(parts)
        x = frames
        for i, name in enumerate(self.layer_names):
            if i > 0:
                current = _over_time(getattr(self, name), x)
            s = self._fire(getattr(self, f"lif{i + 1}"), current)
            if record:  # keyed by the graph's neuron node names, as the simulator records them
                spikes[f"lif{i + 1}"] = s
            x = _over_time(self.pool, s) if i < 3 else s  # conv1..conv3 are followed by the max-pool
            if i == 2:
                x = x.flatten(2)  # (T, B, C * H * W) into fc1
        out = _over_time(self.fc2, x)  # (T, B, K)
        if self.scale is not None:
            out = out * self.scale[:, None, None]
        return out.mean(0), spikes


class BatchFirst(nn.Module):
    """NeuroBench feeds ``(batch, time, ...)``; the model takes ``(time, batch, ...)``."""

    def __init__(self, net: LeNetFromGraph) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(0, 1))[0]
