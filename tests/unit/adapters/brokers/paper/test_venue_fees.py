"""Per-venue fee schedules: each instrument's fills are charged at its own venue's rates."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.brokers.paper import PaperBrokerConfig
from adapters.brokers.paper.config import VenueFees
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.orders import Order, OrderStatus, OrderType
from domain.values import OrderSide
from entrypoints.brokers import paper_config
from entrypoints.config import ConfigError, example_config_path
from entrypoints.validation import load_validated
from tests.builders import STEP_NS, TS, make_instrument, make_order
from tests.unit.adapters.brokers.paper.paper_venue import PaperVenue

LATER = TS + STEP_NS
BINANCE = make_instrument()  # BTCUSDT.BINANCE
COINBASE = make_instrument(instrument_id="BTC-USD.COINBASE", quote="USD")
KRAKEN = make_instrument(instrument_id="BTC-USD.KRAKEN", quote="USD")
SCHEDULE = PaperBrokerConfig.from_mapping(
    {
        "maker_fee_bps": "2",
        "taker_fee_bps": "10",
        "venues": {
            "COINBASE": {"maker_fee_bps": "40", "taker_fee_bps": "60"},
            "KRAKEN": {"taker_fee_bps": "26"},
        },
    }
)


def _venue(config: PaperBrokerConfig = SCHEDULE, balances: dict[str, str] | None = None) -> PaperVenue:
    venue = PaperVenue(
        config, BINANCE, COINBASE, KRAKEN, balances=balances or {"USDT": "100000", "USD": "100000"}
    )
    for instrument in (BINANCE, COINBASE, KRAKEN):
        venue.snapshot([("99.00", "5")], [("100.00", "5")], instrument_id=instrument.id)
    return venue


def _order(
    n: int, instrument_id: InstrumentId, side: OrderSide, quantity: str, price: str | None = None
) -> Order:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return make_order(
        client_order_id=f"O-{n}",
        instrument_id=instrument_id,
        side=side,
        order_type=kind,
        quantity=quantity,
        price=price,
        ts_init=LATER,
    )


def _fee(order: Order) -> Decimal:
    assert order.status is OrderStatus.FILLED, order.status
    return sum((fill.fee for fill in order.fills), Decimal(0))


def test_taker_fills_on_two_venues_are_charged_each_venues_rate() -> None:
    venue = _venue()
    binance = venue.submit(_order(1, BINANCE.id, OrderSide.BUY, "1"))
    coinbase = venue.submit(_order(2, COINBASE.id, OrderSide.BUY, "1"))
    kraken = venue.submit(_order(3, KRAKEN.id, OrderSide.BUY, "1"))
    assert _fee(binance) == Decimal("0.1")  # 100 × 10 bps, the default
    assert _fee(coinbase) == Decimal("0.6")  # 100 × 60 bps
    assert _fee(kraken) == Decimal("0.26")  # 100 × 26 bps; its maker rate stays the default
    assert venue.broker.free("USD") == Decimal("100000") - Decimal("200.86")


def test_a_resting_order_filled_by_a_trade_pays_its_venues_maker_rate() -> None:
    venue = _venue(balances={"USD": "100000", "USDT": "100000", "BTC": "2"})
    rest_coinbase = venue.submit(_order(1, COINBASE.id, OrderSide.SELL, "1", "101.00"))
    rest_kraken = venue.submit(_order(2, KRAKEN.id, OrderSide.SELL, "1", "101.00"))
    for instrument in (COINBASE, KRAKEN):
        venue.snapshot([("101.50", "5")], [("102.00", "5")], instrument_id=instrument.id, sequence=2)
    assert _fee(rest_coinbase) == Decimal("0.404")  # 101 × 40 bps
    assert _fee(rest_kraken) == Decimal("0.0202")  # 101 × 2 bps, the default maker rate


def test_a_buy_reserves_the_worst_rate_of_its_own_venue() -> None:
    # 1 × 100 plus 60 bps (Coinbase's taker rate) = 100.6; on Binance 100.1 would do.
    short = _venue(balances={"USD": "100.59", "USDT": "100.1"})
    refused = short.submit(_order(1, COINBASE.id, OrderSide.BUY, "1", "100.00"))
    assert refused.status is OrderStatus.REJECTED
    assert "needs up to 100.6 USD" in refused.events[-1].reason
    assert short.submit(_order(2, BINANCE.id, OrderSide.BUY, "1", "100.00")).status is OrderStatus.FILLED
    enough = _venue(balances={"USD": "100.6"})
    assert enough.submit(_order(1, COINBASE.id, OrderSide.BUY, "1", "100.00")).status is OrderStatus.FILLED
    assert enough.broker.free("USD") == Decimal(0)


def test_without_venues_every_instrument_pays_the_default_rates() -> None:
    config = PaperBrokerConfig(maker_fee_bps=Decimal(2), taker_fee_bps=Decimal(10))
    assert config.venues == {}
    assert config.fees_for("COINBASE") == VenueFees(Decimal(2), Decimal(10))
    venue = _venue(config)
    assert _fee(venue.submit(_order(1, COINBASE.id, OrderSide.BUY, "1"))) == Decimal("0.1")


def test_a_venue_rate_left_out_is_the_default() -> None:
    assert SCHEDULE.fees_for("KRAKEN") == VenueFees(Decimal(2), Decimal(26))
    assert SCHEDULE.fees_for("BINANCE") == VenueFees(Decimal(2), Decimal(10))
    assert SCHEDULE.fees_for("COINBASE") == VenueFees(Decimal(40), Decimal(60))


@pytest.mark.parametrize(
    ("venues", "field", "words"),
    [
        (
            {"COINBASE": {"maker_fee_bps": "40", "taker": "60"}},
            "venues.COINBASE.taker",
            "not a per-venue setting",
        ),
        ({"COINBASE": {"taker_fee_bps": "1001"}}, "venues.COINBASE.taker_fee_bps", "between 0 and 1000"),
        ({"COINBASE": {"taker_fee_bps": "-1"}}, "venues.COINBASE.taker_fee_bps", "between 0 and 1000"),
        ({"KRAKEN": {"maker_fee_bps": "-11"}}, "venues.KRAKEN.maker_fee_bps", "between -10 and 1000"),
        ({"KRAKEN": {"maker_fee_bps": "cheap"}}, "venues.KRAKEN.maker_fee_bps", ""),
        ({"coinbase": {"maker_fee_bps": "40"}}, "venues", "e.g. COINBASE"),
        ({"COINBASE": "40"}, "venues.COINBASE", "must be a table"),
        ("COINBASE", "venues", "must be a table"),
    ],
)
def test_a_bad_venue_schedule_is_refused_naming_the_field(venues: object, field: str, words: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        PaperBrokerConfig.from_mapping({"venues": venues})
    assert caught.value.field == field
    assert words in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(
    maker=st.decimals(min_value=-10, max_value=1000, places=2),
    taker=st.decimals(min_value=0, max_value=1000, places=2),
    quantity=st.integers(min_value=1, max_value=50).map(lambda n: Decimal(n) / 10),
)
def test_a_taker_fill_costs_its_notional_times_its_venues_taker_rate(
    maker: Decimal, taker: Decimal, quantity: Decimal
) -> None:
    config = PaperBrokerConfig(venues={"COINBASE": VenueFees(maker, taker)})
    venue = _venue(config)
    order = venue.submit(_order(1, COINBASE.id, OrderSide.BUY, str(quantity)))
    assert _fee(order) == (quantity * 100 * taker / 10_000).quantize(Decimal("1E-12"))
    other = venue.submit(_order(2, BINANCE.id, OrderSide.BUY, str(quantity)))
    assert _fee(other) == (quantity * 100 * config.taker_fee_bps / 10_000).quantize(Decimal("1E-12"))


def _config_file(tmp_path: Path, venues: str) -> Path:
    text = example_config_path().read_text(encoding="utf-8")
    assert "[[strategies]]" in text
    path = tmp_path / "tradeplane.toml"
    path.write_text(text.replace("[[strategies]]", venues + "\n[[strategies]]", 1), encoding="utf-8")
    return path


def test_the_config_file_sets_a_venues_rates_under_broker_venues(tmp_path: Path) -> None:
    path = _config_file(
        tmp_path,
        '[broker.venues.COINBASE]\nmaker_fee_bps = "40"\ntaker_fee_bps = "60"\n'
        '[broker.venues.KRAKEN]\ntaker_fee_bps = "26"\n',
    )
    config = paper_config(load_validated(path, environ={}))
    assert config.fees_for("COINBASE") == VenueFees(Decimal(40), Decimal(60))
    assert config.fees_for("KRAKEN") == VenueFees(Decimal(2), Decimal(26))  # the example's maker rate
    assert config.fees_for("BINANCE") == VenueFees(Decimal(2), Decimal(5))


def test_the_config_file_with_a_bad_venue_rate_is_refused_naming_it(tmp_path: Path) -> None:
    path = _config_file(tmp_path, '[broker.venues.COINBASE]\ntaker_fee_bps = "6000"\n')
    with pytest.raises(ConfigError, match=r"\[broker\].*venues\.COINBASE\.taker_fee_bps.*between 0 and 1000"):
        load_validated(path, environ={})


def test_a_config_rebuilt_from_its_own_fields_is_the_same() -> None:
    rebuilt = PaperBrokerConfig.from_mapping({f.name: getattr(SCHEDULE, f.name) for f in fields(SCHEDULE)})
    assert rebuilt == SCHEDULE


def test_each_instrument_fills_against_its_own_venues_book() -> None:
    venue = _venue()
    venue.snapshot([("99.00", "5")], [("120.00", "5")], instrument_id=COINBASE.id, sequence=2)
    binance = venue.submit(_order(1, BINANCE.id, OrderSide.BUY, "1"))
    coinbase = venue.submit(_order(2, COINBASE.id, OrderSide.BUY, "1"))
    assert [fill.price for fill in binance.fills] == [Decimal("100.00")]
    assert [fill.price for fill in coinbase.fills] == [Decimal("120.00")]
    assert _fee(coinbase) == Decimal("0.72")  # 120 × 60 bps
