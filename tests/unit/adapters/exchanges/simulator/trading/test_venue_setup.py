"""Setting a venue up: bad settings are refused naming what is wrong; the secret stays hidden."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.brokers.binance.signing import HmacSigner
from adapters.exchanges.simulator.trading import SymbolFilters, TradingVenue, VenueError, VenueLimits
from adapters.exchanges.simulator.trading.auth import Verifier

from .support import API_KEY, API_SECRET, ScriptedMarket, make_venue, scripted_market


def _venue(**changes: Any) -> TradingVenue:
    settings: dict[str, Any] = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "balances": {"USDT": Decimal("1")},
    } | changes
    return TradingVenue(scripted_market(), **settings)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"api_key": "a key with spaces"}, "API key"),
        ({"api_secret": ""}, "secret is empty"),
        (
            {"api_secret": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
            "not a public key",
        ),
        ({"balances": {"USDT": 1.5}}, "never a float"),
        ({"balances": {"USDT": Decimal("-1")}}, "USDT"),
        ({"balances": {"USDT": Decimal("0.000000001")}}, "8 decimals"),
        ({"maker_commission": Decimal("1")}, "maker_commission"),
        ({"taker_commission": 0.001}, "taker_commission"),
        ({"filters": {"DOGEUSDT": SymbolFilters()}}, "DOGEUSDT"),
    ],
)
def test_bad_settings_are_refused_naming_what_is_wrong(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        _venue(**changes)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="orders_per_10s"):
        VenueLimits(orders_per_10s=0)


def test_a_symbol_whose_name_does_not_tell_its_assets_can_be_told_them() -> None:
    market = ScriptedMarket({"FOOBAR": ([("1.00", "1.000")], [("1.01", "1.000")])})
    with pytest.raises(ValueError, match="FOOBAR"):
        TradingVenue(market, api_key=API_KEY, api_secret=API_SECRET, balances={})
    venue = TradingVenue(
        market,
        api_key=API_KEY,
        api_secret=API_SECRET,
        balances={"BAR": Decimal(10)},
        assets={"FOOBAR": ("FOO", "BAR")},
    )
    assert venue.balances() == {"BAR": (Decimal(10), Decimal(0)), "FOO": (Decimal(0), Decimal(0))}


def test_the_secret_never_shows_in_a_repr() -> None:
    verifier = Verifier(API_SECRET)
    assert API_SECRET not in repr(verifier)
    assert verifier.verify("payload", HmacSigner(API_SECRET).sign("payload"))


def test_external_orders_are_validated_like_any_and_refuse_floats() -> None:
    venue = make_venue()
    with pytest.raises(ValueError, match="never a float"):
        venue.place_external_order("BTCUSDT", "BUY", "LIMIT", 0.01, 29000.0)  # type: ignore[arg-type]
    with pytest.raises(VenueError) as refused:
        venue.place_external_order("BTCUSDT", "BUY", "LIMIT", "0.01")
    assert refused.value.code == -1102
    placed = venue.place_external_order("BTCUSDT", "BUY", "LIMIT", "0.01", "29000", client_order_id="ui-1")
    assert (placed["clientOrderId"], placed["status"], placed["timeInForce"]) == ("ui-1", "NEW", "GTC")
    canceled = venue.cancel_external_order("BTCUSDT", client_order_id="ui-1")
    assert canceled["status"] == "CANCELED"
    with pytest.raises(VenueError) as unknown:
        venue.cancel_external_order("BTCUSDT", client_order_id="ui-1")
    assert unknown.value.code == -2011
