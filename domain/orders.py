"""Orders and fills: the order aggregate and its explicit state machine.

An ``Order`` changes state only through intention-revealing methods (``submit``,
``accept``, ``fill``, ``request_cancel``, ``cancel``, ``reject``, ``expire``); each checks
the transition table and records an ``OrderEvent``. An illegal move raises
``IllegalTransition`` naming both states; a fill beyond the quantity raises ``Overfill``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from domain.errors import DomainError, IllegalTransition, InvalidValue, Overfill
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.identifiers import client_order_id as checked_client_order_id
from domain.instrument import _asset
from domain.values import ZERO, OrderSide, divide, exact_add, exact_mul, exact_sub, positive, to_decimal


class OrderType(Enum):
    """How an order executes. ``has_price`` and ``has_stop`` are plain member attributes, set
    once: the order path reads them several times per order (a property costs a call)."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"
    STOP_LIMIT = "STOP_LIMIT"

    has_price: bool
    has_stop: bool

    def __init__(self, value: str) -> None:
        self.has_price = value in ("LIMIT", "STOP_LIMIT")
        self.has_stop = value in ("STOP_MARKET", "STOP_LIMIT")

    # Members are singletons compared by identity: hashing them by identity is consistent
    # and cheaper than Enum's hash of the name (a Python-level call).
    __hash__ = object.__hash__


class TimeInForce(Enum):
    GTC = "GTC"  # good till canceled
    IOC = "IOC"  # immediate or cancel: fill what you can, cancel the rest
    FOK = "FOK"  # fill or kill: all at once or nothing

    __hash__ = object.__hash__  # identity, as OrderType's


class LiquiditySide(Enum):
    MAKER = "MAKER"
    TAKER = "TAKER"

    __hash__ = object.__hash__  # identity, as OrderType's


class OrderStatus(Enum):
    INITIALIZED = "INITIALIZED"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCEL_PENDING = "CANCEL_PENDING"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    is_terminal: bool
    is_open: bool
    """Working at (or on its way to) the venue: it may still fill."""

    def __init__(self, value: str) -> None:
        # Plain member attributes, set once (read on every order transition).
        self.is_terminal = value in ("FILLED", "CANCELED", "REJECTED", "EXPIRED")
        self.is_open = not self.is_terminal and value != "INITIALIZED"

    __hash__ = object.__hash__  # identity, as OrderType's


_S = OrderStatus
_TERMINAL = frozenset({_S.FILLED, _S.CANCELED, _S.REJECTED, _S.EXPIRED})

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # An order held engine-side (a stop waiting for its price) may be canceled before it is sent.
    _S.INITIALIZED: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELED}),
    # A venue may fill, cancel or expire (IOC/FOK) an order before acknowledging it.
    _S.SUBMITTED: frozenset(
        {
            _S.ACCEPTED,
            _S.REJECTED,
            _S.PARTIALLY_FILLED,
            _S.FILLED,
            _S.CANCEL_PENDING,
            _S.CANCELED,
            _S.EXPIRED,
        }
    ),
    _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCEL_PENDING, _S.CANCELED, _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCEL_PENDING, _S.CANCELED, _S.EXPIRED}
    ),
    # A fill, the venue's ack or its rejection may race a cancel request; a refused cancel
    # returns the order to where it was.
    _S.CANCEL_PENDING: frozenset(
        {
            _S.CANCEL_PENDING,
            _S.REJECTED,
            _S.FILLED,
            _S.CANCELED,
            _S.EXPIRED,
            _S.SUBMITTED,
            _S.ACCEPTED,
            _S.PARTIALLY_FILLED,
        }
    ),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}
"""Allowed moves: ``TRANSITIONS[current]`` is the set of states an order may go to next."""


