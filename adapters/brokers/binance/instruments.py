"""The venue's symbols and their filters: domain instruments, and an order checked before sending.

``exchangeInfo`` gives each symbol's filters. The domain ``Instrument`` keeps what sizing and
risk need (tick, lot, minimums); ``SymbolRules`` keeps every filter the broker checks an order
against before it goes out (maxima included), so an order the venue would refuse is refused
here, naming the filter, without spending a request. A filter value of zero means "no limit".
A market order's notional needs the venue's average price, which is not known here: the venue
checks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow
from typing import Any

import orjson

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import MalformedPayload
from adapters.brokers.binance.order_params import VENUE, instrument_id_of, venue_order_type
from adapters.brokers.binance.rate_limits import RateLimit, RateLimiter, parse_rate_limits
from adapters.brokers.binance.rest import RestCore, SyncRestClient
from adapters.brokers.binance.venue_clock import VenueClock
from adapters.system_clock import LiveClock
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.orders import Order, OrderType
from domain.values import ZERO, exact_mul, non_negative

EXCHANGE_INFO_WEIGHT = 20
_STEPS = Context(prec=100, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])


def _off_step(value: Decimal, step: Decimal) -> bool:
    return bool(step) and bool(_STEPS.remainder(value, step))


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    """One filter's ``min``/``max``/``step`` triple; zero disables each."""

    minimum: Decimal = ZERO
    maximum: Decimal = ZERO
    step: Decimal = ZERO

    @property
    def active(self) -> bool:
        return bool(self.minimum or self.maximum or self.step)


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolRules:
    """A symbol as the venue trades it: assets, status, order types and filters."""

    symbol: str
    base: str
    quote: str
    status: str
    order_types: frozenset[str]
    price: Bounds
    lot: Bounds
    market_lot: Bounds
    min_notional: Decimal = ZERO
    max_notional: Decimal = ZERO
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False

    @property
    def instrument_id(self) -> InstrumentId:
        return instrument_id_of(self.symbol)

    def instrument(self) -> Instrument:
        """The domain instrument: tick, lot, minimum quantity and notional of these rules.

        Raises InvalidValue when the venue gives no tick or no step (the domain needs both)."""
        if not self.price.step:
            raise InvalidValue("tickSize", self.price.step, f"of {self.symbol} must be set")
        if not self.lot.step:
            raise InvalidValue("stepSize", self.lot.step, f"of {self.symbol} must be set")
        return Instrument(
            id=self.instrument_id,
            base=self.base,
            quote=self.quote,
            price_tick=self.price.step,
            lot_size=self.lot.step,
            min_quantity=self.lot.minimum,
            min_notional=self.min_notional,
        )


def rules_of(info: Mapping[str, Any]) -> SymbolRules:
    """One ``exchangeInfo`` symbol; raises MalformedPayload naming what is missing or wrong."""
    symbol = info.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise MalformedPayload("an exchangeInfo symbol has no name", info)
    base, quote = info.get("baseAsset"), info.get("quoteAsset")
    if not isinstance(base, str) or not isinstance(quote, str):
        raise MalformedPayload(f"{symbol}: baseAsset/quoteAsset missing", info)
    filters = info.get("filters", [])
    if not isinstance(filters, list):
        raise MalformedPayload(f"{symbol}: filters must be a list", filters)
    by_type = {f.get("filterType"): f for f in filters if isinstance(f, dict)}
    price = _bounds(symbol, by_type.get("PRICE_FILTER"), "minPrice", "maxPrice", "tickSize")
    lot = _bounds(symbol, by_type.get("LOT_SIZE"), "minQty", "maxQty", "stepSize")
    market_lot = _bounds(symbol, by_type.get("MARKET_LOT_SIZE"), "minQty", "maxQty", "stepSize")
    notional = by_type.get("NOTIONAL")
    legacy = by_type.get("MIN_NOTIONAL")
    min_notional = max_notional = ZERO
    apply_min, apply_max = True, False
    if notional is not None:
        min_notional = _decimal(symbol, notional, "minNotional")
        max_notional = _decimal(symbol, notional, "maxNotional")
        apply_min = notional.get("applyMinToMarket", True) is True
        apply_max = notional.get("applyMaxToMarket", False) is True
    elif legacy is not None:
        min_notional = _decimal(symbol, legacy, "minNotional")
        apply_min = legacy.get("applyToMarket", True) is True
    order_types = info.get("orderTypes", [])
    return SymbolRules(
        symbol=symbol,
        base=base,
        quote=quote,
        status=str(info.get("status", "TRADING")),
        order_types=frozenset(t for t in order_types if isinstance(t, str))
        if isinstance(order_types, list)
        else frozenset(),
        price=price,
        lot=lot,
        market_lot=market_lot,
        min_notional=min_notional,
        max_notional=max_notional,
        apply_min_to_market=apply_min,
        apply_max_to_market=apply_max,
    )


def _decimal(symbol: str, entry: Mapping[str, Any], key: str) -> Decimal:
    value = entry.get(key, "0")
    try:
        return non_negative(value, key)
    except InvalidValue:
        raise MalformedPayload(f"{symbol}: {entry.get('filterType')} {key} is not a decimal", value) from None


def _bounds(symbol: str, entry: Mapping[str, Any] | None, low: str, high: str, step: str) -> Bounds:
    if entry is None:
        return Bounds()
    return Bounds(
        minimum=_decimal(symbol, entry, low),
        maximum=_decimal(symbol, entry, high),
        step=_decimal(symbol, entry, step),
    )


