"""Build a network graph by hand, in a few readable lines.

:class:`GraphBuilder` appends layers one after the other (each call returns the builder,
so calls chain) and :meth:`GraphBuilder.build` returns a validated
:class:`asnn_sim.graph.ir.Graph`, the same object ``asnn export`` writes and the simulator
replays. It hides what the graph records store for the simulator's sake:

* the **weight-set axis**: give a conv weight as ``(C_out, C_in, kh, kw)`` and a linear
  weight as ``(out, in)``; the hybrid first layer's second set is ``hybrid_analog=``;
* the **per-timestep arrays**: ``leak``, ``gain`` and the readout ``scale`` take one
  value (used at every step) or one value per step;
* the **encoder record**: name the encoding and T;
* **BatchNorm**: pass ``bn=`` (``gamma``, ``beta``, ``mean``, ``var``, ``eps``, or a
  PyTorch ``BatchNorm`` module or ``state_dict()``) and it is folded into the layer's weights;
* **tensors**: weights, biases and statistics may be numpy arrays, lists or PyTorch tensors;
* **names**: ``conv1``, ``lif1``, ``pool1``, ``fc1``, ... unless you give your own.

Weights you do not give are drawn from a seeded normal distribution with the Kaiming
(He) scale ``sqrt(2 / fan_in)``, so a random network spikes and can be counted and priced
before any training.

Every problem is reported when the call that causes it is made, as a
:class:`~asnn_sim.graph.ir.GraphError` naming the node and the problem in plain words.

The neuron is ``v = leak[t] * v + gain[t] * I + bias``, a spike when ``v > threshold``
(``v >= threshold`` with ``compare="ge"``), then a soft reset (``v -= threshold``) or a
hard one (``v = v_reset``); see :mod:`asnn_sim.graph.nodes.neuron`. :func:`snntorch_leaky` and :func:`spikingjelly_lif` turn
those frameworks' LIF parameters into this form (``docs/python.md`` explains the mapping).
The current-based neuron (:meth:`GraphBuilder.cuba_neuron`) first updates a synaptic
current ``i = syn_leak[t] * i + syn_gain[t] * I`` and integrates that; see
:mod:`asnn_sim.graph.nodes.cuba_neuron`, and :func:`snntorch_synaptic` and
:func:`spikingjelly_cuba_lif` for those frameworks' current-based neurons.

This module imports numpy only (no torch, no numba).

Examples
--------
>>> from asnn_sim.interop.builder import GraphBuilder
>>> net = GraphBuilder((1, 8, 8), encoding="temporal", timesteps=4, seed=0)
>>> graph = net.conv(8, 3, padding=1).neuron(leak=0.9).maxpool(2).flatten().linear(10).readout().build()
>>> [node.name for node in graph.nodes]
['input', 'conv1', 'lif1', 'pool1', 'flatten1', 'fc1', 'readout']
>>> graph.shapes["pool1"], graph.timesteps
((8, 4, 4), 4)

A residual block: name the block's input, then add it to the second convolution's
current before the neuron (an identity shortcut):

>>> net = GraphBuilder((1, 8, 8), encoding="direct", timesteps=2)
>>> _ = net.conv(4, 3, padding=1).neuron(name="block_in")
>>> _ = net.conv(4, 3, padding=1).neuron().conv(4, 3, padding=1).add("block_in").neuron()
>>> graph = net.flatten().linear(10).readout().build()
>>> graph.node("add1").inputs
('conv3', 'block_in')

A mistake is named where it is made:

>>> GraphBuilder((1, 8, 8), encoding="direct", timesteps=2).conv(4, 3).linear(10)
Traceback (most recent call last):
...
asnn_sim.graph.nodes.base.GraphError: node 'fc1': a linear layer reads a vector, but 'conv1' gives shape (4, 6, 6); add .flatten() (after a neuron) first
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.graph.ir import (
    Add,
    AvgPool2d,
    Conv2d,
    Flatten,
    Graph,
    GraphError,
    Input,
    Linear,
    MaxPool2d,
    Neuron,
    Node,
    ReLU,
    Readout,
)
from asnn_sim.graph.nodes import Attention, CubaNeuron, TokenLinear
from asnn_sim.graph.nodes.base import CURRENT, fail, pair

__all__ = ["GraphBuilder", "fold_bn", "snntorch_leaky", "snntorch_synaptic", "spikingjelly_cuba_lif", "spikingjelly_lif"]

#: Name prefix of generated node names, per kind (``conv1``, ``lif1``, ``pool1``, ...).
PREFIX = {
    "conv2d": "conv",
    "linear": "fc",
    "token_linear": "tfc",
    "attention": "attn",
    "neuron": "lif",
    "cuba_neuron": "cuba",
    "relu": "relu",
    "maxpool2d": "pool",
    "avgpool2d": "pool",
    "flatten": "flatten",
    "add": "add",
}

# BatchNorm field names: ours, and PyTorch's state_dict keys.
_BN_KEYS = {
    "gamma": "gamma", "weight": "gamma",
    "beta": "beta", "bias": "beta",
    "mean": "mean", "running_mean": "mean",
    "var": "var", "running_var": "var",
    "eps": "eps",
}


def fold_bn(weight, bias, gamma, beta, mean, var, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Fold an inference-mode BatchNorm into the layer before it.

    Per output channel ``c``: ``s = gamma / sqrt(var + eps)``, ``W'[c] = W[c] * s``,
    ``b'[c] = (b[c] - mean[c]) * s + beta[c]``, so ``W' x + b' == BN(W x + b)``.
    :func:`asnn_sim.interop.export.fold_batchnorm` applies the same rule to trained torch layers, in torch.

    Parameters
    ----------
    weight : array_like
        ``(C_out, ...)``, e.g. ``(C_out, C_in, kh, kw)`` or ``(out, in)``.
    bias : array_like or None
        ``(C_out,)``; None for a layer without bias.
    gamma, beta, mean, var : array_like
        ``(C_out,)`` each: BatchNorm's weight, bias, running mean and running variance.
    eps : float

    Returns
    -------
    weight, bias : numpy.ndarray
        float64.

    Examples
    --------
    >>> import numpy as np
    >>> w, b = fold_bn(np.ones((2, 3)), None, gamma=[2.0, 1.0], beta=[0.0, 1.0], mean=[1.0, 0.0], var=[3.0, 0.0], eps=1.0)
    >>> w.tolist(), b.tolist()
    ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [-1.0, 1.0])
    """
    w = np.asarray(weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    stats = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in dict(gamma=gamma, beta=beta, mean=mean, var=var).items()}
    for k, v in stats.items():
        if v.shape != (w.shape[0],):
            raise ValueError(f"BatchNorm {k} has {v.size} values, expected one per output channel ({w.shape[0]})")
    if not float(eps) >= 0:
        raise ValueError(f"BatchNorm eps must be >= 0, got {eps!r}")
    if (stats["var"] + eps <= 0).any():
        raise ValueError("BatchNorm var + eps must be positive for every channel")
    scale = stats["gamma"] / np.sqrt(stats["var"] + eps)
    return w * scale.reshape((-1,) + (1,) * (w.ndim - 1)), (b - stats["mean"]) * scale + stats["beta"]


