"""What a venue name, an API key, a secret and a passphrase must look like to be stored.

Checked before anything is encrypted, so a bad value fails with a message naming the field
and the rule, never echoing a key or a secret. The usual culprits are a line break or a space
pasted along with a key, an empty value from an unset variable, and a venue name that would
be read as a path.
"""

from __future__ import annotations

import re

from adapters.keystore.errors import InvalidInput

MAX_API_KEY = 256
MAX_SECRET = 16_384  # a 4096-bit RSA key in PEM is about 3.3 kB; HMAC secrets are 64 characters
MIN_PASSPHRASE = 8
MAX_PASSPHRASE = 1024

_VENUE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}(?::[a-z0-9][a-z0-9_-]{0,31})?")
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----\r?\n[\x20-\x7e\r\n]+-----END [A-Z0-9 ]+-----\r?\n?")


def check_venue(venue: str) -> str:
    """A venue name such as ``binance`` or ``binance:testnet`` (an account label after the colon)."""
    if not isinstance(venue, str) or not _VENUE.fullmatch(venue):
        shown = repr(venue[:40]) if isinstance(venue, str) else type(venue).__name__
        raise InvalidInput(
            f"venue name {shown} is not valid: use 1-32 lowercase letters, digits, '-' or '_', "
            "optionally followed by ':' and an account label of the same kind "
            "(binance, binance:testnet)"
        )
    return venue


def check_api_key(api_key: str) -> str:
    """An API key: printable ASCII without spaces, line breaks or control characters."""
    _check_token("API key", api_key, MAX_API_KEY)
    return api_key


def check_secret(secret: str) -> str:
    """An HMAC secret (printable ASCII, no spaces) or a PEM private key (lines of printable ASCII)."""
    if not isinstance(secret, str):
        raise InvalidInput("the API secret must be text")
    if secret.startswith("-----BEGIN "):
        if len(secret) > MAX_SECRET:
            raise InvalidInput(f"the API secret is longer than {MAX_SECRET} characters")
        if "\x00" in secret:
            raise InvalidInput("the API secret contains a NUL character")
        if not _PEM.fullmatch(secret):
            raise InvalidInput(
                "the API secret starts like a PEM private key but is not one "
                "(it needs BEGIN and END lines with only printable ASCII between them)"
            )
        return secret
    _check_token("API secret", secret, MAX_SECRET)
    return secret


def check_passphrase(passphrase: str, *, new: bool) -> str:
    """A passphrase; a new one (encrypting) must have at least ``MIN_PASSPHRASE`` characters."""
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidInput("the keystore passphrase is empty")
    if len(passphrase) > MAX_PASSPHRASE:
        raise InvalidInput(f"the keystore passphrase is longer than {MAX_PASSPHRASE} characters")
    if new and len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"the keystore passphrase must have at least {MIN_PASSPHRASE} characters")
    try:
        passphrase.encode()
    except UnicodeEncodeError:
        raise InvalidInput("the keystore passphrase is not valid Unicode text") from None
    return passphrase


def _check_token(what: str, value: str, limit: int) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"the {what} must be text")
    if not value:
        raise InvalidInput(f"the {what} is empty")
    if len(value) > limit:
        raise InvalidInput(f"the {what} is longer than {limit} characters")
    if "\x00" in value:
        raise InvalidInput(f"the {what} contains a NUL character")
    if not _TOKEN.fullmatch(value):
        raise InvalidInput(
            f"the {what} contains a space, a line break, a control or a non-ASCII character "
            "(was something pasted along with it?)"
        )
