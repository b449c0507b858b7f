"""The reference network: 3 conv (32, 48, 64 channels) + FC 256 + FC classes, and its ANN twin.

Each conv is 3x3 with padding 1, followed by BatchNorm, the neuron (or ReLU) and a 2x2
pool (max, the reference's, or average: ``pool="avg"``, which NIR can express), so the
spatial size is divided by 8 before the first fully connected layer:
1x8x8 digits end at 64x1x1, 1x28x28 MNIST at 64x3x3 and 3x32x32 CIFAR at 64x4x4 (the
reference's 1024 features).

The spiking model runs *layer by layer over all timesteps* (each conv sees a T*B batch,
then the neurons loop over T). Inference is identical to the reference's step-by-step
loop. In training, BatchNorm's batch statistics are pooled over all timesteps rather
than taken per step; this matches what its running statistics (shared by every step)
use at test time, and it is several times faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.training.models import POOLS
from asnn_sim.util.names import unknown_name
from asnn_sim.training.neurons import Readout, SpikingNeurons

CHANNELS = (32, 48, 64)
HIDDEN = 256


def _flat_features(input_shape: tuple[int, int, int]) -> int:
    c, h, w = input_shape
    if h < 8 or w < 8:
        raise ValueError(f"lenet needs inputs of at least 8x8 pixels (three 2x2 pools); got {h}x{w}")
    return CHANNELS[-1] * (h // 8) * (w // 8)


def _pool(pool: str) -> nn.Module:
    """The 2x2 pool, stride 2: ``"max"`` or ``"avg"``. An average of spikes is a fraction,
    so with ``"avg"`` the next layer reads analog values (MACs in the simulator)."""
    if pool not in POOLS:
        raise ValueError(unknown_name("pool", pool, POOLS))
    return nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)


def _over_time(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-sample function to every timestep at once: (T, B, ...) -> (T, B, ...).

    Feature maps travel channels-last (``torch.channels_last``): on a CPU, max-pooling
    them is about ten times faster and BatchNorm about twice (the neurons keep any
    layout). Values are the same; only the memory order changes.
    """
    y = fn(_channels_last(x.flatten(0, 1)))
    return _channels_last(y).unflatten(0, x.shape[:2])


def conv_bn(conv: nn.Module, bn: nn.Module):
    """``bn(conv(z))`` with the conv's output made channels-last first (a one-channel input
    leaves a conv's output in the default layout; the BatchNorm is faster channels-last)."""
    return lambda z: bn(_channels_last(conv(z)))


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """A 4-D ``(N, C, H, W)`` tensor in channels-last memory order (a no-op when it is); others unchanged."""
    if x.dim() != 4:
        return x
    n, c, h, w = x.shape
    if c == 1 and x.is_contiguous():
        # With one channel both layouts are the same memory, and torch reads the tensor as
        # the default layout (so a conv's output would be too): strides that say
        # channels-last make the conv write its output channels-last, sparing a copy.
        return x.as_strided(x.shape, (h * w, 1, w, 1))
    return x.contiguous(memory_format=torch.channels_last)


def first_layer_current(frames: torch.Tensor, shared, analog=None) -> torch.Tensor:
    """The first layer's current ``(T, B, ...)``: ``shared`` at every step, or for hybrid
    codes ``analog`` at step 0 (the analog frame) and ``shared`` at steps 1..T-1."""
    if analog is None:
        return _over_time(shared, frames)
    # Joined as (T*B, ...) maps: a cat of two channels-last maps stays channels-last.
    first = _channels_last(analog(_channels_last(frames[0])))
    rest = _over_time(shared, frames[1:]).flatten(0, 1)
    return torch.cat([first, rest]).unflatten(0, frames.shape[:2])


@dataclass
class StepOutputs:
    """What a spiking forward pass produced at every timestep.

    Attributes
    ----------
    logits : torch.Tensor
        Per-step readout logits ``(T, B, K)``, after the per-step scale; the prediction is
        their mean over T.
    spikes : dict[str, torch.Tensor]
        Output spikes ``(T, B, ...)`` of each spiking layer, keyed by the name of its
        neuron node in the exported graph, when recording was asked for; else empty.
    """

    logits: torch.Tensor
    spikes: dict[str, torch.Tensor]


