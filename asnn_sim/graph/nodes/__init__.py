"""Node kinds, the unit of extension: one module per kind, one registry.

Each kind is a class (see :mod:`asnn_sim.graph.nodes.base` for everything a kind provides);
:data:`KINDS` maps the kind's name to it. The engine, the dense reference, the layer
table and ``hw_models`` look kinds up here. A new kind is a new module whose class is
decorated with :func:`register`; the package imports every module, nothing else changes.

The kinds, each by the first line of its module (appended below when the package loads):
"""

from __future__ import annotations

from asnn_sim.graph.nodes.base import GraphError, Node
from asnn_sim.graph.nodes.registry import KINDS, kind_class, register

# The registry (and every list of kinds printed from it) keeps the order of these imports.
from asnn_sim.graph.nodes.input import Input
from asnn_sim.graph.nodes.conv2d import Conv2d
from asnn_sim.graph.nodes.linear import Linear
from asnn_sim.graph.nodes.token_linear import TokenLinear
from asnn_sim.graph.nodes.attention import Attention
from asnn_sim.graph.nodes.maxpool2d import MaxPool2d
from asnn_sim.graph.nodes.avgpool2d import AvgPool2d
from asnn_sim.graph.nodes.sumpool2d import SumPool2d
from asnn_sim.graph.nodes.flatten import Flatten
from asnn_sim.graph.nodes.neuron import Neuron
from asnn_sim.graph.nodes.cuba_neuron import CubaNeuron
from asnn_sim.graph.nodes.leaky_integrator import LeakyIntegrator
from asnn_sim.graph.nodes.relu import ReLU
from asnn_sim.graph.nodes.add import Add
from asnn_sim.graph.nodes.readout import Readout


def _import_every_kind() -> None:
    """Import the package's other kind modules: each registers its kind when imported."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name not in ("base", "registry"):
            importlib.import_module(f"{__name__}.{info.name}")


_import_every_kind()


def _kinds_listing() -> str:
    import sys

    return "\n".join("* " + sys.modules[cls.__module__].__doc__.strip().splitlines()[0] for cls in KINDS.values())


__doc__ += "\n" + _kinds_listing() + "\n"

__all__ = [
    "KINDS", "Add", "Attention", "AvgPool2d", "Conv2d", "CubaNeuron", "Flatten", "GraphError", "Input", "LeakyIntegrator", "Linear",
    "MaxPool2d", "Neuron", "Node", "ReLU", "Readout", "SumPool2d", "TokenLinear", "kind_class", "register",
]
