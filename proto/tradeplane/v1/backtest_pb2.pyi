import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunBacktestRequest(_message.Message):
    __slots__ = ("data", "strategy", "params", "instrument_id", "capital", "fees_bps", "slippage_bps", "fraction", "quantity", "allow_short", "skip_bad_rows", "store")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATA_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CAPITAL_FIELD_NUMBER: _ClassVar[int]
    FEES_BPS_FIELD_NUMBER: _ClassVar[int]
    SLIPPAGE_BPS_FIELD_NUMBER: _ClassVar[int]
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SHORT_FIELD_NUMBER: _ClassVar[int]
    SKIP_BAD_ROWS_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    data: _containers.RepeatedScalarFieldContainer[str]
    strategy: str
    params: _containers.ScalarMap[str, str]
    instrument_id: str
    capital: str
    fees_bps: str
    slippage_bps: str
    fraction: str
    quantity: str
    allow_short: bool
    skip_bad_rows: bool
    store: bool
    def __init__(self, data: _Optional[_Iterable[str]] = ..., strategy: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., instrument_id: _Optional[str] = ..., capital: _Optional[str] = ..., fees_bps: _Optional[str] = ..., slippage_bps: _Optional[str] = ..., fraction: _Optional[str] = ..., quantity: _Optional[str] = ..., allow_short: _Optional[bool] = ..., skip_bad_rows: _Optional[bool] = ..., store: _Optional[bool] = ...) -> None: ...

