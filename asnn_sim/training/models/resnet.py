"""Spiking ResNets (ResNet-19, ResNet-18/34, a small digits net) and their ANN twins.

One builder, :class:`ResNetSNN`, makes every depth from a :class:`ResNetConfig` (see
:data:`CONFIGS`): a CIFAR-style stem (3x3 conv, stride 1, no max-pool), stages of basic
blocks, a global average pool, an optional hidden fully connected layer with its neuron,
and the classifier. Every conv is bias-free and followed by BatchNorm (as in the
reference implementations); the linear layers have biases and no BatchNorm.

Basic block, ``residual="standard"`` (Zheng et al., AAAI 2021, tdBN ResNet). The block
input ``x`` is binary spikes; the shortcut enters the second neuron as a *current*::

    s1  = LIF1(BN1(conv1_3x3(x)))                      # conv1 carries the stage stride
    sc  = x                                            # identity: the spikes as a current
    sc  = BN_s(conv_s_1x1(x))                          # when the stride or width changes
    out = LIF2(BN2(conv2_3x3(s1)) + sc)                # binary spikes

Basic block, ``residual="sew"`` (Fang et al., NeurIPS 2021, SEW ResNet with ADD). The
shortcut is added *after* the second neuron, so the block output is graded (0, 1, 2, ...)
and the next block's convolutions read graded values::

    s1  = LIF1(BN1(conv1_3x3(x)))
    sc  = x                                            # identity
    sc  = LIF_s(BN_s(conv_s_1x1(x)))                   # downsample: spikes again
    out = LIF2(BN2(conv2_3x3(s1))) + sc                # graded

The ANN twin replaces every LIF by ReLU and runs once over the analog image (SEW twin:
``out = ReLU(BN2(conv2(...))) + sc``).

Like :mod:`asnn_sim.training.models.lenet`, the spiking model runs layer by layer over all
timesteps (each conv sees a ``T*B`` batch, BatchNorm statistics pooled over time, then
the neurons loop over T), and hybrid codes give step 0 (the analog frame) its own stem
conv + BN (``stem_conv_analog``, ``stem_bn_analog``) while steps 1..T-1 use the shared
``stem_conv``, ``stem_bn``.

Export map (module attribute -> graph node name; node names contain no dots)::

    stem_conv, stem_bn [+ stem_conv_analog, stem_bn_analog]   -> conv  "stem_conv"
                                                                 (analog pair = weight set 0)
    stem_lif                                                   -> neuron "stem_lif"
    blocks["s{s}b{b}"].conv1, .bn1                             -> conv  "s{s}b{b}_conv1"
    blocks["s{s}b{b}"].lif1                                    -> neuron "s{s}b{b}_lif1"
    blocks["s{s}b{b}"].conv2, .bn2                             -> conv  "s{s}b{b}_conv2"
    blocks["s{s}b{b}"].short_conv, .short_bn (None: identity)  -> conv  "s{s}b{b}_short_conv"
    blocks["s{s}b{b}"].short_lif (SEW downsample only)         -> neuron "s{s}b{b}_short_lif"
    blocks["s{s}b{b}"].lif2                                    -> neuron "s{s}b{b}_lif2"
    pool                                                       -> global average pool
    fc1 (no BN), fc1_lif (configs with a hidden layer only)    -> linear "fc1", neuron "fc1_lif"
    fc                                                         -> linear "fc" (the logits)
    readout                                                    -> readout

Stages count from 1 and blocks within a stage from 0; ``ResNetSNN.block_names`` lists the
block keys in execution order. With ``record=True``, :meth:`ResNetSNN.forward_steps`
returns every neuron's spikes under the neuron node names above, and
:meth:`ResNetANN.forward_activations` returns the ReLU outputs under the ANN graph's
names (``lif`` read as ``relu``: ``stem_relu``, ``s1b0_relu1``, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.training.models.lenet import StepOutputs, _over_time, first_layer_current
from asnn_sim.training.neurons import Readout, SpikingNeurons

RESIDUALS = ("standard", "sew")


@dataclass(frozen=True)
class ResNetConfig:
    """The shape of one ResNet.

    Attributes
    ----------
    stem : int
        Output channels of the 3x3 stem conv (stride 1).
    stages : tuple of (blocks, channels, stride)
        One entry per stage; the stride applies to the stage's first block.
    hidden : int or None
        Width of a hidden fully connected layer (with a neuron, no BatchNorm) between the
        average pool and the classifier; None for none.
    """

    stem: int
    stages: tuple[tuple[int, int, int], ...]
    hidden: int | None = None

    @property
    def total_stride(self) -> int:
        """How much the spatial size shrinks from the input to the last stage."""
        return math.prod(stride for _, _, stride in self.stages)


#: name -> layout. ``resnet19``: the tdBN ResNet-19 of Zheng et al. (AAAI 2021): stem 3x3
#: conv 128, basic blocks [3, 3, 2] at 128/256/512 (strides 1, 2, 2), average pool, FC 256,
#: FC classes; 12,697,994 weights for 3x32x32 and 10 classes. Checked against BrainCog's
#: ``braincog/model_zoo/resnet19_snn.py`` (stem 128) and TET's ``models/resnet_models.py``
#: (Deng et al., ICLR 2022), whose stem has 64 channels plus a 1x1 shortcut into stage 1:
#: that variant has 12,630,858, the "12.63M" often quoted. Neither puts BatchNorm on FC 256,
#: so neither does this. ``resnet18``/``resnet34``: He et al. basic-block depths with a
#: CIFAR-style 3x3 stem and no max-pool. ``resnet-small``: a narrow net for 8x8 digits
#: (30 epochs in well under a minute of CPU).
CONFIGS: dict[str, ResNetConfig] = {
    "resnet19": ResNetConfig(128, ((3, 128, 1), (3, 256, 2), (2, 512, 2)), hidden=256),
    "resnet18": ResNetConfig(64, ((2, 64, 1), (2, 128, 2), (2, 256, 2), (2, 512, 2))),
    "resnet34": ResNetConfig(64, ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2))),
    "resnet-small": ResNetConfig(16, ((1, 16, 1), (1, 32, 2))),
}


def _resolve(config: ResNetConfig | str) -> ResNetConfig:
    if isinstance(config, ResNetConfig):
        return config
    try:
        return CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown ResNet config {config!r}; choose one of {', '.join(CONFIGS)}") from None


def _check_args(input_shape, config: ResNetConfig, residual: str) -> tuple[int, int, int]:
    if residual not in RESIDUALS:
        raise ValueError(f"unknown residual {residual!r}; choose one of {', '.join(RESIDUALS)}")
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes; got {tuple(input_shape)}")
    _, h, w = shape
    need = config.total_stride
    if h < need or w < need:
        raise ValueError(
            f"this ResNet needs inputs of at least {need}x{need} pixels "
            f"(its stages stride by {need} in all); got {h}x{w}"
        )
    return shape


def _conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


def _conv1x1(c_in: int, c_out: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)


def _block_specs(config: ResNetConfig):
    """``(key, c_in, c_out, stride)`` of every block, in execution order."""
    c_in = config.stem
    for s, (n_blocks, c_out, stride) in enumerate(config.stages, start=1):
        for b in range(n_blocks):
            yield f"s{s}b{b}", c_in, c_out, stride if b == 0 else 1
            c_in = c_out


class _BlockLayers(nn.Module):
    """The convolutions and BatchNorms of a basic block (shared by the SNN and ANN blocks)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(c_in, c_out, stride), nn.BatchNorm2d(c_out)
        self.conv2, self.bn2 = _conv3x3(c_out, c_out), nn.BatchNorm2d(c_out)
        self.downsample = stride != 1 or c_in != c_out
        self.short_conv = _conv1x1(c_in, c_out, stride) if self.downsample else None
        self.short_bn = nn.BatchNorm2d(c_out) if self.downsample else None


