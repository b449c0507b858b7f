"""The torch-free core contract: the graph a simulator replays, and what it counts.

``ir`` (the graph container, typed edges, the ``.asnn`` file), ``nodes/`` (one module per
node kind: its record, its simulator step, its counting rule; the registry ``KINDS``),
``counts_schema`` (the counts tables, the contract with :mod:`hw_models`), ``encoding``
(the input encoders and their counted work) and ``frames`` (supplied input frames).

The node kinds live inside this package, not beside it: the graph is made of kinds, and
the kinds use the encoders and the count columns, so as sibling packages they would
import each other.
"""
