"""OrderService: submit (idempotent), cancel, look up, list and stream orders and fills."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from tradeplane.v1 import orders_pb2, orders_pb2_grpc

from application.commands import CancelAllOrders, CancelOrder, SubmitOrder
from application.execution import OrderManager
from application.messages import OrderUpdated
from application.ports import Clock, CommandBus, OrderQuery, TradeRepository
from domain.instrument import InstrumentRegistry
from domain.intents import OrderIntent
from domain.orders import Fill, Order, OrderType, TimeInForce
from entrypoints.grpc import mapping
from entrypoints.grpc.auth import CALLER
from entrypoints.grpc.errors import ApiError, echo, invalid, not_found, server_stream, unary
from entrypoints.grpc.streams import StreamHub

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]
MANUAL_STRATEGY = "manual"
_MANUAL = mapping.parse_strategy_id(MANUAL_STRATEGY)
T = TypeVar("T")


class OrderService(orders_pb2_grpc.OrderServiceServicer):
    """Commands go through the command bus; queries read the order manager and the trades store."""

    def __init__(
        self,
        *,
        commands: CommandBus,
        orders: OrderManager,
        trades: TradeRepository,
        instruments: InstrumentRegistry,
        clock: Clock,
        hub: StreamHub,
    ) -> None:
        self._commands = commands
        self._orders = orders
        self._trades = trades
        self._instruments = instruments
        self._clock = clock
        self._hub = hub

    # -- commands ------------------------------------------------------------------------------

    @unary
    async def SubmitOrder(
        self, request: orders_pb2.SubmitOrderRequest, context: Ctx
    ) -> orders_pb2.SubmitOrderResponse:
        intent = self._intent(request)
        coid = mapping.parse_client_order_id(request.client_order_id) if request.client_order_id else None
        response = orders_pb2.SubmitOrderResponse()
        if coid is not None:
            existing = self._existing(coid)
            if existing is not None:
                _check_same(existing, intent)
                mapping.write_order(response.order, existing)
                response.duplicate = True
                return response
        order = self._commands.execute(SubmitOrder(intent=intent, client_order_id=coid)).unwrap()
        mapping.write_order(response.order, order)
        return response

    def _existing(self, client_order_id: str) -> Order | None:
        return self._orders.find(client_order_id)

    def _intent(self, request: orders_pb2.SubmitOrderRequest) -> OrderIntent:
        instrument_id = mapping.parse_instrument_id(request.instrument_id, known=self._instruments)
        side = mapping.parse_enum(request.side, mapping.SIDE_FROM_PROTO, "side", "Side")
        order_type = mapping.parse_enum(request.type, mapping.TYPE_FROM_PROTO, "type", "OrderType")
        tif = (
            TimeInForce.GTC
            if request.time_in_force == 0
            else mapping.parse_enum(
                request.time_in_force, mapping.TIF_FROM_PROTO, "time_in_force", "TimeInForce"
            )
        )
        quantity = mapping.require_positive(request.quantity, "quantity")
        price = None
        if order_type.has_price:
            price = mapping.require_positive(request.price, "price")
        elif request.price:
            raise invalid("price", f"must be empty for a {order_type.value} order")
        stop_price = None
        if order_type.has_stop:
            stop_price = mapping.require_positive(request.stop_price, "stop_price")
        elif request.stop_price:
            raise invalid("stop_price", f"must be empty for a {order_type.value} order")
        if request.post_only and order_type is not OrderType.LIMIT:
            raise invalid("post_only", f"is only for a LIMIT order, not {order_type.value}")
        strategy = mapping.parse_strategy_id(request.strategy_id) if request.strategy_id else _MANUAL
        caller = CALLER.get()
        return OrderIntent(
            strategy_id=strategy,
            instrument_id=instrument_id,
            side=side,
            quantity=quantity,
            order_type=order_type,
            price=price,
            stop_price=stop_price,
            time_in_force=tif,
            reduce_only=request.reduce_only,
            post_only=request.post_only,
            reason=f"submitted over gRPC by {caller.name}" if caller is not None else "submitted over gRPC",
            ts_event=self._clock.now_ns(),
        )

    @unary
    async def CancelOrder(
        self, request: orders_pb2.CancelOrderRequest, context: Ctx
    ) -> orders_pb2.CancelOrderResponse:
        order = self._find(request)
        if order.status.is_terminal:
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"order {order.client_order_id} is already {order.status.value}; nothing to cancel",
                reason="ORDER_CLOSED",
                violations=(("ORDER_CLOSED", f"order is {order.status.value}"),),
            )
        canceled = self._commands.execute(CancelOrder(order.client_order_id))
        return orders_pb2.CancelOrderResponse(order=mapping.order_to_proto(canceled))

    @unary
    async def CancelAllOrders(
        self, request: orders_pb2.CancelAllOrdersRequest, context: Ctx
    ) -> orders_pb2.CancelAllOrdersResponse:
        instrument_id = (
            mapping.parse_instrument_id(request.instrument_id, known=self._instruments)
            if request.instrument_id
            else None
        )
        asked = self._commands.execute(CancelAllOrders(instrument_id))
        return orders_pb2.CancelAllOrdersResponse(orders=[mapping.order_to_proto(o) for o in asked])

    # -- queries -------------------------------------------------------------------------------

    @unary
    async def GetOrder(
        self, request: orders_pb2.GetOrderRequest, context: Ctx
    ) -> orders_pb2.GetOrderResponse:
        return orders_pb2.GetOrderResponse(order=mapping.order_to_proto(self._find(request)))

    def _find(self, request: orders_pb2.GetOrderRequest | orders_pb2.CancelOrderRequest) -> Order:
        which = request.WhichOneof("id")
        if which == "client_order_id":
            coid = mapping.parse_client_order_id(request.client_order_id)
            order = self._orders.find(coid)
            if order is None:
                raise not_found(f"no order with client_order_id {echo(coid)}")
            return order
        if which == "venue_order_id":
            venue_id = request.venue_order_id
            if not venue_id or len(venue_id) > 128:
                raise invalid("venue_order_id", "must be 1-128 characters")
            for order in self._orders.open_orders.values():  # an ack may not be stored yet
                if order.venue_order_id == venue_id:
                    return order
            found = self._trades.find_by_venue_order_id(venue_id)
            if found is None:
                raise not_found(f"no order with venue_order_id {echo(venue_id)}")
            return found
        raise invalid("id", "set client_order_id or venue_order_id")

    @unary
    async def ListOrders(
        self, request: orders_pb2.ListOrdersRequest, context: Ctx
    ) -> orders_pb2.ListOrdersResponse:
        instrument_id = mapping.parse_instrument_id(request.instrument_id) if request.instrument_id else None
        status = (
            mapping.parse_enum(request.status, mapping.STATUS_FROM_PROTO, "status", "OrderStatus")
            if request.status
            else None
        )
        strategy = mapping.parse_strategy_id(request.strategy_id) if request.strategy_id else None
        size = mapping.page_size(request.page_size)
        query = OrderQuery(
            instrument_id=instrument_id,
            status=status,
            strategy_id=strategy,
            open_only=request.open_only,
            before=mapping.decode_cursor(request.page_token),
            limit=size + 1,  # one more tells whether another page follows
        )
        found = self._trades.query_orders(query)
        page, more = list(found[:size]), len(found) > size
        return orders_pb2.ListOrdersResponse(
            orders=[mapping.order_to_proto(o) for o in page],
            next_page_token=mapping.encode_page_token(page[-1].ts_init, page[-1].client_order_id)
            if more
            else "",
        )

    @unary
    async def ListFills(
        self, request: orders_pb2.ListFillsRequest, context: Ctx
    ) -> orders_pb2.ListFillsResponse:
        instrument_id = mapping.parse_instrument_id(request.instrument_id) if request.instrument_id else None
        coid = mapping.parse_client_order_id(request.client_order_id) if request.client_order_id else None
        strategy = mapping.parse_strategy_id(request.strategy_id) if request.strategy_id else None
        size = mapping.page_size(request.page_size)
        after = mapping.decode_cursor(request.page_token)

        def keep(fill: Fill) -> bool:
            return (coid is None or fill.client_order_id == coid) and (
                strategy is None or fill.strategy_id == strategy
            )

        fills = self._trades.list_fills(instrument_id=instrument_id)
        page, more = _page(fills, keep, lambda f: (f.ts_event, f.trade_id), after, size)
        return orders_pb2.ListFillsResponse(
            fills=[mapping.fill_to_proto(f) for f in page],
            next_page_token=mapping.encode_page_token(page[-1].ts_event, page[-1].trade_id) if more else "",
        )

    # -- stream --------------------------------------------------------------------------------

    @server_stream
    async def StreamOrderEvents(
        self, request: orders_pb2.StreamOrderEventsRequest, context: Ctx
    ) -> AsyncIterator[orders_pb2.StreamOrderEventsResponse]:
        instrument_id = mapping.parse_instrument_id(request.instrument_id) if request.instrument_id else None
        strategy = mapping.parse_strategy_id(request.strategy_id) if request.strategy_id else None

        def wants(update: OrderUpdated) -> bool:
            return (instrument_id is None or update.instrument_id == instrument_id) and (
                strategy is None or update.strategy_id == strategy
            )

        subscriber = self._hub.subscribe("order_events", wants, context.peer())
        async for message in self._hub.messages(subscriber):
            yield message


def _page(
    items: Iterable[T],
    keep: Callable[[T], bool],
    key: Callable[[T], tuple[int, str]],
    after: tuple[int, str] | None,
    size: int,
) -> tuple[list[T], bool]:
    """Newest first by ``key``; the items strictly older than ``after``; one page and "more?"."""
    ordered = sorted((item for item in items if keep(item)), key=key, reverse=True)
    if after is not None:
        ordered = [item for item in ordered if key(item) < after]
    return ordered[:size], len(ordered) > size


def _check_same(order: Order, intent: OrderIntent) -> None:
    """A reused client_order_id must describe the same order, or it is a client bug."""
    differing = [
        name
        for name, ours, theirs in (
            ("instrument_id", order.instrument_id, intent.instrument_id),
            ("side", order.side, intent.side),
            ("type", order.order_type, intent.order_type),
            ("quantity", order.quantity, intent.quantity),
            ("price", order.price, intent.price),
            ("stop_price", order.stop_price, intent.stop_price),
            ("time_in_force", order.time_in_force, intent.time_in_force),
            ("reduce_only", order.reduce_only, intent.reduce_only),
            ("post_only", order.post_only, intent.post_only),
            ("strategy_id", order.strategy_id, intent.strategy_id),
        )
        if ours != theirs
    ]
    if differing:
        raise ApiError(
            grpc.StatusCode.ALREADY_EXISTS,
            f"client_order_id {order.client_order_id!r} is already used by a different order"
            f" (differs in {', '.join(differing)}); use a new id",
            field="client_order_id",
            reason="CLIENT_ORDER_ID_REUSED",
        )
