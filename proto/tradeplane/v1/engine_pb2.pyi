import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tradeplane.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlertSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_SEVERITY_UNSPECIFIED: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_CRITICAL: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_WARNING: _ClassVar[AlertSeverity]
ALERT_SEVERITY_UNSPECIFIED: AlertSeverity
ALERT_SEVERITY_CRITICAL: AlertSeverity
ALERT_SEVERITY_WARNING: AlertSeverity

class FeedHealth(_message.Message):
    __slots__ = ("name", "connected", "last_message_time", "messages", "reconnects", "gaps", "malformed", "last_error", "unknown", "checksum_failures", "instruments")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FAILURES_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    connected: bool
    last_message_time: _timestamp_pb2.Timestamp
    messages: int
    reconnects: int
    gaps: int
    malformed: int
    last_error: str
    unknown: int
    checksum_failures: int
    instruments: _containers.RepeatedCompositeFieldContainer[InstrumentFeedHealth]
    def __init__(self, name: _Optional[str] = ..., connected: _Optional[bool] = ..., last_message_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., messages: _Optional[int] = ..., reconnects: _Optional[int] = ..., gaps: _Optional[int] = ..., malformed: _Optional[int] = ..., last_error: _Optional[str] = ..., unknown: _Optional[int] = ..., checksum_failures: _Optional[int] = ..., instruments: _Optional[_Iterable[_Union[InstrumentFeedHealth, _Mapping]]] = ...) -> None: ...

class InstrumentFeedHealth(_message.Message):
    __slots__ = ("instrument_id", "book_verified", "last_message_time", "gaps", "checksum_failures", "resubscriptions")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BOOK_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_TIME_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FAILURES_FIELD_NUMBER: _ClassVar[int]
    RESUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    book_verified: bool
    last_message_time: _timestamp_pb2.Timestamp
    gaps: int
    checksum_failures: int
    resubscriptions: int
    def __init__(self, instrument_id: _Optional[str] = ..., book_verified: _Optional[bool] = ..., last_message_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., gaps: _Optional[int] = ..., checksum_failures: _Optional[int] = ..., resubscriptions: _Optional[int] = ...) -> None: ...

class InstrumentData(_message.Message):
    __slots__ = ("instrument_id", "connected", "data_age", "has_book", "book_synced", "usable", "problem")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    DATA_AGE_FIELD_NUMBER: _ClassVar[int]
    HAS_BOOK_FIELD_NUMBER: _ClassVar[int]
    BOOK_SYNCED_FIELD_NUMBER: _ClassVar[int]
    USABLE_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    connected: bool
    data_age: _duration_pb2.Duration
    has_book: bool
    book_synced: bool
    usable: bool
    problem: str
    def __init__(self, instrument_id: _Optional[str] = ..., connected: _Optional[bool] = ..., data_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., has_book: _Optional[bool] = ..., book_synced: _Optional[bool] = ..., usable: _Optional[bool] = ..., problem: _Optional[str] = ...) -> None: ...

