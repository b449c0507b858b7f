"""Model registry: ``build_model(name, ...)`` returns the spiking model or its ANN twin.

Importing this package is cheap (no torch): the registry records where each model's
builders live and imports them on first use, so the command line can offer
:data:`MODEL_NAMES` and :data:`SURROGATE_NAMES` as choices without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable

from asnn_sim.util.names import unknown_name

if TYPE_CHECKING:
    from torch import nn

    from asnn_sim.graph.encoding import EncoderSpec

#: Residual styles of models with shortcuts (asnn_sim.training.models.resnet): the shortcut joins as a
#: current before the neuron (standard), or as spikes after it (sew).
RESIDUALS: tuple[str, ...] = ("standard", "sew")

#: Pooling of models with a pooling choice (asnn_sim.training.models.lenet's 2x2 pools): max (the
#: reference's) or avg (the mean of a window, which NIR can express). Models without the
#: choice accept only "max", meaning "their own pooling".
POOLS: tuple[str, ...] = ("max", "avg")


@dataclass(frozen=True)
class Entry:
    """Where a model's builders live (imported when first built) and what they accept."""

    module: str
    snn: str
    ann: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    residuals: tuple[str, ...] = ("standard",)
    pools: tuple[str, ...] = ("max",)


_RESNET = "asnn_sim.training.models.resnet"
_SPIKFORMER = "asnn_sim.training.models.spikformer"
# name -> Entry. Later models register here (tests check the ResNet and Spikformer names
# against resnet.CONFIGS and spikformer.CONFIGS).
REGISTRY: dict[str, Entry] = {
    "lenet": Entry("asnn_sim.training.models.lenet", "LeNetSNN", "LeNetANN", pools=POOLS),
    **{name: Entry(_RESNET, "ResNetSNN", "ResNetANN", (("config", name),), RESIDUALS)
       for name in ("resnet-small", "resnet19", "resnet18", "resnet34")},
    **{name: Entry(_SPIKFORMER, "SpikformerSNN", "SpikformerANN", (("config", name),))
       for name in ("spikformer-small", "spikformer-4-384")},
}
MODEL_NAMES: tuple[str, ...] = tuple(REGISTRY)

# Surrogate gradients the spiking models train with; asnn_sim.training.neurons.SURROGATES implements them.
SURROGATE_NAMES: tuple[str, ...] = ("sigmoid", "arctan")


def registered(name: str) -> Entry:
    """The registry entry of model ``name``, or a ValueError with a did-you-mean (the one place that checks)."""
    if name not in REGISTRY:
        raise ValueError(unknown_name("model", name, REGISTRY))
    return REGISTRY[name]


def model_builders(name: str) -> tuple[Callable[..., nn.Module], Callable[..., nn.Module]]:
    """The (spiking, ANN-twin) builders of a registered model; imports its module (and torch)."""
    entry = registered(name)
    loaded = import_module(entry.module)
    kwargs = dict(entry.kwargs)
    return partial(getattr(loaded, entry.snn), **kwargs), partial(getattr(loaded, entry.ann), **kwargs)


def residuals_of(name: str) -> tuple[str, ...]:
    """Residual styles model ``name`` accepts (``("standard",)`` for models without shortcuts);
    models accepting more take a ``residual`` keyword."""
    return registered(name).residuals


def pools_of(name: str) -> tuple[str, ...]:
    """Pooling choices model ``name`` accepts (``("max",)``, its own pooling, for models
    without the choice); models accepting more take a ``pool`` keyword."""
    return registered(name).pools


def pool_error(name: str, pool: str) -> str | None:
    """Why model ``name`` cannot pool by ``pool`` (one line), or None when it can."""
    if pool not in POOLS:
        return unknown_name("pool", pool, POOLS)
    if pool in pools_of(name):
        return None
    with_it = ", ".join(m for m in REGISTRY if pool in pools_of(m))
    return (f"--pool applies to {with_it} only, not {name}: resnets end in a global average pool, "
            "spikformers max-pool in their patch stem and average over tokens")


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
    reset: str = "soft",
    pool: str = "max",
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
    residual : {"standard", "sew"}
        Residual style, for the ResNets; ``"sew"`` is an error for the others (the
        Spikformers' residual stream always adds spikes after the neurons).
    reset : {"soft", "hard"}
        What the spiking model's neurons do after a spike: subtract the threshold, or
        go to 0 (see :func:`asnn_sim.training.neurons.neuron_step`); ignored for the ANN twin.
    pool : {"max", "avg"}
        LeNet's 2x2 pooling, in the spiking model and its ANN twin alike; ``"avg"`` is an
        error for the other models (see :func:`pool_error`).

    Returns
    -------
    torch.nn.Module
        Spiking models take frames ``(T, B, C, H, W)``, ANN twins images ``(B, C, H, W)``;
        both return logits ``(B, K)``.
    """
    if residual not in RESIDUALS:
        raise ValueError(unknown_name("residual", residual, RESIDUALS))
    accepted = residuals_of(name)
    if residual not in accepted:
        with_it = ", ".join(m for m in REGISTRY if residual in residuals_of(m))
        raise ValueError(f"model {name!r} has no {residual!r} residual; only {with_it} do")
    problem = pool_error(name, pool)
    if problem:
        raise ValueError(problem)
    extra = {"residual": residual} if len(accepted) > 1 else {}
    if len(pools_of(name)) > 1:
        extra["pool"] = pool
    snn, twin = model_builders(name)
    if ann:
        return twin(input_shape, n_classes, **extra)
    if encoder is None:
        raise ValueError("a spiking model needs an encoder")
    return snn(input_shape, n_classes, encoder, asnn=asnn, surrogate=surrogate, reset=reset, **extra)


def __getattr__(attr: str) -> Any:
    # These need torch, so they are loaded on first access rather than at import.
    if attr == "MODELS":  # name -> (spiking builder, ANN-twin builder)
        return {name: model_builders(name) for name in REGISTRY}
    if attr == "StepOutputs":
        from asnn_sim.training.models.lenet import StepOutputs

        return StepOutputs
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["MODELS", "MODEL_NAMES", "POOLS", "REGISTRY", "RESIDUALS", "SURROGATE_NAMES", "StepOutputs", "build_model",
           "model_builders", "pool_error", "pools_of", "residuals_of"]
