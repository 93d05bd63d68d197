"""What the engine does, counted as it happens: market events, orders, fills, latencies.

Everything here runs on the engine's event loop, inside bus handlers or around them, so it
is plain int and dict arithmetic: no locks, no prometheus_client. ``collector`` exports it
at scrape time. Per market event the cost is one dict increment (``wrap``), and one event in
``sample_every`` is also timed (a clock read and an append): the latency histogram is a sample,
the event counts are exact. Everything else is per order or per fill.
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
from domain.orders import Order, OrderStatus
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

MAX_UNATTRIBUTED_ORDERS = 1000
"""Orders sent while no market event was handled kept at most until one is (then dropped)."""

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
        self._durations: array[int] = array("q")
        """Durations (ns) of the sampled market events handled since the last ``fold``."""
        self._sent: list[int] = []
        """When the orders sent since the last market event was handled were sent; those sent
        before that event's frame arrived (an order from the API between two events) are not
        counted as caused by it."""
        self.market_events: dict[type, dict[InstrumentId, int]] = {kind: {} for kind in EVENT_TYPES}
        self.frame_to_handled = LatencyHistogram(LOOP_LATENCY_BOUNDS_S)
        self.frame_to_order = LatencyHistogram(LOOP_LATENCY_BOUNDS_S)
        self.order_ack = LatencyHistogram(VENUE_LATENCY_BOUNDS_S)
        self.order_fill = LatencyHistogram(VENUE_LATENCY_BOUNDS_S)
        self.trades_commit = LatencyHistogram(STORE_LATENCY_BOUNDS_S)
        """Fed by the risk monitor (``on_commit``), on the event loop."""
        self.market_data_write = LatencyHistogram(STORE_LATENCY_BOUNDS_S)
        """Fed by the market-data writer thread (``on_written``); only that thread observes it."""
        self.orders_submitted: dict[OrderKey, int] = {}
        self.outcomes: dict[tuple[InstrumentId, str], int] = {}
        self.risk_refusals: dict[str, int] = {}
        self.fills: dict[tuple[InstrumentId, str], int] = {}
        self.traded_notional: dict[InstrumentId, Decimal] = {}
        self.fees_paid: dict[InstrumentId, Decimal] = {}
        self.fees_not_in_quote = 0
        """Fills whose fee was paid in an asset other than the instrument's base or quote."""
        self._awaiting_ack: dict[ClientOrderId, int] = {}
        self._awaiting_fill: dict[ClientOrderId, int] = {}
        self._counted: dict[ClientOrderId, None] = {}
        self.seed(instruments)

    # -- market events (per tick) --------------------------------------------------------------

    def wrap(self, publish: Sink) -> Sink:
        """``publish`` counted, and one event in ``sample_every`` timed: frame received (the
        event's ``ts_init``) -> handled.

        This runs per tick, so it only adds one to the count of the event's type and instrument
        (pre-seeded for the instruments traded) and, for a sampled event, appends its duration;
        ``fold`` turns the durations into the histogram at scrape time. No try/finally: the bus
        never lets a handler's exception through.
        """
        now_ns = self._now_ns
        counts = self.market_events
        sent = self._sent
        frame_to_order = self.frame_to_order
        every = self._sample_every
        left = every

        def deliver(event: MarketEvent) -> None:
            nonlocal left
            started = event.ts_init
            publish(event)
            try:
                counts[type(event)][event.instrument_id] += 1
            except KeyError:  # an instrument not seeded
                self._count_new(event)
            if sent:  # orders sent since the last event: those sent while it was handled are its
                for at in sent:
                    if at >= started:
                        frame_to_order.observe(at - started)
                sent.clear()
            left -= 1
            if not left:
                left = every
                self._durations.append(now_ns() - started)

        return deliver

    def seed(self, instrument_ids: Iterable[InstrumentId]) -> None:
        """Count every market event type of ``instrument_ids`` from 0 (each a series at once)."""
        for kind in EVENT_TYPES:
            for iid in instrument_ids:
                self.market_events[kind].setdefault(iid, 0)

    def _count_new(self, event: MarketEvent) -> None:
        per_instrument = self.market_events.setdefault(type(event), {})
        per_instrument[event.instrument_id] = per_instrument.get(event.instrument_id, 0) + 1

    def fold(self) -> None:
        """Move the durations sampled since the last fold into the histogram."""
        if len(self._sent) > MAX_UNATTRIBUTED_ORDERS:  # API orders while no market event arrives
            self._sent.clear()
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

    # -- orders (per order) ---------------------------------------------------------------------

    def order_sent(self, order: Order) -> None:
        """The order manager is about to hand ``order`` to the broker."""
        now = self._now_ns()
        strategy = order.strategy_id or ""
        key = (order.instrument_id, order.side.name, "" if strategy in self._manual else strategy)
        self.orders_submitted[key] = self.orders_submitted.get(key, 0) + 1
        coid = order.client_order_id
        self._awaiting_ack[coid] = now
        self._awaiting_fill[coid] = now
        self._sent.append(now)

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
        iid, coid = fill.instrument_id, fill.client_order_id
        key = (iid, fill.side.name)
        self.fills[key] = self.fills.get(key, 0) + 1
        notional = exact_mul(fill.price, fill.quantity)
        self.traded_notional[iid] = exact_add(self.traded_notional.get(iid, ZERO), notional)
        fee = self._fee_in_quote(fill.fee, fill.fee_asset, fill.price, self._instruments.get(iid))
        if fee is not None:
            self.fees_paid[iid] = exact_add(self.fees_paid.get(iid, ZERO), fee)
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
        self.fees_not_in_quote += 1
        return None
