"""A paper broker on a real MessageBus, with real Orders driven by its reports as the OMS will."""

from __future__ import annotations

from decimal import Decimal

from adapters.brokers.paper import PaperBroker, PaperBrokerConfig, VenueLog
from application.bus import HandlerFailure, MessageBus
from application.messages import (
    CancelRejected,
    FeedStatusChanged,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.market_data import Bar, BookDelta, BookInvalidated, BookSnapshot, QuoteTick, TradeTick
from domain.orders import Order, OrderStatus
from domain.values import AggressorSide
from tests.builders import BTCUSDT, TS, make_instrument, make_registry

Report = OrderAccepted | OrderRejected | OrderFilled | OrderCanceled | OrderExpired | CancelRejected
REPORT_TYPES = (OrderAccepted, OrderRejected, OrderFilled, OrderCanceled, OrderExpired, CancelRejected)


def apply_report(order: Order, report: object) -> None:
    """Apply one broker report to ``order`` through its state machine; illegal moves raise."""
    match report:
        case OrderAccepted():
            # An ack racing a cancel sent while the submit was in flight: accept() allows only
            # SUBMITTED, so the order stays CANCEL_PENDING (a fill still carries the venue id).
            if order.status is not OrderStatus.CANCEL_PENDING:
                order.accept(report.venue_order_id, report.ts_event)
        case OrderRejected():
            if order.status is OrderStatus.CANCEL_PENDING:
                # A cancel sent while the submit was in flight; the table has no
                # CANCEL_PENDING -> REJECTED move, so the moot cancel is refused first.
                order.cancel_rejected("order rejected by the venue", report.ts_event)
            order.reject(report.reason, report.ts_event)
        case OrderFilled():
            order.fill(report.fill)
        case OrderCanceled():
            order.cancel(report.ts_event, report.reason)
        case OrderExpired():
            order.expire(report.ts_event, report.reason)
        case CancelRejected():
            # A refused cancel of an order that closed meanwhile changes nothing (as in the OMS).
            if order.status is OrderStatus.CANCEL_PENDING:
                order.cancel_rejected(report.reason, report.ts_event)
        case _:
            raise AssertionError(f"not a broker report: {report!r}")


class PaperVenue:
    """Bus + broker + the orders it works; handler failures are re-raised, never hidden."""

    def __init__(
        self,
        config: PaperBrokerConfig | None = None,
        *instruments: Instrument,
        id_prefix: str = "PAPER",
        log: VenueLog | None = None,
        balances: dict[str, str] | None = None,
    ) -> None:
        self.failures: list[BaseException] = []
        self.bus = MessageBus(on_error=self._failed)
        self.reports: list[Report] = []
        self.orders: dict[str, Order] = {}
        self.broker = PaperBroker(
            publish=self.bus.publish,
            instruments=make_registry(*(instruments or (make_instrument(),))),
            config=config or PaperBrokerConfig(),
            id_prefix=id_prefix,
            log=log,
            balances=balances,
        )
        for report_type in REPORT_TYPES:
            self.bus.subscribe(report_type, self._on_report)
        self.bus.subscribe(TradeTick, self.broker.on_trade)
        self.bus.subscribe(QuoteTick, self.broker.on_quote)
        self.bus.subscribe(BookSnapshot, self.broker.on_book_snapshot)
        self.bus.subscribe(BookDelta, self.broker.on_book_delta)
        self.bus.subscribe(Bar, self.broker.on_bar)
        self.bus.subscribe(BookInvalidated, self.broker.on_book_invalidated)
        self.bus.subscribe(FeedStatusChanged, self.broker.on_feed_status)

    def _failed(self, failure: HandlerFailure, error: BaseException) -> None:
        self.failures.append(error)

    def _on_report(self, report: object) -> None:
        assert isinstance(report, REPORT_TYPES)
        self.reports.append(report)
        apply_report(self.orders[report.client_order_id], report)

    def check(self) -> None:
        if self.failures:
            raise self.failures[0]

    # -- orders ---------------------------------------------------------------------------

    def submit(self, order: Order, ts: int | None = None) -> Order:
        self.orders[order.client_order_id] = order
        order.submit(order.ts_init if ts is None else ts)
        self.broker.submit(order)
        self.check()
        return order

    def cancel(self, order: Order, ts: int) -> None:
        order.request_cancel(ts)
        self.broker.cancel(order)
        self.check()

    # -- market data ----------------------------------------------------------------------

    def publish(self, event: object) -> None:
        self.bus.publish(event)
        self.check()

    def feed_status(self, connected: bool, *, ts: int = TS, reason: str = "connection lost") -> None:
        self.publish(
            FeedStatusChanged(
                feed="binance", instruments=(BTCUSDT,), connected=connected, reason=reason, ts_event=ts
            )
        )

    def snapshot(
        self,
        bids: list[tuple[str, str]],
        asks: list[tuple[str, str]],
        *,
        ts: int = TS,
        sequence: int = 1,
        instrument_id: InstrumentId = BTCUSDT,
    ) -> None:
        self.publish(
            BookSnapshot.create(
                instrument_id=instrument_id, bids=bids, asks=asks, sequence=sequence, ts_event=ts, ts_init=ts
            )
        )

    def delta(
        self,
        *,
        bids: list[tuple[str, str]] = (),  # type: ignore[assignment]
        asks: list[tuple[str, str]] = (),  # type: ignore[assignment]
        sequence: int,
        first: int | None = None,
        ts: int = TS,
    ) -> None:
        self.publish(
            BookDelta.create(
                instrument_id=BTCUSDT,
                bids=bids,
                asks=asks,
                first_sequence=sequence if first is None else first,
                last_sequence=sequence,
                ts_event=ts,
                ts_init=ts,
            )
        )

    def quote(self, bid: str, bid_size: str, ask: str, ask_size: str, *, ts: int = TS) -> None:
        self.publish(
            QuoteTick.create(
                instrument_id=BTCUSDT,
                bid_price=bid,
                bid_size=bid_size,
                ask_price=ask,
                ask_size=ask_size,
                ts_event=ts,
                ts_init=ts,
            )
        )

    def trade(
        self,
        price: str,
        size: str,
        aggressor: AggressorSide = AggressorSide.SELLER,
        *,
        ts: int = TS,
        trade_id: str = "X-1",
    ) -> None:
        self.publish(
            TradeTick.create(
                instrument_id=BTCUSDT,
                price=price,
                size=size,
                aggressor=aggressor,
                trade_id=trade_id,
                ts_event=ts,
                ts_init=ts,
            )
        )

    # -- reading the reports --------------------------------------------------------------

    def fills(self, order: Order | None = None) -> list[tuple[Decimal, Decimal]]:
        """(quantity, price) of every fill reported (for ``order`` only, if given)."""
        return [
            (report.fill.quantity, report.fill.price)
            for report in self.reports
            if isinstance(report, OrderFilled)
            and (order is None or report.client_order_id == order.client_order_id)
        ]

    def kinds(self) -> list[str]:
        return [type(report).__name__ for report in self.reports]
