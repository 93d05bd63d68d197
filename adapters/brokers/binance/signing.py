"""Binance request signing: what is signed, and how, for REST and for the WebSocket API.

REST signs the query string concatenated, with no separator, with the form body; both are
percent-encoded (UTF-8) first. The WebSocket API signs its ``params`` other than
``signature``, sorted by name and joined as ``k=v&...``, not percent-encoded. An HMAC-SHA256
signature is lowercase hex; an Ed25519 one is base64 (the venue compares it case-sensitively).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Protocol
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key


class Signer(Protocol):
    """Signs a payload with an account's secret; ``kind`` is ``"hmac"`` or ``"ed25519"``."""

    kind: str

    def sign(self, payload: str) -> str: ...


class HmacSigner:
    """HMAC-SHA256 with the account's secret key; the secret never leaves the object."""

    kind = "hmac"
    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the API secret is empty")
        self._secret = secret.encode()

    def sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()

    def verify(self, payload: str, signature: str) -> bool:
        """True when ``signature`` (hex, any case) signs ``payload``; compared in constant time."""
        return hmac.compare_digest(self.sign(payload), signature.lower())

    def __repr__(self) -> str:
        return "HmacSigner(<secret>)"


class Ed25519Signer:
    """Ed25519 with the account's private key (PEM, PKCS#8); signatures are base64."""

    kind = "ed25519"
    __slots__ = ("_key",)

    def __init__(self, private_key_pem: str) -> None:
        try:
            key = load_pem_private_key(private_key_pem.encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("the API secret is not an unencrypted PEM Ed25519 private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the API secret is a PEM private key, but not an Ed25519 one")
        self._key = key

    def sign(self, payload: str) -> str:
        return base64.b64encode(self._key.sign(payload.encode())).decode()

    def __repr__(self) -> str:
        return "Ed25519Signer(<private key>)"


def signer_for(secret: str) -> Signer:
    """The signer a secret calls for: a PEM private key signs with Ed25519, anything else HMAC."""
    if secret.lstrip().startswith("-----BEGIN"):
        return Ed25519Signer(secret)
    return HmacSigner(secret)


def encode_params(params: Iterable[tuple[str, object]]) -> str:
    """``k=v&...`` percent-encoded (UTF-8), in the order given: what REST sends and signs."""
    return urlencode([(key, _text(value)) for key, value in params])


def rest_payload(query: str, body: str = "") -> str:
    """The bytes a REST signature covers: the query string, then the body, no separator."""
    return query + body


def ws_payload(params: Mapping[str, object]) -> str:
    """The text a WebSocket API signature covers: every param but ``signature``, sorted by name,
    joined as ``k=v&...`` with no percent-encoding."""
    return "&".join(f"{key}={_text(params[key])}" for key in sorted(params) if key != "signature")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = [
    "Ed25519Signer",
    "HmacSigner",
    "Signer",
    "encode_params",
    "rest_payload",
    "signer_for",
    "ws_payload",
]
