"""Generate the Python stubs of ``tradeplane.v1`` from ``proto/`` (``make proto``).

Writes ``*_pb2.py`` and ``*_pb2.pyi`` (messages), ``*_pb2_grpc.py`` (services) and
``*_pb2_grpc.pyi`` (typed sync and ``grpc.aio`` stubs, by mypy-protobuf) next to the
sources, so ``proto/`` is the package root of ``tradeplane.v1``. The stubs are committed;
``tests/unit/entrypoints/test_protogen.py`` regenerates them and fails on any difference.
"""

from __future__ import annotations

import shutil
import sys
from importlib.resources import files
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parents[1] / "proto"


def _plugin() -> str:
    """mypy-protobuf's gRPC plugin from this interpreter's environment, not whatever PATH has."""
    beside = Path(sys.executable).with_name("protoc-gen-mypy_grpc")
    found = str(beside) if beside.exists() else shutil.which("protoc-gen-mypy_grpc")
    if found is None:
        raise RuntimeError("protoc-gen-mypy_grpc is missing: install the dev extras (make venv)")
    return found


def generate(proto_root: Path = PROTO_ROOT, out: Path | None = None) -> list[Path]:
    """Run protoc on every ``.proto`` under ``proto_root/tradeplane``; returns the inputs.

    ``out`` defaults to ``proto_root`` (the committed stubs); the in-step test passes a
    temporary folder. Raises RuntimeError with protoc's exit code when generation fails.
    """
    from grpc_tools import protoc  # imported here: nothing happens at import time

    out = out or proto_root
    sources = sorted(proto_root.glob("tradeplane/**/*.proto"))
    if not sources:
        return []
    include = str(files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{proto_root}",
        f"-I{include}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin()}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_grpc_out={out}",
        *(str(path.relative_to(proto_root)) for path in sources),
    ]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")
    return sources


def main() -> int:
    sources = generate()
    if not sources:
        print(f"no .proto files under {PROTO_ROOT / 'tradeplane'} yet: nothing to generate")
        return 0
    print(f"generated stubs for {len(sources)} proto file(s) under {PROTO_ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