def snntorch_leaky(beta: float, threshold=1.0, reset_mechanism: str = "subtract", reset_delay: bool = True, *, exact: bool = True) -> dict:
    """:meth:`GraphBuilder.neuron` arguments for an snnTorch ``snn.Leaky`` neuron.

    snnTorch integrates ``mem = beta * mem + input`` (``beta`` clipped to [0, 1]) and
    fires when ``mem - threshold > 0``, as here: so ``leak = beta``, ``gain = 1``.
    The reset decides whether the mapping is exact (see ``docs/python.md``):

    ========================  ===============  =============================================
    ``reset_mechanism``       ``reset_delay``  here
    ========================  ===============  =============================================
    ``"subtract"``            False            soft reset: identical spikes while no
                                               membrane stays above ``threshold`` after its
                                               reset (inputs below ``(2 - beta) *
                                               threshold`` guarantee it); when one does,
                                               snnTorch subtracts ``threshold`` once more
                                               before its next comparison
    ``"subtract"``            True (default)   snnTorch subtracts ``threshold`` at the *next*
                                               step, undecayed; a soft reset here subtracts
                                               it now, so it decays to ``beta*threshold``.
                                               Identical only when ``beta == 1``
    ``"zero"``                either           hard reset to 0: identical spikes
    ``"none"``                                 not expressible (every neuron here resets)
    ========================  ===============  =============================================

    Parameters
    ----------
    beta : float
        One decay for the layer (a per-neuron ``beta`` has no equivalent: ``leak`` is per
        layer and step).
    threshold : float or array_like
        Scalar, or per neuron (anything that broadcasts to the layer's shape).
    reset_mechanism : {"subtract", "zero", "none"}
    reset_delay : bool
        snnTorch's default is True.
    exact : bool
        With the default True, a case whose spikes would differ raises ``ValueError``;
        with False it returns the nearest form (a soft reset).

    Returns
    -------
    dict
        ``leak``, ``gain``, ``threshold``, ``reset`` (and ``v_reset``).

    Examples
    --------
    >>> snntorch_leaky(beta=0.9, reset_mechanism="zero")
    {'leak': 0.9, 'gain': 1.0, 'threshold': 1.0, 'reset': 'hard', 'v_reset': 0.0}
    """
    beta = np.asarray(beta, dtype=np.float64)
    if beta.size != 1:
        raise ValueError("a per-neuron beta has no equivalent here: leak is one value per layer (and timestep)")
    beta = float(min(max(beta.item(), 0.0), 1.0))  # snnTorch clips beta to [0, 1] in the forward pass
    if reset_mechanism == "zero":
        return {"leak": beta, "gain": 1.0, "threshold": threshold, "reset": "hard", "v_reset": 0.0}
    if reset_mechanism == "subtract":
        if reset_delay and beta != 1.0 and exact:
            raise ValueError(
                "snn.Leaky(reset_mechanism='subtract', reset_delay=True) subtracts the threshold one step later and "
                f"undecayed; a soft reset here decays it to beta*threshold ({beta:g}*threshold), so spikes can differ. "
                "Train with reset_delay=False for an exact match, or pass exact=False for the nearest form"
            )
        return {"leak": beta, "gain": 1.0, "threshold": threshold, "reset": "soft"}
    if reset_mechanism == "none":
        raise ValueError("snn.Leaky(reset_mechanism='none') never resets; every neuron here resets (soft or hard)")
    raise ValueError(f"unknown snnTorch reset_mechanism {reset_mechanism!r}; expected 'subtract', 'zero' or 'none'")


def spikingjelly_lif(tau: float = 2.0, v_threshold: float = 1.0, v_reset: float | None = 0.0, decay_input: bool = True, *, exact: bool = True) -> dict:
    """:meth:`GraphBuilder.neuron` arguments for a SpikingJelly ``neuron.LIFNode``.

    SpikingJelly charges ``H = V + (X - (V - V_reset)) / tau`` (``decay_input=True``) or
    ``H = V - (V - V_reset) / tau + X`` (False), with ``V_reset = 0`` under a soft reset.
    Both are ``leak * V + gain * X + bias`` with ``leak = 1 - 1/tau``, ``gain = 1/tau``
    (or 1) and ``bias = V_reset / tau``. ``v_reset=None`` is a soft reset
    (``V -= v_threshold``), a number a hard reset to it (SpikingJelly's default is a hard
    reset to 0). SpikingJelly fires when ``V >= v_threshold``: ``compare="ge"``, so a
    membrane exactly at the threshold fires here too.

    One difference remains (see ``docs/python.md``): SpikingJelly starts the membrane at
    ``v_reset`` (hard reset) where this simulator starts at 0, which matters only for
    ``v_reset != 0``.

    Parameters
    ----------
    tau : float
        Membrane time constant (> 1).
    v_threshold : float
    v_reset : float or None
    decay_input : bool
    exact : bool
        With the default True, ``v_reset`` other than None or 0 (different initial
        membrane) raises ``ValueError``; with False the nearest form is returned.

    Returns
    -------
    dict
        ``leak``, ``gain``, ``threshold``, ``compare``, ``reset`` (and ``v_reset``, ``bias``).

    Examples
    --------
    >>> spikingjelly_lif(tau=2.0)
    {'leak': 0.5, 'gain': 0.5, 'threshold': 1.0, 'compare': 'ge', 'reset': 'hard', 'v_reset': 0.0}
    >>> spikingjelly_lif(tau=4.0, v_reset=None, decay_input=False)
    {'leak': 0.75, 'gain': 1.0, 'threshold': 1.0, 'compare': 'ge', 'reset': 'soft'}
    """
    tau = float(tau)
    if not tau > 1.0:
        raise ValueError(f"SpikingJelly's tau must be > 1, got {tau!r}")
    out: dict[str, Any] = {"leak": 1.0 - 1.0 / tau, "gain": 1.0 / tau if decay_input else 1.0, "threshold": float(v_threshold),
                           "compare": "ge"}
    if v_reset is None:
        out["reset"] = "soft"
        return out
    v_reset = float(v_reset)
    if v_reset != 0.0 and exact:
        raise ValueError(
            f"LIFNode(v_reset={v_reset:g}) starts its membrane at v_reset; this simulator starts at 0, so the first "
            "steps can differ. Pass exact=False for the nearest form"
        )
    out.update(reset="hard", v_reset=v_reset)
    if v_reset != 0.0:
        out["bias"] = v_reset / tau
    return out


