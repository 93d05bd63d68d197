"""The ML strategy kinds: a model's prediction on the engine's own features, turned into signals.

``ml_classifier`` reads the model's output as the probability that the forward return is
positive: at or above ``threshold`` it wants to be long, at or below ``1 - threshold`` out
(or short, when the strategy's sizing allows it). ``ml_regressor`` reads it as the predicted
forward return: at or above ``threshold`` long, at or below ``-threshold`` out. Like the SMA
crossover, it says BUY or SELL only when what it wants changes, so signals alternate; the
first prediction only enters (a bearish first reading records the wish and says nothing).

The strategy stays pure: the model is a ``Predictor`` handed in (and swapped with
``use_model`` when a newer one is ready, between two events), its output depends only on the
features, and the features only on the events fed. Every signal names the model that made it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId, StrategyId
from domain.market_data import Bar, QuoteTick, TradeTick
from domain.ml.bar_builder import BarBuilder
from domain.ml.features import FeatureEngine, FeatureSpec
from domain.ml.labels import LabelSpec, label_array
from domain.ml.walk_forward import WalkForward
from domain.signals import Signal
from domain.strategies.base import NO_SIGNALS
from domain.strategies.price_strategy import checked_instrument_ids, checked_strategy_id
from domain.values import OrderSide

Kind = Literal["ml_classifier", "ml_regressor"]
FloatArray = npt.NDArray[np.float64]
KINDS: Final[tuple[Kind, ...]] = ("ml_classifier", "ml_regressor")
MAX_BAR_SECONDS: Final = 86_400


class Predictor(Protocol):
    """A trained model as the strategy calls it: one row of features in, one number out."""

    def predict_row(self, row: Sequence[float]) -> float: ...


class OnlineModel(Predictor, Protocol):
    """A model that goes on learning: one row at a time, as each row's label becomes known."""

    def learn_row(self, row: Sequence[float], label: float) -> None: ...


class ModelSource(Protocol):
    """Where retrained models come from: the strategy hands over a training set every
    ``retrain_every`` bars, and takes a finished model (with its id) whenever there is one.

    A backtest's source trains at once, so the model is in use from the next bar, the same
    bar every time; a live one trains in another process and the strategy keeps predicting
    with the model it has until the new one is ready.
    """

    def submit(self, features: FloatArray, labels: FloatArray, ts_event: int) -> None: ...

    def take(self) -> tuple[Predictor, str] | None: ...


class PredictionLog:
    """Every bar the strategy saw (event time and close) and every prediction it made (the bar's
    index, the model, the value): what a backtest scores the models on afterwards. Kept only
    when asked for (a replay): it grows by one entry per bar."""

    __slots__ = ("bars", "predictions")

    def __init__(self) -> None:
        self.bars: list[tuple[int, float]] = []
        self.predictions: list[tuple[int, str, float]] = []


@dataclass(frozen=True, slots=True)
class Retraining:
    """Walk-forward retraining on the strategy's own rows: the ``walk`` split and the ``label``."""

    walk: WalkForward
    label: LabelSpec

    def __post_init__(self) -> None:
        if self.walk.horizon != self.label.horizon:
            raise InvalidParameter(
                "horizon", self.walk.horizon, f"must be the label's ({self.label.horizon})"
            )


@dataclass(frozen=True, slots=True)
class MlParams:
    """``kind``, ``threshold`` (classifier: in (0.5, 1); regressor: > 0), the feature set, and
    ``bar_seconds``: 0 to be fed bars (klines), else the length of the bars to build from trades."""

    kind: Kind
    threshold: float
    features: tuple[FeatureSpec, ...]
    bar_seconds: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidParameter("kind", self.kind, f"must be one of {', '.join(KINDS)}")
        threshold = self.threshold
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not math.isfinite(threshold)
        ):
            raise InvalidParameter("threshold", threshold, "must be a finite number")
        if self.kind == "ml_classifier" and not 0.5 < threshold < 1.0:
            raise InvalidParameter(
                "threshold", threshold, "must be in (0.5, 1): a probability above even odds"
            )
        if self.kind == "ml_regressor" and not threshold > 0.0:
            raise InvalidParameter("threshold", threshold, "must be above 0: a forward return")
        if not self.features:
            raise InvalidParameter("features", self.features, "must name at least one feature")
        seconds = self.bar_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_BAR_SECONDS:
            raise InvalidParameter(
                "bar_seconds", seconds, f"must be a whole number of seconds in [0, {MAX_BAR_SECONDS}]"
            )


class _State:
    __slots__ = ("bars", "closes", "engine", "pending", "rows", "since_training", "warm", "wish")

    def __init__(self, instrument_id: InstrumentId, params: MlParams) -> None:
        self.engine = FeatureEngine(params.features)
        self.bars = (
            BarBuilder(instrument_id, params.bar_seconds * 1_000_000_000) if params.bar_seconds else None
        )
        self.warm = False  # the last bar gave a complete row of features
        self.wish = 0  # +1 long, -1 out or short, 0 no prediction yet
        self.rows: deque[tuple[float, ...]] = deque()  # with retraining: the recent rows ...
        self.closes: deque[float] = deque()  # ... and their closes, for the labels
        self.since_training = 0
        self.pending: deque[tuple[tuple[float, ...], float]] = deque()  # online: rows awaiting a label


