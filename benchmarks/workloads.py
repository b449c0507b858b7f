"""The benchmark workloads: a trained digits LeNet, one wide convolution layer, and the
untrained, firing-calibrated ResNet-19 and Spikformer-4-384 at CIFAR size.

Both return a :class:`Workload`: the graph, the encoded frames every implementation is
fed (``(T, N, C, H, W)``, float64 holding exact 0/1 spikes or the analog image), the
labels where there are any, and the trained torch model for the LeNet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asnn_sim.graph.ir import Conv2d, Flatten, Graph, Input, Linear, MaxPool2d, Neuron, Readout

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
    key: str = ""  # the workload's short name (lenet, wide, resnet19)
    images: np.ndarray | None = None  # (N, C, H, W) before encoding, for end-to-end runs

    @property
    def n_samples(self) -> int:
        return self.frames.shape[1]


def _trained_run(cache: Path, log, encoding: str = "hybrid") -> Path:
    """The cached digits LeNet run, trained now if missing or trained with other settings."""
    from asnn_sim.training.train import TrainConfig, train

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
    cache.mkdir(parents=True, exist_ok=True)
    run = _trained_run(cache, log, encoding)
    return digits_run_workload(run, f"digits LeNet ({encoding}, T={LENET_CONFIG['timesteps']})", "lenet", limit)


def digits_run_workload(run: Path, name: str, key: str, limit: int | None = None) -> Workload:
    """A trained digits run as a workload: its exported graph and the test set (the first ``limit`` images)."""
    from asnn_sim.training.data import load_dataset
    from asnn_sim.graph.encoding import EncoderSpec
    from asnn_sim.interop.export import export_run

    graph = export_run(run)
    data = load_dataset("digits")
    x, y = data.x_test, data.y_test
    if limit is not None:
        x, y = x[:limit], y[:limit]
    # Encoded once, in float64 (the parity check's dtype); exact 0/1 spikes and the analog image.
    frames = EncoderSpec.from_dict(graph.input.encoder).encode(x.astype(np.float64))
    acc = json.loads((run / "summary.json").read_text())["test_accuracy"]
    return Workload(name, graph, frames, y, run, None, [f"trained test accuracy {acc:.4f}"], key, x)


def wide_conv(n_samples: int = 32, timesteps: int = 4, density: float = 0.1, seed: int = 0) -> Workload:
    """One 64->64 3x3 conv (padding 1) on 32x32 maps fed ~10 % binary spikes.

    Graph: input (64, 32, 32) -> conv -> neuron -> 8x8 max-pool -> flatten -> linear(1024 -> 10)
    -> readout. A graph ends in a readout, hence the small tail; its ACs are excluded from
    the conv's AC count (``focus = "conv"``).
    The frames are the ``rate`` encoding of a constant 0.1 image: independent Bernoulli(0.1)
    spikes per element and step.
    """
    from asnn_sim.graph.encoding import EncoderSpec

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
    return Workload(f"wide conv 64->64 3x3, 32x32, {density:.0%} input spikes, T={T}", graph, frames, None, None, "conv", key="wide")


def cifar_like_images(n: int, seed: int) -> np.ndarray:
    """CIFAR-shaped random images: each pixel uniform in [0, 1], smoothed over 2x2 blocks
    so neighbouring pixels correlate."""
    raw = np.random.default_rng(seed).random((n, 3, 17, 17))
    return (0.5 * (raw[:, :, :-1, :-1] + raw[:, :, 1:, 1:])).repeat(2, axis=2).repeat(2, axis=3)[:, :, :32, :32]


def calibrated_cifar_model(model_name: str, title: str, key: str, n_samples: int, timesteps: int, encoding: str,
                           target: float, cache: Path, log, lif: bool = False) -> Workload:
    """A registered CIFAR-size model (10 classes, 3x32x32), untrained, calibrated to fire ``target`` per layer.

    Weights are PyTorch's default initialisation (seed 0). Untrained networks are silent
    or saturated, so every neuron layer is calibrated on 8 images
    (:func:`asnn_sim.training.models.calibrate.calibrate_rate`: BatchNorm normalised on the batch,
    then each layer's gain bisected until its mean firing rate is ``target``); the graph
    is cached under ``cache``. Inputs are :func:`cifar_like_images`, a different draw
    from the calibration batch. ``lif=True`` builds the model with plain LIF neurons
    (``asnn=False``: one leak and one gain per layer, constant over time, no readout
    scale) and caches it under a name of its own (``..._lif_T...``).
    """
    import torch

    from asnn_sim.graph.encoding import EncoderSpec
    from asnn_sim.interop.export import EXPORTERS
    from asnn_sim.graph.ir import load_graph, save_graph
    from asnn_sim.training.models import build_model
    from asnn_sim.training.models.calibrate import calibrate_rate

    enc = EncoderSpec(encoding, timesteps)
    path = cache / f"{model_name}_{encoding}{'_lif' if lif else ''}_T{timesteps}_rate{round(target * 100)}.asnn"
    if path.is_file():
        graph = load_graph(path)
        notes = graph.metadata.get("notes", [])
    else:
        cache.mkdir(parents=True, exist_ok=True)
        log(f"calibrating {title} ({encoding}, T={timesteps}) to {target:.0%} firing per layer (done once, then cached) ...")
        torch.manual_seed(0)
        model = build_model(model_name, input_shape=(3, 32, 32), n_classes=10, encoder=enc, asnn=not lif)
        rates = calibrate_rate(model, torch.from_numpy(enc.encode(cifar_like_images(8, 1))).float(), target=target)
        notes = [f"calibrated firing rates on the calibration batch: {min(rates.values()):.3f} to {max(rates.values()):.3f}"]
        model = model.double().eval()
        graph = Graph(EXPORTERS[model_name](model, (3, 32, 32), timesteps), "snn", timesteps,
                      metadata={"model": model_name, "notes": notes})
        save_graph(graph, path)
    x = cifar_like_images(n_samples, 2).astype(np.float64)
    neuron = ", plain LIF" if lif else ""
    return Workload(f"{title} ({encoding}{neuron}, T={timesteps}, calibrated to {target:.0%} firing)", graph, enc.encode(x), None, None,
                    None, notes, key, x)


def resnet19(n_samples: int = 32, timesteps: int = 4, encoding: str = "hybrid", target: float = 0.15,
             cache: Path = CACHE, log=print) -> Workload:
    """The tdBN ResNet-19, calibrated (:func:`calibrated_cifar_model`)."""
    return calibrated_cifar_model("resnet19", "ResNet-19", "resnet19", n_samples, timesteps, encoding, target, cache, log)


def spikformer(n_samples: int = 8, timesteps: int = 4, encoding: str = "hybrid", target: float = 0.15,
               cache: Path = CACHE, log=print) -> Workload:
    """Spikformer-4-384, calibrated (:func:`calibrated_cifar_model`; the attention neuron,
    threshold 0.5 on integer products, fires as its inputs make it)."""
    return calibrated_cifar_model("spikformer-4-384", "Spikformer-4-384", "spikformer", n_samples, timesteps, encoding, target, cache,
                                  log)


def resnet19_lif(n_samples: int = 16, timesteps: int = 4, target: float = 0.15, cache: Path = CACHE, log=print) -> Workload:
    """The tdBN ResNet-19 with plain LIF neurons and direct coding, calibrated
    (:func:`calibrated_cifar_model` with ``lif=True``; cached as
    ``resnet19_direct_lif_T4_rate15.asnn``): the peers' ResNet workload."""
    return calibrated_cifar_model("resnet19", "ResNet-19", "resnet19-lif", n_samples, timesteps, "direct", target, cache, log,
                                  lif=True)
