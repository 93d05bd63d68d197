"""Symbol filters: defaults read off a book, and each check's edges."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchanges.simulator.market import BookView
from adapters.exchanges.simulator.trading import SymbolFilters, VenueError
from adapters.exchanges.simulator.trading.filters import split_symbol
from adapters.exchanges.simulator.trading.prices import PriceTracker

D = Decimal


def test_the_tick_and_step_are_the_finest_units_of_the_book() -> None:
    book = BookView(1, [(D("100.05"), D("0.004")), (D("100.00"), D("0.010"))], [(D("100.10"), D("0.002"))])
    filters = SymbolFilters.from_book(book)
    assert (filters.tick_size, filters.min_price, filters.step_size, filters.min_qty) == (
        D("0.05"), D("0.05"), D("0.002"), D("0.002"),
    )  # fmt: skip


def test_an_empty_book_gives_the_defaults() -> None:
    filters = SymbolFilters.from_book(BookView(1, [], []))
    assert (filters.tick_size, filters.step_size) == (D("0.01"), D("0.001"))


@pytest.mark.parametrize(
    ("check", "value", "failure"),
    [
        ("check_price", D("29000.001"), "PRICE_FILTER"),
        ("check_price", D("1" + "0" * 30), "PRICE_FILTER"),
        ("check_quantity", D("0"), "LOT_SIZE"),
        ("check_quantity", D("1.0005"), "LOT_SIZE"),
        ("check_market_quantity", D("100.001"), "MARKET_LOT_SIZE"),
    ],
)
def test_each_check_names_its_filter(check: str, value: Decimal, failure: str) -> None:
    with pytest.raises(VenueError) as refused:
        getattr(SymbolFilters(), check)(value)
    assert (refused.value.code, refused.value.msg) == (-1013, f"Filter failure: {failure}")


def test_a_value_on_the_grid_passes() -> None:
    filters = SymbolFilters()
    filters.check_price(D("29000.01"))
    filters.check_quantity(D("9000"))
    filters.check_market_quantity(D("100"))
    filters.check_notional(D("5"), market=False)
    filters.check_notional(D("10000000"), market=True)  # the maximum does not apply to MARKET orders


@pytest.mark.parametrize(
    "changes",
    [{"tick_size": D(0)}, {"min_qty": D("2"), "max_qty": D("1")}, {"step_size": D("0.000000001")}],
)
def test_nonsense_filters_are_refused(changes: dict[str, Decimal]) -> None:
    with pytest.raises(ValueError, match="must"):
        SymbolFilters(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("symbol", "assets"),
    [("BTCUSDT", ("BTC", "USDT")), ("ETHBTC", ("ETH", "BTC")), ("BNBFDUSD", ("BNB", "FDUSD"))],
)
def test_symbols_split_into_base_and_quote(symbol: str, assets: tuple[str, str]) -> None:
    assert split_symbol(symbol) == assets


def test_a_symbol_without_a_known_quote_is_refused() -> None:
    with pytest.raises(ValueError, match="assets="):
        split_symbol("FOOBAR")


def test_the_average_price_weighs_by_volume_over_its_window_and_forgets_older_trades() -> None:
    prices = PriceTracker(horizon_minutes=5)
    book = BookView(1, [(D("99"), D("1"))], [(D("101"), D("1"))])
    assert prices.average("X", book, now_ms=0, minutes=5) == D("100")  # no trade yet: the mid
    prices.observe("X", D("100"), D("1"), 0)
    prices.observe("X", D("110"), D("3"), 60_000)
    assert prices.average("X", book, now_ms=60_000, minutes=5) == D("107.5")
    assert prices.average("X", book, now_ms=330_000, minutes=5) == D("110")
    prices.observe("X", D("120"), D("1"), 10 * 60_000)
    assert prices.average("X", book, now_ms=10 * 60_000, minutes=5) == D("120")
    assert prices.last("X", book) == D("120")
