"""Turning what goes wrong into gRPC statuses with a message naming the field or the rule.

Handlers raise ``ApiError`` (or let a domain error through); ``unary``/``server_stream``
wrap every RPC so the client always gets the proper code and a sentence, with the
details a program can read (``google.rpc.BadRequest``, ``ErrorInfo``,
``PreconditionFailure``) in ``grpc-status-details-bin``. Anything unexpected is INTERNAL,
logged with its traceback, and the server goes on.

Client input shown in an error goes through ``echo`` (cut to ``MAX_ECHO`` characters, quoted),
and every message and field name is bounded and escaped here as a last guard, so no request
can make a status trailer large (clients refuse big trailers) or carry control characters.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from application.execution import UnknownOrder
from application.strategy_engine import UnknownStrategy
from domain.errors import DomainError, IllegalTransition, InvalidValue, UnknownInstrument
from domain.risk import ResumeRefused, RiskLimitBreached

log = logging.getLogger("tradeplane.grpc")

DOMAIN = "tradeplane"
"""ErrorInfo.domain of every error this server sends."""
MAX_ECHO = 64
"""Characters of a client's value an error shows; the rest becomes an ellipsis."""
MAX_MESSAGE = 600
MAX_FIELD = 120


def cut(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def echo(value: object) -> str:
    """A client's value as an error shows it: quoted, escaped, at most ``MAX_ECHO`` characters."""
    return repr(cut(str(value)))


def _escaped(text: str, limit: int) -> str:
    """Bounded, with control characters written as escapes (a last guard: ``echo`` is the rule)."""
    text = cut(text, limit)
    if text.isprintable():
        return text
    # An escape is longer than the character it stands for: cut again, after escaping.
    return cut("".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text), limit)


class ApiError(Exception):
    """A refusal with its gRPC code; ``field`` names the request field at fault, if one is."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        violations: tuple[tuple[str, str], ...] = (),
    ) -> None:
        message = _escaped(message, MAX_MESSAGE)
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = _escaped(field, MAX_FIELD) if field is not None else None
        self.reason = reason
        # (type, description) for FAILED_PRECONDITION
        self.violations = tuple((kind, _escaped(text, MAX_MESSAGE)) for kind, text in violations)


def invalid(field: str, problem: str) -> ApiError:
    """INVALID_ARGUMENT: ``field`` is wrong; the message starts with the field name."""
    field = _escaped(field, MAX_FIELD)
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {problem}", field=field, reason="BAD_FIELD")


def not_found(what: str) -> ApiError:
    return ApiError(grpc.StatusCode.NOT_FOUND, what, reason="NOT_FOUND")


def precondition(message: str, reason: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.FAILED_PRECONDITION, message, reason=reason, violations=((reason, message),)
    )


def from_domain(error: Exception, field_prefix: str = "") -> ApiError | None:
    """The ApiError for a domain refusal, or None for an unexpected error (a bug)."""
    if isinstance(error, RiskLimitBreached):
        return ApiError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"refused by risk: {error}",
            reason="RISK_REJECTED",
            violations=tuple((r.reason.value, r.message) for r in error.rejections),
        )
    if isinstance(error, ResumeRefused):
        return precondition(str(error), error.reason.value)
    if isinstance(error, UnknownOrder | UnknownStrategy):
        return not_found(str(error))
    if isinstance(error, UnknownInstrument):
        return invalid(field_prefix + "instrument_id", str(error))
    if isinstance(error, InvalidValue):  # InstrumentRuleViolation and InvalidParameter too
        return invalid(field_prefix + error.field, error.problem)
    if isinstance(error, IllegalTransition):
        return precondition(str(error), "ILLEGAL_TRANSITION")
    if isinstance(error, DomainError):
        return precondition(str(error), error.code)
    return None


def _status(error: ApiError) -> grpc.Status:
    details = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.reason or error.code.name, domain=DOMAIN))
    details.append(info)
    if error.field is not None:
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.message)
                ]
            )
        )
        details.append(bad)
    if error.violations:
        failure = any_pb2.Any()
        failure.Pack(
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(type=kind, subject="", description=text)
                    for kind, text in error.violations
                ]
            )
        )
        details.append(failure)
    code: int = error.code.value[0]
    return rpc_status.to_status(status_pb2.Status(code=code, message=error.message, details=details))


async def abort(context: grpc.aio.ServicerContext[Any, Any], error: ApiError) -> None:
    """End the call with ``error`` (raises, as ``context.abort`` does)."""
    await context.abort_with_status(_status(error))


def _translate(error: Exception, method: str) -> ApiError:
    api = error if isinstance(error, ApiError) else from_domain(error)
    if api is None:
        log.exception("%s failed unexpectedly; the server goes on", method, exc_info=error)
        api = ApiError(grpc.StatusCode.INTERNAL, f"internal error in {method}: {type(error).__name__}")
    return api


Req = TypeVar("Req")
Res = TypeVar("Res")
S = TypeVar("S")
if TYPE_CHECKING:
    Ctx = grpc.aio.ServicerContext[Any, Any]


def unary(
    method: Callable[[S, Req, Ctx], Awaitable[Res]],
) -> Callable[[S, Req, Ctx], Awaitable[Res]]:
    """Wrap a unary handler: refusals become their status, bugs become INTERNAL."""

    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Ctx) -> Res:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await abort(context, _translate(error, method.__name__))
            raise AssertionError("unreachable: abort raises") from error

    return wrapper


def server_stream(
    method: Callable[[S, Req, Ctx], AsyncIterator[Res]],
) -> Callable[[S, Req, Ctx], AsyncIterator[Res]]:
    """Wrap a server-streaming handler the same way."""

    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: Ctx) -> AsyncIterator[Res]:
        try:
            async for item in method(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await abort(context, _translate(error, method.__name__))

    return wrapper


__all__ = [
    "ApiError",
    "abort",
    "cut",
    "echo",
    "invalid",
    "not_found",
    "precondition",
    "server_stream",
    "unary",
]
