"""Symbol filters (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL): their checks and exchangeInfo.

A failed check is -1013 ``Filter failure: <NAME>``, the venue's wording. A zero bound or step
means "not checked", as on the venue. Defaults follow the market being simulated: the tick is
the finest gap between its book's price levels, the step the finest unit of its sizes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.exchanges.simulator.market import BookView
from adapters.exchanges.simulator.trading.errors import VenueError, filter_failure

PRECISION = 8
"""Decimals of every asset on the simulated venue (base, quote, commission)."""
UNIT = Decimal(1).scaleb(-PRECISION)

_QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "JPY")
"""Quote assets a symbol name may end with, longest first where one ends another."""


def fmt(value: Decimal) -> str:
    """A venue number: a plain decimal string with 8 places (``"0.10000000"``)."""
    return f"{value:.{PRECISION}f}"


def split_symbol(symbol: str) -> tuple[str, str]:
    """(base, quote) of a symbol such as ``BTCUSDT``; ValueError when no known quote ends it."""
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"cannot tell the base and quote assets of {symbol!r}; pass assets= explicitly")


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else PRECISION + 1


def has_precision(value: Decimal) -> bool:
    """True when ``value`` has at most the assets' 8 decimals."""
    return _places(value) <= PRECISION


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolFilters:
    """One symbol's trading rules, as exchangeInfo publishes them."""

    tick_size: Decimal = Decimal("0.01")
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal("1000000")
    step_size: Decimal = Decimal("0.001")
    min_qty: Decimal = Decimal("0.001")
    max_qty: Decimal = Decimal("9000")
    market_step_size: Decimal = Decimal(0)
    market_min_qty: Decimal = Decimal(0)
    market_max_qty: Decimal = Decimal("100")
    min_notional: Decimal = Decimal("5")
    max_notional: Decimal = Decimal("9000000")
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False
    avg_price_mins: int = 5

    def __post_init__(self) -> None:
        for name in (
            "tick_size", "min_price", "max_price", "step_size", "min_qty", "max_qty",
            "market_step_size", "market_min_qty", "market_max_qty", "min_notional", "max_notional",
        ):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{name} must be a Decimal >= 0, was {value!r}")
            if not has_precision(value):
                raise ValueError(f"{name} must be a Decimal >= 0 with at most 8 decimals, was {value!r}")
        if self.step_size <= 0 or self.tick_size <= 0:
            raise ValueError(
                f"tick_size and step_size must be positive, were {self.tick_size} and {self.step_size}"
            )
        for low, high in (
            ("min_price", "max_price"), ("min_qty", "max_qty"),
            ("market_min_qty", "market_max_qty"), ("min_notional", "max_notional"),
        ):  # fmt: skip
            if getattr(self, high) and getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        if self.avg_price_mins < 0:
            raise ValueError(f"avg_price_mins must not be negative, was {self.avg_price_mins}")

    @classmethod
    def for_steps(cls, tick_size: Decimal, step_size: Decimal) -> SymbolFilters:
        """The default rules for a market priced in ``tick_size`` and sized in ``step_size``."""
        return cls(tick_size=tick_size, min_price=tick_size, step_size=step_size, min_qty=step_size)

    @classmethod
    def from_book(cls, book: BookView) -> SymbolFilters:
        """Defaults read off a book: tick = finest gap between levels, step = finest size unit."""
        prices = sorted({price for price, _ in [*book.bids, *book.asks]})
        tick = _finest_unit(b - a for a, b in itertools.pairwise(prices))
        step = _finest_unit(size for _, size in [*book.bids, *book.asks])
        return cls.for_steps(tick or Decimal("0.01"), step or Decimal("0.001"))

    # -- checks ------------------------------------------------------------------------

    def check_price(self, price: Decimal) -> None:
        """PRICE_FILTER on a limit or stop price."""
        if price <= 0 or (self.min_price and price < self.min_price):
            raise filter_failure("PRICE_FILTER")
        if self.max_price and price > self.max_price:
            raise filter_failure("PRICE_FILTER")
        if _misaligned(price, self.min_price, self.tick_size):
            raise filter_failure("PRICE_FILTER")

    def check_quantity(self, quantity: Decimal) -> None:
        """LOT_SIZE, which every order's quantity must pass."""
        if quantity <= 0 or quantity < self.min_qty or (self.max_qty and quantity > self.max_qty):
            raise filter_failure("LOT_SIZE")
        if _misaligned(quantity, self.min_qty, self.step_size):
            raise filter_failure("LOT_SIZE")

    def check_market_quantity(self, quantity: Decimal) -> None:
        """MARKET_LOT_SIZE, for MARKET orders (on top of LOT_SIZE)."""
        if quantity < self.market_min_qty or (self.market_max_qty and quantity > self.market_max_qty):
            raise filter_failure("MARKET_LOT_SIZE")
        if self.market_step_size and _misaligned(quantity, self.market_min_qty, self.market_step_size):
            raise filter_failure("MARKET_LOT_SIZE")

    def check_notional(self, notional: Decimal, *, market: bool) -> None:
        """NOTIONAL: price x quantity within bounds (for MARKET orders as the flags say)."""
        if (not market or self.apply_min_to_market) and notional < self.min_notional:
            raise filter_failure("NOTIONAL")
        if (not market or self.apply_max_to_market) and self.max_notional and notional > self.max_notional:
            raise filter_failure("NOTIONAL")

    def floor_quantity(self, quantity: Decimal) -> Decimal:
        """``quantity`` rounded down to the step (what a quote-sized order can buy)."""
        return (quantity // self.step_size) * self.step_size

    def exchange_info(self) -> list[dict[str, Any]]:
        """The ``filters`` array of this symbol in exchangeInfo."""
        return [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(self.min_price),
                "maxPrice": fmt(self.max_price),
                "tickSize": fmt(self.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(self.min_qty),
                "maxQty": fmt(self.max_qty),
                "stepSize": fmt(self.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(self.min_notional),
                "applyMinToMarket": self.apply_min_to_market,
                "maxNotional": fmt(self.max_notional),
                "applyMaxToMarket": self.apply_max_to_market,
                "avgPriceMins": self.avg_price_mins,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(self.market_min_qty),
                "maxQty": fmt(self.market_max_qty),
                "stepSize": fmt(self.market_step_size),
            },
        ]


def _misaligned(value: Decimal, base: Decimal, step: Decimal) -> bool:
    """True unless ``value`` is ``base`` plus a whole number of ``step`` (too large to tell: True)."""
    try:
        return bool((value - base) % step)
    except InvalidOperation:
        return True


def _finest_unit(values: Iterable[Decimal]) -> Decimal | None:
    """The largest 10^-8-multiple dividing every positive value (their GCD), or None."""
    divisor = 0
    for value in values:
        if value > 0:
            divisor = math.gcd(divisor, int(value.scaleb(PRECISION)))
    return Decimal(divisor).scaleb(-PRECISION) if divisor else None


def check_precision(value: Decimal) -> None:
    """-1111 when a quantity or price has more decimals than the assets carry."""
    if not has_precision(value):
        raise VenueError(-1111, "Precision is over the maximum defined for this asset.")
