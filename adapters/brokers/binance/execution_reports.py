"""What the venue says about our orders, turned into broker reports, each published once.

Three paths tell the same story: the order-update stream (``executionReport``), the answers
to our requests (a new order's FULL answer, a cancel's answer, ``GET /api/v3/order``), and the
recovery queries after a reconnect (``GET /api/v3/myTrades``). They overlap and arrive in any
order, so ``OrderTracker`` keeps, per order we track, what has been published:

* the acknowledgement, once (before any fill or close, so the venue order id is recorded);
* each fill, once per trade id, whichever path brought it first;
* the final status, once, and only when the fills the venue counts (``z`` / ``executedQty``,
  the cumulative quantity, which is authoritative) have all been booked. A close that arrives
  before some of its fills is held, the missing fills are asked for (``needs_trades``), and
  the close follows them. A FILLED order is closed by its fills.

A stream event seen twice (same execution id ``I``) is dropped before anything else.

Balances (``outboundAccountPosition``) are totals as of their place in the stream. A fill
booked from a request's answer before the stream brought it makes the stream's balances
stale until the stream catches up with that fill: they are not reported meanwhile (for at
most ``stale_hold_ns``, in case the stream never brings it), so the engine's cash never steps
back to a total that predates a fill it has booked.
Reports about orders not tracked here (placed outside the engine) are counted, not published:
the engine has never heard of them, and reconciliation takes them in with their history.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.brokers.binance.errors import MalformedPayload
from adapters.brokers.binance.order_params import (
    STATUSES,
    VenueOrderState,
    fill_of_trade,
    ms_to_ns,
)
from application.messages import (
    BalancesReported,
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    VenueOrder,
)
from application.ports import Clock
from domain.errors import InvalidValue
from domain.identifiers import ClientOrderId, InstrumentId, TradeId, VenueOrderId
from domain.orders import Fill, LiquiditySide, Order, OrderStatus
from domain.values import ZERO, OrderSide, exact_add, non_negative, positive, to_decimal

log = logging.getLogger("tradeplane.broker.binance")

HISTORY = 10_000
"""Closed orders remembered (late and repeated reports are recognised), and stream events."""


@dataclass(slots=True, kw_only=True)
class TrackedOrder:
    """What has been published about one of our orders, and what the venue says of it."""

    client_order_id: ClientOrderId
    instrument_id: InstrumentId
    symbol: str
    side: OrderSide
    quantity: Decimal
    venue_order_id: str | None = None
    accepted: bool = False
    booked: Decimal = ZERO
    """Sum of the fills published (or already known to the engine)."""
    trade_ids: set[str] = field(default_factory=set)
    venue_filled: Decimal = ZERO
    """The venue's cumulative executed quantity, the largest it has said."""
    final: bool = False
    held: tuple[OrderStatus, str, int] | None = None
    """A close (status, reason, ts) waiting for fills still missing."""

    @property
    def missing(self) -> Decimal:
        """Quantity the venue executed that has not been booked yet."""
        return self.venue_filled - self.booked if self.venue_filled > self.booked else ZERO


@dataclass(slots=True)
class TrackerStats:
    duplicate_events: int = 0
    untracked_reports: int = 0
    malformed: int = 0
    stale_balances: int = 0


