"""Other frameworks' neurons as arguments of :meth:`GraphBuilder.neuron` / :meth:`GraphBuilder.cuba_neuron`.

snnTorch's ``Leaky`` and ``Synaptic`` and SpikingJelly's ``LIFNode`` and CUBA LIF, each
turned into this simulator's ``leak``, ``gain``, ``threshold``, reset and compare
(``docs/python.md`` explains the mapping; tests/test_builder.py and test_cuba_neuron.py
check it spike for spike against the frameworks themselves). Numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from asnn_sim.interop.parameters import as_numpy

def snntorch_leaky(beta: float, threshold=1.0, reset_mechanism: str = "subtract", reset_delay: bool = True, *, exact: bool = True) -> dict:
    """:meth:`GraphBuilder.neuron` arguments for an snnTorch ``snn.Leaky`` neuron.

    snnTorch integrates ``mem = beta * mem + input`` (``beta`` clipped to [0, 1]) and
    fires when ``mem - threshold > 0``, as here: so ``leak = beta``, ``gain = 1``.
    The reset decides whether the mapping is exact (see ``docs/python.md``):

    ========================  ===============  =============================================
    ``reset_mechanism``       ``reset_delay``  here
    ========================  ===============  =============================================
    ``"subtract"``            False            soft reset: identical spikes while no
                                               membrane stays above ``threshold`` after its
                                               reset (inputs below ``(2 - beta) *
                                               threshold`` guarantee it); when one does,
                                               snnTorch subtracts ``threshold`` once more
                                               before its next comparison
    ``"subtract"``            True (default)   snnTorch subtracts ``threshold`` at the *next*
                                               step, undecayed; a soft reset here subtracts
                                               it now, so it decays to ``beta*threshold``.
                                               Identical only when ``beta == 1``
    ``"zero"``                either           hard reset to 0: identical spikes
    ``"none"``                                 not expressible (every neuron here resets)
    ========================  ===============  =============================================

    Parameters
    ----------
    beta : float
        One decay for the layer (a per-neuron ``beta`` has no equivalent: ``leak`` is per
        layer and step).
    threshold : float or array_like
        Scalar, or per neuron (anything that broadcasts to the layer's shape).
    reset_mechanism : {"subtract", "zero", "none"}
    reset_delay : bool
        snnTorch's default is True.
    exact : bool
        With the default True, a case whose spikes would differ raises ``ValueError``;
        with False it returns the nearest form (a soft reset).

    Returns
    -------
    dict
        ``leak``, ``gain``, ``threshold``, ``reset`` (and ``v_reset``).

    Examples
    --------
    >>> snntorch_leaky(beta=0.9, reset_mechanism="zero")
    {'leak': 0.9, 'gain': 1.0, 'threshold': 1.0, 'reset': 'hard', 'v_reset': 0.0}
    """
    beta = np.asarray(beta, dtype=np.float64)
    if beta.size != 1:
        raise ValueError("a per-neuron beta has no equivalent here: leak is one value per layer (and timestep)")
    beta = float(min(max(beta.item(), 0.0), 1.0))  # snnTorch clips beta to [0, 1] in the forward pass
    if reset_mechanism == "zero":
        return {"leak": beta, "gain": 1.0, "threshold": threshold, "reset": "hard", "v_reset": 0.0}
    if reset_mechanism == "subtract":
        if reset_delay and beta != 1.0 and exact:
            raise ValueError(
                "snn.Leaky(reset_mechanism='subtract', reset_delay=True) subtracts the threshold one step later and "
                f"undecayed; a soft reset here decays it to beta*threshold ({beta:g}*threshold), so spikes can differ. "
                "Train with reset_delay=False for an exact match, or pass exact=False for the nearest form"
            )
        return {"leak": beta, "gain": 1.0, "threshold": threshold, "reset": "soft"}
    if reset_mechanism == "none":
        raise ValueError("snn.Leaky(reset_mechanism='none') never resets; every neuron here resets (soft or hard)")
    raise ValueError(f"unknown snnTorch reset_mechanism {reset_mechanism!r}; expected 'subtract', 'zero' or 'none'")


def spikingjelly_lif(tau: float = 2.0, v_threshold: float = 1.0, v_reset: float | None = 0.0, decay_input: bool = True, *, exact: bool = True) -> dict:
    """:meth:`GraphBuilder.neuron` arguments for a SpikingJelly ``neuron.LIFNode``.

    SpikingJelly charges ``H = V + (X - (V - V_reset)) / tau`` (``decay_input=True``) or
    ``H = V - (V - V_reset) / tau + X`` (False), with ``V_reset = 0`` under a soft reset.
    Both are ``leak * V + gain * X + bias`` with ``leak = 1 - 1/tau``, ``gain = 1/tau``
    (or 1) and ``bias = V_reset / tau``. ``v_reset=None`` is a soft reset
    (``V -= v_threshold``), a number a hard reset to it (SpikingJelly's default is a hard
    reset to 0). SpikingJelly fires when ``V >= v_threshold``: ``compare="ge"``, so a
    membrane exactly at the threshold fires here too.

    One difference remains (see ``docs/python.md``): SpikingJelly starts the membrane at
    ``v_reset`` (hard reset) where this simulator starts at 0, which matters only for
    ``v_reset != 0``.

    Parameters
    ----------
    tau : float
        Membrane time constant (> 1).
    v_threshold : float
    v_reset : float or None
    decay_input : bool
    exact : bool
        With the default True, ``v_reset`` other than None or 0 (different initial
        membrane) raises ``ValueError``; with False the nearest form is returned.

    Returns
    -------
    dict
        ``leak``, ``gain``, ``threshold``, ``compare``, ``reset`` (and ``v_reset``, ``bias``).

    Examples
    --------
    >>> spikingjelly_lif(tau=2.0)
    {'leak': 0.5, 'gain': 0.5, 'threshold': 1.0, 'compare': 'ge', 'reset': 'hard', 'v_reset': 0.0}
    >>> spikingjelly_lif(tau=4.0, v_reset=None, decay_input=False)
    {'leak': 0.75, 'gain': 1.0, 'threshold': 1.0, 'compare': 'ge', 'reset': 'soft'}
    """
    tau = float(tau)
    if not tau > 1.0:
        raise ValueError(f"SpikingJelly's tau must be > 1, got {tau!r}")
    out: dict[str, Any] = {"leak": 1.0 - 1.0 / tau, "gain": 1.0 / tau if decay_input else 1.0, "threshold": float(v_threshold),
                           "compare": "ge"}
    if v_reset is None:
        out["reset"] = "soft"
        return out
    v_reset = float(v_reset)
    if v_reset != 0.0 and exact:
        raise ValueError(
            f"LIFNode(v_reset={v_reset:g}) starts its membrane at v_reset; this simulator starts at 0, so the first "
            "steps can differ. Pass exact=False for the nearest form"
        )
    out.update(reset="hard", v_reset=v_reset)
    if v_reset != 0.0:
        out["bias"] = v_reset / tau
    return out


def _one_decay(name: str, value) -> float:
    """One decay rate for the layer, clipped to [0, 1] as snnTorch does in its forward pass."""
    arr = np.asarray(as_numpy(value), dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"a per-neuron {name} has no equivalent here: it is one value per layer (and timestep)")
    return float(min(max(arr.item(), 0.0), 1.0))


def snntorch_synaptic(alpha: float, beta: float, threshold=1.0, reset_mechanism: str = "zero", reset_delay: bool = False, *,
                      exact: bool = True) -> dict:
    """:meth:`GraphBuilder.cuba_neuron` arguments for an snnTorch ``snn.Synaptic`` neuron.

    snnTorch computes ``syn = alpha * syn + input`` and then ``mem = beta * mem + syn``
    (``alpha`` and ``beta`` clipped to [0, 1]), both from 0, and fires when
    ``mem - threshold > 0``, as here: so ``syn_leak = alpha``, ``syn_gain = 1``,
    ``leak = beta``, ``gain = 1``, ``compare="gt"``. ``syn`` is never reset. The reset
    decides whether the mapping is exact (see ``docs/python.md``):

    ========================  ===============  =============================================
    ``reset_mechanism``       ``reset_delay``  here
    ========================  ===============  =============================================
    ``"zero"``                False            hard reset to 0, right after the spike:
                                               identical spikes
    ``"zero"``                True             not expressible: snnTorch zeroes the membrane
                                               at the *next* step after integrating it
                                               (``mem = 0`` at that step, whose input is lost
                                               to the membrane, though ``syn`` keeps it), so
                                               no neuron fires two steps in a row.
                                               ``exact=False`` gives the hard reset
    ``"subtract"``            False            soft reset: identical spikes while no
                                               membrane stays above ``threshold`` after its
                                               reset (``syn`` below ``(2 - beta) *
                                               threshold`` guarantees it); when one does,
                                               snnTorch subtracts ``threshold`` once more
                                               before its next comparison
    ``"subtract"``            True             snnTorch subtracts ``threshold`` at the *next*
                                               step, undecayed; a soft reset here subtracts
                                               it now, so it decays to ``beta*threshold``.
                                               The same only when ``beta == 1`` (up to the
                                               order of roundings: ``(mem + syn) - thr``
                                               there, ``(mem - thr) + syn`` here)
    ``"none"``                                 not expressible (every neuron here resets)
    ========================  ===============  =============================================

    The defaults are the exact case, ``Synaptic(alpha, beta, reset_mechanism="zero",
    reset_delay=False)``; snnTorch's own defaults are ``"subtract"`` and
    ``reset_delay=True``.

    Parameters
    ----------
    alpha, beta : float
        One synaptic and one membrane decay for the layer (a per-neuron ``alpha`` or
        ``beta`` has no equivalent: the decays are per layer and step).
    threshold : float or array_like
        Scalar, or per neuron (anything that broadcasts to the layer's shape).
    reset_mechanism : {"zero", "subtract", "none"}
    reset_delay : bool
    exact : bool
        With the default True, a case whose spikes would differ raises ``ValueError``;
        with False it returns the nearest form (the reset applied at once).

    Returns
    -------
    dict
        ``syn_leak``, ``syn_gain``, ``leak``, ``gain``, ``threshold``, ``compare``,
        ``reset`` (and ``v_reset``).

    Examples
    --------
    >>> snntorch_synaptic(alpha=0.5, beta=0.75)
    {'syn_leak': 0.5, 'syn_gain': 1.0, 'leak': 0.75, 'gain': 1.0, 'threshold': 1.0, 'compare': 'gt', 'reset': 'hard', 'v_reset': 0.0}
    """
    alpha, beta = _one_decay("alpha", alpha), _one_decay("beta", beta)
    out: dict[str, Any] = {"syn_leak": alpha, "syn_gain": 1.0, "leak": beta, "gain": 1.0, "threshold": threshold, "compare": "gt"}
    if reset_mechanism == "zero":
        if reset_delay and exact:
            raise ValueError(
                "snn.Synaptic(reset_mechanism='zero', reset_delay=True) zeroes the membrane one step after the spike, "
                "after integrating that step's input (which the membrane then loses), so a neuron never fires two steps "
                "in a row; no reset here does that. Use reset_delay=False for an exact match, or pass exact=False for "
                "the nearest form (a hard reset to 0 right after the spike)"
            )
        return {**out, "reset": "hard", "v_reset": 0.0}
    if reset_mechanism == "subtract":
        if reset_delay and beta != 1.0 and exact:
            raise ValueError(
                "snn.Synaptic(reset_mechanism='subtract', reset_delay=True) subtracts the threshold one step later and "
                f"undecayed; a soft reset here decays it to beta*threshold ({beta:g}*threshold), so spikes can differ. "
                "Use reset_delay=False, or pass exact=False for the nearest form"
            )
        return {**out, "reset": "soft"}
    if reset_mechanism == "none":
        raise ValueError("snn.Synaptic(reset_mechanism='none') never resets; every neuron here resets (soft or hard)")
    raise ValueError(f"unknown snnTorch reset_mechanism {reset_mechanism!r}; expected 'zero', 'subtract' or 'none'")


def spikingjelly_cuba_lif(c_decay: float = 0.5, v_decay: float = 0.75, v_threshold: float = 0.5, v_reset: float | None = 0.0, *,
                          exact: bool = True) -> dict:
    """:meth:`GraphBuilder.cuba_neuron` arguments for a SpikingJelly ``neuron.CUBALIFNode``.

    SpikingJelly (2.0) computes ``c = c * c_decay + X``, then ``H = V * v_decay + c``,
    fires when ``H >= v_threshold`` and resets ``V = H - v_threshold`` (``v_reset=None``)
    or ``V = v_reset``; ``c`` is never reset. That is this form with
    ``syn_leak = c_decay``, ``syn_gain = 1``, ``leak = v_decay``, ``gain = 1`` and
    ``compare="ge"``; the defaults are SpikingJelly's.

    One difference (as for :func:`spikingjelly_lif`): SpikingJelly starts the membrane
    at ``v_reset`` (hard reset) where this simulator starts at 0, which matters only for
    ``v_reset != 0``.

    Parameters
    ----------
    c_decay, v_decay : float
    v_threshold : float
    v_reset : float or None
    exact : bool
        With the default True, ``v_reset`` other than None or 0 (different initial
        membrane) raises ``ValueError``; with False the nearest form is returned.

    Returns
    -------
    dict
        ``syn_leak``, ``syn_gain``, ``leak``, ``gain``, ``threshold``, ``compare``,
        ``reset`` (and ``v_reset``).

    Examples
    --------
    >>> spikingjelly_cuba_lif()
    {'syn_leak': 0.5, 'syn_gain': 1.0, 'leak': 0.75, 'gain': 1.0, 'threshold': 0.5, 'compare': 'ge', 'reset': 'hard', 'v_reset': 0.0}
    """
    out: dict[str, Any] = {"syn_leak": float(c_decay), "syn_gain": 1.0, "leak": float(v_decay), "gain": 1.0,
                           "threshold": float(v_threshold), "compare": "ge"}
    if v_reset is None:
        return {**out, "reset": "soft"}
    v_reset = float(v_reset)
    if v_reset != 0.0 and exact:
        raise ValueError(
            f"CUBALIFNode(v_reset={v_reset:g}) starts its membrane at v_reset; this simulator starts at 0, so the first "
            "steps can differ. Pass exact=False for the nearest form"
        )
    return {**out, "reset": "hard", "v_reset": v_reset}
