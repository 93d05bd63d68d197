"""The ``tradeplane`` command line."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Command:
    """A command as ``tradeplane --help`` lists it, and the module that registers its options
    (``add_parser``) and its handler. A module is imported only when its command runs, so that a
    command does not load what the others use (gRPC, the venues' network clients)."""

    name: str
    help: str
    module: str


COMMANDS = (
    Command("run", "run the engine with a configuration file", "entrypoints.commands.run"),
    Command("demo", "run everything offline: simulator, engine, paper broker", "entrypoints.commands.demo"),
    Command(
        "exchange-sim",
        "run a local exchange simulator (Binance, Coinbase or Kraken dialect)",
        "entrypoints.commands.exchange_sim",
    ),
    Command(
        "token", "create a gRPC bearer token and its [[grpc.tokens]] entry", "entrypoints.commands.token"
    ),
    Command("keys", "venue API keys, encrypted at rest", "entrypoints.commands.keys"),
    Command(
        "migrate", "create or upgrade the SQL stores to the current schema", "entrypoints.commands.migrate"
    ),
    Command(
        "backtest",
        "replay recorded trades or bars through the live engine and measure it",
        "entrypoints.commands.backtest",
    ),
    Command("ml", "train machine-learning models on history, list stored ones", "entrypoints.commands.ml"),
)
"""Every command, in the order ``tradeplane --help`` lists them."""


def build_parser(loaded: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``tradeplane`` parser with the options of the commands named in ``loaded`` (all of
    them when None); any other command is there by its name and help text alone, and its module
    is not imported."""
    parser = _Parser(prog="tradeplane", description="A live automated trading engine.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    # Typed as the plain parsers the command modules register on (a _Parser is one).
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser),
    )
    for command in COMMANDS:
        if loaded is None or command.name in loaded:
            # Imported here so that nothing runs at import time and `--version` stays instant.
            importlib.import_module(command.module).add_parser(commands)
        else:
            commands.add_parser(command.name, help=command.help)
    return parser


def named_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (the options before a
    command, ``--help`` and ``--version``, take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    named = named_command(arguments)
    parser = build_parser(loaded=() if named is None else (named,))
    args = parser.parse_args(arguments)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