def _one_decay(name: str, value) -> float:
    """One decay rate for the layer, clipped to [0, 1] as snnTorch does in its forward pass."""
    arr = np.asarray(_array(value), dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"a per-neuron {name} has no equivalent here: it is one value per layer (and timestep)")
    return float(min(max(arr.item(), 0.0), 1.0))


def snntorch_synaptic(alpha: float, beta: float, threshold=1.0, reset_mechanism: str = "zero", reset_delay: bool = False, *,
                      exact: bool = True) -> dict:
    """:meth:`GraphBuilder.cuba_neuron` arguments for an snnTorch ``snn.Synaptic`` neuron.

    snnTorch computes ``syn = alpha * syn + input`` and then ``mem = beta * mem + syn``
    (``alpha`` and ``beta`` clipped to [0, 1]), both from 0, and fires when
    ``mem - threshold > 0``, as here: so ``syn_leak = alpha``, ``syn_gain = 1``,
    ``leak = beta``, ``gain = 1``, ``compare="gt"``. ``syn`` is never reset. The reset
    decides whether the mapping is exact (see ``docs/python.md``):

    ========================  ===============  =============================================
    ``reset_mechanism``       ``reset_delay``  here
    ========================  ===============  =============================================
    ``"zero"``                False            hard reset to 0, right after the spike:
                                               identical spikes
    ``"zero"``                True             not expressible: snnTorch zeroes the membrane
                                               at the *next* step after integrating it
                                               (``mem = 0`` at that step, whose input is lost
                                               to the membrane, though ``syn`` keeps it), so
                                               no neuron fires two steps in a row.
                                               ``exact=False`` gives the hard reset
    ``"subtract"``            False            soft reset: identical spikes while no
                                               membrane stays above ``threshold`` after its
                                               reset (``syn`` below ``(2 - beta) *
                                               threshold`` guarantees it); when one does,
                                               snnTorch subtracts ``threshold`` once more
                                               before its next comparison
    ``"subtract"``            True             snnTorch subtracts ``threshold`` at the *next*
                                               step, undecayed; a soft reset here subtracts
                                               it now, so it decays to ``beta*threshold``.
                                               The same only when ``beta == 1`` (up to the
                                               order of roundings: ``(mem + syn) - thr``
                                               there, ``(mem - thr) + syn`` here)
    ``"none"``                                 not expressible (every neuron here resets)
    ========================  ===============  =============================================

    The defaults are the exact case, ``Synaptic(alpha, beta, reset_mechanism="zero",
    reset_delay=False)``; snnTorch's own defaults are ``"subtract"`` and
    ``reset_delay=True``.

    Parameters
    ----------
    alpha, beta : float
        One synaptic and one membrane decay for the layer (a per-neuron ``alpha`` or
        ``beta`` has no equivalent: the decays are per layer and step).
    threshold : float or array_like
        Scalar, or per neuron (anything that broadcasts to the layer's shape).
    reset_mechanism : {"zero", "subtract", "none"}
    reset_delay : bool
    exact : bool
        With the default True, a case whose spikes would differ raises ``ValueError``;
        with False it returns the nearest form (the reset applied at once).

    Returns
    -------
    dict
        ``syn_leak``, ``syn_gain``, ``leak``, ``gain``, ``threshold``, ``compare``,
        ``reset`` (and ``v_reset``).

    Examples
    --------
    >>> snntorch_synaptic(alpha=0.5, beta=0.75)
    {'syn_leak': 0.5, 'syn_gain': 1.0, 'leak': 0.75, 'gain': 1.0, 'threshold': 1.0, 'compare': 'gt', 'reset': 'hard', 'v_reset': 0.0}
    """
    alpha, beta = _one_decay("alpha", alpha), _one_decay("beta", beta)
    out: dict[str, Any] = {"syn_leak": alpha, "syn_gain": 1.0, "leak": beta, "gain": 1.0, "threshold": threshold, "compare": "gt"}
    if reset_mechanism == "zero":
        if reset_delay and exact:
            raise ValueError(
                "snn.Synaptic(reset_mechanism='zero', reset_delay=True) zeroes the membrane one step after the spike, "
                "after integrating that step's input (which the membrane then loses), so a neuron never fires two steps "
                "in a row; no reset here does that. Use reset_delay=False for an exact match, or pass exact=False for "
                "the nearest form (a hard reset to 0 right after the spike)"
            )
        return {**out, "reset": "hard", "v_reset": 0.0}
    if reset_mechanism == "subtract":
        if reset_delay and beta != 1.0 and exact:
            raise ValueError(
                "snn.Synaptic(reset_mechanism='subtract', reset_delay=True) subtracts the threshold one step later and "
                f"undecayed; a soft reset here decays it to beta*threshold ({beta:g}*threshold), so spikes can differ. "
                "Use reset_delay=False, or pass exact=False for the nearest form"
            )
        return {**out, "reset": "soft"}
    if reset_mechanism == "none":
        raise ValueError("snn.Synaptic(reset_mechanism='none') never resets; every neuron here resets (soft or hard)")
    raise ValueError(f"unknown snnTorch reset_mechanism {reset_mechanism!r}; expected 'zero', 'subtract' or 'none'")


