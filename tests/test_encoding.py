"""Each encoder's defining property, checked on random images (hypothesis) and by hand."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from asnn_sim.graph import encoding
from asnn_sim.graph.encoding import (
    EncoderSpec,
    binary,
    decode_binary,
    decode_temporal,
    direct,
    hybrid,
    layernorm_sigmoid,
    quantize_levels,
    rate,
    temporal,
    temporal_thresholds,
)

DTYPES = st.sampled_from([np.float32, np.float64])


@st.composite
def images(draw, max_side=5):
    """Random (B, C, H, W) images in [0, 1], with exact 0s and 1s mixed in."""
    shape = (
        draw(st.integers(1, 3)),
        draw(st.integers(1, 3)),
        draw(st.integers(1, max_side)),
        draw(st.integers(1, max_side)),
    )
    dtype = draw(DTYPES)
    values = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, width=32))
    return draw(arrays(dtype, shape, elements=values))


def first_spike_step(frames: np.ndarray) -> np.ndarray:
    """Index of each pixel's first spike, or T for pixels that never fire."""
    fired = frames.any(axis=0)
    return np.where(fired, frames.argmax(axis=0), frames.shape[0])


# ---------------------------------------------------------------- direct and rate


@given(images(), st.integers(1, 6))
def test_direct_repeats_the_image(x, t):
    frames = direct(x, t)
    assert frames.shape == (t,) + x.shape and frames.dtype == x.dtype
    assert all(np.array_equal(f, x) for f in frames)


