"""The one place where domain values become protobuf messages, and requests become domain values.

Outbound, decimals are written as plain exact strings (``format(d, "f")``, no exponent)
and nanosecond timestamps as ``google.protobuf.Timestamp``. Inbound, every field is
checked here before anything reaches the domain: a decimal must match the wire grammar
(no whitespace, no NaN or infinity, no float) and be positive where a price or a
quantity is expected; enums must not be UNSPECIFIED; ids must be well formed. A bad
field raises ``ApiError`` (INVALID_ARGUMENT) naming it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from tradeplane.v1 import (
    common_pb2,
    engine_pb2,
    market_data_pb2,
    orders_pb2,
    portfolio_pb2,
    risk_pb2,
    strategies_pb2,
)

from application.engine import EngineStatus, InstrumentData
from application.messages import Alert, AlertRaised, AlertResolved, AlertSeverity
from application.ports import BrokerHealth, FeedHealth
from application.strategy_engine import StrategySlot
from domain.consolidated_quote import BestPrice, ConsolidatedQuote, VenueLine
from domain.errors import InvalidValue
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId
from domain.identifiers import client_order_id as checked_client_order_id
from domain.identifiers import strategy_id as checked_strategy_id
from domain.instrument import Instrument
from domain.market_data import BookLevel, QuoteTick, TradeTick
from domain.orders import Fill, LiquiditySide, Order, OrderEvent, OrderStatus, OrderType, TimeInForce
from domain.positions import Position
from domain.risk import RiskLimits, TradingState
from domain.signals import Signal
from domain.values import AggressorSide, OrderSide, plain, to_decimal
from entrypoints.grpc.errors import echo, invalid

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_BOOK_DEPTH = 1000
DEFAULT_BOOK_DEPTH = 10
MAX_ID_LENGTH = 64
MAX_PAGE_TOKEN = 256
"""Characters of a page token; the server's own are far shorter."""
MAX_CURSOR_ID = 128
MAX_CURSOR_TIME = 2**63 - 1
"""A cursor's timestamp must fit a signed 64-bit integer, as the stores keep it."""
NOT_ISSUED = "is not a token this server issued; send back next_page_token as it came"
_CURSOR_TIME = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit() also takes '²'

E = TypeVar("E")

_WIRE_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")

# -- enums, both ways -------------------------------------------------------------------------

SIDE_TO_PROTO = {OrderSide.BUY: common_pb2.SIDE_BUY, OrderSide.SELL: common_pb2.SIDE_SELL}
SIDE_FROM_PROTO = {v: k for k, v in SIDE_TO_PROTO.items()}
TYPE_TO_PROTO = {
    OrderType.MARKET: common_pb2.ORDER_TYPE_MARKET,
    OrderType.LIMIT: common_pb2.ORDER_TYPE_LIMIT,
    OrderType.STOP_MARKET: common_pb2.ORDER_TYPE_STOP_MARKET,
    OrderType.STOP_LIMIT: common_pb2.ORDER_TYPE_STOP_LIMIT,
}
TYPE_FROM_PROTO = {v: k for k, v in TYPE_TO_PROTO.items()}
TIF_TO_PROTO = {
    TimeInForce.GTC: common_pb2.TIME_IN_FORCE_GTC,
    TimeInForce.IOC: common_pb2.TIME_IN_FORCE_IOC,
    TimeInForce.FOK: common_pb2.TIME_IN_FORCE_FOK,
}
TIF_FROM_PROTO = {v: k for k, v in TIF_TO_PROTO.items()}
STATUS_TO_PROTO: dict[OrderStatus, Any] = {
    status: getattr(common_pb2, f"ORDER_STATUS_{status.value}") for status in OrderStatus
}
STATUS_FROM_PROTO = {v: k for k, v in STATUS_TO_PROTO.items()}
LIQUIDITY_TO_PROTO = {
    LiquiditySide.MAKER: common_pb2.LIQUIDITY_SIDE_MAKER,
    LiquiditySide.TAKER: common_pb2.LIQUIDITY_SIDE_TAKER,
}
TRADING_STATE_TO_PROTO: dict[TradingState, Any] = {
    state: getattr(common_pb2, f"TRADING_STATE_{state.value}") for state in TradingState
}
AGGRESSOR_TO_PROTO = {
    AggressorSide.BUYER: market_data_pb2.AGGRESSOR_SIDE_BUYER,
    AggressorSide.SELLER: market_data_pb2.AGGRESSOR_SIDE_SELLER,
    AggressorSide.NONE: market_data_pb2.AGGRESSOR_SIDE_NONE,
}

