"""StrategyEngine: routing per instrument, signals -> sizing -> intents, isolation of failing strategies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from application.messages import IntentRejected, SignalEmitted, StrategyFailed
from application.strategy_engine import UnknownStrategy
from domain.errors import DomainError, UnknownInstrument
from domain.identifiers import InstrumentId, StrategyId
from domain.market_data import TradeTick
from domain.orders import Order, OrderType
from domain.risk import RiskLimits
from domain.signals import Signal
from domain.sizing import FixedQuantity, VolatilityTarget
from domain.values import OrderSide
from tests.builders import make_fill
from tests.unit.application.harness import BTC, ETH, Harness, ScriptedStrategy

BUY = OrderSide.BUY
SELL = OrderSide.SELL
HALF = FixedQuantity(Decimal("0.5"))

Make = Callable[..., Harness]


def hold(h: Harness, quantity: str, price: str = "100", instrument_id: InstrumentId = BTC) -> None:
    """Book a fill straight into the portfolio: the position the test starts from."""
    side = BUY if Decimal(quantity) > 0 else SELL
    h.portfolio.apply_fill(
        make_fill(
            instrument_id=instrument_id,
            client_order_id=f"HOLD-{len(h.portfolio.positions)}",
            side=side,
            quantity=str(abs(Decimal(quantity))),
            price=price,
        )
    )


def orders_made(h: Harness) -> list[tuple[OrderSide, Decimal, bool]]:
    """What the strategies' intents became, oldest first: (side, quantity, reduce-only)."""
    return [(o.side, o.quantity, o.reduce_only) for o in h.orders.orders.values()]


# -- routing ----------------------------------------------------------------------------------


def test_events_reach_only_the_strategies_subscribed_to_their_instrument(make: Make) -> None:
    h = make(broker="recording")
    on_btc = ScriptedStrategy("on-btc", BTC)
    on_eth = ScriptedStrategy("on-eth", ETH)
    on_both = ScriptedStrategy("on-both", BTC, ETH)
    for strategy in (on_btc, on_eth, on_both):
        h.strategies.add(strategy, sizer=HALF)

    btc_trade = h.trade("100")
    eth_quote = h.quote("10", "10.02", instrument_id=ETH)
    btc_bar = h.bar("101")
    h.trade("2000", instrument_id=InstrumentId("SOLUSDT.BINANCE"))  # nobody trades it

    assert on_btc.seen == [btc_trade, btc_bar]
    assert on_eth.seen == [eth_quote]
    assert on_both.seen == [btc_trade, eth_quote, btc_bar]


# -- signals -> intents -------------------------------------------------------------------------


def test_a_buy_signal_is_stored_published_and_sized_into_a_market_intent(make: Make) -> None:
    h = make(broker="recording")
    slot = h.strategies.add(ScriptedStrategy("s", script={"100": BUY}), sizer=HALF)

    h.trade("100")

    (signal,) = h.signals.list()
    assert signal.side is BUY
    assert h.of_type(SignalEmitted) == [SignalEmitted(signal=signal)]
    (order,) = h.orders.orders.values()
    assert order.strategy_id == "s"
    assert order.instrument_id == BTC
    assert (order.side, order.quantity, order.order_type) == (BUY, Decimal("0.5"), OrderType.MARKET)
    assert not order.reduce_only
    assert order.ts_init == signal.ts_event
    assert (slot.signals, slot.intents) == (1, 1)


def test_the_intent_is_the_delta_between_the_target_and_the_position(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("s", script={"100": BUY}), sizer=HALF)
    hold(h, "0.2")

    h.trade("100")

    assert orders_made(h) == [(BUY, Decimal("0.3"), False)]


def test_no_second_order_while_the_first_is_still_working(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("s", script={"100": BUY, "101": BUY}), sizer=HALF)

    h.trade("100")  # BUY 0.5 -> an order the venue has not answered yet
    h.trade("101")  # BUY again: position 0 + working 0.5 is already the target

    assert orders_made(h) == [(BUY, Decimal("0.5"), False)]
    assert len(h.broker.submitted) == 1


