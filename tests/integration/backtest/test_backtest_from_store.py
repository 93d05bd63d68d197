"""``tradeplane backtest --from-store``: replaying what a live run recorded in its market-data store."""

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
from tests.unit.entrypoints.example_config import EXAMPLE_DATA_DIR_LINE

BTC = InstrumentId("BTCUSDT.BINANCE")
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
EXAMPLE = Path(__file__).resolve().parents[3] / "entrypoints" / "example.toml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration whose market-data store holds 2,000 trades, one a second from T0."""
    data_dir = tmp_path / "data"
    text = EXAMPLE.read_text().replace(EXAMPLE_DATA_DIR_LINE, f'data_dir = "{data_dir}"', 1)
    path = tmp_path / "live.toml"
    path.write_text(text)
    data_dir.mkdir()
    engine = open_engine(f"sqlite:///{data_dir / 'market_data.db'}")
    upgrade(engine)
    store = SqlMarketDataRepository(engine, batch_size=500, flush_interval_s=60)
    for i in range(2000):
        price = Decimal(f"{40_000 + 300 * math.sin(i / 40):.2f}")
        ts = T0 + i * 1_000_000_000
        store.append(TradeTick(BTC, price, Decimal("0.01"), AggressorSide.BUYER, f"t{i}", ts, ts))
    store.close()
    engine.dispose()
    return path


def _run(config: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    out = tmp_path / "result.json"
    out.unlink(missing_ok=True)  # never read an earlier run's answer
    code = main(
        [
            "backtest",
            "--from-store",
            "--config",
            str(config),
            "--instrument",
            str(BTC),
            "--strategy",
            "sma_crossover",
            "--param",
            "fast=5",
            "--param",
            "slow=20",
            "--quantity",
            "0.001",
            "--no-progress",
            "--json",
            str(out),
            *extra,
        ]
    )
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_the_whole_store_or_a_time_range_of_it_is_replayed(config: Path, tmp_path: Path) -> None:
    code, whole = _run(config, tmp_path)
    assert code == 0
    assert whole["events"] == 2000
    assert whole["fills"] > 0
    code, window = _run(config, tmp_path, "--start", "2024-01-01T00:10", "--end", "2024-01-01T00:20")
    assert code == 0
    assert window["events"] == 600  # ten minutes of one trade a second; the end is excluded
    assert window["first_ts"] == T0 + 600 * 1_000_000_000


def test_from_store_mistakes_are_sentences(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["--from-store", "--config", str(config), "--strategy", "sma_crossover"], "--instrument"),
        (["--from-store", "--data", str(config), "--strategy", "sma_crossover"], "not both"),
        (["--data", str(config), "--strategy", "sma_crossover", "--start", "2024-01-01"], "--from-store"),
        (
            [
                "--from-store",
                "--config",
                str(config),
                "--instrument",
                str(BTC),
                "--strategy",
                "sma_crossover",
                "--start",
                "yesterday",
            ],
            "--start",
        ),
        (
            [
                "--from-store",
                "--config",
                str(config),
                "--instrument",
                str(BTC),
                "--strategy",
                "sma_crossover",
                "--start",
                "2024-02-01",
                "--end",
                "2024-01-01",
            ],
            "after --start",
        ),
        (
            [
                "--from-store",
                "--config",
                str(config),
                "--instrument",
                str(BTC),
                "--strategy",
                "sma_crossover",
                "--start",
                "2030-01-01",
            ],
            "no market data",
        ),
    ]
    for args, message in cases:
        code = main(["backtest", "--no-progress", *args])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert message in err, (args, err)
