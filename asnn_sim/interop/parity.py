"""Parity between the event-driven simulator and the trained PyTorch model.

The PyTorch side always runs in float64 on the original modules (BatchNorm not folded),
fed the very same encoded frames as the simulator. In float64 the two must agree spike
for spike at every layer and timestep; in float32 the simulator may flip a spike whose
membrane lands within rounding distance of the threshold, and the mismatch rate says
how often that happened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from asnn_sim.graph.ir import Graph
from asnn_sim.sim import Conventions, SimResult, simulate
from asnn_sim.sim.recording import RecordSpec
from asnn_sim.training.train import load_run


@dataclass
class ParityReport:
    """How the simulator's replay compared with PyTorch (float64).

    Attributes
    ----------
    precision : str
        The simulator's arithmetic.
    n_samples : int
    prediction_mismatches : int
        Samples whose predicted class differs.
    spikes_compared : int
        Neuron x timestep x sample values compared (0 for an ANN graph).
    spike_mismatches : int
    per_layer : dict
        ``layer -> [compared, mismatches]``.
    max_logit_difference : float
        Largest absolute difference of the prediction logits.
    """

    precision: str
    n_samples: int = 0
    prediction_mismatches: int = 0
    spikes_compared: int = 0
    spike_mismatches: int = 0
    per_layer: dict = field(default_factory=dict)
    max_logit_difference: float = 0.0

    @property
    def spike_mismatch_rate(self) -> float:
        return self.spike_mismatches / self.spikes_compared if self.spikes_compared else 0.0

    @property
    def identical(self) -> bool:
        return self.prediction_mismatches == 0 and self.spike_mismatches == 0

    def to_dict(self) -> dict:
        return {**asdict(self), "spike_mismatch_rate": self.spike_mismatch_rate, "identical": self.identical}

    def describe(self) -> str:
        """One line for the terminal."""
        spikes = (
            f"{self.spike_mismatches} of {self.spikes_compared} spikes differ (rate {self.spike_mismatch_rate:.2e})"
            if self.spikes_compared
            else "no spikes (ANN graph)"
        )
        return (
            f"parity vs PyTorch float64 ({self.precision} replay): {self.prediction_mismatches} of "
            f"{self.n_samples} predictions differ; {spikes}; max logit difference {self.max_logit_difference:.2e}"
        )


def check_parity(
    graph: Graph,
    run_dir: str | Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    precision: str = "float64",
    conventions: Conventions | None = None,
    batch_size: int = 128,
    progress: bool = True,
    record: RecordSpec | None = None,
) -> tuple[SimResult, ParityReport]:
    """Simulate ``images`` and compare every batch with the trained model of ``run_dir``
    (``record`` as for :func:`asnn_sim.sim.simulate`).

    Returns
    -------
    result : SimResult
        The replay, exactly as :func:`asnn_sim.sim.simulate` returns it.
    report : ParityReport
    """
    _, model = load_run(run_dir)
    model = model.double().eval()
    report = ParityReport(precision)

    @torch.no_grad()
    def compare(frames: np.ndarray, _labels, result) -> None:
        x = torch.from_numpy(np.asarray(frames, dtype=np.float64))
        if model.is_spiking:
            out = model.forward_steps(x, record=True)
            logits = out.logits.mean(0).numpy()
            for name, spikes in out.spikes.items():
                ours = result.spikes[name]
                theirs = spikes.numpy().astype(np.uint8)
                bad = int((ours != theirs).sum())
                seen = report.per_layer.setdefault(name, [0, 0])
                seen[0] += theirs.size
                seen[1] += bad
                report.spikes_compared += theirs.size
                report.spike_mismatches += bad
        else:
            logits = model(x[0]).numpy()
        report.n_samples += len(logits)
        report.prediction_mismatches += int((logits.argmax(1) != result.logits.argmax(1)).sum())
        report.max_logit_difference = max(report.max_logit_difference, float(np.abs(logits - result.logits).max()))

    result = simulate(
        graph, images, labels, precision=precision, conventions=conventions, batch_size=batch_size,
        progress=progress, on_batch=compare, record_spikes=True, record=record,
    )
    result.summary["parity"] = report.to_dict()
    return result, report
