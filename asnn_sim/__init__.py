"""asnn-sim: adaptive spiking neural networks, an exact event-driven simulator and energy estimates.

The Python API is :mod:`asnn_sim.api` (the ``asnn`` command's steps as functions, and
the graph builder); ``docs/python.md`` walks through it::

    import asnn_sim.api as asnn

    graph = (asnn.GraphBuilder((1, 8, 8), encoding="temporal", timesteps=4)
             .conv(8, 3, padding=1).neuron(leak=0.9).maxpool(2)
             .flatten().linear(10).readout().build())
    result = asnn.simulate(graph, dataset="digits", limit=100)   # exact operation counts
    energy = asnn.energy(result, hw=["cmos45-int8-sram", "loihi"])

Importing the package is cheap: it pulls in neither torch nor numba. ``asnn_sim.api``
and ``asnn_sim.GraphBuilder`` are loaded on first use; the submodules
(``asnn_sim.graph.encoding``, ``asnn_sim.training.train``, ``asnn_sim.sim``, ...) are imported as usual.
"""

__version__ = "0.1.0"

# Modules that moved into the layer packages stay importable by their old paths for one
# release (asnn_sim/_moved.py); the finder only answers for those names.
from asnn_sim import _moved  # noqa: E402

_moved.install()

# Names this package offers on first use, and the module each comes from. The imports
# happen inside __getattr__, never when the package loads: core modules import the
# package for __version__, and the API sits on top of them (tests/test_layering.py).
_LAZY = {"api": "asnn_sim.api", "GraphBuilder": "asnn_sim.interop.builder"}


def __getattr__(name: str):
    if name == "api":
        import asnn_sim.api as api

        return api
    if name == "GraphBuilder":
        from asnn_sim.interop.builder import GraphBuilder

        return GraphBuilder
    raise AttributeError(f"module 'asnn_sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
