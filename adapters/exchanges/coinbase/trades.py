"""Which trades a feed already passed on, so a resubscription's snapshot does not repeat them."""

from __future__ import annotations

from collections import deque


class RecentTrades:
    """The last ``capacity`` trade ids of one product (ids are strings; no order is assumed)."""

    __slots__ = ("_ids", "_order")

    def __init__(self, capacity: int = 2048) -> None:
        self._ids: set[str] = set()
        self._order: deque[str] = deque(maxlen=capacity)

    def __bool__(self) -> bool:
        return bool(self._order)

    def add(self, trade_id: str) -> bool:
        """Remember ``trade_id``; False if it was already there (a repeat)."""
        ids = self._ids
        if trade_id in ids:
            return False
        order = self._order
        if len(order) == order.maxlen:
            ids.discard(order[0])
        order.append(trade_id)
        ids.add(trade_id)
        return True
