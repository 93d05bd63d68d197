"""Run every benchmark suite: a table on stdout, JSON in bench/results/latest.json."""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

from bench.harness import Result

SUITES = [
    "bench.decimal_vs_int",
    "bench.domain_micro",
    "bench.risk_check",
    "bench.engine_e2e",
    "bench.broker_roundtrip",
    "bench.ws_ingest",
    "bench.venue_ingest",
    "bench.grpc_api",
    "bench.web_gateway",
    "bench.persistence",
    "bench.historical_csv",
    "bench.backtest",
    "bench.ml",
    "bench.services",
]
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", help="run only suites whose module name contains this")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write the JSON")
    args = parser.parse_args(argv)

    results: list[Result] = []
    for name in SUITES:
        if args.only and not any(part in name for part in args.only):
            continue
        module = importlib.import_module(name)
        started = time.perf_counter()
        results.extend(module.run())
        print(f"# {name} done in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    width = max((len(r.name) for r in results), default=10)
    print(f"{'suite':<16} {'benchmark':<{width}} {'value':>14}  unit")
    for r in results:
        note = f"  ({r.note})" if r.note else ""
        print(f"{r.suite:<16} {r.name:<{width}} {r.value:>14,.1f}  {r.unit}{note}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "unix_time": int(time.time()),
        "results": [r.as_dict() for r in results],
    }
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"# JSON written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
