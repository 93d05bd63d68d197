"""``python -m bench.web_gateway [--quick]``: the suite alone, or the server child (``--serve``)."""

from __future__ import annotations

import asyncio
import sys

from bench.web_gateway import run
from bench.web_gateway.common import FULL, QUICK
from bench.web_gateway.server import serve

if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(serve())
    else:
        for row in run(QUICK if "--quick" in sys.argv[1:] else FULL):
            print(f"{row.name:<55} {row.value:>12,.1f} {row.unit}  {row.note}")