class MlSignalStrategy:
    """See the module docstring. Fed bars (and trades and quotes, for the flow and book features)."""

    __slots__ = (
        "_id",
        "_instrument_ids",
        "_keep",
        "_model",
        "_model_id",
        "_online",
        "_params",
        "_retraining",
        "_source",
        "_states",
        "log",
        "predictions",
        "retrains",
    )

    def __init__(
        self,
        *,
        strategy_id: StrategyId | str,
        instrument_ids: Iterable[InstrumentId | str],
        params: MlParams,
        model: Predictor,
        model_id: str,
        retraining: Retraining | None = None,
        source: ModelSource | None = None,
        keep_log: bool = False,
        online: LabelSpec | None = None,
    ) -> None:
        """``retraining`` with a ``source``: a new model every ``retrain_every`` bars, trained on
        the last ``train_window`` rows whose labels are known, ``purge`` rows before the bar."""
        self._id = checked_strategy_id(strategy_id)
        self._instrument_ids = checked_instrument_ids(instrument_ids)
        if (retraining is None) != (source is None):
            raise InvalidParameter("retraining", retraining, "needs a model source, and a source needs it")
        if retraining is not None and len(self._instrument_ids) != 1:
            raise InvalidParameter(
                "instrument_ids", len(self._instrument_ids), "retraining needs one instrument"
            )
        self._retraining = retraining
        self._source = source
        walk = retraining.walk if retraining is not None else None
        self._keep = walk.train_window + walk.purge if walk is not None else 0
        self.retrains = 0
        self.log = PredictionLog() if keep_log else None
        if online is not None and not callable(getattr(model, "learn_row", None)):
            raise InvalidParameter("online", model_id, "the model cannot learn online (train it with river)")
        self._online = online
        """Learn each row online once ``online.horizon`` bars have given its label."""
        self._params = params
        self._states = {iid: _State(iid, params) for iid in sorted(self._instrument_ids)}
        self._model = model
        self._model_id = _checked_model_id(model_id)
        self.predictions = 0

    # -- the Strategy protocol ------------------------------------------------------------------

    @property
    def id(self) -> StrategyId:
        return self._id

    @property
    def instrument_ids(self) -> frozenset[InstrumentId]:
        return self._instrument_ids

    @property
    def warmup(self) -> int:
        """Bars before the one that can first signal (the features' warm-up, less that bar)."""
        return next(iter(self._states.values())).engine.warmup - 1

    @property
    def ready(self) -> bool:
        return all(state.warm for state in self._states.values())

    @property
    def kind(self) -> Kind:
        return self._params.kind

    @property
    def model_id(self) -> str:
        """The model the next prediction comes from."""
        return self._model_id

    def parameters(self) -> Mapping[str, object]:
        return {
            "kind": self._params.kind,
            "threshold": self._params.threshold,
            "features": ",".join(spec.name for spec in self._params.features),
            "bar_seconds": self._params.bar_seconds,
            "model": self._model_id,
        }

    def update_parameters(self, changes: Mapping[str, object]) -> None:
        """Change ``threshold`` while running (the features and the model are the model's own).

        Raises InvalidParameter for any other name or a threshold out of range.
        """
        unknown = sorted(set(changes) - {"threshold"})
        if unknown:
            raise InvalidParameter(unknown[0], changes[unknown[0]], "only threshold can change while running")
        raw = changes.get("threshold", self._params.threshold)
        try:
            threshold = float(raw)  # type: ignore[arg-type]  # checked by the except
        except (TypeError, ValueError):
            raise InvalidParameter("threshold", raw, "must be a number") from None
        self._params = MlParams(
            kind=self._params.kind,
            threshold=threshold,
            features=self._params.features,
            bar_seconds=self._params.bar_seconds,
        )

    def use_model(self, model: Predictor, model_id: str) -> None:
        """Predict with ``model`` from the next bar on (a retrained one, say)."""
        if self._online is not None and not callable(getattr(model, "learn_row", None)):
            raise InvalidParameter("online", model_id, "the model cannot learn online")
        self._model_id = _checked_model_id(model_id)
        self._model = model

    def on_trade(self, tick: TradeTick) -> Sequence[Signal]:
        """Trade flow for the current bar; with ``bar_seconds``, also the bar this trade closes
        (predicted before the trade is counted: it belongs to the next bar)."""
        state = self._states.get(tick.instrument_id)
        if state is None:
            return NO_SIGNALS
        signals: Sequence[Signal] = NO_SIGNALS
        if state.bars is not None:
            closed = state.bars.on_trade(tick)
            if closed is not None:
                signals = self._predict(state, closed, tick.ts_event)
        state.engine.on_trade(tick)
        return signals

    def on_quote(self, quote: QuoteTick) -> Sequence[Signal]:
        state = self._states.get(quote.instrument_id)
        if state is not None:
            state.engine.on_quote(quote)
        return NO_SIGNALS

    def on_bar(self, bar: Bar) -> Sequence[Signal]:
        """A closed bar from the feed (ignored when the strategy builds its own from trades)."""
        state = self._states.get(bar.instrument_id)
        if state is None or state.bars is not None:
            return NO_SIGNALS
        return self._predict(state, bar, bar.ts_event)

    def _predict(self, state: _State, bar: Bar, ts_event: int) -> Sequence[Signal]:
        if self._source is not None:
            ready = self._source.take()
            if ready is not None:
                self.use_model(*ready)
        row = state.engine.on_bar(bar)
        log = self.log
        if log is not None:
            log.bars.append((bar.ts_event, float(bar.close)))
        if row is None:
            return NO_SIGNALS
        state.warm = True
        if self._online is not None:
            self._learn(state, row, float(bar.close))
        if self._retraining is not None:
            self._remember(state, row, bar, ts_event)
        value = float(self._model.predict_row(row))
        self.predictions += 1
        if log is not None:
            log.predictions.append((len(log.bars) - 1, self._model_id, value))
        if not math.isfinite(value):
            return NO_SIGNALS  # a model that cannot say: no change of mind
        params = self._params
        if params.kind == "ml_classifier":
            wish = 1 if value >= params.threshold else -1 if value <= 1.0 - params.threshold else state.wish
            strength = min(1.0, max(0.0, abs(value - 0.5) * 2.0))
            reading = f"p(up)={value:.4f}"
        else:
            wish = 1 if value >= params.threshold else -1 if value <= -params.threshold else state.wish
            strength = 1.0
            reading = f"predicted return {value:.6g}"
        previous = state.wish
        if wish in {previous, 0}:
            return NO_SIGNALS
        state.wish = wish
        if previous == 0 and wish < 0:
            return NO_SIGNALS  # nothing held yet: a bearish first reading only records the wish
        side = OrderSide.BUY if wish > 0 else OrderSide.SELL
        reason = f"model {self._model_id}: {reading} (threshold {params.threshold:g})"
        return (
            Signal(
                strategy_id=self._id,
                instrument_id=bar.instrument_id,
                side=side,
                strength=strength,
                reason=reason,
                ts_event=ts_event,
            ),
        )

    def _learn(self, state: _State, row: tuple[float, ...], close: float) -> None:
        """The row ``horizon`` bars back now has its label: the model learns it, before it
        predicts this bar (so the label it learns never reaches past the bar being predicted)."""
        online = self._online
        assert online is not None
        pending = state.pending
        pending.append((row, close))
        if len(pending) <= online.horizon:
            return
        old_row, old_close = pending.popleft()
        change = close / old_close - 1.0 if old_close > 0 else math.nan
        label = change if online.kind == "value" else (1.0 if change > online.threshold else 0.0)
        learner: OnlineModel = self._model  # type: ignore[assignment]  # checked at construction
        learner.learn_row(old_row, label)

    def _remember(self, state: _State, row: tuple[float, ...], bar: Bar, ts_event: int) -> None:
        """Keep the row; every ``retrain_every`` bars, hand the training set to the source.

        The set is the ``train_window`` rows before the last ``purge`` ones: their labels read
        closes up to ``horizon <= purge`` bars later, all known now, and none overlaps the bars
        the new model will predict (from the next one on).
        """
        retraining = self._retraining
        assert retraining is not None
        assert self._source is not None
        state.rows.append(row)
        state.closes.append(float(bar.close))
        if len(state.rows) > self._keep:
            state.rows.popleft()
            state.closes.popleft()
        state.since_training += 1
        walk = retraining.walk
        if state.since_training < walk.retrain_every or len(state.rows) < self._keep:
            return
        state.since_training = 0
        closes = np.fromiter(state.closes, dtype=np.float64, count=len(state.closes))
        labels = label_array(closes, retraining.label)[: walk.train_window]
        features = np.array(list(state.rows)[: walk.train_window], dtype=np.float64)
        self.retrains += 1
        self._source.submit(features, labels, ts_event)

    def reset(self) -> None:
        for state in self._states.values():
            state.engine.reset()
            if state.bars is not None:
                state.bars.reset()
            state.warm = False
            state.wish = 0
            state.rows.clear()
            state.closes.clear()
            state.pending.clear()
            state.since_training = 0
        self.predictions = 0
        if self.log is not None:
            self.log = PredictionLog()


def _checked_model_id(model_id: object) -> str:
    if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > 128:
        raise InvalidParameter("model", model_id, "must be a model's id (1 to 128 characters)")
    return model_id
