"""Cold Numba compile: replay untrained LeNet / ResNet-small (standard, SEW) / Spikformer-small
graphs (hybrid) and their ANN twins in float32 and float64, so every kernel compiles in both
precisions. Run twice: with an empty NUMBA_CACHE_DIR, then warm; the difference is compile time:

    rm -rf /tmp/nbcache && NUMBA_CACHE_DIR=/tmp/nbcache python benchmarks/compile_time.py   # cold
    NUMBA_CACHE_DIR=/tmp/nbcache python benchmarks/compile_time.py                          # warm
"""
import time
import numpy as np
import torch
from asnn_sim.graph.encoding import EncoderSpec
from asnn_sim.interop.export import EXPORTERS
from asnn_sim.graph.ir import Graph
from asnn_sim.training.models import build_model
from asnn_sim.training.models.calibrate import calibrate_batchnorm
from asnn_sim.sim import simulate

T = 2
enc = EncoderSpec("hybrid", T)
x = np.random.default_rng(0).random((4, 1, 8, 8))
graphs = []
torch.manual_seed(0)
for name, residual in (("lenet", "standard"), ("resnet-small", "standard"), ("resnet-small", "sew"), ("spikformer-small", "standard")):
    for ann in (False, True):
        kw = {"residual": residual} if name.startswith("resnet") else {}
        m = build_model(name, input_shape=(1, 8, 8), n_classes=10, encoder=None if ann else enc, ann=ann, **kw)
        inp = torch.from_numpy(x).float() if ann else torch.from_numpy(enc.encode(x)).float()
        calibrate_batchnorm(m, inp, 0.5)
        graphs.append(Graph(EXPORTERS[name](m.double().eval(), (1, 8, 8), 1 if ann else T), "ann" if ann else "snn", 1 if ann else T))
start = time.perf_counter()
for g in graphs:
    for p in ("float32", "float64"):
        simulate(g, x, None, precision=p, progress=False)
print(f"replays: {time.perf_counter() - start:.1f} s")
