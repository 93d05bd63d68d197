"""MarketDataService: instruments, the latest quote, the consolidated quote of a pair across
venues, the L2 book, live quotes and trades."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc
from tradeplane.v1 import market_data_pb2, market_data_pb2_grpc

from application.market_state import MarketState
from application.ports import Clock
from domain.consolidated_quote import check_asset, pairs
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.instrument import InstrumentRegistry
from domain.market_data import QuoteTick, TradeTick
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import cut, echo, invalid, not_found, precondition, server_stream, unary
from entrypoints.grpc.streams import StreamHub

if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]
MAX_STREAM_INSTRUMENTS = 1000


def _no_age_limit() -> int | None:
    return None


class MarketDataService(market_data_pb2_grpc.MarketDataServiceServicer):
    """``clock`` and ``max_data_age_ns`` (the risk limit, read at each call) let the consolidated
    quote leave out venues whose data is too old; without a clock no age is checked (the feed's
    connection and the book's sync still are)."""

    def __init__(
        self,
        instruments: InstrumentRegistry,
        market: MarketState,
        hub: StreamHub,
        *,
        clock: Clock | None = None,
        max_data_age_ns: Callable[[], int | None] = _no_age_limit,
    ) -> None:
        self._instruments = instruments
        self._market = market
        self._hub = hub
        self._clock = clock
        self._max_data_age_ns = max_data_age_ns

    def _instrument(self, value: str) -> InstrumentId:
        instrument_id = mapping.parse_instrument_id(value)
        if instrument_id not in self._instruments:
            raise not_found(f"instrument {echo(value)} is not configured; see ListInstruments")
        return instrument_id

    def _filter(self, values: Sequence[str]) -> frozenset[InstrumentId] | None:
        if len(values) > MAX_STREAM_INSTRUMENTS:
            raise invalid("instrument_ids", f"at most {MAX_STREAM_INSTRUMENTS} (was {len(values)})")
        if not values:
            return None
        return frozenset(
            mapping.parse_instrument_id(value, f"instrument_ids[{i}]", known=self._instruments)
            for i, value in enumerate(values)
        )

    @unary
    async def ListInstruments(
        self, request: market_data_pb2.ListInstrumentsRequest, context: Ctx
    ) -> market_data_pb2.ListInstrumentsResponse:
        return market_data_pb2.ListInstrumentsResponse(
            instruments=[mapping.instrument_to_proto(i) for _, i in sorted(self._instruments.items())]
        )

    @unary
    async def GetQuote(
        self, request: market_data_pb2.GetQuoteRequest, context: Ctx
    ) -> market_data_pb2.GetQuoteResponse:
        instrument_id = self._instrument(request.instrument_id)
        quote = self._market.quotes.get(instrument_id)
        if quote is None:
            raise not_found(f"no quote for {instrument_id} yet")
        return market_data_pb2.GetQuoteResponse(quote=mapping.quote_to_proto(quote))

    @unary
    async def GetConsolidatedQuote(
        self, request: market_data_pb2.GetConsolidatedQuoteRequest, context: Ctx
    ) -> market_data_pb2.GetConsolidatedQuoteResponse:
        base = _asset(request.base, "base")
        quote = _asset(request.quote, "quote")
        instruments = self._instruments.values()
        if (base, quote) not in pairs(instruments):
            known = ", ".join(f"{b}/{q}" for b, q in pairs(instruments)) or "none"
            raise not_found(f"no configured instrument trades {base}/{quote}; pairs: {cut(known, 300)}")
        clock = self._clock
        if clock is None:
            view = self._market.consolidated(base, quote, instruments)
        else:
            view = self._market.consolidated(
                base, quote, instruments, now_ns=clock.now_ns(), max_age_ns=self._max_data_age_ns()
            )
        return mapping.consolidated_to_proto(view)

    @unary
    async def GetOrderBook(
        self, request: market_data_pb2.GetOrderBookRequest, context: Ctx
    ) -> market_data_pb2.GetOrderBookResponse:
        instrument_id = self._instrument(request.instrument_id)
        depth = request.depth or mapping.DEFAULT_BOOK_DEPTH
        if not 0 < depth <= mapping.MAX_BOOK_DEPTH:
            raise invalid("depth", f"must be between 1 and {mapping.MAX_BOOK_DEPTH} (was {request.depth})")
        book = self._market.books.get(instrument_id)
        if book is None:
            raise not_found(f"no order book for {instrument_id} (the feed sends none, or not yet)")
        if not book.synced:
            raise precondition(
                f"the {instrument_id} book is out of sync ({book.out_of_sync_reason}); it resyncs on its own",
                "BOOK_OUT_OF_SYNC",
            )
        return market_data_pb2.GetOrderBookResponse(
            instrument_id=instrument_id,
            bids=mapping.levels_to_proto(book.bids(depth)),
            asks=mapping.levels_to_proto(book.asks(depth)),
            sequence=max(book.sequence, 0),
            time=mapping.timestamp(book.ts_event),
        )

    @server_stream
    async def StreamQuotes(
        self, request: market_data_pb2.StreamQuotesRequest, context: Ctx
    ) -> AsyncIterator[market_data_pb2.StreamQuotesResponse]:
        only = self._filter(request.instrument_ids)

        def wants(quote: QuoteTick) -> bool:
            return only is None or quote.instrument_id in only

        subscriber = self._hub.subscribe("quotes", wants, context.peer())
        async for message in self._hub.messages(subscriber):
            yield message

    @server_stream
    async def StreamTrades(
        self, request: market_data_pb2.StreamTradesRequest, context: Ctx
    ) -> AsyncIterator[market_data_pb2.StreamTradesResponse]:
        only = self._filter(request.instrument_ids)

        def wants(tick: TradeTick) -> bool:
            return only is None or tick.instrument_id in only

        subscriber = self._hub.subscribe("trades", wants, context.peer())
        async for message in self._hub.messages(subscriber):
            yield message


def _asset(value: str, field: str) -> str:
    if not value:
        raise invalid(field, "is required: an asset code such as BTC or USDT")
    try:
        return check_asset(value, field)
    except InvalidValue as error:
        raise invalid(field, f"{error.problem} (was {echo(value)})") from None
