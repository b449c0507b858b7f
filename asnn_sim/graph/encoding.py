"""Input encoders: turn images in [0, 1] into T frames for a spiking network.

Every encoder takes images shaped ``(B, C, H, W)`` with values in ``[0, 1]`` and returns
frames shaped ``(T, B, C, H, W)`` in the same float dtype. Spike frames hold exactly 0 or
1; analog frames hold the image itself.

The encoders are plain numpy on purpose: the training loop (torch) and the event-driven
simulator (numba, no torch) call the *same* code, so their inputs can never drift apart.

==================  =========================================================  ==========
name                frames                                                     T
==================  =========================================================  ==========
``direct``          the analog image at every step                             >= 1
``rate``            Bernoulli spikes with probability = intensity (seeded)     >= 1
``temporal``        time-to-first-spike: one spike per pixel at most,          >= 1
                    brighter pixels fire no later than darker ones
``binary``          bit planes of a (2**T - 1)-level quantisation, MSB first   1..16
``hybrid``          step 0 analog, steps 1..T-1 the first T-1 temporal frames  >= 2
``hybrid-binary``   step 0 analog, steps 1..T-1 the bit planes of a            2..17
                    (2**(T-1) - 1)-level quantisation
==================  =========================================================  ==========

Examples
--------
>>> import numpy as np
>>> from asnn_sim.graph.encoding import EncoderSpec
>>> x = np.array([[[[1.0, 0.6, 0.3, 0.0]]]], dtype=np.float32)   # (B=1, C=1, H=1, W=4)
>>> EncoderSpec("temporal", timesteps=4).encode(x)[:, 0, 0, 0]
array([[1., 0., 0., 0.],
       [0., 1., 0., 0.],
       [0., 0., 1., 0.],
       [0., 0., 0., 0.]], dtype=float32)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from asnn_sim.util.names import unknown_name

ENCODINGS = ("direct", "rate", "temporal", "binary", "hybrid", "hybrid-binary")
THRESHOLD_KINDS = ("uniform", "equal-mass")

# Bit planes beyond this lose meaning in float32 images (24-bit mantissa, and 2**16 levels
# is already far below any sensor's noise floor).
MAX_BINARY_BITS = 16


def frame_kinds_of(frames) -> tuple[str, ...]:
    """``"binary"`` for each step ``t`` of ``frames`` ``(T, ...)`` whose values are all 0 or 1,
    else ``"analog"``: how supplied frames (not made by an encoder here) are classified.

    A binary step's events are spikes (counted as ACs downstream); an analog step's are
    values (MACs). Works on numpy arrays and torch tensors.
    """
    return tuple("binary" if bool(((f == 0) | (f == 1)).all()) else "analog" for f in frames)


def check_images(x: np.ndarray) -> np.ndarray:
    """Validate a batch of images and return it as a float array.

    Parameters
    ----------
    x : numpy.ndarray
        Images shaped ``(B, C, H, W)`` with values in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        ``x`` itself when it is already float32/float64, else a float32 copy.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, holds NaN or infinities, or leaves ``[0, 1]``.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"images must be shaped (B, C, H, W); got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
            raise ValueError(f"images must be real numbers; got dtype {x.dtype}")
        x = x.astype(np.float32)
    if x.size and not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(f"images must lie in [0, 1]; found values in [{x.min():.4g}, {x.max():.4g}]")
    return x


