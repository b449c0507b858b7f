"""Model registry: ``build_model(name, ...)`` returns the spiking model or its ANN twin.

Importing this package is cheap (no torch): the registry records where each model's
builders live and imports them on first use, so the command line can offer
:data:`MODEL_NAMES` and :data:`SURROGATE_NAMES` as choices without loading torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from torch import nn

    from asnn_sim.encoding import EncoderSpec

# name -> (module, spiking class, ANN-twin class), imported when first built. Later models register here.
REGISTRY: dict[str, tuple[str, str, str]] = {
    "lenet": ("asnn_sim.models.lenet", "LeNetSNN", "LeNetANN"),
}
MODEL_NAMES: tuple[str, ...] = tuple(REGISTRY)

# Surrogate gradients the spiking models train with; asnn_sim.neurons.SURROGATES implements them.
SURROGATE_NAMES: tuple[str, ...] = ("sigmoid", "arctan")


def model_builders(name: str) -> tuple[Callable[..., nn.Module], Callable[..., nn.Module]]:
    """The (spiking, ANN-twin) builders of a registered model; imports its module (and torch)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(REGISTRY)}")
    module, snn, twin = REGISTRY[name]
    loaded = import_module(module)
    return getattr(loaded, snn), getattr(loaded, twin)


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
        One of :data:`MODEL_NAMES`.
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
    snn, twin = model_builders(name)
    if ann:
        return twin(input_shape, n_classes)
    if encoder is None:
        raise ValueError("a spiking model needs an encoder")
    return snn(input_shape, n_classes, encoder, asnn=asnn, surrogate=surrogate)


def __getattr__(attr: str) -> Any:
    # These need torch, so they are loaded on first access rather than at import.
    if attr == "MODELS":  # name -> (spiking builder, ANN-twin builder)
        return {name: model_builders(name) for name in REGISTRY}
    if attr == "StepOutputs":
        from asnn_sim.models.lenet import StepOutputs

        return StepOutputs
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["MODELS", "MODEL_NAMES", "REGISTRY", "SURROGATE_NAMES", "StepOutputs", "build_model", "model_builders"]