class DuplicateFill(DomainError):
    """A fill with a trade id the order has already applied (a replayed venue report)."""

    code = "DUPLICATE_FILL"

    def __init__(self, client_order_id: str, trade_id: str) -> None:
        self.client_order_id = client_order_id
        self.trade_id = trade_id
        super().__init__(f"order {client_order_id} already applied fill {trade_id}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution of (part of) an order.

    ``fee`` is paid in ``fee_asset``: a venue may charge it in the base asset, the quote
    asset or a third one (a fee token). An empty ``fee_asset`` means the instrument's quote
    currency, so fills that never name the asset (paper fills, older journals) read as before.
    A negative fee is a maker rebate. Raises InvalidValue for a non-positive quantity or
    price, a non-finite fee, a malformed fee asset, a side other than BUY/SELL, or an empty
    trade id.
    """

    instrument_id: InstrumentId
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId | None = None
    trade_id: TradeId
    side: OrderSide
    quantity: Decimal
    price: Decimal
    fee: Decimal = ZERO
    fee_asset: str = ""
    liquidity: LiquiditySide = LiquiditySide.TAKER
    strategy_id: StrategyId | None = None
    ts_event: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantity", positive(self.quantity, "fill quantity"))
        object.__setattr__(self, "price", positive(self.price, "fill price"))
        object.__setattr__(self, "fee", to_decimal(self.fee, "fill fee"))
        if self.fee_asset != "":
            try:
                _asset(self.fee_asset, "fee_asset")
            except InvalidValue:
                raise InvalidValue(
                    "fill fee_asset",
                    self.fee_asset,
                    "must be an upper-case asset code such as BNB, or empty for the quote currency",
                ) from None
        side = self.side
        if type(side) is not OrderSide:
            # A stored side may come back as its sign (1 / -1); OrderSide(True) or (1.0) must not pass.
            if type(side) is not int or side not in (1, -1):
                raise InvalidValue("fill side", side, "must be BUY or SELL")
            object.__setattr__(self, "side", OrderSide(side))
        if not self.trade_id:
            raise InvalidValue("trade_id", self.trade_id, "must not be empty")

    @property
    def notional(self) -> Decimal:
        return exact_mul(self.quantity, self.price)

    @property
    def signed_quantity(self) -> Decimal:
        # copy_negate, not unary minus: minus rounds to the 28-digit thread context.
        return self.quantity if self.side is OrderSide.BUY else self.quantity.copy_negate()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent:
    """A recorded state change of an order (the journal entry that persistence appends)."""

    client_order_id: ClientOrderId
    status: OrderStatus
    ts_event: int
    reason: str = ""
    fill: Fill | None = None
    venue_order_id: VenueOrderId | None = None
    triggered_price: Decimal | None = None
    """Set on the INITIALIZED event a held stop records when its price trades."""


class Order:
    """An order and its lifecycle.

    Prices and quantities are validated at construction (positive, finite Decimals; a
    price for limit types, a stop price for stop types, no price for market orders;
    ``post_only`` only on a LIMIT order, which the venue must refuse rather than let it take
    liquidity);
    instrument rules (tick, lot, minimum notional) are checked by the caller against
    the ``Instrument`` because the order does not own them.
    """

    __slots__ = (
        "_notional_filled",
        "_trade_ids",
        "client_order_id",
        "events",
        "filled_quantity",
        "fills",
        "instrument_id",
        "order_type",
        "post_only",
        "price",
        "quantity",
        "reduce_only",
        "side",
        "status",
        "stop_price",
        "strategy_id",
        "time_in_force",
        "triggered_price",
        "ts_init",
        "ts_last",
        "venue_order_id",
    )

    def __init__(
        self,
        *,
        client_order_id: str,
        instrument_id: InstrumentId,
        side: OrderSide,
        order_type: OrderType,
        quantity: object,
        price: object | None = None,
        stop_price: object | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        strategy_id: StrategyId | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        ts_init: int,
    ) -> None:
        self.client_order_id = checked_client_order_id(client_order_id)
        self.instrument_id = InstrumentId(instrument_id)
        if not isinstance(side, OrderSide):
            raise InvalidValue("side", side, "must be BUY or SELL")
        if not isinstance(order_type, OrderType):
            raise InvalidValue("order_type", order_type, "must be an OrderType")
        if not isinstance(time_in_force, TimeInForce):
            raise InvalidValue("time_in_force", time_in_force, "must be GTC, IOC or FOK")
        self.side = side
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.quantity = positive(quantity, "quantity")
        if order_type.has_price:
            if price is None:
                raise InvalidValue("price", price, f"is required for a {order_type.value} order")
            self.price: Decimal | None = positive(price, "price")
        elif price is not None:
            raise InvalidValue("price", price, f"must not be set on a {order_type.value} order")
        else:
            self.price = None
        if order_type.has_stop:
            if stop_price is None:
                raise InvalidValue("stop_price", stop_price, f"is required for a {order_type.value} order")
            self.stop_price: Decimal | None = positive(stop_price, "stop_price")
        elif stop_price is not None:
            raise InvalidValue("stop_price", stop_price, f"must not be set on a {order_type.value} order")
        else:
            self.stop_price = None
        if isinstance(ts_init, bool) or not isinstance(ts_init, int) or ts_init < 0:
            raise InvalidValue("ts_init", ts_init, "must be a non-negative integer of nanoseconds")
        if not isinstance(post_only, bool):
            raise InvalidValue("post_only", post_only, "must be true or false")
        if post_only and order_type is not OrderType.LIMIT:
            raise InvalidValue("post_only", post_only, f"is only for a LIMIT order, not {order_type.value}")
        self.strategy_id = strategy_id
        self.reduce_only = bool(reduce_only)
        self.post_only = post_only
        self._start(ts_init)

    @classmethod
    def with_checked_terms(
        cls,
        *,
        client_order_id: str,
        instrument_id: InstrumentId,
        side: OrderSide,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        stop_price: Decimal | None,
        time_in_force: TimeInForce,
        strategy_id: StrategyId | None,
        reduce_only: bool,
        post_only: bool,
        ts_init: int,
    ) -> Order:
        """An order whose terms were checked already, by the constructor of an ``OrderIntent``
        (side, type, time in force, quantity, prices, post-only): only the client order id and
        ``ts_init`` are checked again. ``OrderIntent.to_order`` is the way in."""
        if isinstance(ts_init, bool) or not isinstance(ts_init, int) or ts_init < 0:
            raise InvalidValue("ts_init", ts_init, "must be a non-negative integer of nanoseconds")
        order = cls.__new__(cls)
        order.client_order_id = checked_client_order_id(client_order_id)
        order.instrument_id = InstrumentId(instrument_id)  # an intent takes any str
        order.side = side
        order.order_type = order_type
        order.time_in_force = time_in_force
        order.quantity = quantity
        order.price = price
        order.stop_price = stop_price
        order.strategy_id = strategy_id
        order.reduce_only = bool(reduce_only)
        order.post_only = post_only
        order._start(ts_init)
        return order

    def _start(self, ts_init: int) -> None:
        """The state of a new order: INITIALIZED at ``ts_init``, nothing filled."""
        self.ts_init = ts_init
        self.ts_last = ts_init
        self.status = OrderStatus.INITIALIZED
        self.venue_order_id: VenueOrderId | None = None
        self.triggered_price: Decimal | None = None
        self.filled_quantity = ZERO
        self._notional_filled = ZERO
        self._trade_ids: set[str] = set()
        self.fills: list[Fill] = []
        self.events: list[OrderEvent] = [
            OrderEvent(
                client_order_id=self.client_order_id,
                status=OrderStatus.INITIALIZED,
                ts_event=ts_init,
            )
        ]

    # -- derived -----------------------------------------------------------------------

    @property
    def leaves_quantity(self) -> Decimal:
        """Quantity still to fill; zero once the order is terminal."""
        if self.status.is_terminal:
            return ZERO
        return exact_sub(self.quantity, self.filled_quantity)

    @property
    def avg_fill_price(self) -> Decimal | None:
        """Volume-weighted average fill price (rounded to 40 digits), None before any fill."""
        if not self.filled_quantity:
            return None
        return divide(self._notional_filled, self.filled_quantity)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    # -- transitions ---------------------------------------------------------------------

    def _move(self, to: OrderStatus, ts: int, *, reason: str = "", fill: Fill | None = None) -> None:
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransition(self.client_order_id, self.status.value, to.value)
        self.status = to
        self.ts_last = ts
        self.events.append(
            OrderEvent(
                client_order_id=self.client_order_id,
                status=to,
                ts_event=ts,
                reason=reason,
                fill=fill,
                venue_order_id=self.venue_order_id,
            )
        )

    def submit(self, ts: int) -> None:
        """Sent to the venue (after it was journaled); only a new order can be submitted.

        The table lets CANCEL_PENDING return to SUBMITTED, but that move belongs to
        ``cancel_rejected``: submitting again a cancel-pending order would forget the cancel.
        """
        if self.status is not OrderStatus.INITIALIZED:
            raise IllegalTransition(self.client_order_id, self.status.value, OrderStatus.SUBMITTED.value)
        self._move(OrderStatus.SUBMITTED, ts)

    def accept(self, venue_order_id: str, ts: int) -> None:
        """The venue acknowledged the order and gave it ``venue_order_id``.

        An ack that arrives after a cancel was requested (the request raced the submission)
        records the venue id and keeps the order CANCEL_PENDING.
        """
        if not venue_order_id:
            raise InvalidValue("venue_order_id", venue_order_id, "must not be empty")
        if self.status is OrderStatus.CANCEL_PENDING and self.venue_order_id is None:
            self.venue_order_id = VenueOrderId(venue_order_id)
            self._move(OrderStatus.CANCEL_PENDING, ts, reason="accepted while a cancel was pending")
            return
        if self.status is not OrderStatus.SUBMITTED:
            raise IllegalTransition(self.client_order_id, self.status.value, OrderStatus.ACCEPTED.value)
        self.venue_order_id = VenueOrderId(venue_order_id)
        self._move(OrderStatus.ACCEPTED, ts)

    def reject(self, reason: str, ts: int) -> None:
        """Refused before working: by risk (from INITIALIZED) or by the venue (from SUBMITTED,
        or CANCEL_PENDING when the cancel was requested before the venue answered)."""
        self._move(OrderStatus.REJECTED, ts, reason=reason)

    def request_cancel(self, ts: int) -> None:
        """A cancel was sent; the order may still fill until the venue confirms."""
        if self.status is OrderStatus.CANCEL_PENDING:
            raise IllegalTransition(self.client_order_id, self.status.value, OrderStatus.CANCEL_PENDING.value)
        self._move(OrderStatus.CANCEL_PENDING, ts)

    def cancel_rejected(self, reason: str, ts: int) -> None:
        """The venue refused the cancel: back to the working state the fills imply."""
        if self.status is not OrderStatus.CANCEL_PENDING:
            raise IllegalTransition(self.client_order_id, self.status.value, "CANCEL_REJECTED")
        if self.filled_quantity:
            back = OrderStatus.PARTIALLY_FILLED
        elif self.venue_order_id is not None:
            back = OrderStatus.ACCEPTED
        else:
            back = OrderStatus.SUBMITTED
        self._move(back, ts, reason=reason)

    def cancel(self, ts: int, reason: str = "") -> None:
        """Canceled at the venue (by request, by IOC remainder, or by the venue itself)."""
        self._move(OrderStatus.CANCELED, ts, reason=reason)

    @property
    def effective_type(self) -> OrderType:
        """What the venue should execute: a triggered stop works as a market or limit order."""
        if self.triggered_price is None:
            return self.order_type
        return OrderType.MARKET if self.order_type is OrderType.STOP_MARKET else OrderType.LIMIT

    def trigger(self, ts: int, price: Decimal) -> None:
        """A stop held engine-side saw its price trade at ``price``: it may now be sent.

        Raises IllegalTransition unless this is an untriggered stop order not yet sent.
        """
        if not self.order_type.has_stop or self.triggered_price is not None:
            raise IllegalTransition(self.client_order_id, self.status.value, "TRIGGERED")
        if self.status is not OrderStatus.INITIALIZED:
            raise IllegalTransition(self.client_order_id, self.status.value, "TRIGGERED")
        self.triggered_price = price
        self.ts_last = ts
        self.events.append(
            OrderEvent(
                client_order_id=self.client_order_id,
                status=OrderStatus.INITIALIZED,
                ts_event=ts,
                reason=f"TRIGGERED: traded at {price}, stop {self.stop_price}",
                triggered_price=price,
            )
        )

    def expire(self, ts: int, reason: str = "") -> None:
        """Expired at the venue (e.g. an unfilled FOK)."""
        self._move(OrderStatus.EXPIRED, ts, reason=reason)

    def fill(self, fill: Fill) -> None:
        """Apply an execution.

        Raises InvalidValue for a fill of another order, instrument or side, DuplicateFill for
        a trade id already applied, IllegalTransition when the order cannot fill in its state,
        and Overfill when the fill exceeds what is left.
        """
        if fill.client_order_id != self.client_order_id:
            raise InvalidValue(
                "fill.client_order_id",
                fill.client_order_id,
                f"does not match {self.client_order_id}",
            )
        if fill.instrument_id != self.instrument_id:
            raise InvalidValue(
                "fill.instrument_id", fill.instrument_id, f"does not match {self.instrument_id}"
            )
        if fill.side is not self.side:
            raise InvalidValue("fill.side", fill.side.name, f"does not match order side {self.side.name}")
        if fill.trade_id in self._trade_ids:
            raise DuplicateFill(self.client_order_id, fill.trade_id)
        filled = exact_add(self.filled_quantity, fill.quantity)
        # The state comes first: a fill on a terminal order (even one that would overfill
        # it) is an illegal transition; an overfill is a fill too large for a working order.
        if filled >= self.quantity:
            to = OrderStatus.FILLED
        elif self.status is OrderStatus.CANCEL_PENDING:
            to = OrderStatus.CANCEL_PENDING
        else:
            to = OrderStatus.PARTIALLY_FILLED
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransition(self.client_order_id, self.status.value, to.value)
        if filled > self.quantity:
            raise Overfill(self.client_order_id, self.quantity, self.filled_quantity, fill.quantity)
        if fill.venue_order_id is not None and self.venue_order_id is None:
            self.venue_order_id = fill.venue_order_id
        self.filled_quantity = filled
        self._notional_filled = exact_add(self._notional_filled, fill.notional)
        self._trade_ids.add(fill.trade_id)
        self.fills.append(fill)
        self._move(to, fill.ts_event, fill=fill)

    # -- rebuilding from the journal ------------------------------------------------------------

    def replay(self, events: Sequence[OrderEvent]) -> None:
        """Re-apply journaled events (after the INITIALIZED one the constructor records).

        The state machine checks every step, so a journal that could not have happened (an
        illegal move, an overfill, a fill of another order) raises instead of loading; a
        rebuilt order equals the one that wrote the journal, events included.
        """
        for event in events:
            if event.client_order_id != self.client_order_id:
                raise InvalidValue(
                    "event.client_order_id", event.client_order_id, f"does not match {self.client_order_id}"
                )
            if event.fill is not None:
                self.fill(event.fill)
            elif event.status is OrderStatus.INITIALIZED:
                if event.triggered_price is None:
                    raise InvalidValue(
                        "event", event, "an INITIALIZED event after the first must be a trigger"
                    )
                self.trigger(event.ts_event, event.triggered_price)
            else:
                if event.status not in TRANSITIONS[self.status]:
                    raise IllegalTransition(self.client_order_id, self.status.value, event.status.value)
                if event.venue_order_id is not None:
                    self.venue_order_id = event.venue_order_id
                self.status = event.status
                self.ts_last = event.ts_event
                self.events.append(event)

    def __repr__(self) -> str:
        price = f" @ {self.price}" if self.price is not None else ""
        return (
            f"Order({self.client_order_id} {self.side.name} {self.quantity} {self.instrument_id}"
            f" {self.order_type.value}{price} {self.status.value} filled={self.filled_quantity})"
        )
