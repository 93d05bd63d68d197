"""Positions: net quantity, cost basis and P&L, always equal to the fold of their fills."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Context, Decimal
from enum import Enum

from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.orders import Fill
from domain.values import ZERO, divide, exact_add, exact_mul, exact_sub

COST_SCALE = Decimal("1e-20")
"""Cost removed on a partial close is rounded to this scale (finer than any venue's price × lot).

Rounding only moves a sub-1e-20 amount between realized and unrealized P&L: their sum, and
the reconciliation with cash, stay exact because the rounded amount is what both sides use.
"""
COST_EXPONENT = -20
_QUANTIZE = Context(prec=60)


class PositionSide(Enum):
    FLAT = "FLAT"
    LONG = "LONG"
    SHORT = "SHORT"


class Position:
    """Net position in one instrument under the average-cost method.

    ``quantity`` is signed (negative = short); ``cost`` is the signed cost basis of the
    open quantity (sum of signed quantity × price); reducing realizes P&L against the
    average cost, and a fill through zero closes the old side and opens the new one at
    the fill price. ``fees`` are in the quote currency and kept apart from realized P&L.

    A fill's fee is booked by the asset it is paid in, which is why a position is told its
    instrument's ``base`` and ``quote``:

    - in the quote currency (or no asset named): added to ``fees``;
    - in the base asset: the fee comes out of the quantity, as it does out of the account
      (the position moves by the signed quantity minus the fee, at the fill price, so the
      average cost per unit filled is unchanged and the position never exceeds what the
      account holds), and ``fees`` grow by fee × price;
    - in any other asset: nothing here (its worth in quote is not known); the portfolio
      keeps those fees by asset.

    A position built without its assets refuses a fill that names a fee asset rather than
    guess which of the three it is.
    """

    __slots__ = (
        "base",
        "cost",
        "fees",
        "fill_count",
        "instrument_id",
        "quantity",
        "quote",
        "realized_pnl",
        "ts_last",
    )

    def __init__(self, instrument_id: InstrumentId, *, base: str = "", quote: str = "") -> None:
        if not isinstance(base, str) or not isinstance(quote, str) or bool(base) != bool(quote):
            raise InvalidValue("position assets", (base, quote), "must be both asset codes or both empty")
        self.instrument_id = instrument_id
        self.base = base
        self.quote = quote
        self.quantity = ZERO
        self.cost = ZERO
        self.realized_pnl = ZERO
        self.fees = ZERO
        self.fill_count = 0
        self.ts_last = 0

    @classmethod
    def from_fills(
        cls, instrument_id: InstrumentId, fills: Iterable[Fill], *, base: str = "", quote: str = ""
    ) -> Position:
        """The fold of ``fills``: what the position must equal at every moment."""
        position = cls(instrument_id, base=base, quote=quote)
        for fill in fills:
            position.apply(fill)
        return position

    @property
    def side(self) -> PositionSide:
        if self.quantity > ZERO:
            return PositionSide.LONG
        if self.quantity < ZERO:
            return PositionSide.SHORT
        return PositionSide.FLAT

    @property
    def is_flat(self) -> bool:
        return not self.quantity

    @property
    def avg_entry_price(self) -> Decimal | None:
        """Average cost of the open quantity (40 significant digits); None when flat."""
        if not self.quantity:
            return None
        return divide(self.cost, self.quantity)

    def apply(self, fill: Fill) -> Decimal:
        """Apply one fill; returns the P&L it realized (before fees).

        Raises InvalidValue if the fill belongs to another instrument, or names a fee asset
        while the position does not know its own assets.
        """
        if fill.instrument_id != self.instrument_id:
            raise InvalidValue(
                "fill.instrument_id",
                fill.instrument_id,
                f"does not match position {self.instrument_id}",
            )
        asset = fill.fee_asset
        if not asset or asset == self.quote:
            realized = self._trade(fill.signed_quantity, fill.price)
            self.fees = exact_add(self.fees, fill.fee)
        elif asset == self.base:
            realized = self._trade(exact_sub(fill.signed_quantity, fill.fee), fill.price)
            self.fees = exact_add(self.fees, exact_mul(fill.fee, fill.price))
        elif self.base:
            realized = self._trade(fill.signed_quantity, fill.price)
        else:
            raise InvalidValue(
                "fill.fee_asset",
                asset,
                f"cannot be booked: position {self.instrument_id} was not given its base and quote assets",
            )
        self.fill_count += 1
        self.ts_last = max(self.ts_last, fill.ts_event)
        return realized

    def _trade(self, signed: Decimal, price: Decimal) -> Decimal:
        """Move the position by ``signed`` at ``price``; returns the P&L realized."""
        realized = ZERO
        if not signed:
            return realized
        if not self.quantity or (self.quantity > ZERO) == (signed > ZERO):
            self.quantity = exact_add(self.quantity, signed)
            self.cost = exact_add(self.cost, exact_mul(signed, price))
        else:
            # copy_abs / copy_negate, never abs() or unary minus: those round to the thread's
            # 28-digit context, and quantity × price can be longer than that.
            held = self.quantity.copy_abs()
            size = signed.copy_abs()
            closing = min(size, held)
            long = self.quantity > ZERO
            if closing == held:
                removed = self.cost
            else:
                removed = divide(exact_mul(self.cost, closing), held)
                if removed.as_tuple().exponent < COST_EXPONENT:  # type: ignore[operator]
                    removed = removed.quantize(COST_SCALE, ROUND_HALF_EVEN, _QUANTIZE)
            proceeds = exact_mul(closing, price)
            realized = exact_sub(proceeds if long else proceeds.copy_negate(), removed)
            self.realized_pnl = exact_add(self.realized_pnl, realized)
            self.quantity = exact_sub(self.quantity, closing if long else closing.copy_negate())
            self.cost = exact_sub(self.cost, removed)
            remainder = exact_sub(size, closing)
            if remainder:
                self.quantity = remainder if signed > ZERO else remainder.copy_negate()
                self.cost = exact_mul(self.quantity, price)
        return realized

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """P&L of the open quantity at ``mark``: quantity × mark − cost, exact."""
        return exact_sub(exact_mul(self.quantity, mark), self.cost)

    def total_pnl(self, mark: Decimal) -> Decimal:
        """Realized + unrealized − fees."""
        return exact_sub(exact_add(self.realized_pnl, self.unrealized_pnl(mark)), self.fees)

    def notional(self, mark: Decimal) -> Decimal:
        """Signed market value at ``mark``."""
        return exact_mul(self.quantity, mark)

    def state(self) -> tuple[Decimal, Decimal, Decimal, Decimal, int]:
        """Comparable state, for checking a position against the fold of its fills."""
        return (self.quantity, self.cost, self.realized_pnl, self.fees, self.fill_count)

    def __repr__(self) -> str:
        return (
            f"Position({self.instrument_id} qty={self.quantity} avg={self.avg_entry_price}"
            f" realized={self.realized_pnl} fees={self.fees})"
        )
