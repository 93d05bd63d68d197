"""Logging: one line per event worth knowing, as text or JSON; secrets are never formatted in.

Times are UTC everywhere. Text lines carry the time of day like the status lines
(``11:23:24 WARNING tradeplane.execution: ...``); the date is told once, on a line of its own,
and again when it changes. JSON mode writes one object per line on stdout for every log
record, status line, summary and start line, so a collector reads a single stream.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import TextIO

from application.bus import HandlerFailure
from domain.values import plain
from entrypoints.config import LoggingSettings

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

FORMATS = LoggingSettings.FORMATS

QUIET_LIBRARIES = (
    "alembic",
    "sqlalchemy",
    "aiohttp.access",
    "websockets.server",
    "websockets.client",
    "httpx",
)
"""Libraries that log routine work at INFO (each migration step, each request, each connection):
kept at WARNING unless the level is DEBUG."""


def clock(epoch_s: float) -> str:
    """The time of day in UTC, to the second: the one time style of logs and status lines."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch_s))


class DayMarker:
    """Remembers the last UTC date told, so that logs and status lines sharing a terminal
    print it once at start and again after midnight, not on every line."""

    def __init__(self) -> None:
        self._told: str | None = None
        self._lock = threading.Lock()

    def new_day(self, epoch_s: float) -> str | None:
        """``2026-12-06 (UTC)`` the first time a date is seen, else None."""
        day = time.strftime("%Y-%m-%d", time.gmtime(epoch_s))
        with self._lock:
            if day == self._told:
                return None
            self._told = day
        return f"{day} (UTC)"


DAYS = DayMarker()
"""The terminal's one marker: shared by the text log lines and the status lines."""


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message`` in UTC, after a date line when the day is new;
    ``extra=`` fields are left to the JSON formatter."""

    def __init__(self, days: DayMarker = DAYS) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self._days = days

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return clock(record.created)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        day = self._days.new_day(record.created)
        return line if day is None else f"{day}\n{line}"


def _json_value(value: object) -> object:
    """Decimals as exact strings without exponent (money stays exact); anything else as text."""
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else str(value)
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=_json_value)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Text logs go to stderr (stdout is for status lines); JSON records go to stdout with the
    status records. Call once from an entry point."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)} (was {fmt!r})")
    handler = logging.StreamHandler(sys.stdout if fmt == "json" else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    debugging = root.level <= logging.DEBUG
    for name in QUIET_LIBRARIES:  # their INFO lines drown the engine's; DEBUG brings them back
        logging.getLogger(name).setLevel(logging.NOTSET if debugging else max(logging.WARNING, root.level))


def _emit(logger: str, level: int, msg: str, fields: Mapping[str, object]) -> None:
    """A record handed straight to the handlers: an operator's own lines show at any log level."""
    target = logging.getLogger(logger)
    target.handle(target.makeRecord(target.name, level, "(console)", 0, msg, (), None, extra=dict(fields)))


class Console:
    """The lines a command always shows (start lines, status lines, the summary, fatal errors):
    plain text on stdout/stderr, or in JSON mode records among the logs whatever their level."""

    def __init__(self, fmt: str = "text", out: TextIO | None = None, days: DayMarker = DAYS) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)} (was {fmt!r})")
        self.json = fmt == "json"
        self._out = out
        self._days = days

    def say(self, text: str, logger: str = "tradeplane.run", **fields: object) -> None:
        """A start line: ``fields`` are what a JSON reader would otherwise parse out of ``text``."""
        if self.json:
            _emit(logger, logging.INFO, text, fields)
        else:
            print(text, file=self._out or sys.stdout, flush=True)

    def error(self, text: str, logger: str = "tradeplane.run") -> None:
        """A reason the command stops: on stderr as text, an ERROR record as JSON."""
        if self.json:
            _emit(logger, logging.ERROR, text, {})
        else:
            print(text, file=sys.stderr, flush=True)

    def record(self, text: str, kind: str, fields: Mapping[str, object], now: float) -> None:
        """A status line or the summary (``kind``): ``text`` in text mode, after the date if it is
        new; a ``tradeplane.status`` record of ``fields`` in JSON mode."""
        if self.json:
            _emit("tradeplane.status", logging.INFO, kind, fields)
            return
        day = self._days.new_day(now)
        out = self._out or sys.stdout
        if day is not None:
            print(day, file=out)
        print(text, file=out, flush=True)


def log_handler_failure(failure: HandlerFailure, error: BaseException) -> None:
    logging.getLogger("tradeplane.bus").error(
        "handler %s failed on %s: %s", failure.handler, failure.message_type, failure.error, exc_info=error
    )
