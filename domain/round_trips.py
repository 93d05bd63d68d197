"""Round-trip trades: the closed trades a sequence of fills makes, under the average-cost method.

The rule is the one ``Position`` realizes P&L by, so the trade list and the position agree to
the last digit:

- A fill that opens or adds to a position closes nothing; its fee waits with the open quantity.
- A fill that reduces the position closes one trade for the quantity it reduces (a partial
  close is a trade of its own). The trade's entry price is the position's average cost at that
  moment, its gross P&L is exactly what ``Position.apply`` realizes for the fill, and its entry
  time is when the position was opened from flat (average cost keeps no lots, so no later
  "entry" exists to point at; holding time is therefore measured from the first entry).
- A fill through zero (a flip) closes the old side as above and opens the new side at the fill
  price and time with the rest of the quantity.
- Fees: a closing trade carries its share of the exit fill's fee (by quantity; on a flip the
  rest opens the new side) plus the open quantity's accumulated entry fees in proportion to the
  quantity closed, removed the way ``Position`` removes cost (rounded to 1e-20, the remainder
  staying open). Fees are conserved exactly: Σ trade fees + ``open_fees`` == ``Position.fees``.

Hence, per instrument and exactly: Σ gross_pnl == ``Position.realized_pnl`` and
Σ net_pnl == realized_pnl − fees + open_fees (== realized_pnl − fees once flat).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

from domain.identifiers import InstrumentId
from domain.orders import Fill
from domain.positions import COST_EXPONENT, COST_SCALE, Position, PositionSide
from domain.values import ZERO, divide, exact_add, exact_mul, exact_sub, plain

_QUANTIZE = Context(prec=60)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundTrip:
    """One closed trade: ``quantity`` opened on ``side`` and closed again.

    ``entry_price`` is the average cost of the position when it was (partly) closed; money
    figures are in the instrument's quote currency; ``net_pnl`` is gross P&L minus fees.
    """

    instrument_id: InstrumentId
    side: PositionSide
    quantity: Decimal
    entry_ts: int
    entry_price: Decimal
    exit_ts: int
    exit_price: Decimal
    gross_pnl: Decimal
    fees: Decimal

    @property
    def net_pnl(self) -> Decimal:
        return exact_sub(self.gross_pnl, self.fees)

    @property
    def holding_ns(self) -> int:
        return self.exit_ts - self.entry_ts

    def as_dict(self) -> dict[str, object]:
        """JSON-safe fields: decimals as exact strings, times as integer nanoseconds."""
        return {
            "instrument_id": str(self.instrument_id),
            "side": self.side.value,
            "quantity": plain(self.quantity),
            "entry_ts": self.entry_ts,
            "entry_price": plain(self.entry_price),
            "exit_ts": self.exit_ts,
            "exit_price": plain(self.exit_price),
            "gross_pnl": plain(self.gross_pnl),
            "fees": plain(self.fees),
            "net_pnl": plain(self.net_pnl),
            "holding_ns": self.holding_ns,
        }


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount × part / whole`` rounded to COST_SCALE, as Position rounds a partial cost."""
    share = divide(exact_mul(amount, part), whole)
    if share.as_tuple().exponent < COST_EXPONENT:  # type: ignore[operator]
        share = share.quantize(COST_SCALE, ROUND_HALF_EVEN, _QUANTIZE)
    return share


class RoundTripLedger:
    """The fold of one instrument's fills into closed trades, beside the ``Position`` it mirrors.

    ``open_fees`` are the fees paid for the quantity still open (not yet in any trade).
    """

    __slots__ = ("closed", "open_fees", "opened_ts", "position")

    def __init__(self, instrument_id: InstrumentId) -> None:
        self.position = Position(instrument_id)
        self.open_fees = ZERO
        self.opened_ts: int | None = None
        self.closed: list[RoundTrip] = []

    def apply(self, fill: Fill) -> RoundTrip | None:
        """Apply one fill; returns the trade it closed, if any.

        Raises InvalidValue (from ``Position.apply``) if the fill belongs to another instrument.
        """
        position = self.position
        held = position.quantity
        if not held or (held > ZERO) == (fill.side > 0):
            position.apply(fill)
            if not held:
                self.opened_ts = fill.ts_event
            self.open_fees = exact_add(self.open_fees, fill.fee)
            return None
        side = position.side
        entry_price = divide(position.cost, held)
        held_size = held.copy_abs()
        closing = min(fill.quantity, held_size)
        gross = position.apply(fill)
        exit_fee = fill.fee if closing == fill.quantity else _share(fill.fee, closing, fill.quantity)
        entry_fee = self.open_fees if closing == held_size else _share(self.open_fees, closing, held_size)
        trade = RoundTrip(
            instrument_id=position.instrument_id,
            side=side,
            quantity=closing,
            entry_ts=self.opened_ts if self.opened_ts is not None else fill.ts_event,
            entry_price=entry_price,
            exit_ts=fill.ts_event,
            exit_price=fill.price,
            gross_pnl=gross,
            fees=exact_add(entry_fee, exit_fee),
        )
        # What the flip opens keeps the rest of the fill's fee (zero unless it flipped).
        self.open_fees = exact_add(exact_sub(self.open_fees, entry_fee), exact_sub(fill.fee, exit_fee))
        if position.is_flat:
            self.opened_ts = None
        elif closing == held_size:  # a flip: the new side opens now
            self.opened_ts = fill.ts_event
        # else a partial close: the rest keeps its original entry time
        self.closed.append(trade)
        return trade


def derive_round_trips(fills: Iterable[Fill]) -> tuple[RoundTrip, ...]:
    """Closed trades of ``fills`` (any instruments), in the order the fills closed them.

    Fills are folded in the order given, as ``Position.from_fills`` folds them.
    """
    ledgers: dict[InstrumentId, RoundTripLedger] = {}
    trades: list[RoundTrip] = []
    for fill in fills:
        ledger = ledgers.get(fill.instrument_id)
        if ledger is None:
            ledger = ledgers[fill.instrument_id] = RoundTripLedger(fill.instrument_id)
        trade = ledger.apply(fill)
        if trade is not None:
            trades.append(trade)
    return tuple(trades)
