"""asnn-sim: adaptive spiking neural networks, an exact event-driven simulator and energy estimates.

Importing the package is cheap: it pulls in neither torch nor numba. Import the submodule
you need (``asnn_sim.encoding``, ``asnn_sim.train``, ``asnn_sim.sim``, ...).
"""

__version__ = "0.1.0"
