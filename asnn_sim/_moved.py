"""Old module paths (before the layer packages) kept importable for one release.

``import asnn_sim.ir`` still works and gives the very module ``asnn_sim.graph.ir`` (same
object, so classes, registries and monkeypatches are shared), with a
:class:`DeprecationWarning` naming the new path. Submodules follow their package:
``asnn_sim.nodes.base`` is ``asnn_sim.graph.nodes.base``. Remove this file in 0.2.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module under asnn_sim -> its place now (relative to asnn_sim)
MOVED = {
    "allocator": "util.allocator",
    "atomic": "util.atomic",
    "folders": "util.folders",
    "names": "util.names",
    "progress": "util.progress",
    "threads": "util.threads",
    "counts_schema": "graph.counts_schema",
    "encoding": "graph.encoding",
    "frames": "graph.frames",
    "ir": "graph.ir",
    "nodes": "graph.nodes",
    "data": "training.data",
    "ddp": "training.ddp",
    "models": "training.models",
    "neuron_kernels": "training.neuron_kernels",
    "neurons": "training.neurons",
    "train": "training.train",
    "builder": "interop.builder",
    "export": "interop.export",
    "nir_export": "interop.nir_export",
    "nir_import": "interop.nir_import",
    "parity": "interop.parity",
    "torch_graph": "interop.torch_graph",
    "cluster": "scale.cluster",
}


def new_name(fullname: str) -> str | None:
    """Where module ``fullname`` lives now, or None when it did not move.

    >>> new_name("asnn_sim.ir"), new_name("asnn_sim.nodes.base"), new_name("asnn_sim.sim")
    ('asnn_sim.graph.ir', 'asnn_sim.graph.nodes.base', None)
    """
    parts = fullname.split(".")
    if len(parts) < 2 or parts[0] != "asnn_sim" or parts[1] not in MOVED:
        return None
    return ".".join(["asnn_sim", MOVED[parts[1]], *parts[2:]])


class _Alias(importlib.abc.Loader):
    """Loads an old name as the module already imported under its new name."""

    def __init__(self, new: str):
        self.new = new

    def create_module(self, spec):
        module = importlib.import_module(self.new)
        self._real_spec = module.__spec__  # the import system overwrites it; put it back below
        return module

    def exec_module(self, module) -> None:
        module.__spec__ = self._real_spec


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths of :data:`MOVED` (first on ``sys.meta_path``)."""

    def find_spec(self, fullname, path=None, target=None):
        new = new_name(fullname)
        if new is None:
            return None
        if fullname.count(".") == 1:  # warn once, for the moved module itself, not each submodule
            warnings.warn(f"{fullname} moved to {new}; the old path works until asnn-sim 0.2",
                          DeprecationWarning, stacklevel=3)
        return importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    """Put :class:`MovedFinder` on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
