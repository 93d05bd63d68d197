"""Leakage check: a feature that is the label, or correlates with it almost perfectly, or whose
past rows change when the future is cut off, is refused by name; honest features pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError, InvalidParameter
from domain.ml.labels import FloatArray, LabelSpec, label_array
from domain.ml.leakage import LeakageDetected, average_ranks, check_leakage, pearson, spearman

N = 600


def prices(seed: int = 3, n: int = N) -> FloatArray:
    rng = np.random.default_rng(seed)
    return np.asarray(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n))), dtype=np.float64)


def causal_features(close: FloatArray) -> FloatArray:
    """Past 1- and 5-bar log returns and a 10-bar mean of closes: rows read only earlier bars."""
    log = np.log(close)
    back1 = np.r_[np.nan, np.diff(log)]
    back5 = np.r_[np.full(5, np.nan), log[5:] - log[:-5]]
    mean10 = np.r_[np.full(9, np.nan), np.convolve(close, np.ones(10) / 10.0, mode="valid")]
    return np.column_stack([back1, back5, mean10])


NAMES = ("return_1", "return_5", "sma_10")


def test_honest_features_pass() -> None:
    close = prices()
    features = causal_features(close)
    labels = label_array(close, LabelSpec(horizon=5, kind="value"))
    check_leakage(features, labels, NAMES, recompute=lambda m: causal_features(close[:m]))


def test_the_label_itself_is_caught_by_name() -> None:
    close = prices()
    labels = label_array(close, LabelSpec(horizon=5, kind="value"))
    features = np.column_stack([causal_features(close), labels])
    with pytest.raises(LeakageDetected) as raised:
        check_leakage(features, labels, (*NAMES, "peek"))
    assert raised.value.feature == "peek"
    assert "equals the label" in raised.value.reason
    assert isinstance(raised.value, DomainError)
    assert raised.value.code == "LEAKAGE_DETECTED"


def test_a_monotone_transform_of_the_label_is_caught() -> None:
    close = prices()
    labels = label_array(close, LabelSpec(horizon=5, kind="value"))
    # The forward log return: not equal, but ranks exactly like the label.
    log = np.log(close)
    forward_log = np.r_[log[5:] - log[:-5], np.full(5, np.nan)]
    features = np.column_stack([causal_features(close), forward_log])
    with pytest.raises(LeakageDetected, match="correlation") as raised:
        check_leakage(features, labels, (*NAMES, "forward_log"))
    assert raised.value.feature == "forward_log"


def test_a_noisy_copy_below_the_limit_passes() -> None:
    close = prices()
    labels = label_array(close, LabelSpec(horizon=5, kind="value"))
    rng = np.random.default_rng(0)
    noisy = labels + rng.normal(0.0, np.nanstd(labels), N)  # correlation about 0.7
    check_leakage(noisy[:, None], labels, ["noisy"])


def test_a_feature_that_reads_the_future_is_caught_by_recompute() -> None:
    close = prices()

    def with_centered_mean(history: FloatArray) -> FloatArray:
        # A centered 5-bar mean: row i averages closes i-2 .. i+2, two bars of future.
        centered = np.full(history.shape[0], np.nan)
        centered[2:-2] = np.convolve(history, np.ones(5) / 5.0, mode="valid")
        return np.column_stack([causal_features(history), centered])

    labels = label_array(close, LabelSpec(horizon=5, kind="value"))
    features = with_centered_mean(close)
    check_leakage(features, labels, (*NAMES, "centered"))  # not correlated enough to show
    with pytest.raises(LeakageDetected, match="changes when the history is cut") as raised:
        check_leakage(
            features, labels, (*NAMES, "centered"), recompute=lambda m: with_centered_mean(close[:m])
        )
    assert raised.value.feature == "centered"


def test_a_feature_normalized_over_the_whole_history_is_caught() -> None:
    close = prices()
    labels = label_array(close, LabelSpec(horizon=5, kind="value"))

    def zscored(history: FloatArray) -> FloatArray:
        return np.asarray((history - history.mean()) / history.std(), dtype=np.float64)[:, None]

    with pytest.raises(LeakageDetected) as raised:
        check_leakage(zscored(close), labels, ["zscore"], recompute=lambda m: zscored(close[:m]))
    assert raised.value.feature == "zscore"


def test_shapes_are_checked() -> None:
    labels = np.zeros(5)
    with pytest.raises(InvalidParameter):
        check_leakage(np.zeros(5), labels, ["a"])
    with pytest.raises(InvalidParameter):
        check_leakage(np.zeros((5, 1)), np.zeros(4), ["a"])
    with pytest.raises(InvalidParameter):
        check_leakage(np.zeros((5, 1)), labels, ["a", "b"])
    with pytest.raises(InvalidParameter, match="recompute"):
        check_leakage(np.ones((8, 1)), np.arange(8.0), ["a"], recompute=lambda m: np.ones((m + 1, 1)))


def test_correlations_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert pearson(x, 2.0 * x + 1.0) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)
    assert math.isnan(pearson(x, np.ones(4)))
    # y = x³ is monotone: Spearman 1, Pearson below.
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert pearson(x, x**3) < 0.99
    np.testing.assert_array_equal(average_ranks(np.array([10.0, 30.0, 20.0, 30.0])), [1.0, 3.5, 2.0, 3.5])


@given(st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=40))
def test_average_ranks_match_counting(values: list[float]) -> None:
    ranks = average_ranks(np.array(values))
    for value, rank in zip(values, ranks, strict=True):
        below = sum(other < value for other in values)
        equal = sum(other == value for other in values)
        assert rank == below + (equal + 1) / 2.0


@given(
    labels=st.lists(st.floats(-0.5, 0.5) | st.just(math.nan), min_size=1, max_size=80),
    scale=st.floats(0.1, 10.0),
    shift=st.floats(-1.0, 1.0),
)
def test_a_copy_or_rescaling_of_the_label_is_caught(labels: list[float], scale: float, shift: float) -> None:
    y = np.array(labels)
    known = np.isfinite(y)
    if not known.any():
        return
    honest = np.arange(y.shape[0], dtype=np.float64) % 3  # a harmless column after it
    with pytest.raises(LeakageDetected) as raised:
        check_leakage(np.column_stack([y, honest]), y, ["copy", "honest"])
    assert raised.value.feature == "copy"
    # An increasing affine transform: caught once there are enough rows to trust a correlation
    # (and the transform keeps the values apart, so the order is the label's).
    scaled = y * scale + shift
    if known.sum() >= 10 and np.unique(scaled[known]).shape[0] == np.unique(y[known]).shape[0] > 1:
        with pytest.raises(LeakageDetected) as raised:
            check_leakage(np.column_stack([scaled, honest]), y, ["scaled", "honest"])
        assert raised.value.feature == "scaled"
