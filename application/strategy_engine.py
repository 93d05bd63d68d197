"""The strategy engine: routes market events to strategies and turns their signals into intents."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from application.messages import SignalEmitted, StrategyFailed
from application.ports import EventBus, SignalRepository
from domain.errors import DomainError
from domain.identifiers import InstrumentId, StrategyId
from domain.indicators import ATR
from domain.intents import OrderIntent
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.portfolio import Portfolio
from domain.signals import Signal
from domain.sizing import FixedQuantity, Sizer, VolatilityTarget, intent_for_target, target_position
from domain.strategies import Strategy
from domain.values import ZERO, OrderSide

log = logging.getLogger("tradeplane.strategies")


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


class _SignalsDue:
    """Bus marker of the strategy engine: commit the signals of the event being handled."""

    __slots__ = ()


_SIGNALS_DUE = _SignalsDue()


class UnknownStrategy(DomainError, KeyError):
    code = "UNKNOWN_STRATEGY"

    def __init__(self, strategy_id: str) -> None:
        super().__init__(f"unknown strategy {strategy_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class StrategyEngine:
    """Feeds each strategy the events of the instruments it subscribed to.

    A strategy that raises is isolated: it is disabled, the failure is logged and
    published (StrategyFailed), and every other strategy goes on. Each signal is stored,
    published, sized against the portfolio (position sizing), and turned into an order
    intent for the delta between the target and the current position plus the orders
    still working; the intent is published for the execution engine (and its risk).

    An intent published from a bus handler reaches the execution engine only after the
    current event (the bus is breadth-first), so the intents published but not yet
    delivered count as working too: two strategies (or two signals) on one event never
    double an order. ``on_intent`` must be subscribed to OrderIntent (the Engine does it)
    to learn of each delivery.

    Signals are durable before the engine moves on from the event that produced them, and
    before any order they caused reaches the broker: the signal store may buffer them into the
    trade store's unit of work (one database), whose commit journaling the order writes them
    too; at the end of each event with signals, ``SignalRepository.commit`` writes what is
    left (a signal that caused no order), right away, or after the intents still on the bus
    have been handled (a marker queued behind them, which this engine subscribes to itself).
    """

    __slots__ = (
        "_bus",
        "_by_instrument",
        "_in_flight",
        "_portfolio",
        "_signals",
        "_slots",
        "_uncommitted",
        "_working",
    )

    def __init__(
        self,
        *,
        bus: EventBus,
        signals: SignalRepository,
        portfolio: Portfolio,
        working_quantity: Callable[[InstrumentId], Decimal],
    ) -> None:
        self._bus = bus
        self._signals = signals
        self._portfolio = portfolio
        self._working = working_quantity
        self._slots: dict[StrategyId, StrategySlot] = {}
        self._by_instrument: dict[InstrumentId, list[StrategySlot]] = {}
        self._in_flight: dict[int, OrderIntent] = {}  # published, not yet delivered; by id()
        self._uncommitted = False  # signals added since the last SignalRepository.commit
        bus.subscribe(_SignalsDue, self._commit_signals)

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
            self._by_instrument.setdefault(instrument_id, []).append(slot)
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
        slots = self._by_instrument.get(tick.instrument_id)
        if slots is None:
            return
        for slot in slots:
            if not slot.active:
                continue
            if slot.atr:
                atr = slot.atr[tick.instrument_id]
                price = float(tick.price)
                atr.update(price, price, price)
            try:
                signals = slot.strategy.on_trade(tick)
            except Exception as error:  # isolated: see class docstring
                self._fail(slot, error, tick.ts_event)
                continue
            if signals:
                self._handle(slot, signals, tick.price)
        if self._uncommitted:
            self._end_of_event()

    def on_quote(self, quote: QuoteTick) -> None:
        slots = self._by_instrument.get(quote.instrument_id)
        if slots is None:
            return
        for slot in slots:
            if not slot.active:
                continue
            try:
                signals = slot.strategy.on_quote(quote)
            except Exception as error:
                self._fail(slot, error, quote.ts_event)
                continue
            if signals:
                self._handle(slot, signals, quote.mid)
        if self._uncommitted:
            self._end_of_event()

    def on_bar(self, bar: Bar) -> None:
        slots = self._by_instrument.get(bar.instrument_id)
        if slots is None:
            return
        for slot in slots:
            if not slot.active:
                continue
            if slot.atr:
                slot.atr[bar.instrument_id].update(float(bar.high), float(bar.low), float(bar.close))
            try:
                signals = slot.strategy.on_bar(bar)
            except Exception as error:
                self._fail(slot, error, bar.ts_event)
                continue
            if signals:
                self._handle(slot, signals, bar.close)
        if self._uncommitted:
            self._end_of_event()

    def _end_of_event(self) -> None:
        """The signals of this event are made durable before the engine moves on from it."""
        if self._in_flight:
            # Intents are queued on the bus: the OMS journals their orders (and the signals
            # riding with them) first; the marker, queued behind, commits whatever is left.
            self._bus.publish(_SIGNALS_DUE)
        else:
            self._commit_signals(_SIGNALS_DUE)

    def _commit_signals(self, _: _SignalsDue) -> None:
        self._signals.commit()
        self._uncommitted = False

    def on_intent(self, intent: OrderIntent) -> None:
        """Bus handler: an intent this engine published has been delivered (it no longer counts)."""
        if self._in_flight:
            self._in_flight.pop(id(intent), None)

    # -- signals -> intents ---------------------------------------------------------------

    def _handle(self, slot: StrategySlot, signals: Sequence[Signal], price: Decimal) -> None:
        for signal in signals:
            slot.signals += 1
            self._signals.add(signal)
            self._uncommitted = True
            if self._bus.wants(SignalEmitted):
                self._bus.publish(SignalEmitted(signal=signal))
            try:
                self._to_intent(slot, signal, price)
            except DomainError as error:
                log.warning("signal %s of %s not traded: %s", signal.reason, slot.id, error)

    def _to_intent(self, slot: StrategySlot, signal: Signal, price: Decimal) -> None:
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
        current = held + working
        pending = False
        for queued in self._in_flight.values():
            if queued.instrument_id == iid:
                current += queued.signed_quantity
                pending = True
        intent = intent_for_target(
            target,
            current,
            instrument,
            price=price,
            strategy_id=slot.id,
            ts_event=signal.ts_event,
            reason=signal.reason,
        )
        if intent is not None:
            if intent.reduce_only and (working or pending):
                # It reduces only once the orders still working fill: risk checks reduce-only
                # against the position (and same-side orders) and would refuse, say, the exit
                # of an entry still in flight. So it is an ordinary intent.
                intent = replace(intent, reduce_only=False)
            slot.intents += 1
            self._in_flight[id(intent)] = intent  # before publishing: delivery may be immediate
            self._bus.publish(intent)

    def _fail(self, slot: StrategySlot, error: Exception, ts_event: int) -> None:
        slot.active = False
        slot.error = f"{type(error).__name__}: {error}"
        log.error("strategy %s raised and was disabled: %s", slot.id, slot.error, exc_info=error)
        self._bus.publish(StrategyFailed(strategy_id=slot.id, error=slot.error, ts_event=ts_event))
