"""The progress display: percentage, rate and ETA; a bar on a terminal, sparse plain lines elsewhere."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from entrypoints.backtest.progress import ProgressDisplay, count_rows, progress_text, sweep_progress

ROWS = "".join(f"{i},40000.00,0.1,4000.0,{1_700_000_000_000 + i},True,True\n" for i in range(1, 1001))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_text_has_percent_counts_rate_and_eta() -> None:
    text = progress_text(450_000, 1_000_000, 2.5, unit="events", where="at 2024-01-31 12:00 UTC")
    assert text == "45 %  450,000 of 1,000,000 events  180,000 events/s  ETA 3.06s  at 2024-01-31 12:00 UTC"
    assert progress_text(3, 12, 6.0, unit="runs") == "25 %  run 3/12  0.50 runs/s  ETA 18s"
    assert progress_text(5_000, None, 1.0, unit="events") == "5,000 events  5,000 events/s"


def test_off_a_terminal_a_line_per_tenth_and_a_last_one() -> None:
    stream, clock = io.StringIO(), Clock()
    with ProgressDisplay(stream, total=1000, unit="events", interactive=False, clock=clock) as display:
        for done in range(1, 1001):
            clock.now = done / 100
            display.update(done, final=done == 1000)
    lines = stream.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == [str(p) for p in range(10, 101, 10)]
    assert lines[-1] == "100 %  1,000 of 1,000 events  100 events/s  ETA 0s"
    assert "\r" not in stream.getvalue()
    assert "\x1b" not in stream.getvalue()


@given(st.lists(st.integers(0, 10_000), max_size=200), st.one_of(st.none(), st.integers(1, 10_000)))
def test_off_a_terminal_never_more_than_eleven_plain_lines(steps: list[int], total: int | None) -> None:
    stream, clock = io.StringIO(), Clock()
    with ProgressDisplay(stream, total=total, unit="events", interactive=False, clock=clock) as display:
        done = 0
        for step in steps:
            done += step
            clock.now += 0.01
            display.update(done)
        display.update(done, final=True)
    output = stream.getvalue()
    assert 1 <= len(output.splitlines()) <= 11
    assert "\r" not in output
    assert "\x1b" not in output
    if total is not None and done:
        assert output.splitlines()[-1].startswith("100 %")


def test_on_a_terminal_a_bar_with_the_same_text() -> None:
    stream = io.StringIO()
    with sweep_progress(stream, 12, interactive=True) as progress:
        for done in range(1, 13):
            progress(done, 12)
    output = stream.getvalue()
    assert "\x1b[" in output  # drawn and redrawn in place
    assert "100 %  run 12/12  " in output
    assert "━" in output


def _files(tmp_path: Path) -> list[Path]:
    plain = tmp_path / "BTCUSDT-trades-2024-01.csv"
    plain.write_text(ROWS)
    headed = tmp_path / "BTCUSDT-trades-2024-02.csv"
    headed.write_text("id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n" + ROWS.rstrip("\n"))
    zipped = tmp_path / "BTCUSDT-trades-2024-03.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-trades-2024-03.csv", ROWS)
    gzipped = tmp_path / "BTCUSDT-trades-2024-04.csv.gz"
    gzipped.write_bytes(gzip.compress(ROWS.encode()))
    return [plain, headed, zipped, gzipped]


def test_rows_are_counted_in_every_container_without_the_header(tmp_path: Path) -> None:
    files = _files(tmp_path)
    assert [count_rows([str(path)]) for path in files] == [1000, 1000, 1000, 1000]
    assert count_rows([str(path) for path in files]) == 4000


def test_an_unreadable_file_has_no_count(tmp_path: Path) -> None:
    broken = tmp_path / "BTCUSDT-trades-2024-05.zip"
    broken.write_bytes(b"PK not a zip")
    assert count_rows([str(broken)]) is None
    assert count_rows([str(tmp_path / "missing.csv")]) is None
