"""RFC 3339 timestamps to integer nanoseconds: nine fraction digits kept exactly, offsets applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.streaming.timestamps import rfc3339_ns


def test_nanoseconds_are_kept_exactly() -> None:
    assert rfc3339_ns("2023-02-09T20:32:50.714964855Z") == 1_675_974_770_714_964_855


def test_fewer_fraction_digits_are_padded_and_none_means_whole_seconds() -> None:
    assert rfc3339_ns("2023-02-09T20:32:50.7Z") == 1_675_974_770_700_000_000
    assert rfc3339_ns("2023-02-09T20:32:50Z") == 1_675_974_770_000_000_000


def test_more_than_nine_digits_are_cut() -> None:
    assert rfc3339_ns("2023-02-09T20:32:50.7149648559Z") == 1_675_974_770_714_964_855


def test_an_offset_is_applied() -> None:
    assert rfc3339_ns("2023-02-09T22:32:50.5+02:00") == rfc3339_ns("2023-02-09T20:32:50.5Z")
    assert rfc3339_ns("2023-02-09T18:02:50.5-02:30") == rfc3339_ns("2023-02-09T20:32:50.5Z")


def test_the_epoch_placeholder_is_zero() -> None:
    assert rfc3339_ns("1970-01-01T00:00:00Z") == 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2023-02-09",
        "2023-02-09T20:32:50",  # no zone
        "2023-13-09T20:32:50Z",
        "2023-02-30T20:32:50Z",
        "2023-04-31T00:00:00Z",
        "2023-02-09T24:00:00Z",
        "2023-02-09T20:32:50.Z",
        "1969-12-31T23:59:59Z",
        "2023-02-09T20:32:50.5Z trailing",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"timestamp|date|time of day"):
        rfc3339_ns(text)


@pytest.mark.parametrize("value", [None, 1675974770, 1.5, b"2023-02-09T20:32:50Z", ["x"]])
def test_a_non_string_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="RFC 3339 string"):
        rfc3339_ns(value)


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=0, max_value=999),
)
def test_agrees_with_datetime_to_the_nanosecond(moment: datetime, extra_ns: int) -> None:
    moment = moment.replace(tzinfo=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}{extra_ns:03d}Z"
    whole = int((moment.replace(microsecond=0) - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(seconds=1))
    assert rfc3339_ns(text) == whole * 1_000_000_000 + moment.microsecond * 1000 + extra_ns
