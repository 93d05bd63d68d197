"""The model source of a live ML strategy's retraining: fits in a worker process of its own.

The event loop never waits for a fit: ``take`` only looks whether the fit is done, the
strategy keeps its model until the new one is ready, and a training set handed over while a
fit runs replaces any that was waiting (only the newest matters). The worker is a forkserver
process: a clean one, not a fork of an engine with running threads. Models come back as bytes
and are read with the library's loader.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from application.ml.pipeline import Model, Trainer
from application.ml.retraining import FloatArray, Keep
from domain.ml.labels import LabelKind

log = logging.getLogger("tradeplane.ml")


def _fit(trainer: Trainer, features: FloatArray, labels: FloatArray, kind: LabelKind, seed: int) -> bytes:
    """The fit, as the worker process runs it: the model back as bytes (models cross processes so)."""
    known = np.isfinite(labels)
    return trainer.fit(features[known], labels[known], kind=kind, seed=seed).to_bytes()


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
