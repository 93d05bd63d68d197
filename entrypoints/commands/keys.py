"""``tradeplane keys``: add, list, check and remove venue API keys in the encrypted keystore.

Keys, secrets and passphrases are read with ``getpass`` (never echoed) or, with ``--from-env``
and ``TRADEPLANE_KEYSTORE_PASSPHRASE``, from the environment; nothing secret is ever printed,
only a masked API key (``vmPU…h8A``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.brokers.binance.signing import signer_for
from adapters.keystore.errors import InvalidInput, KeystoreError
from adapters.keystore.keystore import Keystore
from adapters.keystore.location import KEYSTORE_VARIABLE, default_keystore_path
from adapters.keystore.secret import Secret, mask
from adapters.keystore.validation import check_api_key, check_secret, check_venue
from entrypoints.credentials import (
    PASSPHRASE_VARIABLE,
    CredentialsError,
    Prompt,
    credential_variables,
    credentials_from_environment,
    stdin_is_terminal,
)

_SIGNATURES = {"hmac": "HMAC-SHA256", "ed25519": "Ed25519"}


class _Refused(Exception):
    """The command cannot go on; the message says why, ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class _Session:
    """What every action works with: the keystore, the terminal (if any) and the environment."""

    keystore: Keystore
    prompt: Prompt | None
    environ: Mapping[str, str]

    def ask(self, question: str, *, instead: str) -> str:
        """Ask without echo; refused, naming ``instead``, when there is no terminal."""
        if self.prompt is None:
            raise _Refused(f"stdin is not a terminal, so nothing can be asked: use {instead}", 2)
        return self.prompt(question)

    def passphrase(self) -> str | Secret:
        """The passphrase to open the keystore: from the environment, else asked once."""
        given = self.environ.get(PASSPHRASE_VARIABLE)
        if given:
            return given
        return Secret(self.ask(f"Passphrase for {self.keystore.path}: ", instead=PASSPHRASE_VARIABLE))

    def new_passphrase(self) -> str | Secret:
        """The passphrase to encrypt with: from the environment, else asked twice to rule out a typo."""
        given = self.environ.get(PASSPHRASE_VARIABLE)
        if given:
            return given
        path = self.keystore.path
        first = Secret(self.ask(f"Passphrase to encrypt with ({path}): ", instead=PASSPHRASE_VARIABLE))
        again = Secret(self.ask("The same passphrase again: ", instead=PASSPHRASE_VARIABLE))
        if first != again:
            raise _Refused("the two passphrases differ; nothing was stored")
        return first


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``keys`` on the ``tradeplane`` command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--keystore",
        type=Path,
        metavar="PATH",
        help=f"the keystore file (default: ${KEYSTORE_VARIABLE}, else ~/.config/tradeplane/keys.json)",
    )
    parser = commands.add_parser("keys", help="venue API keys, encrypted at rest")
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", parents=[common], help="encrypt and store a venue's API key and secret")
    add.add_argument("venue", metavar="VENUE", help="binance, or binance:LABEL for another account")
    add.add_argument(
        "--from-env",
        action="store_true",
        help="read the key and secret from TRADEPLANE_<VENUE>_API_KEY and TRADEPLANE_<VENUE>_API_SECRET",
    )
    add.add_argument("--replace", action="store_true", help="overwrite keys already stored (rotation)")
    actions.add_parser("list", parents=[common], help="the venues with stored keys (no passphrase needed)")
    remove = actions.add_parser("remove", parents=[common], help="delete a venue's stored keys")
    remove.add_argument("venue", metavar="VENUE")
    check = actions.add_parser("check", parents=[common], help="decrypt a venue's keys, show the key masked")
    check.add_argument("venue", metavar="VENUE")
    parser.set_defaults(handler=_main)


def terminal_prompt() -> Prompt | None:
    """``getpass`` when stdin is a terminal; None when nobody can be asked (a pipe, a service)."""
    return getpass.getpass if stdin_is_terminal() else None


def _main(args: argparse.Namespace) -> int:
    return run(args, prompt=terminal_prompt(), environ=os.environ)


def run(args: argparse.Namespace, *, prompt: Prompt | None, environ: Mapping[str, str]) -> int:
    """Do what ``args.keys_action`` asks; ``prompt`` reads a line without echo (None: no terminal)."""
    actions: dict[str, Callable[[argparse.Namespace, _Session], None]]
    actions = {"add": _add, "list": _list, "remove": _remove, "check": _check}
    path = args.keystore if args.keystore is not None else default_keystore_path(environ)
    session = _Session(Keystore(path), prompt, environ)
    try:
        if args.keys_action != "list":
            check_venue(args.venue)
        actions[args.keys_action](args, session)
    except _Refused as refused:
        return _fail(str(refused), refused.code)
    except InvalidInput as refused:
        return _fail(str(refused), 2)
    except (KeystoreError, CredentialsError) as failed:
        return _fail(str(failed), 1)
    except (KeyboardInterrupt, EOFError):
        return _fail("cancelled; nothing was changed", 130)
    return 0


def _add(args: argparse.Namespace, session: _Session) -> None:
    venue, keystore = args.venue, session.keystore
    if venue in keystore and not args.replace:
        raise _Refused(f"{keystore.path} already holds keys for {venue}; add --replace to rotate them")
    if args.from_env:
        api_key, secret = _from_environment(venue, session.environ)
    else:
        api_key = session.ask(f"API key for {venue}: ", instead="--from-env")
        check_api_key(api_key)  # checked as soon as typed, not after two more questions
        secret = Secret(session.ask(f"API secret for {venue}: ", instead="--from-env"))
        check_secret(secret.reveal())
    keystore.add(venue, api_key, secret, session.new_passphrase(), replace=args.replace)
    print(f"stored the keys for {venue} (API key {mask(api_key)}) in {keystore.path}")


def _list(args: argparse.Namespace, session: _Session) -> None:
    venues = session.keystore.venues()
    for venue in venues:
        print(venue)
    if not venues:
        print(f"no keys stored in {session.keystore.path}", file=sys.stderr)


def _remove(args: argparse.Namespace, session: _Session) -> None:
    session.keystore.remove(args.venue)
    print(f"removed the keys for {args.venue} from {session.keystore.path}")


def _check(args: argparse.Namespace, session: _Session) -> None:
    venue, keystore = args.venue, session.keystore
    if venue not in keystore:  # said before asking for a passphrase that could not help
        raise _Refused(
            f"{keystore.path} holds no keys for {venue}; add them with `tradeplane keys add {venue}`"
        )
    api_key, secret = keystore.get(venue, session.passphrase())
    try:
        kind = signer_for(secret.reveal()).kind
    except ValueError as unusable:
        raise _Refused(f"the keys for {venue} decrypt, but the secret cannot sign: {unusable}") from None
    print(f"{venue}: API key {mask(api_key)}; the secret decrypts and signs with {_SIGNATURES[kind]}")
    key_variable, secret_variable = credential_variables(venue)
    if key_variable in session.environ or secret_variable in session.environ:
        print(f"note: {key_variable} or {secret_variable} is set, and the environment wins over the keystore")


def _from_environment(venue: str, environ: Mapping[str, str]) -> tuple[str, Secret]:
    found = credentials_from_environment(venue, environ)
    if found is None:
        key_variable, secret_variable = credential_variables(venue)
        raise _Refused(f"--from-env: set {key_variable} and {secret_variable}", 2)
    return found


def _fail(message: str, code: int) -> int:
    print(f"tradeplane keys: {message}", file=sys.stderr)
    return code
