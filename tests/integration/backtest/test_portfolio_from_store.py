"""``tradeplane backtest --config FILE --from-store`` without ``--strategy``: what live runs recorded
for instruments of several venues, from the configuration's market-data store."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.persistence.database import open_engine
from adapters.persistence.market_data_store import SqlMarketDataRepository
from adapters.persistence.migrate import upgrade
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.values import AggressorSide
from entrypoints.cli import main
from tests.integration.backtest.portfolio_files import config_text, strategy_table

COINBASE = "BTC-USD.COINBASE"
KRAKEN = "ETH-USD.KRAKEN"
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
SECOND = 1_000_000_000


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Two strategies, one on Coinbase and one on Kraken, whose store holds 2,000 trades of each
    (a trade a second, Kraken's half a second after Coinbase's), and a third instrument no one reads."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = open_engine(f"sqlite:///{data_dir / 'market_data.db'}")
    upgrade(engine)
    store = SqlMarketDataRepository(engine, batch_size=500, flush_interval_s=60)
    for name, level, offset in ((COINBASE, 40_000, 0), (KRAKEN, 2_000, SECOND // 2), ("X-USD.KRAKEN", 1, 0)):
        instrument = InstrumentId(name)
        for i in range(2000):
            price = Decimal(f"{level + level / 100 * math.sin(i / 40):.2f}")
            ts = T0 + i * SECOND + offset
            store.append(TradeTick(instrument, price, Decimal("0.01"), AggressorSide.BUYER, f"t{i}", ts, ts))
    store.close()
    engine.dispose()
    path = tmp_path / "venues.toml"
    path.write_text(
        config_text(
            [COINBASE, KRAKEN],
            [
                strategy_table("sma-coinbase", [COINBASE], fast=5, slow=20, quantity="0.01"),
                strategy_table("sma-kraken", [KRAKEN], fast=5, slow=20, quantity="0.5"),
            ],
            quote="USD",
            storage=f'[storage]\nkind = "sql"\ndata_dir = "{data_dir}"\n',
        )
    )
    return path


def _run(config: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    out = tmp_path / "result.json"
    out.unlink(missing_ok=True)
    code = main(
        ["backtest", "--config", str(config), "--from-store", "--no-progress", "--json", str(out), *extra]
    )
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_each_venues_stored_events_are_replayed_on_one_account(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = _run(config, tmp_path)
    assert code == 0, capsys.readouterr()
    assert result["events"] == 4000  # not the instrument no strategy reads
    assert result["valuation_currency"] == "USD"
    lines = {line["name"]: line for line in result["by_instrument"]}  # type: ignore[attr-defined]
    assert set(lines) == {COINBASE, KRAKEN}
    assert all(line["fills"] > 0 for line in lines.values())
    code, window = _run(config, tmp_path, "--start", "2024-01-01T00:10", "--end", "2024-01-01T00:20")
    assert code == 0
    assert window["events"] == 1200  # ten minutes of both instruments
    assert window["first_ts"] == T0 + 600 * SECOND


def test_a_stored_run_records_the_configuration_and_its_strategies(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _run(config, tmp_path, "--store")
    assert code == 0
    assert "stored as run" in capsys.readouterr().out
    assert main(["backtest", "--list", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    assert "sma-coinbase+sma-kraken" in listing
    assert f"{COINBASE},{KRAKEN}" in listing
    assert f"config={config}" in listing


def test_an_instrument_the_store_does_not_hold_is_refused_by_name(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = config.read_text().replace(KRAKEN, "SOL-USD.KRAKEN")
    config.write_text(text)
    code, _ = _run(config, tmp_path)
    assert code == 2
    assert "no market data for SOL-USD.KRAKEN" in capsys.readouterr().err
