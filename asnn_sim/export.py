"""Trained torch model -> :class:`asnn_sim.ir.Graph`, with BatchNorm folded into the weights.

Folding, per output channel ``c`` of a conv/linear followed by BatchNorm in eval mode::

    s[c]  = gamma[c] / sqrt(running_var[c] + eps)
    W'[c] = W[c] * s[c]
    b'[c] = (b[c] - running_mean[c]) * s[c] + beta[c]

so ``W' x + b' == BN(W x + b)`` exactly in real arithmetic (float64 export keeps the
difference at rounding level). Exporters are registered per model name in
:data:`EXPORTERS`. :func:`fold_avgpool` is an optional graph pass (not applied by
:func:`export_run`): it trades an average pool and the MACs on its analog outputs for a
wider linear layer reading spikes, which suits chips that take spikes only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from asnn_sim import __version__
from asnn_sim.ir import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Graph,
    Input,
    Linear,
    MaxPool2d,
    Neuron,
    Node,
    ReLU,
    Readout,
)
from asnn_sim.neurons import SpikingNeurons
from asnn_sim.train import load_run


def fold_batchnorm(layer: nn.Conv2d | nn.Linear, bn: nn.BatchNorm1d | nn.BatchNorm2d | None) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias of ``layer`` with ``bn`` (eval mode) folded in, as float64 arrays."""
    w = layer.weight.detach().double()
    b = layer.bias.detach().double() if layer.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        b = (b - bn.running_mean.double()) * scale + bn.bias.detach().double()
        w = w * scale.view(-1, *([1] * (w.dim() - 1)))
    return w.numpy(), b.numpy()


def _neuron(name: str, src: str, layer: SpikingNeurons, timesteps: int) -> Neuron:
    leak = layer.leak.detach().double().numpy()
    gain = layer.gain.detach().double().numpy()
    if not layer.per_timestep:  # shared values, stored once per step for the simulator
        leak, gain = np.repeat(leak, timesteps), np.repeat(gain, timesteps)
    return Neuron(name, (src,), leak=leak, gain=gain, per_timestep=layer.per_timestep)


def _conv(name: str, src: str, pairs: list[tuple[nn.Conv2d, nn.Module | None]], weight_set: list[int]) -> Conv2d:
    folded = [fold_batchnorm(c, bn) for c, bn in pairs]
    conv = pairs[0][0]
    return Conv2d(
        name,
        (src,),
        weight=np.stack([w for w, _ in folded]),
        bias=np.stack([b for _, b in folded]),
        weight_set=np.array(weight_set),
        stride=conv.stride,
        padding=conv.padding,
    )


def _linear(name: str, src: str, layer: nn.Linear, bn: nn.Module | None, timesteps: int) -> Linear:
    w, b = fold_batchnorm(layer, bn)
    return Linear(name, (src,), weight=w[None], bias=b[None], weight_set=np.zeros(timesteps, dtype=np.int64))


def export_lenet(model: nn.Module, input_shape: tuple[int, int, int], timesteps: int) -> list[Node]:
    """Nodes of the reference LeNet (spiking or ANN twin)."""
    spiking = model.is_spiking
    nodes: list[Node] = [Input("input", (), shape=input_shape, encoder=model.encoder.to_dict() if spiking else None)]
    if spiking and model.hybrid:
        # Weight set 0 is the analog first conv, used where the encoder emits analog frames.
        kinds = model.encoder.frame_kinds
        pairs = [(model.conv1_analog, model.bn1_analog), (model.conv1, model.bn1)]
        weight_set = [0 if k == "analog" else 1 for k in kinds]
    else:
        pairs, weight_set = [(model.conv1, model.bn1)], [0] * timesteps
    nodes.append(_conv("conv1", "input", pairs, weight_set))
    convs = [("conv2", model.conv2, model.bn2), ("conv3", model.conv3, model.bn3)]
    activations = [model.lif1, model.lif2, model.lif3, model.lif4] if spiking else [None] * 4

    def act(i: int, src: str) -> str:
        name = f"lif{i + 1}" if spiking else f"relu{i + 1}"
        nodes.append(_neuron(name, src, activations[i], timesteps) if spiking else ReLU(name, (src,)))
        return name

    src = act(0, "conv1")
    for i, (name, conv, bn) in enumerate(convs, start=1):
        nodes.append(MaxPool2d(f"pool{i}", (src,), kernel=2, stride=2))
        nodes.append(_conv(name, f"pool{i}", [(conv, bn)], [0] * timesteps))
        src = act(i, name)
    nodes.append(MaxPool2d("pool3", (src,), kernel=2, stride=2))
    nodes.append(Flatten("flatten", ("pool3",)))
    nodes.append(_linear("fc1", "flatten", model.fc1, model.bn4, timesteps))
    src = act(3, "fc1")
    nodes.append(_linear("fc2", src, model.fc2, None, timesteps))
    scale = model.readout.scale if spiking else None
    nodes.append(Readout("readout", ("fc2",), scale=None if scale is None else scale.detach().double().numpy()))
    return nodes


