"""Generate Python stubs (``*_pb2.py``, ``*_pb2_grpc.py``, ``.pyi``) from ``proto/`` (``make proto``)."""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parents[1] / "proto"


def generate(proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Run protoc on every ``.proto`` under ``proto_root/tradeplane``; returns the inputs.

    Output goes next to the sources so ``tradeplane.v1`` imports from ``proto/``.
    Raises RuntimeError with protoc's exit code when generation fails.
    """
    from grpc_tools import protoc  # imported here: nothing happens at import time

    sources = sorted(proto_root.glob("tradeplane/**/*.proto"))
    if not sources:
        return []
    include = str(files("grpc_tools") / "_proto")
    args = [
        "protoc",
        f"-I{proto_root}",
        f"-I{include}",
        f"--python_out={proto_root}",
        f"--pyi_out={proto_root}",
        f"--grpc_python_out={proto_root}",
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
