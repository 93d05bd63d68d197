"""The wire form of bus messages: JSON objects with a type tag, as bytes (orjson).

Every message the engine puts on its bus (market data, signals, intents, broker reports and
engine events) encodes to one JSON object whose ``"type"`` member names the message class
(``"QuoteTick"``, ``"OrderFilled"``, ...); the other members are the message's fields by name.
Nested values (the ``Fill`` of an ``OrderFilled``, the ``OrderEvent`` of an ``OrderUpdated``,
the intent and risk rejections of an ``IntentRejected``, the ``Signal`` of a ``SignalEmitted``)
are objects without a tag: their type follows from the field.

- Decimals travel as their exact string (``str(Decimal)``: ``"1.50"`` stays ``"1.50"``, never a
  float); integers (timestamps, sequences, counts) as JSON integers; enums by name; optional
  fields are always present, ``null`` when unset. ``RiskRejection.limit``/``value`` may be an
  int count or a Decimal amount: an int stays a JSON integer, a Decimal a string.
- Decoding is strict: a missing or unknown field, a wrong JSON type, an unknown enum name or a
  value the domain constructors refuse raises :class:`CodecError` naming the message type and
  the field. A payload never decodes to something it was not encoded from, so
  ``decode(encode(m)) == m`` (and the reprs agree: same Decimal digits, same int/Decimal kinds).
- Market-data tuples are rebuilt with their plain constructors after the type checks here
  (they were validated by the engine that encoded them); dataclasses with validation
  (``Fill``, ``OrderIntent``, ``Signal``) go through it again.
- Changing a message's fields is a format change: give it a new tag rather than reinterpreting
  an old one (consumers refuse unknown fields instead of dropping data silently).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

import orjson

from application.messages import (
    CancelRejected,
    IntentRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PositionChanged,
    SignalEmitted,
    StrategyFailed,
)
from domain.errors import DomainError
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.intents import OrderIntent
from domain.market_data import (
    Bar,
    BookDelta,
    BookInvalidated,
    BookLevel,
    BookSnapshot,
    QuoteTick,
    TradeTick,
)
from domain.orders import Fill, LiquiditySide, OrderEvent, OrderStatus, OrderType, TimeInForce
from domain.risk import RiskReason, RiskRejection
from domain.signals import Signal
from domain.values import AggressorSide, OrderSide

__all__ = [
    "MESSAGE_TYPES",
    "TAG",
    "CodecError",
    "decode",
    "encode",
    "from_dict",
    "tag_of",
    "to_dict",
]

TAG = "type"
"""The member of every encoded message that names its type."""

Json = dict[str, Any]
En = TypeVar("En", bound=Enum)


class CodecError(ValueError):
    """A message that cannot be encoded, or a payload that is not a message this codec wrote.

    The text names the message type and the field at fault, e.g.
    ``cannot decode QuoteTick: bid_price must be a decimal string, got 1.5``.
    """


# -- encoding helpers ---------------------------------------------------------------------


def _d(value: object, field: str) -> str:
    """A Decimal as its exact text; anything else (a float above all) is a bug upstream."""
    if type(value) is Decimal and value.is_finite():
        return str(value)
    raise CodecError(f"{field} must be a finite Decimal, got {value!r}")


def _od(value: object, field: str) -> str | None:
    return None if value is None else _d(value, field)


def _i(value: object, field: str) -> int:
    if type(value) is int:
        return value
    raise CodecError(f"{field} must be an int, got {value!r}")


def _b(value: object, field: str) -> bool:
    if type(value) is bool:
        return value
    raise CodecError(f"{field} must be a bool, got {value!r}")


def _s(value: object, field: str) -> str:
    if isinstance(value, str):
        return value
    raise CodecError(f"{field} must be a string, got {value!r}")


def _os(value: object, field: str) -> str | None:
    return None if value is None else _s(value, field)


def _e(value: object, kind: type[Enum], field: str) -> str:
    if isinstance(value, kind):
        return value.name
    raise CodecError(f"{field} must be a {kind.__name__}, got {value!r}")


def _oe(value: object, kind: type[Enum], field: str) -> str | None:
    return None if value is None else _e(value, kind, field)


def _levels(levels: object, field: str) -> list[list[str]]:
    if not isinstance(levels, tuple):
        raise CodecError(f"{field} must be a tuple of (price, size) levels, got {levels!r}")
    out = []
    for level in levels:
        if type(level) is not tuple or len(level) != 2:
            raise CodecError(f"{field} must hold (price, size) pairs, got {level!r}")
        out.append([_d(level[0], field), _d(level[1], field)])
    return out


def _amount(value: object, field: str) -> str | int | None:
    """RiskRejection.limit/value: an int count stays an int, a Decimal amount becomes text."""
    if value is None or type(value) is int:
        return value
    return _d(value, field)


# -- encoders, one per type ---------------------------------------------------------------


def _enc_trade(m: TradeTick) -> Json:
    return {
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "price": _d(m.price, "price"),
        "size": _d(m.size, "size"),
        "aggressor": _e(m.aggressor, AggressorSide, "aggressor"),
        "trade_id": _s(m.trade_id, "trade_id"),
        "ts_event": _i(m.ts_event, "ts_event"),
        "ts_init": _i(m.ts_init, "ts_init"),
    }


def _enc_quote(m: QuoteTick) -> Json:
    return {
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "bid_price": _d(m.bid_price, "bid_price"),
        "bid_size": _d(m.bid_size, "bid_size"),
        "ask_price": _d(m.ask_price, "ask_price"),
        "ask_size": _d(m.ask_size, "ask_size"),
        "ts_event": _i(m.ts_event, "ts_event"),
        "ts_init": _i(m.ts_init, "ts_init"),
    }


def _enc_bar(m: Bar) -> Json:
    return {
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "open": _d(m.open, "open"),
        "high": _d(m.high, "high"),
        "low": _d(m.low, "low"),
        "close": _d(m.close, "close"),
        "volume": _d(m.volume, "volume"),
        "interval_ns": _i(m.interval_ns, "interval_ns"),
        "ts_event": _i(m.ts_event, "ts_event"),
        "ts_init": _i(m.ts_init, "ts_init"),
    }


def _enc_snapshot(m: BookSnapshot) -> Json:
    return {
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "bids": _levels(m.bids, "bids"),
        "asks": _levels(m.asks, "asks"),
        "sequence": _i(m.sequence, "sequence"),
        "ts_event": _i(m.ts_event, "ts_event"),
        "ts_init": _i(m.ts_init, "ts_init"),
    }


def _enc_delta(m: BookDelta) -> Json:
    return {
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "bids": _levels(m.bids, "bids"),
        "asks": _levels(m.asks, "asks"),
        "first_sequence": _i(m.first_sequence, "first_sequence"),
        "last_sequence": _i(m.last_sequence, "last_sequence"),
        "ts_event": _i(m.ts_event, "ts_event"),
        "ts_init": _i(m.ts_init, "ts_init"),
    }


def _enc_invalidated(m: BookInvalidated) -> Json:
    return {
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "reason": _s(m.reason, "reason"),
        "ts_event": _i(m.ts_event, "ts_event"),
        "ts_init": _i(m.ts_init, "ts_init"),
    }


def _enc_intent(m: OrderIntent) -> Json:
    if type(m) is not OrderIntent:
        raise CodecError(f"intent must be an OrderIntent, got {m!r}")
    return {
        "strategy_id": _s(m.strategy_id, "strategy_id"),
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "side": _e(m.side, OrderSide, "side"),
        "quantity": _d(m.quantity, "quantity"),
        "order_type": _e(m.order_type, OrderType, "order_type"),
        "price": _od(m.price, "price"),
        "stop_price": _od(m.stop_price, "stop_price"),
        "time_in_force": _e(m.time_in_force, TimeInForce, "time_in_force"),
        "reduce_only": _b(m.reduce_only, "reduce_only"),
        "reason": _s(m.reason, "reason"),
        "ts_event": _i(m.ts_event, "ts_event"),
    }


def _enc_signal(m: Signal) -> Json:
    if type(m) is not Signal:
        raise CodecError(f"signal must be a Signal, got {m!r}")
    strength = m.strength
    if type(strength) is not float and type(strength) is not int:
        raise CodecError(f"strength must be a float, got {strength!r}")
    return {
        "strategy_id": _s(m.strategy_id, "strategy_id"),
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "side": _oe(m.side, OrderSide, "side"),
        "target_position": _od(m.target_position, "target_position"),
        "strength": strength,
        "reason": _s(m.reason, "reason"),
        "ts_event": _i(m.ts_event, "ts_event"),
    }


def _enc_fill(m: Fill) -> Json:
    if type(m) is not Fill:
        raise CodecError(f"fill must be a Fill, got {m!r}")
    return {
        "instrument_id": _s(m.instrument_id, "fill.instrument_id"),
        "client_order_id": _s(m.client_order_id, "fill.client_order_id"),
        "venue_order_id": _os(m.venue_order_id, "fill.venue_order_id"),
        "trade_id": _s(m.trade_id, "fill.trade_id"),
        "side": _e(m.side, OrderSide, "fill.side"),
        "quantity": _d(m.quantity, "fill.quantity"),
        "price": _d(m.price, "fill.price"),
        "fee": _d(m.fee, "fill.fee"),
        "liquidity": _e(m.liquidity, LiquiditySide, "fill.liquidity"),
        "strategy_id": _os(m.strategy_id, "fill.strategy_id"),
        "ts_event": _i(m.ts_event, "fill.ts_event"),
    }


def _enc_order_event(m: OrderEvent) -> Json:
    if type(m) is not OrderEvent:
        raise CodecError(f"event must be an OrderEvent, got {m!r}")
    return {
        "client_order_id": _s(m.client_order_id, "event.client_order_id"),
        "status": _e(m.status, OrderStatus, "event.status"),
        "ts_event": _i(m.ts_event, "event.ts_event"),
        "reason": _s(m.reason, "event.reason"),
        "fill": None if m.fill is None else _enc_fill(m.fill),
        "venue_order_id": _os(m.venue_order_id, "event.venue_order_id"),
        "triggered_price": _od(m.triggered_price, "event.triggered_price"),
    }


def _enc_rejection(m: RiskRejection) -> Json:
    if type(m) is not RiskRejection:
        raise CodecError(f"rejections must hold RiskRejection, got {m!r}")
    return {
        "reason": _e(m.reason, RiskReason, "rejection.reason"),
        "message": _s(m.message, "rejection.message"),
        "limit": _amount(m.limit, "rejection.limit"),
        "value": _amount(m.value, "rejection.value"),
        "instrument_id": _os(m.instrument_id, "rejection.instrument_id"),
    }


def _enc_accepted(m: OrderAccepted) -> Json:
    return {
        "client_order_id": _s(m.client_order_id, "client_order_id"),
        "venue_order_id": _s(m.venue_order_id, "venue_order_id"),
        "ts_event": _i(m.ts_event, "ts_event"),
    }


def _enc_report(m: OrderRejected | OrderCanceled | OrderExpired | CancelRejected) -> Json:
    return {
        "client_order_id": _s(m.client_order_id, "client_order_id"),
        "reason": _s(m.reason, "reason"),
        "ts_event": _i(m.ts_event, "ts_event"),
    }


def _enc_filled(m: OrderFilled) -> Json:
    return {"fill": _enc_fill(m.fill)}


def _enc_updated(m: OrderUpdated) -> Json:
    return {
        "event": _enc_order_event(m.event),
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "strategy_id": _os(m.strategy_id, "strategy_id"),
    }


def _enc_position(m: PositionChanged) -> Json:
    return {
        "instrument_id": _s(m.instrument_id, "instrument_id"),
        "quantity": _d(m.quantity, "quantity"),
        "avg_entry_price": _od(m.avg_entry_price, "avg_entry_price"),
        "realized_pnl": _d(m.realized_pnl, "realized_pnl"),
        "fees": _d(m.fees, "fees"),
        "ts_event": _i(m.ts_event, "ts_event"),
    }


def _enc_intent_rejected(m: IntentRejected) -> Json:
    if not isinstance(m.rejections, tuple):
        raise CodecError(f"rejections must be a tuple, got {m.rejections!r}")
    return {
        "intent": _enc_intent(m.intent),
        "rejections": [_enc_rejection(r) for r in m.rejections],
        "ts_event": _i(m.ts_event, "ts_event"),
    }


def _enc_strategy_failed(m: StrategyFailed) -> Json:
    return {
        "strategy_id": _s(m.strategy_id, "strategy_id"),
        "error": _s(m.error, "error"),
        "ts_event": _i(m.ts_event, "ts_event"),
    }


def _enc_signal_emitted(m: SignalEmitted) -> Json:
    return {"signal": _enc_signal(m.signal)}


# -- decoding -------------------------------------------------------------------------------


class _Fields:
    """Typed access to one decoded JSON object; every error names ``where`` and the field."""

    __slots__ = ("data", "where")

    def __init__(self, data: object, where: str, names: frozenset[str]) -> None:
        if type(data) is not dict:
            raise CodecError(f"cannot decode {where}: expected a JSON object, got {data!r}")
        if data.keys() != names:
            missing = sorted(names - data.keys())
            unknown = sorted(map(repr, data.keys() - names))
            problems = []
            if missing:
                problems.append(f"missing field(s) {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown field(s) {', '.join(unknown)}")
            raise CodecError(f"cannot decode {where}: {'; '.join(problems)}")
        self.data: dict[str, Any] = data
        self.where = where

    def fail(self, field: str, problem: str) -> CodecError:
        return CodecError(f"cannot decode {self.where}: {field} {problem}, got {self.data[field]!r}")

    def decimal(self, field: str) -> Decimal:
        raw = self.data[field]
        if isinstance(raw, str):
            try:
                value = Decimal(raw)
            except InvalidOperation:
                pass
            else:
                if value.is_finite():
                    return value
        raise self.fail(field, "must be a finite decimal string")

    def opt_decimal(self, field: str) -> Decimal | None:
        return None if self.data[field] is None else self.decimal(field)

    def integer(self, field: str) -> int:
        raw = self.data[field]
        if type(raw) is int:
            return raw
        raise self.fail(field, "must be an integer")

    def text(self, field: str) -> str:
        raw = self.data[field]
        if isinstance(raw, str):
            return raw
        raise self.fail(field, "must be a string")

    def opt_text(self, field: str) -> str | None:
        return None if self.data[field] is None else self.text(field)

    def boolean(self, field: str) -> bool:
        raw = self.data[field]
        if type(raw) is bool:
            return raw
        raise self.fail(field, "must be true or false")

    def enum(self, field: str, kind: type[En]) -> En:
        raw = self.data[field]
        if isinstance(raw, str):
            try:
                return kind[raw]
            except KeyError:
                pass
        names = ", ".join(kind.__members__)
        raise self.fail(field, f"must be a {kind.__name__} name ({names})")

    def opt_enum(self, field: str, kind: type[En]) -> En | None:
        return None if self.data[field] is None else self.enum(field, kind)

    def instrument(self, field: str) -> InstrumentId:
        raw = self.text(field)
        try:
            return InstrumentId(raw)
        except DomainError:
            raise self.fail(field, "must be an instrument id SYMBOL.VENUE") from None

    def opt_instrument(self, field: str) -> InstrumentId | None:
        return None if self.data[field] is None else self.instrument(field)

    def levels(self, field: str) -> tuple[BookLevel, ...]:
        raw = self.data[field]
        if type(raw) is not list:
            raise self.fail(field, "must be a list of [price, size] pairs")
        out = []
        for level in raw:
            if type(level) is not list or len(level) != 2:
                raise self.fail(field, "must be a list of [price, size] pairs")
            pair = []
            for text in level:
                value = None
                if isinstance(text, str):
                    try:
                        value = Decimal(text)
                    except InvalidOperation:
                        value = None
                if value is None or not value.is_finite():
                    raise self.fail(field, "must hold finite decimal strings")
                pair.append(value)
            out.append((pair[0], pair[1]))
        return tuple(out)

    def amount(self, field: str) -> Decimal | int | None:
        raw = self.data[field]
        if raw is None or type(raw) is int:
            return raw
        return self.decimal(field)

    def number(self, field: str) -> float | int:
        raw = self.data[field]
        if type(raw) is float or type(raw) is int:
            return raw
        raise self.fail(field, "must be a number")


def _fields(*names: str) -> frozenset[str]:
    return frozenset(names)


_TS = ("ts_event", "ts_init")
_F_TRADE = _fields("instrument_id", "price", "size", "aggressor", "trade_id", *_TS, TAG)
_F_QUOTE = _fields("instrument_id", "bid_price", "bid_size", "ask_price", "ask_size", *_TS, TAG)
_F_BAR = _fields("instrument_id", "open", "high", "low", "close", "volume", "interval_ns", *_TS, TAG)
_F_SNAPSHOT = _fields("instrument_id", "bids", "asks", "sequence", *_TS, TAG)
_F_DELTA = _fields("instrument_id", "bids", "asks", "first_sequence", "last_sequence", *_TS, TAG)
_F_INVALIDATED = _fields("instrument_id", "reason", *_TS, TAG)
_F_INTENT = _fields(
    "strategy_id",
    "instrument_id",
    "side",
    "quantity",
    "order_type",
    "price",
    "stop_price",
    "time_in_force",
    "reduce_only",
    "reason",
    "ts_event",
)
_F_SIGNAL = _fields(
    "strategy_id", "instrument_id", "side", "target_position", "strength", "reason", "ts_event"
)
_F_INTENT_TOP = _F_INTENT | {TAG}
_F_SIGNAL_TOP = _F_SIGNAL | {TAG}
_F_FILL = _fields(
    "instrument_id",
    "client_order_id",
    "venue_order_id",
    "trade_id",
    "side",
    "quantity",
    "price",
    "fee",
    "liquidity",
    "strategy_id",
    "ts_event",
)
_F_EVENT = _fields(
    "client_order_id", "status", "ts_event", "reason", "fill", "venue_order_id", "triggered_price"
)
_F_REJECTION = _fields("reason", "message", "limit", "value", "instrument_id")
_F_ACCEPTED = _fields("client_order_id", "venue_order_id", "ts_event", TAG)
_F_REPORT = _fields("client_order_id", "reason", "ts_event", TAG)
_F_FILLED = _fields("fill", TAG)
_F_UPDATED = _fields("event", "instrument_id", "strategy_id", TAG)
_F_POSITION = _fields("instrument_id", "quantity", "avg_entry_price", "realized_pnl", "fees", "ts_event", TAG)
_F_INTENT_REJECTED = _fields("intent", "rejections", "ts_event", TAG)
_F_STRATEGY_FAILED = _fields("strategy_id", "error", "ts_event", TAG)
_F_SIGNAL_EMITTED = _fields("signal", TAG)


def _refused(where: str, error: DomainError) -> CodecError:
    """A validating domain constructor refused the decoded fields."""
    return CodecError(f"cannot decode {where}: {error}")


def _dec_trade(data: Json) -> TradeTick:
    f = _Fields(data, "TradeTick", _F_TRADE)
    return TradeTick(
        f.instrument("instrument_id"),
        f.decimal("price"),
        f.decimal("size"),
        f.enum("aggressor", AggressorSide),
        f.text("trade_id"),
        f.integer("ts_event"),
        f.integer("ts_init"),
    )


def _dec_quote(data: Json) -> QuoteTick:
    f = _Fields(data, "QuoteTick", _F_QUOTE)
    return QuoteTick(
        f.instrument("instrument_id"),
        f.decimal("bid_price"),
        f.decimal("bid_size"),
        f.decimal("ask_price"),
        f.decimal("ask_size"),
        f.integer("ts_event"),
        f.integer("ts_init"),
    )


def _dec_bar(data: Json) -> Bar:
    f = _Fields(data, "Bar", _F_BAR)
    return Bar(
        f.instrument("instrument_id"),
        f.decimal("open"),
        f.decimal("high"),
        f.decimal("low"),
        f.decimal("close"),
        f.decimal("volume"),
        f.integer("interval_ns"),
        f.integer("ts_event"),
        f.integer("ts_init"),
    )


def _dec_snapshot(data: Json) -> BookSnapshot:
    f = _Fields(data, "BookSnapshot", _F_SNAPSHOT)
    return BookSnapshot(
        f.instrument("instrument_id"),
        f.levels("bids"),
        f.levels("asks"),
        f.integer("sequence"),
        f.integer("ts_event"),
        f.integer("ts_init"),
    )


def _dec_delta(data: Json) -> BookDelta:
    f = _Fields(data, "BookDelta", _F_DELTA)
    return BookDelta(
        f.instrument("instrument_id"),
        f.levels("bids"),
        f.levels("asks"),
        f.integer("first_sequence"),
        f.integer("last_sequence"),
        f.integer("ts_event"),
        f.integer("ts_init"),
    )


def _dec_invalidated(data: Json) -> BookInvalidated:
    f = _Fields(data, "BookInvalidated", _F_INVALIDATED)
    return BookInvalidated(
        f.instrument("instrument_id"), f.text("reason"), f.integer("ts_event"), f.integer("ts_init")
    )


def _dec_intent(
    data: object, where: str = "OrderIntent", names: frozenset[str] = _F_INTENT_TOP
) -> OrderIntent:
    f = _Fields(data, where, names)
    strategy_id = StrategyId(f.text("strategy_id"))
    instrument_id = f.instrument("instrument_id")
    side = f.enum("side", OrderSide)
    quantity = f.decimal("quantity")
    order_type = f.enum("order_type", OrderType)
    price = f.opt_decimal("price")
    stop_price = f.opt_decimal("stop_price")
    time_in_force = f.enum("time_in_force", TimeInForce)
    reduce_only = f.boolean("reduce_only")
    reason = f.text("reason")
    ts_event = f.integer("ts_event")
    try:
        return OrderIntent(
            strategy_id=strategy_id,
            instrument_id=instrument_id,
            side=side,
            quantity=quantity,
            order_type=order_type,
            price=price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
            reason=reason,
            ts_event=ts_event,
        )
    except DomainError as error:
        raise _refused(where, error) from None


def _dec_signal(data: object, where: str = "Signal", names: frozenset[str] = _F_SIGNAL_TOP) -> Signal:
    f = _Fields(data, where, names)
    strategy_id = StrategyId(f.text("strategy_id"))
    instrument_id = f.instrument("instrument_id")
    side = f.opt_enum("side", OrderSide)
    target_position = f.opt_decimal("target_position")
    strength = f.number("strength")
    reason = f.text("reason")
    ts_event = f.integer("ts_event")
    try:
        return Signal(
            strategy_id=strategy_id,
            instrument_id=instrument_id,
            side=side,
            target_position=target_position,
            strength=strength,
            reason=reason,
            ts_event=ts_event,
        )
    except DomainError as error:
        raise _refused(where, error) from None


def _dec_fill(data: object, where: str) -> Fill:
    f = _Fields(data, where, _F_FILL)
    instrument_id = f.instrument("instrument_id")
    client_order_id = ClientOrderId(f.text("client_order_id"))
    venue_order_id = f.opt_text("venue_order_id")
    trade_id = TradeId(f.text("trade_id"))
    side = f.enum("side", OrderSide)
    quantity = f.decimal("quantity")
    price = f.decimal("price")
    fee = f.decimal("fee")
    liquidity = f.enum("liquidity", LiquiditySide)
    strategy_id = f.opt_text("strategy_id")
    ts_event = f.integer("ts_event")
    try:
        return Fill(
            instrument_id=instrument_id,
            client_order_id=client_order_id,
            venue_order_id=None if venue_order_id is None else VenueOrderId(venue_order_id),
            trade_id=trade_id,
            side=side,
            quantity=quantity,
            price=price,
            fee=fee,
            liquidity=liquidity,
            strategy_id=None if strategy_id is None else StrategyId(strategy_id),
            ts_event=ts_event,
        )
    except DomainError as error:
        raise _refused(where, error) from None


def _dec_order_event(data: object, where: str) -> OrderEvent:
    f = _Fields(data, where, _F_EVENT)
    raw_fill = f.data["fill"]
    venue_order_id = f.opt_text("venue_order_id")
    return OrderEvent(
        client_order_id=ClientOrderId(f.text("client_order_id")),
        status=f.enum("status", OrderStatus),
        ts_event=f.integer("ts_event"),
        reason=f.text("reason"),
        fill=None if raw_fill is None else _dec_fill(raw_fill, f"{where}.fill"),
        venue_order_id=None if venue_order_id is None else VenueOrderId(venue_order_id),
        triggered_price=f.opt_decimal("triggered_price"),
    )


def _dec_rejection(data: object, where: str) -> RiskRejection:
    f = _Fields(data, where, _F_REJECTION)
    return RiskRejection(
        reason=f.enum("reason", RiskReason),
        message=f.text("message"),
        limit=f.amount("limit"),
        value=f.amount("value"),
        instrument_id=f.opt_instrument("instrument_id"),
    )


def _dec_accepted(data: Json) -> OrderAccepted:
    f = _Fields(data, "OrderAccepted", _F_ACCEPTED)
    return OrderAccepted(
        client_order_id=ClientOrderId(f.text("client_order_id")),
        venue_order_id=VenueOrderId(f.text("venue_order_id")),
        ts_event=f.integer("ts_event"),
    )


_Report = TypeVar("_Report", OrderRejected, OrderCanceled, OrderExpired, CancelRejected)


def _report_decoder(kind: type[_Report]) -> Callable[[Json], _Report]:
    name = kind.__name__

    def decode_report(data: Json) -> _Report:
        f = _Fields(data, name, _F_REPORT)
        return kind(
            client_order_id=ClientOrderId(f.text("client_order_id")),
            reason=f.text("reason"),
            ts_event=f.integer("ts_event"),
        )

    return decode_report


def _dec_filled(data: Json) -> OrderFilled:
    f = _Fields(data, "OrderFilled", _F_FILLED)
    return OrderFilled(fill=_dec_fill(f.data["fill"], "OrderFilled.fill"))


def _dec_updated(data: Json) -> OrderUpdated:
    f = _Fields(data, "OrderUpdated", _F_UPDATED)
    strategy_id = f.opt_text("strategy_id")
    return OrderUpdated(
        event=_dec_order_event(f.data["event"], "OrderUpdated.event"),
        instrument_id=f.instrument("instrument_id"),
        strategy_id=None if strategy_id is None else StrategyId(strategy_id),
    )


def _dec_position(data: Json) -> PositionChanged:
    f = _Fields(data, "PositionChanged", _F_POSITION)
    return PositionChanged(
        instrument_id=f.instrument("instrument_id"),
        quantity=f.decimal("quantity"),
        avg_entry_price=f.opt_decimal("avg_entry_price"),
        realized_pnl=f.decimal("realized_pnl"),
        fees=f.decimal("fees"),
        ts_event=f.integer("ts_event"),
    )


def _dec_intent_rejected(data: Json) -> IntentRejected:
    f = _Fields(data, "IntentRejected", _F_INTENT_REJECTED)
    raw = f.data["rejections"]
    if type(raw) is not list:
        raise f.fail("rejections", "must be a list")
    return IntentRejected(
        intent=_dec_intent(f.data["intent"], "IntentRejected.intent", _F_INTENT),
        rejections=tuple(
            _dec_rejection(item, f"IntentRejected.rejections[{index}]") for index, item in enumerate(raw)
        ),
        ts_event=f.integer("ts_event"),
    )


def _dec_strategy_failed(data: Json) -> StrategyFailed:
    f = _Fields(data, "StrategyFailed", _F_STRATEGY_FAILED)
    return StrategyFailed(
        strategy_id=StrategyId(f.text("strategy_id")), error=f.text("error"), ts_event=f.integer("ts_event")
    )


def _dec_signal_emitted(data: Json) -> SignalEmitted:
    f = _Fields(data, "SignalEmitted", _F_SIGNAL_EMITTED)
    return SignalEmitted(signal=_dec_signal(f.data["signal"], "SignalEmitted.signal", _F_SIGNAL))


# -- the table ------------------------------------------------------------------------------

_CODECS: dict[type, tuple[Callable[[Any], Json], Callable[[Json], object]]] = {
    TradeTick: (_enc_trade, _dec_trade),
    QuoteTick: (_enc_quote, _dec_quote),
    Bar: (_enc_bar, _dec_bar),
    BookSnapshot: (_enc_snapshot, _dec_snapshot),
    BookDelta: (_enc_delta, _dec_delta),
    BookInvalidated: (_enc_invalidated, _dec_invalidated),
    OrderIntent: (_enc_intent, _dec_intent),
    Signal: (_enc_signal, _dec_signal),
    OrderAccepted: (_enc_accepted, _dec_accepted),
    OrderRejected: (_enc_report, _report_decoder(OrderRejected)),
    OrderFilled: (_enc_filled, _dec_filled),
    OrderCanceled: (_enc_report, _report_decoder(OrderCanceled)),
    OrderExpired: (_enc_report, _report_decoder(OrderExpired)),
    CancelRejected: (_enc_report, _report_decoder(CancelRejected)),
    OrderUpdated: (_enc_updated, _dec_updated),
    PositionChanged: (_enc_position, _dec_position),
    IntentRejected: (_enc_intent_rejected, _dec_intent_rejected),
    StrategyFailed: (_enc_strategy_failed, _dec_strategy_failed),
    SignalEmitted: (_enc_signal_emitted, _dec_signal_emitted),
}

MESSAGE_TYPES: Mapping[str, type] = {kind.__name__: kind for kind in _CODECS}
"""Every type the codec handles, by its tag."""

_ENCODERS = {kind: (kind.__name__, encoder) for kind, (encoder, _) in _CODECS.items()}
_DECODERS = {kind.__name__: decoder for kind, (_, decoder) in _CODECS.items()}


def tag_of(message_type: type) -> str:
    """The tag of ``message_type``; CodecError when the codec does not handle it."""
    if message_type not in _ENCODERS:
        raise CodecError(f"{message_type.__name__} is not a message type the codec handles")
    return message_type.__name__


def to_dict(message: object) -> Json:
    """``message`` as a JSON-able dict with its tag under ``"type"``."""
    try:
        tag, encoder = _ENCODERS[type(message)]
    except KeyError:
        raise CodecError(
            f"cannot encode {type(message).__name__}: not a message type the codec handles"
        ) from None
    data: Json = {TAG: tag}  # first, so that a stored payload reads as "type, then fields"
    try:
        data.update(encoder(message))
    except CodecError as error:
        raise CodecError(f"cannot encode {tag}: {error}") from None
    return data


def from_dict(data: Mapping[str, Any]) -> object:
    """The message ``data`` (as made by :func:`to_dict`) encodes; CodecError when it is not one."""
    if type(data) is not dict:
        raise CodecError(f"cannot decode: expected a JSON object, got {type(data).__name__}")
    tag = data.get(TAG)
    decoder = _DECODERS.get(tag) if type(tag) is str else None
    if decoder is None:
        if tag is None:
            raise CodecError(f"cannot decode: no {TAG!r} member naming the message type")
        raise CodecError(f"cannot decode: unknown message type {tag!r}")
    return decoder(data)


def encode(message: object) -> bytes:
    """``message`` as JSON bytes; CodecError for a type the codec does not handle or a bad field."""
    data = to_dict(message)
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError as error:  # an int beyond 64 bits, a non-str key
        raise CodecError(f"cannot encode {data[TAG]}: {error}") from None


def decode(payload: bytes | bytearray | memoryview | str) -> object:
    """The message in ``payload`` (JSON from :func:`encode`); CodecError when it is not one."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise CodecError(f"cannot decode: not JSON ({error})") from None
    return from_dict(data)
