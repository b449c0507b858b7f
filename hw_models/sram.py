"""SRAM access energy as a function of memory size.

Horowitz (ISSCC 2014) gives three points for reading a 64-bit word from an on-chip SRAM
at 45 nm: 8 KB -> 10 pJ, 32 KB -> 20 pJ, 1 MB -> 100 pJ. Two ways of turning them into a
function of size are offered, because published models use both:

``log-interp``
    Piecewise linear in log2(size) through the three points, clamped to the end values
    outside [8 KB, 1 MB]. Below 8 KB the energy does not keep falling (a floor, so small
    memories are charged as an 8 KB array); above 1 MB the memory would really be DRAM,
    which profiles with a DRAM tier price separately (``model.dram``: the array moves to
    DRAM, :func:`hw_models.ops._dram_tier`); without one it is under-charged.
``linear-fit``
    Least-squares straight line E = a + b * bytes through the three points, as in
    Lemaire et al. (ICONIP 2022); about 13 pJ at zero size and 0.083 pJ per extra KB.

Energy per access of a ``bits``-wide value is then either ``E * bits / 64`` (``per-bit``:
energy proportional to the bits moved, i.e. perfectly packed words) or ``E`` (``per-access``:
every access costs a whole word, as in Lemaire et al.'s model).
"""

from __future__ import annotations

import numpy as np

#: Sizes (bytes) of Horowitz's three SRAM points, matching constants sram_8kb/32kb/1mb.
SRAM_POINTS_BYTES = (8 * 1024, 32 * 1024, 1024 * 1024)
#: Width of the access Horowitz's energies refer to.
SRAM_WORD_BITS = 64


def word_energy(size_bytes: np.ndarray | float, points_pj: tuple[float, float, float], model: str) -> np.ndarray:
    """Energy (pJ) of one 64-bit access to an SRAM of ``size_bytes``.

    Parameters
    ----------
    size_bytes : array_like
        Memory size in bytes (one per layer, say).
    points_pj : tuple of float
        Energies at 8 KB, 32 KB and 1 MB.
    model : {'log-interp', 'linear-fit'}

    Returns
    -------
    numpy.ndarray
        Energy per 64-bit access, pJ.
    """
    size = np.asarray(size_bytes, dtype=float)
    xs = np.asarray(SRAM_POINTS_BYTES, dtype=float)
    ys = np.asarray(points_pj, dtype=float)
    if model == "log-interp":
        # np.interp clamps outside the table, which is the documented behaviour.
        return np.interp(np.log2(np.maximum(size, 1.0)), np.log2(xs), ys)
    if model == "linear-fit":
        slope, intercept = np.polyfit(xs, ys, 1)
        return intercept + slope * size
    raise ValueError(f"unknown SRAM model {model!r}")


def access_energy(
    size_bytes: np.ndarray | float,
    bits: np.ndarray | float,
    points_pj: tuple[float, float, float],
    model: str,
    access: str,
) -> np.ndarray:
    """Energy (pJ) of one access to a ``bits``-wide value in an SRAM of ``size_bytes``.

    Parameters
    ----------
    size_bytes, bits : array_like
    points_pj : tuple of float
        Energies at 8 KB, 32 KB and 1 MB for a 64-bit access.
    model : {'log-interp', 'linear-fit'}
    access : {'per-bit', 'per-access'}

    Returns
    -------
    numpy.ndarray
    """
    word = word_energy(size_bytes, points_pj, model)
    if access == "per-bit":
        return word * np.asarray(bits, dtype=float) / SRAM_WORD_BITS
    if access == "per-access":
        return word * np.ones_like(np.asarray(bits, dtype=float))
    raise ValueError(f"unknown SRAM access rule {access!r}")
