"""A service started against a Redis Cluster no node of which answers says so and exits 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from entrypoints.cli import main
from entrypoints.config import example_config_path


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("service", ["ingestion", "execution"])
def test_an_unreachable_cluster_is_named_not_a_traceback(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEPLANE_REDIS__URL", f"redis://127.0.0.1:{_closed_port()}/0")
    monkeypatch.setenv("TRADEPLANE_BUS__KIND", "redis")
    monkeypatch.setenv("TRADEPLANE_BUS__CLUSTER", "true")
    monkeypatch.setenv("TRADEPLANE_STORAGE__KIND", "memory")
    monkeypatch.setenv("TRADEPLANE_STORAGE__DATA_DIR", str(tmp_path))
    code = main(
        ["run", "--config", str(example_config_path()), "--service", service, "--no-grpc", "--duration", "1",
         "--metrics-listen", "127.0.0.1:0", "--log-level", "ERROR"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "no node of the Redis Cluster answers" in err
    assert "Traceback" not in err
