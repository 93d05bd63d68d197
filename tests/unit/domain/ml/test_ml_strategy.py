"""The ML strategy kinds: predictions on the engine's features turned into alternating signals."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.market_data import Bar, TradeTick
from domain.ml.bar_builder import BarBuilder
from domain.ml.features import FeatureSpec
from domain.ml.labels import LabelSpec
from domain.ml.strategy import MlParams, MlSignalStrategy
from domain.values import AggressorSide, OrderSide

BTC = InstrumentId("BTCUSDT.BINANCE")
MINUTE = 60_000_000_000
FEATURES = (FeatureSpec("return", {"horizon": 1}), FeatureSpec("sma_ratio", {"period": 3}))


class Scripted:
    """A fake model: returns the next of its scripted outputs, and records what it was shown."""

    def __init__(self, outputs: Sequence[float]) -> None:
        self.outputs = list(outputs)
        self.rows: list[tuple[float, ...]] = []

    def predict_row(self, row: Sequence[float]) -> float:
        self.rows.append(tuple(row))
        return self.outputs[len(self.rows) - 1]


def bar(i: int, close: float = 100.0) -> Bar:
    price = Decimal(repr(close))
    return Bar(BTC, price, price, price, price, Decimal(1), MINUTE, (i + 1) * MINUTE, (i + 1) * MINUTE)


def strategy(model: Scripted, kind: str = "ml_classifier", threshold: float = 0.6) -> MlSignalStrategy:
    params = MlParams(kind=kind, threshold=threshold, features=FEATURES)  # type: ignore[arg-type]
    return MlSignalStrategy(
        strategy_id="ml", instrument_ids=[BTC], params=params, model=model, model_id="abc123"
    )


def run(ml: MlSignalStrategy, closes: Sequence[float]) -> list[tuple[int, OrderSide]]:
    out = []
    for i, close in enumerate(closes):
        for signal in ml.on_bar(bar(i, close)):
            assert signal.side is not None
            out.append((i, signal.side))
    return out


def test_no_prediction_during_the_warmup_then_one_per_bar() -> None:
    model = Scripted([0.5] * 20)
    ml = strategy(model)
    closes = [100.0 + i for i in range(10)]
    assert run(ml, closes) == []
    assert len(model.rows) == 10 - ml.warmup
    assert ml.ready
    assert all(len(row) == 2 for row in model.rows)


def test_signals_alternate_and_only_on_a_change_of_mind() -> None:
    outputs = [0.7, 0.8, 0.5, 0.3, 0.2, 0.65, 0.45]  # long, long, keep, out, out, long, keep
    ml = strategy(Scripted(outputs))
    closes = [100.0] * 2 + [101.0, 102, 101, 100, 99, 101, 100]
    signals = run(ml, closes)
    assert [side for _, side in signals] == [OrderSide.BUY, OrderSide.SELL, OrderSide.BUY]


def test_a_bearish_first_reading_says_nothing() -> None:
    ml = strategy(Scripted([0.1, 0.1, 0.9]))
    signals = run(ml, [100.0] * 2 + [101.0, 102.0, 103.0])
    assert [side for _, side in signals] == [OrderSide.BUY]


def test_the_reason_names_the_model_and_a_new_model_takes_over() -> None:
    ml = strategy(Scripted([0.9]))
    (signal,) = [s for i in range(3) for s in ml.on_bar(bar(i, 100.0 + i))]
    assert "model abc123" in signal.reason
    assert signal.strength == pytest.approx(0.8)
    ml.use_model(Scripted([0.1]), "def456")
    (later,) = ml.on_bar(bar(3, 104.0))
    assert later.side is OrderSide.SELL
    assert "model def456" in later.reason
    assert ml.model_id == "def456"


def test_the_regressor_reads_a_predicted_return() -> None:
    ml = strategy(Scripted([0.002, -0.0001, -0.003]), kind="ml_regressor", threshold=0.001)
    signals = run(ml, [100.0] * 2 + [101.0, 102.0, 103.0])
    assert [side for _, side in signals] == [OrderSide.BUY, OrderSide.SELL]


def test_a_nan_prediction_changes_nothing() -> None:
    ml = strategy(Scripted([0.9, float("nan"), 0.1]))
    signals = run(ml, [100.0] * 2 + [101.0, 102.0, 103.0])
    assert [side for _, side in signals] == [OrderSide.BUY, OrderSide.SELL]


def test_threshold_changes_while_running_and_nothing_else() -> None:
    ml = strategy(Scripted([0.62] * 5))
    ml.update_parameters({"threshold": "0.65"})
    assert run(ml, [100.0] * 2 + [101.0, 102.0]) == []  # 0.62 is below the new threshold
    with pytest.raises(InvalidParameter, match="threshold"):
        ml.update_parameters({"threshold": "0.4"})
    with pytest.raises(InvalidParameter, match="features"):
        ml.update_parameters({"features": "rsi"})


@pytest.mark.parametrize(
    ("kind", "threshold", "field"),
    [
        ("ml_classifier", 0.5, "threshold"),
        ("ml_classifier", 1.0, "threshold"),
        ("ml_regressor", 0.0, "threshold"),
        ("ml_regressor", float("inf"), "threshold"),
        ("ml_forest", 0.6, "kind"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(kind: str, threshold: float, field: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        MlParams(kind=kind, threshold=threshold, features=FEATURES)  # type: ignore[arg-type]
    assert refused.value.field == field


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=60))
def test_signals_always_alternate_and_reset_forgets(outputs: list[float]) -> None:
    closes = [100.0] * 2 + [100.0 + (i % 7) for i in range(len(outputs))]
    first = run(strategy(Scripted(outputs)), closes)
    sides = [side for _, side in first]
    assert all(a is not b for a, b in itertools.pairwise(sides))
    assert not sides or sides[0] is OrderSide.BUY
    ml = strategy(Scripted(outputs + outputs))
    run(ml, closes)
    ml.reset()
    assert run(ml, closes) == first  # the same events after a reset: the same signals


def test_bars_built_from_trades_give_the_rows_of_the_same_bars_fed_whole() -> None:
    """With ``bar_seconds``, the strategy predicts on the bars its trades make, as if fed them."""
    ticks = [
        TradeTick.create(
            instrument_id=BTC,
            price=Decimal(100 + (i * 7) % 11),
            size=Decimal(1 + i % 3),
            aggressor=AggressorSide.BUYER,
            trade_id=str(i),
            ts_event=i * 7_000_000_000,
            ts_init=i * 7_000_000_000,
        )
        for i in range(200)
    ]
    by_trades = Scripted([0.5] * 100)
    params = MlParams(kind="ml_classifier", threshold=0.6, features=FEATURES, bar_seconds=60)
    ml = MlSignalStrategy(
        strategy_id="ml", instrument_ids=[BTC], params=params, model=by_trades, model_id="m"
    )
    for tick in ticks:
        ml.on_trade(tick)
    builder = BarBuilder(BTC, 60_000_000_000)
    bars = [b for b in (builder.on_trade(t) for t in ticks) if b is not None]
    by_bars = Scripted([0.5] * 100)
    fed = strategy(by_bars)
    for whole in bars:
        fed.on_bar(whole)
    assert by_trades.rows
    assert by_trades.rows == by_bars.rows
    assert ml.on_bar(bars[0]) == ()  # it builds its own: bars from the feed are not counted twice


class Learner(Scripted):
    """A scripted model that also records what it was taught, and when."""

    def __init__(self, outputs: Sequence[float]) -> None:
        super().__init__(outputs)
        self.taught: list[tuple[int, tuple[float, ...], float]] = []

    def learn_row(self, row: Sequence[float], label: float) -> None:
        self.taught.append((len(self.rows), tuple(row), label))


def test_online_learning_teaches_each_row_its_label_once_horizon_bars_have_passed() -> None:
    model = Learner([0.5] * 50)
    params = MlParams(kind="ml_classifier", threshold=0.6, features=FEATURES)
    ml = MlSignalStrategy(
        strategy_id="ml", instrument_ids=[BTC], params=params, model=model, model_id="m",
        online=LabelSpec(horizon=2, kind="class"),
    )  # fmt: skip
    closes = [100.0, 101.0, 102.0, 101.0, 103.0, 102.0, 104.0, 104.0]
    for i, close in enumerate(closes):
        ml.on_bar(bar(i, close))
    # Rows exist from bar 2 on; row i is taught at bar i + 2, before bar i + 2 is predicted.
    assert [when for when, _, _ in model.taught] == [2, 3, 4, 5]
    assert [label for _, _, label in model.taught] == [
        1.0 if closes[i + 2] > closes[i] else 0.0 for i in range(2, 6)
    ]
    assert [row for _, row, _ in model.taught] == model.rows[:4]


def test_online_learning_needs_a_model_that_learns() -> None:
    params = MlParams(kind="ml_classifier", threshold=0.6, features=FEATURES)
    with pytest.raises(InvalidParameter, match="online"):
        MlSignalStrategy(strategy_id="ml", instrument_ids=[BTC], params=params, model=Scripted([]),
                         model_id="m", online=LabelSpec(horizon=2, kind="class"))  # fmt: skip
