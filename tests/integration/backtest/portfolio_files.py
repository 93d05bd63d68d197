"""Files for backtests of several instruments: trade CSVs that make an SMA crossover trade, and
configurations with one or several strategies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from tests.unit.adapters.historical.files import T0, spot_trade, write

BINANCE = "BTCUSDT.BINANCE"
COINBASE = "BTC-USDT.COINBASE"
TRADES = 6_000


def wave_trades(path: Path, *, phase: float = 0.0, offset_ms: int = 0, count: int = TRADES) -> Path:
    """A swinging price, one trade every 100 ms from ``T0 + offset_ms``: an SMA crossover trades on it."""
    rows = []
    for i in range(count):
        price = 40_000 + 400 * math.sin(i / 150 + phase)
        time = T0 + i * 100 + offset_ms
        rows.append(spot_trade(i + 1, f"{price:.2f}", "0.01500000", time, "True" if i % 2 else "False"))
    return write(path, rows)


def instrument_table(instrument_id: str, quote: str = "USDT") -> str:
    symbol = instrument_id.partition(".")[0]
    base = symbol.partition("-")[0] if "-" in symbol else symbol.removesuffix(quote)
    return (
        f'[[instruments]]\nid = "{instrument_id}"\nbase = "{base}"\nquote = "{quote}"\n'
        'price_tick = "0.01"\nlot_size = "0.00001"\n'
    )


def strategy_table(
    strategy_id: str, instruments: Sequence[str], *, fast: int, slow: int, quantity: str = "0.1"
) -> str:
    listed = ", ".join(f'"{i}"' for i in instruments)
    return (
        f'[[strategies]]\nid = "{strategy_id}"\nkind = "sma_crossover"\ninstruments = [{listed}]\n'
        f"params = {{ fast = {fast}, slow = {slow} }}\n"
        f'sizing = {{ kind = "fixed_quantity", quantity = "{quantity}" }}\n'
    )


def config_text(
    instruments: Sequence[str],
    strategies: Sequence[str],
    *,
    quote: str = "USDT",
    balance: str = "100000",
    storage: str = '[storage]\nkind = "memory"\n',
) -> str:
    """A paper configuration charging 10 bps a fill, with ``strategies`` (see ``strategy_table``)."""
    return "\n".join(
        [
            f'[engine]\nvaluation_currency = "{quote}"\n',
            f'[account]\nbalances = {{ {quote} = "{balance}" }}\n',
            *(instrument_table(i, quote) for i in instruments),
            '[broker]\nkind = "paper"\nmaker_fee_bps = "10"\ntaker_fee_bps = "10"\n',
            *strategies,
            storage,
        ]
    )


def two_strategies(tmp_path: Path, **kwargs: str) -> Path:
    """sma-binance (fast 20, slow 100) on BTCUSDT.BINANCE and sma-coinbase (30, 120) on BTC-USDT.COINBASE."""
    path = tmp_path / "portfolio.toml"
    path.write_text(
        config_text(
            [BINANCE, COINBASE],
            [
                strategy_table("sma-binance", [BINANCE], fast=20, slow=100),
                strategy_table("sma-coinbase", [COINBASE], fast=30, slow=120, quantity="0.2"),
            ],
            **kwargs,
        )
    )
    return path
