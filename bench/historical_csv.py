"""Reading Binance dump CSVs: rows/s for trades and one-minute klines, plain, gzip and zip.

The backtester must replay a million one-minute bars in under 10 s and trades at 300k/s end
to end, so the reader has to be well above both. Files are seeded random walks in Binance's
own layout (spot trades with ``True``/``False`` flags, 12-column klines), written to a
temporary directory. Run alone with ``python -m bench.historical_csv [--rows N]``; it prints
the figures as JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import tempfile
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from adapters.historical import read_klines, read_merged, read_trades
from bench.harness import Result

SUITE = "historical_csv"
ROWS = 200_000
_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_MINUTE_MS = 60_000


def trade_lines(rows: int, *, seed: int = 7, start_ms: int = _START_MS, first_id: int = 1) -> Iterable[str]:
    """Spot trades as Binance writes them: a random walk on a 0.01 tick, 8-decimal quantities."""
    rng = random.Random(seed)
    cents = 4_200_000
    time_ms = start_ms
    for trade_id in range(first_id, first_id + rows):
        cents = max(1, cents + rng.choice((-1, 0, 0, 0, 1)))
        time_ms += rng.choice((0, 0, 1, 3, 12))
        qty = rng.choice((1000, 2000, 10000, 50000)) if rng.random() < 0.5 else rng.randint(1, 10**7)
        price = f"{cents // 100}.{cents % 100:02d}000000"
        quote = f"{cents * qty // 10**8 // 100}.{cents * qty // 10**8 % 100:02d}"
        maker = "True" if rng.random() < 0.5 else "False"
        yield f"{trade_id},{price},{qty // 10**8}.{qty % 10**8:08d},{quote},{time_ms},{maker},True\n"


def kline_lines(
    rows: int, *, seed: int = 11, start: int = _START_MS, minute: int = _MINUTE_MS
) -> Iterable[str]:
    """One-minute klines, consistent OHLC on a 0.01 tick; ``minute`` sets the time unit."""
    rng = random.Random(seed)
    cents = 4_200_000
    for index in range(rows):
        open_cents = cents
        path = [open_cents + rng.randint(-300, 300) for _ in range(3)]
        cents = max(100, path[-1])
        high, low = max(open_cents, *path), max(1, min(open_cents, *path))
        volume = rng.randint(0, 10**11)
        opened = start + index * minute

        def price(c: int) -> str:
            return f"{c // 100}.{c % 100:02d}000000"

        yield (
            f"{opened},{price(open_cents)},{price(high)},{price(low)},{price(cents)},"
            f"{volume // 10**8}.{volume % 10**8:08d},{opened + minute - 1},0.00000000,{rng.randint(0, 9999)},"
            f"0.00000000,0.00000000,0\n"
        )


def write(path: Path, lines: Iterable[str]) -> Path:
    """``lines`` written as ``.csv``, ``.csv.gz`` or ``.zip`` (one CSV inside), by suffix."""
    text = "".join(lines)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", compresslevel=6) as out:
            out.write(text)
    elif path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(path.with_suffix(".csv").name, text)
    else:
        path.write_text(text)
    return path


def _rows_per_s(read: Callable[[], Iterable[object]], rows: int) -> float:
    started = time.perf_counter()
    consumed = deque(read(), maxlen=1)  # drain at C speed: the reader is what is measured
    elapsed = time.perf_counter() - started
    assert consumed, "the reader yielded nothing"
    return rows / elapsed


def measure(rows: int = ROWS, folder: Path | None = None) -> dict[str, float]:
    """rows/s per case, as a JSON-able dict; files go to ``folder`` or a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="tp-bench-hist-") as tmp:
        base = folder or Path(tmp)
        trades = write(base / "BTCUSDT-trades-2024-01.csv", trade_lines(rows))
        trades_zip = write(base / "BTCUSDT-trades-2024-01.zip", trade_lines(rows))
        trades_next = write(base / "BTCUSDT-trades-2024-02.csv", trade_lines(rows, seed=8, first_id=rows + 1))
        klines = write(base / "BTCUSDT-1m-2024-01.csv", kline_lines(rows))
        klines_us = write(
            base / "BTCUSDT-1m-2025-01.csv.gz", kline_lines(rows, start=_START_MS * 1000, minute=60_000_000)
        )
        return {
            "trades csv": _rows_per_s(lambda: read_trades(trades), rows),
            "trades zip": _rows_per_s(lambda: read_trades(trades_zip), rows),
            "klines 1m csv (ms)": _rows_per_s(lambda: read_klines(klines), rows),
            "klines 1m csv.gz (µs)": _rows_per_s(lambda: read_klines(klines_us), rows),
            "merge of 2 trade files": _rows_per_s(lambda: read_merged([trades, trades_next]), 2 * rows),
        }


def run() -> list[Result]:
    notes = {
        "trades": "backtest: 300k trades/s end to end",
        "klines": "backtest: 1M bars in < 10 s end to end",
    }
    return [
        Result(SUITE, f"read {case}", value, "rows/s", notes.get(case.split()[0], ""))
        for case, value in measure().items()
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.historical_csv", description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS, help="rows per generated file")
    parser.add_argument("--dir", type=Path, help="write the files here instead of a temporary directory")
    args = parser.parse_args()
    print(json.dumps({"rows": args.rows, "rows_per_s": measure(args.rows, args.dir)}, indent=2))