def test_two_strategies_signalling_on_the_same_event_do_not_double_the_order(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("a", script={"100": BUY}), sizer=HALF)
    h.strategies.add(ScriptedStrategy("b", script={"100": BUY}), sizer=HALF)

    h.trade("100")

    # Both want a long of 0.5: the second sees the first's order among the working ones.
    assert orders_made(h) == [(BUY, Decimal("0.5"), False)]
    assert h.orders.working_quantity(BTC) == Decimal("0.5")


def test_an_intent_refused_by_risk_does_not_count_against_the_next_signal_of_the_same_event(
    make: Make,
) -> None:
    h = make(broker="recording", limits=RiskLimits.from_mapping({"max_order_quantity": "0.4"}))
    h.strategies.add(ScriptedStrategy("a", script={"100": BUY}), sizer=HALF)  # 0.5: over the limit
    h.strategies.add(ScriptedStrategy("b", script={"100": "0.3"}), sizer=HALF)  # a long of 0.3

    h.trade("100")

    (refused,) = h.of_type(IntentRejected)
    assert (refused.intent.strategy_id, refused.intent.quantity) == ("a", Decimal("0.5"))
    # The second strategy is sized against what the order manager holds, not against the refused
    # intent: it buys 0.3 (counting the refused 0.5 as on its way, it would have sold 0.2).
    assert orders_made(h) == [(BUY, Decimal("0.3"), False)]


def test_each_intent_is_an_order_before_the_next_signal_is_sized_even_outside_the_bus(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("a", script={"100": BUY}), sizer=HALF)
    h.strategies.add(ScriptedStrategy("b", script={"100": "0.8"}), sizer=HALF)
    tick = TradeTick.create(
        instrument_id=BTC, price="100", size="1", trade_id="X", ts_event=h.advance(), ts_init=h.clock.now_ns()
    )

    h.strategies.on_trade(tick)  # called directly: each intent becomes an order before the next

    assert orders_made(h) == [(BUY, Decimal("0.5"), False), (BUY, Decimal("0.3"), False)]
    assert h.orders.working_quantity(BTC) == Decimal("0.8")


def test_a_sell_without_shorting_only_closes_a_long(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("s", script={"100": SELL, "99": SELL}), sizer=HALF)

    h.trade("100")  # flat: nothing to close
    assert orders_made(h) == []

    hold(h, "0.7")
    h.trade("99")
    assert orders_made(h) == [(SELL, Decimal("0.7"), True)]


def test_a_sell_with_shorting_targets_a_short_of_the_size(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("s", script={"100": SELL}), sizer=HALF, allow_short=True)
    other = make(broker="recording")
    other.strategies.add(ScriptedStrategy("s", script={"100": SELL}), sizer=HALF, allow_short=True)
    hold(other, "0.5")

    h.trade("100")
    other.trade("100")

    assert orders_made(h) == [(SELL, Decimal("0.5"), False)]
    assert orders_made(other) == [(SELL, Decimal("1.0"), False)]  # through zero: not reduce-only


def test_a_target_position_signal_trades_the_difference(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("s", script={"100": "0.25"}), sizer=HALF)
    hold(h, "1")

    h.trade("100")
    assert orders_made(h) == [(SELL, Decimal("0.75"), True)]


def test_a_buy_that_sizes_to_zero_never_sells_the_position(make: Make) -> None:
    # A volatility-target sizer has no ATR on the first trade: the size is 0, "do not trade".
    h = make(broker="recording")
    h.strategies.add(
        ScriptedStrategy("s", script={"100": BUY}),
        sizer=VolatilityTarget(Decimal("0.01"), Decimal("2")),
    )
    hold(h, "0.5")

    h.trade("100")

    assert len(h.signals) == 1
    assert orders_made(h) == []


