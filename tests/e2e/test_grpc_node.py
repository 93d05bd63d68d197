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
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.demo_process import DemoProcess

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).resolve().parent / "node"
STAMP = NODE_DIR / "node_modules" / ".tradeplane-installed"
TOKEN = "node-e2e-token-0123456789abcdef"  # given to the demo as TRADEPLANE_ADMIN_TOKEN
MIN_NODE_MAJOR = 18
NPM_TIMEOUT_S = 240.0
CLIENT_TIMEOUT_S = 45.0


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


def test_the_node_client_trades_and_sees_its_fill_on_the_stream(tmp_path: Path) -> None:
    node, npm = _tool("node"), _tool("npm")
    _check_node(node)
    _ensure_packages(npm)

    demo = DemoProcess(TOKEN, tmp_path / "demo-stderr.txt")
    try:
        demo.wait_serving()
        client = subprocess.run(
            [node, "client.js", demo.address],
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
        code = demo.stop()
    output = demo.output()
    assert code == 0, output
    assert "summary:" in output
    assert "Traceback" not in output
