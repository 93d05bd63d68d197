"""What can go wrong with a keystore; no message ever holds a key, a secret or a passphrase."""

from __future__ import annotations


class KeystoreError(Exception):
    """The keystore could not do what was asked; the message says why and what to do."""


class InvalidInput(KeystoreError, ValueError):
    """A venue name, API key, secret or passphrase that cannot be stored as given."""


class WrongPassphrase(KeystoreError):
    """Decryption failed: the passphrase is wrong, or the entry was altered or moved."""


class UnknownVenue(KeystoreError):
    """The keystore has no entry for this venue."""


class VenueExists(KeystoreError):
    """An entry for this venue is already stored and replacing it was not asked for."""


class CorruptKeystore(KeystoreError):
    """The file is not a keystore this version can read (damaged, foreign or newer)."""
