"""The keystore file's JSON layout, version 1, and a strict reader for it.

    {"format": "tradeplane-keystore", "version": 1,
     "entries": {"binance": {"kdf": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<base64>",
                             "cipher": "aes-256-gcm", "nonce": "<base64>",
                             "ciphertext": "<base64>"}}}

Venue names are in clear so that listing and removing need no passphrase; everything else
about an entry is either random (salt, nonce) or encrypted. The reader refuses anything it
does not fully understand (a foreign JSON file, a newer version, a malformed entry) with an
error naming the file, rather than guessing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.keystore.errors import CorruptKeystore, InvalidInput
from adapters.keystore.sealing import (
    FORMAT_VERSION,
    NONCE_BYTES,
    SALT_BYTES,
    TAG_BYTES,
    ScryptCost,
    SealedEntry,
)
from adapters.keystore.validation import check_venue

FORMAT = "tradeplane-keystore"
MAX_FILE_BYTES = 1 << 20
_ENTRY_FIELDS = {"kdf", "n", "r", "p", "salt", "cipher", "nonce", "ciphertext"}


def dumps(entries: Mapping[str, SealedEntry]) -> bytes:
    """The file's bytes for these entries (sorted, so a rewrite changes only what changed)."""
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "entries": {venue: _entry_json(entry) for venue, entry in sorted(entries.items())},
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def loads(data: bytes, path: Path) -> dict[str, SealedEntry]:
    """The entries in a keystore file's bytes; ``CorruptKeystore`` naming ``path`` otherwise."""
    if len(data) > MAX_FILE_BYTES:
        raise _corrupt(path, f"it is larger than {MAX_FILE_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _corrupt(path, "it is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _corrupt(path, "it has no tradeplane-keystore marker")
    version = document.get("version")
    if type(version) is int and version > FORMAT_VERSION:
        raise _corrupt(path, f"it was written by a newer tradeplane (format version {version})")
    if version != FORMAT_VERSION:
        raise _corrupt(path, f"its format version is not {FORMAT_VERSION}")
    entries = document.get("entries")
    if not isinstance(entries, dict):
        raise _corrupt(path, "it has no entries")
    result = {}
    for venue, entry in entries.items():
        try:
            check_venue(venue)
        except InvalidInput:
            raise _corrupt(path, "it has an entry with an invalid venue name") from None
        result[venue] = _entry(entry, venue, path)
    return result


def _entry_json(entry: SealedEntry) -> dict[str, Any]:
    return {
        "kdf": "scrypt",
        "n": entry.cost.n,
        "r": entry.cost.r,
        "p": entry.cost.p,
        "salt": _b64(entry.salt),
        "cipher": "aes-256-gcm",
        "nonce": _b64(entry.nonce),
        "ciphertext": _b64(entry.ciphertext),
    }


def _entry(raw: object, venue: str, path: Path) -> SealedEntry:
    def bad(why: str) -> CorruptKeystore:
        return _corrupt(path, f"the entry for {venue!r} {why}")

    if not isinstance(raw, dict) or set(raw) != _ENTRY_FIELDS:
        raise bad(f"does not have exactly the fields {', '.join(sorted(_ENTRY_FIELDS))}")
    if raw["kdf"] != "scrypt" or raw["cipher"] != "aes-256-gcm":
        raise bad("uses an unknown key derivation or cipher")
    try:
        cost = ScryptCost(n=raw["n"], r=raw["r"], p=raw["p"]).checked()
    except ValueError as refused:
        raise bad(f"has unusable scrypt parameters ({refused})") from None
    salt, nonce, ciphertext = (_unb64(raw[name]) for name in ("salt", "nonce", "ciphertext"))
    if salt is None or len(salt) != SALT_BYTES:
        raise bad(f"does not have a {SALT_BYTES}-byte base64 salt")
    if nonce is None or len(nonce) != NONCE_BYTES:
        raise bad(f"does not have a {NONCE_BYTES}-byte base64 nonce")
    if ciphertext is None or len(ciphertext) <= TAG_BYTES:
        raise bad("does not have a base64 ciphertext")
    return SealedEntry(cost=cost, salt=salt, nonce=nonce, ciphertext=ciphertext)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _corrupt(path: Path, why: str) -> CorruptKeystore:
    return CorruptKeystore(f"{path} is not a usable tradeplane keystore: {why}")
