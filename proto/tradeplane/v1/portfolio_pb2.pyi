import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Balance(_message.Message):
    __slots__ = ("asset", "total")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    asset: str
    total: str
    def __init__(self, asset: _Optional[str] = ..., total: _Optional[str] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("valuation_currency", "balances", "equity", "realized_pnl", "unrealized_pnl", "fees", "gross_exposure", "net_exposure", "peak_equity", "drawdown", "drawdown_fraction", "unvalued_reason")
    VALUATION_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    GROSS_EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    NET_EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    PEAK_EQUITY_FIELD_NUMBER: _ClassVar[int]
    DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    DRAWDOWN_FRACTION_FIELD_NUMBER: _ClassVar[int]
    UNVALUED_REASON_FIELD_NUMBER: _ClassVar[int]
    valuation_currency: str
    balances: _containers.RepeatedCompositeFieldContainer[Balance]
    equity: str
    realized_pnl: str
    unrealized_pnl: str
    fees: str
    gross_exposure: str
    net_exposure: str
    peak_equity: str
    drawdown: str
    drawdown_fraction: str
    unvalued_reason: str
    def __init__(self, valuation_currency: _Optional[str] = ..., balances: _Optional[_Iterable[_Union[Balance, _Mapping]]] = ..., equity: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., fees: _Optional[str] = ..., gross_exposure: _Optional[str] = ..., net_exposure: _Optional[str] = ..., peak_equity: _Optional[str] = ..., drawdown: _Optional[str] = ..., drawdown_fraction: _Optional[str] = ..., unvalued_reason: _Optional[str] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("instrument_id", "quantity", "avg_entry_price", "realized_pnl", "unrealized_pnl", "fees", "mark_price", "notional", "update_time")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVG_ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    MARK_PRICE_FIELD_NUMBER: _ClassVar[int]
    NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    quantity: str
    avg_entry_price: str
    realized_pnl: str
    unrealized_pnl: str
    fees: str
    mark_price: str
    notional: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, instrument_id: _Optional[str] = ..., quantity: _Optional[str] = ..., avg_entry_price: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., fees: _Optional[str] = ..., mark_price: _Optional[str] = ..., notional: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListPositionsRequest(_message.Message):
    __slots__ = ("include_flat",)
    INCLUDE_FLAT_FIELD_NUMBER: _ClassVar[int]
    include_flat: bool
    def __init__(self, include_flat: _Optional[bool] = ...) -> None: ...

class ListPositionsResponse(_message.Message):
    __slots__ = ("positions",)
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    def __init__(self, positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ...) -> None: ...

class StreamPositionsRequest(_message.Message):
    __slots__ = ("instrument_id",)
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    def __init__(self, instrument_id: _Optional[str] = ...) -> None: ...

class StreamPositionsResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: Position
    def __init__(self, position: _Optional[_Union[Position, _Mapping]] = ...) -> None: ...

class EquityPoint(_message.Message):
    __slots__ = ("time", "equity")
    TIME_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    equity: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., equity: _Optional[str] = ...) -> None: ...

class GetEquityHistoryRequest(_message.Message):
    __slots__ = ("since",)
    SINCE_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetEquityHistoryResponse(_message.Message):
    __slots__ = ("valuation_currency", "points", "step_seconds", "max_points")
    VALUATION_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    STEP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_POINTS_FIELD_NUMBER: _ClassVar[int]
    valuation_currency: str
    points: _containers.RepeatedCompositeFieldContainer[EquityPoint]
    step_seconds: int
    max_points: int
    def __init__(self, valuation_currency: _Optional[str] = ..., points: _Optional[_Iterable[_Union[EquityPoint, _Mapping]]] = ..., step_seconds: _Optional[int] = ..., max_points: _Optional[int] = ...) -> None: ...
