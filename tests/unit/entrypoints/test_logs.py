"""Logging: the engine's own lines at the level asked for; libraries' chatter only when debugging."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.logs import Console, DayMarker, JsonFormatter, TextFormatter, configure_logging

LIBRARIES = ("alembic", "sqlalchemy", "aiohttp.access", "websockets.server", "httpx")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARIES}
    yield
    root.handlers[:], root.level = handlers, level
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.parametrize(
    "name", ["alembic", "alembic.runtime.migration", "sqlalchemy.engine", "aiohttp.access"]
)
@pytest.mark.parametrize("level", ["INFO", "info", "WARNING"])
def test_libraries_keep_quiet_below_warning_at_the_usual_levels(name: str, level: str) -> None:
    configure_logging(level)
    library = logging.getLogger(name)
    assert not library.isEnabledFor(logging.INFO)
    assert library.isEnabledFor(logging.WARNING)
    assert logging.getLogger("tradeplane.run").isEnabledFor(logging.getLevelName(level.upper()))


def test_websockets_server_and_httpx_keep_quiet_too() -> None:
    configure_logging("INFO")
    for name in ("websockets.server", "httpx"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)


def test_at_debug_everything_speaks() -> None:
    configure_logging("DEBUG")
    for name in LIBRARIES:
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG)


def test_an_error_level_keeps_libraries_at_error_too() -> None:
    configure_logging("ERROR")
    assert not logging.getLogger("alembic").isEnabledFor(logging.WARNING)


def _record(
    when: str, msg: str = "order refused", level: int = logging.WARNING, **extra: object
) -> logging.LogRecord:
    """A record made at ``when`` (UTC, ``YYYY-MM-DD HH:MM:SS.fff``)."""
    moment = datetime.strptime(when, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    record = logging.LogRecord("tradeplane.execution", level, __file__, 1, msg, (), None)
    record.created, record.msecs = moment, (moment % 1) * 1000
    record.__dict__.update(extra)
    return record


def test_text_lines_carry_the_time_of_day_in_utc_and_the_date_once_then_at_midnight() -> None:
    formatter = TextFormatter(DayMarker())
    lines = [
        formatter.format(_record("2026-12-06 11:23:24.098", client_order_id="TP-1")),
        formatter.format(_record("2026-12-06 23:59:59.900", "still open", logging.INFO)),
        formatter.format(_record("2026-12-07 00:00:01.000", "a new day", logging.INFO)),
    ]
    assert "\n".join(lines).splitlines() == [
        "2026-12-06 (UTC)",
        "11:23:24 WARNING tradeplane.execution: order refused",
        "23:59:59 INFO    tradeplane.execution: still open",
        "2026-12-07 (UTC)",
        "00:00:01 INFO    tradeplane.execution: a new day",
    ]


def test_the_date_is_told_once_for_logs_and_status_lines_together() -> None:
    days = DayMarker()
    moment = datetime(2026, 12, 6, 11, 23, 24, tzinfo=UTC).timestamp()
    assert days.new_day(moment) == "2026-12-06 (UTC)"
    assert days.new_day(moment + 60) is None
    assert TextFormatter(days).format(_record("2026-12-06 11:25:00.000")).count("\n") == 0


def test_a_text_line_shows_the_traceback_of_an_exception() -> None:
    try:
        raise ValueError("bad quantity")
    except ValueError:
        record = _record("2026-12-06 11:23:24.000")
        record.exc_info = sys.exc_info()
    text = TextFormatter(DayMarker()).format(record)
    assert text.splitlines()[1] == "11:23:24 WARNING tradeplane.execution: order refused"
    assert "ValueError: bad quantity" in text


def test_a_json_line_carries_the_extra_fields_with_exact_decimals() -> None:
    record = _record(
        "2026-12-06 11:23:24.098",
        "fill X-1 of TP-1",
        logging.INFO,
        instrument="BTCUSDT.BINANCE",
        client_order_id="TP-1",
        price=Decimal("29999.90"),
        fee=Decimal("1E-8"),
    )
    assert json.loads(JsonFormatter().format(record)) == {
        "ts": "2026-12-06T11:23:24.098Z",
        "level": "INFO",
        "logger": "tradeplane.execution",
        "msg": "fill X-1 of TP-1",
        "instrument": "BTCUSDT.BINANCE",
        "client_order_id": "TP-1",
        "price": "29999.9",
        "fee": "0.00000001",
    }


def test_configure_logging_picks_the_formatter_and_json_goes_to_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    logging.getLogger("tradeplane.run").info("started", extra={"reason": "test"})
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out)["reason"] == "test"
    configure_logging("INFO", "text")
    logging.getLogger("tradeplane.run").info("started", extra={"reason": "test"})
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].endswith(" INFO    tradeplane.run: started")


def test_console_lines_are_plain_text_or_json_records_whatever_the_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("ERROR", "text")
    Console("text").say("storage: state kept in /tmp/x/")
    assert capsys.readouterr().out == "storage: state kept in /tmp/x/\n"
    configure_logging("ERROR", "json")
    Console("json").say("storage: state kept in /tmp/x/", storage="/tmp/x/")
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"], record["msg"], record["storage"]) == (
        "INFO",
        "tradeplane.run",
        "storage: state kept in /tmp/x/",
        "/tmp/x/",
    )


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_every_decimal_field_round_trips_exactly_through_json(value: Decimal) -> None:
    record = _record("2026-12-06 11:23:24.000", price=value)
    assert Decimal(json.loads(JsonFormatter().format(record))["price"]) == value
