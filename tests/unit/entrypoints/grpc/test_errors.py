"""Errors echo at most a short, escaped excerpt of what the client sent, whatever it sent."""

from __future__ import annotations

import grpc
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.grpc.errors import MAX_ECHO, ApiError, echo, invalid, precondition


def test_a_long_value_is_echoed_cut_with_an_ellipsis() -> None:
    assert echo("x" * 10_000) == repr("x" * MAX_ECHO + "…")
    assert echo("short") == "'short'"
    assert echo("a\nb") == "'a\\nb'"


@given(st.text(max_size=5000), st.text(max_size=5000))
def test_no_error_carries_a_long_or_unprintable_message(field: str, value: str) -> None:
    for error in (
        invalid(field, f"is wrong (was {value})"),
        precondition(value, "REASON"),
        ApiError(grpc.StatusCode.NOT_FOUND, value, field=field),
    ):
        assert len(error.message) <= 700
        assert error.message.isprintable()
        assert error.field is None or (len(error.field) <= 130 and error.field.isprintable())
        assert all(len(text) <= 700 and text.isprintable() for _, text in error.violations)


@given(st.text(max_size=200))
def test_an_echo_is_short_and_printable(value: str) -> None:
    shown = echo(value)
    assert len(shown) <= 10 * (MAX_ECHO + 1) + 2  # an escape is at most 10 characters
    assert shown.isprintable()
