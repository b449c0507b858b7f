"""What defines a training run: :class:`TrainConfig`, checked when it is made, and the
one-line :class:`TrainError` every request problem raises."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from asnn_sim.graph.encoding import ENCODINGS, EncoderSpec
from asnn_sim.training.data import DATASETS
from asnn_sim.training.models import MODELS, RESIDUALS, pool_error, residuals_of
from asnn_sim.training.neurons import RESETS
from asnn_sim.util.names import unknown_name

DEVICES = ("auto", "cpu", "cuda")
MAX_TIMESTEPS = 64


class TrainError(ValueError):
    """A problem with the user's request (bad flag, bad run directory); message is one line."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    Attributes
    ----------
    model, dataset : str
        Registry names (``lenet``, ``resnet19``, ``resnet-small``, ...; ``digits``, ``mnist``, ...).
    data_dir : str or None
        Folder with the dataset files (not needed for ``digits``).
    encoding : str
        Input coding of the spiking model; ignored (recorded as ``none``) for ``ann``.
    timesteps : int
        T, the number of frames.
    thresholds : str
        Temporal thresholds, ``uniform`` or ``equal-mass``.
    legacy_temporal : bool
        The reference's last temporal step, where every pixel fires.
    asnn : bool
        ASNN neurons (per-timestep leak/gain + readout scale) or plain LIF.
    ann : bool
        Train the ReLU twin instead of the spiking model.
    surrogate : str
        Surrogate gradient.
    epochs, batch_size, lr, weight_decay :
        Adam with a cosine schedule from ``lr`` to 0 over ``epochs``.
    mixup : bool
        Mix pairs of images with a uniform weight (as the reference), off for the final
        27% of epochs.
    augment : bool
        Random horizontal flips and 4-pixel shifts (useful for CIFAR, not for digits).
    seed : int
    limit : int or None
        Use only the first ``limit`` train and test samples (quick experiments).
    residual : str
        ``standard`` or ``sew`` (spike-element-wise ADD shortcuts); ``sew`` only for
        ResNet models. Configs written before this field existed load as ``standard``.
    reset : str
        What a spiking neuron does after a spike: ``soft`` subtracts the threshold (the
        reference's), ``hard`` sets the membrane to 0 (the neuron NIR and most chips
        implement). Ignored for ``ann``. Configs written before this field existed load
        as ``soft``.
    pool : str
        LeNet's 2x2 pooling, ``max`` (the reference's) or ``avg`` (which NIR can express),
        in the spiking model and its ANN twin; ``avg`` only for ``lenet``. Configs written
        before this field existed load as ``max``.
    """

    model: str = "lenet"
    dataset: str = "digits"
    data_dir: str | None = None
    encoding: str = "hybrid"
    timesteps: int = 4
    thresholds: str = "uniform"
    legacy_temporal: bool = False
    asnn: bool = True
    ann: bool = False
    surrogate: str = "sigmoid"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 5e-3
    weight_decay: float = 0.0
    mixup: bool = False
    augment: bool = False
    seed: int = 0
    limit: int | None = None
    residual: str = "standard"
    reset: str = "soft"
    pool: str = "max"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise TrainError(unknown_name("model", self.model, MODELS))
        if self.residual not in RESIDUALS:
            raise TrainError(f"--residual must be one of {', '.join(RESIDUALS)}; got {self.residual!r}")
        if self.residual not in residuals_of(self.model):
            with_it = ", ".join(m for m in MODELS if self.residual in residuals_of(m))
            raise TrainError(f"--residual {self.residual} needs a ResNet model ({with_it}); {self.model!r} has none")
        if self.reset not in RESETS:
            raise TrainError(unknown_name("reset", self.reset, RESETS))
        problem = pool_error(self.model, self.pool)
        if problem:
            raise TrainError(problem)
        if self.dataset not in DATASETS:
            raise TrainError(unknown_name("dataset", self.dataset, DATASETS))
        if not self.ann and self.encoding not in ENCODINGS:
            raise TrainError(unknown_name("encoding", self.encoding, ENCODINGS))
        if not 1 <= self.timesteps <= MAX_TIMESTEPS:
            raise TrainError(f"--timesteps must be between 1 and {MAX_TIMESTEPS}; got {self.timesteps}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise TrainError(f"--{name.replace('_', '-')} must be >= 1; got {getattr(self, name)}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise TrainError(f"--lr must be a positive number; got {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise TrainError(f"--weight-decay must be >= 0; got {self.weight_decay}")
        if self.limit is not None and self.limit < 1:
            raise TrainError(f"--limit must be >= 1; got {self.limit}")
        if not self.ann:
            try:
                self.encoder()
            except ValueError as e:
                raise TrainError(str(e)) from None

    def encoder(self) -> EncoderSpec:
        """The input encoder of the spiking model."""
        return EncoderSpec(
            self.encoding,
            self.timesteps,
            thresholds=self.thresholds,
            legacy=self.legacy_temporal,
            seed=self.seed,
        )

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Rebuild from ``asdict`` output, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
