"""Random but valid graphs for property tests: structure from hypothesis, values from a seed.

A network is a stem of convolutions (optionally with a two-branch SEW-style sum after the
first), then residual blocks of the kinds a Spiking ResNet uses, then two linear layers
and the readout:

* ``standard``: conv3x3-act-conv3x3, plus the shortcut *current* (identity: the block's
  input events; projection: a 1x1 conv, when the shape changes), summed, then the act;
* ``sew``: conv3x3-act-conv3x3-act, plus the shortcut *events* (identity, or a 1x1
  conv-act when the shape changes), summed after the neurons: graded outputs.

The neurons vary too: per-neuron or per-channel thresholds, hard resets, own biases,
``v >= threshold`` instead of ``v > threshold``, and current-based neurons
(``cuba_neuron``) mixed with plain ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from asnn_sim.graph.ir import Add, AvgPool2d, Conv2d, CubaNeuron, Flatten, Graph, Input, Linear, MaxPool2d, Neuron, Readout, ReLU


@dataclass
class Spec:
    """The structural choices of one random network."""

    encoding: str
    timesteps: int
    in_shape: tuple
    convs: list  # (c_out, k, stride, padding, pool[, dilation, groups]) with pool in {None, "max", "avg", "max-padded", "avg-padded"}
    residual: bool
    hidden: int
    classes: int
    zero_fraction: float
    per_timestep: bool
    ann: bool
    seed: int
    blocks: list = field(default_factory=list)  # (mode, c_out, stride) with mode "standard" or "sew"
    neuron: str = "plain"  # "plain", "varied" (thresholds, hard resets, biases, compare drawn per neuron node),
    # "cuba" (varied, and each neuron node a cuba_neuron with probability 1/2)


@st.composite
def specs(draw, ann: bool | None = None, encodings=("direct", "rate", "temporal", "binary", "hybrid", "hybrid-binary"), blocks=True):
    is_ann = draw(st.booleans()) if ann is None else ann
    encoding = draw(st.sampled_from(encodings))
    t = 1 if is_ann else draw(st.integers(2, 4))
    in_shape = (draw(st.integers(1, 3)), draw(st.integers(3, 9)), draw(st.integers(3, 9)))
    convs = []
    c_prev = in_shape[0]
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 3))
        c_out = draw(st.integers(1, 6))
        conv = (c_out, k, draw(st.integers(1, 2)), draw(st.integers(0, k - 1) if k > 1 else st.just(0)), draw(st.sampled_from([None, None, "max", "avg", "max-padded", "avg-padded"])))
        # sometimes dilated (2) and grouped (any common divisor of the channels)
        common = math.gcd(c_prev, c_out)
        dilation = draw(st.sampled_from([1, 1, 2])) if k > 1 else 1
        groups = draw(st.sampled_from([1, 1] + [g for g in range(2, common + 1) if common % g == 0]))
        convs.append(conv + (dilation, groups))
        c_prev = c_out
    n_blocks = draw(st.integers(0, 2)) if blocks else 0
    block_list = [(draw(st.sampled_from(["standard", "sew"])), draw(st.integers(1, 5)), draw(st.integers(1, 2))) for _ in range(n_blocks)]
    return Spec(
        encoding=encoding,
        timesteps=t,
        in_shape=in_shape,
        convs=convs,
        residual=draw(st.booleans()),
        hidden=draw(st.integers(1, 12)),
        classes=draw(st.integers(2, 5)),
        zero_fraction=draw(st.sampled_from([0.0, 0.3])),
        per_timestep=draw(st.booleans()),
        ann=is_ann,
        seed=draw(st.integers(0, 2**31 - 1)),
        blocks=block_list,
        neuron=draw(st.sampled_from(["plain", "varied", "cuba"])),
    )


class _Builder:
    """Appends nodes and tracks each value's shape (GraphError as soon as shapes don't fit)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        T = spec.timesteps
        encoder = None if spec.ann else {"name": spec.encoding, "timesteps": T, "thresholds": "uniform", "legacy": False, "seed": spec.seed % 1000}
        self.nodes = []
        self.shapes = {}
        self.add(Input("input", (), shape=spec.in_shape, encoder=encoder))

    def add(self, node):
        self.shapes[node.name] = node.output_shape([self.shapes[s] for s in node.inputs])
        self.nodes.append(node)
        return node.name

    def weights(self, *shape, fan_in):
        w = self.rng.normal(0, 1.6 / np.sqrt(fan_in), shape)
        w[self.rng.random(shape) < self.spec.zero_fraction] = 0
        return w

    def conv(self, name, src, c_out, k, s, p, sets=1, d=1, g=1):
        spec, T = self.spec, self.spec.timesteps
        c = self.shapes[src][0] // g
        ws = [0] + [1] * (T - 1) if sets == 2 else [0] * T
        weight = self.weights(sets, c_out, c, k, k, fan_in=c * k * k)
        bias = self.rng.normal(0.2, 0.3, (sets, c_out))
        if spec.neuron in ("varied", "cuba") and self.rng.random() < 0.2:
            bias = None  # a synaptic layer without bias
        return self.add(Conv2d(name, (src,), weight=weight, bias=bias, weight_set=np.array(ws), stride=s, padding=p,
                                dilation=d, groups=g))

    def act(self, name, src):
        spec, T, rng = self.spec, self.spec.timesteps, self.rng
        if spec.ann:
            return self.add(ReLU(name, (src,)))
        leak = rng.uniform(0.3, 1.0, T)
        gain = rng.uniform(0.5, 1.5, T)
        if not spec.per_timestep:
            leak, gain = np.full(T, leak[0]), np.full(T, gain[0])
        extra = {}
        if spec.neuron in ("varied", "cuba"):
            shape = self.shapes[src]
            per = rng.integers(3)
            thr_shape = () if per == 0 else ((shape[0],) + (1,) * (len(shape) - 1) if per == 1 else shape)
            extra["threshold"] = rng.uniform(0.5, 1.5, thr_shape)
            if rng.random() < 0.5:
                extra.update(reset="hard", v_reset=float(rng.uniform(-0.3, 0.3)))
            if rng.random() < 0.5:
                extra["bias"] = rng.normal(0, 0.2, shape)
            extra["compare"] = str(rng.choice(["gt", "ge"]))
        if spec.neuron == "cuba" and rng.random() < 0.5:
            syn_leak = rng.uniform(0.0, 1.0, T)
            syn_gain = rng.uniform(0.5, 1.5, T)
            if not spec.per_timestep:
                syn_leak, syn_gain = np.full(T, syn_leak[0]), np.full(T, syn_gain[0])
            return self.add(CubaNeuron(name, (src,), leak=leak, gain=gain, syn_leak=syn_leak, syn_gain=syn_gain,
                                       per_timestep=spec.per_timestep, **extra))
        return self.add(Neuron(name, (src,), leak=leak, gain=gain, per_timestep=spec.per_timestep, **extra))

    def block(self, i, src, mode, c_out, stride):
        c, h, w = self.shapes[src]
        a = self.act(f"b{i}_act1", self.conv(f"b{i}_conv1", src, c_out, 3, stride, 1))
        b = self.conv(f"b{i}_conv2", a, c_out, 3, 1, 1)
        reshape = stride != 1 or c_out != c
        if mode == "standard":
            short = self.conv(f"b{i}_short", src, c_out, 1, stride, 0) if reshape else src
            return self.act(f"b{i}_act2", self.add(Add(f"b{i}_add", (b, short))))
        out = self.act(f"b{i}_act2", b)
        short = self.act(f"b{i}_short_act", self.conv(f"b{i}_short", src, c_out, 1, stride, 0)) if reshape else src
        return self.add(Add(f"b{i}_add", (out, short)))


