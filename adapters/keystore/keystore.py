"""``Keystore``: venue API keys and secrets, encrypted under a passphrase, in one private file.

Each venue (``binance``, or ``binance:testnet`` for a second account) has its own entry,
sealed as ``sealing`` describes; the file's layout is in ``document`` and how it is written in
``private_file``. Listing and removing need no passphrase (venue names are stored in clear);
reading an entry needs the passphrase it was added with.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from adapters.keystore import document
from adapters.keystore.errors import (
    CorruptKeystore,
    KeystoreError,
    UnknownVenue,
    VenueExists,
    WrongPassphrase,
)
from adapters.keystore.private_file import ensure_private_dir, exclusive, read_private, write_private
from adapters.keystore.sealing import DEFAULT_SCRYPT_N, ScryptCost, SealedEntry, seal, unseal
from adapters.keystore.secret import Secret
from adapters.keystore.validation import check_api_key, check_passphrase, check_secret, check_venue

log = logging.getLogger("tradeplane.keystore")


class Keystore:
    """The keystore file at ``path``; ``scrypt_n`` is the cost of new entries (lower it in tests only)."""

    __slots__ = ("_cost", "_path")

    def __init__(self, path: Path | str, *, scrypt_n: int = DEFAULT_SCRYPT_N) -> None:
        self._path = Path(path)
        try:
            self._cost = ScryptCost(n=scrypt_n).checked()
        except ValueError as refused:
            raise ValueError(f"scrypt_n: {refused}") from None

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"Keystore({str(self._path)!r})"

    def venues(self) -> list[str]:
        """The venues with stored keys, sorted; an empty list when the file does not exist."""
        return sorted(self._load())

    def __contains__(self, venue: object) -> bool:
        return isinstance(venue, str) and venue in self._load()

    def add(
        self,
        venue: str,
        api_key: str,
        secret: str | Secret,
        passphrase: str | Secret,
        *,
        replace: bool = False,
    ) -> None:
        """Store ``venue``'s key and secret, encrypted; ``replace`` to rotate keys already there."""
        check_venue(venue)
        check_api_key(api_key)
        plain_secret = check_secret(_plain(secret))
        plain_passphrase = check_passphrase(_plain(passphrase), new=True)
        # The expensive derivation happens before the lock: other writers do not wait on it.
        sealed = seal(venue, api_key, plain_secret, plain_passphrase, self._cost)
        self._ensure_dir()
        with self._writing():
            entries = self._load()
            if venue in entries and not replace:
                raise VenueExists(
                    f"{self._path} already holds keys for {venue}; "
                    f"replace them with `tradeplane keys add {venue} --replace`"
                )
            entries[venue] = sealed
            self._save(entries)
        log.info("keystore %s: stored the keys for %s", self._path, venue)

    def get(self, venue: str, passphrase: str | Secret) -> tuple[str, Secret]:
        """``(api_key, secret)`` for ``venue``; ``WrongPassphrase`` if it does not decrypt."""
        check_venue(venue)
        plain_passphrase = check_passphrase(_plain(passphrase), new=False)
        entry = self._load().get(venue)
        if entry is None:
            raise self._unknown(venue)
        try:
            api_key, secret = unseal(venue, entry, plain_passphrase)
        except WrongPassphrase as failed:
            raise WrongPassphrase(f"{failed} ({self._path}, entry {venue})") from None
        except CorruptKeystore as failed:
            raise CorruptKeystore(f"{self._path}, entry {venue}: {failed}") from None
        log.debug("keystore %s: decrypted the keys for %s", self._path, venue)
        return api_key, Secret(secret)

    def remove(self, venue: str) -> None:
        """Forget ``venue``'s keys (the other entries stay as they are)."""
        check_venue(venue)
        if not self._path.parent.is_dir():
            raise self._unknown(venue)
        with self._writing():
            entries = self._load()
            if venue not in entries:
                raise self._unknown(venue)
            del entries[venue]
            self._save(entries)
        log.info("keystore %s: removed the keys for %s", self._path, venue)

    def _load(self) -> dict[str, SealedEntry]:
        try:
            data = read_private(self._path, document.MAX_FILE_BYTES)
        except OSError as failed:
            raise _os_failure("read the keystore", self._path, failed) from None
        return {} if data is None else document.loads(data, self._path)

    def _save(self, entries: dict[str, SealedEntry]) -> None:
        try:
            write_private(self._path, document.dumps(entries))
        except OSError as failed:
            raise _os_failure("write the keystore", self._path, failed) from None

    def _ensure_dir(self) -> None:
        try:
            ensure_private_dir(self._path.parent)
        except OSError as failed:
            raise _os_failure("create the keystore directory", self._path.parent, failed) from None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the writers' lock on the keystore's directory for a read-modify-write."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(exclusive(self._path.parent))
            except OSError as failed:
                raise _os_failure("lock the keystore", self._path, failed) from None
            yield

    def _unknown(self, venue: str) -> UnknownVenue:
        return UnknownVenue(
            f"{self._path} holds no keys for {venue}; add them with `tradeplane keys add {venue}`"
        )


def _plain(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _os_failure(action: str, path: Path, failed: OSError) -> KeystoreError:
    """The OS error's reason and the path, without the exception's other arguments."""
    return KeystoreError(f"cannot {action} {path}: {failed.strerror or type(failed).__name__}")
