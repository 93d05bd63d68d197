"""Tokens, roles and the rate limiter, without a server (the server path is in tests/integration/grpc)."""

from __future__ import annotations

import asyncio
import logging
import re

import grpc
import pytest

from entrypoints.grpc.auth import (
    REQUIRED_ROLE,
    Authenticator,
    Role,
    TokenEntry,
    hash_token,
    new_token,
)
from entrypoints.grpc.server import SERVICE_DESCRIPTORS, SERVICES


def test_tokens_are_random_and_stored_only_as_their_sha256() -> None:
    first, second = new_token(), new_token()
    assert first != second
    assert len(first) > 40
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(first))
    assert hash_token(first) == hash_token(first) != hash_token(second)


def test_roles_parse_case_insensitively_and_refuse_anything_else() -> None:
    assert Role.parse("Trader") is Role.TRADER
    for bad in ("root", "", None, 3):
        with pytest.raises(ValueError, match="viewer, trader or admin"):
            Role.parse(bad)


def test_every_role_restricted_method_exists_and_every_write_needs_more_than_viewer() -> None:
    methods = {
        f"/{service.full_name}/{method.name}" for service in SERVICE_DESCRIPTORS for method in service.methods
    }
    assert set(REQUIRED_ROLE) <= methods
    assert len(SERVICES) == 8
    writes = {m for m in methods if re.search(r"/(Submit|Cancel|Start|Stop|Update|Halt|Resume|Run)", m)}
    assert writes == set(REQUIRED_ROLE)
    assert all(REQUIRED_ROLE[m] is Role.ADMIN for m in writes if "RiskService" in m)


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str, metadata: tuple[tuple[str, str], ...]) -> None:
        self.method = method
        self.invocation_metadata = metadata


async def _ok(request: object, context: object) -> str:
    return "ok"


def _check(auth: Authenticator, method: str, header: str | None) -> str:
    """'pass' when the real handler would run, else the refusal's status code name."""
    real: grpc.RpcMethodHandler[object, str] = grpc.unary_unary_rpc_method_handler(_ok)
    metadata = (("authorization", header),) if header is not None else ()
    handler = auth.admit(real, _Details(method, metadata))
    if handler is real:
        return "pass"

    class Aborted(Exception):
        pass

    class Context:
        code: grpc.StatusCode | None = None

        def peer(self) -> str:
            return "ipv4:127.0.0.1:40000"

        async def abort(self, code: grpc.StatusCode, message: str) -> None:
            self.code = code
            raise Aborted(message)

    assert handler is not None
    assert handler.request_deserializer is None, "a refusal must never decode the body"
    context = Context()
    with pytest.raises(Aborted):
        asyncio.run(handler.unary_unary(None, context))
    assert context.code is not None
    return context.code.name


def _authenticator(rate: float = 1000.0, burst: int = 1000) -> Authenticator:
    tokens = [
        TokenEntry(name=role.name.lower(), role=role, sha256=hash_token(f"{role.name.lower()}-token"))
        for role in Role
    ]
    return Authenticator(tokens, rate_per_second=rate, burst=burst, monotonic=lambda: 0.0)


SUBMIT = "/tradeplane.v1.OrderService/SubmitOrder"
HALT = "/tradeplane.v1.RiskService/Halt"
STATUS = "/tradeplane.v1.EngineService/GetStatus"


@pytest.mark.parametrize(
    ("token", "method", "outcome"),
    [
        ("viewer-token", STATUS, "pass"),
        ("viewer-token", SUBMIT, "PERMISSION_DENIED"),
        ("trader-token", SUBMIT, "pass"),
        ("trader-token", HALT, "PERMISSION_DENIED"),
        ("admin-token", HALT, "pass"),
        ("wrong-token", STATUS, "UNAUTHENTICATED"),
    ],
)
def test_roles_decide_who_may_call_what(token: str, method: str, outcome: str) -> None:
    assert _check(_authenticator(), method, f"Bearer {token}") == outcome


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dmlld2VyOng=", "viewer-token"])
def test_missing_or_malformed_headers_are_unauthenticated(header: str | None) -> None:
    assert _check(_authenticator(), STATUS, header) == "UNAUTHENTICATED"


def test_health_and_reflection_need_no_token() -> None:
    auth = _authenticator()
    assert _check(auth, "/grpc.health.v1.Health/Check", None) == "pass"
    assert _check(auth, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", None) == "pass"


def test_a_token_over_its_rate_is_resource_exhausted_and_others_are_not() -> None:
    auth = _authenticator(rate=1.0, burst=2)
    outcomes = [_check(auth, STATUS, "Bearer viewer-token") for _ in range(3)]
    assert outcomes == ["pass", "pass", "RESOURCE_EXHAUSTED"]
    assert _check(auth, STATUS, "Bearer admin-token") == "pass"


def test_refusals_are_counted_and_logged_at_a_bounded_pace_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = _authenticator()
    with caplog.at_level(logging.WARNING, logger="tradeplane.grpc.audit"):
        for _ in range(20):
            assert _check(auth, STATUS, "Bearer secret-guess-0123456789") == "UNAUTHENTICATED"
        assert _check(auth, HALT, "Bearer trader-token") == "PERMISSION_DENIED"
        assert _check(auth, STATUS, "Bearer viewer-token") == "pass"

    assert auth.auth_refusals == 21
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines  # one per peer and reason a minute
    assert lines[0].startswith(f"refused {STATUS} from ipv4:127.0.0.1: UNAUTHENTICATED unknown")
    assert "PERMISSION_DENIED" in lines[1]
    assert "Halt needs admin" in lines[1]
    assert not any("secret-guess" in line or "trader-token" in line for line in lines)