def spikingjelly_cuba_lif(c_decay: float = 0.5, v_decay: float = 0.75, v_threshold: float = 0.5, v_reset: float | None = 0.0, *,
                          exact: bool = True) -> dict:
    """:meth:`GraphBuilder.cuba_neuron` arguments for a SpikingJelly ``neuron.CUBALIFNode``.

    SpikingJelly (2.0) computes ``c = c * c_decay + X``, then ``H = V * v_decay + c``,
    fires when ``H >= v_threshold`` and resets ``V = H - v_threshold`` (``v_reset=None``)
    or ``V = v_reset``; ``c`` is never reset. That is this form with
    ``syn_leak = c_decay``, ``syn_gain = 1``, ``leak = v_decay``, ``gain = 1`` and
    ``compare="ge"``; the defaults are SpikingJelly's.

    One difference (as for :func:`spikingjelly_lif`): SpikingJelly starts the membrane
    at ``v_reset`` (hard reset) where this simulator starts at 0, which matters only for
    ``v_reset != 0``.

    Parameters
    ----------
    c_decay, v_decay : float
    v_threshold : float
    v_reset : float or None
    exact : bool
        With the default True, ``v_reset`` other than None or 0 (different initial
        membrane) raises ``ValueError``; with False the nearest form is returned.

    Returns
    -------
    dict
        ``syn_leak``, ``syn_gain``, ``leak``, ``gain``, ``threshold``, ``compare``,
        ``reset`` (and ``v_reset``).

    Examples
    --------
    >>> spikingjelly_cuba_lif()
    {'syn_leak': 0.5, 'syn_gain': 1.0, 'leak': 0.75, 'gain': 1.0, 'threshold': 0.5, 'compare': 'ge', 'reset': 'hard', 'v_reset': 0.0}
    """
    out: dict[str, Any] = {"syn_leak": float(c_decay), "syn_gain": 1.0, "leak": float(v_decay), "gain": 1.0,
                           "threshold": float(v_threshold), "compare": "ge"}
    if v_reset is None:
        return {**out, "reset": "soft"}
    v_reset = float(v_reset)
    if v_reset != 0.0 and exact:
        raise ValueError(
            f"CUBALIFNode(v_reset={v_reset:g}) starts its membrane at v_reset; this simulator starts at 0, so the first "
            "steps can differ. Pass exact=False for the nearest form"
        )
    return {**out, "reset": "hard", "v_reset": v_reset}


