"""``tradeplane ml train`` on trades: Binance trade files and a live run's market-data store,
built into bars by event time as a strategy with ``bar_seconds`` builds them live."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ml.artifacts import load_artifact
from adapters.persistence.database import open_engine
from adapters.persistence.market_data_store import SqlMarketDataRepository
from adapters.persistence.migrate import upgrade
from domain.identifiers import InstrumentId
from domain.market_data import TradeTick
from domain.values import AggressorSide
from entrypoints.cli import main
from tests.unit.adapters.historical.files import spot_trade, write
from tests.unit.entrypoints.example_config import EXAMPLE_DATA_DIR_LINE

BTC = InstrumentId("BTCUSDT.BINANCE")
T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
EXAMPLE = Path(__file__).resolve().parents[3] / "entrypoints" / "example.toml"
SMALL = ["--train-window", "150", "--retrain-every", "50", "--bar-seconds", "10"]
TRADES = 9_000  # one a second: 900 bars of ten seconds


def price(i: int) -> str:
    return f"{40_000 + 300 * math.sin(i / 70) + 25 * math.sin(i / 3.1):.2f}"


def test_trade_files_become_bars_of_the_given_length(tmp_path: Path) -> None:
    rows = [spot_trade(i, price(i), "0.01", T0_MS + i * 1000) for i in range(TRADES)]
    data = write(tmp_path / "BTCUSDT-trades-2024-01.csv", rows)
    models = tmp_path / "models"
    assert main(["ml", "train", str(data), *SMALL, "--models-dir", str(models)]) == 0
    (stored,) = models.iterdir()
    record = load_artifact(stored).record
    assert record["instrument"] == "BTCUSDT.BINANCE"
    assert record["training"]["rows"] == 150
    first, last = record["validation"]["folds"][0]["train"]
    assert (last - first) % 10_000_000_000 == 0  # ten-second bars, closing on the boundaries


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration whose market-data store holds the trades a live run recorded."""
    data_dir = tmp_path / "data"
    text = EXAMPLE.read_text().replace(EXAMPLE_DATA_DIR_LINE, f'data_dir = "{data_dir}"', 1)
    path = tmp_path / "live.toml"
    path.write_text(text)
    data_dir.mkdir()
    engine = open_engine(f"sqlite:///{data_dir / 'market_data.db'}")
    upgrade(engine)
    store = SqlMarketDataRepository(engine, batch_size=1000, flush_interval_s=60)
    for i in range(TRADES):
        ts = (T0_MS + i * 1000) * 1_000_000
        store.append(TradeTick(BTC, Decimal(price(i)), Decimal("0.01"), AggressorSide.BUYER, f"t{i}", ts, ts))
    store.close()
    engine.dispose()
    return path


def test_the_market_data_store_trains_as_the_files_do(config: Path, tmp_path: Path) -> None:
    models = tmp_path / "store-models"
    argv = ["ml", "train", "--from-store", "--config", str(config), "--instrument", str(BTC), *SMALL]
    assert main([*argv, "--models-dir", str(models)]) == 0
    (stored,) = models.iterdir()
    assert load_artifact(stored).record["training"]["rows"] == 150


def test_files_and_the_store_are_one_or_the_other(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ml", "train", "--models-dir", str(tmp_path)]) == 2
    assert "--from-store" in capsys.readouterr().err
    argv = ["ml", "train", "--from-store", "--config", str(config), *SMALL, "--models-dir", str(tmp_path)]
    assert main(argv) == 2
    assert "--instrument" in capsys.readouterr().err
    assert main([*argv, "--instrument", str(BTC), "--bar-seconds", "0"]) == 2
    assert "--bar-seconds" in capsys.readouterr().err
