"""The engine, server and clients of the gRPC integration tests, and helpers to assert on them.

``start_env`` builds an engine with ``bootstrap`` over an ``InMemoryFeed`` that gives
BTCUSDT.BINANCE a three-level book, a quote and a last trade (so market orders fill on the
paper broker at once) and ETHUSDT.BINANCE a last trade only, then serves it with a real
``GrpcServer`` on ``127.0.0.1:0`` with three tokens: viewer, trader and admin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from tradeplane.v1 import (
    common_pb2,
    engine_pb2_grpc,
    market_data_pb2_grpc,
    orders_pb2,
    orders_pb2_grpc,
    portfolio_pb2_grpc,
    risk_pb2_grpc,
    strategies_pb2_grpc,
)

from adapters.memory.feed import InMemoryFeed
from domain.identifiers import InstrumentId
from domain.market_data import BookSnapshot, MarketEvent, QuoteTick, TradeTick
from domain.values import AggressorSide
from entrypoints.config import Settings, parse_settings
from entrypoints.container import App, bootstrap
from entrypoints.grpc.auth import hash_token
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.server import GrpcServer

TEST_TIMEOUT_S = 20.0
"""Every async test, and each server start and stop, is cut off after this long."""
CALL_TIMEOUT_S = 5.0
"""Deadline of every unary call, and of every wait for a stream message."""

BTC = "BTCUSDT.BINANCE"
ETH = "ETHUSDT.BINANCE"
STRATEGY = "sma-test"

VIEWER_TOKEN = "viewer-token-0123456789abcdef"
TRADER_TOKEN = "trader-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-0123456789abcdef"

# The replayed market. BTC: a book (best bid 29999.50, best ask 30000.50), a quote at the
# touch and a last trade at 30000.00. ETH: a last trade only (no quote, no book).
BTC_BIDS = (("29999.50", "1.5"), ("29999.00", "2"), ("29998.50", "3"))
BTC_ASKS = (("30000.50", "1.25"), ("30001.00", "2"), ("30001.50", "3"))
BTC_LAST = "30000.00"
ETH_LAST = "2000.00"
MAKER_FEE_BPS = "2"
TAKER_FEE_BPS = "5"
BUY, SELL = common_pb2.SIDE_BUY, common_pb2.SIDE_SELL
MARKET, LIMIT = common_pb2.ORDER_TYPE_MARKET, common_pb2.ORDER_TYPE_LIMIT


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


VIEWER = bearer(VIEWER_TOKEN)
TRADER = bearer(TRADER_TOKEN)
ADMIN = bearer(ADMIN_TOKEN)


def _instrument(symbol: str, base: str) -> dict[str, str]:
    return {
        "id": symbol,
        "base": base,
        "quote": "USDT",
        "price_tick": "0.01",
        "lot_size": "0.001",
        "min_quantity": "0.001",
        "min_notional": "5",
    }


def settings_dict(
    *, extra_tokens: Sequence[dict[str, Any]] = (), ml: dict[str, Any] | None = None, **grpc: Any
) -> dict[str, Any]:
    """The configuration: two instruments, a paper broker, one (stopped) strategy, loose risk;
    ``ml``: an ``[ml]`` section, e.g. ``{"models_dir": ...}``."""
    return {
        **({} if ml is None else {"ml": ml}),
        "engine": {"name": "grpc-it", "order_id_prefix": "IT"},
        "storage": {"kind": "memory"},
        "account": {"balances": {"USDT": "1000000"}},
        "instruments": [_instrument(BTC, "BTC"), _instrument(ETH, "ETH")],
        "broker": {
            "kind": "paper",
            "maker_fee_bps": MAKER_FEE_BPS,
            "taker_fee_bps": TAKER_FEE_BPS,
            "account": "margin",  # some tests sell BTC the account does not hold
        },
        "strategies": [
            {
                "id": STRATEGY,
                "kind": "sma_crossover",
                "instruments": [BTC],
                "params": {"fast": 2, "slow": 3},
                "sizing": {"kind": "fixed_quantity", "quantity": "0.001"},
                "enabled": False,  # the tests that want its signals start it
            }
        ],
        "risk": {
            "max_order_quantity": "5",
            "max_position_quantity": "50",
            "max_open_orders": 500,
            "max_orders_per_window": 10_000,
            "window_ns": 60_000_000_000,
            "price_band_fraction": "0.05",
        },
        "grpc": {
            "listen": "127.0.0.1:0",
            "tokens": [
                {"name": "viewer", "role": "viewer", "sha256": hash_token(VIEWER_TOKEN)},
                {"name": "trader", "role": "trader", "sha256": hash_token(TRADER_TOKEN)},
                {"name": "admin", "role": "admin", "sha256": hash_token(ADMIN_TOKEN)},
                *extra_tokens,
            ],
            **grpc,
        },
    }


def market_events(now_ns: int) -> list[MarketEvent]:
    btc, eth = InstrumentId(BTC), InstrumentId(ETH)
    return [
        BookSnapshot.create(
            instrument_id=btc, bids=BTC_BIDS, asks=BTC_ASKS, sequence=100, ts_event=now_ns, ts_init=now_ns
        ),
        QuoteTick.create(
            instrument_id=btc,
            bid_price=BTC_BIDS[0][0],
            bid_size=BTC_BIDS[0][1],
            ask_price=BTC_ASKS[0][0],
            ask_size=BTC_ASKS[0][1],
            ts_event=now_ns,
            ts_init=now_ns,
        ),
        TradeTick.create(
            instrument_id=btc,
            price=BTC_LAST,
            size="0.5",
            aggressor=AggressorSide.BUYER,
            trade_id="feed-1",
            ts_event=now_ns,
            ts_init=now_ns,
        ),
        TradeTick.create(
            instrument_id=eth,
            price=ETH_LAST,
            size="1",
            aggressor=AggressorSide.SELLER,
            trade_id="feed-2",
            ts_event=now_ns,
            ts_init=now_ns,
        ),
    ]


def trade(price: str, trade_id: str, *, instrument: str = BTC, size: str = "0.1") -> TradeTick:
    """A public trade happening now (seller-initiated: it never fills our resting bids below it)."""
    now = time.time_ns()
    return TradeTick.create(
        instrument_id=InstrumentId(instrument),
        price=price,
        size=size,
        aggressor=AggressorSide.SELLER,
        trade_id=trade_id,
        ts_event=now,
        ts_init=now,
    )


def quote(
    bid: str, ask: str, *, instrument: str = BTC, bid_size: str = "1", ask_size: str = "1"
) -> QuoteTick:
    now = time.time_ns()
    return QuoteTick.create(
        instrument_id=InstrumentId(instrument),
        bid_price=bid,
        bid_size=bid_size,
        ask_price=ask,
        ask_size=ask_size,
        ts_event=now,
        ts_init=now,
    )


@dataclass
class Stubs:
    """Every tradeplane.v1 client stub over one channel."""

    channel: grpc.aio.Channel
    orders: orders_pb2_grpc.OrderServiceAsyncStub = field(init=False)
    portfolio: portfolio_pb2_grpc.PortfolioServiceAsyncStub = field(init=False)
    market: market_data_pb2_grpc.MarketDataServiceAsyncStub = field(init=False)
    risk: risk_pb2_grpc.RiskServiceAsyncStub = field(init=False)
    strategies: strategies_pb2_grpc.StrategyServiceAsyncStub = field(init=False)
    engine: engine_pb2_grpc.EngineServiceAsyncStub = field(init=False)

    def __post_init__(self) -> None:
        channel = self.channel
        self.orders = orders_pb2_grpc.OrderServiceStub(channel)
        self.portfolio = portfolio_pb2_grpc.PortfolioServiceStub(channel)
        self.market = market_data_pb2_grpc.MarketDataServiceStub(channel)
        self.risk = risk_pb2_grpc.RiskServiceStub(channel)
        self.strategies = strategies_pb2_grpc.StrategyServiceStub(channel)
        self.engine = engine_pb2_grpc.EngineServiceStub(channel)


@dataclass
class Env:
    """A running engine and its server, and a client channel (``stub``) to it."""

    settings: Settings
    app: App
    feed: InMemoryFeed
    server: GrpcServer
    port: int
    stub: Stubs
    root_certificate: bytes | None = None
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self, *options: tuple[str, Any]) -> Stubs:
        """Another channel (its own connection) with every stub; closed at teardown."""
        channel = open_channel(self.target, self.root_certificate, options)
        self.channels.append(channel)
        return Stubs(channel)

    def publish(self, *events: object) -> None:
        """Market events straight onto the engine's bus, as a feed delivers them."""
        for event in events:
            self.app.bus.publish(event)

    def order_count(self) -> int:
        return len(list(self.app.trades.list_orders()))

    async def submit(
        self,
        client_order_id: str = "",
        *,
        side: int = BUY,
        order_type: int = MARKET,
        quantity: str = "0.01",
        price: str = "",
        instrument_id: str = BTC,
        metadata: tuple[tuple[str, str], ...] = TRADER,
        **fields: Any,
    ) -> orders_pb2.SubmitOrderResponse:
        """SubmitOrder as the trader; by default a market buy of 0.01 BTC."""
        request = orders_pb2.SubmitOrderRequest(
            client_order_id=client_order_id,
            instrument_id=instrument_id,
            side=side,  # type: ignore[arg-type]  # plain ints on purpose (out-of-range enums)
            type=order_type,  # type: ignore[arg-type]
            quantity=quantity,
            price=price,
            **fields,
        )
        response: orders_pb2.SubmitOrderResponse = await self.stub.orders.SubmitOrder(
            request, metadata=metadata, timeout=CALL_TIMEOUT_S
        )
        return response

    async def rest(self, client_order_id: str, price: str = "29990.00", **fields: Any) -> orders_pb2.Order:
        """A limit buy below the book: it rests (ACCEPTED) until canceled."""
        response = await self.submit(client_order_id, order_type=LIMIT, price=price, **fields)
        assert response.order.status == common_pb2.ORDER_STATUS_ACCEPTED, response
        return response.order

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        await self.server.stop(grace=0.5)
        await self.app.engine.stop(cancel_open_orders=False)