class LeNetSNN(nn.Module):
    """Spiking LeNet with ASNN or plain LIF neurons.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image.
    n_classes : int
    encoder : EncoderSpec
        Input coding; hybrid codes get a second first conv + BN for the analog frame.
    asnn : bool
        Per-timestep leak/gain and a readout scale (True) or plain shared LIF (False).
    surrogate : str
        Surrogate gradient name (see :mod:`asnn_sim.training.neurons`).
    reset : {"soft", "hard"}
        What every neuron does after a spike: subtract the threshold, or go to 0.
    pool : {"max", "avg"}
        The 2x2 pools after each conv layer.
    """

    is_spiking = True

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_classes: int,
        encoder: EncoderSpec,
        asnn: bool = True,
        surrogate: str = "sigmoid",
        reset: str = "soft",
        pool: str = "max",
    ) -> None:
        super().__init__()
        c_in = input_shape[0]
        flat = _flat_features(input_shape)
        steps = encoder.timesteps
        self.encoder = encoder
        self.hybrid = encoder.name.startswith("hybrid")
        c1, c2, c3 = CHANNELS

        def neurons() -> SpikingNeurons:
            return SpikingNeurons(steps, per_timestep=asnn, surrogate=surrogate, reset=reset)

        self.conv1, self.bn1 = nn.Conv2d(c_in, c1, 3, padding=1), nn.BatchNorm2d(c1)
        if self.hybrid:
            # Step 0 carries the analog image, a different input distribution from spikes.
            self.conv1_analog, self.bn1_analog = nn.Conv2d(c_in, c1, 3, padding=1), nn.BatchNorm2d(c1)
        self.lif1 = neurons()
        self.conv2, self.bn2, self.lif2 = nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), neurons()
        self.conv3, self.bn3, self.lif3 = nn.Conv2d(c2, c3, 3, padding=1), nn.BatchNorm2d(c3), neurons()
        self.fc1, self.bn4, self.lif4 = nn.Linear(flat, HIDDEN), nn.BatchNorm1d(HIDDEN), neurons()
        self.fc2 = nn.Linear(HIDDEN, n_classes)
        self.readout = Readout(steps, learn_scale=asnn)
        self.pool = _pool(pool)

    def _first_layer_current(self, frames: torch.Tensor) -> torch.Tensor:
        analog = conv_bn(self.conv1_analog, self.bn1_analog) if self.hybrid else None
        return first_layer_current(frames, conv_bn(self.conv1, self.bn1), analog)

    def forward_steps(self, frames: torch.Tensor, record: bool = False) -> StepOutputs:
        """Run encoded frames ``(T, B, C, H, W)`` through the network.

        Parameters
        ----------
        frames : torch.Tensor
            Output of the model's encoder, as a tensor.
        record : bool
            Keep every spiking layer's output spikes in the result, keyed by the neuron
            node names of the exported graph (``lif1`` ... ``lif4``).
        """
        spikes: dict[str, torch.Tensor] = {}
        s = self.lif1(self._first_layer_current(frames))
        spikes["lif1"] = s
        x = _over_time(self.pool, s)
        for name, conv, bn, lif in (("lif2", self.conv2, self.bn2, self.lif2), ("lif3", self.conv3, self.bn3, self.lif3)):
            s = lif(_over_time(conv_bn(conv, bn), x))
            spikes[name] = s
            x = _over_time(self.pool, s)
        s = self.lif4(_over_time(lambda z: self.bn4(self.fc1(z)), x.flatten(2)))
        spikes["lif4"] = s
        logits = self.readout.scaled(self.fc2(s))
        return StepOutputs(logits, spikes if record else {})

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Prediction logits ``(B, K)``: the per-step logits averaged over T."""
        return self.forward_steps(frames).logits.mean(0)


class LeNetANN(nn.Module):
    """The ANN twin: the same layers with ReLU, one pass over the analog image.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image.
    n_classes : int
    pool : {"max", "avg"}
        The 2x2 pools after each conv layer, as in the spiking model.
    """

    is_spiking = False

    def __init__(self, input_shape: tuple[int, int, int], n_classes: int, pool: str = "max") -> None:
        super().__init__()
        c_in = input_shape[0]
        flat = _flat_features(input_shape)
        c1, c2, c3 = CHANNELS
        self.conv1, self.bn1 = nn.Conv2d(c_in, c1, 3, padding=1), nn.BatchNorm2d(c1)
        self.conv2, self.bn2 = nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2)
        self.conv3, self.bn3 = nn.Conv2d(c2, c3, 3, padding=1), nn.BatchNorm2d(c3)
        self.fc1, self.bn4 = nn.Linear(flat, HIDDEN), nn.BatchNorm1d(HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, n_classes)
        self.pool = _pool(pool)

    def forward_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and each hidden layer's ReLU output, keyed by the exported graph's node names (``relu1`` ... ``relu4``)."""
        acts: dict[str, torch.Tensor] = {}
        for name, conv, bn in (("relu1", self.conv1, self.bn1), ("relu2", self.conv2, self.bn2), ("relu3", self.conv3, self.bn3)):
            a = torch.relu(bn(conv(x)))
            acts[name] = a
            x = self.pool(a)
        a = torch.relu(self.bn4(self.fc1(x.flatten(1))))
        acts["relu4"] = a
        return self.fc2(a), acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K)`` for images ``(B, C, H, W)``."""
        return self.forward_activations(x)[0]
