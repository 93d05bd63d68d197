"""The status line and the summary: one P&L definition, counters labelled as since this start."""

from __future__ import annotations

from decimal import Decimal

from application.engine import EngineStatus, InstrumentData, PositionStatus
from application.ports import BrokerHealth
from domain.risk import TradingState
from entrypoints.foreground import status_line, summary


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
