"""``make demo`` passes the demo's options on: ``make demo ARGS="--grpc-listen 127.0.0.1:0"``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_passes_args_to_the_demo() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "demo", "ARGS=--grpc-listen 127.0.0.1:0 --memory"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    demo = [line for line in dry_run.stdout.splitlines() if "tradeplane demo" in line]
    assert demo, dry_run.stdout
    assert demo[-1].endswith("tradeplane demo --grpc-listen 127.0.0.1:0 --memory")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_says_how_to_pass_options() -> None:
    listed = subprocess.run(
        ["make", "help"], cwd=REPO, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert 'ARGS="' in next(line for line in listed.splitlines() if "make demo" in line)
