"""One seeded tick series, written twice: as a Binance trades CSV and as a simulator recording.

The backtest reads the CSV (``adapters.historical``); the exchange simulator replays the
recording (``RecordedMarket``) as ``<symbol>@trade`` frames. Both are written from the same
list, field for field and in the same text, so any difference downstream is the engine's.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from adapters.exchanges.simulator import FrameRecorder

T0_MS = 1_704_067_200_000
"""2024-01-01T00:00:00Z in milliseconds (the dumps' unit before 2025)."""


class RecordedTrade(NamedTuple):
    """One trade as Binance prints it: prices and sizes as 8-decimal text, time in ms."""

    trade_id: int
    price: str
    quantity: str
    time_ms: int
    buyer_is_maker: bool


def swinging_trades(
    count: int,
    *,
    seed: int,
    start_price: float = 30_000.0,
    amplitude: float = 150.0,
    period: int = 500,
    first_id: int = 3_000_001,
    start_ms: int = T0_MS,
    lag: int = 0,
) -> list[RecordedTrade]:
    """``count`` trades whose price swings (a sine of ``period`` trades plus seeded noise).

    An SMA crossover with periods well under ``period`` crosses a few times each swing.
    Times move by 0 to 250 ms (equal times included, as on the venue); ids rise by one.
    ``lag`` trades late, the sine is where it was ``lag`` trades earlier (a venue that follows).
    """
    rng = random.Random(seed)
    trades: list[RecordedTrade] = []
    time_ms = start_ms
    for i in range(count):
        mid = start_price + amplitude * math.sin(2 * math.pi * (i - lag) / period) + rng.gauss(0.0, 4.0)
        cents = round(mid * 100)
        lots = rng.randint(1, 2_000)  # thousandths of the base asset
        trades.append(
            RecordedTrade(
                trade_id=first_id + i,
                price=f"{cents // 100}.{cents % 100:02d}000000",
                quantity=f"{lots // 1000}.{lots % 1000:03d}00000",
                time_ms=time_ms,
                buyer_is_maker=rng.random() < 0.5,
            )
        )
        time_ms += rng.choice((0, 1, 7, 40, 120, 250))
    return trades


def interleaved(trades: list[RecordedTrade], *, odd: bool) -> list[RecordedTrade]:
    """``trades`` on a doubled time axis (``T0_MS + 2 * (t - T0_MS)``, plus 1 if ``odd``).

    Two series made even and odd never share an instant, so merging them in time has one
    answer; each keeps its own order and ties.
    """
    return [trade._replace(time_ms=T0_MS + 2 * (trade.time_ms - T0_MS) + odd) for trade in trades]


def at_precision(trades: list[RecordedTrade], *, price_places: int, size_places: int) -> list[RecordedTrade]:
    """``trades`` with prices and sizes written to ``price_places`` and ``size_places`` decimals
    (as a venue printing its tick and lot writes them); their values must already fit."""

    def text(value: str, places: int) -> str:
        exact = Decimal(value)
        written = exact.quantize(Decimal(1).scaleb(-places))
        if written != exact:
            raise ValueError(f"{value} does not fit {places} decimal places")
        return str(written)

    return [
        trade._replace(price=text(trade.price, price_places), quantity=text(trade.quantity, size_places))
        for trade in trades
    ]


def write_trades_csv(path: Path, trades: list[RecordedTrade]) -> Path:
    """The 7-column spot layout of ``<SYMBOL>-trades-YYYY-MM.csv``, no header, as Binance ships it:
    ``id,price,qty,quote_qty,time,is_buyer_maker,is_best_match``."""
    lines = []
    for trade in trades:
        quote = Decimal(trade.price) * Decimal(trade.quantity)
        lines.append(
            f"{trade.trade_id},{trade.price},{trade.quantity},{quote:.8f},{trade.time_ms},"
            f"{trade.buyer_is_maker},True\n"
        )
    path.write_text("".join(lines), newline="")
    return path


def write_trade_recording(path: Path, symbol: str, trades: list[RecordedTrade]) -> Path:
    """The same trades as a recording of ``<symbol>@trade`` frames (``FrameRecorder``'s JSON lines)."""
    with FrameRecorder(path) as recorder:
        for trade in trades:
            recorder.write(
                f"{symbol.lower()}@trade",
                {
                    "e": "trade",
                    "E": trade.time_ms,
                    "s": symbol,
                    "t": trade.trade_id,
                    "p": trade.price,
                    "q": trade.quantity,
                    "T": trade.time_ms,
                    "m": trade.buyer_is_maker,
                    "M": True,
                },
            )
    return path
