"""The model source of a replayed ML strategy's walk-forward retraining: it trains at once.

The strategy hands over a training set (``submit``) and picks up a finished model (``take``)
before each prediction. ``ImmediateModels`` trains inside ``submit``, so each new model is in
use from the next bar, the same bar on every run (a live engine trains in a worker process
instead: ``adapters.ml.worker_models``). Each new model is passed to ``keep`` (which stores it
and returns its id) before it is used, so every signal names a model on record.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from application.ml.pipeline import Model, Trainer
from domain.ml.labels import LabelKind

FloatArray = npt.NDArray[np.float64]
Keep = Callable[[Model, FloatArray, FloatArray, int], str]
"""Store a new model (with its training set and the event time it was asked at); its id."""


class ImmediateModels:
    """Fits in ``submit``; the model is ``take``n before the next prediction."""

    def __init__(self, trainer: Trainer, *, kind: LabelKind, seed: int, keep: Keep) -> None:
        self._trainer = trainer
        self._kind = kind
        self._seed = seed
        self._keep = keep
        self._ready: tuple[Model, str] | None = None
        self.fits = 0

    def submit(self, features: FloatArray, labels: FloatArray, ts_event: int) -> None:
        known = np.isfinite(labels)
        model = self._trainer.fit(features[known], labels[known], kind=self._kind, seed=self._seed)
        self.fits += 1
        self._ready = (model, self._keep(model, features, labels, ts_event))

    def take(self) -> tuple[Model, str] | None:
        ready, self._ready = self._ready, None
        return ready

    def close(self) -> None:
        """Nothing runs in the background."""
