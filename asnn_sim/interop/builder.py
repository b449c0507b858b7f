"""Build a network graph by hand, in a few readable lines.

:class:`GraphBuilder` appends layers one after the other (each call returns the builder,
so calls chain) and :meth:`GraphBuilder.build` returns a validated
:class:`asnn_sim.graph.ir.Graph`, the same object ``asnn export`` writes and the simulator
replays. It hides what the graph records store for the simulator's sake:

* the **weight-set axis**: give a conv weight as ``(C_out, C_in, kh, kw)`` and a linear
  weight as ``(out, in)``; the hybrid first layer's second set is ``hybrid_analog=``;
* the **per-timestep arrays**: ``leak``, ``gain`` and the readout ``scale`` take one
  value (used at every step) or one value per step;
* the **encoder record**: name the encoding and T (``encoding="frames"``: none, the
  graph reads frames you supply, as a graph imported from NIR does);
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

import numpy as np

from asnn_sim.graph.encoding import ENCODINGS, EncoderSpec
from asnn_sim.graph.ir import describe_nodes
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
from asnn_sim.graph.nodes import Attention, CubaNeuron, TokenLinear, kind_class
from asnn_sim.graph.nodes.base import CURRENT, fail, pair
from asnn_sim.interop.neuron_mappings import snntorch_leaky, snntorch_synaptic, spikingjelly_cuba_lif, spikingjelly_lif
from asnn_sim.interop.parameters import Named, as_floats, as_number, fold_bn, stack_bias, synaptic_weights
from asnn_sim.util.names import unknown_name

__all__ = ["GraphBuilder", "fold_bn", "snntorch_leaky", "snntorch_synaptic", "spikingjelly_cuba_lif", "spikingjelly_lif"]

class GraphBuilder:
    """Build an :class:`~asnn_sim.graph.ir.Graph` layer by layer.

    Each layer method appends one node reading the previous node (or the node named in
    ``source=``) and returns the builder, so calls chain. :meth:`build` validates the
    whole graph and returns it.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image (values in [0, 1]); with ``encoding="frames"`` also a
        vector ``(n,)``.
    encoding : str
        Input coding of a spiking network: ``direct``, ``rate``, ``temporal``, ``binary``,
        ``hybrid`` or ``hybrid-binary`` (see :mod:`asnn_sim.graph.encoding`), or
        ``frames``: no encoder, the graph reads frames you supply
        (``simulate(graph, frames=..., layout="TN"|"NT")``, e.g. event-camera frames from
        Tonic's ``ToFrame``), each step binary or analog as the data says. Ignored for an ANN.
    timesteps : int, optional
        T (default 4; an ANN runs one step). A ``frames`` graph whose parameters are
        constant in time is re-timed to the frames' T when it is simulated.
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
            self._frame_kinds: tuple[str, ...] | None = ("analog",)
        else:
            self.timesteps = 4 if timesteps is None else timesteps
            if isinstance(self.timesteps, bool) or not isinstance(self.timesteps, (int, np.integer)) or self.timesteps < 1:
                raise GraphError(f"timesteps must be a positive integer, got {timesteps!r}")
            self.timesteps = int(self.timesteps)
            encoder, self._frame_kinds = _input_coding(encoding, self.timesteps, thresholds, legacy_temporal, encoder_seed)
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
        if encoder is not None and isinstance(shape, tuple) and len(shape) == 1:
            raise fail("input", f"a vector input {shape} reads supplied frames: build it with encoding='frames' "
                                f"(the {encoding!r} encoder codes (C, H, W) images)")
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
        """One line per node: name, kind, inputs, output shape and value type (as :meth:`Graph.describe`)."""
        return describe_nodes(self._nodes, self._shapes, self._types)

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
        w, b = self._weights(name, "conv", weight, bias, bn, out_channels, kernel_size, c_in // groups, groups=groups)
        sets_w, sets_b, weight_set = [w], [b], np.zeros(self.timesteps, dtype=np.int64)
        if hybrid_analog is not None and hybrid_analog is not False:
            if src != "input" or self.encoding not in ("hybrid", "hybrid-binary"):
                where = "reads the input" if src == "input" else f"reads {src!r}, not the input"
                coding = "reads supplied frames" if self.encoding == FRAMES else f"uses {self.encoding or 'no'} coding"
                raise fail(name, f"hybrid_analog= gives the analog frame its own weights: it needs hybrid coding and a conv "
                                 f"reading the input; this network {coding} and the conv {where}")
            spec = {"weight": None} if hybrid_analog is True else (dict(hybrid_analog) if isinstance(hybrid_analog, Mapping) else {"weight": hybrid_analog})
            unknown = set(spec) - {"weight", "bias", "bn"}
            if unknown:
                raise fail(name, f"hybrid_analog= takes weight, bias and bn; got {', '.join(sorted(unknown))}")
            wa, ba = self._weights(name, "conv", spec.get("weight"), spec.get("bias"), spec.get("bn"),
                                   w.shape[0], w.shape[2:], c_in // groups, what="hybrid_analog weight", groups=groups)
            if wa.shape != w.shape:
                raise fail(name, f"hybrid_analog weight has shape {wa.shape}, but weight has {w.shape}; they must match")
            sets_w, sets_b = [wa, w], [ba, b]
            weight_set = np.array([0 if k == "analog" else 1 for k in self._frame_kinds], dtype=np.int64)
        node = Conv2d(name, (src,), weight=np.stack(sets_w), bias=stack_bias(sets_b, w.shape[0]),
                      weight_set=weight_set, stride=pair(Named(name), "stride", stride), padding=pair(Named(name), "padding", padding),
                      dilation=pair(Named(name), "dilation", dilation), groups=groups)
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
        w, b = self._weights(name, "linear", weight, bias, bn, out_features, None, in_shape[0])
        node = Linear(name, (src,), weight=w[None], bias=stack_bias([b], w.shape[0]), weight_set=np.zeros(self.timesteps, dtype=np.int64))
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
        w, b = self._weights(name, "linear", weight, bias, bn, out_features, None, in_shape[0])
        node = TokenLinear(name, (src,), weight=w[None], bias=stack_bias([b], w.shape[0]),
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
        self._expect_earlier(name, (q, k, v))
        return self._append(Attention(name, (q, k, v), heads=heads, scale=as_number(name, "scale", scale)))

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
        node = Neuron(name, (src,), leak=leak_t, gain=gain_t, threshold=as_floats(name, "threshold", threshold),
                      bias=None if bias is None else as_floats(name, "bias", bias), reset=reset,
                      v_reset=as_number(name, "v_reset", v_reset), per_timestep=per_timestep, compare=compare)
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
        node = CubaNeuron(name, (src,), **steps, threshold=as_floats(name, "threshold", threshold),
                          bias=None if bias is None else as_floats(name, "bias", bias), reset=reset,
                          v_reset=as_number(name, "v_reset", v_reset), per_timestep=per_timestep, compare=compare)
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
        self._expect_earlier(name, operands, "adds")
        return self._append(Add(name, operands))

    def node(self, kind: str, *sources: str, name: str | None = None, **fields) -> GraphBuilder:
        """A node of any registered kind, made from its class's fields.

        The kinds with a method of their own (``conv``, ``neuron``, ``add``, ...) make
        their arrays from sizes; this one takes them as given, so a kind added to
        :mod:`asnn_sim.graph.nodes` is usable at once, e.g.
        ``node("multiply", "gate", "lif2")``.

        Parameters
        ----------
        kind : str
            A name of :data:`asnn_sim.graph.nodes.KINDS`.
        *sources : str
            The nodes it reads, in order (default: the last node).
        name : str, optional
            Default: the kind's name prefix and a counter.
        **fields
            The kind's other dataclass fields (arrays, attributes).
        """
        cls = kind_class(kind, name or "?")
        name, src = self._begin(kind, name, sources[0] if sources else None)
        self._expect_earlier(name, sources[1:])
        try:
            node = cls(name, sources or (src,), **fields)
        except TypeError as e:  # an unknown or missing field
            raise fail(name, f"a {kind} node: {e}") from None
        return self._append(node)

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
        self._expect_earlier(name, (src,))
        return name, src

    def _expect_earlier(self, name: str, sources, verb: str = "reads") -> None:
        for src in sources:
            if src not in self._shapes:
                raise fail(name, f"{verb} {src!r}, which is not an earlier node (the nodes so far: {', '.join(self._shapes)})")

    def _kind_of(self, name: str) -> str:
        return next(n.kind for n in self._nodes if n.name == name)

    def _generated_name(self, kind: str) -> str:
        prefix = kind_class(kind).NAME_PREFIX or kind
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

    def _weights(self, *args, **kwargs):
        """:func:`~asnn_sim.interop.parameters.synaptic_weights` with this builder's random draw."""
        return synaptic_weights(*args, rng=self._rng, init_gain=self._init_gain, **kwargs)

    def _per_step(self, name: str, what: str, value) -> np.ndarray:
        arr = as_floats(name, what, value).reshape(-1)
        if arr.size == 1:
            return np.repeat(arr, self.timesteps)
        if arr.size != self.timesteps:
            raise fail(name, f"{what} has {arr.size} values; give one value, or one per timestep (T={self.timesteps})")
        return arr


#: The builder's own input coding besides the encoders of :data:`asnn_sim.graph.encoding.ENCODINGS`:
#: no encoder, the graph reads frames the user supplies (as an imported NIR graph does).
FRAMES = "frames"


def _input_coding(encoding: str, timesteps: int, thresholds: str, legacy: bool, seed) -> tuple[dict | None, tuple[str, ...] | None]:
    """The input's encoder record and frame kinds for ``encoding``.

    ``"frames"`` gives no encoder and no fixed frame kinds: each step of the supplied
    frames is classified binary or analog from the data when the graph is replayed.
    """
    if encoding == FRAMES:
        if thresholds != "uniform" or legacy:
            what = f"thresholds={thresholds!r}" if thresholds != "uniform" else "legacy_temporal=True"
            raise GraphError(f"input: {what} configures an encoder; encoding='frames' has none (the frames come as they are)")
        return None, None
    try:
        spec = EncoderSpec(encoding, timesteps, thresholds=thresholds, legacy=legacy, seed=int(seed))
    except ValueError as e:
        message = str(e)
        if message.startswith("unknown encoding"):
            message = unknown_name("encoding", encoding, (*ENCODINGS, FRAMES))
        raise GraphError(f"input: {message}") from None
    return spec.to_dict(), spec.frame_kinds
