"""How far a backtest (or a sweep) has come, on stderr: percentage, rate and time left.

On a terminal a ``rich`` bar redraws in place. Anywhere else (a pipe, a CI log, a file) no
control character is written: one plain line each time another tenth of the work is done,
and a last line at the end. The text is the same in both and uses the backtest's number
formats (``formatting``). The total is what the input holds (``count_rows``); when it cannot
be told, the display shows the count and the rate without a percentage.
"""

from __future__ import annotations

import gzip
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from entrypoints.backtest.formatting import format_count, format_duration, format_percent, format_time

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from application.backtest import BacktestProgress

REDRAW_S = 0.1
"""A terminal's bar is redrawn at most this often."""
STEPS = 10
"""A plain (non-terminal) display writes a line at each tenth of the work."""
CHUNK = 1 << 20


def count_rows(paths: Sequence[str]) -> int | None:
    """The data rows in ``paths`` (.csv, .csv.gz, .zip), a header row left out; None when a
    file cannot be read (the run itself then says what is wrong with it).

    Counting newlines in 1 MiB blocks reads the files once more, at the speed of decompression:
    a small share of a replay, which handles each row in Python.
    """
    total = 0
    for path in paths:
        try:
            with ExitStack() as stack:
                total += _rows(_binary(stack, Path(path)))
        except (OSError, EOFError, zipfile.BadZipFile, ValueError):
            return None
    return total


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _binary(stack: ExitStack, path: Path) -> _Readable:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"PK":
        archive = stack.enter_context(zipfile.ZipFile(path))
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            raise ValueError(f"{path} holds {len(members)} files")
        return stack.enter_context(archive.open(members[0]))
    if magic == b"\x1f\x8b":
        return stack.enter_context(gzip.open(path, "rb"))
    return stack.enter_context(path.open("rb"))


def _rows(binary: _Readable) -> int:
    lines, first, last = 0, b"", b"\n"
    while block := binary.read(CHUNK):
        if not first:
            first = block[:1]
        lines += block.count(b"\n")
        last = block[-1:]
    if last != b"\n":
        lines += 1  # a last line without its newline
    header = first != b"" and not first.isdigit()  # Binance rows start with a number
    return lines - 1 if header else lines


def progress_text(
    done: int, total: int | None, elapsed_s: float, *, unit: str, where: str | None = None
) -> str:
    """``45 %  450,000 of 1,000,000 events  180,000 events/s  ETA 3.06s  at 2024-01-31 12:00 UTC``."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    parts = []
    if total:
        parts.append(format_percent(min(done, total) / total, places=0))
        parts.append(
            f"{unit[:-1]} {format_count(done)}/{format_count(total)}"
            if unit == "runs"
            else f"{format_count(done)} of {format_count(total)} {unit}"
        )
    else:
        parts.append(f"{format_count(done)} {unit}")
    parts.append(f"{format_count(round(rate)) if rate >= 10 else f'{rate:.2f}'} {unit}/s")
    if total and rate > 0:
        left_s = max(total - done, 0) / rate
        parts.append(f"ETA {format_duration(round(left_s * 1e9))}")
    if where:
        parts.append(where)
    return "  ".join(parts)


class ProgressDisplay:
    """Shows ``done`` of ``total`` ``unit`` on ``stream``: a bar on a terminal, lines elsewhere.

    ``interactive`` defaults to whether ``stream`` is a terminal; ``clock`` (seconds) is
    injectable for tests. Use it as a context manager, or call ``close`` once.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        total: int | None,
        unit: str,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._total = total
        self._unit = unit
        self._clock = clock
        self._started = clock()
        self._last_draw = float("-inf")
        self._last_step = 0
        self._text = ""
        self._done = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if stream.isatty() if interactive is None else interactive:
            self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        console = Console(file=self._stream, force_terminal=True, highlight=False)
        self._bar = Progress(
            BarColumn(bar_width=30), TextColumn("{task.description}"), console=console, auto_refresh=False
        )
        self._task = self._bar.add_task("", total=self._total)
        self._bar.start()

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, done: int, *, where: str | None = None, final: bool = False) -> None:
        """``done`` units so far (``where``: a word on what is being done); ``final`` at the end."""
        now = self._clock()
        self._done = done
        if final and self._total is not None:
            self._total = done  # what the input really held (rows skipped, a short file): 100 %
        text = progress_text(done, self._total, now - self._started, unit=self._unit, where=where)
        self._text = text
        if self._bar is not None and self._task is not None:
            if final or now - self._last_draw >= REDRAW_S:
                self._last_draw = now
                self._bar.update(
                    self._task, completed=done, total=self._total, description=text, refresh=True
                )
            return
        step = STEPS if final or not self._total else min(STEPS, done * STEPS // self._total)
        if final or (self._total and step > self._last_step):
            self._last_step = step
            print(text, file=self._stream, flush=True)

    def close(self) -> None:
        """Stop redrawing (the last state stays on screen)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class ReplayProgress:
    """A run's ``BacktestProgress`` reports on a ``ProgressDisplay``: events and replayed time."""

    def __init__(self, display: ProgressDisplay) -> None:
        self.display = display

    def __call__(self, progress: BacktestProgress) -> None:
        where = f"at {format_time(progress.ts_event)[:16]} UTC" if progress.ts_event else None
        self.display.update(progress.events, where=where, final=progress.done)


@contextmanager
def replay_progress(
    stream: TextIO, total: int | None, *, interactive: bool | None = None
) -> Iterator[ReplayProgress]:
    """A ``ReplayProgress`` on ``stream`` for the length of a ``with`` block."""
    with ProgressDisplay(stream, total=total, unit="events", interactive=interactive) as display:
        yield ReplayProgress(display)


class SweepProgress:
    """A sweep's finished runs on a ``ProgressDisplay``: ``run 3/12``, percentage, time left."""

    def __init__(self, display: ProgressDisplay) -> None:
        self.display = display

    def __call__(self, done: int, total: int) -> None:
        self.display.update(done, final=done == total)


@contextmanager
def sweep_progress(stream: TextIO, total: int, *, interactive: bool | None = None) -> Iterator[SweepProgress]:
    """A ``SweepProgress`` over ``total`` runs on ``stream`` for the length of a ``with`` block."""
    with ProgressDisplay(stream, total=total, unit="runs", interactive=interactive) as display:
        yield SweepProgress(display)
