"""``tradeplane demo`` as a child process for end-to-end tests: started with a known admin
token on a free gRPC port, its output read line by line, stopped with Ctrl-C.

Used by the grpcurl and Node.js tests; every wait is bounded and a failure shows what the
demo printed.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


class DemoProcess:
    """A running demo: ``address`` (HOST:PORT) and the ``try_line`` it printed for grpcurl; after
    ``wait_console``, the console's ``console_url`` and the ``viewer_token`` it printed."""

    def __init__(self, token: str, stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        with stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "entrypoints.cli",
                    "demo",
                    "--grpc-listen",
                    "127.0.0.1:0",
                    "--metrics-listen",  # never the fixed defaults: tests run side by side
                    "127.0.0.1:0",
                    "--web-listen",
                    "127.0.0.1:0",
                    "--data-dir",
                    str(stderr_path.parent / "data"),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "TRADEPLANE_ADMIN_TOKEN": token},
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.printed: list[str] = []
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=_pump, args=(self.process.stdout, self._lines), daemon=True)
        self._reader.start()
        self.address = ""
        self.try_line = ""
        self.console_url = ""
        self.viewer_token = ""

    def wait_serving(self) -> None:
        """Read up to the "try in another terminal" line: the address and the grpcurl line."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (match := re.match(r"gRPC control plane on (\S+?);", self.next_line(deadline))):
            pass
        self.address = match.group(1)
        while "try in another terminal" not in self.next_line(deadline):
            pass
        self.try_line = self.next_line(deadline).strip()

    def wait_console(self) -> None:
        """After ``wait_serving``: read up to the web console's line, its URL and viewer token."""
        deadline = time.monotonic() + START_TIMEOUT_S
        pattern = r"web console on (http://\S+?)/ .* viewer token: (\S+)"
        while not (match := re.match(pattern, self.next_line(deadline))):
            pass
        self.console_url, self.viewer_token = match.group(1), match.group(2)

    def next_line(self, deadline: float) -> str:
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"the demo printed nothing more within {START_TIMEOUT_S:g}s:\n{self.output()}")
        if line is None:
            self.process.wait(timeout=STOP_TIMEOUT_S)
            pytest.fail(f"the demo exited with {self.process.returncode} before serving:\n{self.output()}")
        self.printed.append(line)
        return line

    def stop(self) -> int:
        """Ctrl-C, wait (kill after STOP_TIMEOUT_S), collect the rest of the output; the exit code."""
        process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._reader.join(timeout=STOP_TIMEOUT_S)  # EOF once the process is gone
        while not self._lines.empty():
            line = self._lines.get_nowait()
            if line is not None:
                self.printed.append(line)
        assert process.stdout is not None
        process.stdout.close()
        return process.returncode

    def output(self) -> str:
        err = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return "stdout:\n" + "".join(self.printed) + "\nstderr:\n" + err


def _pump(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)
