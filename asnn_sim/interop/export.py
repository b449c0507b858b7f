"""Trained torch model -> :class:`asnn_sim.graph.ir.Graph`, with BatchNorm folded into the weights.

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
import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from asnn_sim import __version__
from asnn_sim.graph.ir import (
    Add,
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
from asnn_sim.training.neurons import SpikingNeurons
from asnn_sim.training.train import load_run


def fold_batchnorm(layer: nn.Conv2d | nn.Linear, bn: nn.BatchNorm1d | nn.BatchNorm2d | None) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias of ``layer`` with ``bn`` (eval mode) folded in, as float64 arrays.

    The rule of :func:`asnn_sim.interop.builder.fold_bn`, computed in torch: torch's and numpy's
    float64 kernels round a few weights differently (measured on trained Spikformers), and
    exported graphs keep the bits they have always had."""
    w = layer.weight.detach().double()
    b = layer.bias.detach().double() if layer.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        b = (b - bn.running_mean.double()) * scale + bn.bias.detach().double()
        w = w * scale.view(-1, *([1] * (w.dim() - 1)))
    return w.numpy(), b.numpy()


def _neuron(name: str, src: str, layer: SpikingNeurons, timesteps: int, folded_scale: float = 1.0) -> Neuron:
    """The layer as a neuron node; ``folded_scale``: a power-of-two scale of the input
    current taken into the threshold (threshold / scale; see :func:`export_spikformer`)."""
    leak = layer.leak.detach().double().numpy()
    gain = layer.gain.detach().double().numpy()
    if not layer.per_timestep:  # shared values, stored once per step for the simulator
        leak, gain = np.repeat(leak, timesteps), np.repeat(gain, timesteps)
    threshold = layer.threshold / folded_scale
    extra = {} if threshold == 1.0 else {"threshold": np.array(float(threshold))}
    if layer.reset == "hard":  # to 0, which a folded scale leaves at 0
        extra.update(reset="hard", v_reset=0.0)
    return Neuron(name, (src,), leak=leak, gain=gain, per_timestep=layer.per_timestep, **extra)


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
        dilation=conv.dilation,
        groups=conv.groups,
    )


def _linear(name: str, src: str, layer: nn.Linear, bn: nn.Module | None, timesteps: int) -> Linear:
    w, b = fold_batchnorm(layer, bn)
    return Linear(name, (src,), weight=w[None], bias=b[None], weight_set=np.zeros(timesteps, dtype=np.int64))


def export_lenet(model: nn.Module, input_shape: tuple[int, int, int], timesteps: int) -> list[Node]:
    """Nodes of the reference LeNet (spiking or ANN twin), with max or average pools as trained."""
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

    # 2x2 pools: maxpool2d, or avgpool2d (analog outputs, read as MACs) for pool="avg"
    Pool = AvgPool2d if isinstance(model.pool, nn.AvgPool2d) else MaxPool2d
    src = act(0, "conv1")
    for i, (name, conv, bn) in enumerate(convs, start=1):
        nodes.append(Pool(f"pool{i}", (src,), kernel=2, stride=2))
        nodes.append(_conv(name, f"pool{i}", [(conv, bn)], [0] * timesteps))
        src = act(i, name)
    nodes.append(Pool("pool3", (src,), kernel=2, stride=2))
    nodes.append(Flatten("flatten", ("pool3",)))
    nodes.append(_linear("fc1", "flatten", model.fc1, model.bn4, timesteps))
    src = act(3, "fc1")
    nodes.append(_linear("fc2", src, model.fc2, None, timesteps))
    scale = model.readout.scale if spiking else None
    nodes.append(Readout("readout", ("fc2",), scale=None if scale is None else scale.detach().double().numpy()))
    return nodes


def _first_conv(model: nn.Module, name: str, analog: tuple | None, shared: tuple, timesteps: int) -> Conv2d:
    """The input layer: hybrid coding stores the analog frame's conv + BN as weight set 0."""
    if model.is_spiking and model.hybrid:
        kinds = model.encoder.frame_kinds
        return _conv(name, "input", [analog, shared], [0 if k == "analog" else 1 for k in kinds])
    return _conv(name, "input", [shared], [0] * timesteps)


