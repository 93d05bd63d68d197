"""The stop manager: engine-held stop orders and position stops, checked on every trade."""

from __future__ import annotations

import logging
from decimal import Decimal

from application.commands import SubmitOrder
from application.execution.held_stops import HeldStops
from application.execution.order_manager import OrderManager
from application.messages import PositionChanged
from application.ports import CommandBus
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

    Subscribed to trades before the risk monitor marks and revalues the portfolio, and to
    PositionChanged: a flat position forgets its stop's track (its best price, whether it fired).
    """

    __slots__ = ("_commands", "_exits", "_held", "_orders", "_portfolio", "_stops", "triggered")

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
        self._orders = orders
        self._commands = commands
        self._portfolio = portfolio
        self._stops = stops if stops is not None and stops.enabled else None
        self._exits: dict[InstrumentId, Order] = {}
        self.triggered = 0

    @property
    def watches_positions(self) -> bool:
        """True when a stop-loss, take-profit or trailing rule is set."""
        return self._stops is not None

    def on_trade(self, tick: TradeTick) -> None:
        if self._held:
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
