"""UserStream: subscribe with a signature, reconnect, rotate before the age limit, resync on -1021."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import pytest

from adapters.brokers.binance.config import BinanceBrokerConfig
from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.errors import BinanceBrokerError, TransportError, VenueError
from adapters.brokers.binance.signing import HmacSigner
from adapters.brokers.binance.user_stream import UserStream
from adapters.brokers.binance.venue_clock import VenueClock
from adapters.system_clock import LiveClock
from tests.unit.adapters.brokers.binance.fake_venue import FakeVenue
from tests.unit.adapters.brokers.binance.payloads import API_KEY, SECRET


class Recorder:
    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []
        self.subscribed: list[str] = []
        self.resyncs = 0

    async def resync(self) -> None:
        self.resyncs += 1


def _stream(venue: FakeVenue, recorder: Recorder, **settings: Any) -> UserStream:
    options: dict[str, Any] = {
        "ws_api_url": venue.ws_url,
        "request_timeout_s": 2.0,
        "reconnect_initial_delay": 0.05,
        "reconnect_max_delay": 0.2,
        "use_system_proxy": False,
    } | settings
    return UserStream(
        config=BinanceBrokerConfig(**options),
        credentials=ApiCredentials(API_KEY, HmacSigner(SECRET)),
        clock=VenueClock(LiveClock()),
        on_event=recorder.events.append,
        on_subscribed=recorder.subscribed.append,
        resync_clock=recorder.resync,
    )


async def _until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def _run(scenario: Callable[[FakeVenue], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        async with FakeVenue().running() as venue:
            await scenario(venue)

    asyncio.run(asyncio.wait_for(main(), 10))


def test_it_subscribes_with_a_signature_and_delivers_the_events() -> None:
    async def scenario(venue: FakeVenue) -> None:
        recorder = Recorder()
        stream = _stream(venue, recorder)

        await stream.start()
        venue.push({"e": "balanceUpdate", "a": "BTC", "d": "1", "T": 1})
        await _until(lambda: bool(recorder.events))

        params = venue.ws_requests[0]
        assert sorted(params) == ["apiKey", "recvWindow", "signature", "timestamp"]
        assert recorder.events == [{"e": "balanceUpdate", "a": "BTC", "d": "1", "T": 1}]
        assert recorder.subscribed == ["connected"]
        assert stream.connected
        await stream.stop()
        assert not stream.connected

    _run(scenario)


def test_a_lost_connection_is_reopened_and_subscribed_again() -> None:
    async def scenario(venue: FakeVenue) -> None:
        recorder = Recorder()
        stream = _stream(venue, recorder)
        await stream.start()

        await venue.drop_streams()
        await _until(lambda: recorder.subscribed == ["connected", "reconnected"])

        assert stream.reconnects == 1
        assert "user stream lost" in stream.last_error
        venue.push({"e": "balanceUpdate", "a": "BTC", "d": "1", "T": 2})
        await _until(lambda: bool(recorder.events))
        await stream.stop()

    _run(scenario)


def test_a_terminated_subscription_is_renewed() -> None:
    async def scenario(venue: FakeVenue) -> None:
        recorder = Recorder()
        stream = _stream(venue, recorder)
        await stream.start()

        venue.push({"e": "eventStreamTerminated", "E": 1})
        await _until(lambda: recorder.subscribed == ["connected", "reconnected"])

        assert recorder.events == []  # the notice is handled here, not passed on
        await stream.stop()

    _run(scenario)


def test_the_connection_is_replaced_before_its_age_limit_new_one_first() -> None:
    async def scenario(venue: FakeVenue) -> None:
        recorder = Recorder()
        stream = _stream(venue, recorder, max_connection_age_s=0.3)
        await stream.start()

        await _until(lambda: "rotated" in recorder.subscribed)
        await _until(lambda: len(venue.sockets) == 1)

        assert stream.rotations >= 1
        assert stream.reconnects == 0
        assert len(venue.ws_requests) >= 2
        venue.push({"e": "balanceUpdate", "a": "BTC", "d": "1", "T": 3})
        await _until(lambda: bool(recorder.events))
        await stream.stop()

    _run(scenario)


def test_a_clock_skew_on_subscribing_resyncs_and_tries_once_more() -> None:
    async def scenario(venue: FakeVenue) -> None:
        recorder = Recorder()
        venue.subscribe_answers.append({"status": 400, "error": {"code": -1021, "msg": "Timestamp outside"}})
        stream = _stream(venue, recorder)

        await stream.start()

        assert recorder.resyncs == 1
        assert len(venue.ws_requests) == 2
        await stream.stop()

    _run(scenario)


def test_a_refused_subscription_is_an_error() -> None:
    async def scenario(venue: FakeVenue) -> None:
        venue.subscribe_answers.append({"status": 401, "error": {"code": -2015, "msg": "Invalid API-key"}})

        with pytest.raises(VenueError, match="-2015"):
            await _stream(venue, Recorder()).start()

    _run(scenario)


def test_an_unreachable_venue_is_an_error() -> None:
    async def scenario(venue: FakeVenue) -> None:
        venue.ws_url = "ws://127.0.0.1:9/ws-api/v3"

        with pytest.raises(TransportError, match="WebSocket API connect") as raised:
            await _stream(venue, Recorder(), request_timeout_s=1.0).start()

        assert isinstance(raised.value, BinanceBrokerError)

    _run(scenario)
