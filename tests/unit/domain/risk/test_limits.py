"""RiskLimits: validation on construction, per-instrument overrides and the mapping form."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from domain.errors import InvalidParameter
from domain.risk import InstrumentLimits, RiskLimits

from .builders import BTC, ETH

DECIMAL_FIELDS = [
    "max_order_quantity",
    "max_order_notional",
    "max_position_quantity",
    "max_gross_exposure",
    "daily_loss_limit",
]
FRACTION_FIELDS = ["price_band_fraction", "max_drawdown_fraction"]
INT_FIELDS = ["max_open_orders", "max_data_age_ns"]


def test_no_limit_is_the_default() -> None:
    limits = RiskLimits()

    assert all(
        getattr(limits, f.name) is None for f in dataclasses.fields(limits) if f.name != "instrument_limits"
    )
    assert dict(limits.instrument_limits) == {}
    assert limits.to_mapping() == {}


def test_decimal_limits_accept_decimals_ints_and_strings() -> None:
    limits = RiskLimits(max_order_quantity=Decimal("2.5"), max_order_notional=1000, daily_loss_limit="500")  # type: ignore[arg-type]

    assert limits.max_order_quantity == Decimal("2.5")
    assert limits.max_order_notional == Decimal(1000)
    assert limits.daily_loss_limit == Decimal(500)


@pytest.mark.parametrize("name", DECIMAL_FIELDS + FRACTION_FIELDS)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal(0), "greater than zero"),
        (Decimal(-1), "greater than zero"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (0.5, "binary float"),
        (True, "bool"),
        ("abc", "not a decimal"),
    ],
)
def test_a_bad_decimal_limit_is_refused_naming_the_field(name: str, value: object, problem: str) -> None:
    with pytest.raises(InvalidParameter, match=problem) as caught:
        RiskLimits(**{name: value})  # type: ignore[arg-type]

    assert caught.value.field == name
    assert name in str(caught.value)


@pytest.mark.parametrize("name", FRACTION_FIELDS)
def test_a_fraction_may_be_one_but_not_more(name: str) -> None:
    assert getattr(RiskLimits(**{name: Decimal(1)}), name) == 1  # type: ignore[arg-type]

    with pytest.raises(InvalidParameter, match=r"fraction in \(0, 1\]") as caught:
        RiskLimits(**{name: Decimal("1.0001")})  # type: ignore[arg-type]
    assert caught.value.field == name


@pytest.mark.parametrize("name", INT_FIELDS)
@pytest.mark.parametrize(
    ("value", "problem"),
    [(0, "at least 1"), (-5, "at least 1"), (True, "integer"), (1.0, "integer"), ("5", "integer")],
)
def test_a_bad_count_or_duration_is_refused_naming_the_field(name: str, value: object, problem: str) -> None:
    with pytest.raises(InvalidParameter, match=problem) as caught:
        RiskLimits(**{name: value})  # type: ignore[arg-type]

    assert caught.value.field == name


def test_the_order_rate_limit_needs_both_the_count_and_the_window() -> None:
    assert RiskLimits(max_orders_per_window=10, window_ns=1_000_000_000).window_ns == 1_000_000_000

    with pytest.raises(InvalidParameter) as no_window:
        RiskLimits(max_orders_per_window=10)
    assert no_window.value.field == "window_ns"

    with pytest.raises(InvalidParameter) as no_count:
        RiskLimits(window_ns=1_000)
    assert no_count.value.field == "max_orders_per_window"


def test_an_instrument_override_replaces_only_the_limits_it_sets() -> None:
    limits = RiskLimits(
        max_order_quantity=Decimal(2),
        max_position_quantity=Decimal(10),
        instrument_limits={BTC: InstrumentLimits(max_order_quantity=Decimal(5))},
    )

    assert limits.order_quantity_limit(BTC) == 5
    assert limits.position_limit(BTC) == 10  # inherited
    assert limits.order_quantity_limit(ETH) == 2
    assert limits.position_limit(ETH) == 10


def test_the_limits_cannot_be_changed_in_place() -> None:
    limits = RiskLimits(instrument_limits={BTC: InstrumentLimits(max_order_quantity=Decimal(5))})

    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_order_quantity = Decimal(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        limits.instrument_limits[ETH] = InstrumentLimits()  # type: ignore[index]
    assert hash(limits) == hash(RiskLimits(instrument_limits={}))  # overrides are not hashed


def test_a_bad_instrument_override_is_refused_naming_it() -> None:
    with pytest.raises(InvalidParameter) as bad_id:
        RiskLimits(instrument_limits={"btcusdt": InstrumentLimits()})  # type: ignore[dict-item]
    assert bad_id.value.field == "instrument_limits"
    assert bad_id.value.value == "btcusdt"

    with pytest.raises(InvalidParameter) as bad_value:
        RiskLimits(instrument_limits={BTC: {"max_order_quantity": "1"}})  # type: ignore[dict-item]
    assert bad_value.value.field == f"instrument_limits.{BTC}"

    with pytest.raises(InvalidParameter) as bad_limit:
        InstrumentLimits(max_position_quantity=Decimal(0))
    assert bad_limit.value.field == "max_position_quantity"


# -- mapping form ----------------------------------------------------------------------------


def test_from_mapping_parses_strings_and_ints() -> None:
    limits = RiskLimits.from_mapping(
        {
            "max_order_quantity": "2.5",
            "max_order_notional": 10000,
            "price_band_fraction": "0.05",
            "max_orders_per_window": "10",
            "window_ns": 1_000_000_000,
            "max_open_orders": None,
            "instrument_limits": {"BTCUSDT.BINANCE": {"max_position_quantity": "3"}},
        }
    )

    assert limits == RiskLimits(
        max_order_quantity=Decimal("2.5"),
        max_order_notional=Decimal(10000),
        price_band_fraction=Decimal("0.05"),
        max_orders_per_window=10,
        window_ns=1_000_000_000,
        instrument_limits={BTC: InstrumentLimits(max_position_quantity=Decimal(3))},
    )


def test_to_mapping_round_trips() -> None:
    limits = RiskLimits(
        max_order_quantity=Decimal("1E+3"),
        max_gross_exposure=Decimal("250000.50"),
        max_drawdown_fraction=Decimal("0.1"),
        max_data_age_ns=5_000_000_000,
        instrument_limits={ETH: InstrumentLimits(max_order_quantity=Decimal("0.5"))},
    )

    data = limits.to_mapping()

    assert data == {
        "max_order_quantity": "1000",
        "instrument_limits": {"ETHUSDT.BINANCE": {"max_order_quantity": "0.5"}},
        "max_gross_exposure": "250000.5",
        "max_data_age_ns": 5_000_000_000,
        "max_drawdown_fraction": "0.1",
    }
    assert RiskLimits.from_mapping(data) == limits


def test_from_mapping_refuses_an_unknown_key_naming_it() -> None:
    with pytest.raises(InvalidParameter, match="max_order_qty is not a known risk limit") as caught:
        RiskLimits.from_mapping({"max_order_qty": "5"})

    assert caught.value.field == "max_order_qty"
    assert "max_order_quantity" in str(caught.value)  # the message lists the known keys


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        ({"max_open_orders": True}, "max_open_orders", "integer"),
        ({"max_open_orders": 2.0}, "max_open_orders", "integer"),
        ({"window_ns": "1e9", "max_orders_per_window": 1}, "window_ns", "digits"),
        ({"window_ns": "-5", "max_orders_per_window": 1}, "window_ns", "digits"),
        ({"max_open_orders": "0"}, "max_open_orders", "at least 1"),
        ({"max_order_notional": 1.5}, "max_order_notional", "binary float"),
        ({"max_order_notional": "-1"}, "max_order_notional", "greater than zero"),
        ({"daily_loss_limit": ""}, "daily_loss_limit", "empty"),
        ({"max_drawdown_fraction": "20"}, "max_drawdown_fraction", "fraction"),
        (
            {"instrument_limits": {"BTCUSDT.BINANCE": {"max_qty": "1"}}},
            "instrument_limits.BTCUSDT.BINANCE.max_qty",
            "per-instrument",
        ),
        (
            {"instrument_limits": {"BTCUSDT.BINANCE": {"max_order_quantity": "0"}}},
            "instrument_limits.BTCUSDT.BINANCE.max_order_quantity",
            "greater than zero",
        ),
        ({"instrument_limits": {"nope": {}}}, "instrument_limits", "SYMBOL.VENUE"),
        ({"instrument_limits": ["BTCUSDT.BINANCE"]}, "instrument_limits", "must map"),
        ({"instrument_limits": {"BTCUSDT.BINANCE": 5}}, "instrument_limits.BTCUSDT.BINANCE", "mapping"),
    ],
)
def test_from_mapping_refuses_a_bad_value_naming_the_key(
    data: dict[str, object], field: str, problem: str
) -> None:
    with pytest.raises(InvalidParameter, match=problem) as caught:
        RiskLimits.from_mapping(data)

    assert caught.value.field == field


def test_from_mapping_needs_a_mapping() -> None:
    with pytest.raises(InvalidParameter, match="mapping"):
        RiskLimits.from_mapping(["max_open_orders", 5])  # type: ignore[arg-type]


def test_updated_changes_some_limits_and_none_removes_one() -> None:
    limits = RiskLimits(max_order_quantity=Decimal(2), max_open_orders=5)

    changed = limits.updated({"max_order_quantity": "3", "max_open_orders": None, "daily_loss_limit": "100"})

    assert changed == RiskLimits(max_order_quantity=Decimal(3), daily_loss_limit=Decimal(100))
    assert limits.max_open_orders == 5  # the original is untouched
