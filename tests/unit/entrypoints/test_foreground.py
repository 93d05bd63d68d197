"""The status line and the summary: one P&L definition, counters labelled as since this start."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.engine import EngineStatus, InstrumentData, PositionStatus
from application.ports import BrokerHealth, FeedHealth, InstrumentFeedHealth
from domain.consolidated_quote import consolidate
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.market_data import QuoteTick
from domain.risk import TradingState
from entrypoints.foreground import run_engine, status_fields, status_line, summary
from entrypoints.logs import Console, DayMarker, configure_logging


def _status(**changes: object) -> EngineStatus:
    fields: dict[str, object] = {
        "running": True,
        "uptime_ns": 5_000_000_000,
        "trading_state": TradingState.ACTIVE,
        "trading_reason": "",
        "equity": Decimal("10987.5"),
        "drawdown": Decimal(0),
        "positions": (
            PositionStatus(
                instrument_id="BTCUSDT.BINANCE",
                quantity=Decimal("0.5"),
                avg_entry_price=Decimal("100"),
                realized_pnl=Decimal("12.5"),
                unrealized_pnl=Decimal("-2"),
                fees=Decimal("2.5"),
            ),
        ),
        "open_orders": 1,
        "orders_submitted": 7,
        "fills": 9,
        "risk_rejections": 2,
        "signals": 7,
        "trades_seen": 300,
        "feeds": (),
        "handler_errors": 0,
        "last_prices": {"BTCUSDT.BINANCE": Decimal("96")},
    }
    fields.update(changes)
    return EngineStatus(**fields)  # type: ignore[arg-type]


def test_the_status_line_shows_realized_before_fees_the_fees_and_the_net() -> None:
    line = status_line(_status())
    assert "P&L realized +12.50 fees 2.50 net +10.00 unrealized -2.00" in line
    assert "since start: orders 7 fills 9 rejected 2 | open 1" in line


def test_the_summary_uses_the_same_definition_and_says_what_restarts_reset() -> None:
    text = summary(_status())
    assert "since this start:" in text
    assert "the account (carried across restarts):" in text
    assert "realized P&L     +12.50 before fees" in text
    assert "fees             2.50" in text
    assert "net realized     +10.00" in text
    assert "BTCUSDT.BINANCE: qty 0.5 realized +12.50 fees 2.50 net +10.00 unrealized -2.00" in text


def test_the_broker_is_named_apart_from_the_feeds() -> None:
    health = BrokerHealth(
        name="binance",
        environment="testnet",
        account="a",
        connected=False,
        unknown_outcomes=1,
        rate_limited=2,
    )
    line = status_line(_status(broker=health))
    assert "broker binance DOWN unknown 1 rate-limited 2" in line


def test_an_instrument_whose_data_is_unusable_is_named_with_why() -> None:
    down = InstrumentData(
        instrument_id="BTCUSDT.BINANCE",
        connected=False,
        data_age_ns=2_000_000_000,
        book_synced=False,
        usable=False,
        problem="the market-data feed of BTCUSDT.BINANCE is disconnected: connection lost",
    )
    fine = InstrumentData(
        instrument_id="ETHUSDT.BINANCE", connected=True, data_age_ns=1, book_synced=True, usable=True
    )

    line = status_line(_status(instruments=(down, fine)))

    assert "BTCUSDT data UNUSABLE (the market-data feed of BTCUSDT.BINANCE is disconnected" in line
    assert "ETHUSDT data" not in line


def test_the_status_line_starts_with_the_time_of_day_in_utc() -> None:
    moment = datetime(2026, 12, 6, 11, 23, 25, tzinfo=UTC).timestamp()
    assert status_line(_status(), now=moment).startswith("11:23:25 | BTCUSDT 96 | pos 0.5 @ 100.00 |")


def test_the_status_as_fields_carries_what_the_line_shows_with_exact_amounts() -> None:
    feed = FeedHealth(
        name="binance-md",
        connected=False,
        last_message_ns=None,
        messages=10,
        reconnects=1,
        gaps=0,
        malformed=0,
        last_error="connection lost",
    )
    broker = BrokerHealth(
        name="binance", environment="testnet", account="a", connected=True, unknown_outcomes=1
    )
    fields = status_fields(_status(feeds=(feed,), broker=broker))
    assert fields == {
        "prices": {"BTCUSDT.BINANCE": "96"},
        "positions": [{"instrument": "BTCUSDT.BINANCE", "quantity": "0.5", "avg_entry_price": "100"}],
        "pnl": {"realized": "12.5", "fees": "2.5", "net": "10", "unrealized": "-2"},
        "equity": "10987.5",
        "counters": {"orders_submitted": 7, "fills": 9, "risk_rejections": 2, "open_orders": 1},
        "feeds": [
            {
                "name": "binance-md",
                "connected": False,
                "messages": 10,
                "reconnects": 1,
                "gaps": 0,
                "malformed": 0,
                "unknown": 0,
                "checksum_failures": 0,
                "last_error": "connection lost",
                "instruments": [],
            }
        ],
        "broker": {
            "name": "binance",
            "connected": True,
            "requests_in_flight": 0,
            "unknown_outcomes": 1,
            "rate_limited": 0,
            "last_error": "",
        },
        "unusable": {},
        "trading_state": "ACTIVE",
        "trading_reason": "",
        "consolidated": [],
    }


class _FakeEngine:
    """Enough of an engine for run_engine: a fixed status, start and stop."""

    def __init__(self) -> None:
        self.stopped = False

    async def start(self) -> None:
        return None

    def status(self) -> EngineStatus:
        return _status()

    def snapshot_account(self) -> None:
        return None

    async def stop(self, *, cancel_open_orders: bool) -> None:
        self.stopped = True


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("_restore_logging")
def test_in_json_mode_status_lines_and_the_summary_are_json_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("WARNING", "json")  # a status line is shown whatever the log level
    engine = _FakeEngine()
    asyncio.run(
        run_engine(
            engine,  # type: ignore[arg-type]
            duration=0.05,
            status_interval=0.01,
            cancel_open_orders=False,
            console=Console("json"),
        )
    )
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert err == ""
    assert engine.stopped
    assert {r["logger"] for r in records} == {"tradeplane.status"}
    *statuses, final = records
    assert statuses
    assert all(r["msg"] == "status" and r["equity"] == "10987.5" for r in statuses)
    assert statuses[0]["pnl"] == {"realized": "12.5", "fees": "2.5", "net": "10", "unrealized": "-2"}
    assert final["msg"] == "summary"
    assert final["counters"] == {
        "trades_seen": 300,
        "signals": 7,
        "orders_submitted": 7,
        "fills": 9,
        "risk_rejections": 2,
    }
    assert final["positions"] == [
        {
            "instrument": "BTCUSDT.BINANCE",
            "quantity": "0.5",
            "realized": "12.5",
            "fees": "2.5",
            "net": "10",
            "unrealized": "-2",
        }
    ]


@pytest.mark.usefixtures("_restore_logging")
def test_in_text_mode_status_lines_are_printed_after_the_date(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", "text")
    asyncio.run(
        run_engine(
            _FakeEngine(),  # type: ignore[arg-type]
            duration=0.03,
            status_interval=0.01,
            cancel_open_orders=False,
            console=Console("text", days=DayMarker()),
        )
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(" (UTC)")
    assert lines[1].split(" | ")[1] == "BTCUSDT 96"
    assert "summary:" in lines


def test_with_several_venues_instruments_are_named_with_their_venue_and_books_are_counted() -> None:
    feed = FeedHealth(
        name="kraken",
        connected=True,
        last_message_ns=1,
        messages=5,
        reconnects=0,
        gaps=0,
        malformed=0,
        checksum_failures=2,
        instruments=(
            InstrumentFeedHealth(
                instrument_id=InstrumentId("BTC-USD.KRAKEN"), book_verified=True, last_message_ns=1
            ),
            InstrumentFeedHealth(
                instrument_id=InstrumentId("ETH-USD.KRAKEN"), book_verified=False, last_message_ns=None
            ),
        ),
    )
    status = replace(
        _status(),
        feeds=(feed,),
        last_prices={"BTC-USD.KRAKEN": Decimal("100"), "BTC-USD.COINBASE": Decimal("101")},
    )
    line = status_line(status)
    assert "BTC-USD.KRAKEN 100 | BTC-USD.COINBASE 101" in line
    assert "kraken up msgs 5 reconnects 0 gaps 0 books 1/2 verified checksum failures 2" in line


def test_the_consolidated_quote_names_where_to_sell_and_where_to_buy() -> None:
    kraken = Instrument(
        id=InstrumentId("BTC-USD.KRAKEN"),
        base="BTC",
        quote="USD",
        price_tick=Decimal("0.1"),
        lot_size=Decimal("0.0001"),
    )
    coinbase = Instrument(
        id=InstrumentId("BTC-USD.COINBASE"),
        base="BTC",
        quote="USD",
        price_tick=Decimal("0.01"),
        lot_size=Decimal("0.0001"),
    )
    quotes = {
        kraken.id: QuoteTick(kraken.id, Decimal("100.5"), Decimal(1), Decimal(102), Decimal(1), 1, 1),
        coinbase.id: QuoteTick(coinbase.id, Decimal(100), Decimal(1), Decimal("101.25"), Decimal(1), 1, 1),
    }
    view = consolidate("BTC", "USD", [kraken, coinbase], quotes, {})
    line = status_line(replace(_status(), consolidated=(view,)))
    assert "BTC/USD best bid 100.5 KRAKEN ask 101.25 COINBASE | equity" in line
    moved = quotes[kraken.id]._replace(bid_price=Decimal(103), ask_price=Decimal(104))
    crossed = consolidate("BTC", "USD", [kraken, coinbase], {**quotes, kraken.id: moved}, {})
    crossed_line = status_line(replace(_status(), consolidated=(crossed,)))
    assert "BTC/USD best bid 103 KRAKEN ask 101.25 COINBASE CROSSED" in crossed_line
    fields = status_fields(replace(_status(), consolidated=(view,)))
    assert fields["consolidated"] == [
        {
            "pair": "BTC/USD",
            "best_bid": {"price": "100.5", "venue": "KRAKEN"},
            "best_ask": {"price": "101.25", "venue": "COINBASE"},
            "crossed": False,
        }
    ]
