import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tradeplane.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Order(_message.Message):
    __slots__ = ("client_order_id", "venue_order_id", "instrument_id", "side", "type", "time_in_force", "quantity", "price", "stop_price", "filled_quantity", "leaves_quantity", "avg_fill_price", "status", "strategy_id", "reduce_only", "create_time", "update_time", "reason", "post_only")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    FILLED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LEAVES_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVG_FILL_PRICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    venue_order_id: str
    instrument_id: str
    side: _common_pb2.Side
    type: _common_pb2.OrderType
    time_in_force: _common_pb2.TimeInForce
    quantity: str
    price: str
    stop_price: str
    filled_quantity: str
    leaves_quantity: str
    avg_fill_price: str
    status: _common_pb2.OrderStatus
    strategy_id: str
    reduce_only: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    reason: str
    post_only: bool
    def __init__(self, client_order_id: _Optional[str] = ..., venue_order_id: _Optional[str] = ..., instrument_id: _Optional[str] = ..., side: _Optional[_Union[_common_pb2.Side, str]] = ..., type: _Optional[_Union[_common_pb2.OrderType, str]] = ..., time_in_force: _Optional[_Union[_common_pb2.TimeInForce, str]] = ..., quantity: _Optional[str] = ..., price: _Optional[str] = ..., stop_price: _Optional[str] = ..., filled_quantity: _Optional[str] = ..., leaves_quantity: _Optional[str] = ..., avg_fill_price: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.OrderStatus, str]] = ..., strategy_id: _Optional[str] = ..., reduce_only: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., post_only: _Optional[bool] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ("trade_id", "client_order_id", "venue_order_id", "instrument_id", "side", "quantity", "price", "fee", "liquidity", "strategy_id", "time", "fee_asset")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    FEE_ASSET_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    client_order_id: str
    venue_order_id: str
    instrument_id: str
    side: _common_pb2.Side
    quantity: str
    price: str
    fee: str
    liquidity: _common_pb2.LiquiditySide
    strategy_id: str
    time: _timestamp_pb2.Timestamp
    fee_asset: str
    def __init__(self, trade_id: _Optional[str] = ..., client_order_id: _Optional[str] = ..., venue_order_id: _Optional[str] = ..., instrument_id: _Optional[str] = ..., side: _Optional[_Union[_common_pb2.Side, str]] = ..., quantity: _Optional[str] = ..., price: _Optional[str] = ..., fee: _Optional[str] = ..., liquidity: _Optional[_Union[_common_pb2.LiquiditySide, str]] = ..., strategy_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fee_asset: _Optional[str] = ...) -> None: ...

class OrderEvent(_message.Message):
    __slots__ = ("client_order_id", "instrument_id", "strategy_id", "status", "reason", "fill", "venue_order_id", "time", "sequence")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FILL_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    instrument_id: str
    strategy_id: str
    status: _common_pb2.OrderStatus
    reason: str
    fill: Fill
    venue_order_id: str
    time: _timestamp_pb2.Timestamp
    sequence: int
    def __init__(self, client_order_id: _Optional[str] = ..., instrument_id: _Optional[str] = ..., strategy_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.OrderStatus, str]] = ..., reason: _Optional[str] = ..., fill: _Optional[_Union[Fill, _Mapping]] = ..., venue_order_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class SubmitOrderRequest(_message.Message):
    __slots__ = ("client_order_id", "instrument_id", "side", "type", "quantity", "price", "stop_price", "time_in_force", "reduce_only", "strategy_id", "post_only")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOP_PRICE_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    instrument_id: str
    side: _common_pb2.Side
    type: _common_pb2.OrderType
    quantity: str
    price: str
    stop_price: str
    time_in_force: _common_pb2.TimeInForce
    reduce_only: bool
    strategy_id: str
    post_only: bool
    def __init__(self, client_order_id: _Optional[str] = ..., instrument_id: _Optional[str] = ..., side: _Optional[_Union[_common_pb2.Side, str]] = ..., type: _Optional[_Union[_common_pb2.OrderType, str]] = ..., quantity: _Optional[str] = ..., price: _Optional[str] = ..., stop_price: _Optional[str] = ..., time_in_force: _Optional[_Union[_common_pb2.TimeInForce, str]] = ..., reduce_only: _Optional[bool] = ..., strategy_id: _Optional[str] = ..., post_only: _Optional[bool] = ...) -> None: ...

class SubmitOrderResponse(_message.Message):
    __slots__ = ("order", "duplicate")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    order: Order
    duplicate: bool
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("client_order_id", "venue_order_id")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    venue_order_id: str
    def __init__(self, client_order_id: _Optional[str] = ..., venue_order_id: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class CancelAllOrdersRequest(_message.Message):
    __slots__ = ("instrument_id",)
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    def __init__(self, instrument_id: _Optional[str] = ...) -> None: ...

class CancelAllOrdersResponse(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[Order]
    def __init__(self, orders: _Optional[_Iterable[_Union[Order, _Mapping]]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("client_order_id", "venue_order_id")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    venue_order_id: str
    def __init__(self, client_order_id: _Optional[str] = ..., venue_order_id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("instrument_id", "status", "strategy_id", "open_only", "page_size", "page_token")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    status: _common_pb2.OrderStatus
    strategy_id: str
    open_only: bool
    page_size: int
    page_token: str
    def __init__(self, instrument_id: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.OrderStatus, str]] = ..., strategy_id: _Optional[str] = ..., open_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[Order]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListFillsRequest(_message.Message):
    __slots__ = ("instrument_id", "client_order_id", "strategy_id", "page_size", "page_token")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    client_order_id: str
    strategy_id: str
    page_size: int
    page_token: str
    def __init__(self, instrument_id: _Optional[str] = ..., client_order_id: _Optional[str] = ..., strategy_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFillsResponse(_message.Message):
    __slots__ = ("fills", "next_page_token")
    FILLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    fills: _containers.RepeatedCompositeFieldContainer[Fill]
    next_page_token: str
    def __init__(self, fills: _Optional[_Iterable[_Union[Fill, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamOrderEventsRequest(_message.Message):
    __slots__ = ("instrument_id", "strategy_id")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    strategy_id: str
    def __init__(self, instrument_id: _Optional[str] = ..., strategy_id: _Optional[str] = ...) -> None: ...

class StreamOrderEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: OrderEvent
    def __init__(self, event: _Optional[_Union[OrderEvent, _Mapping]] = ...) -> None: ...
