"""What a live run on Coinbase and Kraken records, ``tradeplane backtest --from-store`` replays.

An engine runs from a configuration file with SQL storage against the Coinbase and Kraken
simulators (their own protocols, the real feeds, every channel: books, trades, tickers) until
it has seen a few hundred trades of each venue, and stops. Then the same file is backtested
``--from-store``: the replay reads exactly the trades and quotes the live engine passed to
its market-data store, of both instruments, trades on them, and does so the same way twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from adapters.exchanges.simulator import CoinbaseSimulator, KrakenSimulator
from adapters.persistence.database import open_engine
from adapters.persistence.market_history import read_history
from domain.identifiers import InstrumentId
from domain.market_data import MarketEvent, QuoteTick, TradeTick
from entrypoints.backtest.portfolio import run_portfolio
from entrypoints.backtest.portfolio_spec import PortfolioSpec, load_config
from entrypoints.cli import main
from entrypoints.container import App, bootstrap

COINBASE = "BTC-USD.COINBASE"
KRAKEN = "BTC-USD.KRAKEN"
INSTRUMENTS = (COINBASE, KRAKEN)
TRADES = 300
"""Trades of each venue the live engine sees before it stops."""
RATE = 400.0
WAIT_S = 30.0


def _config(path: Path, data_dir: Path, coinbase: CoinbaseSimulator, kraken: KrakenSimulator) -> Path:
    """A USD paper account, an SMA on each venue, SQL storage in ``data_dir``, both feeds on the
    simulators. The instruments are typed (the simulators' tick and lot): a backtest reads no venue."""

    def instrument(instrument_id: str) -> str:
        return (
            f'[[instruments]]\nid = "{instrument_id}"\nbase = "BTC"\nquote = "USD"\n'
            'price_tick = "0.01"\nlot_size = "0.001"\nmin_quantity = "0.001"\n'
        )

    def sma(strategy_id: str, instrument_id: str) -> str:
        return (
            f'[[strategies]]\nid = "{strategy_id}"\nkind = "sma_crossover"\n'
            f'instruments = ["{instrument_id}"]\nparams = {{ fast = 5, slow = 20 }}\n'
            'sizing = { kind = "fixed_quantity", quantity = "0.01" }\n'
        )

    path.write_text(
        "\n".join(
            [
                '[engine]\nvaluation_currency = "USD"\n',
                '[account]\nbalances = { USD = "100000" }\n',
                instrument(COINBASE),
                instrument(KRAKEN),
                '[broker]\nkind = "paper"\nmaker_fee_bps = "10"\ntaker_fee_bps = "10"\n',
                sma("sma-coinbase", COINBASE),
                sma("sma-kraken", KRAKEN),
                f'[feeds.coinbase]\ninstrument_ids = ["{COINBASE}"]\nws_url = "{coinbase.ws_url}"\n'
                f'rest_url = "{coinbase.rest_url}"\nuse_system_proxy = false\n',
                f'[feeds.kraken]\ninstrument_ids = ["{KRAKEN}"]\nws_url = "{kraken.ws_url}"\n'
                "use_system_proxy = false\n",
                f'[storage]\nkind = "sql"\ndata_dir = "{data_dir}"\n',
            ]
        )
    )
    return path


async def _live_run(tmp_path: Path) -> tuple[Path, Counter[tuple[str, str]]]:
    """Run the engine of the configuration until it saw ``TRADES`` trades of each venue; returns
    the configuration and what the engine passed on, by (kind, instrument)."""
    coinbase = CoinbaseSimulator(("BTC-USD",), seed=11, rate=RATE)
    kraken = KrakenSimulator(("BTC/USD",), seed=12, rate=RATE)
    await coinbase.start()
    await kraken.start()
    app: App | None = None
    seen: Counter[tuple[str, str]] = Counter()
    try:
        config = _config(tmp_path / "venues.toml", tmp_path / "data", coinbase, kraken)
        app = running = bootstrap(load_config(str(config)))

        def count(event: MarketEvent) -> None:
            seen[type(event).__name__, str(event.instrument_id)] += 1

        running.bus.subscribe(TradeTick, count)
        running.bus.subscribe(QuoteTick, count)
        await running.engine.start()
        deadline = time.monotonic() + WAIT_S
        while min(seen["TradeTick", i] for i in INSTRUMENTS) < TRADES:
            if time.monotonic() > deadline:
                pytest.fail(f"not within {WAIT_S}s: {TRADES} trades of each venue (saw {dict(seen)})")
            await asyncio.sleep(0.02)
        await running.engine.stop(cancel_open_orders=True)  # flushes the market-data store
        status = running.engine.status()
        assert status.handler_errors == 0, running.bus.stats.last_failures
        assert all(feed.malformed == 0 for feed in status.feeds), status.feeds
        return config, seen
    finally:
        if app is not None:
            await app.engine.stop(cancel_open_orders=True)
            app.close()
        await coinbase.stop()
        await kraken.stop()


def _stored(data_dir: Path) -> Counter[tuple[str, str]]:
    engine = open_engine(f"sqlite:///{data_dir / 'market_data.db'}")
    try:
        return Counter(
            (type(event).__name__, instrument)
            for instrument in INSTRUMENTS
            for event in read_history(engine, InstrumentId(instrument))
        )
    finally:
        engine.dispose()


def _backtest(config: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(["backtest", "--config", str(config), "--from-store", "--no-progress", "--json", str(out)])
    assert code == 0, capsys.readouterr()
    document: dict[str, Any] = json.loads(out.read_text())
    for timing in ("seconds", "events_per_second"):
        document.pop(timing)
    return document


def test_a_live_run_on_coinbase_and_kraken_is_replayed_from_its_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, seen = asyncio.run(asyncio.wait_for(_live_run(tmp_path), WAIT_S + 30))

    # The store holds every trade and quote the engine passed on, of both venues.
    stored = _stored(tmp_path / "data")
    assert stored == seen
    assert all(stored["TradeTick", i] >= TRADES for i in INSTRUMENTS)
    assert all(stored["QuoteTick", i] > 0 for i in INSTRUMENTS)

    # The backtest of the same file replays exactly those, in time order, and trades on both.
    replayed: Counter[tuple[str, str]] = Counter()
    times: list[int] = []

    def watch(app: App) -> None:
        def count(event: TradeTick | QuoteTick) -> None:
            replayed[type(event).__name__, str(event.instrument_id)] += 1
            times.append(event.ts_event)

        app.bus.subscribe(TradeTick, count)
        app.bus.subscribe(QuoteTick, count)

    outcome = run_portfolio(PortfolioSpec(config=str(config), from_store=True), attach=watch)
    assert replayed == stored
    assert times == sorted(times)
    assert outcome.result.events == sum(stored.values())
    assert outcome.result.handler_errors == 0
    assert {line.name for line in outcome.by_instrument if line.fills} == set(INSTRUMENTS)

    # The command gives that run, the same twice.
    first = _backtest(config, tmp_path / "first.json", capsys)
    second = _backtest(config, tmp_path / "second.json", capsys)
    assert first == second
    assert first["data"] == "store"
    assert first["events"] == outcome.result.events
    assert first["fills"] == len(outcome.result.fills) > 0
    assert [line["fills"] for line in first["by_instrument"]] == [
        line.fills for line in outcome.by_instrument
    ]
