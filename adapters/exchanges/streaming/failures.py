"""Why a venue connection or message failed, in one short sentence an operator can act on.

Shared by every venue adapter: a connection failure names its host and the cause (DNS, TLS,
refused, reset, timeout, HTTP status), and a malformed message keeps a truncated copy of the
offending payload so one log line stays one line.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from urllib.parse import urlsplit

from websockets.exceptions import InvalidHandshake, InvalidStatus

_PAYLOAD_CHARS = 200
"""How much of an offending payload an error (and so a log line) keeps."""


def truncated(payload: object, limit: int = _PAYLOAD_CHARS) -> str:
    """``repr`` of ``payload`` cut to ``limit`` characters, for one-line logs."""
    text = repr(payload)
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} chars)"


class MalformedMessage(ValueError):
    """A venue message that is not usable: not JSON, wrong shape, missing or bad field.

    Feeds count and log it and carry on; ``reason`` says what is wrong and ``payload`` holds a
    truncated ``repr`` of the offending part.
    """

    def __init__(self, reason: str, payload: object = None) -> None:
        self.reason = reason
        self.payload = truncated(payload)
        super().__init__(f"{reason} (was {self.payload})")


_DEFAULT_PORTS = {"wss": 443, "https": 443, "ws": 80, "http": 80}
_ERRNO_IN_TEXT = re.compile(r"\[Errno (-?\d+)\]")
_REFUSED = frozenset({errno.ECONNREFUSED})


def connection_failure(exc: BaseException, url: str) -> str:
    """Why connecting to ``url`` failed, as a short sentence naming its host (not the URL, whose
    stream list is long and says nothing): what a feed's health reports and an operator reads.

    A library's wrapper (httpx's ConnectError, say) is described by the cause it wraps."""
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:  # a malformed port: the URL is shown as given
        port = 0
    where = f"{host}:{port}" if port else host
    for cause in _chain(exc):
        sentence = _sentence(cause, host, where)
        if sentence is not None:
            return sentence
    text = str(exc)
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return truncated_text(f"cannot connect to {where}: {detail}", 100)


def described(exc: BaseException) -> str:
    """``TypeName: message`` (or the type name alone), for a log line about an exception."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def truncated_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, its end marked when cut."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from (or while handling), outermost first, each once."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _sentence(exc: BaseException, host: str, where: str) -> str | None:
    if isinstance(exc, socket.gaierror):
        return f"no network: cannot resolve {host} (name resolution failed)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS handshake failed with {host}: its certificate is not trusted"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None)
        return f"TLS handshake failed with {host}" + (f" ({reason})" if reason else "")
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} in time (connection timed out)"
    if isinstance(exc, InvalidStatus):
        return f"{host} answered HTTP {exc.response.status_code} instead of opening the stream"
    if isinstance(exc, InvalidHandshake):
        return truncated_text(f"WebSocket handshake with {host} failed: {exc}", 100)
    if isinstance(exc, OSError):
        return _os_error(exc, where)
    return None


def _os_error(exc: OSError, where: str) -> str | None:
    codes = {exc.errno} if exc.errno is not None else {int(n) for n in _ERRNO_IN_TEXT.findall(str(exc))}
    if not codes:
        return None
    if codes <= _REFUSED:
        return f"connection refused by {where}"
    if codes <= {errno.ECONNRESET}:
        return f"connection reset by {where}"
    if codes <= {errno.ENETUNREACH, errno.ENETDOWN}:
        return f"no network: {where} is unreachable"
    if codes <= {errno.EHOSTUNREACH, errno.EHOSTDOWN}:
        return f"no route to {where}"
    if codes <= {errno.ETIMEDOUT}:
        return f"no answer from {where} in time (connection timed out)"
    return None
