"""The latency queue: submits and cancels travelling to the paper venue, delivered in event time."""

from __future__ import annotations

import heapq
from collections.abc import Callable

from adapters.brokers.paper.matching import WorkingOrder
from adapters.brokers.paper.orders import VenueIds
from domain.identifiers import ClientOrderId

Arrival = tuple[int, int, WorkingOrder | ClientOrderId]
"""(arrival ns, sequence, an order or the id of the order to cancel): a heap entry; the
sequence keeps ties in the order they were sent."""


class Arrivals:
    """What is on its way to the venue, earliest arrival first; ``deliver_*`` hand it over.

    A submit or cancel sent at ``ts`` arrives at ``ts + latency``; with no latency it is
    delivered inside ``send``. ``heap`` is read directly by the broker's market-data handlers:
    ``heap[0][0]`` is the next arrival time (one comparison per market event).
    """

    __slots__ = ("_deliver_cancel", "_deliver_order", "_ids", "heap", "latency")

    def __init__(
        self,
        *,
        latency: int,
        ids: VenueIds,
        deliver_order: Callable[[WorkingOrder, int], None],
        deliver_cancel: Callable[[ClientOrderId, int], None],
    ) -> None:
        self.latency = latency
        self.heap: list[Arrival] = []
        self._ids = ids
        self._deliver_order = deliver_order
        self._deliver_cancel = deliver_cancel

    def send(self, ts_sent: int, item: WorkingOrder | ClientOrderId) -> None:
        """``item`` (an order, or the id of an order to cancel) leaves now, sent at ``ts_sent``."""
        arrival = ts_sent + self.latency
        if self.latency:
            heapq.heappush(self.heap, (arrival, self._ids.next_sequence(), item))
        else:
            self._deliver(item, arrival)

    def release(self, until: int) -> None:
        """Deliver everything due by ``until``, each at its own arrival time, in arrival order."""
        heap = self.heap
        while heap and heap[0][0] <= until:
            arrival, _, item = heapq.heappop(heap)
            self._deliver(item, arrival)

    def release_all(self) -> None:
        """Deliver everything still travelling, each at its own arrival time, in arrival order."""
        heap = self.heap
        while heap:
            arrival, _, item = heapq.heappop(heap)
            self._deliver(item, arrival)

    def in_flight(self, client_order_id: ClientOrderId) -> WorkingOrder | None:
        """The first order with ``client_order_id`` still travelling to the venue, or None."""
        for _, _, item in sorted(self.heap):
            if isinstance(item, WorkingOrder) and item.client_order_id == client_order_id:
                return item
        return None

    def _deliver(self, item: WorkingOrder | ClientOrderId, ts: int) -> None:
        if isinstance(item, WorkingOrder):
            self._deliver_order(item, ts)
        else:
            self._deliver_cancel(item, ts)
