"""Properties of risk and sizing: risk never lets a limit be exceeded; sizes are on the lot and minimal.

The state machine trades two instruments against a moving last price: random intents go
through PreTradeRisk; approved ones are filled at once (market) or rest as working orders
(limit) that later fill or get canceled; equity feeds the TradingStateMachine, and an
operator halts and resumes at random. After every approval the test recomputes, on its
own, what each limit promises.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Context, Decimal

from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.orders import Fill, Order, OrderType
from domain.portfolio import Portfolio
from domain.risk import (
    NS_PER_DAY,
    OrderRateThrottle,
    PreTradeRisk,
    ResumeRefused,
    RiskLimits,
    RiskReason,
    TradingState,
    TradingStateMachine,
)
from domain.sizing import FixedFraction, FixedQuantity, VolatilityTarget, intent_for_target
from domain.values import OrderSide

SEC = 1_000_000_000
T0 = 1_700_000_000_000_000_000
BTC = InstrumentId("BTCUSDT.BINANCE")
ETH = InstrumentId("ETHUSDT.BINANCE")
LOT = Decimal("0.001")
TICK = Decimal("0.01")
WIDE = Context(prec=200)
MAX_QUANTITY = Decimal(3)
MAX_NOTIONAL = Decimal(400)
MAX_POSITION = Decimal(5)
MAX_GROSS = Decimal(600)
BAND = Decimal("0.05")
MAX_RATE = 4
WINDOW = SEC
MAX_OPEN = 2
MAX_AGE = 2 * SEC
LIMITS = RiskLimits(
    max_order_quantity=MAX_QUANTITY,
    max_order_notional=MAX_NOTIONAL,
    max_position_quantity=MAX_POSITION,
    max_gross_exposure=MAX_GROSS,
    price_band_fraction=BAND,
    max_orders_per_window=MAX_RATE,
    window_ns=WINDOW,
    max_open_orders=MAX_OPEN,
    max_data_age_ns=MAX_AGE,
    daily_loss_limit=Decimal(8),
    max_drawdown_fraction=Decimal("0.05"),
)


def _instrument(base: str) -> Instrument:
    return Instrument(
        id=InstrumentId(f"{base}USDT.BINANCE"), base=base, quote="USDT", price_tick=TICK, lot_size=LOT
    )


_rarely = st.sampled_from([False, False, False, False, True])


def _on_tick(price: Decimal) -> Decimal:
    return max(TICK, price.quantize(TICK))


class RiskMachine(RuleBasedStateMachine):
    """Random trading through pre-trade risk; the limits must hold after every approval."""

    def __init__(self) -> None:
        super().__init__()
        self.portfolio = Portfolio(
            instruments=[_instrument("BTC"), _instrument("ETH")],
            valuation_currency="USDT",
            balances={"USDT": "1500"},
        )
        self.risk = PreTradeRisk(LIMITS)
        self.guard = TradingStateMachine(LIMITS)
        self.now = T0
        self.last = {BTC: Decimal(100), ETH: Decimal(100)}
        self.last_ts = {BTC: T0, ETH: T0}
        for iid, price in self.last.items():
            self.portfolio.update_mark(iid, price)
        self.guard.on_equity(self.portfolio.equity(), self.now)
        self.open: list[Order] = []
        self.approved_at: list[int] = []
        self.count = 0

    # -- the world moves ------------------------------------------------------------------------

    @rule(dt=st.sampled_from([0, 1, SEC // 10, SEC // 3, SEC - 1, SEC, 3 * SEC, NS_PER_DAY]))
    def advance_time(self, dt: int) -> None:
        self.now += dt

    @rule(iid=st.sampled_from([BTC, ETH]), move=st.integers(-600, 600))
    def trade(self, iid: InstrumentId, move: int) -> None:
        price = _on_tick(self.last[iid] * (1 + Decimal(move) / 10_000))
        self.last[iid] = price
        self.last_ts[iid] = self.now
        self.portfolio.update_mark(iid, price)
        self._revalue()

    @initialize(btc=st.integers(-5_000, 5_000), eth=st.integers(-5_000, 5_000))
    def open_positions(self, btc: int, eth: int) -> None:
        """Start with positions (within the limit) so that marks move equity from the first step."""
        for iid, lots in ((BTC, btc), (ETH, eth)):
            if lots:
                self.count += 1
                side = OrderSide.BUY if lots > 0 else OrderSide.SELL
                self.portfolio.apply_fill(
                    Fill(
                        instrument_id=iid,
                        client_order_id=ClientOrderId(f"I-{self.count}"),
                        trade_id=TradeId(f"I-{self.count}"),
                        side=side,
                        quantity=abs(lots) * LOT,
                        price=self.last[iid],
                        ts_event=self.now,
                    )
                )
        self._revalue()

    @rule(iid=st.sampled_from([BTC, ETH]), move=st.integers(100, 1_000))
    def adverse_trade(self, iid: InstrumentId, move: int) -> None:
        """The market moves against the position (losses drive the trading state)."""
        self.trade(iid, -move if self._held(iid) >= 0 else move)

    @rule(pull=st.integers(0, 3))
    def halt(self, pull: int) -> None:
        if pull == 0:  # the kill switch is pulled now and then, not every few steps
            self.guard.halt("operator test", self.now)
            assert self.guard.state is TradingState.HALTED

    @rule(reset_peak=st.booleans())
    def resume(self, reset_peak: bool) -> None:
        before = self.guard.state
        try:
            assert self.guard.resume(self.now, reset_peak=reset_peak) is TradingState.ACTIVE
        except ResumeRefused:
            assert self.guard.state is before

    # -- orders ---------------------------------------------------------------------------------

    @rule(
        iid=st.sampled_from([BTC, ETH]),
        side=st.sampled_from(OrderSide),
        lots=st.integers(1, 4_000),
        reduce_only=_rarely,
    )
    def submit_market(self, iid: InstrumentId, side: OrderSide, lots: int, reduce_only: bool) -> None:
        self._submit(iid, side, lots, None, reduce_only)

    @rule(
        iid=st.sampled_from([BTC, ETH]),
        side=st.sampled_from(OrderSide),
        lots=st.integers(1, 4_000),
        offset=st.integers(-700, 700),
        reduce_only=_rarely,
    )
    def submit_limit(
        self, iid: InstrumentId, side: OrderSide, lots: int, offset: int, reduce_only: bool
    ) -> None:
        self._submit(iid, side, lots, _on_tick(self.last[iid] * (1 + Decimal(offset) / 10_000)), reduce_only)

    @rule(iid=st.sampled_from([BTC, ETH]), eighths=st.integers(1, 9), limit=st.booleans())
    def cut_position(self, iid: InstrumentId, eighths: int, limit: bool) -> None:
        """An exit-like intent against the position (a little too big when ``eighths`` is 9)."""
        held = self._held(iid)
        lots = int(abs(held) * eighths / 8 / LOT)
        if lots:
            side = OrderSide.SELL if held > 0 else OrderSide.BUY
            self._submit(iid, side, lots, self.last[iid] if limit else None, reduce_only=False)

    def _submit(
        self, iid: InstrumentId, side: OrderSide, lots: int, price: Decimal | None, reduce_only: bool
    ) -> None:
        limit = price is not None
        intent = OrderIntent(
            strategy_id=StrategyId("prop"),
            instrument_id=iid,
            side=side,
            quantity=lots * LOT,
            order_type=OrderType.LIMIT if limit else OrderType.MARKET,
            price=price,
            reduce_only=reduce_only,
            reason="random",
            ts_event=self.now,
        )
        state = self.guard.state
        event(f"submitted in {state.value}")
        decision = self.risk.check(
            intent,
            portfolio=self.portfolio,
            open_orders=self.open,
            last_price=self.last[iid],
            last_price_ts=self.last_ts[iid],
            now_ns=self.now,
            trading_state=state,
        )
        if not decision.approved:
            assert all(isinstance(r.reason, RiskReason) and r.message for r in decision.rejections)
            for reason in decision.reasons:
                event(f"rejected: {reason.value}")
            return
        event(f"approved in {state.value}")
        self._check_approval(intent, state)
        self.approved_at.append(self.now)
        self.count += 1
        order = Order(
            client_order_id=f"P-{self.count}",
            instrument_id=iid,
            side=side,
            order_type=intent.order_type,
            quantity=intent.quantity,
            price=price,
            ts_init=self.now,
        )
        order.submit(self.now)
        order.accept(f"V-{self.count}", self.now)
        if limit:
            self.open.append(order)
        else:
            self._fill(order, order.quantity, self.last[iid])

    @rule(index=st.integers(0, 7), eighths=st.integers(1, 8))
    def fill_working_order(self, index: int, eighths: int) -> None:
        if not self.open:
            return
        order = self.open[index % len(self.open)]
        quantity = max(LOT, (order.leaves_quantity * eighths / 8).quantize(LOT, rounding=ROUND_FLOOR))
        self._fill(order, min(quantity, order.leaves_quantity), order.price or self.last[order.instrument_id])

    @rule(index=st.integers(0, 7))
    def cancel_working_order(self, index: int) -> None:
        if self.open:
            order = self.open.pop(index % len(self.open))
            order.cancel(self.now)

    # -- helpers --------------------------------------------------------------------------------

    def _fill(self, order: Order, quantity: Decimal, price: Decimal) -> None:
        fill = Fill(
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            trade_id=TradeId(f"{order.client_order_id}-{len(order.fills)}"),
            side=order.side,
            quantity=quantity,
            price=price,
            ts_event=self.now,
        )
        order.fill(fill)
        self.portfolio.apply_fill(fill)
        if order.is_terminal and order in self.open:
            self.open.remove(order)
        self._revalue()

    def _revalue(self) -> None:
        self.guard.on_equity(self.portfolio.equity(), self.now)
        for change in self.guard.drain_events():
            event(f"went {change.state.value}: {change.reason.value}")

    def _held(self, iid: InstrumentId) -> Decimal:
        position = self.portfolio.positions.get(iid)
        return position.quantity if position is not None else Decimal(0)

    def _leaves(self, iid: InstrumentId, side: OrderSide) -> Decimal:
        return sum(
            (o.leaves_quantity for o in self.open if o.instrument_id == iid and o.side is side), Decimal(0)
        )

    def _worst(self, iid: InstrumentId, extra: OrderIntent | None = None) -> tuple[Decimal, Decimal]:
        """(highest, lowest) position the working orders (and ``extra``) can reach."""
        held = self._held(iid)
        high = held + self._leaves(iid, OrderSide.BUY)
        low = held - self._leaves(iid, OrderSide.SELL)
        if extra is not None and extra.instrument_id == iid:
            if extra.side is OrderSide.BUY:
                high += extra.quantity
            else:
                low -= extra.quantity
        return high, low

    def _gross(self, intent: OrderIntent, with_intent: bool) -> tuple[Decimal, Decimal]:
        """(gross exposure, the intent instrument's part) at the prices the rule documents."""
        total = own = Decimal(0)
        for iid in (BTC, ETH):
            high, low = self._worst(iid, intent if with_intent else None)
            if iid == intent.instrument_id:
                check_price = intent.price if intent.price is not None else self.last[iid]
                value = WIDE.multiply(max(abs(high), abs(low)), max(check_price, self.last[iid]))
                own = value
            else:
                value = WIDE.multiply(max(abs(high), abs(low)), self.portfolio.marks[iid])
            total = WIDE.add(total, value)
        return total, own

    def _check_approval(self, intent: OrderIntent, state: TradingState) -> None:
        """What every limit promises about an order that was just approved (not yet applied)."""
        iid = intent.instrument_id
        assert state is not TradingState.HALTED
        high_before, low_before = self._worst(iid)
        high, low = self._worst(iid, intent)
        if state is TradingState.REDUCE_ONLY or intent.reduce_only:
            before, after = (high_before, high) if intent.side is OrderSide.BUY else (low_before, low)
            assert abs(after) < abs(before), (before, after)
            assert (after >= 0) if before > 0 else (after <= 0)
        assert intent.quantity <= MAX_QUANTITY
        check_price = intent.price if intent.price is not None else self.last[iid]
        assert intent.quantity * check_price <= MAX_NOTIONAL
        assert low >= -MAX_POSITION
        assert high <= MAX_POSITION
        gross_after, own_after = self._gross(intent, with_intent=True)
        _, own_before = self._gross(intent, with_intent=False)
        assert gross_after <= MAX_GROSS or own_after <= own_before
        if intent.price is not None:
            assert abs(intent.price - self.last[iid]) <= BAND * self.last[iid]
        assert len(self.open) + 1 <= MAX_OPEN
        in_window = [t for t in self.approved_at if t > self.now - WINDOW]
        assert len(in_window) + 1 <= MAX_RATE
        assert self.now - self.last_ts[iid] <= MAX_AGE

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def worst_case_positions_stay_within_the_limit(self) -> None:
        for iid in (BTC, ETH):
            high, low = self._worst(iid)
            assert low >= -MAX_POSITION, (iid, low)
            assert high <= MAX_POSITION, (iid, high)

    @invariant()
    def a_restart_continues_the_trading_state_exactly(self) -> None:
        """What persistence relies on: a machine restored from a snapshot is the same machine."""
        restored = TradingStateMachine(LIMITS)
        restored.restore(self.guard.snapshot())
        assert restored.snapshot() == self.guard.snapshot()
        assert (restored.state, restored.drawdown, restored.daily_pnl) == (
            self.guard.state,
            self.guard.drawdown,
            self.guard.daily_pnl,
        )

    @invariant()
    def open_orders_stay_within_the_limit(self) -> None:
        assert len(self.open) <= MAX_OPEN

    @invariant()
    def the_state_matches_its_reason(self) -> None:
        state, reason = self.guard.state, self.guard.reason
        if state is TradingState.ACTIVE:
            assert reason is None
        elif state is TradingState.REDUCE_ONLY:
            assert reason is RiskReason.DAILY_LOSS_LIMIT
        else:
            assert reason in (RiskReason.MAX_DRAWDOWN, RiskReason.KILL_SWITCH)


TestRiskMachine = RiskMachine.TestCase


# -- the throttle on its own ----------------------------------------------------------------------


@given(
    max_orders=st.integers(1, 5),
    window=st.integers(1, 50),
    gaps=st.lists(st.integers(0, 20), min_size=1, max_size=80),
)
def test_the_throttle_never_allows_more_than_n_orders_in_any_window(
    max_orders: int, window: int, gaps: list[int]
) -> None:
    throttle = OrderRateThrottle(max_orders, window)
    sent: list[int] = []
    now = 0
    for gap in gaps:
        now += gap
        recent = sum(1 for t in sent if t > now - window)
        allowed = throttle.allow(now)
        assert allowed == (recent < max_orders)
        if allowed:
            throttle.record(now)
            sent.append(now)
        assert sum(1 for t in sent if t > now - window) <= max_orders


# -- limits round trip --------------------------------------------------------------------------

_amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1e12"), allow_nan=False, places=8)
_fractions = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4)
_counts = st.integers(1, 10**12)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "max_order_quantity": _amounts,
            "max_order_notional": _amounts,
            "max_position_quantity": _amounts,
            "max_gross_exposure": _amounts,
            "price_band_fraction": _fractions,
            "max_open_orders": _counts,
            "max_data_age_ns": _counts,
            "daily_loss_limit": _amounts,
            "max_drawdown_fraction": _fractions,
        },
    )
)
def test_limits_survive_the_mapping_round_trip(values: dict[str, object]) -> None:
    limits = RiskLimits(**values)  # type: ignore[arg-type]

    assert RiskLimits.from_mapping(limits.to_mapping()) == limits