@given(images(), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_rate_is_binary_seeded_and_respects_extremes(x, t, seed):
    frames = rate(x, t, seed)
    assert frames.dtype == x.dtype
    assert set(np.unique(frames)) <= {0.0, 1.0}
    assert np.array_equal(frames, rate(x, t, seed))
    assert not frames[:, x == 0].any()
    assert frames[:, x == 1].all()


def test_rate_firing_probability_matches_intensity():
    x = np.linspace(0, 1, 11, dtype=np.float64).reshape(1, 1, 1, 11)
    frames = rate(x, 20000, np.random.default_rng(1))
    # Binomial std at n=20000 is at most 0.0036; 5 sigma.
    np.testing.assert_allclose(frames.mean(axis=0)[0, 0, 0], x[0, 0, 0], atol=0.018)


# ---------------------------------------------------------------- temporal


@given(images(), st.integers(1, 12), st.sampled_from(["uniform", "equal-mass"]))
def test_temporal_one_spike_at_most_and_brighter_first(x, t, kind):
    frames = temporal(x, t, kind)
    assert frames.shape == (t,) + x.shape
    assert set(np.unique(frames)) <= {0.0, 1.0}
    assert frames.sum(axis=0).max(initial=0) <= 1
    source = layernorm_sigmoid(x) if kind == "equal-mass" else x
    when = first_spike_step(frames).ravel()
    value = source.ravel()
    order = np.argsort(value, kind="stable")
    # Sorted by value ascending, spike times must be non-increasing.
    assert np.all(np.diff(when[order]) <= 0)


@given(images(), st.integers(1, 12))
def test_temporal_zero_pixels_never_fire(x, t):
    assert not temporal(x, t)[:, x == 0].any()


@given(images(), st.integers(1, 12))
def test_temporal_reconstructs_the_uniform_quantisation(x, t):
    decoded = decode_temporal(temporal(x, t), "uniform")
    # Independent statement of the quantiser: floor(T*x)/T, with x=1 in the top bin.
    # Compared in float64 away from bin edges, where float rounding may pick either bin.
    x64 = x.astype(np.float64)
    expected = np.minimum(np.floor(t * x64), t - 1) / t
    away_from_edges = np.abs(t * x64 - np.round(t * x64)) > 1e-4
    np.testing.assert_array_equal(decoded[away_from_edges], expected[away_from_edges].astype(x.dtype))
    # Everywhere: decoded value is a lower bound within one bin.
    assert np.all(decoded <= x + 1e-6) and np.all(x - decoded <= 1.0 / t + 1e-6)


@given(images(), st.integers(1, 12))
def test_temporal_equal_mass_reconstructs_thresholds(x, t):
    frames = temporal(x, t, "equal-mass")
    decoded = decode_temporal(frames, "equal-mass")
    theta = temporal_thresholds(t, "equal-mass")
    y = layernorm_sigmoid(x).astype(np.float64)
    fired = frames.any(axis=0)
    # A pixel decodes to the largest threshold it reaches: theta[i] <= y < theta[i-1].
    upper = np.concatenate([[np.inf], theta])[first_spike_step(frames)]
    assert np.all(decoded[fired] <= y[fired] + 1e-6)
    assert np.all(y[fired] < upper[fired] + 1e-6)


def test_uniform_thresholds_match_reference_schedule():
    np.testing.assert_allclose(temporal_thresholds(4), [0.75, 0.5, 0.25, 0.0])


@pytest.mark.parametrize("t", [2, 4, 7])
def test_equal_mass_thresholds_split_sigmoid_normal_evenly(t):
    theta = temporal_thresholds(t, "equal-mass")
    assert np.all(np.diff(theta) < 0) and theta[-1] == 0
    y = 1 / (1 + np.exp(-np.random.default_rng(0).standard_normal(1_000_000)))
    edges = np.concatenate([[np.inf], theta])
    share = [np.mean((y >= edges[i + 1]) & (y < edges[i])) for i in range(t)]
    np.testing.assert_allclose(share, 1.0 / t, atol=0.003)


def test_temporal_hand_case():
    x = np.array([1.0, 0.8, 0.5, 0.26, 0.1, 0.0], dtype=np.float32).reshape(1, 1, 1, 6)
    steps = first_spike_step(temporal(x, 4))[0, 0, 0]
    assert steps.tolist() == [0, 0, 1, 2, 3, 4]  # 4 = never


@given(images(), st.integers(1, 8))
def test_temporal_legacy_fires_everything_on_the_last_step(x, t):
    ours = temporal(x, t)
    legacy = temporal(x, t, legacy=True)
    np.testing.assert_array_equal(legacy[:-1], ours[:-1])
    assert legacy[-1].all()


# ---------------------------------------------------------------- binary


@given(images(), st.integers(1, 12))
def test_binary_reconstructs_quantised_image_exactly(x, t):
    frames = binary(x, t)
    assert set(np.unique(frames)) <= {0.0, 1.0}
    level = quantize_levels(x, t)
    # Integer reconstruction: the bit planes are the level's binary digits, MSB first.
    powers = 2 ** np.arange(t - 1, -1, -1)
    rebuilt = np.tensordot(powers, frames.astype(np.int64), axes=(0, 0))
    np.testing.assert_array_equal(rebuilt, level)
    levels = 2**t - 1
    assert np.all(np.abs(x.astype(np.float64) - level / levels) <= 0.5 / levels + 1e-7)
    np.testing.assert_allclose(decode_binary(frames), level / levels, rtol=1e-6, atol=1e-7)


def test_binary_hand_case_msb_first():
    x = np.array([6 / 7, 1 / 7, 1.0, 0.0]).reshape(1, 1, 1, 4)  # levels 6, 1, 7, 0 of 7
    frames = binary(x, 3)[:, 0, 0, 0]
    assert frames.T.tolist() == [[1, 1, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]]


# ---------------------------------------------------------------- hybrid


@given(images(), st.integers(2, 10))
def test_hybrid_is_analog_then_first_temporal_frames(x, t):
    frames = hybrid(x, t)
    assert frames.shape == (t,) + x.shape
    np.testing.assert_array_equal(frames[0], x)
    np.testing.assert_array_equal(frames[1:], temporal(x, t)[:-1])
    assert frames[1:].sum(axis=0).max(initial=0) <= 1


@given(images(), st.integers(2, 10))
def test_hybrid_binary_is_analog_then_bit_planes(x, t):
    frames = hybrid(x, t, spikes="binary")
    np.testing.assert_array_equal(frames[0], x)
    np.testing.assert_array_equal(frames[1:], binary(x, t - 1))


def test_hybrid_equal_mass_uses_normalised_spikes_but_raw_analog():
    x = np.random.default_rng(0).random((2, 1, 4, 4))
    frames = hybrid(x, 5, thresholds="equal-mass")
    np.testing.assert_array_equal(frames[0], x)
    np.testing.assert_array_equal(frames[1:], temporal(x, 5, "equal-mass")[:-1])


# ---------------------------------------------------------------- spec and errors


@pytest.mark.parametrize("name", encoding.ENCODINGS)
def test_spec_encodes_with_declared_frame_kinds(name):
    spec = EncoderSpec(name, timesteps=4)
    x = np.random.default_rng(0).random((2, 1, 3, 3)).astype(np.float32)
    frames = spec.encode(x)
    assert frames.shape == (4, 2, 1, 3, 3) and frames.dtype == np.float32
    for kind, frame in zip(spec.frame_kinds, frames):
        if kind == "binary":
            assert set(np.unique(frame)) <= {0.0, 1.0}
        else:
            np.testing.assert_array_equal(frame, x)
    assert EncoderSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full((1, 1, 2, 2), np.nan), "NaN"),
        (np.full((1, 1, 2, 2), 1.5), r"\[0, 1\]"),
        (np.full((1, 1, 2, 2), -0.1), r"\[0, 1\]"),
        (np.zeros((2, 2)), r"\(B, C, H, W\)"),
    ],
)
@pytest.mark.parametrize("name", encoding.ENCODINGS)
def test_bad_images_raise(name, bad, message):
    with pytest.raises(ValueError, match=message):
        EncoderSpec(name, timesteps=3).encode(bad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="direct", timesteps=0), "timesteps must be >= 1"),
        (dict(name="temporal", timesteps=-2), "timesteps must be >= 1"),
        (dict(name="hybrid", timesteps=1), "timesteps must be >= 2"),
        (dict(name="hybrid-binary", timesteps=1), "timesteps must be >= 2"),
        (dict(name="binary", timesteps=17), "<= 16"),
        (dict(name="direct", timesteps=2.5), "integer"),
        (dict(name="morse", timesteps=4), "unknown encoding"),
        (dict(name="direct", timesteps=4, legacy=True), "temporal coding only"),
        (dict(name="rate", timesteps=4, thresholds="equal-mass"), "temporal and hybrid"),
        (dict(name="temporal", timesteps=4, thresholds="log"), "unknown threshold kind"),
    ],
)
def test_bad_specs_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EncoderSpec(**kwargs)


