"""Positions and the account under random fills, mark moves and deposits.

Two or three instruments quoted in USDT (distinct bases, so each base balance belongs to
one position) trade in random sizes on the lot at random prices on the tick, with fees
that may be zero or a rebate, paid in the quote currency (named or not), the base asset or
a fee token (BNB, held from the start and marked through BNBUSDT, which never trades). The
model keeps the fills and the cash flows in fractions, which never round, and the portfolio
must agree with it exactly: no tolerance.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.identifiers import ClientOrderId, InstrumentId, TradeId
from domain.instrument import Instrument
from domain.orders import Fill
from domain.portfolio import Portfolio
from domain.positions import Position
from domain.values import OrderSide
from tests.builders import STEP_NS, TS
from tests.property.strategies import BASES, RULES, fees, sides, steps_of

QUOTE = "USDT"
FEE_TOKEN = "BNB"
FEE_TOKEN_PAIR = Instrument(
    id=InstrumentId(f"{FEE_TOKEN}{QUOTE}.BINANCE"),
    base=FEE_TOKEN,
    quote=QUOTE,
    price_tick=Decimal("0.01"),
    lot_size=Decimal("0.001"),
)
amounts = st.integers(0, 10**14).map(lambda n: Decimal(f"{n}E-2"))
"""USDT amounts up to 1e12, in cents."""


@st.composite
def universes(draw: st.DrawFn) -> list[Instrument]:
    """Two or three instruments quoted in USDT, each with its own base and rules."""
    bases = draw(st.lists(st.sampled_from(BASES), min_size=2, max_size=3, unique=True))
    instruments = []
    for base in bases:
        tick, lot = draw(st.sampled_from(RULES))
        instruments.append(
            Instrument(
                id=InstrumentId(f"{base}{QUOTE}.BINANCE"),
                base=base,
                quote=QUOTE,
                price_tick=Decimal(tick),
                lot_size=Decimal(lot),
            )
        )
    return instruments


class PortfolioLedger(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.instruments: list[Instrument] = []
        self.portfolio: Portfolio
        self.fills: dict[InstrumentId, list[Fill]] = {}
        self.marks: dict[InstrumentId, Decimal] = {}
        self.deposits = Fraction(0)
        self.fee_tokens = Fraction(0)
        self.fee_token_mark = Fraction(0)
        self.peak = Fraction(0)
        self.clock = TS

    @initialize(
        instruments=universes(),
        deposit=amounts,
        fee_tokens=st.integers(0, 10**9).map(lambda n: Decimal(f"{n}E-3")),
        fee_token_ticks=st.integers(1, 10**7),
    )
    def open_account(
        self, instruments: list[Instrument], deposit: Decimal, fee_tokens: Decimal, fee_token_ticks: int
    ) -> None:
        self.instruments = instruments
        self.portfolio = Portfolio(
            instruments=[*instruments, FEE_TOKEN_PAIR],
            valuation_currency=QUOTE,
            balances={QUOTE: deposit, FEE_TOKEN: fee_tokens},
        )
        mark = steps_of(FEE_TOKEN_PAIR.price_tick, fee_token_ticks)
        self.portfolio.update_mark(FEE_TOKEN_PAIR.id, mark)
        self.fee_token_mark = Fraction(mark)
        self.fills = {instrument.id: [] for instrument in instruments}
        self.deposits = Fraction(deposit)
        self.fee_tokens = Fraction(fee_tokens)
        self.peak = Fraction(self.portfolio.revalue())  # the fee token had no mark to value it before

    # -- rules -------------------------------------------------------------------------------

    @rule(
        data=st.data(),
        side=sides,
        lots=st.integers(1, 10**6),
        ticks=st.integers(1, 10**9),
        fee=fees,
    )
    def trade(self, data: st.DataObject, side: OrderSide, lots: int, ticks: int, fee: Decimal) -> None:
        instrument = data.draw(st.sampled_from(self.instruments), label="instrument")
        fee_asset = data.draw(st.sampled_from(("", QUOTE, instrument.base, FEE_TOKEN)), label="fee asset")
        self.clock += STEP_NS
        count = sum(len(fills) for fills in self.fills.values())
        fill = Fill(
            instrument_id=instrument.id,
            client_order_id=ClientOrderId(f"O-{count}"),
            trade_id=TradeId(f"T-{count}"),
            side=side,
            quantity=steps_of(instrument.lot_size, lots),
            price=steps_of(instrument.price_tick, ticks),
            fee=fee,
            fee_asset=fee_asset,
            ts_event=self.clock,
        )
        self.portfolio.apply_fill(fill)
        self.fills[instrument.id].append(fill)
        self.marks.setdefault(instrument.id, fill.price)

    @rule(data=st.data(), ticks=st.integers(1, 10**9))
    def move_mark(self, data: st.DataObject, ticks: int) -> None:
        instrument = data.draw(st.sampled_from(self.instruments), label="instrument")
        price = steps_of(instrument.price_tick, ticks)
        self.portfolio.update_mark(instrument.id, price)
        self.marks[instrument.id] = price

    @rule(ticks=st.integers(1, 10**7))
    def move_fee_token_mark(self, ticks: int) -> None:
        price = steps_of(FEE_TOKEN_PAIR.price_tick, ticks)
        self.portfolio.update_mark(FEE_TOKEN_PAIR.id, price)
        self.fee_token_mark = Fraction(price)

    @rule(amount=amounts)
    def deposit(self, amount: Decimal) -> None:
        self.portfolio.account.deposit(QUOTE, amount)
        self.deposits += Fraction(amount)

    @rule()
    def revalue(self) -> None:
        equity = self.portfolio.revalue()
        self.peak = max(self.peak, Fraction(equity))
        assert Fraction(self.portfolio.peak_equity) == self.peak
        assert self.portfolio.peak_equity >= equity
        assert Fraction(self.portfolio.drawdown()) == self.peak - Fraction(equity)

    # -- the model -----------------------------------------------------------------------------

    def all_fills(self) -> list[Fill]:
        return [f for fills in self.fills.values() for f in fills]

    def held(self, instrument: Instrument) -> Fraction:
        """Σ signed quantity, less the fees paid in the base asset."""
        return sum(
            (Fraction(f.signed_quantity) - self.base_fee(f, instrument) for f in self.fills[instrument.id]),
            Fraction(0),
        )

    @staticmethod
    def base_fee(fill: Fill, instrument: Instrument) -> Fraction:
        return Fraction(fill.fee) if fill.fee_asset == instrument.base else Fraction(0)

    def paid(self) -> Fraction:
        """Σ signed quantity × price over every fill."""
        return sum(
            (Fraction(f.signed_quantity) * Fraction(f.price) for fills in self.fills.values() for f in fills),
            Fraction(0),
        )

    def quote_fees(self) -> Fraction:
        """Σ fees paid in the quote currency (named or not)."""
        return sum((Fraction(f.fee) for f in self.all_fills() if f.fee_asset in ("", QUOTE)), Fraction(0))

    def token_fees(self) -> Fraction:
        return sum((Fraction(f.fee) for f in self.all_fills() if f.fee_asset == FEE_TOKEN), Fraction(0))

    def position_fees(self) -> Fraction:
        """Quote fees, and base fees valued at their fill prices."""
        base_fees = (
            self.base_fee(f, instrument) * Fraction(f.price)
            for instrument in self.instruments
            for f in self.fills[instrument.id]
        )
        return self.quote_fees() + sum(base_fees, Fraction(0))

    def fee_tokens_value(self) -> Fraction:
        return (self.fee_tokens - self.token_fees()) * self.fee_token_mark

    def value(self, instrument: Instrument) -> Fraction:
        mark = self.marks.get(instrument.id)
        return self.held(instrument) * Fraction(mark) if mark is not None else Fraction(0)

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def every_position_is_the_fold_of_its_fills(self) -> None:
        for instrument in self.instruments:
            position = self.portfolio.positions.get(instrument.id) or Position(instrument.id)
            fills = self.fills[instrument.id]
            folded = Position.from_fills(instrument.id, fills, base=instrument.base, quote=instrument.quote)
            assert position.state() == folded.state()
            assert Fraction(position.quantity) == self.held(instrument)

    @invariant()
    def balances_follow_the_cash_flows(self) -> None:
        account = self.portfolio.account
        assert Fraction(account.balance(QUOTE)) == self.deposits - self.paid() - self.quote_fees()
        assert Fraction(account.balance(FEE_TOKEN)) == self.fee_tokens - self.token_fees()
        for instrument in self.instruments:
            assert Fraction(account.balance(instrument.base)) == self.held(instrument)

    @invariant()
    def fees_in_the_fee_token_are_totalled_apart(self) -> None:
        assert set(self.portfolio.fees_by_asset) <= {FEE_TOKEN}
        assert Fraction(self.portfolio.fees_by_asset.get(FEE_TOKEN, Decimal(0))) == self.token_fees()
        assert Fraction(self.portfolio.fees()) == self.position_fees()

    @invariant()
    def equity_less_deposits_is_the_pnl_net_of_fees(self) -> None:
        portfolio = self.portfolio
        equity = Fraction(portfolio.equity())
        pnl = (
            Fraction(portfolio.realized_pnl())
            + Fraction(portfolio.unrealized_pnl())
            - Fraction(portfolio.fees())
        )
        assert equity - self.deposits - self.fee_tokens_value() == pnl
        assert equity == self.deposits - self.paid() - self.quote_fees() + self.fee_tokens_value() + sum(
            map(self.value, self.instruments)
        )

    @invariant()
    def exposures_are_the_marked_positions(self) -> None:
        gross = Fraction(self.portfolio.gross_exposure())
        net = Fraction(self.portfolio.net_exposure())
        assert gross >= abs(net)
        assert gross == sum(abs(self.value(instrument)) for instrument in self.instruments)
        assert net == sum(self.value(instrument) for instrument in self.instruments)

    @invariant()
    def drawdown_is_never_negative(self) -> None:
        drawdown = self.portfolio.drawdown()
        assert drawdown >= 0
        assert Fraction(drawdown) == max(Fraction(0), self.peak - Fraction(self.portfolio.equity()))


TestPortfolioLedger = PortfolioLedger.TestCase
