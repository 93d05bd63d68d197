"""What the server child and the clients agree on: the instrument, its market, timeouts, sizes."""

from __future__ import annotations

from dataclasses import dataclass

INSTRUMENT = "BTCUSDT.BINANCE"
BID, OFFER, LAST = "29999.99", "30000.01", "30000.00"
RESTING_PRICE = "29700.00"  # 1 % below the market: inside the price band, never filled here
QUANTITY = "0.001"  # the instrument's minimum
TOKEN_ENV = "BENCH_WEB_TOKEN"  # the child reads its token here, never from argv
CALL_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
STREAM_BUFFER = 2_000
"""[grpc] stream_buffer of the benchmark engine: messages a stream may lag before it is dropped."""


@dataclass(frozen=True, slots=True)
class Sizes:
    warm_up: int = 200
    samples: int = 1_500  # sequential requests, one client (bounded by max_seconds too)
    max_seconds: float = 4.0  # of one sequential run
    load_seconds: float = 3.0  # of one concurrent run
    clients: int = 16
    pump_seconds: float = 3.0
    subscribers: int = 8  # on /api/v1/stream/trades, one of which never reads


FULL = Sizes()
QUICK = Sizes(warm_up=50, samples=200, max_seconds=1.0, load_seconds=1.0, pump_seconds=1.0)