def export_resnet(model: nn.Module, input_shape: tuple[int, int, int], timesteps: int) -> list[Node]:
    """Nodes of a Spiking ResNet or its ANN twin (see :mod:`asnn_sim.training.models.resnet`).

    Standard blocks sum the second conv's current with the shortcut's (a 1x1 conv's
    current, or the block input's spikes) in an ``add`` that feeds the block's last
    neuron; SEW blocks add the shortcut's events after it (graded outputs). The global
    average pool is an ``avgpool2d`` over the whole map. ANN twins name their ReLU nodes
    like the neurons, with ``lif`` read as ``relu``.
    """
    spiking = model.is_spiking
    nodes: list[Node] = [Input("input", (), shape=input_shape, encoder=model.encoder.to_dict() if spiking else None)]

    def act(name: str, src: str, layer) -> str:
        if not spiking:
            name = name.replace("lif", "relu")
        nodes.append(_neuron(name, src, layer, timesteps) if spiking else ReLU(name, (src,)))
        return name

    def conv(name: str, src: str, conv_layer: nn.Conv2d, bn: nn.Module) -> str:
        nodes.append(_conv(name, src, [(conv_layer, bn)], [0] * timesteps))
        return name

    analog = (model.stem_conv_analog, model.stem_bn_analog) if spiking and model.hybrid else None
    nodes.append(_first_conv(model, "stem_conv", analog, (model.stem_conv, model.stem_bn), timesteps))
    src = act("stem_lif", "stem_conv", model.stem_lif if spiking else None)
    for key, block in model.blocks.items():
        a1 = act(f"{key}_lif1", conv(f"{key}_conv1", src, block.conv1, block.bn1), block.lif1 if spiking else None)
        c2 = conv(f"{key}_conv2", a1, block.conv2, block.bn2)
        short = conv(f"{key}_short_conv", src, block.short_conv, block.short_bn) if block.downsample else src
        if block.residual == "standard":
            nodes.append(Add(f"{key}_add", (c2, short)))
            src = act(f"{key}_lif2", f"{key}_add", block.lif2 if spiking else None)
        else:
            a2 = act(f"{key}_lif2", c2, block.lif2 if spiking else None)
            if block.downsample:
                short = act(f"{key}_short_lif", short, block.short_lif if spiking else None)
            nodes.append(Add(f"{key}_add", (a2, short)))
            src = f"{key}_add"
    # the global average pool: one window over the whole map
    h = input_shape[1]
    w = input_shape[2]
    for _, _, stride in model.config.stages:
        h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
    nodes.append(AvgPool2d("pool", (src,), kernel=(h, w), stride=(h, w)))
    nodes.append(Flatten("flatten", ("pool",)))
    src = "flatten"
    if model.fc1 is not None:
        nodes.append(_linear("fc1", src, model.fc1, None, timesteps))
        src = act("fc1_lif", "fc1", model.fc1_lif if spiking else None)
    nodes.append(_linear("fc", src, model.fc, None, timesteps))
    scale = model.readout.scale if spiking else None
    nodes.append(Readout("readout", ("fc",), scale=None if scale is None else scale.detach().double().numpy()))
    return nodes


def _is_power_of_two(x: float) -> bool:
    return x > 0 and math.isfinite(x) and math.frexp(x)[0] == 0.5


def _maxpool(name: str, src: str, pool: tuple[int, int, int]) -> MaxPool2d:
    kernel, stride, padding = pool
    return MaxPool2d(name, (src,), kernel=kernel, stride=stride, padding=padding)