class GraphBuilder:
    """Build an :class:`~asnn_sim.graph.ir.Graph` layer by layer.

    Each layer method appends one node reading the previous node (or the node named in
    ``source=``) and returns the builder, so calls chain. :meth:`build` validates the
    whole graph and returns it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image (values in [0, 1]).
    encoding : str
        Input coding of a spiking network: ``direct``, ``rate``, ``temporal``, ``binary``,
        ``hybrid`` or ``hybrid-binary`` (see :mod:`asnn_sim.graph.encoding`). Ignored for an ANN.
    timesteps : int, optional
        T (default 4; an ANN runs one step).
    thresholds : {"uniform", "equal-mass"}
        Temporal thresholds (``temporal`` and ``hybrid`` only).
    legacy_temporal : bool
        The reference's last temporal step, where every pixel fires (``temporal`` only).
    encoder_seed : int
        Seed of the ``rate`` encoder.
    ann : bool
        Build a one-step ANN graph (``relu`` instead of ``neuron``, analog input).
    seed : int
        Seed of the weights the builder draws.
    init_gain : float
        Random weights are normal with standard deviation ``init_gain * sqrt(2 / fan_in)``.

    Examples
    --------
    >>> net = GraphBuilder((3, 16, 16), encoding="hybrid", timesteps=4, seed=1)
    >>> _ = net.conv(16, 3, padding=1, hybrid_analog=True).neuron(leak=[0.5, 0.6, 0.7, 0.8], gain=0.5)
    >>> graph = net.avgpool(16).flatten().linear(10).readout(scale=1.0).build(class_names=list("abcdefghij"))
    >>> graph.node("conv1").weight.shape          # 2 weight sets: the analog frame's, the spikes'
    (2, 16, 3, 3, 3)
    >>> graph.node("conv1").weight_set.tolist()   # step 0 analog, then spikes
    [0, 1, 1, 1]
    >>> graph.node("lif1").per_timestep
    True
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        *,
        encoding: str = "direct",
        timesteps: int | None = None,
        thresholds: str = "uniform",
        legacy_temporal: bool = False,
        encoder_seed: int = 0,
        ann: bool = False,
        seed: int = 0,
        init_gain: float = 1.0,
    ) -> None:
        self._kind = "ann" if ann else "snn"
        if ann:
            if timesteps not in (None, 1):
                raise GraphError(f"an ANN graph runs one step; timesteps is {timesteps!r}")
            self.timesteps = 1
            encoder = None
            self._frame_kinds: tuple[str, ...] = ("analog",)
        else:
            self.timesteps = 4 if timesteps is None else timesteps
            if isinstance(self.timesteps, bool) or not isinstance(self.timesteps, (int, np.integer)) or self.timesteps < 1:
                raise GraphError(f"timesteps must be a positive integer, got {timesteps!r}")
            self.timesteps = int(self.timesteps)
            try:
                spec = EncoderSpec(encoding, self.timesteps, thresholds=thresholds, legacy=legacy_temporal, seed=int(encoder_seed))
            except ValueError as e:
                raise GraphError(f"input: {e}") from None
            encoder = spec.to_dict()
            self._frame_kinds = spec.frame_kinds
        if not (isinstance(init_gain, (int, float)) and math.isfinite(init_gain) and init_gain >= 0):
            raise GraphError(f"init_gain must be a non-negative number, got {init_gain!r}")
        self.encoding = None if ann else encoding
        self._init_gain = float(init_gain)
        self._rng = np.random.default_rng(seed)
        self._nodes: list[Node] = []
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._types: dict[str, str] = {}
        self._reader: dict[str, str] = {}  # current producer -> the node that reads it
        self._counters: dict[str, int] = {}
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape
        self._append(Input("input", (), shape=shape, encoder=encoder))

    # ------------------------------------------------------------ what has been built

    @property
    def kind(self) -> str:
        """``"snn"`` or ``"ann"``."""
        return self._kind

    @property
    def last(self) -> str:
        """Name of the node added last (what the next layer reads by default)."""
        return self._nodes[-1].name

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The nodes so far, in order."""
        return tuple(self._nodes)

    def shape(self, name: str | None = None) -> tuple[int, ...]:
        """Per-sample output shape of node ``name`` (default: the last node)."""
        name = self.last if name is None else name
        if name not in self._shapes:
            raise KeyError(f"no node named {name!r}; the nodes so far: {', '.join(self._shapes)}")
        return self._shapes[name]

    def describe(self) -> str:
        """One line per node: name, kind, inputs, output shape and value type."""
        rows = [("node", "kind", "reads", "shape", "emits")]
        for n in self._nodes:
            rows.append((n.name, n.kind, ", ".join(n.inputs) or "-", "x".join(map(str, self._shapes[n.name])), self._types[n.name]))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def __repr__(self) -> str:
        return f"GraphBuilder({self._kind}, T={self.timesteps}, {len(self._nodes)} nodes, last {self.last!r})"

    # ------------------------------------------------------------ layers

    def conv(
        self,
        out_channels: int | None = None,
        kernel_size: int | Sequence[int] | None = None,
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        weight=None,
        bias=None,
        bn: Mapping | None = None,
        hybrid_analog=None,
        name: str | None = None,
        source: str | None = None,
    ) -> GraphBuilder:
        """A 2-D convolution of the source's events into a current (read it with :meth:`neuron`).

        Parameters
        ----------
        out_channels : int, optional
            C_out (taken from ``weight`` when that is given).
        kernel_size : int or (int, int), optional
            Taken from ``weight`` when that is given.
        stride, padding, dilation : int or (int, int)
        groups : int
            As in PyTorch: input and output channels in ``groups`` groups, each output
            channel reading only its group's ``C_in / groups`` input channels.
        weight : array_like, optional
            ``(C_out, C_in // groups, kh, kw)``; default: seeded random (Kaiming scale).
        bias : float or array_like, optional
            ``(C_out,)`` (or one value for all); default none. Added by the neuron that
            integrates the current, and counted there.
        bn : dict or BatchNorm module, optional
            BatchNorm to fold in: ``gamma``, ``beta``, ``mean``, ``var`` (and ``eps``,
            default 1e-5), a PyTorch ``BatchNorm2d`` module, or its ``state_dict()``
            (which holds no ``eps``: add it when yours is not 1e-5).
        hybrid_analog : True, array_like or dict, optional
            Hybrid coding only, on a conv reading the input: the weights used for the
            analog frame at t = 0 (the spike frames use ``weight``). True draws them
            at random; a dict may hold ``weight``, ``bias`` and ``bn``. Without it,
            every frame goes through ``weight``.
        name, source : str, optional
            This node's name (default ``convN``), and the node it reads (default the
            last one).
        """
        name, src = self._begin("conv2d", name, source)
        in_shape = self._shapes[src]
        if len(in_shape) != 3:
            raise fail(name, f"a convolution reads a (C, H, W) map, but {src!r} gives shape {in_shape}")
        c_in = in_shape[0]
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 or c_in % groups:
            raise fail(name, f"groups must be an integer >= 1 dividing the {c_in} input channels; got {groups!r}")
        groups = int(groups)
        w, b = self._synaptic_weights(name, "conv", weight, bias, bn, out_channels, kernel_size, c_in // groups,
                                      groups=groups)
        sets_w, sets_b, weight_set = [w], [b], np.zeros(self.timesteps, dtype=np.int64)
        if hybrid_analog is not None and hybrid_analog is not False:
            if src != "input" or self.encoding not in ("hybrid", "hybrid-binary"):
                where = "reads the input" if src == "input" else f"reads {src!r}, not the input"
                raise fail(name, f"hybrid_analog= gives the analog frame its own weights: it needs hybrid coding and a conv "
                                 f"reading the input; this network uses {self.encoding or 'no'} coding and the conv {where}")
            spec = {"weight": None} if hybrid_analog is True else (dict(hybrid_analog) if isinstance(hybrid_analog, Mapping) else {"weight": hybrid_analog})
            unknown = set(spec) - {"weight", "bias", "bn"}
            if unknown:
                raise fail(name, f"hybrid_analog= takes weight, bias and bn; got {', '.join(sorted(unknown))}")
            wa, ba = self._synaptic_weights(name, "conv", spec.get("weight"), spec.get("bias"), spec.get("bn"),
                                            w.shape[0], w.shape[2:], c_in // groups, what="hybrid_analog weight",
                                            groups=groups)
            if wa.shape != w.shape:
                raise fail(name, f"hybrid_analog weight has shape {wa.shape}, but weight has {w.shape}; they must match")
            sets_w, sets_b = [wa, w], [ba, b]
            weight_set = np.array([0 if k == "analog" else 1 for k in self._frame_kinds], dtype=np.int64)
        node = Conv2d(name, (src,), weight=np.stack(sets_w), bias=self._stack_bias(sets_b, w.shape[0]),
                      weight_set=weight_set, stride=pair(_Named(name), "stride", stride), padding=pair(_Named(name), "padding", padding),
                      dilation=pair(_Named(name), "dilation", dilation), groups=groups)
        return self._append(node)

    def linear(
        self,
        out_features: int | None = None,
        *,
        weight=None,
        bias=None,
        bn: Mapping | None = None,
        name: str | None = None,
        source: str | None = None,
    ) -> GraphBuilder:
        """A fully connected layer of the source's events into a current.

        Parameters
        ----------
        out_features : int, optional
            Taken from ``weight`` when that is given.
        weight : array_like, optional
            ``(out, in)``, as ``torch.nn.Linear.weight``; default seeded random.
        bias : float or array_like, optional
            ``(out,)``; default none.
        bn : dict, optional
            A BatchNorm1d to fold in (see :meth:`conv`).
        name, source : str, optional
            Default name ``fcN``; default source the last node.
        """
        name, src = self._begin("linear", name, source)
        in_shape = self._shapes[src]
        if len(in_shape) != 1:
            hint = "; add .flatten() (after a neuron) first" if len(in_shape) == 3 else ""
            raise fail(name, f"a linear layer reads a vector, but {src!r} gives shape {in_shape}{hint}")
        w, b = self._synaptic_weights(name, "linear", weight, bias, bn, out_features, None, in_shape[0])
        node = Linear(name, (src,), weight=w[None], bias=self._stack_bias([b], w.shape[0]), weight_set=np.zeros(self.timesteps, dtype=np.int64))
        return self._append(node)

    def token_linear(
        self,
        out_features: int | None = None,
        *,
        weight=None,
        bias=None,
        bn: Mapping | None = None,
        name: str | None = None,
        source: str | None = None,
    ) -> GraphBuilder:
        """The same fully connected layer on every token of a ``(D, H, W)`` map, into a current.

        The ``H * W`` positions are the tokens and the ``D`` channels their features (a
        transformer's ``nn.Linear`` on ``(N, D)`` tokens); the output is ``(out, H, W)``.

        Parameters
        ----------
        out_features : int, optional
            Taken from ``weight`` when that is given.
        weight : array_like, optional
            ``(out, D)``, as ``torch.nn.Linear.weight``; default seeded random.
        bias : float or array_like, optional
            ``(out,)``; default none.
        bn : dict, optional
            A BatchNorm over the output features to fold in (see :meth:`conv`).
        name, source : str, optional
            Default name ``tfcN``; default source the last node.
        """
        name, src = self._begin("token_linear", name, source)
        in_shape = self._shapes[src]
        if len(in_shape) != 3:
            raise fail(name, f"a token_linear layer reads a (D, H, W) map of H*W tokens, but {src!r} gives shape {in_shape}")
        w, b = self._synaptic_weights(name, "linear", weight, bias, bn, out_features, None, in_shape[0])
        node = TokenLinear(name, (src,), weight=w[None], bias=self._stack_bias([b], w.shape[0]),
                           weight_set=np.zeros(self.timesteps, dtype=np.int64))
        return self._append(node)

    def attention(self, q: str, k: str, v: str, *, heads: int = 1, scale: float = 1.0,
                  name: str | None = None) -> GraphBuilder:
        """Softmax-free self-attention ``scale * Q K^T V`` per head, into a current.

        ``q``, ``k`` and ``v`` name three event nodes of one ``(D, H, W)`` shape (e.g. the
        neurons after three :meth:`token_linear` layers); ``heads`` must divide ``D``.
        Read the current with :meth:`neuron` (or :meth:`relu` in an ANN). See
        :mod:`asnn_sim.graph.nodes.attention` for the counting.
        """
        name, _ = self._begin("attention", name, None)
        for src in (q, k, v):
            if src not in self._shapes:
                raise fail(name, f"reads {src!r}, which is not an earlier node (the nodes so far: {', '.join(self._shapes)})")
        return self._append(Attention(name, (q, k, v), heads=heads, scale=_number(name, "scale", scale)))

    def neuron(
        self,
        leak=1.0,
        gain=1.0,
        *,
        threshold=1.0,
        reset: str = "soft",
        v_reset: float = 0.0,
        bias=None,
        per_timestep: bool | None = None,
        compare: str = "gt",
        name: str | None = None,
        source: str | None = None,
    ) -> GraphBuilder:
        """Spiking neurons integrating the source's current: ``v = leak[t]*v + gain[t]*I + bias``.

        A spike when ``v > threshold`` (``compare="ge"``: ``v >= threshold``), then
        ``v -= threshold`` (soft reset) or ``v = v_reset`` (hard). The defaults are an
        integrate-and-fire neuron (leak 1, gain 1, threshold 1, soft reset). For snnTorch or SpikingJelly
        parameters use :func:`snntorch_leaky` / :func:`spikingjelly_lif`:
        ``net.neuron(**snntorch_leaky(beta=0.9, reset_mechanism="zero"))``.

        Parameters
        ----------
        leak, gain : float or sequence of float
            One value for every step, or one per step (T values).
        threshold : float or array_like
            Positive; scalar, per channel ``(C, 1, 1)``, or per neuron.
        reset : {"soft", "hard"}
        v_reset : float
            Membrane value after a spike under ``reset="hard"``.
        bias : float or array_like, optional
            The neuron's own bias (broadcasts like ``threshold``), added every step.
        per_timestep : bool, optional
            Recorded in the graph (the layers table shows ``asnn`` or ``lif``); default:
            True when leak or gain changes over time.
        compare : {"gt", "ge"}
            Whether a membrane exactly at the threshold fires: ``"gt"`` (NIR, snnTorch)
            no, ``"ge"`` (SpikingJelly) yes.
        name, source : str, optional
            Default name ``lifN``; default source the last node (a conv, linear, or add of
            currents).
        """
        name, src = self._begin("neuron", name, source)
        leak_t = self._per_step(name, "leak", leak)
        gain_t = self._per_step(name, "gain", gain)
        if per_timestep is None:
            per_timestep = bool(np.ptp(leak_t) > 0 or np.ptp(gain_t) > 0)
        node = Neuron(name, (src,), leak=leak_t, gain=gain_t, threshold=_floats(name, "threshold", threshold),
                      bias=None if bias is None else _floats(name, "bias", bias), reset=reset,
                      v_reset=_number(name, "v_reset", v_reset), per_timestep=per_timestep, compare=compare)
        return self._append(node)

    def cuba_neuron(
        self,
        *,
        syn_leak,
        syn_gain=1.0,
        leak,
        gain=1.0,
        threshold=1.0,
        reset: str = "soft",
        v_reset: float = 0.0,
        bias=None,
        compare: str = "gt",
        per_timestep: bool | None = None,
        name: str | None = None,
        source: str | None = None,
    ) -> GraphBuilder:
        """Current-based LIF neurons (NIR's CubaLIF) reading the source's current.

        Per step: ``i = syn_leak[t]*i + syn_gain[t]*I``, then ``v = leak[t]*v + gain[t]*i
        + bias``; a spike when ``v > threshold`` (``compare="ge"``: ``>=``), then
        ``v -= threshold`` (soft reset) or ``v = v_reset`` (hard); ``i`` is never reset.
        For snnTorch or SpikingJelly parameters use :func:`snntorch_synaptic` /
        :func:`spikingjelly_cuba_lif`:
        ``net.cuba_neuron(**snntorch_synaptic(alpha=0.9, beta=0.8))``.

        Parameters
        ----------
        syn_leak, syn_gain, leak, gain : float or sequence of float
            One value for every step, or one per step (T values); ``syn_leak`` and
            ``leak`` are required (keyword arguments).
        threshold, reset, v_reset, bias, compare
            As for :meth:`neuron`.
        per_timestep : bool, optional
            Recorded in the graph; default: True when any of the four changes over time.
        name, source : str, optional
            Default name ``cubaN``; default source the last node (a conv, linear, or add of
            currents).
        """
        name, src = self._begin("cuba_neuron", name, source)
        steps = {what: self._per_step(name, what, value)
                 for what, value in (("syn_leak", syn_leak), ("syn_gain", syn_gain), ("leak", leak), ("gain", gain))}
        if per_timestep is None:
            per_timestep = any(bool(np.ptp(a) > 0) for a in steps.values())
        node = CubaNeuron(name, (src,), **steps, threshold=_floats(name, "threshold", threshold),
                          bias=None if bias is None else _floats(name, "bias", bias), reset=reset,
                          v_reset=_number(name, "v_reset", v_reset), per_timestep=per_timestep, compare=compare)
        return self._append(node)

    def relu(self, *, name: str | None = None, source: str | None = None) -> GraphBuilder:
        """ReLU of the source's current (ANN graphs, ``GraphBuilder(..., ann=True)``)."""
        name, src = self._begin("relu", name, source)
        return self._append(ReLU(name, (src,)))

    def maxpool(self, kernel: int | Sequence[int] = 2, stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0, *,
                name: str | None = None, source: str | None = None) -> GraphBuilder:
        """Max pooling (an OR of spikes); ``stride`` defaults to ``kernel``; ``padding`` as PyTorch's."""
        name, src = self._begin("maxpool2d", name, source)
        return self._append(MaxPool2d(name, (src,), kernel=kernel, stride=kernel if stride is None else stride, padding=padding))

    def avgpool(self, kernel: int | Sequence[int] = 2, stride: int | Sequence[int] | None = None, padding: int | Sequence[int] = 0, *,
                name: str | None = None, source: str | None = None) -> GraphBuilder:
        """Average pooling (analog outputs); ``stride`` defaults to ``kernel``; ``padding`` as PyTorch's
        (the mean divides by the whole window, padding included).

        ``avgpool(H)`` on an ``(C, H, H)`` map is a global average pool.
        """
        name, src = self._begin("avgpool2d", name, source)
        return self._append(AvgPool2d(name, (src,), kernel=kernel, stride=kernel if stride is None else stride, padding=padding))

    def flatten(self, *, name: str | None = None, source: str | None = None) -> GraphBuilder:
        """``(C, H, W)`` events to a vector, in C-major order (as ``torch.flatten``)."""
        name, src = self._begin("flatten", name, source)
        return self._append(Flatten(name, (src,)))

    def add(self, *sources: str, name: str | None = None) -> GraphBuilder:
        """Element-wise sum (residual connections).

        ``add("x")`` adds node ``x`` to the last node; ``add("a", "b", ...)`` adds the
        named nodes. Currents plus events (a standard residual: the shortcut's spikes
        join the second conv's current) give a current for a neuron; events only (SEW:
        spikes added after the neurons) give graded events.
        """
        if not sources:
            raise GraphError("add() needs the node(s) to add: add('shortcut') adds 'shortcut' to the last node")
        operands = (self.last, *sources) if len(sources) == 1 else tuple(sources)
        name, _ = self._begin("add", name, None)
        for src in operands:
            if src not in self._shapes:
                raise fail(name, f"adds {src!r}, which is not an earlier node (the nodes so far: {', '.join(self._shapes)})")
        return self._append(Add(name, operands))

    def readout(self, scale=None, *, name: str = "readout", source: str | None = None) -> GraphBuilder:
        """The prediction logits: ``mean_t(scale[t] * (I_t + b))`` of the source's current.

        Parameters
        ----------
        scale : float or sequence of float, optional
            A per-step output scale (ASNN learns one); default none (a plain mean).
        name, source : str, optional
            The last node of the network (default name ``readout``).
        """
        name, src = self._begin("readout", name, source)
        if self._types[src] != CURRENT:
            raise fail(name, f"the readout reads a current, but {src!r} gives {self._types[src]} events; "
                             f"end the network with .linear(n_classes).readout()")
        node = Readout(name, (src,), scale=None if scale is None else self._per_step(name, "scale", scale))
        return self._append(node)

    # ------------------------------------------------------------ the graph

    def build(self, class_names: Sequence[str] | None = None, metadata: Mapping | None = None) -> Graph:
        """Validate and return the graph.

        Parameters
        ----------
        class_names : sequence of str, optional
            One name per output (for reports).
        metadata : dict, optional
            Free-form JSON stored with the graph (provenance, notes).

        Returns
        -------
        Graph
        """
        if not isinstance(self._nodes[-1], Readout):
            raise GraphError(f"the network has no readout yet (its last node is {self.last!r}); "
                             f"end it with .linear(n_classes).readout()")
        unread = [n for n, t in self._types.items() if t == CURRENT and n not in self._reader]
        if unread:
            raise fail(unread[0], "its current is read by no node; put a .neuron() (or .readout()) after it, "
                                  "or use it in an .add(...)")
        n_classes = self._shapes[self.last][0]
        names = [str(c) for c in class_names] if class_names is not None else []
        if names and len(names) != n_classes:
            raise GraphError(f"{len(names)} class names for a readout of {n_classes} outputs")
        meta = {"built_by": "asnn_sim.interop.builder.GraphBuilder", **(dict(metadata) if metadata else {})}
        return Graph(list(self._nodes), self._kind, self.timesteps, names, meta)

    # ------------------------------------------------------------ helpers

    def _begin(self, kind: str, name: str | None, source: str | None) -> tuple[str, str]:
        """The new node's name and source, checked before the node is made."""
        if self._nodes and isinstance(self._nodes[-1], Readout):
            raise GraphError(f"the network already ends with {self.last!r}: the readout must be the last node")
        if name is None:
            name = self._generated_name(kind)
        elif not isinstance(name, str) or not name or "." in name:
            raise GraphError(f"invalid node name {name!r}: use a non-empty string without dots")
        elif name in self._shapes:
            raise fail(name, f"the name is already used by the {self._kind_of(name)} node added earlier")
        src = self.last if source is None else source
        if src not in self._shapes:
            raise fail(name, f"reads {src!r}, which is not an earlier node (the nodes so far: {', '.join(self._shapes)})")
        return name, src

    def _kind_of(self, name: str) -> str:
        return next(n.kind for n in self._nodes if n.name == name)

    def _generated_name(self, kind: str) -> str:
        prefix = PREFIX.get(kind, kind)
        while True:
            self._counters[prefix] = self._counters.get(prefix, 0) + 1
            name = f"{prefix}{self._counters[prefix]}"
            if name not in self._shapes:
                return name

    def _append(self, node: Node) -> GraphBuilder:
        in_shapes = [self._shapes[s] for s in node.inputs]
        in_types = [self._types[s] for s in node.inputs]
        shape = tuple(node.output_shape(in_shapes))
        value_type = node.value_type(in_types, self._kind)
        for src, t in zip(node.inputs, in_types):
            if t == CURRENT:
                if src in self._reader:
                    raise fail(node.name, f"reads the current of {src!r}, which {self._reader[src]!r} already integrates; "
                                          f"a current has one reader (to combine currents, .add() them before one neuron)")
        for src, t in zip(node.inputs, in_types):
            if t == CURRENT:
                self._reader[src] = node.name
        self._nodes.append(node)
        self._shapes[node.name] = shape
        self._types[node.name] = value_type
        return self

    def _per_step(self, name: str, what: str, value) -> np.ndarray:
        arr = _floats(name, what, value).reshape(-1)
        if arr.size == 1:
            return np.repeat(arr, self.timesteps)
        if arr.size != self.timesteps:
            raise fail(name, f"{what} has {arr.size} values; give one value, or one per timestep (T={self.timesteps})")
        return arr

    def _synaptic_weights(self, name, layer, weight, bias, bn, n_out, kernel, n_in, what="weight", groups=1):
        """The ``(out, ...)`` weight and ``(out,)`` bias (or None) of one weight set (a conv's
        ``n_in`` is the input channels per group, ``C_in // groups``)."""
        if layer == "conv":
            if weight is None:
                if n_out is None or kernel is None:
                    raise fail(name, "give out_channels and kernel_size, or a weight (C_out, C_in // groups, kh, kw)")
                kh, kw = pair(_Named(name), "kernel_size", kernel)
                shape = (int(n_out), n_in, kh, kw)
            else:
                shape = None
            rank, layout = 4, "(C_out, C_in, kh, kw)" if groups == 1 else "(C_out, C_in // groups, kh, kw)"
        else:
            if weight is None and n_out is None:
                raise fail(name, "give out_features, or a weight (out, in)")
            shape = (int(n_out), n_in) if weight is None else None
            rank, layout = 2, "(out, in)"
        if weight is None:
            if min(shape) < 1:
                raise fail(name, f"{layer} sizes must be positive, got {shape}")
            fan_in = int(np.prod(shape[1:]))
            w = self._rng.normal(0.0, self._init_gain * math.sqrt(2.0 / fan_in), shape)
        else:
            w = _floats(name, what, weight)
            if w.ndim == rank + 1:
                raise fail(name, f"{what} has {w.ndim} dimensions; give it as {layout}: the builder adds the weight-set "
                                 f"axis itself (hybrid coding's analog weights go in hybrid_analog=)")
            if w.ndim != rank:
                raise fail(name, f"{what} must be {layout}, got shape {w.shape}")
            if w.shape[1] != n_in:
                unit = "channels" if layer == "conv" else "features"
                if groups > 1:
                    raise fail(name, f"{what} {w.shape} expects {w.shape[1]} input channels per group, but the input has "
                                     f"{n_in} per group ({n_in * groups} in {groups} groups)")
                raise fail(name, f"{what} {w.shape} expects {w.shape[1]} input {unit}, but the input has {n_in}")
            if n_out is not None and w.shape[0] != n_out:
                raise fail(name, f"{what} has {w.shape[0]} outputs, but {n_out} were asked for")
            if layer == "conv" and kernel is not None and tuple(w.shape[2:]) != pair(_Named(name), "kernel_size", kernel):
                raise fail(name, f"{what} has a {w.shape[2]}x{w.shape[3]} kernel, but kernel_size is {kernel}")
        out = w.shape[0]
        b = None
        if bias is not None:
            b = _floats(name, "bias", bias).reshape(-1)
            if b.size == 1:
                b = np.repeat(b, out)
            if b.shape != (out,):
                raise fail(name, f"bias has {b.size} values, expected one per output ({out})")
        if bn is not None:
            w, b = self._fold(name, w, b, bn)
        return w, b

    @staticmethod
    def _fold(name, w, b, bn):
        if hasattr(bn, "running_var") and hasattr(bn, "eps"):  # a PyTorch BatchNorm module (duck-typed: no torch import)
            bn = {k: _array(getattr(bn, k)) for k in ("weight", "bias", "running_mean", "running_var")} | {"eps": bn.eps}
        if not isinstance(bn, Mapping):
            raise fail(name, f"bn must be a dict (gamma, beta, mean, var, eps), a BatchNorm state_dict() or module, "
                             f"got {type(bn).__name__}")
        stats: dict[str, Any] = {"eps": 1e-5}
        for key, value in bn.items():
            if key == "num_batches_tracked":
                continue
            if key not in _BN_KEYS:
                raise fail(name, f"bn has an unknown entry {key!r}; expected gamma, beta, mean, var and eps "
                                 f"(or weight, bias, running_mean, running_var)")
            stats[_BN_KEYS[key]] = float(np.asarray(value)) if key == "eps" else np.asarray(_array(value), dtype=np.float64)
        missing = [k for k in ("gamma", "beta", "mean", "var") if k not in stats]
        if missing:
            raise fail(name, f"bn lacks {', '.join(missing)}")
        try:
            return fold_bn(w, b, **stats)
        except ValueError as e:
            raise fail(name, str(e)) from None

    @staticmethod
    def _stack_bias(biases: list, out: int) -> np.ndarray | None:
        if all(b is None for b in biases):
            return None
        return np.stack([np.zeros(out) if b is None else b for b in biases])


class _Named:
    """Stands in for a node in :func:`asnn_sim.graph.nodes.base.pair` error messages."""

    def __init__(self, name: str) -> None:
        self.name = name


def _array(value):
    """A PyTorch tensor (with or without grad, on any device) as numpy; other values unchanged."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return value


def _floats(name: str, what: str, value) -> np.ndarray:
    """``value`` as a finite float64 array, or a GraphError naming the node."""
    try:
        arr = np.asarray(_array(value), dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(name, f"{what} must be numbers, got {type(value).__name__}") from None
    if not np.isfinite(arr).all():
        raise fail(name, f"{what} contains NaN or infinite values")
    return arr


def _number(name: str, what: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise fail(name, f"{what} must be a number, got {value!r}")
    return float(value)
