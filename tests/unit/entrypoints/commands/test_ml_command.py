"""``tradeplane ml train`` and ``list`` on the shipped sample history, and ML strategies in config."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.ml.artifacts import load_artifact
from domain.ml.strategy import MlSignalStrategy
from entrypoints.cli import main
from entrypoints.config import ConfigError, StrategySettings
from entrypoints.ml_strategies import build_ml_strategy
from entrypoints.strategy_entries import build_strategy

REPO = Path(__file__).resolve().parents[4]
SAMPLE = REPO / "docs" / "examples" / "history" / "BTCUSDT-1m-2024-01-01.csv.gz"
SMALL = ["--train-window", "500", "--retrain-every", "200"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("models")
    assert main(["ml", "train", str(SAMPLE), *SMALL, "--models-dir", str(models)]) == 0
    (stored,) = models.iterdir()
    return stored


def test_train_stores_a_model_with_its_record(model_dir: Path) -> None:
    artifact = load_artifact(model_dir)
    record = artifact.record
    assert record["kind"] == "ml_classifier"
    assert record["instrument"] == "BTCUSDT.BINANCE"
    assert len(record["features"]) == 13
    assert record["label"] == {"horizon": 5, "kind": "class", "threshold": 0.0}
    folds = record["validation"]["folds"]
    assert len(folds) >= 3
    for fold in folds:
        assert fold["train"][1] < fold["predict"][0]  # trained on the past only
        assert set(fold["metrics"]) == {"accuracy", "auc"}
    assert abs(sum(record["importances"].values()) - 1.0) < 1e-9
    assert record["training"]["rows"] == 500
    assert artifact.model_bytes()


def test_the_same_training_gives_the_same_model(model_dir: Path, tmp_path: Path) -> None:
    assert main(["ml", "train", str(SAMPLE), *SMALL, "--models-dir", str(tmp_path)]) == 0
    (again,) = tmp_path.iterdir()
    assert again.name == model_dir.name
    assert (again / "model.bin").read_bytes() == (model_dir / "model.bin").read_bytes()


def test_list_shows_the_stored_models(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ml", "list", "--models-dir", str(model_dir.parent)]) == 0
    assert model_dir.name in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--horizon", "0"], "horizon"),
        (["--purge", "2"], "purge"),
        (["--train-window", "5000"], "too few"),
    ],
)
def test_bad_training_options_are_refused(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ml", "train", str(SAMPLE), *SMALL, *argv, "--models-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_a_features_file_is_used_and_a_bad_one_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = tmp_path / "features.json"
    features.write_text(json.dumps([{"kind": "rsi", "period": 14}, {"kind": "return", "horizon": 3}]))
    models = tmp_path / "models"
    assert (
        main(["ml", "train", str(SAMPLE), *SMALL, "--features", str(features), "--models-dir", str(models)])
        == 0
    )
    (stored,) = models.iterdir()
    assert [f["kind"] for f in load_artifact(stored).record["features"]] == ["rsi", "return"]
    features.write_text(json.dumps([{"kind": "astrology"}]))
    assert (
        main(["ml", "train", str(SAMPLE), *SMALL, "--features", str(features), "--models-dir", str(models)])
        == 2
    )
    assert "astrology" in capsys.readouterr().err


def entry(model: Path, **params: object) -> StrategySettings:
    return StrategySettings(
        id="ml-btc",
        kind="ml_classifier",
        instruments=("BTCUSDT.BINANCE",),
        params={"model": str(model), **params},
    )


def test_a_configured_ml_strategy_loads_its_model(model_dir: Path) -> None:
    strategy, closer = build_ml_strategy(entry(model_dir, threshold=0.6))
    assert closer is None
    assert isinstance(strategy, MlSignalStrategy)
    assert strategy.model_id == model_dir.name
    assert strategy.kind == "ml_classifier"
    assert strategy.parameters()["threshold"] == 0.6


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"params": {}}, "params.model"),
        ({"params": {"model": "/nonexistent"}}, "model.json"),
        ({"kind": "ml_regressor"}, "not ml_regressor"),
        ({"params": {"threshold": "high"}}, "threshold"),
        ({"params": {"threshold": 0.4}}, "threshold"),
        ({"params": {"colour": "red"}}, "colour"),
    ],
)
def test_a_bad_ml_strategy_entry_is_a_config_error(
    model_dir: Path, change: dict[str, object], message: str
) -> None:
    base = entry(model_dir)
    params = change.get("params")
    if isinstance(params, dict) and "model" not in params and params:
        params = {"model": str(model_dir), **params}
    bad = replace(base, **{**change, **({"params": params} if params is not None else {})})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message):
        build_ml_strategy(bad)


def test_a_tampered_model_is_refused(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / model_dir.name
    copy.mkdir()
    for name in ("model.json", "model.bin"):
        (copy / name).write_bytes((model_dir / name).read_bytes())
    (copy / "model.bin").write_bytes(b"tree\n")
    with pytest.raises(ConfigError, match="SHA-256"):
        build_ml_strategy(entry(copy))


def test_a_backtest_runs_the_stored_model(model_dir: Path, tmp_path: Path) -> None:
    argv = ["backtest", "--data", str(SAMPLE), "--strategy", "ml_classifier", "--param", f"model={model_dir}"]
    assert main([*argv, "--param", "threshold=0.52", "--json", str(tmp_path / "run.json")]) == 0
    result = json.loads((tmp_path / "run.json").read_text())
    assert result["orders"] > 0
    assert result["strategy"] == "ml_classifier"


def test_a_backtest_with_a_missing_model_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["backtest", "--data", str(SAMPLE), "--strategy", "ml_classifier", "--param", f"model={tmp_path}"]
    assert main(argv) == 2
    assert "model.json" in capsys.readouterr().err


def test_retraining_live_runs_in_a_worker_and_a_replay_at_once(model_dir: Path) -> None:
    live, closer = build_ml_strategy(entry(model_dir, retrain_every="100", train_window=300), replay=False)
    assert closer is not None
    closer()
    replayed, none = build_ml_strategy(entry(model_dir, retrain_every=100), replay=True)
    assert none is None
    assert live.model_id == replayed.model_id == model_dir.name


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"retrain_every": "often"}, "retrain_every"),
        ({"retrain_every": 10, "purge": 1}, "purge"),
        ({"retrain_every": -1}, "retrain_every"),
        ({"bar_seconds": 1.5}, "bar_seconds"),
    ],
)
def test_bad_retraining_parameters_are_config_errors(
    model_dir: Path, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_ml_strategy(entry(model_dir, **params))


def walk_forward_backtest(model_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A walk-forward backtest (retrained every 300 bars) from a copy of ``model_dir``: the
    models directory it stored into, and its --json result."""
    models = tmp_path / "models"
    base = models / model_dir.name
    base.mkdir(parents=True)
    for name in ("model.json", "model.bin"):
        (base / name).write_bytes((model_dir / name).read_bytes())
    result = tmp_path / "run.json"
    argv = ["backtest", "--data", str(SAMPLE), "--strategy", "ml_classifier", "--param", f"model={base}"]
    argv += ["--param", "retrain_every=300", "--param", "train_window=300", "--json", str(result)]
    assert main(argv) == 0
    return models, result


