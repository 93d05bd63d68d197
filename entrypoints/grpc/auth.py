"""Bearer tokens, roles and per-token rate limits, checked where a call finds its handler.

Tokens are never stored: the configuration holds their SHA-256 (``tradeplane token``
prints a new token and the line to paste). Each maps to a role; a role may call what
the roles below it may. Health checks and reflection need no token, so probes and
``grpcurl list/describe`` work anywhere. The check is synchronous and runs in the server's
method lookup (``Authenticator.admit``), not as an interceptor: grpc.aio runs each
interceptor as a coroutine of its own on every call. The caller's identity reaches handlers
through a context variable (grpc.aio looks up the handler and runs it in one task).

Every refusal is logged at WARNING (the method, the peer, the code and why; never the token,
not even part of it), at most once a minute per peer and reason, and counted:
``auth_refusals`` (UNAUTHENTICATED and PERMISSION_DENIED) appears in ``GetStatus``. A refused
call is answered without decoding its body.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import grpc

from adapters.pacing import TokenBucket
from entrypoints.grpc.throttled_log import ThrottledLog, peer_host

log = logging.getLogger("tradeplane.grpc.audit")
if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
MAX_SEEN_TOKENS = 1024
HEALTH_PREFIX = "/grpc.health.v1.Health/"
REFLECTION_PREFIX = "/grpc.reflection."
AUTH_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})


class Role(IntEnum):
    """Each role may do what the ones below it may."""

    VIEWER = 1  # read and stream
    TRADER = 2  # plus orders and strategies
    ADMIN = 3  # plus risk limits, halt and resume

    @classmethod
    def parse(cls, value: object) -> Role:
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise ValueError(f"role must be viewer, trader or admin (was {value!r})")


REQUIRED_ROLE: Mapping[str, Role] = {
    "/tradeplane.v1.OrderService/SubmitOrder": Role.TRADER,
    "/tradeplane.v1.OrderService/CancelOrder": Role.TRADER,
    "/tradeplane.v1.OrderService/CancelAllOrders": Role.TRADER,
    "/tradeplane.v1.StrategyService/StartStrategy": Role.TRADER,
    "/tradeplane.v1.StrategyService/StopStrategy": Role.TRADER,
    "/tradeplane.v1.StrategyService/UpdateStrategyParams": Role.TRADER,
    "/tradeplane.v1.BacktestService/RunBacktest": Role.TRADER,  # a process and CPU of the server
    "/tradeplane.v1.RiskService/UpdateRiskLimits": Role.ADMIN,
    "/tradeplane.v1.RiskService/Halt": Role.ADMIN,
    "/tradeplane.v1.RiskService/Resume": Role.ADMIN,
}
"""Methods above VIEWER; every other method of tradeplane.v1 is VIEWER."""


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in the configuration instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (32 bytes of entropy, URL-safe)."""
    return "tp_" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenEntry:
    """One configured token: who (name), what they may do (role), how often (rate limit)."""

    name: str
    role: Role
    sha256: str
    rate_per_second: float | None = None  # None: the server default
    burst: int | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    role: Role


CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("tradeplane_grpc_caller", default=None)
"""Who made the current call (set by ``Authenticator.admit`` for the handler)."""


