"""`tradeplane token`: a new token printed once, and the [[grpc.tokens]] block that grants it a role."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from entrypoints.cli import main
from entrypoints.grpc.auth import hash_token
from tests.unit.entrypoints.example_config import with_grpc_section


def test_the_token_command_prints_a_token_and_the_block_with_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", "--name", "alice", "--role", "viewer"]) == 0
    out = capsys.readouterr().out
    shown = re.search(r"shown once; give it to alice\): (\S+)", out)
    assert shown is not None
    token = shown.group(1)
    block = out[out.index("[[grpc.tokens]]") :]
    assert f'sha256 = "{hash_token(token)}"' in block
    assert token not in block
    settings = with_grpc_section(tmp_path, block)
    assert settings.grpc.tokens[0].role == "viewer"


@pytest.mark.parametrize("argv", [["token", "--name", "x"], ["token", "--name", "x", "--role", "root"]])
def test_the_token_command_refuses_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2


def test_a_bad_token_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--name", "a b", "--role", "admin"]) == 2
    assert "--name" in capsys.readouterr().err
