"""Logging: one line per event worth knowing, as text or JSON; secrets are never formatted in."""

from __future__ import annotations

import json
import logging
import sys
import time

from application.bus import HandlerFailure

_STANDARD = set(vars(logging.makeLogRecord({})))

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
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send logs to stderr (stdout is for status lines); call once from an entry point."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    debugging = root.level <= logging.DEBUG
    for name in QUIET_LIBRARIES:  # their INFO lines drown the engine's; DEBUG brings them back
        logging.getLogger(name).setLevel(logging.NOTSET if debugging else max(logging.WARNING, root.level))


def log_handler_failure(failure: HandlerFailure, error: BaseException) -> None:
    logging.getLogger("tradeplane.bus").error(
        "handler %s failed on %s: %s", failure.handler, failure.message_type, failure.error, exc_info=error
    )