# -- sizing ---------------------------------------------------------------------------------------

_LOTS = ("0.001", "0.01", "1", "0.00000001", "0.25")


@st.composite
def _instruments(draw: st.DrawFn) -> Instrument:
    lot = Decimal(draw(st.sampled_from(_LOTS)))
    return Instrument(
        id=BTC,
        base="BTC",
        quote="USDT",
        price_tick=TICK,
        lot_size=lot,
        min_quantity=lot * draw(st.integers(0, 5)),
        min_notional=Decimal(draw(st.sampled_from(("0", "1", "10")))),
    )


_prices = st.integers(1, 10**8).map(lambda n: n * TICK)
_equities = st.decimals(min_value=Decimal(-100), max_value=Decimal(10**7), places=2)
_strengths = st.floats(0, 1)


@given(
    instrument=_instruments(),
    sizer=st.one_of(
        st.builds(
            FixedQuantity, st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(10**6), places=8)
        ),
        st.builds(FixedFraction, _fractions),
        st.builds(
            VolatilityTarget,
            _fractions,
            st.decimals(min_value=Decimal("0.1"), max_value=Decimal(10), places=2),
        ),
    ),
    price=_prices,
    equity=_equities,
    strength=_strengths,
    atr=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
)
def test_a_size_is_on_the_lot_never_above_what_was_asked_and_zero_or_tradable(
    *,
    instrument: Instrument,
    sizer: FixedQuantity | FixedFraction | VolatilityTarget,
    price: Decimal,
    equity: Decimal,
    strength: float,
    atr: float | None,
) -> None:
    result = sizer.size(instrument=instrument, price=price, equity=equity, strength=strength, atr=atr)

    quantity = result.quantity
    assert result.reason
    assert quantity >= 0
    assert WIDE.remainder(quantity, instrument.lot_size) == 0
    if quantity:
        assert instrument.meets_minimums(price, quantity)
    strength_ = Decimal(repr(strength))
    if isinstance(sizer, FixedQuantity):
        asked = sizer.quantity
    elif isinstance(sizer, FixedFraction):
        asked = WIDE.divide(WIDE.multiply(WIDE.multiply(equity, sizer.fraction), strength_), price)
    else:
        if atr is None or atr == 0:
            assert quantity == 0
            return
        asked = WIDE.divide(
            WIDE.multiply(WIDE.multiply(equity, sizer.risk_fraction), strength_),
            WIDE.multiply(Decimal(repr(atr)), sizer.atr_multiple),
        )
    assert quantity <= max(asked, Decimal(0))  # a negative equity asks for nothing
    if quantity:  # rounded down, not further: one more lot would be too much
        assert WIDE.add(quantity, instrument.lot_size) > asked


