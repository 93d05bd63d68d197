"""The engine configuration of a backtest: the paper broker, one strategy, the run's capital and fees."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from entrypoints.backtest.spec import BacktestError, BacktestSpec
from entrypoints.config import Settings, load_settings, parse_settings


def settings_for(spec: BacktestSpec, instrument_id: str) -> Settings:
    """The engine configuration of a run: the paper broker filling at the last trade price, on
    a spot account (a margin one with ``--allow-short``), one strategy, no risk limits unless
    ``--config`` brings its [risk] and [[instruments]]."""
    base = load_settings(Path(spec.config), environ={}) if spec.config else None
    instrument: dict[str, Any] | None = None
    if base is not None:
        for known in base.instruments:
            if known.id == instrument_id:
                instrument = {
                    "id": str(known.id),
                    "base": known.base,
                    "quote": known.quote,
                    "price_tick": str(known.price_tick),
                    "lot_size": str(known.lot_size),
                    "min_quantity": str(known.min_quantity),
                    "min_notional": str(known.min_notional),
                }
    if instrument is None:
        symbol = instrument_id.partition(".")[0]
        base_asset, quote_asset = _split_symbol(symbol)
        instrument = {
            "id": instrument_id,
            "base": base_asset,
            "quote": quote_asset,
            "price_tick": "0.00000001",
            "lot_size": "0.00000001",
        }
    sizing: dict[str, Any] = (
        {"kind": "fixed_quantity", "quantity": str(spec.quantity)}
        if spec.quantity is not None
        else {"kind": "fixed_fraction", "fraction": str(spec.fraction)}
    )
    fees = str(spec.fees_bps)
    raw: dict[str, Any] = {
        "engine": {"name": "backtest", "order_id_prefix": "BT", "valuation_currency": instrument["quote"]},
        "account": {"balances": {instrument["quote"]: str(spec.capital)}},
        "instruments": [instrument],
        "broker": {
            "kind": "paper",
            "maker_fee_bps": fees,
            "taker_fee_bps": fees,
            "slippage_bps": str(spec.slippage_bps),
            "last_trade_liquidity": True,
            "account": account_type(spec),
        },
        "strategies": [
            {
                "id": spec.strategy,
                "kind": spec.strategy,
                "instruments": [instrument_id],
                "params": dict(spec.params),
                "sizing": sizing,
                "allow_short": spec.allow_short,
            }
        ],
        "storage": {"kind": "memory"},
        "grpc": {"enabled": False},
    }
    settings = parse_settings(raw, source="<backtest>")
    if base is not None:
        settings = replace(settings, risk=base.risk, stops=base.stops)
    return settings


def account_type(spec: BacktestSpec) -> str:
    """A run that may sell short trades on a margin account (the venue lends the base asset,
    a short worth at most the equity); a long-only one on a spot account, which refuses any order
    the free balance cannot pay for."""
    return "margin" if spec.allow_short else "spot"


def account_text(spec: BacktestSpec) -> str:
    """The run's account, as its report says it."""
    if spec.allow_short:
        return "margin (--allow-short: sells short, borrowing up to 1 × equity)"
    return "spot (long only: no order beyond the free balance)"


QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB", "TRY")


def _split_symbol(symbol: str) -> tuple[str, str]:
    """BTCUSDT -> (BTC, USDT) by the known quotes; BTC-USD (Coinbase, Kraken) at its dash."""
    base, dash, quote = symbol.partition("-")
    if dash and base and quote and "-" not in quote:
        return base, quote
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    problem = f"cannot tell the quote currency of {symbol!r}; give --config with its [[instruments]] entry"
    raise BacktestError(problem, field="instrument", problem=problem)
