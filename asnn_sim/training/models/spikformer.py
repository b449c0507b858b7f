"""Spikformer (Zhou et al., ICLR 2023) with ASNN or LIF neurons, hybrid coding, and its ANN twin.

One builder, :class:`SpikformerSNN`, makes every size from a :class:`SpikformerConfig`
(see :data:`CONFIGS`). The layout follows the paper's CIFAR model (Spikformer-4-384):

**Spiking patch splitting (SPS).** Four 3x3 conv (padding 1, no bias) - BatchNorm -
neuron stages with ``D/8, D/4, D/2, D`` channels; a max-pool follows the neurons of the
stages in ``config.pool_after`` (the paper: 3x3, stride 2, padding 1 after the third and
fourth, so 32x32 becomes 8x8 = 64 tokens). Then a relative-position branch, a 3x3
conv - BN - neuron from ``D`` to ``D`` on that map, is added to it::

    f   = SPS(x)                              # binary spikes (D, H', W')
    x0  = f + RPE_LIF(BN(conv3x3(f)))         # graded: 0, 1 or 2

**Encoder blocks** (``config.depth`` of them), on the graded residual stream ``x``::

    q, k, v = LIF(BN(W_q x)), LIF(BN(W_k x)), LIF(BN(W_v x))   # token-wise linears, spikes
    a       = ATTN_LIF(scale * (q k^T) v)       # per head, no softmax; threshold 0.5
    x       = x + LIF(BN(W_proj a))             # graded
    x       = x + LIF(BN(W_fc2 LIF(BN(W_fc1 x))))              # MLP, hidden D * mlp_ratio

**Head.** The mean over tokens (a global average pool of the ``H' x W'`` map), a linear
layer to the logits, and the readout (mean over T, with the ASNN per-step scale).

A token map is kept channel-first, ``(..., D, N)`` with ``N = H' * W'`` tokens numbered
``h * W' + w``: the same order as the exported graph's ``(D, H', W')`` maps, whose
elements the simulator stores channels-last (token-major). Head ``j`` owns features
``j * D/heads ... (j + 1) * D/heads - 1``.

Every neuron is :class:`asnn_sim.training.neurons.SpikingNeurons` (ASNN per-step leak and gain
with ``asnn=True``, shared LIF otherwise) with threshold 1, except the attention neuron:
the same class with the paper's threshold 0.5. All reset softly (by their threshold), or
all to 0 with ``reset="hard"``. The linears have biases and are followed by BatchNorm, as
in the reference CIFAR code (hence 9,324,730 weights for 3x32x32 and 10 classes: the
paper's "9.32 M").

Like :mod:`asnn_sim.training.models.lenet`, the spiking model runs layer by layer over all
timesteps (BatchNorm statistics pooled over time), and hybrid codes give step 0 (the
analog frame) its own first conv + BN (``patch_conv1_analog``, ``patch_bn1_analog``).

The ANN twin (:class:`SpikformerANN`) is the same graph with ReLU for every neuron, the
same softmax-free attention (``ReLU(scale * (q k^T) v)``), one pass over the image.

Export map (module attribute -> graph node name; node names contain no dots)::

    patch_conv{i}, patch_bn{i} (i = 1..4)     -> conv2d "patch_conv{i}"
        [+ patch_conv1_analog, patch_bn1_analog: weight set 0 of "patch_conv1"]
    patch_lif{i}                              -> neuron "patch_lif{i}"
    (max-pool after stage i)                  -> maxpool2d "patch_pool{i}"
    rpe_conv, rpe_bn, rpe_lif                 -> conv2d "rpe_conv", neuron "rpe_lif"
    (f + rpe)                                 -> add "rpe_add"
    blocks[j].q_linear, .q_bn, .q_lif         -> token_linear "b{j}_q", neuron "b{j}_q_lif"
        (likewise k, v)
    (q k^T v)                                 -> attention "b{j}_attn"
    blocks[j].attn_lif                        -> neuron "b{j}_attn_lif"
    blocks[j].proj_linear, .proj_bn, .proj_lif -> token_linear "b{j}_proj", neuron "b{j}_proj_lif"
    (x + proj)                                -> add "b{j}_add1"
    blocks[j].fc1_*, .fc2_*                   -> token_linear "b{j}_fc1"/"b{j}_fc2", neurons "..._lif"
    (x + mlp)                                 -> add "b{j}_add2"
    mean over tokens                          -> avgpool2d "pool", flatten "flatten"
    head                                      -> linear "head"
    readout                                   -> readout

With ``record=True``, :meth:`SpikformerSNN.forward_steps` returns every neuron's spikes
under the neuron node names above, shaped like the graph's maps ``(T, B, D, H', W')``;
:meth:`SpikformerANN.forward_activations` returns the ReLU outputs under the ANN graph's
names (``lif`` read as ``relu``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.training.models.lenet import StepOutputs, _channels_last, conv_bn, first_layer_current
from asnn_sim.training.neurons import Readout, SpikingNeurons


@dataclass(frozen=True)
class SpikformerConfig:
    """The shape of one Spikformer.

    Attributes
    ----------
    dim : int
        Embedding dimension D (a multiple of 8 and of ``heads``); the patch stages have
        ``D/8, D/4, D/2, D`` channels.
    depth : int
        Number of encoder blocks.
    heads : int
        Attention heads; each owns ``D / heads`` features.
    mlp_ratio : int
        MLP hidden width is ``D * mlp_ratio``.
    pool_after : tuple of int
        Patch stages (1..4) whose neurons are followed by a max-pool.
    pool : (kernel, stride, padding)
        Geometry of those max-pools.
    scale : float
        Attention scale (the paper: 0.125 for every size).
    attn_threshold : float
        Threshold of the attention neuron (the paper: 0.5).
    """

    dim: int
    depth: int
    heads: int
    mlp_ratio: int = 4
    pool_after: tuple[int, ...] = (3, 4)
    pool: tuple[int, int, int] = (3, 2, 1)
    scale: float = 0.125
    attn_threshold: float = 0.5

    @property
    def patch_channels(self) -> tuple[int, int, int, int]:
        d = self.dim
        return (d // 8, d // 4, d // 2, d)

    @property
    def hidden(self) -> int:
        return self.dim * self.mlp_ratio

    def grid(self, h: int, w: int) -> tuple[int, int]:
        """The token grid ``(H', W')`` for an ``h x w`` input."""
        k, s, p = self.pool
        for _ in self.pool_after:
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        return h, w


#: name -> layout. ``spikformer-4-384``: the paper's CIFAR model (T = 4 in the paper; the
#: timesteps come from the encoder here): D = 384, 4 blocks, 12 heads, MLP ratio 4, max-pools
#: 3x3/2 padding 1 after patch stages 3 and 4 (32x32 -> 8x8 = 64 tokens); 9,324,730 weights
#: for 3x32x32 and 10 classes. ``spikformer-small``: for 1x8x8 digits: D = 64, 2 blocks,
#: 4 heads (16 features each), MLP ratio 4, one max-pool (the paper's 3x3/2, padding 1)
#: after patch stage 3 (8x8 -> 4x4 = 16 tokens), so patch stage 4 and the position branch
#: run at 4x4 as the paper's last stages run at the reduced size; 163,906 weights for 10
#: classes. The attention scale and threshold are the paper's.
CONFIGS: dict[str, SpikformerConfig] = {
    "spikformer-4-384": SpikformerConfig(dim=384, depth=4, heads=12),
    "spikformer-small": SpikformerConfig(dim=64, depth=2, heads=4, pool_after=(3,)),
}


def _resolve(config: SpikformerConfig | str) -> SpikformerConfig:
    if isinstance(config, SpikformerConfig):
        cfg = config
    else:
        try:
            cfg = CONFIGS[config]
        except KeyError:
            raise ValueError(f"unknown Spikformer config {config!r}; choose one of {', '.join(CONFIGS)}") from None
    if cfg.dim < 8 or cfg.dim % 8 or cfg.heads < 1 or cfg.dim % cfg.heads:
        raise ValueError(f"Spikformer dim must be a multiple of 8 and of heads; got dim {cfg.dim}, heads {cfg.heads}")
    if cfg.depth < 0 or cfg.mlp_ratio < 1 or not set(cfg.pool_after) <= {1, 2, 3, 4}:
        raise ValueError(f"invalid Spikformer config {cfg}")
    return cfg


def _check_input(input_shape, cfg: SpikformerConfig) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes; got {tuple(input_shape)}")
    gh, gw = cfg.grid(shape[1], shape[2])
    if gh < 1 or gw < 1:
        raise ValueError(f"this Spikformer's max-pools do not fit a {shape[1]}x{shape[2]} input")
    return shape


def _conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)


def _leading(fn, x: torch.Tensor, keep: int) -> torch.Tensor:
    """Apply ``fn`` to ``x`` with all but its last ``keep`` dimensions flattened into one batch.

    Feature maps (4-D once flattened) travel channels-last, as in the other models.
    """
    lead = x.shape[: x.dim() - keep]
    return _channels_last(fn(_channels_last(x.reshape(-1, *x.shape[x.dim() - keep :])))).unflatten(0, lead)


def token_linear(linear: nn.Linear, bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """``BN(W x + b)`` applied to every token of ``x`` shaped ``(..., D_in, N)``: ``(..., D_out, N)``."""
    return _leading(lambda z: bn(F.conv1d(z, linear.weight.unsqueeze(-1), linear.bias)), x, 2)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, scale: float) -> torch.Tensor:
    """Softmax-free attention per head: ``scale * (q k^T) v`` for ``(..., D, N)`` inputs (features x tokens)."""
    *lead, d, n = q.shape
    dh = d // heads

    def split(x):  # (..., D, N) -> (..., heads, N, dh)
        return x.reshape(*lead, heads, dh, n).transpose(-1, -2)

    qh, kh, vh = split(q), split(k), split(v)
    # Without a softmax the product associates: q (k^T v) costs N dh^2 per head instead
    # of N^2 dh for (q k^T) v. On spikes both orders are sums of 0/1 products, exact in
    # floating point (below 2^24), so the order changes no value, only the time.
    if n > dh:
        out = qh @ (kh.transpose(-1, -2) @ vh) * scale  # (..., heads, N, dh)
    else:
        out = (qh @ kh.transpose(-1, -2)) @ vh * scale
    return out.transpose(-1, -2).reshape(*lead, d, n)


#: The attention neuron's class: :class:`~asnn_sim.training.neurons.SpikingNeurons` built with
#: ``threshold=0.5`` (the name the tests and older code use).
ThresholdNeurons = SpikingNeurons


class SpikformerBlock(nn.Module):
    """One encoder block (spiking when ``neurons`` is given, else the ReLU twin's).

    Parameters
    ----------
    dim, hidden, heads : int
    scale : float
    neurons : callable or None
        ``neurons(threshold=1.0)`` returns a fresh neuron layer; None builds the ANN block.
    attn_threshold : float

    Attributes
    ----------
    q_linear, q_bn, k_linear, k_bn, v_linear, v_bn, proj_linear, proj_bn,
    fc1_linear, fc1_bn, fc2_linear, fc2_bn
        Token-wise linears (with bias) and their BatchNorms.
    q_lif, k_lif, v_lif, attn_lif, proj_lif, fc1_lif, fc2_lif
        The neurons (spiking blocks only), registered in execution order.
    """

    LINEARS = ("q", "k", "v", "proj", "fc1", "fc2")

    def __init__(self, dim: int, hidden: int, heads: int, scale: float, neurons=None, attn_threshold: float = 0.5) -> None:
        super().__init__()
        self.heads, self.scale = heads, scale
        self.spiking = neurons is not None
        sizes = {"q": (dim, dim), "k": (dim, dim), "v": (dim, dim), "proj": (dim, dim), "fc1": (dim, hidden), "fc2": (hidden, dim)}
        for name in self.LINEARS:
            d_in, d_out = sizes[name]
            setattr(self, f"{name}_linear", nn.Linear(d_in, d_out))
            setattr(self, f"{name}_bn", nn.BatchNorm1d(d_out))
            if self.spiking:
                setattr(self, f"{name}_lif", neurons())
                if name == "v":
                    self.attn_lif = neurons(threshold=attn_threshold)

    def _act(self, name: str, x: torch.Tensor, record, prefix: str) -> torch.Tensor:
        y = getattr(self, f"{name}_lif")(x) if self.spiking else torch.relu(x)
        if record is not None:
            record[f"{prefix}_{name}_{'lif' if self.spiking else 'relu'}"] = y
        return y

    def _layer(self, name: str, x: torch.Tensor, record, prefix: str) -> torch.Tensor:
        return self._act(name, token_linear(getattr(self, f"{name}_linear"), getattr(self, f"{name}_bn"), x), record, prefix)

    def forward(self, x: torch.Tensor, record: dict | None = None, prefix: str = "b0") -> torch.Tensor:
        """Residual stream ``(..., D, N)`` in and out; activations go to ``record`` (token layout)."""
        q, k, v = (self._layer(n, x, record, prefix) for n in ("q", "k", "v"))
        a = self._act("attn", attention(q, k, v, self.heads, self.scale), record, prefix)
        x = x + self._layer("proj", a, record, prefix)
        h = self._layer("fc1", x, record, prefix)
        return x + self._layer("fc2", h, record, prefix)


class _Spikformer(nn.Module):
    """Layers shared by the spiking model and its twin, registered in execution order."""

    def __init__(
        self, input_shape, n_classes: int, config, encoder: EncoderSpec | None, asnn: bool, surrogate: str, reset: str = "soft"
    ) -> None:
        super().__init__()
        self.config = cfg = _resolve(config)
        self.input_shape = _check_input(input_shape, cfg)
        self.grid = cfg.grid(*self.input_shape[1:])
        spiking = encoder is not None
        self.hybrid = spiking and encoder.name.startswith("hybrid")
        if spiking:
            self.encoder = encoder
            steps = encoder.timesteps

            def neurons(threshold: float = 1.0) -> SpikingNeurons:
                return SpikingNeurons(steps, per_timestep=asnn, surrogate=surrogate, threshold=threshold, reset=reset)
        else:
            neurons = None
        c_in = self.input_shape[0]
        k, s, p = cfg.pool
        for i, c_out in enumerate(cfg.patch_channels, start=1):
            setattr(self, f"patch_conv{i}", _conv3x3(c_in, c_out))
            setattr(self, f"patch_bn{i}", nn.BatchNorm2d(c_out))
            if i == 1 and self.hybrid:
                # Step 0 carries the analog image, a different input distribution from spikes.
                self.patch_conv1_analog, self.patch_bn1_analog = _conv3x3(c_in, c_out), nn.BatchNorm2d(c_out)
            if spiking:
                setattr(self, f"patch_lif{i}", neurons())
            c_in = c_out
        self.pool = nn.MaxPool2d(k, s, p)
        d = cfg.dim
        self.rpe_conv, self.rpe_bn = _conv3x3(d, d), nn.BatchNorm2d(d)
        if spiking:
            self.rpe_lif = neurons()
        self.blocks = nn.ModuleList(
            SpikformerBlock(d, cfg.hidden, cfg.heads, cfg.scale, neurons, cfg.attn_threshold) for _ in range(cfg.depth)
        )
        self.head = nn.Linear(d, n_classes)
        if spiking:
            self.readout = Readout(steps, learn_scale=asnn)

    def _act(self, name: str, x: torch.Tensor, record) -> torch.Tensor:
        if self.is_spiking:
            y = getattr(self, name)(x)
        else:
            y = torch.relu(x)
            name = name.replace("lif", "relu")
        if record is not None:
            record[name] = y
        return y

    def _features(self, x: torch.Tensor, first_current: torch.Tensor, record) -> torch.Tensor:
        """Patch splitting, the position branch and the blocks: the token map ``(..., D, H', W')``."""
        over = (lambda fn, z: _leading(fn, z, 3))
        x = self._act("patch_lif1", first_current, record)
        for i in range(1, 5):
            if i > 1:
                conv, bn = getattr(self, f"patch_conv{i}"), getattr(self, f"patch_bn{i}")
                x = self._act(f"patch_lif{i}", over(conv_bn(conv, bn), x), record)
            if i in self.config.pool_after:
                x = over(self.pool, x)
        x = x + self._act("rpe_lif", over(conv_bn(self.rpe_conv, self.rpe_bn), x), record)
        gh, gw = self.grid
        tokens: dict | None = {} if record is not None else None
        x = x.flatten(-2)
        for j, block in enumerate(self.blocks):
            x = block(x, tokens, f"b{j}")
        if record is not None:
            record.update({k: v.unflatten(-1, (gh, gw)) for k, v in tokens.items()})
        return x

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.mean(-1))  # the mean over tokens, then the classifier


class SpikformerSNN(_Spikformer):
    """Spikformer with ASNN or plain LIF neurons.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image.
    n_classes : int
    encoder : EncoderSpec
        Input coding; hybrid codes get a second first patch conv + BN for the analog frame.
    asnn : bool
        Per-timestep leak/gain and a readout scale (True) or plain shared LIF (False).
    surrogate : str
        Surrogate gradient name (see :mod:`asnn_sim.training.neurons`).
    config : SpikformerConfig or str
        The layout, or a key of :data:`CONFIGS`.
    reset : {"soft", "hard"}
        What every neuron (the attention neuron included) does after a spike: subtract
        its threshold, or go to 0.

    Examples
    --------
    >>> import torch
    >>> from asnn_sim.graph.encoding import EncoderSpec
    >>> m = SpikformerSNN((1, 8, 8), 10, EncoderSpec("hybrid", 4), config="spikformer-small")
    >>> m(torch.rand(4, 2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    is_spiking = True

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_classes: int,
        encoder: EncoderSpec,
        asnn: bool = True,
        surrogate: str = "sigmoid",
        config: SpikformerConfig | str = "spikformer-4-384",
        reset: str = "soft",
    ) -> None:
        super().__init__(input_shape, n_classes, config, encoder, asnn, surrogate, reset)

    @property
    def neuron_names(self) -> list[str]:
        """Neuron node names in execution order (the keys ``forward_steps(record=True)`` gives)."""
        names = [f"patch_lif{i}" for i in range(1, 5)] + ["rpe_lif"]
        for j in range(len(self.blocks)):
            names += [f"b{j}_{n}_lif" for n in ("q", "k", "v", "attn", "proj", "fc1", "fc2")]
        return names

    def patch_current(self, frames: torch.Tensor) -> torch.Tensor:
        """The first patch neurons' input current ``(T, B, C, H, W)`` (BN applied); hybrid
        codes send step 0 through ``patch_conv1_analog``/``patch_bn1_analog``."""
        analog = conv_bn(self.patch_conv1_analog, self.patch_bn1_analog) if self.hybrid else None
        return first_layer_current(frames, conv_bn(self.patch_conv1, self.patch_bn1), analog)

    def forward_steps(self, frames: torch.Tensor, record: bool = False) -> StepOutputs:
        """Run encoded frames ``(T, B, C, H, W)`` through the network.

        Parameters
        ----------
        frames : torch.Tensor
            Output of the model's encoder, as a tensor.
        record : bool
            Keep every neuron layer's output spikes ``(T, B, D, H', W')``, keyed by neuron
            node name (see :attr:`neuron_names`).
        """
        if frames.dim() != 5 or tuple(frames.shape[2:]) != self.input_shape:
            raise ValueError(
                f"expected frames shaped (T, B, {', '.join(map(str, self.input_shape))}); got {tuple(frames.shape)}"
            )
        spikes: dict[str, torch.Tensor] | None = {} if record else None
        x = self._features(frames, self.patch_current(frames), spikes)
        logits = self.readout.scaled(self._logits(x))
        return StepOutputs(logits, spikes if record else {})

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Prediction logits ``(B, K)``: the per-step logits averaged over T."""
        return self.forward_steps(frames).logits.mean(0)


class SpikformerANN(_Spikformer):
    """The ANN twin: the same layers with ReLU, the same softmax-free attention, one pass.

    Parameter names equal the spiking model's minus the neurons, the readout and the
    hybrid analog patch conv.

    Parameters
    ----------
    input_shape : tuple of int
    n_classes : int
    config : SpikformerConfig or str
    """

    is_spiking = False

    def __init__(
        self,
        input_shape: tuple[int, int, int],
        n_classes: int,
        config: SpikformerConfig | str = "spikformer-4-384",
    ) -> None:
        super().__init__(input_shape, n_classes, config, None, False, "sigmoid")

    def forward_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and each ReLU's output ``(B, ...)``, keyed by the ANN graph's ReLU node names."""
        acts: dict[str, torch.Tensor] = {}
        feats = self._features(x, self.patch_bn1(self.patch_conv1(x)), acts)
        return self._logits(feats), acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K)`` for images ``(B, C, H, W)``."""
        return self.forward_activations(x)[0]


def count_parameters(config: SpikformerConfig | str, input_channels: int, n_classes: int) -> int:
    """Weights of the ANN twin (= the spiking model's minus neurons, readout, analog conv), from the layout."""
    cfg = _resolve(config)
    n, c_in = 0, input_channels
    for c in cfg.patch_channels:
        n += 9 * c_in * c + 2 * c
        c_in = c
    d, hid = cfg.dim, cfg.hidden
    n += 9 * d * d + 2 * d
    per_block = 4 * (d * d + d + 2 * d) + (d * hid + hid + 2 * hid) + (hid * d + d + 2 * d)
    return n + cfg.depth * per_block + d * n_classes + n_classes


__all__ = ["CONFIGS", "SpikformerANN", "SpikformerBlock", "SpikformerConfig", "SpikformerSNN", "ThresholdNeurons",
           "attention", "count_parameters", "token_linear"]
