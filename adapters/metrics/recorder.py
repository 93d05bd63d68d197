"""What the engine does, counted as it happens: market events, orders, fills, latencies.

Everything here runs on the engine's event loop, inside bus handlers or around them, so it
is plain int and dict arithmetic: no locks, no prometheus_client. ``collector`` exports it
at scrape time. Per market event it costs nothing of its own: the market state counts every
event (always, metrics or not) and the ingestion sends one event in ``sample_every`` through
``wrap`` to be timed (a clock read and an append), so the latency histogram is a sample and
the event counts are exact. Per order it keeps the send time (for the acknowledgement and
first-fill latencies) and, for an order a market event caused, times it from that event's
frame; the counts by key and the Decimal sums of fills are done when ``fold`` runs (scrape
time, or every half second), from the orders and fills booked since.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

import numpy as np

from adapters.metrics.histogram import (
    LOOP_LATENCY_BOUNDS_S,
    STORE_LATENCY_BOUNDS_S,
    VENUE_LATENCY_BOUNDS_S,
    LatencyHistogram,
)
from application.bus import MessageBus
from application.ingestion import Sink
from application.messages import (
    IntentRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.identifiers import ClientOrderId, InstrumentId
from domain.instrument import Instrument
from domain.market_data import (
    Bar,
    BookDelta,
    BookInvalidated,
    BookSnapshot,
    MarketEvent,
    QuoteTick,
    TradeTick,
)
from domain.orders import Fill, Order, OrderStatus
from domain.values import ZERO, exact_add, exact_mul

EVENT_TYPES: dict[type, str] = {
    TradeTick: "trade",
    QuoteTick: "quote",
    BookSnapshot: "book_snapshot",
    BookDelta: "book_delta",
    BookInvalidated: "book_invalidated",
    Bar: "bar",
}
"""The ``type`` label of ``tradeplane_market_events_total`` per market event class."""

OUTCOMES: dict[OrderStatus, str] = {
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.EXPIRED: "expired",
}

REMEMBERED_OUTCOMES = 10_000
"""Orders whose outcome was counted, remembered so a repeated report is not counted twice."""

SAMPLE_EVERY = 8
"""One market event in this many is timed from frame to handled: a clock read per tick costs
more than the rest of the counting, and a sample of one in eight still gives the percentiles."""

OrderKey = tuple[InstrumentId, str, str]
"""(instrument, side, strategy) of ``tradeplane_orders_submitted_total``."""


class MetricsRecorder:
    """Counts the engine's activity for the collector; see the module docstring.

    ``now_ns`` must read the clock the feeds stamp ``ts_init`` with (the engine's clock), so
    that "frame received" and "handled" are on one time line. ``orders`` finds an order of
    this session by client order id (the order manager's), ``fills_booked`` says how many
    fills the broker reports applied so far: a fill report they ignored (a duplicate) is not
    counted here either. Orders of ``manual_strategies`` (what the API names an order sent by
    hand) are counted with the strategy "", as those of no strategy.
    """

    def __init__(
        self,
        *,
        now_ns: Callable[[], int],
        instruments: Mapping[InstrumentId, Instrument],
        orders: Mapping[ClientOrderId, Order],
        fills_booked: Callable[[], int],
        market_events: Mapping[type, Mapping[InstrumentId, int]],
        handling_since: Callable[[], int],
        manual_strategies: Iterable[str] = (),
        sample_every: int = SAMPLE_EVERY,
    ) -> None:
        if sample_every < 1:
            raise ValueError(f"sample_every must be 1 or more (was {sample_every})")
        self._sample_every = sample_every
        self._now_ns = now_ns
        self._instruments = instruments
        self._orders = orders
        self._fills_booked = fills_booked
        self._fills_seen = fills_booked()
        self._manual = frozenset(manual_strategies)
        self._events = market_events
        self._handling_since = handling_since
        self._durations: array[int] = array("q")
        """Durations (ns) of the sampled market events handled since the last ``fold``."""
        self.frame_to_handled = LatencyHistogram(LOOP_LATENCY_BOUNDS_S)
        self.frame_to_order = LatencyHistogram(LOOP_LATENCY_BOUNDS_S)
        self.order_ack = LatencyHistogram(VENUE_LATENCY_BOUNDS_S)
        self.order_fill = LatencyHistogram(VENUE_LATENCY_BOUNDS_S)
        self.trades_commit = LatencyHistogram(STORE_LATENCY_BOUNDS_S)
        """Fed by the risk monitor (``on_commit``), on the event loop."""
        self.market_data_write = LatencyHistogram(STORE_LATENCY_BOUNDS_S)
        """Fed by the market-data writer thread (``on_written``); only that thread observes it."""
        self._orders_submitted: dict[OrderKey, int] = {}
        self.outcomes: dict[tuple[InstrumentId, str], int] = {}
        self.risk_refusals: dict[str, int] = {}
        self._fills: dict[tuple[InstrumentId, str], int] = {}
        self._traded_notional: dict[InstrumentId, Decimal] = {}
        self._fees_paid: dict[InstrumentId, Decimal] = {}
        self._fees_not_in_quote = 0
        self._new_orders: list[Order] = []
        """Orders sent since they were last counted: counted (by key) at scrape time."""
        self._new_fills: list[Fill] = []
        """Fills booked since they were last counted: the Decimal sums are done at scrape time."""
        self._awaiting_ack: dict[ClientOrderId, int] = {}
        self._awaiting_fill: dict[ClientOrderId, int] = {}
        self._counted: dict[ClientOrderId, None] = {}

    # -- market events (sampled) -------------------------------------------------------------

    def wrap(self, publish: Sink) -> Sink:
        """``publish`` timed: frame received (the event's ``ts_init``) -> handled.

        The ingestion sends one event in ``sample_every`` through it (``observe(wrap,
        every=sample_every)``), so the other events pay no extra frame. It appends the duration;
        ``fold`` turns the durations into the histogram at scrape time. No try/finally: the bus
        never lets a handler's exception through.
        """
        now_ns = self._now_ns

        def timed(event: MarketEvent) -> None:
            started = event.ts_init
            publish(event)
            self._durations.append(now_ns() - started)

        return timed

    @property
    def sample_every(self) -> int:
        return self._sample_every

    @property
    def market_events(self) -> dict[type, dict[InstrumentId, int]]:
        """Market events handled per event class and instrument (the market state's counts),
        with every instrument traded counted from 0 (each a series from the start)."""
        counted = self._events
        seeded = {kind: dict.fromkeys(self._instruments, 0) for kind in EVENT_TYPES}
        for kind, per_instrument in counted.items():
            seeded.setdefault(kind, {}).update(per_instrument)
        return seeded

    def fold(self) -> None:
        """Move the durations sampled since the last fold into the histogram, and count the
        orders and fills booked since (their keys and Decimal sums are not on the order path)."""
        self._count_new()
        durations = self._durations
        if not durations:
            return
        self._durations = array("q")  # the hot path appends to the new one from now on
        histogram = self.frame_to_handled
        bounds = np.asarray(histogram.bounds_ns, dtype=np.int64)
        values = np.frombuffer(durations, dtype=np.int64)
        buckets = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds) + 1)
        for index, count in enumerate(buckets.tolist()):
            histogram.counts[index] += count
        histogram.sum_ns += int(values.sum())

    # -- orders and fills (counted at scrape time) -----------------------------------------------

    @property
    def orders_submitted(self) -> dict[OrderKey, int]:
        """Orders handed to the broker per (instrument, side, strategy)."""
        self._count_new()
        return self._orders_submitted

    @property
    def fills(self) -> dict[tuple[InstrumentId, str], int]:
        """Fills booked per (instrument, side)."""
        self._count_new()
        return self._fills

    @property
    def traded_notional(self) -> dict[InstrumentId, Decimal]:
        """Price x quantity filled per instrument, in its quote currency."""
        self._count_new()
        return self._traded_notional

    @property
    def fees_paid(self) -> dict[InstrumentId, Decimal]:
        """Fees paid per instrument, in its quote currency (see ``_fee_in_quote``)."""
        self._count_new()
        return self._fees_paid

    @property
    def fees_not_in_quote(self) -> int:
        """Fills whose fee was paid in an asset other than the instrument's base or quote."""
        self._count_new()
        return self._fees_not_in_quote

    def _count_new(self) -> None:
        orders, fills = self._new_orders, self._new_fills
        if orders:
            self._new_orders = []
            manual, submitted = self._manual, self._orders_submitted
            for order in orders:
                strategy = order.strategy_id or ""
                key = (order.instrument_id, order.side.name, "" if strategy in manual else strategy)
                submitted[key] = submitted.get(key, 0) + 1
        if fills:
            self._new_fills = []
            counts, notional, fees = self._fills, self._traded_notional, self._fees_paid
            for fill in fills:
                iid = fill.instrument_id
                side = (iid, fill.side.name)
                counts[side] = counts.get(side, 0) + 1
                amount = exact_mul(fill.price, fill.quantity)
                notional[iid] = exact_add(notional.get(iid, ZERO), amount)
                fee = self._fee_in_quote(fill.fee, fill.fee_asset, fill.price, self._instruments.get(iid))
                if fee is not None:
                    fees[iid] = exact_add(fees.get(iid, ZERO), fee)

    # -- orders (per order) ---------------------------------------------------------------------

    def order_sent(self, order: Order) -> None:
        """The order manager is about to hand ``order`` to the broker."""
        now = self._now_ns()
        self._new_orders.append(order)
        coid = order.client_order_id
        self._awaiting_ack[coid] = now
        self._awaiting_fill[coid] = now
        started = self._handling_since()
        if started and now >= started:  # sent while a market event was handled: caused by it
            self.frame_to_order.observe(now - started)

    def subscribe(self, bus: MessageBus) -> None:
        """Listen to the broker's reports (after the handlers that apply them) and to refusals."""
        bus.subscribe(OrderAccepted, self.on_accepted)
        bus.subscribe(OrderFilled, self.on_filled)
        bus.subscribe(OrderCanceled, self.on_closed)
        bus.subscribe(OrderExpired, self.on_closed)
        bus.subscribe(OrderRejected, self.on_closed)
        bus.subscribe(IntentRejected, self.on_refused)

    def unsubscribe(self, bus: MessageBus) -> None:
        bus.unsubscribe(OrderAccepted, self.on_accepted)
        bus.unsubscribe(OrderFilled, self.on_filled)
        bus.unsubscribe(OrderCanceled, self.on_closed)
        bus.unsubscribe(OrderExpired, self.on_closed)
        bus.unsubscribe(OrderRejected, self.on_closed)
        bus.unsubscribe(IntentRejected, self.on_refused)

    def on_accepted(self, report: OrderAccepted) -> None:
        sent = self._awaiting_ack.pop(report.client_order_id, None)
        if sent is not None:
            self.order_ack.observe(self._now_ns() - sent)

    def on_filled(self, report: OrderFilled) -> None:
        booked = self._fills_booked()
        if booked == self._fills_seen:  # a report the engine ignored (a duplicate, an unknown order)
            return
        self._fills_seen = booked
        fill = report.fill
        self._new_fills.append(fill)
        coid = fill.client_order_id
        sent = self._awaiting_fill.pop(coid, None)
        if sent is not None:
            self.order_fill.observe(self._now_ns() - sent)
        self._awaiting_ack.pop(coid, None)  # a fill answers for the acknowledgement too
        self._count_outcome(coid)

    def on_closed(self, report: OrderCanceled | OrderExpired | OrderRejected) -> None:
        coid = report.client_order_id
        self._awaiting_ack.pop(coid, None)
        self._awaiting_fill.pop(coid, None)
        self._count_outcome(coid)

    def on_refused(self, event: IntentRejected) -> None:
        for rejection in event.rejections:
            reason = rejection.reason.value
            self.risk_refusals[reason] = self.risk_refusals.get(reason, 0) + 1

    # -- internals ------------------------------------------------------------------------------

    def _count_outcome(self, coid: ClientOrderId) -> None:
        order = self._orders.get(coid)
        if order is None or coid in self._counted:
            return
        outcome = OUTCOMES.get(order.status)
        if outcome is None:
            return
        key = (order.instrument_id, outcome)
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        counted = self._counted
        counted[coid] = None
        if len(counted) > REMEMBERED_OUTCOMES:
            del counted[next(iter(counted))]

    def _fee_in_quote(
        self, fee: Decimal, asset: str, price: Decimal, instrument: Instrument | None
    ) -> Decimal | None:
        """The fee in the instrument's quote currency: as is, or at the fill's price when paid
        in the base asset; None (counted apart) when paid in a third asset."""
        if not asset or instrument is None or asset == instrument.quote:
            return fee
        if asset == instrument.base:
            return exact_mul(fee, price)
        self._fees_not_in_quote += 1
        return None
