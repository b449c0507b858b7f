"""A user's parameters for :class:`~asnn_sim.interop.builder.GraphBuilder`: checked, converted, folded.

Weights, biases and BatchNorm statistics may be numpy arrays, lists or PyTorch tensors
(read without importing torch); every problem is a :class:`~asnn_sim.graph.ir.GraphError`
naming the node. Numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from asnn_sim.graph.nodes.base import fail, pair

# BatchNorm field names: ours, and PyTorch's state_dict keys.
_BN_KEYS = {
    "gamma": "gamma", "weight": "gamma",
    "beta": "beta", "bias": "beta",
    "mean": "mean", "running_mean": "mean",
    "var": "var", "running_var": "var",
    "eps": "eps",
}


def fold_bn(weight, bias, gamma, beta, mean, var, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Fold an inference-mode BatchNorm into the layer before it.

    Per output channel ``c``: ``s = gamma / sqrt(var + eps)``, ``W'[c] = W[c] * s``,
    ``b'[c] = (b[c] - mean[c]) * s + beta[c]``, so ``W' x + b' == BN(W x + b)``.
    :func:`asnn_sim.interop.export.fold_batchnorm` applies the same rule to trained torch layers, in torch.

    Parameters
    ----------
    weight : array_like
        ``(C_out, ...)``, e.g. ``(C_out, C_in, kh, kw)`` or ``(out, in)``.
    bias : array_like or None
        ``(C_out,)``; None for a layer without bias.
    gamma, beta, mean, var : array_like
        ``(C_out,)`` each: BatchNorm's weight, bias, running mean and running variance.
    eps : float

    Returns
    -------
    weight, bias : numpy.ndarray
        float64.

    Examples
    --------
    >>> import numpy as np
    >>> w, b = fold_bn(np.ones((2, 3)), None, gamma=[2.0, 1.0], beta=[0.0, 1.0], mean=[1.0, 0.0], var=[3.0, 0.0], eps=1.0)
    >>> w.tolist(), b.tolist()
    ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [-1.0, 1.0])
    """
    w = np.asarray(weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    stats = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in dict(gamma=gamma, beta=beta, mean=mean, var=var).items()}
    for k, v in stats.items():
        if v.shape != (w.shape[0],):
            raise ValueError(f"BatchNorm {k} has {v.size} values, expected one per output channel ({w.shape[0]})")
    if not float(eps) >= 0:
        raise ValueError(f"BatchNorm eps must be >= 0, got {eps!r}")
    if (stats["var"] + eps <= 0).any():
        raise ValueError("BatchNorm var + eps must be positive for every channel")
    scale = stats["gamma"] / np.sqrt(stats["var"] + eps)
    return w * scale.reshape((-1,) + (1,) * (w.ndim - 1)), (b - stats["mean"]) * scale + stats["beta"]


