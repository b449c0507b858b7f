"""The peers' synaptic-operation counters as their users call them, for ``peers.py``.

NeuroBench's ``Benchmark.run`` with ``SynapticOperations`` (and its per-layer rule on
recorded inputs), SpikingJelly's ``SynOpCounter`` in ``DispatchCounterMode``, Sinabs'
synops hooks: each as a runner (what the timing calls) and a reader of its per-layer
counts (what the cross-check compares with ours).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bench_sim import batches


class BatchFirst(nn.Module):
    """NeuroBench feeds ``(batch, time, ...)``; the plain torch model takes ``(time, batch, ...)``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(0, 1))


def neurobench_model(kind: str, net: nn.Module):
    """NeuroBench's wrapper: ``SNNTorchModel`` for the snnTorch model (it steps through time and
    calls ``net.reset()`` per batch), ``TorchModel`` for the plain torch one."""
    from neurobench.models import SNNTorchModel, TorchModel

    return SNNTorchModel(net) if kind == "snntorch" else TorchModel(BatchFirst(net))


def neurobench_runner(kind: str, net: nn.Module, frames_bt: torch.Tensor, labels, batch: int):
    """A runner: ``Benchmark.run`` with ``SynapticOperations``; returns (runner, cleanup)."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import SynapticOperations
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(frames_bt, torch.as_tensor(np.asarray(labels))), batch_size=batch, shuffle=False)
    model = neurobench_model(kind, net)
    bench = Benchmark(model, loader, [], [], [[], [SynapticOperations]])

    def run():
        with torch.no_grad():
            return bench.run(quiet=True)

    return run, lambda: bench.workload_metric_manager.cleanup_hooks(model)


def neurobench_per_module(kind: str, net: nn.Module, frames_bt: torch.Tensor, batch: int) -> dict:
    """NeuroBench's per-layer rule (``single_layer_MACs``) applied to each module's recorded inputs.

    ``SynapticOperations`` sums exactly this over layers: effective operations (inputs and
    weights binarised, zero stays zero), ACs where the input is "spiking" (all values in
    {-1, 0, 1}), MACs otherwise, and the dense total (all ones).
    """
    from neurobench.metrics.utils.layers import single_layer_MACs

    model = neurobench_model(kind, net)
    model.register_hooks()
    with torch.no_grad():
        for s in batches(frames_bt.shape[0], batch):
            model(frames_bt[s])
    names = {id(m): n.split(".")[-1] for n, m in net.named_modules()}
    recorded = [(names[id(h.layer)], h.layer, list(h.inputs)) for h in model.connection_hooks]
    model.cleanup_hooks()  # the binary copies of the layers must not carry the hooks
    out = {}
    with torch.no_grad():
        for name, layer, inputs in recorded:
            c = out.setdefault(name, {"AC": 0, "MAC": 0, "dense": 0})
            for inp in inputs:
                x = inp[0] if len(inp) == 1 else inp
                ops, spiking = single_layer_MACs(x, layer)
                total, _ = single_layer_MACs(x, layer, total=True)
                c["AC" if spiking else "MAC"] += int(ops)
                c["dense"] += int(total)
    return out


def spikingjelly_runner(net: nn.Module, frames_tb: torch.Tensor, parts: list):
    """A runner: SpikingJelly's ``SynOpCounter`` over every batch; returns the counter."""
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.op_counter import DispatchCounterMode, SynOpCounter

    def run():
        counter = SynOpCounter()
        with torch.no_grad(), DispatchCounterMode([counter]):
            for s in parts:
                functional.reset_net(net)
                net(frames_tb[:, s])
        return counter

    return run


def spikingjelly_per_module(counter, names: list) -> dict:
    """``SynOpCounter.get_counts()`` by module scope -> {module name: SynOps} for the layers ``names``."""
    counts = counter.get_counts()
    out = {name: int(sum(sum(d.values()) for scope, d in counts.items() if scope.split(".")[-1] == name)) for name in names}
    out["_total"] = int(counter.get_total())
    return out


def sinabs_runner(net: nn.Module, frames_bt: torch.Tensor, parts: list, names: list):
    """A runner: Sinabs' synops hooks on every conv/linear layer, read after each batch.

    The hooks store the mean synops per ``(B*T)`` input row of the last call; a call's total
    is that mean times the rows. Returns (runner, hook handles).
    """
    import sinabs.utils
    from sinabs.hooks import conv_layer_synops_hook, linear_layer_synops_hook

    mods = {name: getattr(net, name) for name in names}
    handles = [m.register_forward_hook(conv_layer_synops_hook if isinstance(m, nn.Conv2d) else linear_layer_synops_hook)
               for m in mods.values()]

    def run():
        totals = dict.fromkeys(mods, 0.0)
        with torch.no_grad():
            for s in parts:
                x = frames_bt[s]
                sinabs.utils.reset_states(net)
                net(x)
                rows = x.shape[0] * x.shape[1]
                for name, m in mods.items():
                    totals[name] += float(m.hook_data["layer_synops_per_timestep"]) * rows
        return totals

    return run, handles


def neurobench_metric(result: dict, n: int, problems: list) -> dict:
    """``SynapticOperations``' per-sample means x samples (totals)."""
    result = result["SynapticOperations"]
    if not isinstance(result, dict):
        problems.append(f"NeuroBench SynapticOperations failed inside Benchmark.run (it reports {result!r})")
        return {}
    return {k: round(v * n) for k, v in result.items()}
