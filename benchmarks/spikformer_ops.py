"""Operations per image of Spikformer-4-384 by node kind (the calibrated benchmark workload:
untrained, every neuron layer at about 15 % firing, hybrid, T = 4, 8 CIFAR-shaped images).

    python benchmarks/spikformer_ops.py
"""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from workloads import spikformer
from asnn_sim.sim import simulate

wl = spikformer(8)
g = wl.graph
print("weights in graph:", sum(int(n.weight.size) for n in g.nodes if hasattr(n, "weight") and n.weight is not None))
res = simulate(g, wl.images, None, precision="float32", progress=False)
c = res.counts
n = wl.n_samples
cols = ["in_events_binary", "in_events_graded", "in_events_analog", "synaptic_acs", "synaptic_macs", "dense_macs",
        "coincidences", "product_acs", "product_macs", "kv_first", "output_spikes", "elementwise_adds", "window_ops"]
by = c.groupby("kind")[cols].sum() / n
print(by.round(0).to_string())
lay = res.layers
print("dense MACs per step by kind:", lay.groupby("kind")["dense_macs_per_step"].sum().to_dict())
att = c[c["kind"] == "attention"]
heads = 12
print("kv_first share:", att["kv_first"].sum() / (len(att) * heads * n))
print("spikes per image:", res.summary["spikes_per_inference"])
