"""SIGNED requests: the API key, the signature and the timestamp, checked in the venue's order.

1. The key: absent or unknown is -2015 (HTTP 401), not a plausible key at all -2014.
2. ``signature`` and ``timestamp`` must be sent (-1102); ``recvWindow`` at most 60000 (-1131).
3. The signature must sign the payload (-1022): for REST the query string and the body
   exactly as sent, ``signature`` taken out; for the WebSocket API the sorted params. An
   HMAC secret verifies hex HMAC-SHA256; a PEM Ed25519 *public* key verifies base64 Ed25519.
4. The timestamp (ms, or µs when it has 16 digits) must not be 1000 ms or more ahead of the
   venue's clock, nor older than ``recvWindow`` (-1021).

The secret never appears in an error, a log line or a repr.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from decimal import Decimal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from adapters.brokers.binance.signing import HmacSigner
from adapters.exchanges.simulator.trading.errors import VenueError, illegal, mandatory
from adapters.exchanges.simulator.trading.params import Params

KEY_FORMAT = re.compile(r"[A-Za-z0-9._~-]{1,128}")
"""What an API key may look like; anything else is -2014 (and refused at construction)."""
MAX_RECV_WINDOW = Decimal(60000)
DEFAULT_RECV_WINDOW = Decimal(5000)
_RECV_WINDOW = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,3})?$")
_MICROSECONDS = 10**15


def invalid_key() -> VenueError:
    return VenueError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)


def invalid_signature() -> VenueError:
    return VenueError(-1022, "Signature for this request is not valid.")


class Verifier:
    """Checks signatures against the account's secret (HMAC) or public key (Ed25519)."""

    __slots__ = ("_ed25519", "_hmac")

    def __init__(self, secret: str) -> None:
        self._hmac: HmacSigner | None = None
        self._ed25519: Ed25519PublicKey | None = None
        if secret.lstrip().startswith("-----BEGIN"):
            try:
                key = load_pem_public_key(secret.encode())
            except (ValueError, TypeError):
                raise ValueError("the API secret is PEM, but not a public key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("the API secret is a PEM public key, but not an Ed25519 one")
            self._ed25519 = key
        else:
            self._hmac = HmacSigner(secret)

    @property
    def kind(self) -> str:
        return "hmac" if self._hmac is not None else "ed25519"

    def verify(self, payload: str, signature: str) -> bool:
        if self._hmac is not None:
            return self._hmac.verify(payload, signature)
        assert self._ed25519 is not None
        try:
            raw = base64.b64decode(signature.encode("ascii"), validate=True)
            self._ed25519.verify(raw, payload.encode())
        except (InvalidSignature, ValueError, binascii.Error, UnicodeEncodeError):
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.kind}, <secret>)"


class Authenticator:
    """The account's key and verifier, and the venue's clock for timestamps."""

    def __init__(self, api_key: str, api_secret: str, now_ms: Callable[[], int]) -> None:
        if not KEY_FORMAT.fullmatch(api_key):
            raise ValueError("the API key must be 1-128 characters of [A-Za-z0-9._~-]")
        self._api_key = api_key
        self._verifier = Verifier(api_secret)
        self._now = now_ms
        self.rejected_signatures = 0

    def check_key(self, api_key: str | None) -> None:
        if api_key is None or api_key == "":
            raise invalid_key()
        if not KEY_FORMAT.fullmatch(api_key):
            raise VenueError(-2014, "API-key format invalid.", status=401)
        if api_key != self._api_key:
            raise invalid_key()

    def check(self, params: Params, payload: str) -> None:
        """Signature and timestamp of a request whose key was checked; ``payload`` is what was signed."""
        signature = params.text("signature", max_length=512)
        if signature is None:
            raise mandatory("signature")
        timestamp = params.integer("timestamp", required=True)
        assert timestamp is not None
        window = self._recv_window(params)
        if not self._verifier.verify(payload, signature):
            self.rejected_signatures += 1
            raise invalid_signature()
        sent = Decimal(timestamp) / 1000 if timestamp >= _MICROSECONDS else Decimal(timestamp)
        now = self._now()
        if sent >= now + 1000:
            raise VenueError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if now - sent > window:
            raise VenueError(-1021, "Timestamp for this request is outside of the recvWindow.")

    @staticmethod
    def _recv_window(params: Params) -> Decimal:
        text = params.text("recvWindow", max_length=24)
        if text is None:
            return DEFAULT_RECV_WINDOW
        if not _RECV_WINDOW.fullmatch(text):
            raise illegal("recvWindow", _RECV_WINDOW.pattern)
        window = Decimal(text)
        if window > MAX_RECV_WINDOW:
            raise VenueError(-1131, "recvWindow must be less than 60000")
        return window
