"""The event-driven simulator (Numba; imports nothing from torch).

``simulate(graph, images, labels)`` replays a dataset and returns the counts tables
(``simulate_frames`` for supplied frames);
:class:`Simulator` runs single batches; the inner loops are in :mod:`asnn_sim.sim.kernels`;
what a replay records (spikes, membranes) is :class:`Recording` (:mod:`asnn_sim.sim.recording`).
"""

from asnn_sim.sim.engine import BatchResult, Conventions, Simulator
from asnn_sim.sim.recording import Recording, RecordSpec, record_spec
from asnn_sim.sim.replay import SimResult, simulate, simulate_frames

__all__ = ["BatchResult", "Conventions", "RecordSpec", "Recording", "SimResult", "Simulator", "record_spec", "simulate",
           "simulate_frames"]
