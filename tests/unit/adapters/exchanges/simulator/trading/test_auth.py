"""SIGNED requests: the key, the signature over the raw bytes sent, the timestamp and recvWindow."""

from __future__ import annotations

import secrets
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from adapters.exchanges.simulator.trading import SymbolFilters, TradingVenue

from .support import (
    API_KEY,
    FakeClock,
    RestClient,
    ScriptedMarket,
    error_of,
    make_venue,
    run,
    scripted_market,
    serving,
)

# The venue's published example credentials and its signed requests (REST and WebSocket API).
VECTOR_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
VECTOR_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
VECTOR_TIME = 1499827319559
VECTOR_QUERY = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
VECTOR_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
VECTOR_SPLIT_SIGNATURE = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
ACCOUNT = "/api/v3/account"


def _vector_venue() -> TradingVenue:
    """LTCBTC priced far above 0.1, filters loose enough for the vector's order, the vector's key."""
    market = ScriptedMarket({"LTCBTC": ([("99.90", "1.000")], [("100.10", "1.000")])})
    return TradingVenue(
        market,
        api_key=VECTOR_KEY,
        api_secret=VECTOR_SECRET,
        balances={"BTC": Decimal("1")},
        filters={"LTCBTC": SymbolFilters(min_notional=Decimal("0.01"))},
        clock=FakeClock(VECTOR_TIME + 1200),
        ping_interval=None,
    )


def test_the_published_example_request_is_accepted_byte_for_byte() -> None:
    async def scenario() -> None:
        async with serving(_vector_venue()) as venue, RestClient(venue) as client:
            url = f"/api/v3/order?{VECTOR_QUERY}&timestamp={VECTOR_TIME}&signature={VECTOR_SIGNATURE}"
            answer = await client.http.post(url, headers={"X-MBX-APIKEY": VECTOR_KEY})
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "NEW"
            assert venue.balances()["BTC"] == (Decimal("0.9"), Decimal("0.1"))

    run(scenario)


def test_a_signature_over_query_and_body_concatenated_is_accepted() -> None:
    async def scenario() -> None:
        async with serving(_vector_venue()) as venue, RestClient(venue) as client:
            query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
            body = f"quantity=1&price=0.1&recvWindow=5000&timestamp={VECTOR_TIME}"
            body += f"&signature={VECTOR_SPLIT_SIGNATURE}"
            headers = {"X-MBX-APIKEY": VECTOR_KEY, "Content-Type": "application/x-www-form-urlencoded"}
            answer = await client.http.post(f"/api/v3/order?{query}", content=body, headers=headers)
            assert answer.status_code == 200, answer.text

    run(scenario)


def test_the_signature_covers_the_bytes_as_sent_not_a_re_encoding() -> None:
    async def scenario() -> None:
        async with serving(_vector_venue()) as venue, RestClient(venue) as client:
            # The same parameters, percent-encoded differently: the vector's signature no longer fits.
            query = VECTOR_QUERY.replace("price=0.1", "price=0%2E1")
            url = f"/api/v3/order?{query}&timestamp={VECTOR_TIME}&signature={VECTOR_SIGNATURE}"
            answer = await client.http.post(url, headers={"X-MBX-APIKEY": VECTOR_KEY})
            assert error_of(answer) == (400, -1022)

    run(scenario)


@pytest.mark.parametrize("in_body", [False, True])
def test_a_request_signed_with_a_random_secret_is_accepted(in_body: bool) -> None:
    secret = secrets.token_hex(32)

    async def scenario() -> None:
        venue = make_venue(api_secret=secret)
        async with serving(venue), RestClient(venue, secret=secret) as client:
            answer = await client.signed("GET", ACCOUNT, {}, in_body=False)
            assert answer.status_code == 200, answer.text
            placed = await client.signed(
                "POST",
                "/api/v3/order",
                {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                 "quantity": "0.010", "price": "29000.00"},
                in_body=in_body,
            )  # fmt: skip
            assert placed.status_code == 200, placed.text

    run(scenario)