class Authenticator:
    """UNAUTHENTICATED without a known token, PERMISSION_DENIED below the method's role,
    RESOURCE_EXHAUSTED over the token's rate; otherwise the call proceeds as ``Caller``."""

    def __init__(
        self,
        tokens: Iterable[TokenEntry],
        *,
        rate_per_second: float,
        burst: int,
        monotonic: Callable[[], float] = time.monotonic,
        warnings: ThrottledLog | None = None,
    ) -> None:
        self._by_hash = {entry.sha256.lower(): entry for entry in tokens}
        self._rate = rate_per_second
        self._burst = burst
        self._monotonic = monotonic
        self._buckets: dict[str, TokenBucket] = {}
        self._seen: dict[str, TokenEntry] = {}  # token -> entry, for tokens already verified once
        self._callers: dict[str, Caller] = {}  # sha256 -> who, built once per token
        self._warnings = warnings or ThrottledLog(log, monotonic=monotonic)
        self.requests = 0
        self.refused = 0
        self.auth_refusals = 0

    def _entry(self, metadata: Iterable[tuple[str, Any]]) -> TokenEntry | str:
        """The token's entry; a string says what is wrong with the header."""
        header = None
        for key, value in metadata:
            if key == "authorization":
                header = value if isinstance(value, str) else None
                break
        if header is None:
            return "missing authorization metadata: send 'authorization: Bearer <token>'"
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return "malformed authorization metadata: expected 'Bearer <token>'"
        return self._lookup(token) or "unknown or revoked token"

    def _lookup(self, token: str) -> TokenEntry | None:
        seen = self._seen.get(token)
        if seen is not None:
            return seen
        digest = hash_token(token)
        for known, entry in self._by_hash.items():  # constant time per comparison
            if hmac.compare_digest(known, digest):
                if len(self._seen) >= MAX_SEEN_TOKENS:
                    self._seen.clear()
                self._seen[token] = entry  # only good tokens: a flood of bad ones cannot grow it
                return entry
        return None

    def identify(self, token: str) -> Caller | None:
        """Who ``token`` is (its name and role), None for an unknown or revoked one.

        For the web console's login, which must know the role without calling anything as it;
        it neither counts as a request nor spends the token's rate.
        """
        entry = self._lookup(token.strip()) if token.strip() else None
        return None if entry is None else Caller(entry.name, entry.role)

    def admit(self, handler: Handler | None, details: grpc.HandlerCallDetails) -> Handler | None:
        """``handler`` when the call may run (the caller set in ``CALLER``), else one that refuses.

        ``handler`` is what serves ``details.method``; None when nothing does, and grpc answers
        UNIMPLEMENTED.
        """
        method: str = details.method
        if method.startswith(HEALTH_PREFIX) or method.startswith(REFLECTION_PREFIX):
            return handler
        self.requests += 1
        entry = self._entry(details.invocation_metadata or ())
        if isinstance(entry, str):
            return self._refuse(handler, method, grpc.StatusCode.UNAUTHENTICATED, entry)
        needed = REQUIRED_ROLE.get(method, Role.VIEWER)
        if entry.role < needed:
            message = (
                f"token {entry.name!r} has role {entry.role.name.lower()};"
                f" {method.rsplit('/', 1)[-1]} needs {needed.name.lower()}"
            )
            return self._refuse(handler, method, grpc.StatusCode.PERMISSION_DENIED, message)
        wait = self._bucket(entry).try_acquire()
        if wait:
            message = f"rate limit of token {entry.name!r} exceeded; retry in {wait:.3f}s"
            return self._refuse(handler, method, grpc.StatusCode.RESOURCE_EXHAUSTED, message)
        caller = self._callers.get(entry.sha256)
        if caller is None:
            caller = self._callers[entry.sha256] = Caller(entry.name, entry.role)
        CALLER.set(caller)
        if needed > Role.VIEWER:  # an audit trail of every command: who did what
            log.info("%s called by %s (%s)", method, entry.name, entry.role.name.lower())
        return handler

    def _bucket(self, entry: TokenEntry) -> TokenBucket:
        bucket = self._buckets.get(entry.sha256)
        if bucket is None:
            rate = entry.rate_per_second or self._rate
            burst = entry.burst or self._burst
            bucket = self._buckets[entry.sha256] = TokenBucket(rate, burst, monotonic=self._monotonic)
        return bucket

    def _refuse(
        self, handler: Handler | None, method: str, code: grpc.StatusCode, message: str
    ) -> Handler | None:
        """A handler that answers ``code``; its deserializer is None, so the body is never parsed."""
        if handler is None:  # an unknown method: let grpc answer UNIMPLEMENTED
            return None

        async def deny(request: object, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            self._count_and_log(code, message, method, context.peer())
            await context.abort(code, message)

        serializer = handler.response_serializer
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(deny, None, serializer)
        if handler.unary_stream:  # a coroutine may answer a stream (grpc.aio): it aborts first
            return grpc.unary_stream_rpc_method_handler(deny, None, serializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(deny, None, serializer)
        return grpc.stream_stream_rpc_method_handler(deny, None, serializer)

    def _count_and_log(self, code: grpc.StatusCode, message: str, method: str, peer: str) -> None:
        self.refused += 1
        if code in AUTH_CODES:
            self.auth_refusals += 1
        host = peer_host(peer)
        reason = message.split(";", 1)[0].split(":", 1)[0]  # the kind of refusal, not its details
        self._warnings.warning(
            (host, code.name, reason), "refused %s from %s: %s %s", method, host, code.name, message
        )