class OrderTracker:
    """Our orders at the venue and the reports already published about them (see module doc).

    Every ``on_*`` method returns the reports to publish, in order; none publishes itself.
    ``clock`` dates a report the venue gave no time for.
    """

    def __init__(self, clock: Clock, *, history: int = HISTORY, stale_hold_ns: int = 10_000_000_000) -> None:
        self._clock = clock
        self._history = history
        self._stale_hold_ns = stale_hold_ns
        self._ahead_of_stream: dict[tuple[str, str], int] = {}
        """Fills booked from an answer that the stream has not brought yet -> until when
        (our clock) the stream's balances are held back for them."""
        self.orders: dict[ClientOrderId, TrackedOrder] = {}
        self._by_venue_id: dict[tuple[str, str], ClientOrderId] = {}
        self._closed: deque[ClientOrderId] = deque()
        self._executions: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._balance_events: OrderedDict[object, None] = OrderedDict()
        self.needs_trades: set[ClientOrderId] = set()
        """Orders with executed quantity not booked yet: their trades must be asked for."""
        self.last_trade_id: dict[str, int] = {}
        """The highest trade id booked per symbol (recovery asks for the trades after it)."""
        self.stats = TrackerStats()

    # -- what is tracked ------------------------------------------------------------------

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self.orders.get(ClientOrderId(client_order_id))

    def open_orders(self) -> list[TrackedOrder]:
        return [order for order in self.orders.values() if not order.final]

    def track(self, order: Order) -> TrackedOrder:
        """Follow an order the engine holds, as it stands there (its venue id and fills)."""
        tracked = self.orders.get(order.client_order_id)
        if tracked is not None:
            return tracked
        tracked = TrackedOrder(
            client_order_id=order.client_order_id,
            instrument_id=order.instrument_id,
            symbol=order.instrument_id.symbol,
            side=order.side,
            quantity=order.quantity,
            accepted=order.venue_order_id is not None,
            booked=order.filled_quantity,
            trade_ids={fill.trade_id for fill in order.fills},
            venue_filled=order.filled_quantity,
        )
        self.orders[tracked.client_order_id] = tracked
        if order.venue_order_id is not None:
            self._index(tracked, order.venue_order_id)
        if order.status.is_terminal:
            self._close(tracked)
        return tracked

    def adopt(self, view: VenueOrder) -> TrackedOrder:
        """Follow an order as a reconciliation answer has it, once the engine applies that
        answer: acknowledged, with every fill in it booked, closed if the venue closed it."""
        tracked = self.orders.get(view.client_order_id)
        if tracked is None:
            tracked = TrackedOrder(
                client_order_id=view.client_order_id,
                instrument_id=view.instrument_id,
                symbol=view.instrument_id.symbol,
                side=view.side,
                quantity=view.quantity,
            )
            self.orders[tracked.client_order_id] = tracked
        if view.venue_order_id is not None:
            self._index(tracked, view.venue_order_id)
            tracked.accepted = True
        for fill in view.fills:
            if fill.trade_id not in tracked.trade_ids:
                tracked.trade_ids.add(fill.trade_id)
                tracked.booked = exact_add(tracked.booked, fill.quantity)
                self._note_trade(tracked.symbol, fill.trade_id)
        tracked.venue_filled = max(tracked.venue_filled, view.filled_quantity)
        if view.status.is_terminal and not tracked.final:
            self._close(tracked)
        return tracked

    def adopt_missing(self, client_order_id: ClientOrderId) -> None:
        """The venue has no record of it, and reconciliation closes it."""
        tracked = self.orders.get(client_order_id)
        if tracked is not None and not tracked.final:
            self._close(tracked)

    def by_venue_id(self, symbol: str, order_id: str) -> TrackedOrder | None:
        coid = self._by_venue_id.get((symbol, order_id))
        return None if coid is None else self.orders.get(coid)

    # -- the stream -----------------------------------------------------------------------

    def on_execution_report(self, event: Mapping[str, Any]) -> list[object]:
        """An ``executionReport`` (the event inside the stream's wrapper)."""
        symbol = event.get("s")
        coid = event.get("C") or event.get("c")  # a cancel's report: "c" is the cancel's own id
        if not isinstance(symbol, str) or not isinstance(coid, str) or not coid:
            raise MalformedPayload("executionReport lacks s or c", event)
        execution_id = event.get("I")
        if type(execution_id) is int:
            key = (symbol, execution_id)
            if key in self._executions:
                self.stats.duplicate_events += 1
                return []
            self._remember(self._executions, key)
        tracked = self.orders.get(ClientOrderId(coid))
        if tracked is None:
            self.stats.untracked_reports += 1
            log.info("order update for %s, not placed through this engine: not reported", coid)
            return []
        status_name = str(event.get("X", ""))
        status = STATUSES.get(status_name)
        ts = ms_to_ns(event.get("E")) or ms_to_ns(event.get("T")) or self._clock.now_ns()
        order_id = event.get("i")
        out: list[object] = []
        cumulative = _quantity(event, "z")
        tracked.venue_filled = max(tracked.venue_filled, cumulative)
        if status is not OrderStatus.REJECTED and type(order_id) is int:
            self._accept(tracked, str(order_id), ts, out)
        if event.get("x") == "TRADE":
            self._book(tracked, _fill_of_event(event, tracked), out, from_stream=True)
        if status is not None:
            self._settle(tracked, status, _reason(status, status_name, event), ts, out)
        return out

    def on_balances(self, event: Mapping[str, Any]) -> BalancesReported | None:
        """An ``outboundAccountPosition``: each listed asset's total (free + locked)."""
        key = _frozen(event)
        if key in self._balance_events:
            self.stats.duplicate_events += 1
            return None
        self._remember(self._balance_events, key)
        if self._stream_is_behind():
            self.stats.stale_balances += 1
            log.debug("account update held back: the stream has not caught up with fills booked")
            return None
        balances: dict[str, Decimal] = {}
        for entry in event.get("B") or ():
            if not isinstance(entry, dict) or not isinstance(entry.get("a"), str):
                raise MalformedPayload("outboundAccountPosition balance lacks its asset", entry)
            try:
                total = exact_add(
                    non_negative(entry.get("f"), "free"), non_negative(entry.get("l"), "locked")
                )
            except InvalidValue as error:
                raise MalformedPayload(f"outboundAccountPosition: {error}", entry) from None
            balances[entry["a"]] = total
        if not balances:
            return None
        ts = ms_to_ns(event.get("u")) or ms_to_ns(event.get("E")) or self._clock.now_ns()
        return BalancesReported(balances=balances, ts_event=ts)

    # -- answers to requests --------------------------------------------------------------

    def on_order(self, state: VenueOrderState, fills: Sequence[Fill] = ()) -> list[object]:
        """An order as a REST answer has it (new order, cancel, query), with the fills known."""
        tracked = self.orders.get(ClientOrderId(state.client_order_id))
        if tracked is None:
            self.stats.untracked_reports += 1
            return []
        ts = state.ts_ns or self._clock.now_ns()
        out: list[object] = []
        tracked.venue_filled = max(tracked.venue_filled, state.executed)
        status = state.our_status
        if status is not OrderStatus.REJECTED:
            self._accept(tracked, state.order_id, ts, out)
        for fill in fills:
            self._book(tracked, fill, out, ahead=True)
        self._settle(tracked, status, _reason(status, state.status, {}), ts, out)
        return out

    def on_trades(self, symbol: str, trades: Sequence[object]) -> list[object]:
        """``GET /api/v3/myTrades`` entries; trades of orders not tracked here are skipped."""
        out: list[object] = []
        parsed = []
        for trade in trades:
            if not isinstance(trade, dict):
                raise MalformedPayload("a trade must be an object", trade)
            tracked = self.by_venue_id(symbol, str(trade.get("orderId")))
            if tracked is None:
                continue
            parsed.append((_numeric(trade.get("id")), trade, tracked))
        for _id, trade, tracked in sorted(parsed, key=lambda item: item[0]):
            fill = fill_of_trade(
                trade,
                client_order_id=tracked.client_order_id,
                instrument_id=tracked.instrument_id,
                fallback_ns=self._clock.now_ns(),
            )
            self._book(tracked, fill, out)
        return out

    def reject(self, client_order_id: ClientOrderId, reason: str, ts: int) -> list[object]:
        """The venue refused the order (or has no record of it once it no longer could)."""
        tracked = self.orders.get(client_order_id)
        if tracked is None or tracked.final:
            return []
        self._close(tracked)
        return [OrderRejected(client_order_id=client_order_id, reason=reason, ts_event=ts)]

    def cancel_rejected(self, client_order_id: ClientOrderId, reason: str, ts: int) -> list[object]:
        tracked = self.orders.get(client_order_id)
        if tracked is None or tracked.final:
            return []
        return [CancelRejected(client_order_id=client_order_id, reason=reason, ts_event=ts)]

    # -- the moves --------------------------------------------------------------------------

    def _accept(self, tracked: TrackedOrder, venue_order_id: str, ts: int, out: list[object]) -> None:
        if tracked.venue_order_id is None:
            self._index(tracked, venue_order_id)
        if not tracked.accepted and not tracked.final:
            tracked.accepted = True
            out.append(
                OrderAccepted(
                    client_order_id=tracked.client_order_id,
                    venue_order_id=VenueOrderId(venue_order_id),
                    ts_event=ts,
                )
            )

    def _book(
        self,
        tracked: TrackedOrder,
        fill: Fill,
        out: list[object],
        *,
        from_stream: bool = False,
        ahead: bool = False,
    ) -> None:
        """Publish ``fill`` unless its trade id was booked already; a fill that completes the
        order closes it, one that completes the venue's count releases a held close. ``ahead``:
        it comes in an answer that may beat the stream (which will bring it too)."""
        key = (tracked.symbol, str(fill.trade_id))
        if from_stream:
            self._ahead_of_stream.pop(key, None)
        if fill.trade_id in tracked.trade_ids:
            return
        if ahead:
            self._ahead_of_stream[key] = self._clock.now_ns() + self._stale_hold_ns
        if not tracked.accepted and not tracked.final and fill.venue_order_id is not None:
            self._accept(tracked, fill.venue_order_id, fill.ts_event, out)
        tracked.trade_ids.add(fill.trade_id)
        tracked.booked = exact_add(tracked.booked, fill.quantity)
        tracked.venue_filled = max(tracked.venue_filled, tracked.booked)
        self._note_trade(tracked.symbol, fill.trade_id)
        out.append(OrderFilled(fill=fill))
        if tracked.final:
            return
        if tracked.booked >= tracked.quantity:
            self._close(tracked)
        elif tracked.held is not None and not tracked.missing:
            status, reason, ts = tracked.held
            self._emit_close(tracked, status, reason, ts, out)

    def _settle(
        self, tracked: TrackedOrder, status: OrderStatus, reason: str, ts: int, out: list[object]
    ) -> None:
        if tracked.missing:
            self.needs_trades.add(tracked.client_order_id)
        if tracked.final or not status.is_terminal:
            return
        if tracked.missing or (status is OrderStatus.FILLED and tracked.booked < tracked.quantity):
            tracked.held = (status, reason, ts)
            self.needs_trades.add(tracked.client_order_id)
            return
        self._emit_close(tracked, status, reason, ts, out)

    def _emit_close(
        self, tracked: TrackedOrder, status: OrderStatus, reason: str, ts: int, out: list[object]
    ) -> None:
        coid = tracked.client_order_id
        if status is OrderStatus.CANCELED:
            out.append(OrderCanceled(client_order_id=coid, reason=reason, ts_event=ts))
        elif status is OrderStatus.EXPIRED:
            out.append(OrderExpired(client_order_id=coid, reason=reason, ts_event=ts))
        elif status is OrderStatus.REJECTED:
            out.append(OrderRejected(client_order_id=coid, reason=reason, ts_event=ts))
        self._close(tracked)  # FILLED: its fills closed it

    def _close(self, tracked: TrackedOrder) -> None:
        tracked.final = True
        tracked.held = None
        self.needs_trades.discard(tracked.client_order_id)
        closed = self._closed
        closed.append(tracked.client_order_id)
        while len(closed) > self._history:
            old = self.orders.get(closed.popleft())
            if old is not None and old.final:
                del self.orders[old.client_order_id]
                if old.venue_order_id is not None:
                    self._by_venue_id.pop((old.symbol, old.venue_order_id), None)

    def _index(self, tracked: TrackedOrder, venue_order_id: str) -> None:
        tracked.venue_order_id = venue_order_id
        self._by_venue_id[(tracked.symbol, venue_order_id)] = tracked.client_order_id

    def _note_trade(self, symbol: str, trade_id: str) -> None:
        number = _numeric(trade_id)
        if number >= 0 and number > self.last_trade_id.get(symbol, -1):
            self.last_trade_id[symbol] = number

    def _stream_is_behind(self) -> bool:
        """True while a fill booked from an answer has not come on the stream (nor timed out)."""
        ahead = self._ahead_of_stream
        if ahead:
            now = self._clock.now_ns()
            for key in [key for key, until in ahead.items() if until <= now]:
                del ahead[key]
        return bool(ahead)

    def _remember(self, seen: OrderedDict[Any, None], key: object) -> None:
        seen[key] = None
        if len(seen) > self._history * 10:
            seen.popitem(last=False)


