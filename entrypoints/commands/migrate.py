"""``tradeplane migrate``: upgrade every configured SQL store to this code's schema head."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from entrypoints.config import ConfigError, example_config_path


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``migrate`` on the ``tradeplane`` command line."""
    parser = commands.add_parser("migrate", help="create or upgrade the SQL stores to the current schema")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"TOML configuration, its [storage] table (default: {example_config_path()})",
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from adapters.persistence.migrate import upgrade
    from entrypoints.storage import open_engines
    from entrypoints.validation import load_validated

    logging.getLogger("alembic").setLevel(logging.WARNING)  # this command says what it did itself

    try:
        settings = load_validated(args.config)  # the whole of it, before a database is created
        if settings.storage.kind == "memory":
            print("[storage] kind is memory: nothing to migrate")
            return 0
        engines = open_engines(settings.storage)
    except ConfigError as error:
        print(f"tradeplane: {error}", file=sys.stderr)
        return 2
    done: dict[int, str] = {}
    for name, engine in engines.items():
        shown = engine.url.render_as_string(hide_password=True)
        if id(engine) in done:
            print(f"{name}: {shown} (shared with {done[id(engine)]})")
            continue
        try:
            before, after = upgrade(engine)
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
            print(
                f"tradeplane: migrating the {name} database ({shown}) failed, nothing was changed: {reason}",
                file=sys.stderr,
            )
            return 2
        done[id(engine)] = name
        change = "already at" if before == after else f"{before or 'empty'} ->"
        print(f"{name}: {shown}: {change} {after}")
    for engine in {id(e): e for e in engines.values()}.values():
        engine.dispose()
    return 0
