"""The execution engine (OMS): risk, journal, broker, reports, positions, post-trade risk."""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from application.market_state import MarketState
from application.messages import (
    CancelRejected,
    IntentRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PositionChanged,
    VenueOrder,
)
from application.ports import Broker, Clock, EventBus, TradeRepository
from domain.errors import DomainError, IllegalTransition, InstrumentRuleViolation, Overfill
from domain.identifiers import ClientOrderId, InstrumentId
from domain.instrument import Instrument
from domain.intents import OrderIntent
from domain.market_data import Bar, TradeTick
from domain.orders import DuplicateFill, Order, OrderStatus
from domain.portfolio import MissingMark, Portfolio
from domain.risk import (
    PositionStops,
    PreTradeRisk,
    RiskLimitBreached,
    RiskLimits,
    RiskReason,
    RiskRejection,
    TradingSnapshot,
    TradingState,
    TradingStateMachine,
)
from domain.values import ZERO, OrderSide

log = logging.getLogger("tradeplane.execution")

RECENT_CLOSED_ORDERS = 10_000
"""Closed orders kept in memory for quick lookups; older ones are read from the trade store."""


class UnknownOrder(DomainError, KeyError):
    code = "UNKNOWN_ORDER"

    def __init__(self, client_order_id: str) -> None:
        super().__init__(f"unknown order {client_order_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(slots=True)
class ExecutionStats:
    intents: int = 0
    orders_submitted: int = 0
    risk_rejections: int = 0
    broker_rejections: int = 0
    fills: int = 0
    duplicate_reports: int = 0
    unknown_reports: int = 0
    stops_triggered: int = 0
    late_fills: int = 0
    store_failures: int = 0


class ExecutionEngine:
    """Turns approved intents into orders and keeps every order, position and cash figure true.

    Per intent: instrument rules (tick, lot, minimums), pre-trade risk, then the order is
    journaled (``TradeRepository.add_order`` plus its INITIALIZED event) BEFORE it reaches
    the broker. Broker reports drive the order state machine; each resulting event is
    appended to the journal, fills update the portfolio and post-trade risk (trading
    state: daily loss, drawdown), and observers get OrderUpdated/PositionChanged.
    Submission is idempotent on client order id. Stop orders are held engine-side and sent
    as market/limit orders when the last trade crosses the stop price, for brokers without
    native stops; position stops (stop-loss, take-profit, trailing) emit exit intents,
    submitted at once (see ``on_trade``).
    """

    def __init__(
        self,
        *,
        bus: EventBus,
        broker: Broker,
        trades: TradeRepository,
        portfolio: Portfolio,
        market: MarketState,
        risk: PreTradeRisk,
        trading: TradingStateMachine,
        clock: Clock,
        stops: PositionStops | None = None,
        order_id_prefix: str = "TP",
        broker_supports_stops: bool = False,
        mark_interval_ns: int = 1_000_000_000,
    ) -> None:
        self._bus = bus
        self._broker = broker
        self._trades = trades
        self._portfolio = portfolio
        self._market = market
        self._risk = risk
        self._trading = trading
        self._clock = clock
        self._stops = stops
        self._check_stops = stops is not None and stops.enabled
        self._prefix = order_id_prefix
        self._native_stops = broker_supports_stops
        self._mark_interval = mark_interval_ns
        self._next_mark = 0
        self._sequence = 0
        self._journaled: dict[ClientOrderId, int] = {}
        self.orders: dict[ClientOrderId, Order] = {}
        """Working orders and the most recent closed ones; older ones live in the trade store."""
        self._closed: deque[ClientOrderId] = deque()
        self.open_orders: dict[ClientOrderId, Order] = {}
        self.held_stops: dict[ClientOrderId, Order] = {}
        self._late_trade_ids: set[str] = set()
        self.stats = ExecutionStats()
        self.on_order_sent: Callable[[Order], None] | None = None  # latency probes (bench)

    # -- intents and commands ------------------------------------------------------------

    def next_client_order_id(self) -> ClientOrderId:
        """The next ``{prefix}-{n}`` not already taken (a client may have chosen one)."""
        while True:
            self._sequence += 1
            candidate = ClientOrderId(f"{self._prefix}-{self._sequence}")
            if self._known(candidate) is None:
                return candidate

    def adopt(self, order: Order) -> None:
        """Take back a working order read from the trade store (a restart): it is tracked
        again, its journal continues where it stopped, and a stop not yet triggered is held."""
        coid = order.client_order_id
        if order.status.is_terminal:
            raise IllegalTransition(coid, order.status.value, "ADOPTED")
        self.orders[coid] = order
        self.open_orders[coid] = order
        self._journaled[coid] = len(order.events)
        if (
            order.order_type.has_stop
            and not self._native_stops
            and order.triggered_price is None
            and order.status is OrderStatus.INITIALIZED
        ):
            self.held_stops[coid] = order

    def adopt_external(self, venue: VenueOrder) -> Order:
        """Journal and track an order the broker has working that this engine never placed
        (reconciliation): SUBMITTED, with no strategy; its acknowledgement and fills follow as
        ordinary reports. Raises DomainError when the venue's order cannot be represented."""
        order = Order(
            client_order_id=venue.client_order_id,
            instrument_id=venue.instrument_id,
            side=venue.side,
            order_type=venue.order_type,
            quantity=venue.quantity,
            price=venue.price,
            time_in_force=venue.time_in_force,
            ts_init=venue.ts_last,
        )
        order.submit(venue.ts_last)
        self._trades.add_order(order)
        self.orders[order.client_order_id] = order
        self.open_orders[order.client_order_id] = order
        self._journal(order)
        self._commit()
        return order

    def find(self, client_order_id: str) -> Order | None:
        """An order of this session or of the trade store, or None."""
        return self._known(ClientOrderId(client_order_id))

    def restore_trading_state(self, snapshot: TradingSnapshot) -> None:
        """Continue post-trade risk where the last run left it (recovery)."""
        self._trading.restore(snapshot)
        if snapshot.state is not TradingState.ACTIVE:
            log.warning("trading resumes %s after the restart: %s", snapshot.state.value, snapshot.message)

    def continue_sequence(self, last: int) -> None:
        """Generated client order ids continue after ``last`` (the highest stored one)."""
        self._sequence = max(self._sequence, last)

    def on_intent(self, intent: OrderIntent) -> None:
        """Bus handler: a rejected intent is published (IntentRejected) and logged, not raised."""
        with contextlib.suppress(RiskLimitBreached, InstrumentRuleViolation):
            self.submit_intent(intent)  # a rejection is already published and logged there

    def submit_intent(self, intent: OrderIntent, *, client_order_id: str | None = None) -> Order:
        """Check, journal and send an order for ``intent``; returns the order.

        With a ``client_order_id`` already known, returns that order and sends nothing
        (idempotent submission). Raises RiskLimitBreached (with every failed rule) or
        InstrumentRuleViolation; both are also published as IntentRejected.
        """
        if client_order_id is not None:
            existing = self._known(ClientOrderId(client_order_id))
            if existing is not None:
                return existing
        self.stats.intents += 1
        now = self._clock.now_ns()
        instrument = self._portfolio.instruments[intent.instrument_id]
        try:
            self._check_instrument(intent, instrument)
        except InstrumentRuleViolation as error:
            self._reject_intent(
                intent, (RiskRejection(reason=RiskReason.INSTRUMENT_RULE, message=str(error)),), now
            )
            raise
        iid = intent.instrument_id
        decision = self._risk.check(
            intent,
            portfolio=self._portfolio,
            open_orders=list(self.open_orders.values()),
            last_price=self._market.last_price(iid),
            last_price_ts=self._market.last_price_ts(iid),
            now_ns=now,
            trading_state=self._trading.state,
        )
        if not decision.approved:
            self._reject_intent(intent, decision.rejections, now)
            raise RiskLimitBreached(decision.rejections)
        order = Order(
            client_order_id=client_order_id or self.next_client_order_id(),
            instrument_id=iid,
            side=intent.side,
            order_type=intent.order_type,
            quantity=intent.quantity,
            price=intent.price,
            stop_price=intent.stop_price,
            time_in_force=intent.time_in_force,
            strategy_id=intent.strategy_id,
            reduce_only=intent.reduce_only,
            ts_init=now,
        )
        self._trades.add_order(order)  # first: a store that refuses it leaves no trace here
        self.orders[order.client_order_id] = order
        self.open_orders[order.client_order_id] = order
        self._journal(order)
        if order.order_type.has_stop and not self._native_stops:
            self.held_stops[order.client_order_id] = order
            self._commit()
            log.info(
                "holding %s engine-side until the stop %s trades", order.client_order_id, order.stop_price
            )
            return order
        self._send(order, now)
        return order

    def _check_instrument(self, intent: OrderIntent, instrument: Instrument) -> None:
        instrument.check_quantity(intent.quantity)
        if intent.price is not None:
            instrument.check_price(intent.price)
        if intent.stop_price is not None:
            instrument.check_price(intent.stop_price, "stop_price")
        reference = intent.price or intent.stop_price or self._market.last_price(intent.instrument_id)
        if reference is not None and not intent.reduce_only:
            instrument.check_notional(reference, intent.quantity)

    def _reject_intent(self, intent: OrderIntent, rejections: tuple[RiskRejection, ...], now: int) -> None:
        self.stats.risk_rejections += 1
        log.warning(
            "intent of %s to %s %s %s rejected: %s",
            intent.strategy_id,
            intent.side.name,
            intent.quantity,
            intent.instrument_id,
            "; ".join(f"[{r.reason.value}] {r.message}" for r in rejections),
        )
        if intent.reduce_only and self._stops is not None:
            self._stops.rearm(intent.instrument_id)
        self._bus.publish(IntentRejected(intent=intent, rejections=rejections, ts_event=now))

    def _send(self, order: Order, now: int) -> None:
        order.submit(now)
        self._journal(order)
        if not self._commit():  # durable before the broker can know of it, or not sent at all
            order.reject("not sent: the trades store could not record it", now)
            self._after_terminal(order)
            return
        self.stats.orders_submitted += 1
        if self.on_order_sent is not None:
            self.on_order_sent(order)
        log.info(
            "order %s %s %s %s %s sent (%s)",
            order.client_order_id,
            order.side.name,
            order.quantity,
            order.instrument_id,
            order.effective_type.value,
            order.strategy_id,
        )
        self._broker.submit(order)

    def get(self, client_order_id: str) -> Order:
        order = self._known(ClientOrderId(client_order_id))
        if order is None:
            raise UnknownOrder(client_order_id)
        return order

    def cancel(self, client_order_id: str) -> Order:
        """Ask to cancel an order; a held stop is canceled at once. Raises UnknownOrder/IllegalTransition."""
        order = self.get(client_order_id)
        now = self._clock.now_ns()
        if order.client_order_id in self.held_stops:
            del self.held_stops[order.client_order_id]
            order.cancel(now, "canceled before its stop traded")
            self._after_terminal(order)
            self._commit()
            return order
        order.request_cancel(now)
        self._journal(order)
        if not self._commit():  # the broker hears of a cancel only once it is recorded
            order.cancel_rejected("not sent: the trades store could not record the cancel", now)
            self._journal(order)
            return order
        self._broker.cancel(order)
        return order

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> list[Order]:
        """Cancel every working order (of one instrument if given); returns those asked."""
        asked = []
        for order in list(self.open_orders.values()):
            if instrument_id is not None and order.instrument_id != instrument_id:
                continue
            if order.status.is_terminal or order.status is OrderStatus.CANCEL_PENDING:
                continue
            asked.append(self.cancel(order.client_order_id))
        return asked

    def working_quantity(self, instrument_id: InstrumentId) -> Decimal:
        """Signed quantity still to fill on working orders (held stops included)."""
        total = ZERO
        for order in self.open_orders.values():
            if order.instrument_id == instrument_id:
                leaves = order.quantity - order.filled_quantity
                total += leaves if order.side is OrderSide.BUY else -leaves
        return total

    # -- trading state -------------------------------------------------------------------

    def halt(self, reason: str, *, cancel_open_orders: bool = False) -> TradingState:
        state = self._trading.halt(reason, self._clock.now_ns())
        self._publish_state_changes()
        if cancel_open_orders:
            self.cancel_all()
        return state

    def resume(self, *, reset_peak: bool = False) -> TradingState:
        state = self._trading.resume(self._clock.now_ns(), reset_peak=reset_peak)
        self._publish_state_changes()
        return state

    @property
    def risk_limits(self) -> RiskLimits:
        return self._risk.limits

    def update_risk_limits(self, limits: RiskLimits) -> TradingState:
        """New limits from the next order on, for pre-trade risk and the trading state alike;
        a tighter loss or drawdown limit may restrict trading at once (never lift it)."""
        self._risk.update_limits(limits)
        state = self._trading.update_limits(limits, self._clock.now_ns())
        self._save_trading_state()  # on the record at once (a restart reports the difference)
        self._commit()
        self._publish_state_changes()
        return state

    def _publish_state_changes(self) -> None:
        changes = self._trading.drain_events()
        if changes:  # a halt, a limit reached or lifted: it must survive a restart
            self._save_trading_state()
            self._commit()
        for change in changes:
            log.warning(
                "trading state %s -> %s: %s", change.previous.value, change.state.value, change.message
            )
            self._bus.publish(change)

    def _commit(self) -> bool:
        """Commit the unit of work; False when the store failed. What it holds stays buffered
        for the next commit (the store keeps it), and trading is HALTED with the reason: the
        engine does not go on trading on a journal it cannot write."""
        try:
            self._trades.commit()
        except Exception as error:  # any driver's error (locked, disk full, connection lost)
            self.stats.store_failures += 1
            problem = f"{type(error).__name__}: {error}"
            log.error("the trades store could not commit (%s); its writes wait for the next commit", problem)
            if self._trading.state is not TradingState.HALTED:
                self._trading.halt(f"the trades store cannot be written ({problem})", self._clock.now_ns())
                self._save_trading_state()
                for change in self._trading.drain_events():
                    log.warning(
                        "trading state %s -> %s: %s",
                        change.previous.value,
                        change.state.value,
                        change.message,
                    )
                    self._bus.publish(change)
            return False
        return True

    def _save_trading_state(self) -> None:
        self._trades.save_trading_state(self._trading.snapshot(), self._risk.limits, self._clock.now_ns())

    def mark_to_market(self, now: int) -> None:
        """Revalue the portfolio and feed post-trade risk (daily loss, drawdown).

        ``now`` is the engine clock's time, never a venue timestamp: the trading state's
        days and the throttle must see one non-decreasing time line.
        """
        try:
            equity = self._portfolio.revalue()
        except MissingMark as error:
            log.debug("no mark-to-market yet: %s", error)
            return
        self._trading.on_equity(equity, now)
        self._publish_state_changes()

    # -- market events ------------------------------------------------------------------

    def on_trade(self, tick: TradeTick) -> None:
        """Mark, trigger held stops, check position stops, and revalue at most once per interval."""
        iid = tick.instrument_id
        price = tick.price
        portfolio = self._portfolio
        portfolio.marks[iid] = price
        if self.held_stops:
            self._trigger_stops(tick)
        if self._check_stops and self._stops is not None:
            position = portfolio.positions.get(iid)
            if position is not None and position.quantity and not self._closing(iid, position.quantity):
                exit_intent = self._stops.on_price(position, price, tick.ts_event)
                if exit_intent is not None:
                    # Submitted now, not published: the strategies handle this trade next and
                    # must see the exit as a working order, or they would size against the old
                    # position.
                    self.on_intent(exit_intent)
        # Flat or not: the trading state must see time pass (a new UTC day lifts a daily-loss
        # REDUCE_ONLY, and a flat book can trade nothing to bring that about).
        if tick.ts_event >= self._next_mark:
            self._next_mark = tick.ts_event + self._mark_interval
            self.mark_to_market(self._clock.now_ns())

    def _closing(self, instrument_id: InstrumentId, held: Decimal) -> bool:
        """True when working orders already take the position to flat or beyond: a stop exit
        on top would be refused by risk (and retried on every trade) or overshoot."""
        working = self.working_quantity(instrument_id) if self.open_orders else ZERO
        return working != ZERO and (working > ZERO) != (held > ZERO) and abs(working) >= abs(held)

    def on_bar(self, bar: Bar) -> None:
        """Bars mark positions too, for feeds (and backtests) that carry no trades."""
        self._portfolio.marks[bar.instrument_id] = bar.close

    def _trigger_stops(self, tick: TradeTick) -> None:
        for order in list(self.held_stops.values()):
            if order.instrument_id != tick.instrument_id or order.stop_price is None:
                continue
            crossed = (
                tick.price >= order.stop_price
                if order.side is OrderSide.BUY
                else tick.price <= order.stop_price
            )
            if crossed:
                del self.held_stops[order.client_order_id]
                self.stats.stops_triggered += 1
                order.trigger(tick.ts_event, tick.price)
                self._journal(order)
                now = self._clock.now_ns()
                if self._trading.state is TradingState.HALTED:
                    order.reject(f"stop triggered at {tick.price} while trading is HALTED", now)
                    self._after_terminal(order)
                    self._commit()
                    continue
                self._send(order, now)

    # -- broker reports -----------------------------------------------------------------

    def _known(self, client_order_id: ClientOrderId) -> Order | None:
        """An order of this session or an older one from the trade store (idempotency, late reports)."""
        order = self.orders.get(client_order_id)
        if order is not None:
            return order
        order = self._trades.get_order(client_order_id)
        if order is not None and client_order_id not in self._journaled:
            self._journaled[client_order_id] = len(order.events)  # the store has these already
        return order

    def _order_for(self, client_order_id: ClientOrderId, what: str) -> Order | None:
        order = self._known(client_order_id)
        if order is None:
            self.stats.unknown_reports += 1
            log.error("broker reported %s for unknown order %s", what, client_order_id)
        return order

    def on_accepted(self, report: OrderAccepted) -> None:
        order = self._order_for(report.client_order_id, "acceptance")
        if order is not None:
            self._apply(order, lambda: order.accept(report.venue_order_id, report.ts_event))

    def on_rejected(self, report: OrderRejected) -> None:
        order = self._order_for(report.client_order_id, "rejection")
        if order is not None:
            self.stats.broker_rejections += 1
            log.warning("broker rejected %s: %s", order.client_order_id, report.reason)
            self._apply(order, lambda: order.reject(report.reason, report.ts_event))
            self._rearm_if_exit(order)

    def on_canceled(self, report: OrderCanceled) -> None:
        order = self._order_for(report.client_order_id, "cancel")
        if order is not None:
            self._apply(order, lambda: order.cancel(report.ts_event, report.reason))
            self._rearm_if_exit(order)

    def on_expired(self, report: OrderExpired) -> None:
        order = self._order_for(report.client_order_id, "expiry")
        if order is not None:
            self._apply(order, lambda: order.expire(report.ts_event, report.reason))
            self._rearm_if_exit(order)

    def on_cancel_rejected(self, report: CancelRejected) -> None:
        order = self._order_for(report.client_order_id, "cancel rejection")
        if order is not None and order.status is OrderStatus.CANCEL_PENDING:
            self._apply(order, lambda: order.cancel_rejected(report.reason, report.ts_event))

    def on_filled(self, report: OrderFilled) -> None:
        fill = report.fill
        order = self._order_for(fill.client_order_id, "a fill")
        if order is None:
            return
        try:
            order.fill(fill)
        except DuplicateFill:
            self.stats.duplicate_reports += 1
            log.info("ignored a duplicate fill %s of %s", fill.trade_id, order.client_order_id)
            return
        except (IllegalTransition, Overfill) as error:
            if fill.trade_id in self._late_trade_ids:
                self.stats.duplicate_reports += 1
                return
            # The broker is the truth for what was filled: a fill that arrives after the order
            # was closed (a cancel racing an execution) still moves the position and the cash.
            self._late_trade_ids.add(fill.trade_id)
            self.stats.late_fills += 1
            log.error(
                "fill %s arrived for closed order %s and was booked anyway: %s",
                fill.trade_id,
                order.client_order_id,
                error,
            )
        self.stats.fills += 1
        log.info(
            "fill %s of %s: %s %s @ %s fee %s",
            fill.trade_id,
            order.client_order_id,
            fill.side.name,
            fill.quantity,
            fill.price,
            fill.fee,
        )
        self._trades.add_fill(fill)
        self._journal(order)
        position = self._portfolio.apply_fill(fill)
        self._trades.save_position(position)
        self._trades.save_balances(self._portfolio.account.balances, fill.ts_event)
        self._save_trading_state()  # the peak and the day's opening equity, with the cash
        self._commit()  # the fill, its events, the position and the cash: together
        if self._stops is not None and not position.quantity:
            # Flat: forget the stops' track (best price, fired) so a new position starts afresh.
            self._stops.on_price(position, fill.price, fill.ts_event)
        if order.status.is_terminal:
            self._after_terminal(order)
        if self._bus.wants(PositionChanged):
            self._bus.publish(
                PositionChanged(
                    instrument_id=fill.instrument_id,
                    quantity=position.quantity,
                    avg_entry_price=position.avg_entry_price,
                    realized_pnl=position.realized_pnl,
                    fees=position.fees,
                    ts_event=fill.ts_event,
                )
            )
        self.mark_to_market(self._clock.now_ns())

    def _apply(self, order: Order, transition: Callable[[], None]) -> None:
        try:
            transition()
        except DomainError as error:
            self.stats.duplicate_reports += 1
            log.warning("ignored a report for %s: %s", order.client_order_id, error)
            return
        self._journal(order)
        if order.status.is_terminal:
            self._after_terminal(order)
            self._commit()
        # An acknowledgement (or a refused cancel) rides with the next commit: lost in a crash,
        # it leaves the order in flight, which recovery resolves by asking the broker.

    def _rearm_if_exit(self, order: Order) -> None:
        if order.reduce_only and not order.filled_quantity and self._stops is not None:
            self._stops.rearm(order.instrument_id)

    def _after_terminal(self, order: Order) -> None:
        coid = order.client_order_id
        if self.open_orders.pop(coid, None) is not None:
            self._closed.append(coid)
        self._journal(order)
        # Memory stays flat on long runs: closed orders beyond the most recent are forgotten
        # here (the trade store keeps them, and _known() looks there).
        while len(self._closed) > RECENT_CLOSED_ORDERS:
            forgotten = self._closed.popleft()
            self.orders.pop(forgotten, None)
            self._journaled.pop(forgotten, None)

    def _journal(self, order: Order) -> None:
        """Append the order's events not yet journaled, and tell observers about each."""
        done = self._journaled.get(order.client_order_id, 0)
        events = order.events
        if done == len(events):
            return
        notify = self._bus.wants(OrderUpdated)
        for event in events[done:]:
            self._trades.append_order_event(event)
            if notify:
                self._bus.publish(
                    OrderUpdated(
                        event=event, instrument_id=order.instrument_id, strategy_id=order.strategy_id
                    )
                )
        self._journaled[order.client_order_id] = len(events)
