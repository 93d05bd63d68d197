import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tradeplane.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Strategy(_message.Message):
    __slots__ = ("id", "kind", "instrument_ids", "parameters", "active", "ready", "warmup", "signals", "intents", "error", "allow_short", "sizer")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    WARMUP_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    INTENTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SHORT_FIELD_NUMBER: _ClassVar[int]
    SIZER_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    instrument_ids: _containers.RepeatedScalarFieldContainer[str]
    parameters: _containers.ScalarMap[str, str]
    active: bool
    ready: bool
    warmup: int
    signals: int
    intents: int
    error: str
    allow_short: bool
    sizer: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., instrument_ids: _Optional[_Iterable[str]] = ..., parameters: _Optional[_Mapping[str, str]] = ..., active: _Optional[bool] = ..., ready: _Optional[bool] = ..., warmup: _Optional[int] = ..., signals: _Optional[int] = ..., intents: _Optional[int] = ..., error: _Optional[str] = ..., allow_short: _Optional[bool] = ..., sizer: _Optional[str] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ("strategy_id", "instrument_id", "side", "target_position", "strength", "reason", "time")
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TARGET_POSITION_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    instrument_id: str
    side: _common_pb2.Side
    target_position: str
    strength: float
    reason: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, strategy_id: _Optional[str] = ..., instrument_id: _Optional[str] = ..., side: _Optional[_Union[_common_pb2.Side, str]] = ..., target_position: _Optional[str] = ..., strength: _Optional[float] = ..., reason: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListStrategiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStrategiesResponse(_message.Message):
    __slots__ = ("strategies",)
    STRATEGIES_FIELD_NUMBER: _ClassVar[int]
    strategies: _containers.RepeatedCompositeFieldContainer[Strategy]
    def __init__(self, strategies: _Optional[_Iterable[_Union[Strategy, _Mapping]]] = ...) -> None: ...

class StartStrategyRequest(_message.Message):
    __slots__ = ("strategy_id",)
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    def __init__(self, strategy_id: _Optional[str] = ...) -> None: ...

class StartStrategyResponse(_message.Message):
    __slots__ = ("strategy",)
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class StopStrategyRequest(_message.Message):
    __slots__ = ("strategy_id",)
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    def __init__(self, strategy_id: _Optional[str] = ...) -> None: ...

class StopStrategyResponse(_message.Message):
    __slots__ = ("strategy",)
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class UpdateStrategyParamsRequest(_message.Message):
    __slots__ = ("strategy_id", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    parameters: _containers.ScalarMap[str, str]
    def __init__(self, strategy_id: _Optional[str] = ..., parameters: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpdateStrategyParamsResponse(_message.Message):
    __slots__ = ("strategy",)
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    def __init__(self, strategy: _Optional[_Union[Strategy, _Mapping]] = ...) -> None: ...

class StreamSignalsRequest(_message.Message):
    __slots__ = ("strategy_id", "instrument_id")
    STRATEGY_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    strategy_id: str
    instrument_id: str
    def __init__(self, strategy_id: _Optional[str] = ..., instrument_id: _Optional[str] = ...) -> None: ...

class StreamSignalsResponse(_message.Message):
    __slots__ = ("signal",)
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    signal: Signal
    def __init__(self, signal: _Optional[_Union[Signal, _Mapping]] = ...) -> None: ...
