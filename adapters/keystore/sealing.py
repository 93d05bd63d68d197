"""Sealing one venue's credentials under a passphrase: scrypt, then AES-256-GCM.

Decisions, and why:

* **scrypt** (n=2**15, r=8, p=1, 32-byte output) turns the passphrase into the AES key. It is
  memory-hard: each guess costs 32 MiB and tens of milliseconds, so a stolen file cannot be
  brute-forced cheaply on GPUs or ASICs the way a fast hash (or PBKDF2) can. These are the
  parameters commonly recommended for interactive use; ``n`` can be lowered only to keep tests
  fast, and what an entry was sealed with is stored beside it, so raising the default later
  leaves older entries readable.
* **A random 16-byte salt per entry**: the same passphrase gives a different key for every
  entry and every file, so no work can be precomputed or shared between them; entries stay
  independent (one can be removed or rotated without touching the others).
* **AES-256-GCM** (authenticated encryption) with a fresh random 12-byte nonce per sealing:
  confidentiality and integrity in one audited primitive. Any change to the nonce, the
  ciphertext, the salt or the scrypt parameters (which change the derived key) makes
  decryption fail as a whole instead of yielding altered credentials. The key is random per
  sealing (new salt), so nonce reuse under one key cannot happen.
* **Associated data** = the format version and the venue name. They are not secret but are
  authenticated: an entry copied or moved under another venue's name (say the live
  account's secret under ``binance:testnet``) or relabelled as another format version fails
  to decrypt rather than being used for the wrong account.
* The API key is sealed together with the secret: it is not a signing secret, but it names the
  account and should not be readable from the file either.

Failure to decrypt is one error, "wrong passphrase or corrupted keystore": GCM cannot tell a
wrong key from a tampered entry, and saying which would only help an attacker.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from adapters.keystore.errors import CorruptKeystore, WrongPassphrase

FORMAT_VERSION = 1
DEFAULT_SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
MIN_SCRYPT_N = 2**10  # only ever for tests; the default is what protects a real file
MAX_SCRYPT_N = 2**20  # about 1 GiB and seconds per try: a file asking for more is refused
MAX_SCRYPT_MEMORY = 1 << 30
SALT_BYTES = 16
NONCE_BYTES = 12
KEY_BYTES = 32
TAG_BYTES = 16


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's parameters; ``checked`` refuses a cost no entry of ours would have."""

    n: int
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def checked(self) -> ScryptCost:
        for name, value in (("n", self.n), ("r", self.r), ("p", self.p)):
            if type(value) is not int:
                raise ValueError(f"scrypt {name} must be an integer")
        if self.n & (self.n - 1) or not MIN_SCRYPT_N <= self.n <= MAX_SCRYPT_N:
            raise ValueError(f"scrypt n must be a power of two from {MIN_SCRYPT_N} to {MAX_SCRYPT_N}")
        if not 1 <= self.r <= 32 or not 1 <= self.p <= 16:
            raise ValueError("scrypt r must be 1-32 and p 1-16")
        if 128 * self.r * self.n > MAX_SCRYPT_MEMORY:
            raise ValueError("scrypt n*r asks for more than 1 GiB of memory")
        return self


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """One venue's credentials as stored: everything but the passphrase needed to open them."""

    cost: ScryptCost
    salt: bytes
    nonce: bytes
    ciphertext: bytes  # AES-GCM output: the encrypted payload followed by its 16-byte tag

    def __repr__(self) -> str:
        return f"SealedEntry(n={self.cost.n}, r={self.cost.r}, p={self.cost.p}, {len(self.ciphertext)} bytes)"


def associated_data(venue: str) -> bytes:
    """What binds an entry to its venue and format: authenticated, not encrypted."""
    return f"tradeplane-keystore/{FORMAT_VERSION}/{venue}".encode()


def seal(venue: str, api_key: str, secret: str, passphrase: str, cost: ScryptCost) -> SealedEntry:
    """Encrypt ``api_key`` and ``secret`` for ``venue`` under a key derived from ``passphrase``."""
    salt = os.urandom(SALT_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    payload = json.dumps({"api_key": api_key, "secret": secret}).encode()
    key = _derive(passphrase, salt, cost)
    ciphertext = AESGCM(key).encrypt(nonce, payload, associated_data(venue))
    return SealedEntry(cost=cost, salt=salt, nonce=nonce, ciphertext=ciphertext)


def unseal(venue: str, entry: SealedEntry, passphrase: str) -> tuple[str, str]:
    """``(api_key, secret)`` of ``entry``; ``WrongPassphrase`` when it does not decrypt as ``venue``."""
    key = _derive(passphrase, entry.salt, entry.cost)
    try:
        payload = AESGCM(key).decrypt(entry.nonce, entry.ciphertext, associated_data(venue))
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase or corrupted keystore") from None
    # Authentic from here on, so a bad payload is our own bug or a foreign writer's, never tampering.
    try:
        fields = json.loads(payload)
        api_key, secret = fields["api_key"], fields["secret"]
    except (ValueError, TypeError, KeyError):
        raise CorruptKeystore("the decrypted entry is not a pair of API key and secret") from None
    if not isinstance(api_key, str) or not isinstance(secret, str):
        raise CorruptKeystore("the decrypted entry is not a pair of API key and secret")
    return api_key, secret


def _derive(passphrase: str, salt: bytes, cost: ScryptCost) -> bytes:
    kdf = Scrypt(salt=salt, length=KEY_BYTES, n=cost.n, r=cost.r, p=cost.p)
    return kdf.derive(passphrase.encode())
