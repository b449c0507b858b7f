"""The application layer: the ``asnn`` command, the cached pipeline, reports and figures.

The top layer of the package (README, Development, draws all five)::

    asnn_sim.app   cli.py (train, export, simulate, compare, demo), energy_cli.py (energy,
                   profiles), replaying.py (one replay request), pipeline.py (cached train ->
                   export -> replay), report/, plots/; argparsing.py and choices.py (the
                   shared CLI conventions, light choice lists); beside it, asnn_sim.api
    below it       asnn_sim.interop, asnn_sim.scale, hw_models; asnn_sim.sim and
                   asnn_sim.training; asnn_sim.graph; asnn_sim.util

Nothing below imports ``asnn_sim.app`` or ``asnn_sim.api`` (the package's ``__init__``
offers ``asnn_sim.api`` lazily, on first use). ``tests/test_layering.py`` checks the
layers on every module's import statements and names the module and the import that
breaks one.

Run the command as ``asnn`` (installed entry point) or ``python -m asnn_sim.app.cli``.
Importing this package imports nothing; import the module you need.
"""