def synaptic_weights(name, layer, weight, bias, bn, n_out, kernel, n_in, *, rng, init_gain, what="weight", groups=1):
    """The ``(out, ...)`` weight and ``(out,)`` bias (or None) of one weight set (a conv's
    ``n_in`` is the input channels per group, ``C_in // groups``)."""
    if layer == "conv":
        if weight is None:
            if n_out is None or kernel is None:
                raise fail(name, "give out_channels and kernel_size, or a weight (C_out, C_in // groups, kh, kw)")
            kh, kw = pair(Named(name), "kernel_size", kernel)
            shape = (int(n_out), n_in, kh, kw)
        else:
            shape = None
        rank, layout = 4, "(C_out, C_in, kh, kw)" if groups == 1 else "(C_out, C_in // groups, kh, kw)"
    else:
        if weight is None and n_out is None:
            raise fail(name, "give out_features, or a weight (out, in)")
        shape = (int(n_out), n_in) if weight is None else None
        rank, layout = 2, "(out, in)"
    if weight is None:
        if min(shape) < 1:
            raise fail(name, f"{layer} sizes must be positive, got {shape}")
        fan_in = int(np.prod(shape[1:]))
        w = rng.normal(0.0, init_gain * math.sqrt(2.0 / fan_in), shape)
    else:
        w = as_floats(name, what, weight)
        if w.ndim == rank + 1:
            raise fail(name, f"{what} has {w.ndim} dimensions; give it as {layout}: the builder adds the weight-set "
                             f"axis itself (hybrid coding's analog weights go in hybrid_analog=)")
        if w.ndim != rank:
            raise fail(name, f"{what} must be {layout}, got shape {w.shape}")
        if w.shape[1] != n_in:
            unit = "channels" if layer == "conv" else "features"
            if groups > 1:
                raise fail(name, f"{what} {w.shape} expects {w.shape[1]} input channels per group, but the input has "
                                 f"{n_in} per group ({n_in * groups} in {groups} groups)")
            raise fail(name, f"{what} {w.shape} expects {w.shape[1]} input {unit}, but the input has {n_in}")
        if n_out is not None and w.shape[0] != n_out:
            raise fail(name, f"{what} has {w.shape[0]} outputs, but {n_out} were asked for")
        if layer == "conv" and kernel is not None and tuple(w.shape[2:]) != pair(Named(name), "kernel_size", kernel):
            raise fail(name, f"{what} has a {w.shape[2]}x{w.shape[3]} kernel, but kernel_size is {kernel}")
    out = w.shape[0]
    b = None
    if bias is not None:
        b = as_floats(name, "bias", bias).reshape(-1)
        if b.size == 1:
            b = np.repeat(b, out)
        if b.shape != (out,):
            raise fail(name, f"bias has {b.size} values, expected one per output ({out})")
    if bn is not None:
        w, b = fold_named(name, w, b, bn)
    return w, b


def fold_named(name, w, b, bn):
    """:func:`fold_bn` with ``bn`` as a dict, a BatchNorm ``state_dict()`` or module; errors name the node."""
    if hasattr(bn, "running_var") and hasattr(bn, "eps"):  # a PyTorch BatchNorm module (duck-typed: no torch import)
        bn = {k: as_numpy(getattr(bn, k)) for k in ("weight", "bias", "running_mean", "running_var")} | {"eps": bn.eps}
    if not isinstance(bn, Mapping):
        raise fail(name, f"bn must be a dict (gamma, beta, mean, var, eps), a BatchNorm state_dict() or module, "
                         f"got {type(bn).__name__}")
    stats: dict[str, Any] = {"eps": 1e-5}
    for key, value in bn.items():
        if key == "num_batches_tracked":
            continue
        if key not in _BN_KEYS:
            raise fail(name, f"bn has an unknown entry {key!r}; expected gamma, beta, mean, var and eps "
                             f"(or weight, bias, running_mean, running_var)")
        stats[_BN_KEYS[key]] = float(np.asarray(value)) if key == "eps" else np.asarray(as_numpy(value), dtype=np.float64)
    missing = [k for k in ("gamma", "beta", "mean", "var") if k not in stats]
    if missing:
        raise fail(name, f"bn lacks {', '.join(missing)}")
    try:
        return fold_bn(w, b, **stats)
    except ValueError as e:
        raise fail(name, str(e)) from None


def stack_bias(biases: list, out: int) -> np.ndarray | None:
    """Per-weight-set biases stacked ``(sets, out)`` (a missing one as zeros), or None when none has one."""
    if all(b is None for b in biases):
        return None
    return np.stack([np.zeros(out) if b is None else b for b in biases])


class Named:
    """Stands in for a node in :func:`asnn_sim.graph.nodes.base.pair` error messages."""

    def __init__(self, name: str) -> None:
        self.name = name


def as_numpy(value):
    """A PyTorch tensor (with or without grad, on any device) as numpy; other values unchanged."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return value


def as_floats(name: str, what: str, value) -> np.ndarray:
    """``value`` as a finite float64 array, or a GraphError naming the node."""
    try:
        arr = np.asarray(as_numpy(value), dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(name, f"{what} must be numbers, got {type(value).__name__}") from None
    if not np.isfinite(arr).all():
        raise fail(name, f"{what} contains NaN or infinite values")
    return arr


def as_number(name: str, what: str, value) -> float:
    """``value`` as a float, or a GraphError naming the node (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise fail(name, f"{what} must be a number, got {value!r}")
    return float(value)
