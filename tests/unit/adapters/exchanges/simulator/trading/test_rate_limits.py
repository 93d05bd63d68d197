"""Rate limits: request weight per minute, orders per 10 s and per day; 429, then 418 for a client
that ignores it."""

from __future__ import annotations

from adapters.exchanges.simulator.trading import VenueLimits

from .support import FakeClock, RestClient, WsApiClient, error_of, make_venue, run, serving

INFO = "/api/v3/exchangeInfo"  # weight 20


def test_past_the_weight_limit_the_answer_is_429_with_retry_after_until_the_minute_has_passed() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        venue = make_venue(clock=clock, limits=VenueLimits(request_weight_per_minute=50))
        async with serving(venue), RestClient(venue) as client:
            first = await client.public("GET", INFO)
            assert first.headers["X-MBX-USED-WEIGHT-1M"] == "20"
            clock.advance(10_000)
            assert (await client.public("GET", INFO)).headers["X-MBX-USED-WEIGHT-1M"] == "40"
            refused = await client.public("GET", INFO)
            assert error_of(refused) == (429, -1003)
            assert "request weight" in refused.json()["msg"]
            assert refused.headers["Retry-After"] == "50"  # the first 20 leave the window then
            assert refused.headers["X-MBX-USED-WEIGHT-1M"] == "40"
            assert (await client.public("GET", "/api/v3/time")).status_code == 429  # still backing off
            clock.advance(50_000)
            answer = await client.public("GET", INFO)
            assert answer.status_code == 200
            assert answer.headers["X-MBX-USED-WEIGHT-1M"] == "40"
            assert venue.stats.rate_limited == 2
            assert venue.stats.banned == 0

    run(scenario)


def test_a_client_that_keeps_sending_during_retry_after_is_banned_with_418() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        limits = VenueLimits(request_weight_per_minute=20, ignored_before_ban=3, ban_seconds=120)
        venue = make_venue(clock=clock, limits=limits)
        async with serving(venue), RestClient(venue) as client:
            assert (await client.public("GET", INFO)).status_code == 200
            assert error_of(await client.public("GET", INFO)) == (429, -1003)
            assert error_of(await client.public("GET", "/api/v3/time")) == (429, -1003)
            assert error_of(await client.public("GET", "/api/v3/time")) == (429, -1003)
            banned = await client.public("GET", "/api/v3/time")
            assert error_of(banned) == (418, -1003)
            assert banned.headers["Retry-After"] == "120"
            assert "banned until" in banned.json()["msg"]
            clock.advance(119_000)
            still = await client.public("GET", "/api/v3/time")
            assert (still.status_code, still.headers["Retry-After"]) == (418, "1")
            clock.advance(1_000)
            assert (await client.public("GET", "/api/v3/time")).status_code == 200
            # A second ban lasts longer.
            for _ in range(3):
                await client.public("GET", INFO)
            clock.advance(1_000)
            for _ in range(3):
                await client.public("GET", INFO)
            again = await client.public("GET", INFO)
            assert (again.status_code, again.headers["Retry-After"]) == (418, "240")
            assert venue.stats.banned >= 3

    run(scenario)


def test_a_client_that_waits_out_retry_after_is_never_banned() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        limits = VenueLimits(request_weight_per_minute=20, ignored_before_ban=2)
        venue = make_venue(clock=clock, limits=limits)
        async with serving(venue), RestClient(venue) as client:
            for _ in range(5):
                assert (await client.public("GET", INFO)).status_code == 200
                refused = await client.public("GET", INFO)
                assert refused.status_code == 429
                clock.advance(int(refused.headers["Retry-After"]) * 1000)
            assert venue.stats.banned == 0

    run(scenario)


def test_past_the_order_limit_new_orders_are_refused_with_1015_and_counted_in_headers() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        venue = make_venue(clock=clock, limits=VenueLimits(orders_per_10s=3, orders_per_day=5))
        async with serving(venue), RestClient(venue) as client:
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
            for count in (1, 2, 3):
                answer = await client.order(**order)
                assert answer.headers["X-MBX-ORDER-COUNT-10S"] == str(count)
                assert answer.headers["X-MBX-ORDER-COUNT-1D"] == str(count)
            refused = await client.order(**order)
            assert error_of(refused) == (429, -1015)
            assert refused.json()["msg"] == "Too many new orders; current limit is 3 orders per 10 SECOND."
            assert refused.headers["Retry-After"] == "10"
            clock.advance(10_000)
            assert (await client.order(**order)).status_code == 200
            assert (await client.order(**order)).status_code == 200
            clock.advance(10_000)
            daily = await client.order(**order)
            assert error_of(daily) == (429, -1015)
            assert "per 1 DAY" in daily.json()["msg"]
            assert len(venue.orders()) == 5

    run(scenario)


def test_the_websocket_api_shares_the_limits_and_says_when_to_retry() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        venue = make_venue(clock=clock, limits=VenueLimits(request_weight_per_minute=25))
        async with serving(venue), WsApiClient.open(venue) as ws:  # connecting weighs 2
            assert (await ws.request("exchangeInfo"))["status"] == 200
            answer = await ws.request("exchangeInfo")
            assert (answer["status"], answer["error"]["code"]) == (429, -1003)
            assert answer["error"]["data"]["retryAfter"] == venue.now_ms() + 60_000
            assert answer["rateLimits"][0]["count"] == 22

    run(scenario)