def check_order(order: Order, rules: SymbolRules) -> str | None:
    """Why the venue would refuse ``order`` under ``rules`` (the filter named), or None."""
    if rules.status != "TRADING":
        return f"{rules.symbol} is not trading (status {rules.status})"
    venue_type = venue_order_type(order)
    if rules.order_types and venue_type not in rules.order_types:
        return f"{rules.symbol} does not take {venue_type} orders"
    for field, value in (("price", order.price), ("stopPrice", order.stop_price)):
        if value is not None:
            problem = _check_bounds(
                "PRICE_FILTER", field, value, rules.price, ("minPrice", "maxPrice", "tickSize")
            )
            if problem:
                return problem
    quantity = order.quantity
    problem = _check_bounds("LOT_SIZE", "quantity", quantity, rules.lot, ("minQty", "maxQty", "stepSize"))
    if problem:
        return problem
    market = order.effective_type in (OrderType.MARKET, OrderType.STOP_MARKET)
    if market and rules.market_lot.active:
        problem = _check_bounds(
            "MARKET_LOT_SIZE", "quantity", quantity, rules.market_lot, ("minQty", "maxQty", "stepSize")
        )
        if problem:
            return problem
    reference = order.price if order.price is not None else order.stop_price
    if reference is None:
        return None  # a market order's notional is checked by the venue at its average price
    notional = exact_mul(reference, quantity)
    if rules.min_notional and notional < rules.min_notional and (not market or rules.apply_min_to_market):
        return f"NOTIONAL: notional {notional} is below minNotional {rules.min_notional}"
    if rules.max_notional and notional > rules.max_notional and (not market or rules.apply_max_to_market):
        return f"NOTIONAL: notional {notional} is above maxNotional {rules.max_notional}"
    return None


def _check_bounds(
    name: str, field: str, value: Decimal, bounds: Bounds, names: tuple[str, str, str]
) -> str | None:
    low, high, step = names
    if bounds.minimum and value < bounds.minimum:
        return f"{name}: {field} {value} is below {low} {bounds.minimum}"
    if bounds.maximum and value > bounds.maximum:
        return f"{name}: {field} {value} is above {high} {bounds.maximum}"
    if _off_step(value, bounds.step):
        return f"{name}: {field} {value} is not a multiple of {step} {bounds.step}"
    return None


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    """What ``exchangeInfo`` says about the symbols asked: their rules and the venue's limits."""

    rate_limits: tuple[RateLimit, ...]
    rules: dict[str, SymbolRules]


def exchange_info_params(symbols: Sequence[str]) -> list[tuple[str, object]]:
    """``symbols=["BTCUSDT","ETHUSDT"]``: the venue takes a JSON array in the query."""
    return [("symbols", orjson.dumps(list(symbols)).decode())]


def read_exchange_info(body: Any) -> ExchangeInfo:
    """Parse an ``exchangeInfo`` answer; raises MalformedPayload naming what is wrong."""
    if not isinstance(body, dict):
        raise MalformedPayload("exchangeInfo must be an object", body)
    symbols = body.get("symbols", [])
    if not isinstance(symbols, list):
        raise MalformedPayload("exchangeInfo symbols must be a list", symbols)
    rules = {}
    for info in symbols:
        if not isinstance(info, dict):
            raise MalformedPayload("an exchangeInfo symbol must be an object", info)
        parsed = rules_of(info)
        rules[parsed.symbol] = parsed
    return ExchangeInfo(parse_rate_limits(body.get("rateLimits", [])), rules)


def fetch_exchange_info(client: SyncRestClient, symbols: Sequence[str]) -> ExchangeInfo:
    body = client.request(
        "GET", "/api/v3/exchangeInfo", exchange_info_params(symbols), weight=EXCHANGE_INFO_WEIGHT
    )
    return read_exchange_info(body)


def symbols_of(instrument_ids: Sequence[InstrumentId]) -> list[str]:
    """The venue symbols of ``instrument_ids``; raises ValueError for one of another venue."""
    symbols = []
    for raw in instrument_ids:
        instrument_id = InstrumentId(raw)
        if instrument_id.venue != VENUE:
            raise ValueError(f"instrument {instrument_id} is not on {VENUE}")
        symbols.append(instrument_id.symbol)
    return symbols


class BinanceInstrumentProvider:
    """``InstrumentProvider``: the venue's own instruments, read from ``exchangeInfo``.

    ``credentials`` may be None: the call is public. ``transport`` replaces the network (tests).
    """

    def __init__(
        self,
        config: BinanceBrokerConfig,
        credentials: ApiCredentials | None,
        *,
        transport: Any = None,
    ) -> None:
        self._config = config
        self._credentials = credentials
        self._transport = transport

    def instruments(self, instrument_ids: Sequence[InstrumentId]) -> list[Instrument]:
        """One per id, in order; raises ValueError naming an id the venue does not list, and
        BinanceBrokerError when the venue cannot be asked."""
        symbols = symbols_of(instrument_ids)
        if not symbols:
            return []
        clock = VenueClock(LiveClock())
        core = RestCore(self._config, self._credentials, clock, RateLimiter(clock.local))
        client = SyncRestClient(self._config, core, transport=self._transport)
        try:
            info = fetch_exchange_info(client, symbols)
        finally:
            client.close()
        result = []
        for instrument_id, symbol in zip(instrument_ids, symbols, strict=True):
            rules = info.rules.get(symbol)
            if rules is None:
                raise ValueError(f"instrument {instrument_id}: the venue does not list {symbol}")
            result.append(rules.instrument())
        return result