def build(spec: Spec) -> Graph:
    """Turn a spec into a graph; raises GraphError when the shapes do not fit."""
    b = _Builder(spec)
    T = spec.timesteps
    src = "input"
    hybrid = spec.encoding.startswith("hybrid") and not spec.ann
    for i, (c_out, k, s, p, pool, *dg) in enumerate(spec.convs):
        sets = 2 if (i == 0 and hybrid) else 1
        src = b.act(f"act{i}", b.conv(f"conv{i}", src, c_out, k, s, p, sets, *dg))
        if spec.residual and i == 0:
            # A second branch of the same shape, summed: graded (0, 1, 2) inputs downstream.
            res = b.act("act_res", b.conv("conv_res", "input", c_out, k, s, p, sets, *dg))
            src = b.add(Add("sum", (src, res)))
        if pool == "max":
            src = b.add(MaxPool2d(f"pool{i}", (src,), kernel=2, stride=2))
        elif pool == "avg":
            src = b.add(AvgPool2d(f"pool{i}", (src,), kernel=2, stride=1))
        elif pool == "max-padded":  # Spikformer's patch stages: 3x3, stride 2, padding 1
            src = b.add(MaxPool2d(f"pool{i}", (src,), kernel=3, stride=2, padding=1))
        elif pool == "avg-padded":
            src = b.add(AvgPool2d(f"pool{i}", (src,), kernel=3, stride=2, padding=1))
    for i, (mode, c_out, stride) in enumerate(spec.blocks):
        src = b.block(i, src, mode, c_out, stride)
    src = b.add(Flatten("flatten", (src,)))
    n_flat = b.shapes[src][0]
    fc1 = b.add(Linear("fc1", (src,), weight=b.weights(1, spec.hidden, n_flat, fan_in=n_flat), bias=b.rng.normal(0.2, 0.3, (1, spec.hidden)), weight_set=np.zeros(T, int)))
    act = b.act("act_fc", fc1)
    b.add(Linear("fc2", (act,), weight=b.weights(1, spec.classes, spec.hidden, fan_in=spec.hidden), bias=b.rng.normal(0, 0.1, (1, spec.classes)), weight_set=np.zeros(T, int)))
    scale = None if spec.ann or not spec.per_timestep else b.rng.uniform(0.5, 1.5, T)
    b.add(Readout("readout", ("fc2",), scale=scale))
    return Graph(b.nodes, "ann" if spec.ann else "snn", T)


def images_for(spec: Spec, n: int) -> np.ndarray:
    """Images in [0, 1] with exact zeros, so some pixels never fire."""
    rng = np.random.default_rng(spec.seed + 1)
    x = rng.random((n,) + spec.in_shape)
    x[x < 0.25] = 0
    return x