#: model name -> function(model, input_shape, timesteps) -> nodes
EXPORTERS: dict[str, Callable[[nn.Module, tuple[int, int, int], int], list[Node]]] = {"lenet": export_lenet}


def fold_avgpool(graph: Graph) -> Graph:
    """Fold ``avgpool2d -> flatten -> linear`` into one linear layer where that is exact.

    Exact when the pool's stride equals its kernel and tiles the input completely: each
    pooled value is then the mean of a disjoint window, so the linear layer can read the
    window directly with its weight divided by the window size. Other avg-pools are left
    for the simulator to run.
    """
    nodes = list(graph.nodes)
    i = 0
    while i < len(nodes) - 2:
        pool, flat, lin = nodes[i : i + 3]
        c, h, w = graph.shapes[pool.inputs[0]] if isinstance(pool, AvgPool2d) else (0, 0, 0)
        exact = (
            isinstance(pool, AvgPool2d)
            and isinstance(flat, Flatten)
            and isinstance(lin, Linear)
            and flat.inputs == (pool.name,)
            and lin.inputs == (flat.name,)
            and len(graph.consumers(pool.name)) == 1
            and len(graph.consumers(flat.name)) == 1
            and pool.kernel == pool.stride
            and h % pool.kernel[0] == 0
            and w % pool.kernel[1] == 0
        )
        if not exact:
            i += 1
            continue
        kh, kw = pool.kernel
        ho, wo = h // kh, w // kw
        sets, out, _ = lin.weight.shape
        wt = lin.weight.reshape(sets, out, c, ho, 1, wo, 1) / (kh * kw)
        wt = np.broadcast_to(wt, (sets, out, c, ho, kh, wo, kw)).reshape(sets, out, c * h * w)
        new_flat = Flatten(flat.name, pool.inputs)
        new_lin = Linear(lin.name, (flat.name,), weight=np.ascontiguousarray(wt), bias=lin.bias, weight_set=lin.weight_set)
        nodes[i : i + 3] = [new_flat, new_lin]
        graph = Graph(nodes, graph.kind, graph.timesteps, graph.class_names, graph.metadata)
        nodes = list(graph.nodes)
    return graph


def export_run(run_dir: str | Path) -> Graph:
    """Export a finished training run to a validated graph (float64 weights).

    Parameters
    ----------
    run_dir : path
        Written by ``asnn train``.

    Returns
    -------
    Graph
    """
    run_dir = Path(run_dir)
    config, model = load_run(run_dir)
    meta = json.loads((run_dir / "config.json").read_text())
    model = model.double().eval()
    timesteps = 1 if config.ann else config.timesteps
    exporter = EXPORTERS.get(config.model)
    if exporter is None:
        raise ValueError(f"no exporter for model {config.model!r}; known: {', '.join(EXPORTERS)}")
    with torch.no_grad():
        nodes = exporter(model, tuple(meta["input_shape"]), timesteps)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    metadata = {
        "model": config.model,
        "dataset": config.dataset,
        "asnn": bool(config.asnn) and not config.ann,
        "train_config": meta["config"],
        "source_run": str(run_dir),
        "train_test_accuracy": summary.get("test_accuracy"),
        "exported_by": f"asnn-sim {__version__}",
    }
    return Graph(nodes, "ann" if config.ann else "snn", timesteps, meta.get("class_names", []), metadata)