class SpikingBasicBlock(_BlockLayers):
    """A spiking basic block; see the module docstring for its equations.

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels.
    stride : int
        Stride of ``conv1`` and of the 1x1 shortcut conv.
    residual : {"standard", "sew"}
    neurons : callable
        Returns a fresh :class:`~asnn_sim.training.neurons.SpikingNeurons` layer.

    Attributes
    ----------
    conv1, bn1, lif1, conv2, bn2, lif2
        The residual branch.
    short_conv, short_bn : nn.Module or None
        The 1x1 conv + BN shortcut when the shape changes; None for the identity.
    short_lif : SpikingNeurons or None
        The shortcut's neuron (SEW with a downsample shortcut only).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, residual: str, neurons) -> None:
        super().__init__(c_in, c_out, stride)
        self.residual = residual
        self.lif1, self.lif2 = neurons(), neurons()
        self.short_lif = neurons() if (residual == "sew" and self.downsample) else None

    def forward(self, x: torch.Tensor, record: dict[str, torch.Tensor] | None = None, name: str = "") -> torch.Tensor:
        """Block input ``(T, B, C, H, W)`` to block output; neuron outputs go to ``record``."""
        s1 = self.lif1(_over_time(lambda z: self.bn1(self.conv1(z)), x))
        branch = _over_time(lambda z: self.bn2(self.conv2(z)), s1)
        short = x if not self.downsample else _over_time(lambda z: self.short_bn(self.short_conv(z)), x)
        if self.residual == "standard":
            s2 = self.lif2(branch + short)
            out = s2
        else:
            s2 = self.lif2(branch)
            if self.short_lif is not None:
                short = self.short_lif(short)
            out = s2 + short
        if record is not None:
            record[f"{name}_lif1"] = s1
            record[f"{name}_lif2"] = s2
            if self.short_lif is not None:
                record[f"{name}_short_lif"] = short
        return out


class BasicBlockANN(_BlockLayers):
    """The ReLU twin of :class:`SpikingBasicBlock` (same parameter names, no neurons)."""

    def __init__(self, c_in: int, c_out: int, stride: int, residual: str) -> None:
        super().__init__(c_in, c_out, stride)
        self.residual = residual

    def forward(self, x: torch.Tensor, record: dict[str, torch.Tensor] | None = None, name: str = "") -> torch.Tensor:
        """Block input ``(B, C, H, W)`` to block output; ReLU outputs go to ``record``."""
        a1 = torch.relu(self.bn1(self.conv1(x)))
        branch = self.bn2(self.conv2(a1))
        short = x if not self.downsample else self.short_bn(self.short_conv(x))
        if self.residual == "standard":
            a2 = torch.relu(branch + short)
            out = a2
        else:
            a2 = torch.relu(branch)
            if self.downsample:
                short = torch.relu(short)
            out = a2 + short
        if record is not None:
            record[f"{name}_relu1"] = a1
            record[f"{name}_relu2"] = a2
            if self.residual == "sew" and self.downsample:
                record[f"{name}_short_relu"] = short
        return out


class ResNetSNN(nn.Module):
    """Spiking ResNet with ASNN or plain LIF neurons, standard or SEW residuals.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image; H and W must be at least the total stride.
    n_classes : int
    encoder : EncoderSpec
        Input coding; hybrid codes get a second stem conv + BN for the analog frame.
    asnn : bool
        Per-timestep leak/gain and a readout scale (True) or plain shared LIF (False).
    surrogate : str
        Surrogate gradient name (see :mod:`asnn_sim.training.neurons`).
    residual : {"standard", "sew"}
        Shortcut added as a current before the block's last neuron (binary block
        outputs), or added after it (SEW ADD, graded block outputs).
    config : ResNetConfig or str
        The layout, or a key of :data:`CONFIGS`.
    reset : {"soft", "hard"}
        What every neuron does after a spike: subtract the threshold, or go to 0.

    Attributes
    ----------
    stem_conv, stem_bn, stem_lif
        The stem (plus ``stem_conv_analog``, ``stem_bn_analog`` for hybrid codes).
    blocks : nn.ModuleDict
        :class:`SpikingBasicBlock` per key ``s{stage}b{block}``, in execution order.
    pool : nn.AdaptiveAvgPool2d
        Global average pool to ``1x1``.
    fc1, fc1_lif
        Hidden fully connected layer and its neuron (None without ``config.hidden``).
    fc : nn.Linear
        Classifier.
    readout : Readout

    Examples
    --------
    >>> import torch
    >>> from asnn_sim.graph.encoding import EncoderSpec
    >>> m = ResNetSNN((1, 8, 8), 10, EncoderSpec("hybrid", 4), config="resnet-small")
    >>> m(torch.rand(4, 2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    is_spiking = True
    residuals = RESIDUALS

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_classes: int,
        encoder: EncoderSpec,
        asnn: bool = True,
        surrogate: str = "sigmoid",
        residual: str = "standard",
        config: ResNetConfig | str = "resnet19",
        reset: str = "soft",
    ) -> None:
        super().__init__()
        self.config = _resolve(config)
        self.input_shape = _check_args(input_shape, self.config, residual)
        self.residual = residual
        steps = encoder.timesteps
        self.encoder = encoder
        self.hybrid = encoder.name.startswith("hybrid")
        c_in, cfg = self.input_shape[0], self.config

        def neurons() -> SpikingNeurons:
            return SpikingNeurons(steps, per_timestep=asnn, surrogate=surrogate, reset=reset)

        self.stem_conv, self.stem_bn = _conv3x3(c_in, cfg.stem), nn.BatchNorm2d(cfg.stem)
        if self.hybrid:
            # Step 0 carries the analog image, a different input distribution from spikes.
            self.stem_conv_analog, self.stem_bn_analog = _conv3x3(c_in, cfg.stem), nn.BatchNorm2d(cfg.stem)
        self.stem_lif = neurons()
        self.blocks = nn.ModuleDict(
            {key: SpikingBasicBlock(ci, co, st, residual, neurons) for key, ci, co, st in _block_specs(cfg)}
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        width = cfg.stages[-1][1]
        if cfg.hidden:
            self.fc1, self.fc1_lif = nn.Linear(width, cfg.hidden), neurons()
            width = cfg.hidden
        else:
            self.fc1 = self.fc1_lif = None
        self.fc = nn.Linear(width, n_classes)
        self.readout = Readout(steps, learn_scale=asnn)

    @property
    def block_names(self) -> list[str]:
        """Block keys ``s{stage}b{block}`` in execution order."""
        return list(self.blocks)

    def stem_current(self, frames: torch.Tensor) -> torch.Tensor:
        """The stem neurons' input current ``(T, B, C, H, W)`` (BN applied).

        Hybrid codes send step 0 through ``stem_conv_analog``/``stem_bn_analog`` and the
        other steps through ``stem_conv``/``stem_bn``.
        """
        analog = (lambda z: self.stem_bn_analog(self.stem_conv_analog(z))) if self.hybrid else None
        return first_layer_current(frames, lambda z: self.stem_bn(self.stem_conv(z)), analog)

    def forward_steps(self, frames: torch.Tensor, record: bool = False) -> StepOutputs:
        """Run encoded frames ``(T, B, C, H, W)`` through the network.

        Parameters
        ----------
        frames : torch.Tensor
            Output of the model's encoder, as a tensor.
        record : bool
            Keep every neuron layer's output spikes, keyed by neuron node name
            (``stem_lif``, ``s1b0_lif1``, ..., ``fc1_lif``).
        """
        if frames.dim() != 5 or tuple(frames.shape[2:]) != self.input_shape:
            raise ValueError(
                f"expected frames shaped (T, B, {', '.join(map(str, self.input_shape))}); got {tuple(frames.shape)}"
            )
        spikes: dict[str, torch.Tensor] | None = {} if record else None
        x = self.stem_lif(self.stem_current(frames))
        if record:
            spikes["stem_lif"] = x
        for key, block in self.blocks.items():
            x = block(x, spikes, key)
        x = _over_time(self.pool, x).flatten(2)
        if self.fc1 is not None:
            x = self.fc1_lif(self.fc1(x))
            if record:
                spikes["fc1_lif"] = x
        logits = self.readout.scaled(self.fc(x))
        return StepOutputs(logits, spikes if record else {})

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Prediction logits ``(B, K)``: the per-step logits averaged over T."""
        return self.forward_steps(frames).logits.mean(0)


class ResNetANN(nn.Module):
    """The ANN twin: the same layers with ReLU, one pass over the analog image.

    Parameter names equal the spiking model's minus the neurons, the readout and the
    hybrid analog stem.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image.
    n_classes : int
    residual : {"standard", "sew"}
        SEW twin: ReLU after the second conv-BN, then the shortcut is added.
    config : ResNetConfig or str
        The layout, or a key of :data:`CONFIGS`.
    """

    is_spiking = False
    residuals = RESIDUALS

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_classes: int,
        residual: str = "standard",
        config: ResNetConfig | str = "resnet19",
    ) -> None:
        super().__init__()
        self.config = _resolve(config)
        self.input_shape = _check_args(input_shape, self.config, residual)
        self.residual = residual
        cfg = self.config
        self.stem_conv, self.stem_bn = _conv3x3(self.input_shape[0], cfg.stem), nn.BatchNorm2d(cfg.stem)
        self.blocks = nn.ModuleDict(
            {key: BasicBlockANN(ci, co, st, residual) for key, ci, co, st in _block_specs(cfg)}
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        width = cfg.stages[-1][1]
        if cfg.hidden:
            self.fc1 = nn.Linear(width, cfg.hidden)
            width = cfg.hidden
        else:
            self.fc1 = None
        self.fc = nn.Linear(width, n_classes)

    def forward_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and each ReLU's output, keyed by the ReLU node names of the exported ANN
        graph (the SNN's neuron names with ``lif`` read as ``relu``: ``stem_relu``, ...)."""
        acts: dict[str, torch.Tensor] = {}
        x = torch.relu(self.stem_bn(self.stem_conv(x)))
        acts["stem_relu"] = x
        for key, block in self.blocks.items():
            x = block(x, acts, key)
        x = self.pool(x).flatten(1)
        if self.fc1 is not None:
            x = torch.relu(self.fc1(x))
            acts["fc1_relu"] = x
        return self.fc(x), acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K)`` for images ``(B, C, H, W)``."""
        return self.forward_activations(x)[0]
