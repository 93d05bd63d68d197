"""Training labels: the forward return over a fixed horizon, as a value or as an up/down class.

A label reads the future by design (row i looks ``horizon`` bars ahead); that is why the
walk-forward split leaves a purge gap of at least ``horizon`` rows between training and
prediction, and why the last ``horizon`` rows have no label (NaN) rather than a guessed one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from domain.errors import InvalidParameter

FloatArray = npt.NDArray[np.float64]

LabelKind = Literal["class", "value"]
LABEL_KINDS: tuple[LabelKind, ...] = ("class", "value")

MAX_HORIZON = 100_000
"""Largest horizon accepted: a guard against a typo, like the indicators' period limit."""


def check_count(value: object, field: str, minimum: int = 1) -> int:
    """Return ``value`` as an int of at least ``minimum``; InvalidParameter naming ``field``
    for bools, floats and other non-integers, and for values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameter(field, value, f"must be an int, not {type(value).__name__}")
    if int(value) < minimum:
        raise InvalidParameter(field, value, f"must be at least {minimum}")
    return int(value)


@dataclass(frozen=True)
class LabelSpec:
    """What a row's label is: the return from its close to the close ``horizon`` bars later
    (``value``), or whether that return exceeds ``threshold`` (``class``: 1.0 up, 0.0 not).

    Raises InvalidParameter for a horizon that is not an int in [1, 100000], an unknown kind,
    or a threshold that is not a finite number.
    """

    horizon: int
    kind: LabelKind
    threshold: float = 0.0

    def __post_init__(self) -> None:
        check_count(self.horizon, "horizon")
        if self.horizon > MAX_HORIZON:
            raise InvalidParameter("horizon", self.horizon, f"must be at most {MAX_HORIZON}")
        if self.kind not in LABEL_KINDS:
            raise InvalidParameter("kind", self.kind, f"must be one of {', '.join(LABEL_KINDS)}")
        threshold: object = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
            raise InvalidParameter("threshold", threshold, "must be a number")
        if not math.isfinite(float(threshold)):
            raise InvalidParameter("threshold", threshold, "must be finite")
        object.__setattr__(self, "threshold", float(threshold))

    @property
    def name(self) -> str:
        """A short stable name for reports: ``return_fwd_5`` or ``up_fwd_5``."""
        prefix = "return" if self.kind == "value" else "up"
        return f"{prefix}_fwd_{self.horizon}"


def label_array(close: FloatArray, spec: LabelSpec) -> FloatArray:
    """Row i: ``close[i + h] / close[i] - 1`` (value), or 1.0 when that exceeds the threshold
    else 0.0 (class). NaN for the last ``h`` rows, whose future is not known yet, and wherever
    either close is not a finite positive number (a return from it means nothing).

    Each label depends on exactly two closes, so the arrays are computed element by element and
    a change to any other close cannot move it. Raises InvalidParameter when ``close`` is not
    one-dimensional.
    """
    prices = np.asarray(close, dtype=np.float64)
    if prices.ndim != 1:
        raise InvalidParameter("close", prices.shape, "must be one-dimensional")
    h = spec.horizon
    out = np.full(prices.shape[0], np.nan)
    if prices.shape[0] <= h:
        return out
    now, later = prices[:-h], prices[h:]
    valid = np.isfinite(now) & np.isfinite(later) & (now > 0.0) & (later > 0.0)
    forward = np.full(now.shape[0], np.nan)
    np.divide(later, now, out=forward, where=valid)
    forward -= 1.0
    if spec.kind == "class":
        forward = np.where(valid, (forward > spec.threshold).astype(np.float64), np.nan)
    out[:-h] = forward
    return out
