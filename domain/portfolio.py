"""The account and portfolio: cash per asset, positions, equity, exposure, drawdown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import reduce

from domain.errors import DomainError, InvalidValue
from domain.identifiers import InstrumentId
from domain.instrument import Instrument, InstrumentRegistry
from domain.orders import Fill
from domain.positions import Position
from domain.values import ZERO, divide, exact_add, exact_mul, exact_sub, positive, to_decimal


class MissingMark(DomainError):
    """Equity or exposure was asked for while an asset held has no price to value it."""

    code = "MISSING_MARK"

    def __init__(self, asset: str, valuation_currency: str) -> None:
        self.asset = asset
        super().__init__(f"no mark price to value {asset} in {valuation_currency}")


class Account:
    """Cash balances per asset, moved only by deposits, withdrawals and fills.

    A buy adds base and pays quote (price × quantity); a sell does the reverse. The fee comes
    out of the asset it is paid in: the quote currency (also when the fill names none), the
    base asset, or another one. Balances may go negative (a short or a margin loan); the risk
    policies decide whether that is allowed, not the ledger.
    """

    __slots__ = ("balances",)

    def __init__(self, balances: Mapping[str, object] | None = None) -> None:
        self.balances: dict[str, Decimal] = {}
        for asset, amount in (balances or {}).items():
            self.deposit(asset, amount)

    def balance(self, asset: str) -> Decimal:
        return self.balances.get(asset, ZERO)

    def deposit(self, asset: str, amount: object) -> None:
        """Add ``amount`` (>= 0) of ``asset``."""
        if not isinstance(asset, str) or not asset:
            raise InvalidValue("asset", asset, "must be an asset code")
        value = to_decimal(amount, f"{asset} deposit")
        if value < ZERO:
            raise InvalidValue(f"{asset} deposit", amount, "must not be negative")
        self.balances[asset] = exact_add(self.balance(asset), value)

    def withdraw(self, asset: str, amount: object) -> None:
        """Remove ``amount`` (> 0) of ``asset``; refuses to overdraw."""
        value = positive(amount, f"{asset} withdrawal")
        if value > self.balance(asset):
            raise InvalidValue(f"{asset} withdrawal", amount, f"exceeds the balance {self.balance(asset)}")
        self.balances[asset] = exact_sub(self.balance(asset), value)

    def apply_fill(self, fill: Fill, instrument: Instrument) -> None:
        """Move base and quote for one fill, and take the fee from the asset it is paid in."""
        if fill.instrument_id != instrument.id:
            raise InvalidValue("fill.instrument_id", fill.instrument_id, f"does not match {instrument.id}")
        signed = fill.signed_quantity
        self.balances[instrument.base] = exact_add(self.balance(instrument.base), signed)
        cash_flow = exact_mul(signed, fill.price)
        self.balances[instrument.quote] = exact_sub(self.balance(instrument.quote), cash_flow)
        if fill.fee:
            fee_asset = fill.fee_asset or instrument.quote
            self.balances[fee_asset] = exact_sub(self.balance(fee_asset), fill.fee)


class Portfolio:
    """Account plus positions and marks, valued in one ``valuation_currency``.

    Equity is the sum of every balance valued at its mark; an asset other than the
    valuation currency is valued through an instrument quoting it in that currency
    (e.g. BTC through BTCUSDT when valuing in USDT). ``revalue`` updates peak equity and
    drawdown; call it when a mark or a fill changed.

    Fees paid in the instrument's quote or base asset are in its position's ``fees`` (in
    quote); fees paid in any other asset (a fee token such as BNB) are totalled per asset in
    ``fees_by_asset``, as their worth in quote is not known when they are paid.
    """

    __slots__ = (
        "_valuers",
        "account",
        "fees_by_asset",
        "instruments",
        "marks",
        "peak_equity",
        "positions",
        "valuation_currency",
    )

    def __init__(
        self,
        *,
        instruments: InstrumentRegistry | Iterable[Instrument],
        valuation_currency: str,
        balances: Mapping[str, object] | None = None,
    ) -> None:
        self.instruments = (
            instruments if isinstance(instruments, InstrumentRegistry) else InstrumentRegistry(instruments)
        )
        if not isinstance(valuation_currency, str) or not valuation_currency:
            raise InvalidValue("valuation_currency", valuation_currency, "must be an asset code")
        self.valuation_currency = valuation_currency
        self.account = Account(balances)
        self.positions: dict[InstrumentId, Position] = {}
        self.fees_by_asset: dict[str, Decimal] = {}
        self.marks: dict[InstrumentId, Decimal] = {}
        self._valuers: dict[str, InstrumentId] = {}
        for instrument in self.instruments.values():
            if instrument.quote == valuation_currency:
                self._valuers.setdefault(instrument.base, instrument.id)
        self.peak_equity = ZERO
        self.peak_equity = self.revalue() if self._all_valued() else ZERO

    def _all_valued(self) -> bool:
        return all(
            asset == self.valuation_currency or not amount or self._valuers.get(asset) in self.marks
            for asset, amount in self.account.balances.items()
        )

    # -- updates -------------------------------------------------------------------------

    def position(self, instrument_id: InstrumentId) -> Position:
        """The position in ``instrument_id`` (flat if never traded); raises UnknownInstrument."""
        position = self.positions.get(instrument_id)
        if position is None:
            instrument = self.instruments[instrument_id]  # validates the id
            position = self.positions[instrument_id] = Position(
                instrument_id, base=instrument.base, quote=instrument.quote
            )
        return position

    def apply_fill(self, fill: Fill) -> Position:
        """Book a fill in the account and its position; the fill price becomes the mark if none."""
        instrument = self.instruments[fill.instrument_id]
        position = self.position(fill.instrument_id)
        position.apply(fill)
        self.account.apply_fill(fill, instrument)
        self._count_fee_apart(fill, instrument)
        self.marks.setdefault(fill.instrument_id, fill.price)
        return position

    def _count_fee_apart(self, fill: Fill, instrument: Instrument) -> None:
        asset = fill.fee_asset
        if fill.fee and asset and asset not in (instrument.base, instrument.quote):
            self.fees_by_asset[asset] = exact_add(self.fees_by_asset.get(asset, ZERO), fill.fee)

    def recount_fees_by_asset(self, fills: Iterable[Fill]) -> None:
        """Set ``fees_by_asset`` to the totals of ``fills`` (every fill booked so far, as read
        back after a restart); fills of instruments no longer registered are skipped."""
        self.fees_by_asset.clear()
        for fill in fills:
            instrument = self.instruments.get(fill.instrument_id)
            if instrument is not None:
                self._count_fee_apart(fill, instrument)

    def update_mark(self, instrument_id: InstrumentId, price: Decimal) -> None:
        """Record the latest mark (last trade or mid) of an instrument; cheap, no revaluation.

        Raises InvalidValue for a mark that is not a positive finite decimal (a float, NaN or
        infinity would poison every later valuation) and UnknownInstrument for an unknown id.
        """
        mark = positive(price, "mark")
        self.instruments[instrument_id]  # validates the id
        self.marks[instrument_id] = mark

    # -- valuation -----------------------------------------------------------------------

    def price_of(self, asset: str) -> Decimal:
        """Value of one unit of ``asset`` in the valuation currency; raises MissingMark."""
        if asset == self.valuation_currency:
            return Decimal(1)
        instrument_id = self._valuers.get(asset)
        if instrument_id is None or instrument_id not in self.marks:
            raise MissingMark(asset, self.valuation_currency)
        return self.marks[instrument_id]

    def equity(self) -> Decimal:
        """Sum of all balances valued at their marks."""
        total = ZERO
        for asset, amount in self.account.balances.items():
            if amount:
                total = exact_add(total, exact_mul(amount, self.price_of(asset)))
        return total

    def _position_value(self, position: Position) -> Decimal:
        instrument = self.instruments[position.instrument_id]
        mark = self.marks[position.instrument_id]
        return exact_mul(position.notional(mark), self.price_of(instrument.quote))

    def gross_exposure(self) -> Decimal:
        """Sum of |position value| across instruments, in the valuation currency."""
        total = ZERO
        for position in self.positions.values():
            if position.quantity:
                # copy_abs, not abs(): abs() rounds to the 28-digit thread context.
                total = exact_add(total, self._position_value(position).copy_abs())
        return total

    def net_exposure(self) -> Decimal:
        """Sum of signed position values, in the valuation currency."""
        total = ZERO
        for position in self.positions.values():
            if position.quantity:
                total = exact_add(total, self._position_value(position))
        return total

    # sum() would add in the 28-digit thread context and round; these add exactly.

    def realized_pnl(self) -> Decimal:
        """Realized P&L of all positions, before fees (each in its quote currency, summed)."""
        return reduce(exact_add, (p.realized_pnl for p in self.positions.values()), ZERO)

    def unrealized_pnl(self) -> Decimal:
        """Unrealized P&L of all open positions at their marks."""
        values = (p.unrealized_pnl(self.marks[i]) for i, p in self.positions.items() if p.quantity)
        return reduce(exact_add, values, ZERO)

    def fees(self) -> Decimal:
        """Fees of all positions in their quote currencies (those paid in another asset are in
        ``fees_by_asset``)."""
        return reduce(exact_add, (p.fees for p in self.positions.values()), ZERO)

    def revalue(self) -> Decimal:
        """Compute equity and raise the peak if it is a new high; returns equity."""
        equity = self.equity()
        self.peak_equity = max(self.peak_equity, equity)
        return equity

    def drawdown(self, equity: Decimal | None = None) -> Decimal:
        """Peak equity minus current equity (>= 0), in the valuation currency."""
        current = self.equity() if equity is None else equity
        return max(ZERO, exact_sub(self.peak_equity, current))

    def drawdown_fraction(self, equity: Decimal | None = None) -> Decimal:
        """Drawdown as a fraction of peak equity (0 when there is no positive peak)."""
        if self.peak_equity <= ZERO:
            return ZERO
        return divide(self.drawdown(equity), self.peak_equity)