def test_a_walk_forward_backtest_stores_each_retrained_model(model_dir: Path, tmp_path: Path) -> None:
    models, _ = walk_forward_backtest(model_dir, tmp_path)
    retrained = [load_artifact(path) for path in models.iterdir() if path.name != model_dir.name]
    assert len(retrained) >= 3
    assert {a.record["retrained_from"] for a in retrained} == {model_dir.name}
    assert all(a.record["walk_forward"]["purge"] == 5 for a in retrained)


def test_a_walk_forward_backtest_reports_each_model_and_the_baselines(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, result = walk_forward_backtest(model_dir, tmp_path)
    text = capsys.readouterr().out
    assert "Models, out of sample" in text
    assert "Buy and hold" in text
    report = json.loads(result.read_text())["ml"]
    first, *retrained = report["models"]
    assert first["model_id"] == model_dir.name
    assert first["out_of_sample"] is False  # trained on this very day: the report says so
    assert retrained
    assert all(m["out_of_sample"] for m in retrained)
    assert all(set(m["metrics"]) == {"accuracy", "auc"} for m in report["models"])
    assert sum(m["predictions"] for m in report["models"]) > 1000
    baselines = report["baselines"]
    assert float(baselines["buy_and_hold_return"]) == pytest.approx(40989.92 / 42304.79 - 1)
    assert baselines["indicator"] == "sma_crossover"
    assert baselines["indicator_return"] is not None


def test_an_online_learner_trains_and_goes_on_learning_in_a_backtest(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    assert main(["ml", "train", str(SAMPLE), *SMALL, "--learner", "river", "--models-dir", str(models)]) == 0
    (river,) = models.iterdir()
    assert load_artifact(river).record["trainer"]["library"] == "river"
    argv = ["backtest", "--data", str(SAMPLE), "--strategy", "ml_classifier", "--param", f"model={river}"]
    assert main([*argv, "--param", "online=true", "--json", str(tmp_path / "online.json")]) == 0
    assert main([*argv, "--json", str(tmp_path / "frozen.json")]) == 0
    online = json.loads((tmp_path / "online.json").read_text())
    frozen = json.loads((tmp_path / "frozen.json").read_text())
    assert online["ml"]["models"][0]["metrics"] != frozen["ml"]["models"][0]["metrics"]  # it learned
    with pytest.raises(ConfigError, match="cannot learn online"):
        build_ml_strategy(entry(model_dir, online="true"))
    with pytest.raises(ConfigError, match="true or false"):
        build_ml_strategy(entry(river, online="sometimes"))


def test_a_process_that_cannot_retrain_refuses_an_entry_that_asks_to(model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="single process only"):
        build_strategy(entry(model_dir, retrain_every=50), retraining=False)
    strategy, closer = build_strategy(entry(model_dir), retraining=False)
    assert closer is None
    assert isinstance(strategy, MlSignalStrategy)
