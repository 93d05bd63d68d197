"""Why a connection failed, in words an operator reads on the status line: no network, refused,
TLS, timeout; named by host, never by the stream URL (which is long and says nothing)."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from adapters.exchanges.binance.client import BinanceStreamConnection
from adapters.exchanges.binance.errors import connection_failure

URL = "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "no network: cannot resolve stream.binance.com (name resolution failed)",
        ),
        (
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            "no network: cannot resolve stream.binance.com (name resolution failed)",
        ),
        (
            ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('1.2.3.4', 9443)"),
            "connection refused by stream.binance.com:9443",
        ),
        (
            OSError(
                "Multiple exceptions: [Errno 111] Connect call failed ('::1', 9443),"
                " [Errno 111] Connect call failed ('127.0.0.1', 9443)"
            ),
            "connection refused by stream.binance.com:9443",
        ),
        (
            ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            "TLS handshake failed with stream.binance.com: its certificate is not trusted",
        ),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "TLS handshake failed with"),
        (TimeoutError(), "no answer from stream.binance.com:9443 in time"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "no network: stream.binance.com:9443"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "no route to stream.binance.com:9443"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "connection reset by stream.binance.com:9443"),
        (
            InvalidStatus(Response(451, "Unavailable For Legal Reasons", Headers())),
            "stream.binance.com answered HTTP 451 instead of opening the stream",
        ),
        (ValueError("something odd"), "cannot connect to stream.binance.com:9443: ValueError: something odd"),
    ],
)
def test_common_failures_read_as_sentences(error: BaseException, expected: str) -> None:
    assert connection_failure(error, URL).startswith(expected)


def test_a_wrapped_failure_is_described_by_its_cause() -> None:
    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except OSError as cause:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from cause
    except httpx.ConnectError as wrapped:
        error = wrapped
    assert connection_failure(error, "https://api.binance.com") == (
        "no network: cannot resolve api.binance.com (name resolution failed)"
    )


def test_a_real_refusal_names_the_host_and_port() -> None:
    port = _closed_port()
    url = f"ws://127.0.0.1:{port}/stream?streams=btcusdt@trade"

    async def attempt() -> BaseException:
        try:
            await BinanceStreamConnection.open(
                url,
                open_timeout=2,
                ping_interval=None,
                ping_timeout=None,
                max_size=2**20,
                control_rate=5,
                use_system_proxy=False,
            )
        except Exception as exc:  # what the session sees
            return exc
        raise AssertionError("connected to a closed port")

    error = asyncio.run(asyncio.wait_for(attempt(), 5))
    assert connection_failure(error, url) == f"connection refused by 127.0.0.1:{port}"


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True)  # up to 35 characters
streams = st.lists(st.from_regex(r"[a-z]{3,12}@(trade|bookTicker|depth@100ms)", fullmatch=True), max_size=200)
failures = st.sampled_from(
    [
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        TimeoutError(),
        ssl.SSLError(1, "[SSL] bad"),
        OSError(errno.ENETUNREACH, "Network is unreachable"),
    ]
)


@given(host=hosts, streams=streams, failure=failures)
def test_the_sentence_names_the_host_and_fits_the_status_line(
    host: str, streams: list[str], failure: BaseException
) -> None:
    url = f"wss://{host}:9443/stream?streams={'/'.join(streams)}"
    text = connection_failure(failure, url)
    assert host in text
    assert "streams=" not in text
    assert len(text) <= 100
