"""A backtest process whose parent has gone (its call was cancelled) ends quietly."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from entrypoints.backtest.spec import BacktestSpec
from entrypoints.grpc.backtest_worker import _child


def test_a_child_whose_parent_left_ends_without_raising(tmp_path: Path) -> None:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    receiver.close()  # the parent is gone: every send is a broken pipe
    spec = BacktestSpec(data=(str(tmp_path / "missing.csv"),), strategy="sma_crossover")
    _child(spec, sender)  # raised BrokenPipeError (a traceback on stderr) before
    assert sender.closed
