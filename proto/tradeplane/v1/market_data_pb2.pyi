import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AggressorSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGGRESSOR_SIDE_UNSPECIFIED: _ClassVar[AggressorSide]
    AGGRESSOR_SIDE_BUYER: _ClassVar[AggressorSide]
    AGGRESSOR_SIDE_SELLER: _ClassVar[AggressorSide]
    AGGRESSOR_SIDE_NONE: _ClassVar[AggressorSide]
AGGRESSOR_SIDE_UNSPECIFIED: AggressorSide
AGGRESSOR_SIDE_BUYER: AggressorSide
AGGRESSOR_SIDE_SELLER: AggressorSide
AGGRESSOR_SIDE_NONE: AggressorSide

class Instrument(_message.Message):
    __slots__ = ("id", "symbol", "venue", "base", "quote", "price_tick", "lot_size", "min_quantity", "min_notional")
    ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    PRICE_TICK_FIELD_NUMBER: _ClassVar[int]
    LOT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MIN_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    MIN_NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    id: str
    symbol: str
    venue: str
    base: str
    quote: str
    price_tick: str
    lot_size: str
    min_quantity: str
    min_notional: str
    def __init__(self, id: _Optional[str] = ..., symbol: _Optional[str] = ..., venue: _Optional[str] = ..., base: _Optional[str] = ..., quote: _Optional[str] = ..., price_tick: _Optional[str] = ..., lot_size: _Optional[str] = ..., min_quantity: _Optional[str] = ..., min_notional: _Optional[str] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("instrument_id", "bid_price", "bid_size", "ask_price", "ask_size", "time")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BID_PRICE_FIELD_NUMBER: _ClassVar[int]
    BID_SIZE_FIELD_NUMBER: _ClassVar[int]
    ASK_PRICE_FIELD_NUMBER: _ClassVar[int]
    ASK_SIZE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    bid_price: str
    bid_size: str
    ask_price: str
    ask_size: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, instrument_id: _Optional[str] = ..., bid_price: _Optional[str] = ..., bid_size: _Optional[str] = ..., ask_price: _Optional[str] = ..., ask_size: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Trade(_message.Message):
    __slots__ = ("instrument_id", "trade_id", "price", "size", "aggressor", "time")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    AGGRESSOR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    trade_id: str
    price: str
    size: str
    aggressor: AggressorSide
    time: _timestamp_pb2.Timestamp
    def __init__(self, instrument_id: _Optional[str] = ..., trade_id: _Optional[str] = ..., price: _Optional[str] = ..., size: _Optional[str] = ..., aggressor: _Optional[_Union[AggressorSide, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BookLevel(_message.Message):
    __slots__ = ("price", "size")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    price: str
    size: str
    def __init__(self, price: _Optional[str] = ..., size: _Optional[str] = ...) -> None: ...

class ListInstrumentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListInstrumentsResponse(_message.Message):
    __slots__ = ("instruments",)
    INSTRUMENTS_FIELD_NUMBER: _ClassVar[int]
    instruments: _containers.RepeatedCompositeFieldContainer[Instrument]
    def __init__(self, instruments: _Optional[_Iterable[_Union[Instrument, _Mapping]]] = ...) -> None: ...

class GetQuoteRequest(_message.Message):
    __slots__ = ("instrument_id",)
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    def __init__(self, instrument_id: _Optional[str] = ...) -> None: ...

class GetQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class GetOrderBookRequest(_message.Message):
    __slots__ = ("instrument_id", "depth")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    depth: int
    def __init__(self, instrument_id: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class GetOrderBookResponse(_message.Message):
    __slots__ = ("instrument_id", "bids", "asks", "sequence", "time")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    bids: _containers.RepeatedCompositeFieldContainer[BookLevel]
    asks: _containers.RepeatedCompositeFieldContainer[BookLevel]
    sequence: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, instrument_id: _Optional[str] = ..., bids: _Optional[_Iterable[_Union[BookLevel, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[BookLevel, _Mapping]]] = ..., sequence: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamQuotesRequest(_message.Message):
    __slots__ = ("instrument_ids",)
    INSTRUMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    instrument_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, instrument_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamQuotesResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class StreamTradesRequest(_message.Message):
    __slots__ = ("instrument_ids",)
    INSTRUMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    instrument_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, instrument_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamTradesResponse(_message.Message):
    __slots__ = ("trade",)
    TRADE_FIELD_NUMBER: _ClassVar[int]
    trade: Trade
    def __init__(self, trade: _Optional[_Union[Trade, _Mapping]] = ...) -> None: ...

class GetConsolidatedQuoteRequest(_message.Message):
    __slots__ = ("base", "quote")
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    base: str
    quote: str
    def __init__(self, base: _Optional[str] = ..., quote: _Optional[str] = ...) -> None: ...

class ConsolidatedPrice(_message.Message):
    __slots__ = ("price", "size", "instrument_id", "venue")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    price: str
    size: str
    instrument_id: str
    venue: str
    def __init__(self, price: _Optional[str] = ..., size: _Optional[str] = ..., instrument_id: _Optional[str] = ..., venue: _Optional[str] = ...) -> None: ...

class VenueQuote(_message.Message):
    __slots__ = ("instrument_id", "venue", "bid_price", "bid_size", "ask_price", "ask_size", "time", "usable", "problem")
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    BID_PRICE_FIELD_NUMBER: _ClassVar[int]
    BID_SIZE_FIELD_NUMBER: _ClassVar[int]
    ASK_PRICE_FIELD_NUMBER: _ClassVar[int]
    ASK_SIZE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    USABLE_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    instrument_id: str
    venue: str
    bid_price: str
    bid_size: str
    ask_price: str
    ask_size: str
    time: _timestamp_pb2.Timestamp
    usable: bool
    problem: str
    def __init__(self, instrument_id: _Optional[str] = ..., venue: _Optional[str] = ..., bid_price: _Optional[str] = ..., bid_size: _Optional[str] = ..., ask_price: _Optional[str] = ..., ask_size: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., usable: _Optional[bool] = ..., problem: _Optional[str] = ...) -> None: ...

class GetConsolidatedQuoteResponse(_message.Message):
    __slots__ = ("base", "quote", "best_bid", "best_ask", "crossed", "venues")
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    BEST_BID_FIELD_NUMBER: _ClassVar[int]
    BEST_ASK_FIELD_NUMBER: _ClassVar[int]
    CROSSED_FIELD_NUMBER: _ClassVar[int]
    VENUES_FIELD_NUMBER: _ClassVar[int]
    base: str
    quote: str
    best_bid: ConsolidatedPrice
    best_ask: ConsolidatedPrice
    crossed: bool
    venues: _containers.RepeatedCompositeFieldContainer[VenueQuote]
    def __init__(self, base: _Optional[str] = ..., quote: _Optional[str] = ..., best_bid: _Optional[_Union[ConsolidatedPrice, _Mapping]] = ..., best_ask: _Optional[_Union[ConsolidatedPrice, _Mapping]] = ..., crossed: _Optional[bool] = ..., venues: _Optional[_Iterable[_Union[VenueQuote, _Mapping]]] = ...) -> None: ...
