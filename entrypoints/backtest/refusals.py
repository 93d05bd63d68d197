"""Pre-trade risk refusals during a backtest, counted by reason instead of logged one by one.

Live, each refused intent is a warning in the log: an operator wants to see it as it happens.
A backtest may refuse thousands of intents in a second; bare lines on stderr would bury the
run's summary, so the run counts them (``RefusalCounts``) for the metrics table, the report
and the JSON, and keeps the order manager's per-intent warning out of its output.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from application.messages import IntentRejected

REFUSAL_LOGGER = "tradeplane.execution"
"""The logger the order manager warns on when it refuses an intent."""
REFUSAL_FUNCTION = "_refuse"
"""The function that writes that warning (the logger carries other warnings too)."""


@dataclass(slots=True)
class RefusalCounts:
    """Intents refused by pre-trade risk: how many, and how many gave each reason code.

    An intent refused for two reasons counts once in ``total`` and under both reasons.
    """

    total: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    def on_rejected(self, message: IntentRejected) -> None:
        """The bus handler of ``IntentRejected``."""
        self.total += 1
        self.by_reason.update({rejection.reason.value for rejection in message.rejections})

    def ordered(self) -> list[tuple[str, int]]:
        """(reason, count), the most frequent first (ties by name, so the order is stable)."""
        return sorted(self.by_reason.items(), key=lambda item: (-item[1], item[0]))

    def as_dict(self) -> dict[str, object]:
        """For JSON: ``{"total": 3, "by_reason": {"MAX_POSITION": 3}}``."""
        return {"total": self.total, "by_reason": dict(self.ordered())}


class _CountedRefusals(logging.Filter):
    """Drops the order manager's per-intent refusal warning; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.funcName != REFUSAL_FUNCTION


@contextmanager
def refusal_warnings_counted() -> Iterator[None]:
    """While inside, refusal warnings are not logged (the run counts them instead)."""
    logger = logging.getLogger(REFUSAL_LOGGER)
    quiet = _CountedRefusals()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