def test_an_ed25519_account_verifies_base64_signatures() -> None:
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()

    async def scenario() -> None:
        venue = make_venue(api_secret=public_pem)
        async with serving(venue), RestClient(venue, secret=private_pem) as client:
            assert (await client.signed("GET", ACCOUNT, {})).status_code == 200
        async with serving(venue), RestClient(venue, secret="an-hmac-secret") as wrong:
            assert error_of(await wrong.signed("GET", ACCOUNT, {})) == (400, -1022)

    run(scenario)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (401, -2015)),
        ({"X-MBX-APIKEY": "someoneElsesKey"}, (401, -2015)),
        ({"X-MBX-APIKEY": "not a key!"}, (401, -2014)),
        ({"X-MBX-APIKEY": "k" * 200}, (401, -2014)),
    ],
)
def test_a_missing_unknown_or_malformed_key_is_refused(
    headers: dict[str, str], expected: tuple[int, int]
) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            query = f"timestamp={venue.now_ms()}"
            signature = client.signer.sign(query)
            answer = await client.http.get(f"{ACCOUNT}?{query}&signature={signature}", headers=headers)
            assert error_of(answer) == expected
            assert "secret" not in answer.text.lower()

    run(scenario)


def test_a_wrong_signature_is_refused_and_counted() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue, secret="not-the-account-secret") as client:
            answer = await client.signed("GET", ACCOUNT, {})
            assert error_of(answer) == (400, -1022)
            assert answer.json()["msg"] == "Signature for this request is not valid."
            assert venue.stats.rejected_signatures == 1

    run(scenario)


def test_a_tampered_parameter_breaks_the_signature() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            query = f"symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&timestamp={venue.now_ms()}"
            signature = client.signer.sign(query)
            tampered = query.replace("0.001", "0.002")
            answer = await client.http.post(
                f"/api/v3/order?{tampered}&signature={signature}", headers={"X-MBX-APIKEY": API_KEY}
            )
            assert error_of(answer) == (400, -1022)
            assert venue.orders() == []

    run(scenario)


@pytest.mark.parametrize(
    ("offset_ms", "recv_window", "accepted"),
    [
        (0, None, True),
        (-4_999, None, True),
        (-5_001, None, False),
        (999, None, True),
        (1_000, None, False),
        (-59_000, "60000", True),
        (-2_000, "1500", False),
        (-1_400, "1500", True),
    ],
)
def test_the_timestamp_must_fall_within_the_recv_window(
    offset_ms: int, recv_window: str | None, accepted: bool
) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            params = {} if recv_window is None else {"recvWindow": recv_window}
            answer = await client.signed("GET", ACCOUNT, params, timestamp=venue.now_ms() + offset_ms)
            if accepted:
                assert answer.status_code == 200, answer.text
            else:
                assert error_of(answer) == (400, -1021)

    run(scenario)


def test_a_microsecond_timestamp_is_understood() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            answer = await client.signed("GET", ACCOUNT, {}, timestamp=venue.now_ms() * 1000 + 123)
            assert answer.status_code == 200, answer.text

    run(scenario)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("recvWindow=60001", -1131),
        ("recvWindow=abc", -1100),
        ("", -1102),  # no timestamp
        ("timestamp=soon", -1100),
    ],
)
def test_bad_timestamp_or_recv_window_parameters_are_refused(query: str, code: int) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            if "timestamp" not in query and code != -1102:
                query_sent = f"{query}&timestamp={venue.now_ms()}"
            else:
                query_sent = query
            signature = client.signer.sign(query_sent)
            separator = "&" if query_sent else ""
            answer = await client.http.get(
                f"{ACCOUNT}?{query_sent}{separator}signature={signature}", headers={"X-MBX-APIKEY": API_KEY}
            )
            assert error_of(answer) == (400, code)

    run(scenario)


def test_a_missing_signature_is_a_missing_mandatory_parameter() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            answer = await client.http.get(
                f"{ACCOUNT}?timestamp={venue.now_ms()}", headers={"X-MBX-APIKEY": API_KEY}
            )
            assert error_of(answer) == (400, -1102)
            assert "'signature'" in answer.json()["msg"]

    run(scenario)


def test_public_endpoints_need_no_key() -> None:
    async def scenario() -> None:
        venue = make_venue(market=scripted_market())
        async with serving(venue), RestClient(venue) as client:
            assert (await client.public("GET", "/api/v3/time")).json() == {"serverTime": venue.now_ms()}
            assert (await client.public("GET", "/api/v3/ping")).json() == {}

    run(scenario)
