"""The strategy engine: routes market events to strategies and turns their signals into intents."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeVar

from application.commands import SubmitOrder
from application.messages import SignalEmitted, StrategyFailed
from application.ports import CommandBus, EventBus, SignalRepository
from domain.errors import DomainError
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId
from domain.indicators import ATR
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.portfolio import Portfolio
from domain.signals import Signal
from domain.sizing import FixedQuantity, Sizer, VolatilityTarget, intent_for_target, target_position
from domain.strategies import Strategy
from domain.values import ZERO, OrderSide

log = logging.getLogger("tradeplane.strategies")

Signals = Sequence[Signal]
Ev = TypeVar("Ev", TradeTick, QuoteTick, Bar)


def _trade_price(tick: TradeTick) -> Decimal:
    return tick.price


def _quote_mid(quote: QuoteTick) -> Decimal:
    return quote.mid


def _bar_close(bar: Bar) -> Decimal:
    return bar.close


@dataclass(slots=True)
class StrategySlot:
    """One strategy as the engine runs it: how to size it, whether it is running, what it did."""

    strategy: Strategy
    sizer: Sizer
    allow_short: bool = False
    active: bool = True
    signals: int = 0
    intents: int = 0
    error: str = ""
    atr: dict[InstrumentId, ATR] = field(default_factory=dict)

    @property
    def id(self) -> StrategyId:
        return self.strategy.id


class UnknownStrategy(DomainError, KeyError):
    code = "UNKNOWN_STRATEGY"

    def __init__(self, strategy_id: str) -> None:
        super().__init__(f"unknown strategy {strategy_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class StrategyEngine:
    """Feeds each strategy the events of the instruments it subscribed to; signals become orders.

    A strategy that raises is isolated: it is disabled, the failure is logged and published
    (StrategyFailed), and every other strategy goes on. Each signal is stored, published
    (SignalEmitted), sized against the portfolio (position sizing), and turned into an intent
    for the difference between the target and the current position plus the orders still
    working; the intent is submitted as a command (SubmitOrder), so the next signal of the same
    event is sized against the order it became (see ``application.bus`` for what runs when).

    A signal is durable no later than the order it causes, and before the engine moves on from
    the market event that produced it: the signals store writes it at once, or in the trades
    store's next transaction (one database), which is the one that journals the order before
    the broker hears of it; at the end of each event with signals ``SignalRepository.commit``
    writes what is left (a signal that caused no order).
    """

    __slots__ = ("_bar_routes", "_commands", "_decide", "_events", "_portfolio", "_quote_routes", "_signals",
                 "_slots", "_trade_routes", "_uncommitted", "_working")  # fmt: skip

    def __init__(
        self,
        *,
        commands: CommandBus,
        events: EventBus,
        signals: SignalRepository,
        portfolio: Portfolio,
        working_quantity: Callable[[InstrumentId], Decimal],
        decide: Callable[[Signal, Decimal], None] | None = None,
    ) -> None:
        """``working_quantity`` is the order manager's: the signed quantity its working orders
        of an instrument still have to fill. With ``decide`` (a strategy worker in front of a
        separate execution service), each signal and the price it is sized at go there instead:
        nothing is stored, sized or submitted here; the execution service does that
        (``trade_signal``)."""
        self._decide = decide
        self._commands = commands
        self._events = events
        self._signals = signals
        self._portfolio = portfolio
        self._working = working_quantity
        self._slots: dict[StrategyId, StrategySlot] = {}
        # instrument -> (slot, the strategy's handler), per event type: the per-tick lookup
        self._trade_routes: dict[InstrumentId, list[tuple[StrategySlot, Callable[[TradeTick], Signals]]]] = {}
        self._quote_routes: dict[InstrumentId, list[tuple[StrategySlot, Callable[[QuoteTick], Signals]]]] = {}
        self._bar_routes: dict[InstrumentId, list[tuple[StrategySlot, Callable[[Bar], Signals]]]] = {}
        self._uncommitted = False  # signals added since the last SignalRepository.commit

    # -- registry ----------------------------------------------------------------------

    def add(
        self, strategy: Strategy, *, sizer: Sizer, allow_short: bool = False, atr_period: int = 14
    ) -> StrategySlot:
        """Register a strategy; raises DomainError for a duplicate id or an unknown instrument.

        A volatility-target sizer gets an ATR(``atr_period``) per instrument, fed from bars,
        or from trades as zero-range bars (then it measures the average absolute tick move).
        """
        if strategy.id in self._slots:
            raise DomainError(f"strategy {strategy.id!r} is already registered")
        for instrument_id in strategy.instrument_ids:
            self._portfolio.instruments[instrument_id]  # raises UnknownInstrument
        slot = StrategySlot(strategy=strategy, sizer=sizer, allow_short=allow_short)
        if isinstance(sizer, VolatilityTarget):
            slot.atr = {iid: ATR(atr_period) for iid in strategy.instrument_ids}
        self._slots[strategy.id] = slot
        for instrument_id in sorted(strategy.instrument_ids):
            self._trade_routes.setdefault(instrument_id, []).append((slot, strategy.on_trade))
            self._quote_routes.setdefault(instrument_id, []).append((slot, strategy.on_quote))
            self._bar_routes.setdefault(instrument_id, []).append((slot, strategy.on_bar))
        return slot

    def slot(self, strategy_id: str) -> StrategySlot:
        try:
            return self._slots[StrategyId(strategy_id)]
        except KeyError:
            raise UnknownStrategy(strategy_id) from None

    @property
    def slots(self) -> Sequence[StrategySlot]:
        return tuple(self._slots.values())

    def start(self, strategy_id: str) -> None:
        """(Re)start a stopped or failed strategy; its warm-up restarts from scratch."""
        slot = self.slot(strategy_id)
        if not slot.active:
            slot.strategy.reset()
            for atr in slot.atr.values():
                atr.reset()
            slot.active = True
            slot.error = ""

    def stop(self, strategy_id: str) -> None:
        self.slot(strategy_id).active = False

    # -- market events (the hot path) ----------------------------------------------------

    def on_trade(self, tick: TradeTick) -> None:
        routes = self._trade_routes.get(tick.instrument_id)
        if routes is not None:
            self._feed(routes, tick, _trade_price)

    def on_quote(self, quote: QuoteTick) -> None:
        routes = self._quote_routes.get(quote.instrument_id)
        if routes is not None:
            self._feed(routes, quote, _quote_mid)

    def on_bar(self, bar: Bar) -> None:
        routes = self._bar_routes.get(bar.instrument_id)
        if routes is not None:
            self._feed(routes, bar, _bar_close)

    def _feed(
        self,
        routes: list[tuple[StrategySlot, Callable[[Ev], Signals]]],
        event: Ev,
        price_of: Callable[[Ev], Decimal],
    ) -> None:
        """Hand ``event`` to each active strategy subscribed to it; ``price_of(event)`` sizes its
        signals (asked only when there are some: a quote's mid costs a division)."""
        for slot, handler in routes:
            if not slot.active:
                continue
            if slot.atr:
                _observe(slot.atr[event.instrument_id], event)
            try:
                signals = handler(event)
            except Exception as error:  # isolated: see class docstring
                self._fail(slot, error, event.ts_event)
                continue
            if signals:
                self._handle(slot, signals, price_of(event))
        if self._uncommitted:  # the signals of this event are durable before the engine moves on
            self._signals.commit()
            self._uncommitted = False

    # -- signals -> intents ---------------------------------------------------------------

    def _handle(self, slot: StrategySlot, signals: Sequence[Signal], price: Decimal) -> None:
        decide = self._decide
        for signal in signals:
            slot.signals += 1
            if decide is not None:
                decide(signal, price)
                continue
            self._signals.add(signal)
            self._uncommitted = True
            if self._events.wants(SignalEmitted):
                self._events.publish(SignalEmitted(signal=signal))
            try:
                self._to_intent(slot, signal, price)
            except DomainError as error:
                log.warning("signal %s of %s not traded: %s", signal.reason, slot.id, error)

    def trade_signal(
        self,
        signal: Signal,
        price: Decimal,
        client_order_id: ClientOrderId | None = None,
        key: str | None = None,
        stale: str = "",
    ) -> None:
        """Store, publish, size and submit a signal decided elsewhere (a strategy worker), as if
        its strategy had just emitted it here; ``client_order_id`` makes a second delivery of
        the same signal the same order, and ``key`` stores it once (``SignalRepository.has_key``).
        A stopped strategy's signals, and a ``stale`` one (saying why), are stored, not traded.

        Raises UnknownStrategy for a strategy this engine does not have.
        """
        slot = self.slot(signal.strategy_id)
        slot.signals += 1
        self._signals.add(signal, key)
        if self._events.wants(SignalEmitted):
            self._events.publish(SignalEmitted(signal=signal))
        try:
            if stale:
                log.warning("signal %s of %s not traded: %s", signal.reason, slot.id, stale)
            elif slot.active:
                self._to_intent(slot, signal, price, client_order_id)
            else:
                log.info("signal %s of %s not traded: the strategy is stopped", signal.reason, slot.id)
        except DomainError as error:
            log.warning("signal %s of %s not traded: %s", signal.reason, slot.id, error)
        finally:
            self._signals.commit()

    def _to_intent(
        self, slot: StrategySlot, signal: Signal, price: Decimal, client_order_id: ClientOrderId | None = None
    ) -> None:
        portfolio = self._portfolio
        instrument = portfolio.instruments[signal.instrument_id]
        if signal.target_position is not None:
            target = signal.target_position
        else:
            assert signal.side is not None  # Signal guarantees one of the two
            atr = slot.atr.get(signal.instrument_id)
            # A fixed quantity needs no equity: skip valuing the whole portfolio on that path.
            equity = Decimal(0) if isinstance(slot.sizer, FixedQuantity) else portfolio.equity()
            sized = slot.sizer.size(
                instrument=instrument,
                price=price,
                equity=equity,
                strength=signal.strength,
                atr=atr.value if atr is not None and atr.ready else None,
            )
            if not sized.quantity and (signal.side is OrderSide.BUY or slot.allow_short):
                # Not sized means "do not trade", not "go flat" (a long-only SELL still closes).
                log.info("signal of %s not sized: %s", slot.id, sized.reason)
                return
            target = target_position(signal.side, sized.quantity, slot.allow_short)
        iid = signal.instrument_id
        position = portfolio.positions.get(iid)
        held = position.quantity if position is not None else ZERO
        working = self._working(iid)
        intent = intent_for_target(
            target,
            held + working,
            instrument,
            price=price,
            strategy_id=slot.id,
            ts_event=signal.ts_event,
            reason=signal.reason,
        )
        if intent is not None:
            if intent.reduce_only and working:
                # It reduces only once the orders still working fill: risk checks reduce-only
                # against the position (and same-side orders) and would refuse, say, the exit
                # of an entry still in flight. So it is an ordinary intent.
                intent = replace(intent, reduce_only=False)
            slot.intents += 1
            # refusals are published and logged
            self._commands.execute(SubmitOrder(intent=intent, client_order_id=client_order_id))

    def _fail(self, slot: StrategySlot, error: Exception, ts_event: int) -> None:
        slot.active = False
        slot.error = f"{type(error).__name__}: {error}"
        log.error("strategy %s raised and was disabled: %s", slot.id, slot.error, exc_info=error)
        self._events.publish(StrategyFailed(strategy_id=slot.id, error=slot.error, ts_event=ts_event))


def _observe(atr: ATR, event: TradeTick | QuoteTick | Bar) -> None:
    """Feed a volatility-target sizer's ATR: bars as they are, trades as zero-range bars."""
    if isinstance(event, TradeTick):
        price = float(event.price)
        atr.update(price, price, price)
    elif isinstance(event, Bar):
        atr.update(float(event.high), float(event.low), float(event.close))
