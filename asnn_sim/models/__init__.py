"""Model registry: ``build_model(name, ...)`` returns the spiking model or its ANN twin."""

from __future__ import annotations

from typing import Callable

from torch import nn

from asnn_sim.encoding import EncoderSpec
from asnn_sim.models.lenet import LeNetANN, LeNetSNN, StepOutputs

# name -> (spiking builder, ANN-twin builder). Later models register here.
MODELS: dict[str, tuple[Callable[..., nn.Module], Callable[..., nn.Module]]] = {
    "lenet": (LeNetSNN, LeNetANN),
}


def build_model(
    name: str,
    *,
    input_shape: tuple[int, int, int],
    n_classes: int,
    encoder: EncoderSpec | None = None,
    asnn: bool = True,
    ann: bool = False,
    surrogate: str = "sigmoid",
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

    Returns
    -------
    torch.nn.Module
        Spiking models take frames ``(T, B, C, H, W)``, ANN twins images ``(B, C, H, W)``;
        both return logits ``(B, K)``.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    snn, twin = MODELS[name]
    if ann:
        return twin(input_shape, n_classes)
    if encoder is None:
        raise ValueError("a spiking model needs an encoder")
    return snn(input_shape, n_classes, encoder, asnn=asnn, surrogate=surrogate)


__all__ = ["MODELS", "StepOutputs", "build_model"]
