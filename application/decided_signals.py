"""Execution's side of a separate strategy worker: each decided signal traded once.

A strategy worker may decide the same signal twice: its market event redelivered after a crash,
or replayed by the worker that took its shard over. Both copies carry the same key, and the
client order id derives from the key, so the order manager's idempotency on the client order id
(which asks the trades store for orders of earlier runs) makes them one order. The signal is
stored with its key, in the transaction of its order when it makes one, so a copy of a signal
that made no order is recognised too, across restarts (``SignalRepository.has_key``); a window
of recent keys answers the common case without asking the store.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal

from application.messages import SignalDecided
from application.strategy_engine import UnknownStrategy
from domain.identifiers import ClientOrderId
from domain.orders import Order
from domain.signals import Signal

log = logging.getLogger("tradeplane.execution")

RECENT_KEYS = 100_000


def client_order_id_for(key: str, prefix: str) -> ClientOrderId:
    """A client order id that is a function of ``key`` alone: ``{prefix}-`` and 16 base-32
    characters of its BLAKE2b digest (80 bits; within every venue's length limit)."""
    digest = hashlib.blake2b(key.encode(), digest_size=10).digest()
    return ClientOrderId(f"{prefix}-{base64.b32encode(digest).decode().lower()}")


class DecidedSignals:
    """Trades ``SignalDecided`` messages through the strategy engine, each key once."""

    __slots__ = (
        "_find_order",
        "_max_age_ns",
        "_now_ns",
        "_prefix",
        "_recent",
        "_recent_cap",
        "_stored",
        "_trade",
        "duplicates",
        "stale",
        "traded",
        "unknown",
    )

    def __init__(
        self,
        *,
        trade: Callable[[Signal, Decimal, ClientOrderId | None, str | None, str], None],
        find_order: Callable[[ClientOrderId], Order | None],
        stored: Callable[[str], bool],
        order_id_prefix: str,
        recent: int = RECENT_KEYS,
        now_ns: Callable[[], int] | None = None,
        max_age_ns: int = 0,
    ) -> None:
        """``trade`` is ``StrategyEngine.trade_signal``; ``find_order`` the order manager's
        ``find`` (this session's orders, then the trades store's); ``stored`` the signals
        store's ``has_key``. With ``max_age_ns``, a signal decided on a market event older than
        that by ``now_ns`` (execution's clock) is stored but not traded: after execution was away,
        the backlog of decisions describes a market that has moved on."""
        if recent < 1:
            raise ValueError("recent must be positive")
        self._trade = trade
        self._find_order = find_order
        self._stored = stored
        self._prefix = order_id_prefix
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_cap = recent
        self.traded = 0
        self.duplicates = 0
        self.unknown = 0
        self.stale = 0
        self._now_ns = now_ns
        self._max_age_ns = max_age_ns

    def on_decided(self, decision: SignalDecided) -> None:
        """Trade ``decision`` unless its key was traded already (then it is only counted)."""
        key = decision.key
        coid = client_order_id_for(key, self._prefix)
        if key in self._recent or self._stored(key) or self._find_order(coid) is not None:
            self.duplicates += 1
            log.debug("signal %s decided again: already traded as %s", key, coid)
            return
        self._remember(key)
        stale = ""
        if self._max_age_ns and self._now_ns is not None:
            age = self._now_ns() - decision.signal.ts_event
            if age > self._max_age_ns:
                stale = (
                    f"decided on a market event {age / 1e9:.1f}s old (more than {self._max_age_ns / 1e9:g}s)"
                )
                self.stale += 1
        try:
            self._trade(decision.signal, decision.price, coid, key, stale)
        except UnknownStrategy as error:  # a worker configured differently from this process
            self.unknown += 1
            log.error("signal %s not traded: %s (is every service on the same configuration?)", key, error)
            return
        self.traded += 1

    def _remember(self, key: str) -> None:
        recent = self._recent
        recent[key] = None
        if len(recent) > self._recent_cap:
            recent.popitem(last=False)