def _check_timesteps(timesteps: int, minimum: int = 1, maximum: int | None = None, what: str = "") -> None:
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)):
        raise ValueError(f"timesteps must be an integer; got {timesteps!r}")
    if timesteps < minimum or (maximum is not None and timesteps > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise ValueError(f"timesteps must be >= {minimum}{upper}{what}; got {timesteps}")


def layernorm_sigmoid(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Per-sample LayerNorm (no affine) followed by a sigmoid.

    Maps each image to values that roughly follow sigmoid(N(0, 1)), the distribution for
    which :func:`temporal_thresholds` ``"equal-mass"`` puts an equal share of pixels in
    every timestep. A constant image maps to 0.5 everywhere.

    Parameters
    ----------
    x : numpy.ndarray
        Images shaped ``(B, C, H, W)``.
    eps : float
        Added to the variance, as in ``torch.nn.LayerNorm``.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype, values in ``(0, 1)``.
    """
    # Statistics in float64: a float32 mean of a constant image is not exactly its value,
    # and the tiny variance that leaves would move the constant image off 0.5.
    axes = tuple(range(1, x.ndim))
    xd = x.astype(np.float64, copy=False)
    mean = xd.mean(axis=axes, keepdims=True)
    var = xd.var(axis=axes, keepdims=True)
    z = (xd - mean) / np.sqrt(var + eps)
    return (1.0 / (1.0 + np.exp(-z))).astype(x.dtype, copy=False)


def temporal_thresholds(timesteps: int, kind: str = "uniform") -> np.ndarray:
    """Firing thresholds of the temporal code, one per step, strictly decreasing.

    A pixel fires at the first step ``i`` where its value is ``>= theta[i]``.

    ``uniform``: ``theta[i] = 1 - (i + 1) / T`` (the reference code's schedule).
    ``equal-mass``: ``theta[i] = sigmoid(Phi^-1(1 - (i + 1) / T))``, the closed form of the
    reference's random search: for inputs distributed as sigmoid(N(0, 1)) each step
    receives the same expected number of pixels.

    Both end with ``theta[T-1] = 0``. At that last step only pixels with a remaining
    value strictly above 0 fire (see :func:`temporal`).

    Parameters
    ----------
    timesteps : int
        Number of steps T >= 1.
    kind : {"uniform", "equal-mass"}

    Returns
    -------
    numpy.ndarray
        float64 array of length T.
    """
    _check_timesteps(timesteps)
    if kind not in THRESHOLD_KINDS:
        raise ValueError(unknown_name("threshold kind", kind, THRESHOLD_KINDS))
    # (T-1-i)/T rather than 1-(i+1)/T: the same schedule, but correctly rounded.
    q = np.arange(timesteps - 1, -1, -1, dtype=np.float64) / timesteps
    if kind == "uniform":
        return q
    normal = NormalDist()
    theta = np.zeros(timesteps)
    for i, p in enumerate(q[:-1]):
        theta[i] = 1.0 / (1.0 + math.exp(-normal.inv_cdf(p)))
    return theta


def direct(x: np.ndarray, timesteps: int) -> np.ndarray:
    """Direct coding: the analog image repeated at every step."""
    x = check_images(x)
    _check_timesteps(timesteps)
    return np.broadcast_to(x, (timesteps,) + x.shape).copy()


def rate(
    x: np.ndarray,
    timesteps: int,
    rng: np.random.Generator | int | None = 0,
    sample_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Rate (Bernoulli) coding: each pixel spikes at each step with probability = its value.

    Parameters
    ----------
    x : numpy.ndarray
        Images ``(B, C, H, W)`` in [0, 1].
    timesteps : int
    rng : numpy.random.Generator or int or None
        Source of randomness; an int seeds a fresh generator, so equal seeds give equal
        frames.
    sample_ids : numpy.ndarray, optional
        One integer per image. Then ``rng`` must be an int seed and image ``j`` draws from
        its own generator seeded with ``(seed, sample_ids[j])``, so its spikes do not
        depend on which other images share its batch (the simulator's replay uses this).
    """
    x = check_images(x)
    _check_timesteps(timesteps)
    # Uniforms are always drawn in float64, so float32 and float64 images get the same spikes.
    if sample_ids is None:
        u = np.random.default_rng(rng).random((timesteps,) + x.shape)
    else:
        if len(sample_ids) != len(x) or not isinstance(rng, (int, np.integer)):
            raise ValueError("sample_ids needs one id per image and an int seed")
        u = np.empty((timesteps,) + x.shape)
        for j, sid in enumerate(sample_ids):
            u[:, j] = np.random.default_rng([int(rng), int(sid)]).random((timesteps,) + x.shape[1:])
    # u in [0, 1): value 0 never fires, value 1 always fires.
    return (u < x).astype(x.dtype)


def _temporal_frames(x: np.ndarray, thresholds: np.ndarray, legacy: bool) -> np.ndarray:
    """Emit one frame per threshold; a pixel fires once, then its value is spent."""
    frames = np.zeros((len(thresholds),) + x.shape, dtype=x.dtype)
    remaining = x.copy()
    # Compare in the image's own dtype, as a float32 torch pipeline would.
    for i, theta in enumerate(thresholds.astype(x.dtype)):
        fire = remaining >= theta
        if not legacy:
            # Only the final theta is 0; without this every spent or black pixel would fire.
            fire &= remaining > 0
        frames[i] = fire
        remaining[fire] = 0
    return frames


def temporal(x: np.ndarray, timesteps: int, thresholds: str = "uniform", legacy: bool = False) -> np.ndarray:
    """Temporal (time-to-first-spike) coding.

    At step ``i`` a pixel fires if its remaining value is ``>= theta[i]``
    (:func:`temporal_thresholds`); a pixel that fired is spent. So each pixel fires at
    most once, brighter pixels fire no later than darker ones, and black pixels never
    fire. The spike time quantises the pixel: a spike at step ``i`` stands for
    ``theta[i]`` (see :func:`decode_temporal`).

    Parameters
    ----------
    x : numpy.ndarray
        Images ``(B, C, H, W)`` in [0, 1].
    timesteps : int
        T >= 1.
    thresholds : {"uniform", "equal-mass"}
        ``"equal-mass"`` first maps each image through :func:`layernorm_sigmoid`, the
        input distribution its thresholds are built for.
    legacy : bool
        Reproduce the reference code's last step, where the threshold is 0 and *every*
        pixel fires (again), black and already-fired ones included.
    """
    x = check_images(x)
    _check_timesteps(timesteps)
    theta = temporal_thresholds(timesteps, thresholds)
    if thresholds == "equal-mass":
        x = layernorm_sigmoid(x)
    return _temporal_frames(x, theta, legacy)


def decode_temporal(frames: np.ndarray, thresholds: str = "uniform") -> np.ndarray:
    """Reconstruct the quantised image from temporal spike frames.

    A pixel that fired at step ``i`` decodes to ``theta[i]``; a silent pixel to 0.
    For uniform thresholds this is ``min(floor(T * x), T - 1) / T`` of the original pixel.
    """
    timesteps = frames.shape[0]
    theta = temporal_thresholds(timesteps, thresholds).astype(frames.dtype)
    return np.tensordot(theta, frames, axes=(0, 0))


def quantize_levels(x: np.ndarray, bits: int) -> np.ndarray:
    """Integer level of each pixel in a ``2**bits - 1``-level quantisation (round half up)."""
    levels = (1 << bits) - 1
    # x * levels is exact enough in float64; +0.5 then floor gives round-half-up.
    return np.floor(x.astype(np.float64) * levels + 0.5).astype(np.int64)


def binary(x: np.ndarray, timesteps: int) -> np.ndarray:
    """Binary (bit-plane) coding: quantise to ``2**T - 1`` levels, emit bit planes MSB first.

    Frame ``i`` holds bit ``T - 1 - i`` of each pixel's level, so
    ``sum_i frame[i] * 2**(T-1-i) / (2**T - 1)`` recovers the quantised image exactly
    (:func:`decode_binary`).
    """
    x = check_images(x)
    _check_timesteps(timesteps, maximum=MAX_BINARY_BITS, what=" for binary coding")
    level = quantize_levels(x, timesteps)
    shifts = np.arange(timesteps - 1, -1, -1).reshape((timesteps,) + (1,) * x.ndim)
    return ((level[None] >> shifts) & 1).astype(x.dtype)


def decode_binary(frames: np.ndarray) -> np.ndarray:
    """Reconstruct the quantised image from bit-plane frames (MSB first)."""
    bits = frames.shape[0]
    weights = (2.0 ** np.arange(bits - 1, -1, -1)) / ((1 << bits) - 1)
    return np.tensordot(weights.astype(frames.dtype), frames, axes=(0, 0))


def hybrid(x: np.ndarray, timesteps: int, spikes: str = "temporal", thresholds: str = "uniform") -> np.ndarray:
    """Hybrid coding: the analog image at step 0, then T - 1 spike frames.

    Parameters
    ----------
    x : numpy.ndarray
        Images ``(B, C, H, W)`` in [0, 1].
    timesteps : int
        T >= 2 (one analog step plus at least one spike step).
    spikes : {"temporal", "binary"}
        ``"temporal"``: the first T - 1 frames of the T-step temporal code, as in the
        reference (thresholds ``theta[0..T-2]``; the zero threshold is never used, the
        faint remainder is carried by the analog frame). ``"binary"``: the T - 1 bit
        planes of a ``2**(T-1) - 1``-level quantisation.
    thresholds : {"uniform", "equal-mass"}
        Temporal thresholds (ignored for binary spikes). The analog frame is always the
        raw image.
    """
    x = check_images(x)
    if spikes == "binary":
        _check_timesteps(timesteps, minimum=2, maximum=MAX_BINARY_BITS + 1, what=" for hybrid-binary coding")
        spike_frames = binary(x, timesteps - 1)
    elif spikes == "temporal":
        _check_timesteps(timesteps, minimum=2, what=" for hybrid coding")
        theta = temporal_thresholds(timesteps, thresholds)[:-1]
        source = layernorm_sigmoid(x) if thresholds == "equal-mass" else x
        spike_frames = _temporal_frames(source, theta, legacy=False)
    else:
        raise ValueError(f"unknown hybrid spike code {spikes!r}; choose 'temporal' or 'binary'")
    return np.concatenate([x[None], spike_frames], axis=0)


# The encoder's operations are counted per sample (``input`` rows of the counts tables,
# columns asnn_sim.graph.counts_schema.ENCODER_COUNTS; docs/counting.md, "The encoder's work"). Every count is
# data-independent: an encoder looks at every pixel at every step it runs.


def layernorm_sigmoid_work(n: int) -> dict[str, int]:
    """Operations of :func:`layernorm_sigmoid` on one image of ``n`` pixels.

    LayerNorm: ``n`` adds for the sum, ``n`` subtractions to centre, ``n`` squares and
    ``n`` adds for their sum, 2 scalings by ``1/n`` (mean, variance), 1 add of ``eps``, 1
    square root and 1 reciprocal, ``n`` multiplications by that reciprocal. Sigmoid
    ``1 / (1 + exp(-z))``: ``n`` exponentials, ``n`` adds and ``n`` divisions.
    Divisions count as multiplications; exponentials and the square root are ``specials``.
    """
    return {"encoder_adds": 4 * n + 1, "encoder_mults": 3 * n + 3, "encoder_specials": n + 1}


def quantize_work(n: int) -> dict[str, int]:
    """Operations of :func:`quantize_levels` on ``n`` pixels: ``x * levels + 0.5`` (a
    multiplication and an add each); the floor is a truncation, not counted."""
    return {"encoder_mults": n, "encoder_adds": n}


def _spike_step_work(spikes: str, thresholds: str, n: int, first: bool) -> dict[str, int]:
    """One spike step of a temporal or bit-plane code over ``n`` pixels; ``first``: the
    code's first step, which also prepares the values it reads (equal-mass mapping,
    quantisation)."""
    if spikes == "temporal":
        work = {"encoder_compares": n}  # the pixel's remaining value against this step's threshold
        prepare = layernorm_sigmoid_work(n) if thresholds == "equal-mass" else {}
    else:
        work = {"encoder_bits": n}  # one bit of the pixel's level (a shift and a mask)
        prepare = quantize_work(n)
    if first:
        for name, value in prepare.items():
            work[name] = work.get(name, 0) + value
    return work


def encoder_work(spec: "EncoderSpec", n_pixels: int) -> tuple[dict[str, int], ...]:
    """What ``spec``'s encoder does for one sample of ``n_pixels`` values, step by step.

    ====================  ================================================================
    encoding              per step (``n`` pixels)
    ====================  ================================================================
    ``direct``            nothing: the image is the frame
    ``rate``              ``n`` random numbers and ``n`` compares (``u < x``)
    ``temporal``          ``n`` threshold compares; step 0 also maps the image through
                          :func:`layernorm_sigmoid_work` under equal-mass thresholds
    ``binary``            ``n`` bit extractions; step 0 also quantises (:func:`quantize_work`)
    ``hybrid``            step 0 nothing (the analog image); steps 1.. as ``temporal``
    ``hybrid-binary``     step 0 nothing; steps 1.. as ``binary``
    ====================  ================================================================

    Returns
    -------
    tuple of dict
        One dict per step, mapping names of :data:`asnn_sim.graph.counts_schema.ENCODER_COUNTS` to counts (absent: 0).
    """
    n, T = int(n_pixels), spec.timesteps
    if spec.name == "direct":
        return tuple({} for _ in range(T))
    if spec.name == "rate":
        return tuple({"encoder_randoms": n, "encoder_compares": n} for _ in range(T))
    spikes = "binary" if spec.name in ("binary", "hybrid-binary") else "temporal"
    first = 1 if spec.name.startswith("hybrid") else 0
    return tuple({} if t < first else _spike_step_work(spikes, spec.thresholds, n, t == first) for t in range(T))


@dataclass(frozen=True)
class EncoderSpec:
    """Everything needed to reproduce an input encoding; stored in configs and graph files.

    Parameters
    ----------
    name : str
        One of :data:`ENCODINGS`.
    timesteps : int
        Number of frames T.
    thresholds : {"uniform", "equal-mass"}
        Temporal threshold schedule (``temporal`` and ``hybrid`` only).
    legacy : bool
        Reference last-step behaviour (``temporal`` only).
    seed : int
        Seed of the ``rate`` encoder when no generator is passed to :meth:`encode`.
    """

    name: str
    timesteps: int
    thresholds: str = "uniform"
    legacy: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.name not in ENCODINGS:
            raise ValueError(unknown_name("encoding", self.name, ENCODINGS))
        if self.thresholds not in THRESHOLD_KINDS:
            raise ValueError(unknown_name("threshold kind", self.thresholds, THRESHOLD_KINDS))
        if self.thresholds != "uniform" and self.name not in ("temporal", "hybrid"):
            raise ValueError(f"thresholds={self.thresholds!r} applies to temporal and hybrid coding only, not {self.name!r}")
        if self.legacy and self.name != "temporal":
            raise ValueError(f"legacy=True applies to temporal coding only, not {self.name!r}")
        limits = {
            "hybrid": (2, None),
            "hybrid-binary": (2, MAX_BINARY_BITS + 1),
            "binary": (1, MAX_BINARY_BITS),
        }
        low, high = limits.get(self.name, (1, None))
        _check_timesteps(self.timesteps, low, high, f" for {self.name} coding")

    @property
    def frame_kinds(self) -> tuple[str, ...]:
        """``"analog"`` or ``"binary"`` for each of the T frames."""
        if self.name == "direct":
            return ("analog",) * self.timesteps
        if self.name.startswith("hybrid"):
            return ("analog",) + ("binary",) * (self.timesteps - 1)
        return ("binary",) * self.timesteps

    def encode(
        self, x: np.ndarray, rng: np.random.Generator | None = None, sample_ids: np.ndarray | None = None
    ) -> np.ndarray:
        """Encode images ``(B, C, H, W)`` into frames ``(T, B, C, H, W)``.

        ``rng`` and ``sample_ids`` are used by the ``rate`` encoder only. Without ``rng``
        it is seeded with :attr:`seed`, so repeated calls give the same frames; with
        ``sample_ids`` each image gets its own stream (see :func:`rate`).
        """
        t = self.timesteps
        if self.name == "direct":
            return direct(x, t)
        if self.name == "rate":
            if sample_ids is not None:
                return rate(x, t, self.seed, sample_ids)
            return rate(x, t, self.seed if rng is None else rng)
        if self.name == "temporal":
            return temporal(x, t, self.thresholds, self.legacy)
        if self.name == "binary":
            return binary(x, t)
        if self.name == "hybrid":
            return hybrid(x, t, "temporal", self.thresholds)
        return hybrid(x, t, "binary")

    def to_dict(self) -> dict:
        """Plain-JSON form, inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderSpec":
        """Rebuild from :meth:`to_dict` output; unknown keys are an error."""
        unknown = set(d) - {"name", "timesteps", "thresholds", "legacy", "seed"}
        if unknown:
            raise ValueError(f"unknown encoder field(s): {', '.join(sorted(unknown))}")
        return cls(**d)
