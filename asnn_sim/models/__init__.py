"""Model registry: ``build_model(name, ...)`` returns the spiking model or its ANN twin."""

from __future__ import annotations

from typing import Callable

from torch import nn

from asnn_sim.encoding import EncoderSpec
from asnn_sim.models import resnet
from asnn_sim.models.lenet import LeNetANN, LeNetSNN, StepOutputs

# name -> (spiking builder, ANN-twin builder). Later models register here.
MODELS: dict[str, tuple[Callable[..., nn.Module], Callable[..., nn.Module]]] = {
    "lenet": (LeNetSNN, LeNetANN),
    **{name: (resnet.snn_builder(name), resnet.ann_builder(name)) for name in resnet.CONFIGS},
}

RESIDUALS = resnet.RESIDUALS  # ("standard", "sew")


def residuals_of(name: str) -> tuple[str, ...]:
    """Residual modes model ``name`` accepts (``("standard",)`` for models without shortcuts).

    A builder declares more through a ``residuals`` attribute (on itself or, for a
    ``functools.partial``, on the wrapped class); such builders take a ``residual`` keyword.
    """
    snn, _ = MODELS[name]
    return tuple(getattr(getattr(snn, "func", snn), "residuals", ("standard",)))


def build_model(
    name: str,
    *,
    input_shape: tuple[int, int, int],
    n_classes: int,
    encoder: EncoderSpec | None = None,
    asnn: bool = True,
    ann: bool = False,
    surrogate: str = "sigmoid",
    residual: str = "standard",
) -> nn.Module:
    """Build a registered model.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    input_shape : tuple of int
        ``(C, H, W)`` of one input image.
    n_classes : int
    encoder : EncoderSpec, optional
        Input coding of the spiking model (required unless ``ann``).
    asnn : bool
        ASNN neurons (per-timestep leak/gain, readout scale) or plain LIF.
    ann : bool
        Build the ReLU twin instead of the spiking model.
    surrogate : str
        Surrogate gradient of the spiking model.
    residual : {"standard", "sew"}
        Residual style, for models with shortcuts (the ResNets); ``"sew"`` is an error for
        the others.

    Returns
    -------
    torch.nn.Module
        Spiking models take frames ``(T, B, C, H, W)``, ANN twins images ``(B, C, H, W)``;
        both return logits ``(B, K)``.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if residual not in RESIDUALS:
        raise ValueError(f"unknown residual {residual!r}; choose one of {', '.join(RESIDUALS)}")
    accepted = residuals_of(name)
    if residual not in accepted:
        with_sew = ", ".join(m for m in MODELS if residual in residuals_of(m))
        raise ValueError(f"model {name!r} has no {residual!r} residual; only {with_sew} do")
    extra = {"residual": residual} if len(accepted) > 1 else {}
    snn, twin = MODELS[name]
    if ann:
        return twin(input_shape, n_classes, **extra)
    if encoder is None:
        raise ValueError("a spiking model needs an encoder")
    return snn(input_shape, n_classes, encoder, asnn=asnn, surrogate=surrogate, **extra)


__all__ = ["MODELS", "RESIDUALS", "StepOutputs", "build_model", "residuals_of"]
