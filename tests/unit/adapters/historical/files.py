"""Writing Binance-layout test files into a temporary folder, plain or compressed as Binance ships them."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

MS = 1_000_000
"""Nanoseconds in a millisecond."""
T0 = 1_704_067_200_000
"""2024-01-01T00:00:00Z in milliseconds."""
T0_US = T0 * 1000
"""The same instant in microseconds, as Binance spot writes from 2025 on."""
MINUTE = 60_000

TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker"
KLINES_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)


def spot_trade(trade_id: int, price: str, qty: str, time: int, maker: str = "True") -> str:
    """A 7-column spot trade row, as in BTCUSDT-trades-YYYY-MM.csv."""
    return f"{trade_id},{price},{qty},0.00000000,{time},{maker},True"


def kline(open_time: int, ohlc: str, volume: str = "1.5", *, length: int = MINUTE) -> str:
    """A 12-column kline row from ``"open,high,low,close"``; close_time is Binance's
    open_time + length - 1."""
    return f"{open_time},{ohlc},{volume},{open_time + length - 1},0,1,0,0,0"


def write(path: Path, rows: list[str], *, newline: str = "\n") -> Path:
    """``rows`` as a file: gzip for ``.gz``, a zip holding one CSV for ``.zip``, else plain."""
    text = "".join(row + newline for row in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    elif path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(path.name.removesuffix(".zip") + ".csv", text)
    else:
        path.write_text(text, newline="")
    return path
