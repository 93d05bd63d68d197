"""Labels: forward returns by hand, the class threshold, NaN tails, and that label i reads only
close[i] and close[i + h]."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidParameter
from domain.ml.labels import LabelSpec, label_array

CLOSE = np.array([100.0, 110.0, 99.0, 99.0, 120.0])


def test_value_by_hand() -> None:
    labels = label_array(CLOSE, LabelSpec(horizon=2, kind="value"))
    # 99/100 - 1, 99/110 - 1, 120/99 - 1, then two unknown.
    expected = [99 / 100 - 1, 99 / 110 - 1, 120 / 99 - 1, math.nan, math.nan]
    np.testing.assert_array_equal(labels, expected)
    assert labels[0] == pytest.approx(-0.01)


def test_class_by_hand_with_threshold() -> None:
    labels = label_array(CLOSE, LabelSpec(horizon=1, kind="class"))
    # Returns: +10%, -10%, 0%, +21.2%: only strict rises are class 1.
    np.testing.assert_array_equal(labels, [1.0, 0.0, 0.0, 1.0, math.nan])
    above = label_array(CLOSE, LabelSpec(horizon=1, kind="class", threshold=0.15))
    np.testing.assert_array_equal(above, [0.0, 0.0, 0.0, 1.0, math.nan])
    below = label_array(CLOSE, LabelSpec(horizon=1, kind="class", threshold=-0.05))
    np.testing.assert_array_equal(below, [1.0, 0.0, 1.0, 1.0, math.nan])


def test_history_no_longer_than_the_horizon_has_no_labels() -> None:
    for size in range(4):
        labels = label_array(CLOSE[:size], LabelSpec(horizon=3, kind="value"))
        assert labels.shape == (size,)
        assert np.isnan(labels).all()


def test_non_positive_or_missing_closes_give_no_label() -> None:
    close = np.array([100.0, 0.0, math.nan, 101.0, 102.0, 103.0])
    labels = label_array(close, LabelSpec(horizon=2, kind="class"))
    # Row 0 reads the NaN at 2, row 1 starts at zero, row 2 is NaN; row 3 is fine.
    np.testing.assert_array_equal(labels, [math.nan, math.nan, math.nan, 1.0, math.nan, math.nan])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"horizon": 0, "kind": "value"}, "horizon"),
        ({"horizon": -3, "kind": "value"}, "horizon"),
        ({"horizon": 2.0, "kind": "value"}, "horizon"),
        ({"horizon": True, "kind": "value"}, "horizon"),
        ({"horizon": 100_001, "kind": "value"}, "horizon"),
        ({"horizon": 1, "kind": "regression"}, "kind"),
        ({"horizon": 1, "kind": "class", "threshold": math.nan}, "threshold"),
        ({"horizon": 1, "kind": "class", "threshold": "0.1"}, "threshold"),
    ],
)
def test_invalid_spec(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        LabelSpec(**kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_two_dimensional_close_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="one-dimensional"):
        label_array(np.ones((3, 2)), LabelSpec(horizon=1, kind="value"))


def test_names() -> None:
    assert LabelSpec(horizon=5, kind="value").name == "return_fwd_5"
    assert LabelSpec(horizon=3, kind="class").name == "up_fwd_3"


prices = st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=2, max_size=60)


@given(
    close=prices,
    horizon=st.integers(1, 10),
    kind=st.sampled_from(["class", "value"]),
    threshold=st.floats(-0.5, 0.5),
    data=st.data(),
)
def test_label_reads_only_its_two_closes(
    close: list[float], horizon: int, kind: str, threshold: float, data: st.DataObject
) -> None:
    spec = LabelSpec(horizon=horizon, kind=kind, threshold=threshold)  # type: ignore[arg-type]
    base = np.array(close)
    labels = label_array(base, spec)
    n = base.shape[0]
    assert np.isnan(labels[max(0, n - horizon) :]).all()
    # Change one close: only the labels of rows j and j - h may move.
    j = data.draw(st.integers(0, n - 1))
    changed = base.copy()
    changed[j] = data.draw(st.floats(min_value=1.0, max_value=1e6))
    moved = label_array(changed, spec)
    for i in range(n):
        if i not in {j, j - horizon}:
            np.testing.assert_array_equal(moved[i], labels[i])
    for i in range(n - horizon):
        forward = base[i + horizon] / base[i] - 1.0
        expected = forward if kind == "value" else float(forward > threshold)
        assert labels[i] == expected