async def start_env(*, tls: tuple[Path, Path] | None = None, **options: Any) -> Env:
    """Start an engine and its server; ``options`` as in ``settings_dict``; ``tls``: (cert, key)."""
    if tls is not None:
        options.update(tls_cert=str(tls[0]), tls_key=str(tls[1]))
    settings = parse_settings(settings_dict(**options), source="<grpc-it>")
    feed = InMemoryFeed(market_events(time.time_ns()), name="memory")
    app = bootstrap(settings, feeds=[feed])
    await app.engine.start()
    await feed.wait_replayed()
    info = EngineInfo(name=settings.engine.name, version="0.0.0-test", mode="test", broker="paper")
    server = GrpcServer(app, settings.grpc, info, ml=settings.ml)
    port = await server.start()
    root = tls[0].read_bytes() if tls is not None else None
    channel = open_channel(f"127.0.0.1:{port}", root)
    return Env(settings, app, feed, server, port, Stubs(channel), root, [channel])


def open_channel(
    target: str, root_certificate: bytes | None, options: Sequence[tuple[str, Any]] = ()
) -> grpc.aio.Channel:
    """A plaintext channel, or a TLS one trusting ``root_certificate``."""
    if root_certificate is None:
        return grpc.aio.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificate)
    return grpc.aio.secure_channel(target, credentials, options=options)