def test_a_short_sell_that_sizes_to_zero_does_not_trade(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(
        ScriptedStrategy("s", script={"100": SELL}),
        sizer=VolatilityTarget(Decimal("0.01"), Decimal("2")),
        allow_short=True,
    )
    hold(h, "0.5")

    h.trade("100")

    assert orders_made(h) == []


def test_a_long_only_sell_closes_the_long_whatever_the_sizer_says(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(
        ScriptedStrategy("s", script={"100": SELL}),
        sizer=VolatilityTarget(Decimal("0.01"), Decimal("2")),
    )
    hold(h, "0.5")

    h.trade("100")

    assert orders_made(h) == [(SELL, Decimal("0.5"), True)]


def test_a_volatility_target_sizes_once_the_atr_of_the_trades_is_ready(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(
        ScriptedStrategy("s", script={"101": BUY}),
        sizer=VolatilityTarget(Decimal("0.01"), Decimal("1")),
        atr_period=2,
    )

    h.trade("99")
    h.trade("101")  # BUY, but ATR(2) of the trades is not ready: not sized, not traded
    assert orders_made(h) == []

    h.trade("99")
    h.trade("101")  # ATR 2 (|move| of zero-range bars): 10 000 × 1 % / (2 × 1) = 50
    assert orders_made(h) == [(BUY, Decimal("50.000"), False)]


def test_a_quote_signal_is_sized_at_the_mid(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(
        ScriptedStrategy("s", script={"99.50": BUY, "100.50": BUY}), sizer=FixedQuantity(Decimal("0.1"))
    )

    h.quote("99.49", "99.51")  # 0.1 at mid 99.5 is 9.95, below the 10 USDT minimum notional
    assert orders_made(h) == []

    h.quote("100.49", "100.51")
    assert orders_made(h) == [(BUY, Decimal("0.1"), False)]


# -- isolation and lifecycle --------------------------------------------------------------------


def test_a_raising_strategy_is_disabled_and_reported_and_the_others_go_on(make: Make) -> None:
    h = make(broker="recording")
    broken = ScriptedStrategy("broken", script={"100": RuntimeError("boom")})
    healthy = ScriptedStrategy("healthy", script={"100": BUY})
    broken_slot = h.strategies.add(broken, sizer=HALF)
    h.strategies.add(healthy, sizer=HALF)

    tick = h.trade("100")
    h.trade("101")

    assert h.of_type(StrategyFailed) == [
        StrategyFailed(strategy_id=broken.id, error="RuntimeError: boom", ts_event=tick.ts_event)
    ]
    assert not broken_slot.active
    assert broken_slot.error == "RuntimeError: boom"
    assert len(broken.seen) == 1  # not fed after it failed
    assert len(healthy.seen) == 2
    assert [o.strategy_id for o in h.orders.orders.values()] == ["healthy"]
    assert h.bus.stats.handler_errors == 0  # isolated by the strategy engine, not by the bus


def test_a_stopped_strategy_is_not_fed_until_started_again(make: Make) -> None:
    h = make(broker="recording")
    strategy = ScriptedStrategy("s")
    h.strategies.add(strategy, sizer=HALF)

    h.strategies.stop("s")
    h.trade("100")
    h.strategies.start("s")
    last = h.trade("101")

    assert strategy.seen == [last]
    assert strategy.resets == 1  # a restart warms up again from scratch


def test_starting_a_failed_strategy_resets_it_and_clears_the_error(make: Make) -> None:
    h = make(broker="recording")
    strategy = ScriptedStrategy("s", script={"100": ValueError("bad input")})
    slot = h.strategies.add(strategy, sizer=HALF)
    h.trade("100")
    assert not slot.active

    h.strategies.start("s")

    assert slot.active
    assert slot.error == ""
    assert strategy.resets == 1


def test_starting_a_running_strategy_changes_nothing(make: Make) -> None:
    h = make(broker="recording")
    strategy = ScriptedStrategy("s")
    h.strategies.add(strategy, sizer=HALF)

    h.strategies.start("s")

    assert strategy.resets == 0


@pytest.mark.parametrize("command", ["slot", "start", "stop"])
def test_an_unknown_strategy_id_raises_unknown_strategy(make: Make, command: str) -> None:
    h = make(broker="recording")

    with pytest.raises(UnknownStrategy, match="unknown strategy 'nope'") as raised:
        getattr(h.strategies, command)("nope")

    assert isinstance(raised.value, KeyError)
    assert raised.value.code == "UNKNOWN_STRATEGY"


def test_adding_a_strategy_twice_or_on_an_unknown_instrument_is_refused(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("s"), sizer=HALF)

    with pytest.raises(DomainError, match="already registered"):
        h.strategies.add(ScriptedStrategy("s"), sizer=HALF)
    with pytest.raises(UnknownInstrument):
        h.strategies.add(ScriptedStrategy("t", InstrumentId("SOLUSDT.BINANCE")), sizer=HALF)
    assert [slot.id for slot in h.strategies.slots] == ["s"]


def test_an_exit_signal_while_the_entry_is_still_working_is_sent_not_refused(make: Make) -> None:
    h = make(broker="recording")
    h.strategies.add(ScriptedStrategy("s", script={"100": BUY, "99": SELL}), sizer=HALF)
    h.trade("100")  # BUY 0.5: working, not filled yet

    h.trade("99")  # SELL: flat once both fill

    assert h.of_type(IntentRejected) == []
    assert [(o.side, o.quantity) for o in h.broker.submitted] == [
        (BUY, Decimal("0.5")),
        (SELL, Decimal("0.5")),
    ]
    assert h.orders.working_quantity(BTC) == 0


# -- signals are durable before the engine moves on -----------------------------------------------


class BufferingSignals:
    """A ``SignalRepository`` that keeps ``add`` pending until ``commit`` (as the SQL store does
    when its signals ride the trades store's transaction), and logs each commit."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.pending: list[Signal] = []
        self.durable: list[Signal] = []

    def add(self, signal: Signal) -> None:
        self.pending.append(signal)

    def commit(self) -> None:
        if self.pending:
            self.log.append(f"signals.commit({len(self.pending)})")
            self.durable += self.pending
            self.pending = []

    def list(self, *, strategy_id: StrategyId | None = None, limit: int = 1000) -> Sequence[Signal]:
        return self.durable[-limit:]


def logging_broker(h: Harness, log: list[str]) -> None:
    submit = h.broker.submit

    def logged(order: Order) -> None:
        log.append("broker.submit")
        submit(order)

    h.broker.submit = logged


def test_signals_that_caused_an_order_are_committed_after_the_oms_handled_the_intent(make: Make) -> None:
    log: list[str] = []
    h = make(broker="recording", signals=BufferingSignals(log))
    logging_broker(h, log)
    h.strategies.add(ScriptedStrategy("a", script={"100": BUY}), sizer=HALF)
    h.strategies.add(ScriptedStrategy("b", script={"100": BUY}), sizer=HALF)

    h.trade("100")

    assert len(h.broker.submitted) == 1
    assert log == ["broker.submit", "signals.commit(2)"], "after the intent, before the event ends"
    assert h.signals.pending == []


def test_a_signal_that_caused_nothing_is_committed_at_the_end_of_its_event(make: Make) -> None:
    log: list[str] = []
    h = make(broker="recording", signals=BufferingSignals(log))
    h.strategies.add(ScriptedStrategy("s", script={"100": "0", "101": BUY}), sizer=HALF)

    h.trade("100")  # target flat, already flat: no intent
    assert log == ["signals.commit(1)"]
    h.quote("99", "101")  # mid 100 again: a signal from a quote, committed the same way
    assert log == ["signals.commit(1)", "signals.commit(1)"]
    h.trade("101", instrument_id=ETH)  # no strategy on ETH: no signal, no commit
    assert log == ["signals.commit(1)", "signals.commit(1)"]
    assert len(h.signals.durable) == 2
    assert h.signals.pending == []


def test_a_signal_whose_intent_risk_refused_is_committed_at_the_end_of_its_event(make: Make) -> None:
    log: list[str] = []
    limits = RiskLimits(max_order_quantity=Decimal("0.1"))
    h = make(broker="recording", signals=BufferingSignals(log), limits=limits)
    h.strategies.add(ScriptedStrategy("s", script={"100": BUY}), sizer=HALF)

    h.trade("100")

    assert len(h.of_type(IntentRejected)) == 1
    assert log == ["signals.commit(1)"]
    assert h.signals.pending == []
