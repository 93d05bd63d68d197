"""A venue's API key and secret for this process: from the environment, else from the keystore.

Environment variables come first because containers and CI have no terminal and inject secrets
that way; both must be set, or neither. Otherwise the encrypted keystore is opened with the
passphrase from ``TRADEPLANE_KEYSTORE_PASSPHRASE`` or, when a person is at the terminal, asked
for. Every failure is a ``CredentialsError`` that says what to do, and never holds a secret.
"""

from __future__ import annotations

import getpass
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from adapters.keystore.errors import InvalidInput, KeystoreError, WrongPassphrase
from adapters.keystore.keystore import Keystore
from adapters.keystore.location import default_keystore_path
from adapters.keystore.secret import Secret
from adapters.keystore.validation import check_api_key, check_secret, check_venue

PASSPHRASE_VARIABLE = "TRADEPLANE_KEYSTORE_PASSPHRASE"

Prompt = Callable[[str], str]


class CredentialsError(Exception):
    """No usable credentials; the message names what is missing and how to provide it."""


def credential_variables(venue: str) -> tuple[str, str]:
    """The environment variables for ``venue``'s key and secret: ``binance:testnet`` gives
    ``TRADEPLANE_BINANCE_TESTNET_API_KEY`` and ``TRADEPLANE_BINANCE_TESTNET_API_SECRET``."""
    stem = re.sub(r"[^A-Z0-9]", "_", venue.upper())
    return f"TRADEPLANE_{stem}_API_KEY", f"TRADEPLANE_{stem}_API_SECRET"


def credentials_from_environment(venue: str, environ: Mapping[str, str]) -> tuple[str, Secret] | None:
    """The key and secret the environment gives ``venue``, or None when it gives neither."""
    key_variable, secret_variable = credential_variables(venue)
    api_key, secret = environ.get(key_variable), environ.get(secret_variable)
    if api_key is None and secret is None:
        return None
    if api_key is None or secret is None:
        missing = key_variable if api_key is None else secret_variable
        present = secret_variable if api_key is None else key_variable
        raise CredentialsError(f"{present} is set but {missing} is not: set both, or neither")
    try:
        check_api_key(api_key)
    except InvalidInput as refused:
        raise CredentialsError(f"{key_variable}: {refused}") from None
    try:
        check_secret(secret)
    except InvalidInput as refused:
        raise CredentialsError(f"{secret_variable}: {refused}") from None
    return api_key, Secret(secret)


def resolve_credentials(
    venue: str,
    *,
    keystore_path: Path | str | None = None,
    environ: Mapping[str, str] = os.environ,
    prompt: Prompt = getpass.getpass,
    interactive: bool | None = None,
) -> tuple[str, Secret]:
    """``(api_key, secret)`` for ``venue``, from the environment or the keystore.

    ``interactive`` says whether ``prompt`` may be used; by default, only when stdin is a
    terminal (a service or a pipe would otherwise hang, or read the passphrase from its input).
    """
    try:
        check_venue(venue)
    except InvalidInput as refused:
        raise CredentialsError(str(refused)) from None
    from_environment = credentials_from_environment(venue, environ)
    if from_environment is not None:
        return from_environment
    keystore = Keystore(keystore_path if keystore_path is not None else default_keystore_path(environ))
    key_variable, secret_variable = credential_variables(venue)
    try:
        if venue not in keystore:
            raise CredentialsError(
                f"no API keys for {venue}: store them with `tradeplane keys add {venue}` "
                f"(in {keystore.path}), or set {key_variable} and {secret_variable}"
            )
        passphrase = _passphrase(keystore, environ, prompt, interactive)
        return keystore.get(venue, passphrase)
    except WrongPassphrase as failed:
        hint = f" (from {PASSPHRASE_VARIABLE})" if environ.get(PASSPHRASE_VARIABLE) else ""
        raise CredentialsError(f"{failed}{hint}") from None
    except KeystoreError as failed:
        raise CredentialsError(str(failed)) from None


def _passphrase(
    keystore: Keystore, environ: Mapping[str, str], prompt: Prompt, interactive: bool | None
) -> Secret:
    given = environ.get(PASSPHRASE_VARIABLE)
    if given:
        return Secret(given)
    if interactive is None:
        interactive = stdin_is_terminal()
    if not interactive:
        raise CredentialsError(
            f"the keystore {keystore.path} needs its passphrase and there is no terminal to ask it on: "
            f"set {PASSPHRASE_VARIABLE}"
        )
    try:
        return Secret(prompt(f"Passphrase for {keystore.path}: "))
    except EOFError:
        raise CredentialsError(f"no passphrase given for {keystore.path}") from None


def stdin_is_terminal() -> bool:
    """True when a person can be asked something (stdin is a terminal)."""
    return sys.stdin is not None and sys.stdin.isatty()