# -- outbound: domain -> proto -------------------------------------------------------------------


def text(value: Decimal | None) -> str:
    """An exact decimal string, no exponent, no trailing zeros ("30000.25", "0.00000001", "5");
    "" for None. Trimming is textual, so no digit is ever rounded."""
    return "" if value is None else plain(value)


def timestamp(ts_ns: int | None) -> Timestamp | None:
    if not ts_ns:
        return None
    return Timestamp(seconds=ts_ns // 1_000_000_000, nanos=ts_ns % 1_000_000_000)


def order_to_proto(order: Order) -> orders_pb2.Order:
    message = orders_pb2.Order()
    write_order(message, order)
    return message


def write_order(message: orders_pb2.Order, order: Order) -> None:
    """Set the fields of ``order`` on ``message``, an empty one: a response's own ``order``
    field is written in place, sparing the copy ``Response(order=order_to_proto(...))`` makes
    (SubmitOrder answers every order this way). Unset fields stay unset, as the proto's defaults."""
    message.client_order_id = order.client_order_id
    if order.venue_order_id:
        message.venue_order_id = order.venue_order_id
    message.instrument_id = order.instrument_id
    message.side = SIDE_TO_PROTO[order.side]
    message.type = TYPE_TO_PROTO[order.order_type]
    message.time_in_force = TIF_TO_PROTO[order.time_in_force]
    message.quantity = plain(order.quantity)
    if order.price is not None:
        message.price = plain(order.price)
    if order.stop_price is not None:
        message.stop_price = plain(order.stop_price)
    message.filled_quantity = plain(order.filled_quantity)
    message.leaves_quantity = plain(order.leaves_quantity)
    if order.avg_fill_price is not None:
        message.avg_fill_price = plain(order.avg_fill_price)
    message.status = STATUS_TO_PROTO[order.status]
    if order.strategy_id:
        message.strategy_id = order.strategy_id
    message.reduce_only = order.reduce_only
    if order.ts_init:
        message.create_time.seconds, message.create_time.nanos = divmod(order.ts_init, 1_000_000_000)
    if order.ts_last:
        message.update_time.seconds, message.update_time.nanos = divmod(order.ts_last, 1_000_000_000)
    if order.events:
        message.reason = order.events[-1].reason
    message.post_only = order.post_only


def fill_to_proto(fill: Fill) -> orders_pb2.Fill:
    return orders_pb2.Fill(
        trade_id=fill.trade_id,
        client_order_id=fill.client_order_id,
        venue_order_id=fill.venue_order_id or "",
        instrument_id=fill.instrument_id,
        side=SIDE_TO_PROTO[fill.side],
        quantity=text(fill.quantity),
        price=text(fill.price),
        fee=text(fill.fee),
        liquidity=LIQUIDITY_TO_PROTO[fill.liquidity],
        strategy_id=fill.strategy_id or "",
        time=timestamp(fill.ts_event),
        fee_asset=fill.fee_asset,
    )


def order_event_to_proto(
    event: OrderEvent, instrument_id: str, strategy_id: str | None, sequence: int
) -> orders_pb2.OrderEvent:
    return orders_pb2.OrderEvent(
        client_order_id=event.client_order_id,
        instrument_id=instrument_id,
        strategy_id=strategy_id or "",
        status=STATUS_TO_PROTO[event.status],
        reason=event.reason,
        fill=fill_to_proto(event.fill) if event.fill is not None else None,
        venue_order_id=event.venue_order_id or "",
        time=timestamp(event.ts_event),
        sequence=sequence,
    )


def position_to_proto(position: Position, mark: Decimal | None) -> portfolio_pb2.Position:
    return portfolio_pb2.Position(
        instrument_id=position.instrument_id,
        quantity=text(position.quantity),
        avg_entry_price=text(position.avg_entry_price),
        realized_pnl=text(position.realized_pnl),
        unrealized_pnl=text(position.unrealized_pnl(mark)) if mark is not None else "",
        fees=text(position.fees),
        mark_price=text(mark),
        notional=text(position.notional(mark)) if mark is not None else "",
        update_time=timestamp(position.ts_last),
    )


def instrument_to_proto(instrument: Instrument) -> market_data_pb2.Instrument:
    return market_data_pb2.Instrument(
        id=instrument.id,
        symbol=instrument.id.symbol,
        venue=instrument.id.venue,
        base=instrument.base,
        quote=instrument.quote,
        price_tick=text(instrument.price_tick),
        lot_size=text(instrument.lot_size),
        min_quantity=text(instrument.min_quantity),
        min_notional=text(instrument.min_notional),
    )


def quote_to_proto(quote: QuoteTick) -> market_data_pb2.Quote:
    return market_data_pb2.Quote(
        instrument_id=quote.instrument_id,
        bid_price=text(quote.bid_price),
        bid_size=text(quote.bid_size),
        ask_price=text(quote.ask_price),
        ask_size=text(quote.ask_size),
        time=timestamp(quote.ts_event),
    )


def _best_to_proto(best: BestPrice | None) -> market_data_pb2.ConsolidatedPrice | None:
    if best is None:
        return None
    return market_data_pb2.ConsolidatedPrice(
        price=text(best.price), size=text(best.size), instrument_id=best.instrument_id, venue=best.venue
    )


def _venue_line_to_proto(line: VenueLine) -> market_data_pb2.VenueQuote:
    tick = line.quote
    if tick is None:
        return market_data_pb2.VenueQuote(
            instrument_id=line.instrument_id, venue=line.venue, usable=line.usable, problem=line.problem
        )
    return market_data_pb2.VenueQuote(
        instrument_id=line.instrument_id,
        venue=line.venue,
        bid_price=text(tick.bid_price),
        bid_size=text(tick.bid_size),
        ask_price=text(tick.ask_price),
        ask_size=text(tick.ask_size),
        time=timestamp(tick.ts_event),
        usable=line.usable,
        problem=line.problem,
    )


def consolidated_to_proto(view: ConsolidatedQuote) -> market_data_pb2.GetConsolidatedQuoteResponse:
    return market_data_pb2.GetConsolidatedQuoteResponse(
        base=view.base,
        quote=view.quote,
        best_bid=_best_to_proto(view.best_bid),
        best_ask=_best_to_proto(view.best_ask),
        crossed=view.crossed,
        venues=[_venue_line_to_proto(line) for line in view.lines],
    )


def trade_to_proto(tick: TradeTick) -> market_data_pb2.Trade:
    return market_data_pb2.Trade(
        instrument_id=tick.instrument_id,
        trade_id=tick.trade_id,
        price=text(tick.price),
        size=text(tick.size),
        aggressor=AGGRESSOR_TO_PROTO[tick.aggressor],
        time=timestamp(tick.ts_event),
    )


def levels_to_proto(levels: list[BookLevel]) -> list[market_data_pb2.BookLevel]:
    return [market_data_pb2.BookLevel(price=text(price), size=text(size)) for price, size in levels]


def signal_to_proto(signal: Signal) -> strategies_pb2.Signal:
    return strategies_pb2.Signal(
        strategy_id=signal.strategy_id,
        instrument_id=signal.instrument_id,
        side=SIDE_TO_PROTO[signal.side] if signal.side is not None else common_pb2.SIDE_UNSPECIFIED,
        target_position=text(signal.target_position),
        strength=signal.strength,
        reason=signal.reason,
        time=timestamp(signal.ts_event),
    )


def strategy_to_proto(slot: StrategySlot, kind: str) -> strategies_pb2.Strategy:
    strategy = slot.strategy
    return strategies_pb2.Strategy(
        id=slot.id,
        kind=kind,
        instrument_ids=sorted(strategy.instrument_ids),
        parameters={name: _param_text(value) for name, value in strategy.parameters().items()},
        active=slot.active,
        ready=strategy.ready,
        warmup=strategy.warmup,
        signals=slot.signals,
        intents=slot.intents,
        error=slot.error,
        allow_short=slot.allow_short,
        sizer=type(slot.sizer).__name__,
    )


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return text(value)
    return str(getattr(value, "value", value))  # enums (price source) by their value


def risk_limits_to_proto(limits: RiskLimits) -> risk_pb2.RiskLimits:
    data = limits.to_mapping()
    instrument = data.pop("instrument_limits", {})
    scalars: dict[str, Any] = dict(data)
    message = risk_pb2.RiskLimits(**scalars)
    if isinstance(instrument, Mapping):
        for iid, overrides in instrument.items():
            message.instrument_limits[iid].CopyFrom(risk_pb2.InstrumentLimits(**overrides))
    return message


def feed_to_proto(feed: FeedHealth) -> engine_pb2.FeedHealth:
    return engine_pb2.FeedHealth(
        name=feed.name,
        connected=feed.connected,
        last_message_time=timestamp(feed.last_message_ns),
        messages=feed.messages,
        reconnects=feed.reconnects,
        gaps=feed.gaps,
        malformed=feed.malformed,
        last_error=feed.last_error,
        unknown=feed.unknown,
        checksum_failures=feed.checksum_failures,
        instruments=[
            engine_pb2.InstrumentFeedHealth(
                instrument_id=i.instrument_id,
                book_verified=i.book_verified,
                last_message_time=timestamp(i.last_message_ns),
                gaps=i.gaps,
                checksum_failures=i.checksum_failures,
                resubscriptions=i.resubscriptions,
            )
            for i in feed.instruments
        ],
    )


def instrument_data_to_proto(data: InstrumentData) -> engine_pb2.InstrumentData:
    age = None
    if data.data_age_ns is not None:
        age = Duration()
        age.FromNanoseconds(max(data.data_age_ns, 0))
    return engine_pb2.InstrumentData(
        instrument_id=data.instrument_id,
        connected=data.connected,
        data_age=age,
        has_book=data.book_synced is not None,
        book_synced=bool(data.book_synced),
        usable=data.usable,
        problem=data.problem,
    )


def broker_health_to_proto(health: BrokerHealth) -> engine_pb2.BrokerHealth:
    return engine_pb2.BrokerHealth(
        name=health.name,
        environment=health.environment,
        account=health.account,
        connected=health.connected,
        requests_in_flight=health.requests_in_flight,
        unknown_outcomes=health.unknown_outcomes,
        rate_limited=health.rate_limited,
        blocked_until=timestamp(health.blocked_until_ns),
        used_weight=health.used_weight,
        reconnects=health.reconnects,
        clock_offset_ms=health.clock_offset_ms,
        last_error=health.last_error,
    )


SEVERITY_TO_PROTO = {
    AlertSeverity.CRITICAL: engine_pb2.ALERT_SEVERITY_CRITICAL,
    AlertSeverity.WARNING: engine_pb2.ALERT_SEVERITY_WARNING,
}
_ALERTS = engine_pb2.StreamAlertsResponse


def alert_to_proto(alert: Alert) -> engine_pb2.Alert:
    return engine_pb2.Alert(
        name=alert.name,
        severity=SEVERITY_TO_PROTO[alert.severity],
        summary=alert.summary,
        labels=alert.label_map,
        fired_at=timestamp(alert.fired_at_ns),
        resolved_at=timestamp(alert.resolved_at_ns),
    )


def alert_event_to_proto(event: AlertRaised | AlertResolved) -> engine_pb2.StreamAlertsResponse:
    """A raised, repeated or resolved alert as one message of ``StreamAlerts``."""
    if isinstance(event, AlertResolved):
        kind = _ALERTS.KIND_RESOLVED
    else:
        kind = _ALERTS.KIND_REPEATED if event.repeat else _ALERTS.KIND_RAISED
    return _ALERTS(kind=kind, alert=alert_to_proto(event.alert))


def active_alert_to_proto(alert: Alert) -> engine_pb2.StreamAlertsResponse:
    """An alert already active when a ``StreamAlerts`` call began."""
    return _ALERTS(kind=_ALERTS.KIND_ACTIVE, alert=alert_to_proto(alert))


def uptime(status: EngineStatus) -> Duration:
    return Duration(seconds=status.uptime_ns // 1_000_000_000, nanos=status.uptime_ns % 1_000_000_000)


# -- inbound: proto -> domain (validated) --------------------------------------------------------


def parse_decimal(value: str, field: str, *, positive: bool = False, required: bool = True) -> Decimal | None:
    """A wire decimal string; "" is None unless ``required``. Raises ApiError naming ``field``."""
    if not value:
        if required:
            raise invalid(field, 'is required (a decimal string such as "0.5")')
        return None
    if len(value) > 40 or _WIRE_DECIMAL.fullmatch(value) is None:
        raise invalid(field, f"is not a decimal number (was {echo(value)}); use digits and one '.'")
    try:
        result = to_decimal(value, field)
    except InvalidValue as error:
        raise invalid(field, error.problem) from None
    if positive and result <= 0:
        raise invalid(field, f"must be positive (was {value})")
    return result


def require_positive(value: str, field: str) -> Decimal:
    result = parse_decimal(value, field, positive=True)
    assert result is not None  # required=True never returns None
    return result


def parse_instrument_id(
    value: str, field: str = "instrument_id", known: Mapping[InstrumentId, object] | None = None
) -> InstrumentId:
    """A well-formed SYMBOL.VENUE id, registered in ``known`` when given."""
    if known is not None:  # the common case, a configured id: no regex needed
        found = known.get(value)  # type: ignore[call-overload]  # a str finds its InstrumentId key
        if isinstance(found, Instrument):
            return found.id
    if not value:
        raise invalid(field, "is required (SYMBOL.VENUE, e.g. BTCUSDT.BINANCE)")
    try:
        instrument_id = InstrumentId(value)
    except InvalidValue as error:
        raise invalid(field, f"{error.problem} (was {echo(value)})") from None
    if known is not None and instrument_id not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise invalid(field, f"unknown instrument {echo(value)}; known: {listed}")
    return instrument_id


def parse_client_order_id(value: str, field: str = "client_order_id") -> ClientOrderId:
    try:
        return checked_client_order_id(value)
    except InvalidValue:
        raise invalid(
            field, f"must be 1-{MAX_ID_LENGTH} characters of letters, digits and ._:- (was {echo(value)})"
        ) from None


def parse_strategy_id(value: str, field: str = "strategy_id") -> StrategyId:
    try:
        return checked_strategy_id(value)
    except InvalidValue:
        raise invalid(
            field, f"must be 1-{MAX_ID_LENGTH} characters of letters, digits and ._:- (was {echo(value)})"
        ) from None


def parse_enum(value: int, table: Mapping[Any, E], field: str, enum_name: str) -> E:
    result = table.get(value)
    if result is None:
        what = "must be set" if value == 0 else f"has no value {value}"
        raise invalid(field, f"{what} (one of {', '.join(_enum_names(table, enum_name))})")
    return result


def _enum_names(table: Mapping[Any, object], enum_name: str) -> list[str]:
    enum = common_pb2.DESCRIPTOR.enum_types_by_name[enum_name]
    return [enum.values_by_number[number].name for number in sorted(table)]


def page_size(value: int, field: str = "page_size") -> int:
    if value == 0:
        return DEFAULT_PAGE_SIZE
    if not 0 < value <= MAX_PAGE_SIZE:
        raise invalid(field, f"must be between 1 and {MAX_PAGE_SIZE} (was {value})")
    return value


def encode_page_token(*key: object) -> str:
    """An opaque cursor: the sort key of the last item of this page."""
    return base64.urlsafe_b64encode("\x1f".join(str(part) for part in key).encode()).decode()


def decode_cursor(token: str, field: str = "page_token") -> tuple[int, str] | None:
    """The (timestamp, id) sort key a page token carries; None for the first page.

    A token comes back from the client, so nothing in it is trusted: the timestamp must be
    ASCII digits that fit a signed 64-bit integer (a store's INTEGER), the id short and set.
    """
    parts = decode_page_token(token, 2, field)
    if parts is None:
        return None
    stamp, key = parts
    if _CURSOR_TIME.fullmatch(stamp) is None or int(stamp) > MAX_CURSOR_TIME:
        raise invalid(field, NOT_ISSUED)
    if not key or len(key) > MAX_CURSOR_ID:
        raise invalid(field, NOT_ISSUED)
    return int(stamp), key


def decode_page_token(token: str, parts: int, field: str = "page_token") -> list[str] | None:
    """The ``parts`` pieces of a token ``encode_page_token`` made; None for an empty token."""
    if not token:
        return None
    if len(token) > MAX_PAGE_TOKEN:
        raise invalid(field, f"{NOT_ISSUED} (it is {len(token)} characters long)")
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        decoded = raw.decode("utf-8").split("\x1f")
    except (ValueError, UnicodeError):
        raise invalid(field, NOT_ISSUED) from None
    if len(decoded) != parts:
        raise invalid(field, NOT_ISSUED)
    return decoded
