"""Networks in and out: from torch and other frameworks to the graph, and back to check it.

``export`` (a trained model to a graph, BatchNorm folded), ``builder`` (``GraphBuilder``
and the snnTorch / SpikingJelly neuron mappings), ``nir_import`` and ``nir_export``
(NIR), ``torch_graph`` (a graph replayed densely in torch: the brute-force reference
counts) and ``parity`` (the simulator against the trained torch model).
"""
