"""The application layer: the ``asnn`` command, the cached pipeline, reports and figures.

The code is in three layers; each imports only from the layers below it::

    asnn_sim.app   cli.py (train, export, simulate, compare, demo), energy_cli.py (energy,
         |         profiles), replaying.py (one replay request), pipeline.py (cached train -> export -> replay), report/, plots/;
         |         argparsing.py and choices.py: the shared CLI conventions and light choice lists
         |         (beside it, also on top: asnn_sim.api, the same steps as Python functions)
         v
    hw_models      the energy model and hardware profiles; from asnn_sim it imports only the
         |         counts contract (asnn_sim.graph.counts_schema, and the node-kind registry
         |         asnn_sim.graph.nodes), never torch or numba
         v
    asnn_sim       core: ir, sim/, counts_schema, encoding, data (no torch), and the torch
                   side: neurons, models/, train, export, torch_graph, parity

Nothing in core or ``hw_models`` imports ``asnn_sim.app`` or ``asnn_sim.api`` (the
package's ``__init__`` offers ``asnn_sim.api`` lazily, on first use); core imports nothing from
``hw_models``; ``asnn_sim.sim`` and ``asnn_sim.graph.ir`` import no torch.
``tests/test_layering.py`` checks these rules on every module's import statements and
names the module and the import that breaks one.

Run the command as ``asnn`` (installed entry point) or ``python -m asnn_sim.app.cli``.
Importing this package imports nothing; import the module you need.
"""
