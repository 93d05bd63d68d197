import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tradeplane.v1 import common_pb2 as _common_pb2
from tradeplane.v1 import orders_pb2 as _orders_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RiskLimits(_message.Message):
    __slots__ = ("max_order_quantity", "max_order_notional", "max_position_quantity", "instrument_limits", "max_gross_exposure", "price_band_fraction", "max_orders_per_window", "window_ns", "max_open_orders", "max_data_age_ns", "daily_loss_limit", "max_drawdown_fraction")
    class InstrumentLimitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: InstrumentLimits
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[InstrumentLimits, _Mapping]] = ...) -> None: ...
    MAX_ORDER_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    MAX_ORDER_NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    MAX_POSITION_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_LIMITS_FIELD_NUMBER: _ClassVar[int]
    MAX_GROSS_EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    PRICE_BAND_FRACTION_FIELD_NUMBER: _ClassVar[int]
    MAX_ORDERS_PER_WINDOW_FIELD_NUMBER: _ClassVar[int]
    WINDOW_NS_FIELD_NUMBER: _ClassVar[int]
    MAX_OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    MAX_DATA_AGE_NS_FIELD_NUMBER: _ClassVar[int]
    DAILY_LOSS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAX_DRAWDOWN_FRACTION_FIELD_NUMBER: _ClassVar[int]
    max_order_quantity: str
    max_order_notional: str
    max_position_quantity: str
    instrument_limits: _containers.MessageMap[str, InstrumentLimits]
    max_gross_exposure: str
    price_band_fraction: str
    max_orders_per_window: int
    window_ns: int
    max_open_orders: int
    max_data_age_ns: int
    daily_loss_limit: str
    max_drawdown_fraction: str
    def __init__(self, max_order_quantity: _Optional[str] = ..., max_order_notional: _Optional[str] = ..., max_position_quantity: _Optional[str] = ..., instrument_limits: _Optional[_Mapping[str, InstrumentLimits]] = ..., max_gross_exposure: _Optional[str] = ..., price_band_fraction: _Optional[str] = ..., max_orders_per_window: _Optional[int] = ..., window_ns: _Optional[int] = ..., max_open_orders: _Optional[int] = ..., max_data_age_ns: _Optional[int] = ..., daily_loss_limit: _Optional[str] = ..., max_drawdown_fraction: _Optional[str] = ...) -> None: ...

class InstrumentLimits(_message.Message):
    __slots__ = ("max_order_quantity", "max_position_quantity")
    MAX_ORDER_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    MAX_POSITION_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    max_order_quantity: str
    max_position_quantity: str
    def __init__(self, max_order_quantity: _Optional[str] = ..., max_position_quantity: _Optional[str] = ...) -> None: ...

class RiskState(_message.Message):
    __slots__ = ("state", "reason", "message", "since", "daily_pnl", "equity", "peak_equity", "drawdown", "drawdown_fraction", "open_orders")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    DAILY_PNL_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    PEAK_EQUITY_FIELD_NUMBER: _ClassVar[int]
    DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    DRAWDOWN_FRACTION_FIELD_NUMBER: _ClassVar[int]
    OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    state: _common_pb2.TradingState
    reason: str
    message: str
    since: _timestamp_pb2.Timestamp
    daily_pnl: str
    equity: str
    peak_equity: str
    drawdown: str
    drawdown_fraction: str
    open_orders: int
    def __init__(self, state: _Optional[_Union[_common_pb2.TradingState, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., daily_pnl: _Optional[str] = ..., equity: _Optional[str] = ..., peak_equity: _Optional[str] = ..., drawdown: _Optional[str] = ..., drawdown_fraction: _Optional[str] = ..., open_orders: _Optional[int] = ...) -> None: ...

class GetRiskLimitsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRiskLimitsResponse(_message.Message):
    __slots__ = ("limits",)
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    limits: RiskLimits
    def __init__(self, limits: _Optional[_Union[RiskLimits, _Mapping]] = ...) -> None: ...

class UpdateRiskLimitsRequest(_message.Message):
    __slots__ = ("limits", "clear")
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    limits: RiskLimits
    clear: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, limits: _Optional[_Union[RiskLimits, _Mapping]] = ..., clear: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateRiskLimitsResponse(_message.Message):
    __slots__ = ("limits", "state")
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    limits: RiskLimits
    state: RiskState
    def __init__(self, limits: _Optional[_Union[RiskLimits, _Mapping]] = ..., state: _Optional[_Union[RiskState, _Mapping]] = ...) -> None: ...

class GetRiskStateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRiskStateResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: RiskState
    def __init__(self, state: _Optional[_Union[RiskState, _Mapping]] = ...) -> None: ...

class HaltRequest(_message.Message):
    __slots__ = ("reason", "cancel_open_orders")
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANCEL_OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    reason: str
    cancel_open_orders: bool
    def __init__(self, reason: _Optional[str] = ..., cancel_open_orders: _Optional[bool] = ...) -> None: ...

class HaltResponse(_message.Message):
    __slots__ = ("state", "canceled_orders")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CANCELED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    state: RiskState
    canceled_orders: _containers.RepeatedCompositeFieldContainer[_orders_pb2.Order]
    def __init__(self, state: _Optional[_Union[RiskState, _Mapping]] = ..., canceled_orders: _Optional[_Iterable[_Union[_orders_pb2.Order, _Mapping]]] = ...) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ("reset_peak",)
    RESET_PEAK_FIELD_NUMBER: _ClassVar[int]
    reset_peak: bool
    def __init__(self, reset_peak: _Optional[bool] = ...) -> None: ...

class ResumeResponse(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: RiskState
    def __init__(self, state: _Optional[_Union[RiskState, _Mapping]] = ...) -> None: ...
