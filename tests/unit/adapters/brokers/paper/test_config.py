"""PaperBrokerConfig: defaults, validation naming the field, and building from a TOML table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.brokers.paper import PaperBrokerConfig
from domain.errors import InvalidParameter, InvalidValue


def test_defaults_are_binance_base_tier_fees_and_no_latency_or_slippage() -> None:
    config = PaperBrokerConfig()

    assert (config.maker_fee_bps, config.taker_fee_bps) == (Decimal(10), Decimal(10))
    assert (config.latency_ns, config.slippage_bps) == (0, Decimal(0))
    assert config.use_trades_for_fills
    assert config.use_book_for_fills


def test_decimal_settings_accept_strings_and_ints() -> None:
    config = PaperBrokerConfig(maker_fee_bps="-0.5", taker_fee_bps=4, slippage_bps="1.5")  # type: ignore[arg-type]

    assert (config.maker_fee_bps, config.taker_fee_bps, config.slippage_bps) == (
        Decimal("-0.5"),
        Decimal(4),
        Decimal("1.5"),
    )


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"taker_fee_bps": Decimal(-1)}, "taker_fee_bps"),
        ({"taker_fee_bps": Decimal(1001)}, "taker_fee_bps"),
        ({"maker_fee_bps": Decimal(-11)}, "maker_fee_bps"),
        ({"slippage_bps": Decimal("-0.1")}, "slippage_bps"),
        ({"latency_ns": -1}, "latency_ns"),
        ({"latency_ns": 61_000_000_000}, "latency_ns"),
        ({"latency_ns": True}, "latency_ns"),
        ({"latency_ns": 1.5}, "latency_ns"),
        ({"fee_decimals": 19}, "fee_decimals"),
        ({"use_trades_for_fills": 1}, "use_trades_for_fills"),
    ],
)
def test_out_of_range_settings_raise_invalid_parameter_naming_the_field(
    settings: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        PaperBrokerConfig(**settings)  # type: ignore[arg-type]

    assert raised.value.field == field


@pytest.mark.parametrize("value", [0.1, "ten", float("nan")])
def test_malformed_fees_raise_invalid_value_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidValue, match="taker_fee_bps"):
        PaperBrokerConfig(taker_fee_bps=value)  # type: ignore[arg-type]


def test_from_mapping_builds_from_a_toml_table() -> None:
    config = PaperBrokerConfig.from_mapping({"taker_fee_bps": "7.5", "latency_ns": 2_000_000})

    assert config.taker_fee_bps == Decimal("7.5")
    assert config.latency_ns == 2_000_000


def test_from_mapping_refuses_unknown_keys() -> None:
    with pytest.raises(InvalidParameter, match="slipage_bps") as raised:
        PaperBrokerConfig.from_mapping({"slipage_bps": "1"})

    assert raised.value.field == "slipage_bps"
