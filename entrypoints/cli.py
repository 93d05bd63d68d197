"""The ``tradeplane`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    try:
        return version("tradeplane")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def _demo(_: argparse.Namespace) -> int:
    print(f"tradeplane {package_version()}")
    print(
        "The domain core is in place (instruments, books, orders, positions, risk, indicators, "
        "strategies); the live engine behind `tradeplane demo` arrives with the engine issue."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradeplane", description="A live automated trading engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the offline demo")
    demo.set_defaults(handler=_demo)
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
