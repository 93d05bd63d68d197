"""The ``tradeplane`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from entrypoints.version import package_version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradeplane", description="A live automated trading engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Imported here so that `tradeplane --version` stays instant and nothing runs at import time.
    from entrypoints.commands import backtest, demo, exchange_sim, keys, migrate, run, token

    run.add_parser(commands)
    demo.add_parser(commands)
    exchange_sim.add_parser(commands)
    token.add_parser(commands)
    keys.add_parser(commands)
    migrate.add_parser(commands)
    backtest.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
