"""Another language against the real demo process: the Node.js client in ``tests/e2e/node``
(@grpc/grpc-js, the .proto files loaded at run time) reads the status, trades, watches its
fill arrive on a stream and gets the documented status codes.

Needs Node.js 18+ and npm; without them the test fails (it never skips). The packages are
installed with ``npm ci`` from the committed lock file on the first run, and again only when
package.json or package-lock.json change.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).resolve().parent / "node"
STAMP = NODE_DIR / "node_modules" / ".tradeplane-installed"
TOKEN = "node-e2e-token-0123456789abcdef"  # given to the demo as TRADEPLANE_ADMIN_TOKEN
MIN_NODE_MAJOR = 18
NPM_TIMEOUT_S = 240.0
START_TIMEOUT_S = 30.0
CLIENT_TIMEOUT_S = 45.0
STOP_TIMEOUT_S = 30.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not on PATH: the Node.js gRPC end-to-end test needs Node.js {MIN_NODE_MAJOR}+"
            " with npm (e.g. apt-get install nodejs npm, or https://nodejs.org)"
        )
    return path


def _check_node(node: str) -> None:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.match(r"v(\d+)\.", version.stdout.strip())
    if version.returncode != 0 or match is None:
        pytest.fail(f"`node --version` failed: {version.stdout}{version.stderr}")
    if int(match.group(1)) < MIN_NODE_MAJOR:
        pytest.fail(f"Node.js {MIN_NODE_MAJOR}+ is needed, found {version.stdout.strip()} at {node}")


def _manifest_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        path = NODE_DIR / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()


def _ensure_packages(npm: str) -> None:
    """``npm ci`` (``npm install`` without a lock file) unless node_modules matches the manifests."""
    wanted = _manifest_digest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    locked = (NODE_DIR / "package-lock.json").exists()
    command = [npm, "ci" if locked else "install", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        result = subprocess.run(
            command, cwd=NODE_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(command[:2])}` in {NODE_DIR} took over {NPM_TIMEOUT_S:g}s (no registry?)")
    if result.returncode != 0:
        pytest.fail(f"`{' '.join(command[:2])}` in {NODE_DIR} failed:\n{result.stdout}\n{result.stderr}")
    STAMP.write_text(wanted + "\n")


def _pump(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _drain(lines: queue.Queue[str | None]) -> list[str | None]:
    drained = []
    while not lines.empty():
        drained.append(lines.get_nowait())
    return drained


def _wait_for_address(process: subprocess.Popen[str], lines: queue.Queue[str | None], seen: list[str]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"the demo printed no gRPC address within {START_TIMEOUT_S:g}s:\n{''.join(seen)}")
        if line is None:
            process.wait(timeout=STOP_TIMEOUT_S)
            pytest.fail(f"the demo exited with {process.returncode} before serving:\n{''.join(seen)}")
        seen.append(line)
        match = re.match(r"gRPC control plane on (\S+?);", line)
        if match:
            return match.group(1)


def test_the_node_client_trades_and_sees_its_fill_on_the_stream(tmp_path: Path) -> None:
    node, npm = _tool("node"), _tool("npm")
    _check_node(node)
    _ensure_packages(npm)

    stderr_path = tmp_path / "demo-stderr.txt"
    with stderr_path.open("w") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "demo", "--grpc-listen", "127.0.0.1:0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "TRADEPLANE_ADMIN_TOKEN": TOKEN},
        )
    assert demo.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(demo.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        address = _wait_for_address(demo, lines, seen)
        client = subprocess.run(
            [node, "client.js", address],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_S,
            check=False,
            env={**os.environ, "TRADEPLANE_TOKEN": TOKEN},
        )
        assert client.returncode == 0, f"client.js failed:\n{client.stdout}\n{client.stderr}"
        summary: dict[str, Any] = json.loads(client.stdout.strip().splitlines()[-1])
        assert summary["ok"] is True
        assert summary["mode"] == "demo"
        assert summary["client_order_id"].startswith("node-")
        assert summary["fill_quantity"] == "0.001"
        assert summary["events"][-1] == "ORDER_STATUS_FILLED"
        assert summary["invalid_argument"]["code"] == 3
        assert summary["invalid_argument"]["details"].startswith("quantity:")
        assert summary["unauthenticated"]["code"] == 16
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        reader.join(timeout=STOP_TIMEOUT_S)
        demo.stdout.close()
    seen.extend(line for line in _drain(lines) if line is not None)
    output = "".join(seen) + "\nstderr:\n" + stderr_path.read_text(errors="replace")
    assert demo.returncode == 0, output
    assert "summary:" in output
    assert "Traceback" not in output
