"""domain.portfolio: the cash ledger, positions and marks, equity, exposure and drawdown."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.errors import DomainError, InvalidValue, UnknownInstrument
from domain.identifiers import InstrumentId
from domain.orders import Fill
from domain.portfolio import Account, MissingMark, Portfolio
from domain.values import OrderSide, divide
from tests.builders import (
    BTCUSDT,
    ETHUSDT,
    SOLUSDT,
    STEP_NS,
    TS,
    make_fill,
    make_instrument,
    make_portfolio,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
ETHBTC = InstrumentId("ETHBTC.BINANCE")
NOT_A_DECIMAL = ["nan", "inf", "-inf", "1e999999", "", "abc", 1.5, True, None]


def fill(
    instrument_id: str, side: OrderSide, quantity: str, price: str, *, fee: str = "0", n: int = 1
) -> Fill:
    return make_fill(
        instrument_id=instrument_id,
        side=side,
        quantity=quantity,
        price=price,
        fee=fee,
        trade_id=f"T-{n}",
        ts_event=TS + n * STEP_NS,
    )


def paid_in(asset: str, original: Fill) -> Fill:
    return replace(original, fee_asset=asset)


def reconciles(portfolio: Portfolio, deposits: Decimal) -> bool:
    """equity − deposits == realized + unrealized − fees, exactly (in fractions, which never round)."""
    pnl = (
        Fraction(portfolio.realized_pnl()) + Fraction(portfolio.unrealized_pnl()) - Fraction(portfolio.fees())
    )
    return Fraction(portfolio.equity()) - Fraction(deposits) == pnl


# -- Account -------------------------------------------------------------------------------


def test_account_starts_with_its_opening_balances() -> None:
    account = Account({"USDT": "1000.50", "BTC": 2})
    assert account.balance("USDT") == Decimal("1000.50")
    assert account.balance("BTC") == 2
    assert account.balance("ETH") == 0


def test_deposit_and_withdraw_move_the_balance() -> None:
    account = Account()
    account.deposit("USDT", "100")
    account.deposit("USDT", "0")
    account.withdraw("USDT", "30.25")
    assert account.balance("USDT") == Decimal("69.75")


@pytest.mark.parametrize("raw", ["-1", "-0.01", -5, *NOT_A_DECIMAL])
def test_deposit_refuses_a_negative_or_bad_amount_naming_the_asset(raw: object) -> None:
    account = Account({"USDT": "10"})
    with pytest.raises(InvalidValue, match="USDT deposit"):
        account.deposit("USDT", raw)
    assert account.balance("USDT") == 10


@pytest.mark.parametrize("raw", ["", None, 5])
def test_deposit_refuses_an_asset_that_is_not_a_code(raw: object) -> None:
    with pytest.raises(InvalidValue, match="asset must be an asset code"):
        Account().deposit(raw, "1")  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["0", "-1", *NOT_A_DECIMAL])
def test_withdraw_refuses_a_non_positive_or_bad_amount(raw: object) -> None:
    with pytest.raises(InvalidValue, match="USDT withdrawal"):
        Account({"USDT": "10"}).withdraw("USDT", raw)


def test_withdraw_refuses_to_overdraw() -> None:
    account = Account({"USDT": "10"})
    with pytest.raises(InvalidValue, match="USDT withdrawal exceeds the balance 10"):
        account.withdraw("USDT", "10.01")
    assert account.balance("USDT") == 10


def test_opening_balances_are_validated_like_deposits() -> None:
    with pytest.raises(InvalidValue, match="BTC deposit"):
        Account({"BTC": "-1"})


def test_account_fill_moves_base_and_quote_with_the_fee_in_quote() -> None:
    account = Account({"USDT": "1000"})
    account.apply_fill(fill(BTCUSDT, BUY, "0.01", "40000", fee="0.4"), make_instrument())
    assert account.balance("BTC") == Decimal("0.01")
    assert account.balance("USDT") == Decimal("599.6")
    account.apply_fill(fill(BTCUSDT, SELL, "0.02", "41000", fee="-0.1", n=2), make_instrument())
    assert account.balance("BTC") == Decimal("-0.01")  # the ledger allows a short; risk decides
    assert account.balance("USDT") == Decimal("1419.7")


def test_account_takes_a_base_asset_fee_from_the_base_balance() -> None:
    account = Account({"USDT": "1000"})
    account.apply_fill(paid_in("BTC", fill(BTCUSDT, BUY, "0.01", "40000", fee="0.00001")), make_instrument())
    assert account.balances == {"USDT": Decimal("600"), "BTC": Decimal("0.00999")}


def test_account_takes_a_third_asset_fee_from_that_asset() -> None:
    account = Account({"USDT": "1000", "BNB": "1"})
    account.apply_fill(paid_in("BNB", fill(BTCUSDT, SELL, "0.01", "40000", fee="0.0003")), make_instrument())
    assert account.balances == {"USDT": Decimal("1400"), "BTC": Decimal("-0.01"), "BNB": Decimal("0.9997")}


def test_account_treats_a_fill_without_a_fee_asset_and_one_naming_the_quote_alike() -> None:
    unnamed, named = Account({"USDT": "1000"}), Account({"USDT": "1000"})
    unnamed.apply_fill(fill(BTCUSDT, BUY, "0.01", "40000", fee="0.4"), make_instrument())
    named.apply_fill(paid_in("USDT", fill(BTCUSDT, BUY, "0.01", "40000", fee="0.4")), make_instrument())
    assert unnamed.balances == named.balances == {"USDT": Decimal("599.6"), "BTC": Decimal("0.01")}


def test_a_zero_fee_in_a_third_asset_opens_no_balance_for_it() -> None:
    account = Account({"USDT": "1000"})
    account.apply_fill(paid_in("BNB", fill(BTCUSDT, BUY, "0.01", "40000")), make_instrument())
    assert "BNB" not in account.balances


def test_account_refuses_a_fill_for_another_instrument() -> None:
    account = Account({"USDT": "1000"})
    with pytest.raises(InvalidValue, match=re.escape("fill.instrument_id does not match BTCUSDT.BINANCE")):
        account.apply_fill(fill(ETHUSDT, BUY, "1", "2000"), make_instrument())
    assert account.balances == {"USDT": 1000}


# -- Portfolio: construction and lookups ---------------------------------------------------


def test_new_portfolio_values_its_cash_and_starts_its_peak_there() -> None:
    portfolio = make_portfolio()
    assert portfolio.equity() == 10000
    assert portfolio.peak_equity == 10000
    assert portfolio.drawdown() == 0
    assert portfolio.gross_exposure() == portfolio.net_exposure() == 0
    assert portfolio.realized_pnl() == portfolio.unrealized_pnl() == portfolio.fees() == 0


@pytest.mark.parametrize("raw", ["", None])
def test_portfolio_refuses_an_empty_valuation_currency(raw: object) -> None:
    with pytest.raises(InvalidValue, match="valuation_currency must be an asset code"):
        make_portfolio(valuation_currency=raw)  # type: ignore[arg-type]


def test_position_of_a_known_instrument_starts_flat() -> None:
    portfolio = make_portfolio()
    assert portfolio.position(BTCUSDT).is_flat


@pytest.mark.parametrize("raw", ["SOLUSDT.BINANCE", "btcusdt.binance", "BTCUSDT"])
def test_position_of_an_unknown_instrument_raises_unknown_instrument(raw: str) -> None:
    with pytest.raises(UnknownInstrument, match=f"unknown instrument '{raw}'"):
        make_portfolio().position(raw)  # type: ignore[arg-type]


def test_a_fill_for_an_unknown_instrument_changes_nothing() -> None:
    portfolio = make_portfolio()
    with pytest.raises(UnknownInstrument, match=re.escape("SOLUSDT.BINANCE")):
        portfolio.apply_fill(fill(SOLUSDT, BUY, "1", "100"))
    assert portfolio.account.balances == {"USDT": 10000}
    assert portfolio.positions == {}
    assert portfolio.marks == {}


# -- marks -----------------------------------------------------------------------------------


def test_a_fill_sets_the_mark_only_when_there_is_none() -> None:
    portfolio = make_portfolio()
    portfolio.apply_fill(fill(BTCUSDT, BUY, "0.1", "40000", n=1))
    assert portfolio.marks[BTCUSDT] == 40000
    portfolio.update_mark(BTCUSDT, Decimal(41000))
    portfolio.apply_fill(fill(BTCUSDT, BUY, "0.1", "40500", n=2))
    assert portfolio.marks[BTCUSDT] == 41000


@pytest.mark.parametrize(
    "raw",
    [
        Decimal(0),
        Decimal(-1),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        41000.5,
        "abc",
        None,
    ],
)
def test_update_mark_refuses_a_mark_that_is_not_a_positive_finite_decimal(raw: object) -> None:
    portfolio = make_portfolio()
    with pytest.raises(InvalidValue, match="mark"):
        portfolio.update_mark(BTCUSDT, raw)  # type: ignore[arg-type]
    assert BTCUSDT not in portfolio.marks


def test_update_mark_accepts_a_decimal_string() -> None:
    portfolio = make_portfolio()
    portfolio.update_mark(BTCUSDT, "41000.5")  # type: ignore[arg-type]
    assert portfolio.marks[BTCUSDT] == Decimal("41000.5")


def test_update_mark_of_an_unknown_instrument_raises_unknown_instrument() -> None:
    portfolio = make_portfolio()
    with pytest.raises(UnknownInstrument, match=re.escape("SOLUSDT.BINANCE")):
        portfolio.update_mark(SOLUSDT, Decimal(100))
    assert portfolio.marks == {}


# -- equity, P&L, exposure, drawdown --------------------------------------------------------


def test_long_and_short_positions_hand_computed() -> None:
    portfolio = make_portfolio()

    # Buy 0.1 BTC at 40 000 paying 4: cash 10 000 − 4 000 − 4.
    portfolio.apply_fill(fill(BTCUSDT, BUY, "0.1", "40000", fee="4", n=1))
    assert portfolio.account.balance("USDT") == 5996
    assert portfolio.account.balance("BTC") == Decimal("0.1")
    assert portfolio.equity() == 9996
    assert reconciles(portfolio, Decimal(10000))

    portfolio.update_mark(BTCUSDT, Decimal(42000))
    assert portfolio.equity() == 10196
    assert portfolio.unrealized_pnl() == 200
    assert portfolio.revalue() == 10196
    assert portfolio.peak_equity == 10196

    # Short 0.5 ETH at 2 000 paying 1: cash 5 996 + 1 000 − 1.
    portfolio.apply_fill(fill(ETHUSDT, SELL, "0.5", "2000", fee="1", n=2))
    assert portfolio.account.balance("USDT") == 6995
    assert portfolio.account.balance("ETH") == Decimal("-0.5")
    assert portfolio.equity() == 10195
    assert portfolio.gross_exposure() == 5200  # 4 200 + 1 000
    assert portfolio.net_exposure() == 3200  # 4 200 − 1 000

    portfolio.update_mark(ETHUSDT, Decimal(2200))
    assert portfolio.equity() == 10095  # 6 995 + 4 200 − 1 100
    assert portfolio.unrealized_pnl() == 100  # BTC +200, ETH −100
    assert portfolio.realized_pnl() == 0
    assert portfolio.fees() == 5
    assert reconciles(portfolio, Decimal(10000))
    assert portfolio.revalue() == 10095
    assert portfolio.peak_equity == 10196
    assert portfolio.drawdown() == 101
    assert portfolio.drawdown_fraction() == divide(Decimal(101), Decimal(10196))  # 40 digits

    # Close the short at 2 100: realizes −50.
    portfolio.apply_fill(fill(ETHUSDT, BUY, "0.5", "2100", fee="1.05", n=3))
    assert portfolio.position(ETHUSDT).is_flat
    assert portfolio.realized_pnl() == -50
    assert portfolio.fees() == Decimal("6.05")
    assert portfolio.gross_exposure() == portfolio.net_exposure() == 4200
    assert reconciles(portfolio, Decimal(10000))


def test_drawdown_is_measured_from_the_peak_and_never_negative() -> None:
    portfolio = make_portfolio()
    portfolio.apply_fill(fill(BTCUSDT, BUY, "1", "5000", n=1))
    portfolio.update_mark(BTCUSDT, Decimal(6000))
    portfolio.revalue()
    assert portfolio.peak_equity == 11000
    portfolio.update_mark(BTCUSDT, Decimal(4500))
    assert portfolio.drawdown() == 1500
    assert portfolio.drawdown(Decimal(12000)) == 0  # an equity above the peak is no drawdown
    assert portfolio.drawdown_fraction() == divide(Decimal(1500), Decimal(11000))


def test_drawdown_fraction_is_zero_without_a_positive_peak() -> None:
    portfolio = make_portfolio(balances={})
    assert portfolio.peak_equity == 0
    assert portfolio.drawdown_fraction() == 0


def test_an_asset_held_without_a_mark_raises_missing_mark() -> None:
    portfolio = make_portfolio(balances={"USDT": "100", "BTC": "1"})
    assert portfolio.peak_equity == 0  # could not be valued at construction
    with pytest.raises(MissingMark, match="no mark price to value BTC in USDT") as caught:
        portfolio.equity()
    assert caught.value.asset == "BTC"
    assert caught.value.code == "MISSING_MARK"
    assert isinstance(caught.value, DomainError)
    portfolio.update_mark(BTCUSDT, Decimal(30000))
    assert portfolio.equity() == 30100


def test_an_asset_no_instrument_can_value_raises_missing_mark() -> None:
    portfolio = make_portfolio(balances={"USDT": "100", "XRP": "10"})
    with pytest.raises(MissingMark, match="XRP"):
        portfolio.equity()
    with pytest.raises(MissingMark, match="XRP"):
        portfolio.price_of("XRP")


def test_a_zero_balance_needs_no_mark() -> None:
    portfolio = make_portfolio(balances={"USDT": "100", "XRP": "0"})
    assert portfolio.equity() == 100


def test_a_position_quoted_in_another_currency_is_valued_through_it() -> None:
    ethbtc = make_instrument(base="ETH", quote="BTC", price_tick="0.00001", lot_size="0.001")
    portfolio = make_portfolio(make_instrument(), make_instrument(base="ETH"), ethbtc, balances={"BTC": "1"})
    portfolio.update_mark(BTCUSDT, Decimal(40000))
    portfolio.apply_fill(fill(ETHBTC, BUY, "2", "0.05", n=1))
    assert portfolio.account.balance("BTC") == Decimal("0.9")
    with pytest.raises(MissingMark, match="ETH"):
        portfolio.equity()  # ETH is valued through ETHUSDT, which has no mark yet
    portfolio.update_mark(ETHUSDT, Decimal(2000))
    assert portfolio.equity() == Decimal("0.9") * 40000 + 2 * 2000
    assert portfolio.gross_exposure() == 4000  # 2 ETH × 0.05 BTC × 40 000 USDT


def test_exposure_without_a_mark_for_the_quote_raises_missing_mark() -> None:
    ethbtc = make_instrument(base="ETH", quote="BTC", price_tick="0.00001", lot_size="0.001")
    portfolio = make_portfolio(make_instrument(), ethbtc, balances={"BTC": "1"})
    portfolio.apply_fill(fill(ETHBTC, BUY, "2", "0.05", n=1))
    with pytest.raises(MissingMark, match="BTC"):
        portfolio.gross_exposure()


def test_large_amounts_reconcile_exactly() -> None:
    # Amounts past 28 significant digits: a cost basis with 20 decimals at 1e8, and position
    # values of 31 digits. Sums, differences and absolute values must not round.
    btc = make_instrument(price_tick="0.00000001", lot_size="0.00000001")
    eth = make_instrument(base="ETH", price_tick="0.00000001", lot_size="0.00000001")
    portfolio = make_portfolio(btc, eth, balances={"USDT": "1000000000000"})
    deposits = Decimal(1000000000000)
    portfolio.apply_fill(fill(BTCUSDT, BUY, "1", "100000000", n=1))
    portfolio.apply_fill(fill(BTCUSDT, BUY, "2", "100000000.01", n=2))
    portfolio.apply_fill(fill(BTCUSDT, SELL, "1", "100000000", n=3))
    assert portfolio.position(BTCUSDT).cost == Decimal("200000000.01333333333333333333")
    portfolio.update_mark(BTCUSDT, Decimal(200000000))
    assert portfolio.unrealized_pnl() == Decimal("199999999.98666666666666666667")
    assert portfolio.realized_pnl() == Decimal("-0.00666666666666666667")
    assert reconciles(portfolio, deposits)

    portfolio.apply_fill(fill(ETHUSDT, SELL, "1234567.12345678", "12345678.12345678", n=4))
    portfolio.update_mark(ETHUSDT, Decimal("12345679.12345678"))
    eth_value = Fraction(f"-{1234567_12345678 * 12345679_12345678}e-16")  # 31 digits
    assert Fraction(portfolio.gross_exposure()) == 400000000 - eth_value
    assert Fraction(portfolio.net_exposure()) == 400000000 + eth_value
    assert reconciles(portfolio, deposits)

    peak = portfolio.revalue()
    portfolio.update_mark(BTCUSDT, Decimal("199999999.99999999"))
    assert portfolio.drawdown() == Decimal("0.00000002")  # 2 BTC, 1e-8 lower
    assert Fraction(portfolio.drawdown()) == Fraction(peak) - Fraction(portfolio.equity())


# -- fees by the asset they are paid in ------------------------------------------------------


def test_a_base_asset_fee_leaves_the_position_equal_to_the_base_balance() -> None:
    portfolio = make_portfolio()
    position = portfolio.apply_fill(paid_in("BTC", fill(BTCUSDT, BUY, "0.5", "40000", fee="0.0005")))
    assert position.quantity == portfolio.account.balance("BTC") == Decimal("0.4995")
    assert position.avg_entry_price == 40000
    assert portfolio.fees() == Decimal("20.0000")  # 0.0005 BTC at 40 000
    assert portfolio.fees_by_asset == {}
    assert portfolio.account.balance("USDT") == Decimal("-10000")
    assert reconciles(portfolio, Decimal(10000))


def test_a_third_asset_fee_is_totalled_apart_and_comes_out_of_that_balance() -> None:
    bnb = make_instrument(base="BNB")
    portfolio = make_portfolio(make_instrument(), bnb, balances={"USDT": "10000", "BNB": "2"})
    portfolio.update_mark(bnb.id, Decimal(500))
    portfolio.apply_fill(paid_in("BNB", fill(BTCUSDT, BUY, "0.1", "40000", fee="0.004", n=1)))
    portfolio.apply_fill(paid_in("BNB", fill(BTCUSDT, SELL, "0.1", "41000", fee="0.0041", n=2)))
    assert portfolio.fees_by_asset == {"BNB": Decimal("0.0081")}
    assert portfolio.fees() == 0
    assert portfolio.account.balance("BNB") == Decimal("1.9919")
    # Equity is the cash, the P&L of the round trip, and the BNB left at its mark.
    assert portfolio.equity() == Decimal("10100") + Decimal("1.9919") * 500


def test_a_fee_in_the_traded_pairs_assets_is_not_counted_apart() -> None:
    portfolio = make_portfolio()
    portfolio.apply_fill(paid_in("USDT", fill(BTCUSDT, BUY, "1", "100", fee="0.1", n=1)))
    portfolio.apply_fill(paid_in("BTC", fill(BTCUSDT, BUY, "1", "100", fee="0.001", n=2)))
    assert portfolio.fees_by_asset == {}
    assert portfolio.fees() == Decimal("0.200")


def test_recount_fees_by_asset_totals_the_fills_again() -> None:
    portfolio = make_portfolio()
    fills = [
        paid_in("BNB", fill(BTCUSDT, BUY, "1", "100", fee="0.001", n=1)),
        paid_in("BNB", fill(ETHUSDT, BUY, "1", "100", fee="0.002", n=2)),
        paid_in("BTC", fill(BTCUSDT, SELL, "0.5", "100", fee="0.0001", n=3)),
        paid_in("BNB", fill(SOLUSDT, BUY, "1", "100", fee="7", n=4)),  # no longer registered
    ]
    portfolio.fees_by_asset["BNB"] = Decimal(99)
    portfolio.recount_fees_by_asset(fills)
    assert portfolio.fees_by_asset == {"BNB": Decimal("0.003")}
