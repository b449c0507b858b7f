"""Random but valid graphs for property tests: structure from hypothesis, values from a seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from asnn_sim.ir import Add, AvgPool2d, Conv2d, Flatten, Graph, Input, Linear, MaxPool2d, Neuron, Readout, ReLU


@dataclass
class Spec:
    """The structural choices of one random network."""

    encoding: str
    timesteps: int
    in_shape: tuple
    convs: list  # (c_out, k, stride, padding, pool) with pool in {None, "max", "avg"}
    residual: bool
    hidden: int
    classes: int
    zero_fraction: float
    per_timestep: bool
    ann: bool
    seed: int


@st.composite
def specs(draw, ann: bool | None = None, encodings=("direct", "rate", "temporal", "binary", "hybrid", "hybrid-binary")):
    is_ann = draw(st.booleans()) if ann is None else ann
    encoding = draw(st.sampled_from(encodings))
    t = 1 if is_ann else draw(st.integers(2, 4))
    convs = []
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 3))
        convs.append((draw(st.integers(1, 6)), k, draw(st.integers(1, 2)), draw(st.integers(0, k - 1) if k > 1 else st.just(0)), draw(st.sampled_from([None, None, "max", "avg"]))))
    return Spec(
        encoding=encoding,
        timesteps=t,
        in_shape=(draw(st.integers(1, 3)), draw(st.integers(3, 9)), draw(st.integers(3, 9))),
        convs=convs,
        residual=draw(st.booleans()),
        hidden=draw(st.integers(1, 12)),
        classes=draw(st.integers(2, 5)),
        zero_fraction=draw(st.sampled_from([0.0, 0.3])),
        per_timestep=draw(st.booleans()),
        ann=is_ann,
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def build(spec: Spec) -> Graph:
    """Turn a spec into a graph; raises GraphError when the shapes do not fit."""
    rng = np.random.default_rng(spec.seed)
    T = spec.timesteps
    nodes = [Input("input", (), shape=spec.in_shape, encoder=None if spec.ann else {"name": spec.encoding, "timesteps": T, "thresholds": "uniform", "legacy": False, "seed": spec.seed % 1000})]

    def weights(*shape, fan_in):
        w = rng.normal(0, 1.6 / np.sqrt(fan_in), shape)
        w[rng.random(shape) < spec.zero_fraction] = 0
        return w

    def activation(name, src):
        if spec.ann:
            return ReLU(name, (src,))
        leak = rng.uniform(0.3, 1.0, T)
        gain = rng.uniform(0.5, 1.5, T)
        if not spec.per_timestep:
            leak, gain = np.full(T, leak[0]), np.full(T, gain[0])
        return Neuron(name, (src,), leak=leak, gain=gain, per_timestep=spec.per_timestep)

    src = "input"
    c = spec.in_shape[0]
    hybrid = spec.encoding.startswith("hybrid") and not spec.ann
    for i, (c_out, k, s, p, pool) in enumerate(spec.convs):
        sets = 2 if (i == 0 and hybrid) else 1
        ws = [0] + [1] * (T - 1) if sets == 2 else [0] * T
        nodes.append(Conv2d(f"conv{i}", (src,), weight=weights(sets, c_out, c, k, k, fan_in=c * k * k),
                            bias=rng.normal(0.2, 0.3, (sets, c_out)), weight_set=np.array(ws), stride=s, padding=p))
        nodes.append(activation(f"act{i}", f"conv{i}"))
        src = f"act{i}"
        if spec.residual and i == 0:
            # A second branch of the same shape, summed: graded (0, 1, 2) inputs downstream.
            nodes.append(Conv2d("conv_res", ("input",), weight=weights(sets, c_out, c, k, k, fan_in=c * k * k),
                                bias=rng.normal(0.2, 0.3, (sets, c_out)), weight_set=np.array(ws), stride=s, padding=p))
            nodes.append(activation("act_res", "conv_res"))
            nodes.append(Add("sum", (src, "act_res")))
            src = "sum"
        if pool == "max":
            nodes.append(MaxPool2d(f"pool{i}", (src,), kernel=2, stride=2))
            src = f"pool{i}"
        elif pool == "avg":
            nodes.append(AvgPool2d(f"pool{i}", (src,), kernel=2, stride=1))
            src = f"pool{i}"
        c = c_out
    nodes.append(Flatten("flatten", (src,)))
    n_flat = _flat_size(nodes, spec)
    nodes.append(Linear("fc1", ("flatten",), weight=weights(1, spec.hidden, n_flat, fan_in=n_flat), bias=rng.normal(0.2, 0.3, (1, spec.hidden)), weight_set=np.zeros(T, int)))
    nodes.append(activation("act_fc", "fc1"))
    nodes.append(Linear("fc2", ("act_fc",), weight=weights(1, spec.classes, spec.hidden, fan_in=spec.hidden), bias=rng.normal(0, 0.1, (1, spec.classes)), weight_set=np.zeros(T, int)))
    scale = None if spec.ann or not spec.per_timestep else rng.uniform(0.5, 1.5, T)
    nodes.append(Readout("readout", ("fc2",), scale=scale))
    return Graph(nodes, "ann" if spec.ann else "snn", T)


def _flat_size(nodes, spec) -> int:
    """Size of the flatten output, propagating shapes node by node (GraphError if they don't fit)."""
    shapes = {}
    for node in nodes:
        shapes[node.name] = node.output_shape([shapes[s] for s in node.inputs])
    return shapes["flatten"][0]


def images_for(spec: Spec, n: int) -> np.ndarray:
    """Images in [0, 1] with exact zeros, so some pixels never fire."""
    rng = np.random.default_rng(spec.seed + 1)
    x = rng.random((n,) + spec.in_shape)
    x[x < 0.25] = 0
    return x
