"""Hardware energy models for spiking and conventional networks.

Turn the simulator's exact operation counts into energy and time per inference on named
hardware (45 nm CMOS arithmetic with or without SRAM, Loihi, TrueNorth, SpiNNaker 2, or a
profile of your own), next to the equivalent ANN, with every constant cited and graded
(time: :mod:`hw_models.timing`, :func:`estimate_with_time`).

Examples
--------
>>> from hw_models import list_profiles, load_profile
>>> "loihi" in list_profiles()
True
>>> load_profile("cmos45-fp32-arith").constants["mac"].value
4.6

Typical use (see ``docs/energy.md``; the folder is what ``asnn simulate --out`` writes)::

    counts = load_counts("counts/hybrid")
    breakdown = estimate(counts, ["cmos45-int8-sram", "loihi"])
    table = summarize(breakdown, counts)

From ``asnn_sim`` this package imports only the counts contract
(:mod:`asnn_sim.graph.counts_schema`) and the node-kind registry
(:mod:`asnn_sim.graph.nodes`, numpy only at import); never torch, numba or the app
(``tests/test_layering.py``).
"""

from .activity import DAMPFHOFFER_BAND, Activity, activity, layer_activity
from .ann import dense_ann_counts, matched_bits
from .counts import Counts, load_counts
from .errors import EnergyError
from .model import COMPONENTS, estimate, estimate_with_time
from .profile import Assumption, Constant, Profile, list_profiles, load_profile
from .run import EnergyResult, run_energy, write_outputs
from .summary import break_even_scale, constants_table, profile_table, summarize

__all__ = [
    "COMPONENTS",
    "DAMPFHOFFER_BAND",
    "Activity",
    "Assumption",
    "Constant",
    "Counts",
    "EnergyResult",
    "EnergyError",
    "Profile",
    "activity",
    "break_even_scale",
    "constants_table",
    "dense_ann_counts",
    "estimate",
    "estimate_with_time",
    "layer_activity",
    "list_profiles",
    "load_counts",
    "load_profile",
    "matched_bits",
    "profile_table",
    "run_energy",
    "summarize",
    "write_outputs",
]
