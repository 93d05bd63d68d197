"""The stop manager: engine-held stop orders and position stops, checked on every trade."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from application.commands import SubmitOrder
from application.execution.held_stops import HeldStops
from application.execution.order_manager import OrderManager
from application.messages import PositionChanged
from application.ports import CommandBus, EventBus
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.orders import Order
from domain.portfolio import Portfolio
from domain.risk import PositionStops
from domain.values import ZERO

log = logging.getLogger("tradeplane.stops")


class StopManager:
    """Watches trades for the stops the engine keeps itself.

    - **Held stop orders** (stop and stop-limit orders for a venue without native stops): a
      trade at or through the stop price sends the order as a market or limit order (or
      rejects it, while trading is HALTED): ``OrderManager.trigger``.
    - **Position stops** (stop-loss, take-profit, trailing; ``domain.risk.PositionStops``):
      when one is hit, a reduce-only market exit is submitted as a command, at once, so the
      strategies that handle the same trade next see it among the working orders. An exit
      that is refused, or that closes without filling, lets the stop fire again; none fires
      while working orders already take the position to flat.

    ``attach`` puts it on the bus: on trades just before the risk monitor marks and revalues the
    portfolio, and only while there is something to watch (a position-stop rule, or a held
    order), so an engine with neither pays nothing per trade; and on PositionChanged, where a
    flat position forgets its stop's track (its best price, whether it fired).
    """

    __slots__ = (
        "_before",
        "_bus",
        "_commands",
        "_exits",
        "_held",
        "_held_orders",
        "_orders",
        "_portfolio",
        "_stops",
        "_watching",
        "triggered",
    )

    def __init__(
        self,
        *,
        held_stops: HeldStops,
        orders: OrderManager,
        commands: CommandBus,
        portfolio: Portfolio,
        stops: PositionStops | None = None,
    ) -> None:
        self._held = held_stops
        self._held_orders = held_stops.orders  # the same dict, never rebound: tested per tick
        self._orders = orders
        self._commands = commands
        self._portfolio = portfolio
        self._stops = stops if stops is not None and stops.enabled else None
        self._exits: dict[InstrumentId, Order] = {}
        self._bus: EventBus | None = None
        self._before: Callable[[TradeTick], None] | None = None
        self._watching = False
        self.triggered = 0

    def attach(self, bus: EventBus, *, before: Callable[[TradeTick], None]) -> None:
        """Subscribe to ``bus``: to trades just before the handler ``before`` whenever there is
        something to watch, and to PositionChanged when position stops are set."""
        self._bus, self._before = bus, before
        if self._stops is not None:
            bus.subscribe(PositionChanged, self.on_position_changed)
        self._held.on_change = self._watch_when_needed
        self._watch_when_needed()

    def _watch_when_needed(self) -> None:
        bus, before = self._bus, self._before
        if bus is None or before is None:
            return
        needed = self._stops is not None or bool(self._held_orders)
        if needed and not self._watching:
            bus.subscribe(TradeTick, self.on_trade, before=before)
        elif self._watching and not needed:
            bus.unsubscribe(TradeTick, self.on_trade)
        self._watching = needed

    def on_trade(self, tick: TradeTick) -> None:
        if self._held_orders:
            for order in self._held.crossed(tick):
                self.triggered += 1
                self._orders.trigger(order, tick)
        if self._stops is not None:
            self._check_position(tick)

    def on_position_changed(self, change: PositionChanged) -> None:
        if not change.quantity and self._stops is not None:
            self._stops.forget(change.instrument_id)

    def _check_position(self, tick: TradeTick) -> None:
        stops = self._stops
        assert stops is not None
        iid = tick.instrument_id
        exit_order = self._exits.get(iid)
        if exit_order is not None and exit_order.status.is_terminal:
            del self._exits[iid]
            if not exit_order.filled_quantity:  # it died unfilled: the position is still there
                stops.rearm(iid)
        position = self._portfolio.positions.get(iid)
        if position is None or not position.quantity or self._closing(iid, position.quantity):
            return
        intent = stops.on_price(position, tick.price, tick.ts_event)
        if intent is None:
            return
        result = self._commands.execute(SubmitOrder(intent=intent))
        if result.order is None:
            stops.rearm(iid)
        else:
            self._exits[iid] = result.order

    def _closing(self, instrument_id: InstrumentId, held: Decimal) -> bool:
        """True when working orders already take the position to flat or beyond: a stop exit
        on top would be refused by risk (and retried on every trade) or overshoot."""
        if not self._orders.open_orders:
            return False
        working = self._orders.working_quantity(instrument_id)
        return working != ZERO and (working > ZERO) != (held > ZERO) and abs(working) >= abs(held)
