"""Error classification: refusal, unknown outcome, rate limit, clock skew, no such order."""

from __future__ import annotations

import pytest

from adapters.brokers.binance.errors import Outcome, TransportError, VenueError, classify, redact


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (400, -2010, Outcome.REFUSED),
        (400, -1013, Outcome.REFUSED),
        (400, -1121, Outcome.REFUSED),
        (400, -1102, Outcome.REFUSED),
        (400, -1111, Outcome.REFUSED),
        (400, -2011, Outcome.REFUSED),
        (401, -2015, Outcome.REFUSED),
        (403, None, Outcome.REFUSED),
        (500, None, Outcome.UNKNOWN),
        (503, -1008, Outcome.UNKNOWN),
        (504, None, Outcome.UNKNOWN),
        (408, -1007, Outcome.UNKNOWN),
        (400, -1006, Outcome.UNKNOWN),
        (408, None, Outcome.UNKNOWN),
        (429, -1003, Outcome.RATE_LIMITED),
        (418, -1003, Outcome.RATE_LIMITED),
        (400, -1015, Outcome.RATE_LIMITED),
        (400, -1021, Outcome.CLOCK_SKEW),
        (400, -2013, Outcome.NO_SUCH_ORDER),
    ],
)
def test_each_answer_falls_in_one_class(status: int, code: int | None, outcome: Outcome) -> None:
    assert classify(status, code) is outcome


def test_a_refusal_reads_as_the_venue_reason() -> None:
    error = VenueError(
        "POST /api/v3/order", 400, -2010, "Account has insufficient balance for requested action."
    )

    assert error.outcome is Outcome.REFUSED
    assert error.reason == "venue refused (-2010): Account has insufficient balance for requested action."
    assert "POST /api/v3/order" in str(error)


def test_a_refusal_without_code_names_the_http_status() -> None:
    assert VenueError("GET /x", 403, None, "blocked").reason == "venue refused (HTTP 403): blocked"


def test_a_transport_error_is_an_unknown_outcome_and_hides_a_signature() -> None:
    error = TransportError(
        "POST /api/v3/order", "ReadTimeout: https://x/api/v3/order?a=1&signature=abcdef012345"
    )

    assert error.outcome is Outcome.UNKNOWN
    assert "abcdef012345" not in str(error)
    assert "signature=<redacted>" in str(error)


def test_redact_removes_the_secrets_given_and_cuts_long_text() -> None:
    text = redact("key SECRETVALUE and " + "x" * 1000, "SECRETVALUE")

    assert "SECRETVALUE" not in text
    assert len(text) < 400
