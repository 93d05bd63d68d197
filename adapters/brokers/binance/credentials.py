"""An account's API key and the signer holding its secret, never shown whole.

The key travels in a header and the secret only ever signs; both stay out of reprs, logs and
error messages. ``hint`` (the first four and last three characters of the key) is enough for
an operator to tell two keys apart.
"""

from __future__ import annotations

from adapters.brokers.binance.errors import redact
from adapters.brokers.binance.signing import Signer
from adapters.keystore.secret import mask


class ApiCredentials:
    """The API key (sent as ``X-MBX-APIKEY``) and the ``Signer`` for its secret.

    Raises ValueError for an empty key or one that cannot go in an HTTP header; the message
    never repeats the key.
    """

    __slots__ = ("_api_key", "_signer")

    def __init__(self, api_key: str, signer: Signer) -> None:
        if not isinstance(api_key, str) or not api_key:
            raise ValueError("the API key is empty")
        if not api_key.isascii() or not api_key.isprintable() or any(c.isspace() for c in api_key):
            raise ValueError("the API key has characters an API key cannot have (spaces or non-ASCII)")
        if not callable(getattr(signer, "sign", None)):
            raise ValueError("the signer cannot sign")
        self._api_key = api_key
        self._signer = signer

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def kind(self) -> str:
        """``hmac`` or ``ed25519``: how the signatures are made."""
        return str(getattr(self._signer, "kind", "hmac"))

    @property
    def hint(self) -> str:
        """Enough of the key to recognise it (``vmPU…h8A``), as ``tradeplane keys`` shows it."""
        return mask(self._api_key)

    def sign(self, payload: str) -> str:
        return self._signer.sign(payload)

    def redact(self, text: str) -> str:
        """``text`` with the key (shown as its hint) and any signature taken out."""
        return redact(text.replace(self._api_key, self.hint))

    def __repr__(self) -> str:
        return f"ApiCredentials(key={self.hint}, secret=<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("API credentials are not pickled")