class RunBacktestResponse(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: BacktestProgress
    result: BacktestResult
    def __init__(self, progress: _Optional[_Union[BacktestProgress, _Mapping]] = ..., result: _Optional[_Union[BacktestResult, _Mapping]] = ...) -> None: ...

class BacktestProgress(_message.Message):
    __slots__ = ("events", "replayed_time")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_TIME_FIELD_NUMBER: _ClassVar[int]
    events: int
    replayed_time: _timestamp_pb2.Timestamp
    def __init__(self, events: _Optional[int] = ..., replayed_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BacktestMetrics(_message.Message):
    __slots__ = ("starting_capital", "final_equity", "net_profit", "total_return", "annualized_return", "annualized_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio", "max_drawdown", "max_drawdown_amount", "trade_count", "winning_trades", "losing_trades", "win_rate", "profit_factor", "fees_paid")
    STARTING_CAPITAL_FIELD_NUMBER: _ClassVar[int]
    FINAL_EQUITY_FIELD_NUMBER: _ClassVar[int]
    NET_PROFIT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RETURN_FIELD_NUMBER: _ClassVar[int]
    ANNUALIZED_RETURN_FIELD_NUMBER: _ClassVar[int]
    ANNUALIZED_VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    SHARPE_RATIO_FIELD_NUMBER: _ClassVar[int]
    SORTINO_RATIO_FIELD_NUMBER: _ClassVar[int]
    CALMAR_RATIO_FIELD_NUMBER: _ClassVar[int]
    MAX_DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    MAX_DRAWDOWN_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TRADE_COUNT_FIELD_NUMBER: _ClassVar[int]
    WINNING_TRADES_FIELD_NUMBER: _ClassVar[int]
    LOSING_TRADES_FIELD_NUMBER: _ClassVar[int]
    WIN_RATE_FIELD_NUMBER: _ClassVar[int]
    PROFIT_FACTOR_FIELD_NUMBER: _ClassVar[int]
    FEES_PAID_FIELD_NUMBER: _ClassVar[int]
    starting_capital: str
    final_equity: str
    net_profit: str
    total_return: str
    annualized_return: float
    annualized_volatility: float
    sharpe_ratio: float
    sortino_ratio: float
    calmar_ratio: float
    max_drawdown: float
    max_drawdown_amount: str
    trade_count: int
    winning_trades: int
    losing_trades: int
    win_rate: float
    profit_factor: float
    fees_paid: str
    def __init__(self, starting_capital: _Optional[str] = ..., final_equity: _Optional[str] = ..., net_profit: _Optional[str] = ..., total_return: _Optional[str] = ..., annualized_return: _Optional[float] = ..., annualized_volatility: _Optional[float] = ..., sharpe_ratio: _Optional[float] = ..., sortino_ratio: _Optional[float] = ..., calmar_ratio: _Optional[float] = ..., max_drawdown: _Optional[float] = ..., max_drawdown_amount: _Optional[str] = ..., trade_count: _Optional[int] = ..., winning_trades: _Optional[int] = ..., losing_trades: _Optional[int] = ..., win_rate: _Optional[float] = ..., profit_factor: _Optional[float] = ..., fees_paid: _Optional[str] = ...) -> None: ...

class BacktestResult(_message.Message):
    __slots__ = ("run_id", "strategy", "instrument_id", "params", "data", "first_event_time", "last_event_time", "events", "signals", "orders", "fills", "skipped_rows", "seconds", "metrics", "result_json")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FIRST_EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    FILLS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_ROWS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    strategy: str
    instrument_id: str
    params: _containers.ScalarMap[str, str]
    data: _containers.RepeatedScalarFieldContainer[str]
    first_event_time: _timestamp_pb2.Timestamp
    last_event_time: _timestamp_pb2.Timestamp
    events: int
    signals: int
    orders: int
    fills: int
    skipped_rows: int
    seconds: float
    metrics: BacktestMetrics
    result_json: str
    def __init__(self, run_id: _Optional[str] = ..., strategy: _Optional[str] = ..., instrument_id: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., data: _Optional[_Iterable[str]] = ..., first_event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., events: _Optional[int] = ..., signals: _Optional[int] = ..., orders: _Optional[int] = ..., fills: _Optional[int] = ..., skipped_rows: _Optional[int] = ..., seconds: _Optional[float] = ..., metrics: _Optional[_Union[BacktestMetrics, _Mapping]] = ..., result_json: _Optional[str] = ...) -> None: ...

class BacktestSummary(_message.Message):
    __slots__ = ("run_id", "create_time", "strategy", "instrument_id", "params", "data", "first_event_time", "last_event_time", "events", "capital", "final_equity", "total_return", "sharpe_ratio", "max_drawdown", "trade_count")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FIRST_EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CAPITAL_FIELD_NUMBER: _ClassVar[int]
    FINAL_EQUITY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RETURN_FIELD_NUMBER: _ClassVar[int]
    SHARPE_RATIO_FIELD_NUMBER: _ClassVar[int]
    MAX_DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    TRADE_COUNT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    create_time: _timestamp_pb2.Timestamp
    strategy: str
    instrument_id: str
    params: _containers.ScalarMap[str, str]
    data: _containers.RepeatedScalarFieldContainer[str]
    first_event_time: _timestamp_pb2.Timestamp
    last_event_time: _timestamp_pb2.Timestamp
    events: int
    capital: str
    final_equity: str
    total_return: str
    sharpe_ratio: float
    max_drawdown: float
    trade_count: int
    def __init__(self, run_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., strategy: _Optional[str] = ..., instrument_id: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., data: _Optional[_Iterable[str]] = ..., first_event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., events: _Optional[int] = ..., capital: _Optional[str] = ..., final_equity: _Optional[str] = ..., total_return: _Optional[str] = ..., sharpe_ratio: _Optional[float] = ..., max_drawdown: _Optional[float] = ..., trade_count: _Optional[int] = ...) -> None: ...

class ListBacktestsRequest(_message.Message):
    __slots__ = ("strategy", "limit")
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    strategy: str
    limit: int
    def __init__(self, strategy: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListBacktestsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[BacktestSummary]
    def __init__(self, runs: _Optional[_Iterable[_Union[BacktestSummary, _Mapping]]] = ...) -> None: ...

class GetBacktestRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetBacktestResponse(_message.Message):
    __slots__ = ("summary", "metrics", "metrics_json", "trades_json")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    METRICS_JSON_FIELD_NUMBER: _ClassVar[int]
    TRADES_JSON_FIELD_NUMBER: _ClassVar[int]
    summary: BacktestSummary
    metrics: BacktestMetrics
    metrics_json: str
    trades_json: str
    def __init__(self, summary: _Optional[_Union[BacktestSummary, _Mapping]] = ..., metrics: _Optional[_Union[BacktestMetrics, _Mapping]] = ..., metrics_json: _Optional[str] = ..., trades_json: _Optional[str] = ...) -> None: ...
