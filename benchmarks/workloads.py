"""The benchmark workloads: a trained digits LeNet and one wide convolution layer.

Both return a :class:`Workload`: the graph, the encoded frames every implementation is
fed (``(T, N, C, H, W)``, float64 holding exact 0/1 spikes or the analog image), the
labels where there are any, and the trained torch model for the LeNet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asnn_sim.ir import Conv2d, Flatten, Graph, Input, Linear, MaxPool2d, Neuron, Readout

CACHE = Path(__file__).resolve().parent / ".cache"
LENET_RUN = "digits_lenet_hybrid_T4"
LENET_CONFIG = {"model": "lenet", "dataset": "digits", "encoding": "hybrid", "timesteps": 4, "epochs": 30, "seed": 0}


def lenet_run_name(encoding: str = "hybrid") -> str:
    """Cache folder of the digits LeNet trained with ``encoding`` (``LENET_RUN`` for hybrid)."""
    return f"digits_lenet_{encoding}_T{LENET_CONFIG['timesteps']}"


@dataclass
class Workload:
    name: str
    graph: Graph
    frames: np.ndarray  # (T, N, C, H, W) float64
    labels: np.ndarray | None = None
    run_dir: Path | None = None
    focus: str | None = None  # the synaptic layer whose ACs are reported (None: all layers)
    notes: list = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return self.frames.shape[1]


def _trained_run(cache: Path, log, encoding: str = "hybrid") -> Path:
    """The cached digits LeNet run, trained now if missing or trained with other settings."""
    from asnn_sim.train import TrainConfig, train

    config = {**LENET_CONFIG, "encoding": encoding}
    run = cache / lenet_run_name(encoding)
    done = run / "model.pt"
    if done.is_file() and (run / "summary.json").is_file():
        stored = json.loads((run / "config.json").read_text())["config"]
        if all(stored.get(k) == v for k, v in config.items()):
            return run
    log(f"training the digits LeNet ({config}) into {run} (done once, then cached) ...")
    train(TrainConfig(**config), run, progress=False, force=True)
    return run


def lenet(cache: Path = CACHE, limit: int | None = None, log=print, encoding: str = "hybrid") -> Workload:
    """Digits LeNet, T=4, on the 360-sample test set (hybrid coding unless ``encoding`` says otherwise)."""
    from asnn_sim.data import load_dataset
    from asnn_sim.encoding import EncoderSpec
    from asnn_sim.export import export_run

    cache.mkdir(parents=True, exist_ok=True)
    run = _trained_run(cache, log, encoding)
    graph = export_run(run)
    data = load_dataset("digits")
    x, y = data.x_test, data.y_test
    if limit is not None:
        x, y = x[:limit], y[:limit]
    # Encoded once, in float64 (the parity check's dtype); exact 0/1 spikes and the analog image.
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(x.astype(np.float64))
    acc = json.loads((run / "summary.json").read_text())["test_accuracy"]
    name = f"digits LeNet ({encoding}, T={LENET_CONFIG['timesteps']})"
    return Workload(name, graph, frames, y, run, None, [f"trained test accuracy {acc:.4f}"])


def wide_conv(n_samples: int = 32, timesteps: int = 4, density: float = 0.1, seed: int = 0) -> Workload:
    """One 64->64 3x3 conv (padding 1) on 32x32 maps fed ~10 % binary spikes.

    Graph: input (64, 32, 32) -> conv -> neuron -> 8x8 max-pool -> flatten -> linear(1024 -> 10)
    -> readout. The IR requires every synaptic layer to feed a neuron or readout, hence the
    small tail; its ACs are excluded from the conv's AC count (``focus = "conv"``).
    The frames are the ``rate`` encoding of a constant 0.1 image: independent Bernoulli(0.1)
    spikes per element and step.
    """
    from asnn_sim.encoding import EncoderSpec

    rng = np.random.default_rng(seed)
    c, hw, k = 64, 32, 3
    T = timesteps
    steps = np.zeros(T, np.int64)
    enc = EncoderSpec("rate", T, seed=seed)
    w = rng.normal(0.0, 2.0 / np.sqrt(c * k * k), (1, c, c, k, k))
    pooled = c * (hw // 8) * (hw // 8)
    nodes = [
        Input("input", (), shape=(c, hw, hw), encoder=enc.to_dict()),
        Conv2d("conv", ("input",), weight=w, bias=rng.normal(0.1, 0.1, (1, c)), weight_set=steps, stride=1, padding=1),
        Neuron("lif", ("conv",), leak=np.full(T, 0.9), gain=np.full(T, 1.0), per_timestep=False),
        MaxPool2d("pool", ("lif",), kernel=8, stride=8),
        Flatten("flatten", ("pool",)),
        Linear("fc", ("flatten",), weight=rng.normal(0, 1 / np.sqrt(pooled), (1, 10, pooled)), bias=np.zeros((1, 10)), weight_set=steps),
        Readout("readout", ("fc",)),
    ]
    graph = Graph(nodes, "snn", T)
    frames = enc.encode(np.full((n_samples, c, hw, hw), density, np.float64), np.random.default_rng([seed, 1]))
    return Workload(f"wide conv 64->64 3x3, 32x32, {density:.0%} input spikes, T={T}", graph, frames, None, None, "conv")
