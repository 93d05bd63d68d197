"""The paper account in the configuration: spot by default, margin to sell short, and said so."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.brokers.paper import PaperBroker
from adapters.memory.clock import ManualClock
from domain.instrument import InstrumentRegistry
from entrypoints.brokers import build_broker, describe
from entrypoints.commands.demo import demo_settings
from entrypoints.config import ConfigError, parse_settings
from entrypoints.validation import validate
from tests.unit.entrypoints.test_validation import settings_with


def _short_selling(broker: dict[str, Any]) -> dict[str, Any]:
    return settings_with(
        broker=broker,
        strategies=[
            {
                "id": "sma",
                "kind": "sma_crossover",
                "instruments": ["BTCUSDT.BINANCE"],
                "params": {"fast": 5, "slow": 20},
                "allow_short": True,
            }
        ],
    )


def test_a_strategy_selling_short_on_a_spot_account_is_refused_at_load() -> None:
    settings = parse_settings(_short_selling({"kind": "paper"}), source="<test>")
    with pytest.raises(ConfigError) as caught:
        validate(settings)
    message = str(caught.value)
    assert "strategy sma has allow_short = true, but the paper account is spot" in message
    assert 'account = "margin"' in message


def test_a_margin_account_may_sell_short() -> None:
    validate(parse_settings(_short_selling({"kind": "paper", "account": "margin"}), source="<test>"))


def test_an_unknown_account_type_is_named() -> None:
    settings = parse_settings(settings_with(broker={"kind": "paper", "account": "futures"}), source="<t>")
    with pytest.raises(ConfigError, match=r"account.*must be one of spot, margin"):
        validate(settings)


def test_the_paper_venue_starts_from_the_accounts_balances_and_says_which_account_it_is() -> None:
    raw = settings_with(account={"balances": {"USDT": "2500", "BTC": "0.1"}})
    settings = parse_settings(raw, source="<test>")
    broker = build_broker(
        settings, lambda _: None, InstrumentRegistry(settings.instruments), None, ManualClock()
    )
    assert isinstance(broker, PaperBroker)
    assert broker.balances() == {"USDT": Decimal(2500), "BTC": Decimal("0.1")}
    assert describe(settings, broker).startswith("broker: paper (spot account, no short selling;")


def test_the_demo_sells_short_on_a_margin_account_and_says_so() -> None:
    settings = demo_settings("ws://127.0.0.1:1", "http://127.0.0.1:1")
    validate(settings)
    assert settings.broker.options["account"] == "margin"
    broker = build_broker(
        settings, lambda _: None, InstrumentRegistry(settings.instruments), None, ManualClock()
    )
    assert "margin account, short selling up to 1 × equity" in describe(settings, broker)
