"""What the server children and the clients agree on: the instrument, timeouts, the sizes of a run."""

from __future__ import annotations

from dataclasses import dataclass

from tradeplane.v1 import common_pb2

INSTRUMENT = "BTCUSDT.BINANCE"
QUANTITY = "0.001"  # the instrument's minimum
ECHO_METHOD = "/bench.Echo/Echo"
TOKEN_ENV = "BENCH_GRPC_TOKEN"  # the child reads its token here, never from argv
CALL_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
FANOUT_DRIVERS = 8
OK_STATUSES = frozenset({common_pb2.ORDER_STATUS_ACCEPTED, common_pb2.ORDER_STATUS_FILLED})
TERMINAL = frozenset(
    {
        common_pb2.ORDER_STATUS_FILLED,
        common_pb2.ORDER_STATUS_CANCELED,
        common_pb2.ORDER_STATUS_REJECTED,
        common_pb2.ORDER_STATUS_EXPIRED,
    }
)


@dataclass(frozen=True, slots=True)
class Sizes:
    warm_up: int = 300
    samples: int = 2_000
    load_seconds: float = 5.0
    load_tasks: int = 16  # in all, split over the client processes
    subscribers: int = 50
    orders: int = 1_000  # driven during the fan-out; 4 events each, well inside the 10,000 stream buffer


FULL = Sizes()
QUICK = Sizes(warm_up=100, samples=300, load_seconds=1.5, orders=200)