def test_unknown_spec_field_is_rejected():
    with pytest.raises(ValueError, match="unknown encoder field"):
        EncoderSpec.from_dict({"name": "direct", "timesteps": 2, "gain": 3})


@settings(max_examples=25)
@given(images())
def test_layernorm_sigmoid_is_in_open_unit_interval_and_matches_torch(x):
    import torch

    y = layernorm_sigmoid(x)
    assert y.dtype == x.dtype and np.all((y > 0) & (y < 1))
    ref = torch.sigmoid(torch.nn.functional.layer_norm(torch.from_numpy(x), x.shape[1:], eps=1e-5))
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-6)


def test_layernorm_sigmoid_of_a_constant_float32_image_is_one_half():
    # found by the property test above: float32 statistics left a tiny variance
    x = np.full((1, 1, 3, 4), 0.963098, np.float32)
    assert (layernorm_sigmoid(x) == np.float32(0.5)).all()


@given(images(), st.integers(1, 5), st.integers(0, 1000))
def test_rate_per_sample_streams_do_not_depend_on_the_batch(x, t, seed):
    ids = np.arange(len(x)) + 7
    whole = rate(x, t, seed, sample_ids=ids)
    parts = np.concatenate([rate(x[i : i + 1], t, seed, sample_ids=ids[i : i + 1]) for i in range(len(x))], axis=1)
    np.testing.assert_array_equal(whole, parts)
    assert not whole[:, x == 0].any() and whole[:, x == 1].all()
    spec = EncoderSpec("rate", t, seed=seed)
    np.testing.assert_array_equal(spec.encode(x, sample_ids=ids), whole)


def test_rate_spikes_do_not_depend_on_the_image_dtype():
    x = (np.arange(64).reshape(1, 1, 8, 8) / 64).astype(np.float64)
    a = rate(x, 6, 11, sample_ids=np.array([5]))
    b = rate(x.astype(np.float32), 6, 11, sample_ids=np.array([5]))
    np.testing.assert_array_equal(a, b)
