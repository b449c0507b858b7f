"""A dense PyTorch executor for exported graphs, with NeuroBench-style operation counting.

This is the simulator's independent check and its speed baseline: it runs the same
:class:`~asnn_sim.ir.Graph` with ordinary dense tensor operations, and (optionally)
counts synaptic operations the way NeuroBench does, from each layer call's input alone:
the number of (non-zero input, in-bounds synapse) pairs of a conv is the sum of a
convolution of the input's non-zero indicator with an all-ones kernel (times the output
channels); for a linear layer it is the number of non-zero inputs times the outputs.
It shares no code with the event-driven kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from asnn_sim.encoding import EncoderSpec
from asnn_sim.ir import Graph


@dataclass
class DenseCounts:
    """Brute-force counts per synaptic layer and timestep (totals over the batch).

    ``events[(layer, t)]`` is ``(class, non-zero inputs)``; ``pairs`` the
    (non-zero input, in-bounds synapse) pairs; ``dense`` the pairs for all inputs;
    ``value_pairs`` the same pairs weighted by the input value (graded expansion).
    """

    events: dict = field(default_factory=dict)
    pairs: dict = field(default_factory=dict)
    value_pairs: dict = field(default_factory=dict)
    dense: dict = field(default_factory=dict)
    touched: dict = field(default_factory=dict)
    spikes: dict = field(default_factory=dict)


def _receptive_sum(x: torch.Tensor, node) -> torch.Tensor:
    """Per output position, the sum of ``x`` over the receptive field (all input channels)."""
    kh, kw = node.weight.shape[3:]
    ones = torch.ones(1, x.shape[1], kh, kw, dtype=x.dtype, device=x.device)
    return F.conv2d(x, ones, stride=node.stride, padding=node.padding)


class TorchGraph:
    """Run a graph densely in PyTorch.

    Parameters
    ----------
    graph : Graph
    dtype : torch.dtype
    device : str or torch.device
    """

    def __init__(self, graph: Graph, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        self.graph = graph
        self.dtype = dtype
        self.device = torch.device(device)
        self.params: dict[str, dict[str, torch.Tensor]] = {
            n.name: {k: torch.as_tensor(v).to(self.device, dtype if v.dtype.kind == "f" else torch.int64) for k, v in n.arrays().items()}
            for n in graph.nodes
        }
        enc = graph.input.encoder
        self.frame_kinds = EncoderSpec.from_dict(enc).frame_kinds if enc else ("analog",)

    @torch.no_grad()
    def run(self, frames: torch.Tensor | np.ndarray, count: bool = False) -> tuple[torch.Tensor, torch.Tensor, DenseCounts | None]:
        """Replay frames ``(T, B, C, H, W)``.

        Returns
        -------
        logits : (B, K) prediction logits
        step_logits : (T, B, K) per-step scaled logits
        counts : DenseCounts or None
            Brute-force counts, and every neuron layer's spikes, when ``count`` is True.
        """
        g = self.graph
        frames = torch.as_tensor(frames).to(self.device, self.dtype)
        T = g.timesteps
        mem: dict[str, torch.Tensor] = {}
        steps = []
        counts = DenseCounts() if count else None
        for t in range(T):
            out: dict[str, torch.Tensor] = {}
            kinds: dict[str, str] = {}
            for node in g.nodes:
                p = self.params[node.name]
                k = node.kind
                if k == "input":
                    out[node.name], kinds[node.name] = frames[t], self.frame_kinds[t]
                    continue
                x = out[node.inputs[0]]
                if k in ("conv2d", "linear"):
                    s = int(node.weight_set[t])
                    if k == "conv2d":
                        y = F.conv2d(x, p["weight"][s], p["bias"][s], stride=node.stride, padding=node.padding)
                    else:
                        y = F.linear(x, p["weight"][s], p["bias"][s])
                    if counts is not None:
                        self._count(node, x, kinds[node.inputs[0]], t, counts)
                    out[node.name], kinds[node.name] = y, "analog"
                elif k == "neuron":
                    m = mem.get(node.name, torch.zeros_like(x))
                    m = p["leak"][t] * m + p["gain"][t] * x
                    s = (m - node.threshold > 0).to(self.dtype)
                    mem[node.name] = m - s * node.threshold
                    out[node.name], kinds[node.name] = s, "binary"
                    if counts is not None:
                        counts.spikes.setdefault(node.inputs[0], []).append(s.to(torch.uint8))
                elif k == "relu":
                    out[node.name], kinds[node.name] = torch.relu(x), "analog"
                elif k == "maxpool2d":
                    out[node.name], kinds[node.name] = F.max_pool2d(x, node.kernel, node.stride), kinds[node.inputs[0]]
                elif k == "avgpool2d":
                    out[node.name], kinds[node.name] = F.avg_pool2d(x, node.kernel, node.stride), "analog"
                elif k == "flatten":
                    out[node.name], kinds[node.name] = x.flatten(1), kinds[node.inputs[0]]
                elif k == "add":
                    srcs = [out[s] for s in node.inputs]
                    total = srcs[0]
                    for other in srcs[1:]:
                        total = total + other
                    analog = any(kinds[s] == "analog" for s in node.inputs)
                    out[node.name], kinds[node.name] = total, "analog" if analog else "graded"
                elif k == "readout":
                    scale = p["scale"][t] if "scale" in p else 1.0
                    steps.append(scale * x)
        step_logits = torch.stack(steps)
        if counts is not None:
            counts.spikes = {k: torch.stack(v) for k, v in counts.spikes.items()}
        return step_logits.mean(0), step_logits, counts

    def _count(self, node, x: torch.Tensor, kind: str, t: int, counts: DenseCounts) -> None:
        key = (node.name, t)
        nz = (x != 0).to(self.dtype)
        counts.events[key] = (kind, int(nz.sum().item()))
        if node.kind == "conv2d":
            c_out = node.weight.shape[1]
            counts.pairs[key] = int(_receptive_sum(nz, node).sum().item()) * c_out
            counts.value_pairs[key] = int(round(_receptive_sum(x * nz, node).sum().item())) * c_out
            counts.dense[key] = int(_receptive_sum(torch.ones_like(x), node).sum().item()) * c_out
            counts.touched[key] = int((_receptive_sum(nz, node) > 0).sum().item()) * c_out
        else:
            n_out = node.weight.shape[1]
            counts.pairs[key] = int(nz.sum().item()) * n_out
            counts.value_pairs[key] = int(round((x * nz).sum().item())) * n_out
            counts.dense[key] = x.shape[0] * x.shape[1] * n_out
            counts.touched[key] = int((nz.sum(1) > 0).sum().item()) * n_out
