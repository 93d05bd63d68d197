"""The ``tradeplane`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, cast

from entrypoints.version import package_version


def shown_default(action: argparse.Action) -> str | None:
    """``(default: X)`` for an option with a default worth showing; None for a switch that is
    off, an optional input left out, or a positional."""
    default = action.default
    if not action.option_strings or action.nargs == 0 or default in (None, [], (), argparse.SUPPRESS):
        return None
    # A list as it is typed on the command line: BTCUSDT,ETHUSDT
    shown = ",".join(map(str, default)) if isinstance(default, tuple | list) else str(default)
    return f"(default: {shown.replace('%', '%%')})"


class DefaultsShown(argparse.HelpFormatter):
    """Each option's help ends with its default, unless its help already says what it is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = shown_default(action)
        if default is None or "default" in (action.help or ""):
            return action.help
        return f"{action.help} {default}"


class _Parser(argparse.ArgumentParser):
    """Every command's parser shows the defaults in its ``--help``, even of an option
    registered without a help text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsShown)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if action.help is None:
            action.help = shown_default(action)
        return action


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tradeplane", description="A live automated trading engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    # Typed as the plain parsers the command modules register on (a _Parser is one).
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser),
    )
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
