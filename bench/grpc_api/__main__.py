"""``python -m bench.grpc_api``: the suite alone, or a server child (``--serve-engine``, ``--serve-echo``)."""

from __future__ import annotations

import asyncio
import sys

from bench.grpc_api import run
from bench.grpc_api.common import FULL, QUICK
from bench.grpc_api.servers import serve_echo, serve_engine

if __name__ == "__main__":
    if sys.argv[1:] == ["--serve-engine"]:
        asyncio.run(serve_engine())
    elif sys.argv[1:] == ["--serve-echo"]:
        asyncio.run(serve_echo())
    else:
        for row in run(QUICK if "--quick" in sys.argv[1:] else FULL):
            print(f"{row.name:<45} {row.value:>12,.3f} {row.unit}  {row.note}")
