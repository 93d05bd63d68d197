"""Symbols and filters: the domain instrument, the local pre-check, the provider."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.errors import MalformedPayload
from adapters.brokers.binance.instruments import (
    BinanceInstrumentProvider,
    SymbolRules,
    check_order,
    read_exchange_info,
    rules_of,
)
from domain.identifiers import InstrumentId
from domain.orders import Order, OrderType
from domain.values import OrderSide
from tests.builders import make_order
from tests.unit.adapters.brokers.binance.payloads import exchange_info, symbol_info


def _rules(**overrides: Any) -> SymbolRules:
    return rules_of(symbol_info(**overrides))


def test_a_symbol_becomes_a_domain_instrument() -> None:
    instrument = _rules().instrument()

    assert instrument.id == InstrumentId("BTCUSDT.BINANCE")
    assert (instrument.base, instrument.quote) == ("BTC", "USDT")
    assert instrument.price_tick == Decimal("0.01")
    assert instrument.lot_size == Decimal("0.00001")
    assert instrument.min_quantity == Decimal("0.00001")
    assert instrument.min_notional == Decimal("5")


def test_the_legacy_min_notional_filter_is_read() -> None:
    info = symbol_info()
    info["filters"] = [f for f in info["filters"] if f["filterType"] != "NOTIONAL"]
    info["filters"].append({"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": False})

    rules = rules_of(info)

    assert rules.min_notional == Decimal("10")
    assert not rules.apply_min_to_market


def test_a_filter_value_that_is_not_a_decimal_is_named() -> None:
    info = symbol_info()
    info["filters"][0]["tickSize"] = "abc"
    with pytest.raises(MalformedPayload, match="PRICE_FILTER tickSize"):
        rules_of(info)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"price": "0.001"}, "PRICE_FILTER: price 0.001 is below minPrice 0.01"),
        ({"price": "2000000"}, "PRICE_FILTER: price 2000000 is above maxPrice 1000000.00"),
        ({"price": "100.005"}, "PRICE_FILTER: price 100.005 is not a multiple of tickSize 0.01"),
        ({"quantity": "0.000001"}, "LOT_SIZE: quantity 0.000001 is below minQty 0.00001"),
        ({"quantity": "9001"}, "LOT_SIZE: quantity 9001 is above maxQty 9000.00000"),
        ({"quantity": "0.000015"}, "LOT_SIZE: quantity 0.000015 is not a multiple of stepSize 0.00001"),
        ({"quantity": "0.01", "price": "100"}, "NOTIONAL: notional 1.00 is below minNotional 5.00000000"),
        (
            {"quantity": "9000", "price": "1000000"},
            "NOTIONAL: notional 9000000000 is above maxNotional 9000000.00000000",
        ),
        (
            {"order_type": OrderType.STOP_LIMIT, "stop_price": "100.001"},
            "PRICE_FILTER: stopPrice 100.001 is not a multiple of tickSize 0.01",
        ),
        (
            {"order_type": OrderType.MARKET, "quantity": "101"},
            "MARKET_LOT_SIZE: quantity 101 is above maxQty 100.00000",
        ),
    ],
)
def test_the_pre_check_names_the_filter(overrides: dict[str, object], expected: str) -> None:
    assert check_order(make_order(**overrides), _rules()) == expected  # type: ignore[arg-type]


def test_an_order_within_every_filter_passes() -> None:
    assert check_order(make_order(quantity="0.5", price="100.01"), _rules()) is None
    assert check_order(make_order(order_type=OrderType.MARKET, quantity="0.00001"), _rules()) is None


def test_a_symbol_not_trading_or_without_the_order_type_is_refused() -> None:
    assert check_order(make_order(), _rules(status="HALT")) == "BTCUSDT is not trading (status HALT)"
    assert check_order(make_order(), _rules(orderTypes=["MARKET"])) == "BTCUSDT does not take LIMIT orders"


def test_a_post_only_order_needs_limit_maker() -> None:
    order = Order(
        client_order_id="O-1",
        instrument_id=InstrumentId("BTCUSDT.BINANCE"),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity="1",
        price="100",
        post_only=True,
        ts_init=1,
    )
    assert (
        check_order(order, _rules(orderTypes=["LIMIT", "MARKET"]))
        == "BTCUSDT does not take LIMIT_MAKER orders"
    )


def test_exchange_info_gives_rules_and_limits() -> None:
    info = read_exchange_info(exchange_info(symbol_info(), symbol_info("ETHUSDT", "ETH")))

    assert sorted(info.rules) == ["BTCUSDT", "ETHUSDT"]
    assert info.rate_limits[0].limit == 6000


def test_the_provider_asks_for_the_symbols_and_answers_in_order() -> None:
    seen: list[httpx.Request] = []

    def venue(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=exchange_info(symbol_info(), symbol_info("ETHUSDT", "ETH")))

    provider = BinanceInstrumentProvider(BinanceBrokerConfig(), None, transport=httpx.MockTransport(venue))
    ids = [InstrumentId("ETHUSDT.BINANCE"), InstrumentId("BTCUSDT.BINANCE")]

    instruments = provider.instruments(ids)

    assert [i.id for i in instruments] == ids
    assert seen[0].url.path == "/api/v3/exchangeInfo"
    assert seen[0].url.params["symbols"] == '["ETHUSDT","BTCUSDT"]'
    assert "X-MBX-APIKEY" not in seen[0].headers


def test_the_provider_names_an_id_the_venue_does_not_list_or_of_another_venue() -> None:
    provider = BinanceInstrumentProvider(
        BinanceBrokerConfig(),
        None,
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=exchange_info())),
    )

    with pytest.raises(ValueError, match=r"SOLUSDT\.BINANCE: the venue does not list SOLUSDT"):
        provider.instruments([InstrumentId("SOLUSDT.BINANCE")])
    with pytest.raises(ValueError, match="not on BINANCE"):
        provider.instruments([InstrumentId("BTCUSD.KRAKEN")])


@given(ticks=st.integers(1, 10**8), lots=st.integers(1, 9 * 10**8), half=st.booleans())
def test_an_order_on_the_grid_and_within_the_bounds_passes_and_one_off_the_tick_fails(
    ticks: int, lots: int, half: bool
) -> None:
    rules = _rules()
    price = Decimal(ticks) * Decimal("0.01") + (Decimal("0.005") if half else 0)
    quantity = Decimal(lots) * Decimal("0.00001")
    notional = price * quantity

    problem = check_order(make_order(price=price, quantity=quantity), rules)

    if half:
        assert problem is not None
        assert problem.startswith("PRICE_FILTER")
    elif Decimal(5) <= notional <= Decimal(9_000_000):
        assert problem is None
    else:
        assert problem is not None
        assert problem.startswith("NOTIONAL")
