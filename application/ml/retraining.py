"""Model sources for an ML strategy's walk-forward retraining: at once, or in a worker process.

The strategy hands over a training set (``submit``) and picks up a finished model (``take``)
before each prediction. ``ImmediateModels`` trains inside ``submit``: a backtest uses it, so
each new model is in use from the next bar, the same bar on every run. ``WorkerModels`` trains
in a process of its own: the event loop never waits for a fit, the strategy keeps its model
until the new one is ready, and a training set handed over while a fit runs replaces any
that was waiting (only the newest matters). Each new model is passed to ``keep`` (which
stores it and returns its id) before it is used, so every signal names a model on record.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import numpy.typing as npt

from application.ml.pipeline import Model, Trainer
from domain.ml.labels import LabelKind

log = logging.getLogger("tradeplane.ml")

FloatArray = npt.NDArray[np.float64]
Keep = Callable[[Model, FloatArray, FloatArray, int], str]
"""Store a new model (with its training set and the event time it was asked at); its id."""


def _fit(trainer: Trainer, features: FloatArray, labels: FloatArray, kind: LabelKind, seed: int) -> bytes:
    """The fit, as the worker process runs it: the model back as bytes (models cross processes so)."""
    known = np.isfinite(labels)
    return trainer.fit(features[known], labels[known], kind=kind, seed=seed).to_bytes()


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


class WorkerModels:
    """Fits in one worker process (started on the first ``submit``); ``take`` never blocks."""

    def __init__(
        self,
        trainer: Trainer,
        *,
        kind: LabelKind,
        seed: int,
        keep: Keep,
        load: Callable[[bytes], Model],
    ) -> None:
        self._trainer = trainer
        self._kind = kind
        self._seed = seed
        self._keep = keep
        self._load = load
        self._executor: ProcessPoolExecutor | None = None
        self._running: tuple[Future[bytes], FloatArray, FloatArray, int] | None = None
        self._waiting: tuple[FloatArray, FloatArray, int] | None = None
        self.fits = 0
        self.failures = 0

    def submit(self, features: FloatArray, labels: FloatArray, ts_event: int) -> None:
        if self._running is not None:
            self._waiting = (features, labels, ts_event)  # the newest set replaces a waiting one
            return
        self._start(features, labels, ts_event)

    def _start(self, features: FloatArray, labels: FloatArray, ts_event: int) -> None:
        if self._executor is None:
            # forkserver: a clean process, not a fork of an engine with running threads.
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("forkserver")
            )
        future = self._executor.submit(_fit, self._trainer, features, labels, self._kind, self._seed)
        self._running = (future, features, labels, ts_event)

    def take(self) -> tuple[Model, str] | None:
        running = self._running
        if running is None or not running[0].done():
            return None
        future, features, labels, ts_event = running
        self._running = None
        if self._waiting is not None:
            self._start(*self._waiting)
            self._waiting = None
        try:
            model = self._load(future.result())
        except Exception:  # the fit failed: keep predicting with the model in use, and say so
            self.failures += 1
            log.exception("retraining failed; the strategy keeps its current model")
            return None
        self.fits += 1
        return model, self._keep(model, features, labels, ts_event)

    def close(self) -> None:
        """Stop the worker; a fit in progress is abandoned."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
