"""domain.round_trips: closed trades from fills, consistent with Position's average-cost P&L."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings

from domain.errors import InvalidValue
from domain.orders import Fill
from domain.positions import Position, PositionSide
from domain.round_trips import RoundTripLedger, derive_round_trips
from domain.values import ZERO, OrderSide, exact_add, exact_sub
from tests.builders import BTCUSDT, ETHUSDT, STEP_NS, TS, make_fill
from tests.property.strategies import fill_sequences, instruments

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def fill(side: OrderSide, quantity: str, price: str, fee: str = "0", n: int = 1, **kw: str) -> Fill:
    return make_fill(
        side=side, quantity=quantity, price=price, fee=fee, trade_id=f"T-{n}", ts_event=TS + n * STEP_NS, **kw
    )


def total(values: list[Decimal]) -> Decimal:
    result = ZERO
    for value in values:
        result = exact_add(result, value)
    return result


def test_no_fills_and_only_opening_fills_close_no_trade() -> None:
    assert derive_round_trips([]) == ()
    assert derive_round_trips([fill(BUY, "1", "100", n=1), fill(BUY, "2", "90", n=2)]) == ()


def test_partial_close_flip_and_close_with_hand_computed_trades() -> None:
    # The sequence of tests/unit/domain/test_positions.py, whose realized P&L is 50 and fees 1.18.
    fills = [
        fill(BUY, "2", "100", fee="0.2", n=1),
        fill(BUY, "1", "130", fee="0.13", n=2),  # long 3 at an average of 110; 0.33 fees open
        fill(SELL, "1", "140", fee="0.14", n=3),  # partial close
        fill(SELL, "5", "120", fee="0.6", n=4),  # closes 2, flips to short 3 at 120
        fill(BUY, "1", "110", fee="0.11", n=5),  # partial cover
        fill(BUY, "2", "125", n=6),  # closes the short
    ]
    trades = derive_round_trips(fills)

    partial, rest, cover, close = trades
    # Sell 1 at 140 against 110: gross 30; fees = 0.33 × 1/3 of the entry fees + 0.14 = 0.25.
    assert (partial.side, partial.quantity, partial.entry_price, partial.exit_price) == (
        PositionSide.LONG,
        1,
        110,
        140,
    )
    assert (partial.gross_pnl, partial.fees, partial.net_pnl) == (30, Decimal("0.25"), Decimal("29.75"))
    assert (partial.entry_ts, partial.exit_ts) == (TS + STEP_NS, TS + 3 * STEP_NS)
    assert partial.holding_ns == 2 * STEP_NS
    # Sell 5 at 120 closes the other 2: gross 2 × (120 − 110) = 20; fees = the 0.22 still open
    # + 2/5 of 0.6 = 0.24 → 0.46. The entry time is still the first buy's.
    assert (rest.quantity, rest.gross_pnl, rest.fees, rest.net_pnl) == (
        2,
        20,
        Decimal("0.46"),
        Decimal("19.54"),
    )
    assert rest.entry_ts == TS + STEP_NS
    # The flip opened short 3 at 120 with 3/5 of 0.6 = 0.36 of fees, at t4.
    # Buy 1 at 110: gross 10; fees = 0.36 / 3 + 0.11 = 0.23.
    assert (cover.side, cover.quantity, cover.entry_price, cover.exit_price) == (
        PositionSide.SHORT,
        1,
        120,
        110,
    )
    assert (cover.gross_pnl, cover.fees, cover.entry_ts) == (10, Decimal("0.23"), TS + 4 * STEP_NS)
    # Buy 2 at 125 against 120: gross −10; fees = the 0.24 left open.
    assert (close.quantity, close.gross_pnl, close.fees, close.net_pnl) == (
        2,
        -10,
        Decimal("0.24"),
        Decimal("-10.24"),
    )

    position = Position.from_fills(BTCUSDT, fills)
    assert total([t.gross_pnl for t in trades]) == position.realized_pnl == 50
    assert total([t.fees for t in trades]) == position.fees == Decimal("1.18")
    assert total([t.net_pnl for t in trades]) == position.realized_pnl - position.fees


def test_a_fee_share_that_does_not_divide_is_rounded_and_conserved() -> None:
    ledger = RoundTripLedger(BTCUSDT)
    ledger.apply(fill(BUY, "3", "100", fee="1", n=1))
    trade = ledger.apply(fill(SELL, "1", "100", n=2))
    assert trade is not None
    assert trade.fees == Decimal("0.33333333333333333333")  # 1 × 1/3 at the 1e-20 cost scale
    assert ledger.open_fees == Decimal("0.66666666666666666667")
    assert exact_add(trade.fees, ledger.open_fees) == 1


def test_instruments_are_kept_apart_and_trades_come_in_closing_order() -> None:
    fills = [
        fill(BUY, "1", "100", n=1),
        fill(SELL, "1", "10", n=2, instrument_id=ETHUSDT),  # short ETH
        fill(BUY, "1", "8", n=3, instrument_id=ETHUSDT),
        fill(SELL, "1", "90", n=4),
    ]
    eth, btc = derive_round_trips(fills)
    assert (eth.instrument_id, eth.side, eth.gross_pnl) == (ETHUSDT, PositionSide.SHORT, 2)
    assert (btc.instrument_id, btc.side, btc.gross_pnl) == (BTCUSDT, PositionSide.LONG, -10)


def test_a_fill_of_another_instrument_is_refused_by_the_ledger() -> None:
    ledger = RoundTripLedger(BTCUSDT)
    with pytest.raises(InvalidValue):
        ledger.apply(fill(BUY, "1", "100", instrument_id=ETHUSDT))
    assert ledger.position.is_flat
    assert ledger.open_fees == 0


def test_as_dict_is_exact_text() -> None:
    (trade,) = derive_round_trips(
        [fill(BUY, "0.5", "100.10", fee="0.01", n=1), fill(SELL, "0.5", "101", n=2)]
    )
    assert trade.as_dict() == {
        "instrument_id": "BTCUSDT.BINANCE",
        "side": "LONG",
        "quantity": "0.5",
        "entry_ts": TS + STEP_NS,
        "entry_price": "100.1",
        "exit_ts": TS + 2 * STEP_NS,
        "exit_price": "101",
        "gross_pnl": "0.45",
        "fees": "0.01",
        "net_pnl": "0.44",
        "holding_ns": STEP_NS,
    }


@settings(deadline=None)
@given(instruments().flatmap(lambda i: fill_sequences(i, max_size=15, max_lots=10**6, max_ticks=10**8)))
def test_trades_add_up_to_the_position_exactly(fills: list[Fill]) -> None:
    """Σ gross == realized P&L; Σ fees + fees of the open quantity == all fees; hence
    Σ net == realized − fees + open fees, and == realized − fees once flat."""
    instrument_id = fills[0].instrument_id
    ledger = RoundTripLedger(instrument_id)
    for f in fills:
        ledger.apply(f)
    position = Position.from_fills(instrument_id, fills)
    trades = ledger.closed
    assert ledger.position.state() == position.state()
    assert total([t.gross_pnl for t in trades]) == position.realized_pnl
    assert exact_add(total([t.fees for t in trades]), ledger.open_fees) == position.fees
    assert total([t.net_pnl for t in trades]) == exact_add(
        exact_sub(position.realized_pnl, position.fees), ledger.open_fees
    )
    if position.is_flat:
        assert ledger.open_fees == 0
    assert all(t.quantity > 0 and t.holding_ns >= 0 for t in trades)
    assert list(derive_round_trips(fills)) == trades
