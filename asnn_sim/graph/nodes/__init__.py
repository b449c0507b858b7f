"""Node kinds, the unit of extension: one module per kind, one registry.

======================  =====================================================  ==========
kind                    what it does                                           reads
======================  =====================================================  ==========
``input``               the encoded input frames                               nothing
``conv2d``              2-D convolution of events into a current               events
``linear``              fully connected layer of events into a current         events
``token_linear``        the same linear layer on every token of a (D, H, W)    events
                        map, into a current
``attention``           softmax-free ``scale * Q K^T V`` per head of three     3 x events
                        (D, H, W) maps, into a current
``neuron``              LIF/ASNN neurons: current in, spikes out               a current
``cuba_neuron``         current-based LIF (NIR's CubaLIF): a synaptic current  a current
                        state, then the membrane; spikes out
``li``                  leaky integrators (NIR's LI): current in, membranes    a current
                        out as values
``relu``                the ANN twin's activation: current in, values out      a current
``add``                 element-wise sum (residuals): events, or currents      both
``maxpool2d``           window maximum (an OR on spikes)                       events
``avgpool2d``           window mean                                            events
``sumpool2d``           window sum (NIR's SumPool2d)                           events
``flatten``             ``(C, H, W)`` to a vector                              events
``readout``             prediction logits (mean over steps)                    a current
                                                                               or events
======================  =====================================================  ==========

Each kind is a class (see :mod:`asnn_sim.graph.nodes.base` for everything a kind provides);
:data:`KINDS` maps the kind's name to it. The engine, the dense reference, the layer
table and ``hw_models`` look kinds up here. A new kind is a new module plus
:func:`register`; nothing else changes.
"""

from __future__ import annotations

from asnn_sim.graph.nodes.add import Add
from asnn_sim.graph.nodes.attention import Attention
from asnn_sim.graph.nodes.avgpool2d import AvgPool2d
from asnn_sim.graph.nodes.base import GraphError, Node, fail
from asnn_sim.graph.nodes.conv2d import Conv2d
from asnn_sim.graph.nodes.cuba_neuron import CubaNeuron
from asnn_sim.graph.nodes.flatten import Flatten
from asnn_sim.graph.nodes.input import Input
from asnn_sim.graph.nodes.leaky_integrator import LeakyIntegrator
from asnn_sim.graph.nodes.linear import Linear
from asnn_sim.graph.nodes.maxpool2d import MaxPool2d
from asnn_sim.graph.nodes.neuron import Neuron
from asnn_sim.graph.nodes.readout import Readout
from asnn_sim.graph.nodes.relu import ReLU
from asnn_sim.graph.nodes.sumpool2d import SumPool2d
from asnn_sim.graph.nodes.token_linear import TokenLinear

#: kind name -> node class
KINDS: dict[str, type[Node]] = {}


def register(cls: type[Node]) -> type[Node]:
    """Add a node kind to the registry (usable as a class decorator).

    Raises
    ------
    ValueError
        If the class has no ``kind`` or the name is taken by another class.
    """
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind name")
    if KINDS.get(cls.kind, cls) is not cls:
        raise ValueError(f"node kind {cls.kind!r} is already registered by {KINDS[cls.kind].__name__}")
    KINDS[cls.kind] = cls
    return cls


def kind_class(kind: str, node: str = "?") -> type[Node]:
    """The class of ``kind``; a GraphError naming ``node`` and the known kinds otherwise."""
    try:
        return KINDS[kind]
    except KeyError:
        raise fail(node, f"unknown node type {kind!r}; known: {', '.join(KINDS)}") from None


for _cls in (Input, Conv2d, Linear, TokenLinear, Attention, MaxPool2d, AvgPool2d, SumPool2d, Flatten, Neuron, CubaNeuron,
             LeakyIntegrator, ReLU, Add, Readout):
    register(_cls)

__all__ = [
    "KINDS", "Add", "Attention", "AvgPool2d", "Conv2d", "CubaNeuron", "Flatten", "GraphError", "Input", "LeakyIntegrator", "Linear",
    "MaxPool2d", "Neuron", "Node", "ReLU", "Readout", "SumPool2d", "TokenLinear", "kind_class", "register",
]