def _frozen(event: Mapping[str, Any]) -> object:
    """A hashable copy of an account update: the same update delivered twice has the same one."""
    entries = event.get("B") or ()
    balances = tuple(
        (entry.get("a"), entry.get("f"), entry.get("l")) for entry in entries if isinstance(entry, dict)
    )
    return event.get("E"), event.get("u"), balances


def _numeric(value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return -1


def _quantity(event: Mapping[str, Any], key: str) -> Decimal:
    try:
        return non_negative(event.get(key, "0"), key)
    except InvalidValue:
        raise MalformedPayload(f"executionReport {key} is not a decimal", event.get(key)) from None


def _fill_of_event(event: Mapping[str, Any], tracked: TrackedOrder) -> Fill:
    trade_id, order_id = event.get("t"), event.get("i")
    if type(trade_id) is not int or trade_id < 0 or type(order_id) is not int:
        raise MalformedPayload("a TRADE executionReport lacks t or i", event)
    asset = event.get("N")
    try:
        return Fill(
            instrument_id=tracked.instrument_id,
            client_order_id=tracked.client_order_id,
            venue_order_id=VenueOrderId(str(order_id)),
            trade_id=TradeId(str(trade_id)),
            side=tracked.side,
            quantity=positive(event.get("l"), "fill quantity"),
            price=positive(event.get("L"), "fill price"),
            fee=to_decimal(event.get("n") or "0", "fill fee"),
            fee_asset=asset if isinstance(asset, str) else "",
            liquidity=LiquiditySide.MAKER if event.get("m") is True else LiquiditySide.TAKER,
            strategy_id=None,
            ts_event=ms_to_ns(event.get("T")) or ms_to_ns(event.get("E")) or 0,
        )
    except InvalidValue as error:
        raise MalformedPayload(f"executionReport fill: {error}", event) from None


def _reason(status: OrderStatus | None, venue_status: str, event: Mapping[str, Any]) -> str:
    if status is OrderStatus.CANCELED:
        return "canceled at the venue"
    if status is OrderStatus.EXPIRED:
        if venue_status == "EXPIRED_IN_MATCH":
            return "expired at the venue by self-trade prevention"
        why = event.get("eR")
        return (
            f"expired at the venue ({why})"
            if isinstance(why, str) and why != "NONE"
            else "expired at the venue"
        )
    if status is OrderStatus.REJECTED:
        why = event.get("r")
        return (
            f"rejected by the venue ({why})"
            if isinstance(why, str) and why != "NONE"
            else "rejected by the venue"
        )
    return ""