@given(
    instrument=_instruments(),
    target_lots=st.integers(-(10**6), 10**6),
    current_lots=st.integers(-(10**6), 10**6),
    extra=st.sampled_from(("0", "0.0000000001", "0.3")),
    price=_prices,
)
def test_the_order_for_a_target_never_overshoots_it(
    instrument: Instrument, target_lots: int, current_lots: int, extra: str, price: Decimal
) -> None:
    lot = instrument.lot_size
    target = WIDE.add(WIDE.multiply(target_lots, lot), Decimal(extra) * lot)
    current = WIDE.multiply(current_lots, lot)

    intent = intent_for_target(
        target, current, instrument, price=price, strategy_id=StrategyId("p"), ts_event=0, reason="t"
    )

    if intent is None:
        whole = WIDE.multiply(WIDE.divide_int(abs(WIDE.subtract(target, current)), lot), lot)
        assert not instrument.meets_minimums(price, whole)
        return
    assert WIDE.remainder(intent.quantity, lot) == 0
    assert instrument.meets_minimums(price, intent.quantity)
    after = WIDE.add(current, intent.signed_quantity)
    assert abs(WIDE.subtract(target, after)) < abs(WIDE.subtract(target, current))
    if intent.side is OrderSide.BUY:  # it stays on its side of the target
        assert current < after <= target
    else:
        assert target <= after < current
