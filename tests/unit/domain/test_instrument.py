"""domain.instrument: instrument rules (tick, lot, minimums), rounding, and the registry."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from domain.errors import DomainError, InstrumentRuleViolation, InvalidValue, UnknownInstrument
from domain.identifiers import InstrumentId
from domain.instrument import Instrument, InstrumentRegistry
from tests.builders import BTCUSDT, ETHUSDT, make_instrument

BAD_NUMBERS = ["nan", "inf", "-inf", "1e999999", "", "abc", 0.01, True, None]


# -- construction --------------------------------------------------------------------------


def test_instrument_parses_its_rules_into_decimals() -> None:
    instrument = make_instrument(
        price_tick="0.01", lot_size="0.00001", min_quantity="0.0001", min_notional="5"
    )
    assert instrument.id == BTCUSDT
    assert isinstance(instrument.id, InstrumentId)
    assert (instrument.base, instrument.quote) == ("BTC", "USDT")
    assert instrument.price_tick == Decimal("0.01")
    assert instrument.lot_size == Decimal("0.00001")
    assert instrument.min_quantity == Decimal("0.0001")
    assert instrument.min_notional == Decimal(5)


def test_instrument_minimums_default_to_none() -> None:
    instrument = Instrument(
        id=ETHUSDT, base="ETH", quote="USDT", price_tick=Decimal("0.01"), lot_size=Decimal("0.0001")
    )
    assert instrument.min_quantity == 0
    assert instrument.min_notional == 0


def test_instrument_is_immutable() -> None:
    instrument = make_instrument()
    with pytest.raises(AttributeError):
        instrument.price_tick = Decimal(1)  # type: ignore[misc]


@pytest.mark.parametrize(
    "raw", ["btcusdt.binance", "BTCUSDT", "BTCUSDT.", "BTC USDT.BINANCE", "BTCÜSDT.BINANCE"]
)
def test_instrument_refuses_a_malformed_id(raw: str) -> None:
    with pytest.raises(InvalidValue, match="instrument_id"):
        make_instrument(instrument_id=raw)


@pytest.mark.parametrize("field", ["base", "quote"])
@pytest.mark.parametrize("raw", ["", "btc", "Btc", "BT-C", "BTC ", "Ü", "X" * 17, None, 1])
def test_instrument_refuses_a_bad_asset_code(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=f"{field} must be an upper-case asset code") as caught:
        make_instrument(instrument_id=BTCUSDT, **{field: raw})  # type: ignore[arg-type]
    assert caught.value.value == raw


def test_instrument_refuses_the_same_asset_as_base_and_quote() -> None:
    with pytest.raises(InvalidValue, match="quote must differ from base"):
        make_instrument(base="USDT", quote="USDT", instrument_id="USDTUSDT.BINANCE")


@pytest.mark.parametrize("field", ["price_tick", "lot_size"])
@pytest.mark.parametrize("raw", ["0", "-0.01", 0, *BAD_NUMBERS])
def test_instrument_refuses_a_tick_or_lot_that_is_not_a_positive_decimal(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        make_instrument(**{field: raw})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["min_quantity", "min_notional"])
@pytest.mark.parametrize("raw", ["-1", "-0.00001", *BAD_NUMBERS])
def test_instrument_refuses_a_minimum_that_is_not_a_non_negative_decimal(field: str, raw: object) -> None:
    with pytest.raises(InvalidValue, match=field):
        make_instrument(**{field: raw})  # type: ignore[arg-type]


def test_instrument_refuses_a_min_quantity_off_the_lot() -> None:
    with pytest.raises(InvalidValue, match=re.escape("min_quantity must be a multiple of lot_size 0.001")):
        make_instrument(lot_size="0.001", min_quantity="0.0015")


# -- rounding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tick", "price", "nearest", "down", "up"),
    [
        ("0.01", "100.004", "100.00", "100.00", "100.01"),
        ("0.01", "100.006", "100.01", "100.00", "100.01"),
        ("0.01", "100.005", "100.00", "100.00", "100.01"),  # tie: to the even tick
        ("0.01", "100.015", "100.02", "100.01", "100.02"),  # tie: to the even tick
        ("0.01", "100.01", "100.01", "100.01", "100.01"),  # already on the tick
        ("0.5", "10.26", "10.5", "10.0", "10.5"),
        ("0.5", "10.24", "10.0", "10.0", "10.5"),
        ("5", "1237.4", "1235", "1235", "1240"),
        ("0.25", "0.125", "0.00", "0.00", "0.25"),  # tie between 0 and 1 tick: 0 is even
    ],
)
def test_round_price_goes_to_the_nearest_down_or_up_tick(
    tick: str, price: str, nearest: str, down: str, up: str
) -> None:
    instrument = make_instrument(price_tick=tick)
    assert instrument.round_price(Decimal(price)) == Decimal(nearest)
    assert instrument.round_price_down(Decimal(price)) == Decimal(down)
    assert instrument.round_price_up(Decimal(price)) == Decimal(up)


@pytest.mark.parametrize(
    ("lot", "quantity", "expected"),
    [
        ("0.001", "1.2349", "1.234"),
        ("0.001", "1.234", "1.234"),
        ("0.001", "0.0009", "0"),
        ("0.25", "0.99", "0.75"),
        ("1", "17.999999", "17"),
    ],
)
def test_round_quantity_goes_down_to_a_whole_number_of_lots(lot: str, quantity: str, expected: str) -> None:
    instrument = make_instrument(lot_size=lot)
    assert instrument.round_quantity(Decimal(quantity)) == Decimal(expected)


def test_round_quantity_never_rounds_up_a_forty_digit_size_just_below_a_lot() -> None:
    # Sizing divides (40 significant digits) before rounding to the lot: a size a hair
    # below 0.12346 must give 0.12345, not be rounded up by a 28-digit intermediate.
    instrument = make_instrument(lot_size="0.00001")
    quantity = Decimal("0.1234599999999999999999999999999999999999")
    assert instrument.round_quantity(quantity) == Decimal("0.12345")


def test_round_price_up_never_rounds_down_a_price_a_hair_above_a_tick() -> None:
    instrument = make_instrument(price_tick="0.01")
    price = Decimal("100.0000000000000000000000000000001")
    assert instrument.round_price_up(price) == Decimal("100.01")
    assert instrument.round_price_down(price) == Decimal("100.00")


def test_round_price_handles_a_price_with_more_ticks_than_28_digits() -> None:
    instrument = make_instrument(price_tick="0.00000001")
    price = Decimal("12345678901234567890.123456789")
    assert instrument.round_price_down(price) == Decimal("12345678901234567890.12345678")
    assert instrument.round_price_up(price) == Decimal("12345678901234567890.12345679")


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["100.01", "0.01", Decimal("25000.50"), 7, "100.010"])
def test_check_price_accepts_a_positive_price_on_the_tick(raw: object) -> None:
    assert make_instrument(price_tick="0.01").check_price(raw) == Decimal(str(raw))


@pytest.mark.parametrize("raw", ["100.001", "0.005", "100.0100001"])
def test_check_price_refuses_a_price_off_the_tick(raw: str) -> None:
    with pytest.raises(
        InstrumentRuleViolation,
        match=re.escape("price is not a multiple of the BTCUSDT.BINANCE price tick 0.01"),
    ):
        make_instrument(price_tick="0.01").check_price(raw)


@pytest.mark.parametrize("raw", ["0", "-100", "-0.01", *BAD_NUMBERS])
def test_check_price_refuses_a_price_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="price") as caught:
        make_instrument().check_price(raw)
    assert not isinstance(caught.value, InstrumentRuleViolation)


def test_check_price_judges_a_large_price_on_a_fine_tick_exactly() -> None:
    instrument = make_instrument(price_tick="0.00000001")
    # 29 significant digits: more ticks than the default 28-digit context can count.
    price = "999999999999999999999.99999999"
    assert instrument.check_price(price) == Decimal(price)
    with pytest.raises(InstrumentRuleViolation, match="price"):
        instrument.check_price("999999999999999999999.999999991")


@pytest.mark.parametrize("raw", ["0.001", "1.234", 3, "1000000"])
def test_check_quantity_accepts_a_positive_quantity_on_the_lot(raw: object) -> None:
    assert make_instrument(lot_size="0.001").check_quantity(raw) == Decimal(str(raw))


@pytest.mark.parametrize("raw", ["0.0015", "1.2345", "0.0001"])
def test_check_quantity_refuses_a_quantity_off_the_lot(raw: str) -> None:
    with pytest.raises(
        InstrumentRuleViolation, match=re.escape("quantity is not a multiple of the BTCUSDT.BINANCE lot size")
    ):
        make_instrument(lot_size="0.001").check_quantity(raw)


def test_check_quantity_refuses_a_quantity_below_the_minimum() -> None:
    instrument = make_instrument(lot_size="0.001", min_quantity="0.01")
    assert instrument.check_quantity("0.01") == Decimal("0.01")
    with pytest.raises(
        InstrumentRuleViolation,
        match=re.escape("quantity is below the BTCUSDT.BINANCE minimum quantity 0.01"),
    ):
        instrument.check_quantity("0.009")


@pytest.mark.parametrize("raw", ["0", "-1", "-0.001", *BAD_NUMBERS])
def test_check_quantity_refuses_a_quantity_that_is_not_a_positive_decimal(raw: object) -> None:
    with pytest.raises(InvalidValue, match="quantity") as caught:
        make_instrument(lot_size="0.001").check_quantity(raw)
    assert not isinstance(caught.value, InstrumentRuleViolation)


def test_check_quantity_judges_a_large_quantity_on_a_fine_lot_exactly() -> None:
    # 1e21 units in lots of 1e-8 is 1e29 lots: more than the default 28 digits can count.
    instrument = make_instrument(lot_size="0.00000001")
    assert instrument.check_quantity("1000000000000000000000.00000001") == Decimal(
        "1000000000000000000000.00000001"
    )
    with pytest.raises(InstrumentRuleViolation, match="quantity"):
        instrument.check_quantity("1000000000000000000000.000000015")


def test_check_notional_returns_the_notional_at_or_above_the_minimum() -> None:
    instrument = make_instrument(min_notional="10")
    assert instrument.check_notional(Decimal("100"), Decimal("0.1")) == Decimal("10.0")
    assert instrument.check_notional(Decimal("100"), Decimal("2")) == Decimal("200")


def test_check_notional_refuses_a_notional_below_the_minimum_naming_it() -> None:
    instrument = make_instrument(min_notional="10")
    with pytest.raises(
        InstrumentRuleViolation, match=re.escape("notional is below the BTCUSDT.BINANCE minimum notional 10")
    ) as caught:
        instrument.check_notional(Decimal("99.99"), Decimal("0.1"))
    assert caught.value.value == Decimal("9.999")


def test_check_notional_compares_the_exact_product() -> None:
    # (1 - 1e-15) × (1 + 1e-15) = 1 - 1e-30: below a minimum of 1, though it rounds to 1 in 28 digits.
    instrument = make_instrument(price_tick="1E-15", lot_size="1E-15", min_notional="1")
    price = Decimal("0.999999999999999")
    quantity = Decimal("1.000000000000001")
    with pytest.raises(InstrumentRuleViolation, match="notional"):
        instrument.check_notional(price, quantity)
    assert not instrument.meets_minimums(price, quantity)


@pytest.mark.parametrize(
    ("price", "quantity", "meets"),
    [
        ("100", "0.1", True),  # exactly both minimums
        ("100", "0.2", True),
        ("99.99", "0.1", False),  # notional 9.999 < 10
        ("1000", "0.009", False),  # both below
        ("10000", "0.009", False),  # notional 90 but quantity below the minimum
        ("100", "0", False),
    ],
)
def test_meets_minimums_needs_both_the_minimum_quantity_and_notional(
    price: str, quantity: str, meets: bool
) -> None:
    instrument = make_instrument(lot_size="0.001", min_quantity="0.01", min_notional="10")
    assert instrument.meets_minimums(Decimal(price), Decimal(quantity)) is meets


def test_instrument_rule_violation_is_an_invalid_value_with_its_own_code() -> None:
    with pytest.raises(InvalidValue) as caught:
        make_instrument().check_price("100.001")
    assert isinstance(caught.value, InstrumentRuleViolation)
    assert caught.value.code == "INSTRUMENT_RULE"
    assert caught.value.field == "price"


# -- registry ------------------------------------------------------------------------------


def test_registry_finds_instruments_by_id_or_plain_string() -> None:
    btc, eth = make_instrument(), make_instrument(base="ETH")
    registry = InstrumentRegistry([btc, eth])
    assert registry[BTCUSDT] is btc
    assert registry["ETHUSDT.BINANCE"] is eth
    assert len(registry) == 2
    assert set(registry) == {BTCUSDT, ETHUSDT}
    assert BTCUSDT in registry


@pytest.mark.parametrize("raw", ["SOLUSDT.BINANCE", "btcusdt.binance", "BTCUSDT", ""])
def test_registry_raises_unknown_instrument_naming_the_id(raw: str) -> None:
    registry = InstrumentRegistry([make_instrument()])
    with pytest.raises(UnknownInstrument, match=f"unknown instrument '{raw}'") as caught:
        registry[raw]
    assert caught.value.instrument_id == raw
    assert caught.value.code == "UNKNOWN_INSTRUMENT"
    assert isinstance(caught.value, DomainError)
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == f"unknown instrument '{raw}'"


def test_registry_membership_and_get_do_not_raise_for_an_unknown_id() -> None:
    registry = InstrumentRegistry([make_instrument()])
    assert "SOLUSDT.BINANCE" not in registry
    assert registry.get("SOLUSDT.BINANCE") is None


def test_registry_accepts_the_same_instrument_twice() -> None:
    registry = InstrumentRegistry([make_instrument()])
    registry.add(make_instrument())
    assert len(registry) == 1


def test_registry_refuses_an_id_registered_with_other_rules() -> None:
    registry = InstrumentRegistry([make_instrument(price_tick="0.01")])
    with pytest.raises(InvalidValue, match="instrument is already registered with other rules"):
        registry.add(make_instrument(price_tick="0.1"))
    assert registry[BTCUSDT].price_tick == Decimal("0.01")