def export_spikformer(model: nn.Module, input_shape: tuple[int, int, int], timesteps: int) -> list[Node]:
    """Nodes of a Spikformer or its ANN twin (see :mod:`asnn_sim.training.models.spikformer`).

    The graph stays in the channel-first ``(D, H', W')`` layout, which the simulator
    stores token-major: patch convs (BN folded; a hybrid model's analog first conv is
    weight set 0 of ``patch_conv1``), neurons, max-pools, the relative-position conv and
    its ``add`` (events + events: graded); per block ``token_linear`` nodes (BN folded)
    for q, k, v, proj, fc1, fc2, an ``attention`` node reading the q, k, v neurons, and
    two residual ``add`` nodes; then ``avgpool2d`` over the token grid, ``flatten``, the
    ``linear`` head and the ``readout``.

    The attention scale (0.125) of a spiking model is folded into the attention neuron
    when it is a power of two: the node's ``scale`` is 1 and the neuron's threshold is
    ``attn_threshold / scale`` (0.5 / 0.125 = 4). That is exact in floating point:
    multiplying a current by 2^k multiplies every membrane value (``leak * v + gain * I``,
    the soft reset by the threshold; a hard reset to 0 stays 0) by 2^k without rounding, so every comparison with
    the threshold comes out the same. Otherwise the scale stays on the node. ANN twins
    keep the scale on the node (``ReLU(scale * A)``).
    """
    from asnn_sim.graph.nodes import KINDS

    if "token_linear" not in KINDS or "attention" not in KINDS:
        raise ValueError("exporting a Spikformer needs the token_linear and attention node kinds")
    TokenLinear, Attention = KINDS["token_linear"], KINDS["attention"]
    spiking = model.is_spiking
    cfg = model.config
    sets = np.zeros(timesteps, dtype=np.int64)
    nodes: list[Node] = [Input("input", (), shape=input_shape, encoder=model.encoder.to_dict() if spiking else None)]

    def act(name: str, src: str, layer, folded_scale: float = 1.0) -> str:
        if not spiking:
            name = name.replace("lif", "relu")
        nodes.append(_neuron(name, src, layer, timesteps, folded_scale) if spiking else ReLU(name, (src,)))
        return name

    def token(name: str, src: str, linear: nn.Linear, bn: nn.Module) -> str:
        w, b = fold_batchnorm(linear, bn)
        nodes.append(TokenLinear(name, (src,), weight=w[None], bias=b[None], weight_set=sets))
        return name

    analog = (model.patch_conv1_analog, model.patch_bn1_analog) if spiking and model.hybrid else None
    nodes.append(_first_conv(model, "patch_conv1", analog, (model.patch_conv1, model.patch_bn1), timesteps))
    src = act("patch_lif1", "patch_conv1", model.patch_lif1 if spiking else None)
    for i in range(1, 5):
        if i > 1:
            nodes.append(_conv(f"patch_conv{i}", src, [(getattr(model, f"patch_conv{i}"), getattr(model, f"patch_bn{i}"))],
                               [0] * timesteps))
            src = act(f"patch_lif{i}", f"patch_conv{i}", getattr(model, f"patch_lif{i}") if spiking else None)
        if i in cfg.pool_after:
            nodes.append(_maxpool(f"patch_pool{i}", src, cfg.pool))
            src = f"patch_pool{i}"
    nodes.append(_conv("rpe_conv", src, [(model.rpe_conv, model.rpe_bn)], [0] * timesteps))
    rpe = act("rpe_lif", "rpe_conv", model.rpe_lif if spiking else None)
    nodes.append(Add("rpe_add", (src, rpe)))
    x = "rpe_add"
    fold = spiking and _is_power_of_two(cfg.scale)
    for j, block in enumerate(model.blocks):
        p = f"b{j}"

        def layer(n: str, src: str) -> str:
            return act(f"{p}_{n}_lif", token(f"{p}_{n}", src, getattr(block, f"{n}_linear"), getattr(block, f"{n}_bn")),
                       getattr(block, f"{n}_lif") if spiking else None)

        q, k, v = layer("q", x), layer("k", x), layer("v", x)
        nodes.append(Attention(f"{p}_attn", (q, k, v), heads=cfg.heads, scale=1.0 if fold else float(cfg.scale)))
        a = act(f"{p}_attn_lif", f"{p}_attn", block.attn_lif if spiking else None, cfg.scale if fold else 1.0)
        nodes.append(Add(f"{p}_add1", (x, layer("proj", a))))
        x = f"{p}_add1"
        nodes.append(Add(f"{p}_add2", (x, layer("fc2", layer("fc1", x)))))
        x = f"{p}_add2"
    nodes.append(AvgPool2d("pool", (x,), kernel=model.grid, stride=model.grid))  # the mean over tokens
    nodes.append(Flatten("flatten", ("pool",)))
    nodes.append(_linear("head", "flatten", model.head, None, timesteps))
    scale = model.readout.scale if spiking else None
    nodes.append(Readout("readout", ("head",), scale=None if scale is None else scale.detach().double().numpy()))
    return nodes


#: model name -> function(model, input_shape, timesteps) -> nodes
EXPORTERS: dict[str, Callable[[nn.Module, tuple[int, int, int], int], list[Node]]] = {
    "lenet": export_lenet,
    **{name: export_resnet for name in ("resnet-small", "resnet19", "resnet18", "resnet34")},
    **{name: export_spikformer for name in ("spikformer-small", "spikformer-4-384")},
}


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