# -- assertions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A failed call: its code, message and rich details (grpc-status-details-bin)."""

    code: grpc.StatusCode
    message: str
    fields: tuple[str, ...]  # google.rpc.BadRequest field violations
    reason: str  # google.rpc.ErrorInfo reason
    preconditions: tuple[tuple[str, str], ...]  # google.rpc.PreconditionFailure (type, description)


def refusal(error: grpc.aio.AioRpcError) -> Refusal:
    fields: list[str] = []
    reason = ""
    preconditions: list[tuple[str, str]] = []
    status = rpc_status.from_call(error)  # type: ignore[arg-type]  # an AioRpcError has the Call API used
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [violation.field for violation in bad.field_violations]
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            preconditions += [(violation.type, violation.description) for violation in failure.violations]
    return Refusal(error.code(), error.details() or "", tuple(fields), reason, tuple(preconditions))


async def refused(call: Any) -> Refusal:
    """Await a unary call that must fail; how it was refused."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return refusal(caught.value)


async def stream_refused(call: Any) -> Refusal:
    """Read a server stream that must fail before (or instead of) its first message."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call.read(), CALL_TIMEOUT_S)
    return refusal(caught.value)


def assert_invalid(
    refusal: Refusal, field: str, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT
) -> None:
    """Refused with ``code``, the message starting with the field, BadRequest naming it."""
    assert refusal.code == code, refusal
    assert refusal.message.startswith(f"{field}: "), refusal
    assert refusal.fields == (field,), refusal
    assert refusal.reason == "BAD_FIELD", refusal


async def next_message(stream: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
    """The stream's next message within ``timeout``; the end of the stream is a failure."""
    message = await asyncio.wait_for(stream.read(), timeout)
    assert message is not grpc.aio.EOF, "the stream ended"
    return message


async def wait_until(condition: Callable[[], bool], timeout: float = CALL_TIMEOUT_S) -> None:
    """Poll ``condition`` on the loop until it holds (server-side effects of a client action)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.002)


async def subscribed(env: Env, topic: str, count: int = 1) -> None:
    """Wait until ``count`` streams of ``topic`` are registered with the hub (they are live)."""
    await wait_until(lambda: env.server.hub.count(topic) == count)