class BrokerHealth(_message.Message):
    __slots__ = ("name", "environment", "account", "connected", "requests_in_flight", "unknown_outcomes", "rate_limited", "blocked_until", "used_weight", "reconnects", "clock_offset_ms", "last_error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMITED_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    USED_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    account: str
    connected: bool
    requests_in_flight: int
    unknown_outcomes: int
    rate_limited: int
    blocked_until: _timestamp_pb2.Timestamp
    used_weight: int
    reconnects: int
    clock_offset_ms: int
    last_error: str
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ..., account: _Optional[str] = ..., connected: _Optional[bool] = ..., requests_in_flight: _Optional[int] = ..., unknown_outcomes: _Optional[int] = ..., rate_limited: _Optional[int] = ..., blocked_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., used_weight: _Optional[int] = ..., reconnects: _Optional[int] = ..., clock_offset_ms: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class Counters(_message.Message):
    __slots__ = ("trades_seen", "signals", "orders_submitted", "fills", "risk_rejections", "open_orders", "handler_errors", "stream_subscribers", "stream_drops", "grpc_requests", "auth_refusals")
    TRADES_SEEN_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    FILLS_FIELD_NUMBER: _ClassVar[int]
    RISK_REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    HANDLER_ERRORS_FIELD_NUMBER: _ClassVar[int]
    STREAM_SUBSCRIBERS_FIELD_NUMBER: _ClassVar[int]
    STREAM_DROPS_FIELD_NUMBER: _ClassVar[int]
    GRPC_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    AUTH_REFUSALS_FIELD_NUMBER: _ClassVar[int]
    trades_seen: int
    signals: int
    orders_submitted: int
    fills: int
    risk_rejections: int
    open_orders: int
    handler_errors: int
    stream_subscribers: int
    stream_drops: int
    grpc_requests: int
    auth_refusals: int
    def __init__(self, trades_seen: _Optional[int] = ..., signals: _Optional[int] = ..., orders_submitted: _Optional[int] = ..., fills: _Optional[int] = ..., risk_rejections: _Optional[int] = ..., open_orders: _Optional[int] = ..., handler_errors: _Optional[int] = ..., stream_subscribers: _Optional[int] = ..., stream_drops: _Optional[int] = ..., grpc_requests: _Optional[int] = ..., auth_refusals: _Optional[int] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("name", "version", "mode", "broker", "running", "start_time", "uptime", "trading_state", "trading_reason", "equity", "feeds", "counters", "broker_health", "instruments", "alerts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    BROKER_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    TRADING_STATE_FIELD_NUMBER: _ClassVar[int]
    TRADING_REASON_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    FEEDS_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    BROKER_HEALTH_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    mode: str
    broker: str
    running: bool
    start_time: _timestamp_pb2.Timestamp
    uptime: _duration_pb2.Duration
    trading_state: _common_pb2.TradingState
    trading_reason: str
    equity: str
    feeds: _containers.RepeatedCompositeFieldContainer[FeedHealth]
    counters: Counters
    broker_health: BrokerHealth
    instruments: _containers.RepeatedCompositeFieldContainer[InstrumentData]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., mode: _Optional[str] = ..., broker: _Optional[str] = ..., running: _Optional[bool] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., uptime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., trading_state: _Optional[_Union[_common_pb2.TradingState, str]] = ..., trading_reason: _Optional[str] = ..., equity: _Optional[str] = ..., feeds: _Optional[_Iterable[_Union[FeedHealth, _Mapping]]] = ..., counters: _Optional[_Union[Counters, _Mapping]] = ..., broker_health: _Optional[_Union[BrokerHealth, _Mapping]] = ..., instruments: _Optional[_Iterable[_Union[InstrumentData, _Mapping]]] = ..., alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("name", "severity", "summary", "labels", "fired_at", "resolved_at")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    FIRED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    severity: AlertSeverity
    summary: str
    labels: _containers.ScalarMap[str, str]
    fired_at: _timestamp_pb2.Timestamp
    resolved_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., severity: _Optional[_Union[AlertSeverity, str]] = ..., summary: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., fired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamAlertsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamAlertsResponse(_message.Message):
    __slots__ = ("kind", "alert")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[StreamAlertsResponse.Kind]
        KIND_ACTIVE: _ClassVar[StreamAlertsResponse.Kind]
        KIND_RAISED: _ClassVar[StreamAlertsResponse.Kind]
        KIND_REPEATED: _ClassVar[StreamAlertsResponse.Kind]
        KIND_RESOLVED: _ClassVar[StreamAlertsResponse.Kind]
    KIND_UNSPECIFIED: StreamAlertsResponse.Kind
    KIND_ACTIVE: StreamAlertsResponse.Kind
    KIND_RAISED: StreamAlertsResponse.Kind
    KIND_REPEATED: StreamAlertsResponse.Kind
    KIND_RESOLVED: StreamAlertsResponse.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    kind: StreamAlertsResponse.Kind
    alert: Alert
    def __init__(self, kind: _Optional[_Union[StreamAlertsResponse.Kind, str]] = ..., alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...
