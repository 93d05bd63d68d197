"""JSON to protobuf and back, and gRPC statuses to HTTP ones: all the gateway does itself.

The gRPC services validate, authorize and map domain errors; here a request only becomes its
message (a body or query string the message cannot hold is refused with 400 naming the field),
is sent over loopback with the caller's ``Authorization`` header as ``authorization``
metadata, and the answer or the status comes back as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse

CALL_TIMEOUT_S = 10.0
"""Deadline of each gRPC call the gateway makes (DEADLINE_EXCEEDED becomes 504)."""
MAX_SHOWN = 300
"""Characters of a parser's message an error body shows."""

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}
"""Any other code is 500."""

M = TypeVar("M", bound=Message)
Rpc = Callable[..., Awaitable[Any]]


class BadInput(Exception):
    """A body or query the request message cannot hold: 400, before any gRPC call."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message[:MAX_SHOWN]
        self.field = field


def error_body(
    code: str, message: str, *, field: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if reason:
        error["reason"] = reason
    return {"error": error}


def bad_input_response(error: BadInput) -> JSONResponse:
    return JSONResponse(error_body("INVALID_ARGUMENT", error.message, field=error.field), status_code=400)


def grpc_error(error: grpc.aio.AioRpcError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and error body of a failed call: its code, message, field and reason."""
    code = error.code()
    field = reason = None
    status = rpc_status.from_call(error)  # type: ignore[arg-type]  # an AioRpcError has the Call API used
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            if bad.field_violations:
                field = bad.field_violations[0].field
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
    body = error_body(code.name, error.details() or "", field=field, reason=reason)
    return HTTP_STATUS.get(code, 500), body


def grpc_error_response(error: grpc.aio.AioRpcError) -> JSONResponse:
    status, body = grpc_error(error)
    return JSONResponse(body, status_code=status)


def to_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _names(descriptor: Any) -> set[str]:
    return {name for f in descriptor.fields for name in (f.name, f.json_name)}


_AT_FIELD = re.compile(r"(?:at \"?\w+\.(\w+)|parse (\w+) field)")


def from_dict(data: object, message_class: type[M]) -> M:
    """``data`` as ``message_class``; a key the message lacks, or a value of the wrong kind, is BadInput."""
    descriptor = message_class.DESCRIPTOR
    if not isinstance(data, dict):
        raise BadInput(f"the body must be a JSON object (was {type(data).__name__})")
    unknown = sorted(str(key) for key in data if key not in _names(descriptor))
    if unknown:
        raise BadInput(f"{unknown[0]}: no such field in {descriptor.name}", field=unknown[0])
    try:
        return json_format.ParseDict(data, message_class())
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as error:
        raise BadInput(f"invalid {descriptor.name}: {error}", field=_field_of(str(error), data)) from None


_PARSED = re.compile(r"parse (\w+) field")
_NO_FIELD = re.compile(r'no field named "(\w+)" at "\w+((?:\.\w+)*)"')


def _field_of(problem: str, data: dict[str, Any]) -> str | None:
    """The dotted path of the field a protobuf JSON parser names (``limits.max_order_quantity``),
    as far as ``data`` holds it (a string where an object belongs names the string's key)."""
    unknown = _NO_FIELD.search(problem)
    parsed = _PARSED.findall(problem)
    if unknown:
        path = [*unknown.group(2).split(".")[1:], unknown.group(1)]
    elif parsed:
        path = parsed
    else:
        found = _AT_FIELD.search(problem)
        return next((group for group in found.groups() if group), None) if found else None
    held: list[str] = []
    node: object = data
    for name in path:
        if not isinstance(node, dict) or name not in node:
            break
        held.append(name)
        node = node[name]
    return ".".join(held) or path[0]


async def body(request: Request, message_class: type[M]) -> M:
    """The request's JSON body as ``message_class`` (an empty body: the empty message)."""
    raw = await request.body()
    if not raw.strip():
        return message_class()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise BadInput(f"malformed JSON body: {error}") from None
    return from_dict(data, message_class)


def _query_value(field: Any, text: str) -> object:
    if field.type == FieldDescriptor.TYPE_BOOL:
        if text.lower() not in {"true", "false", "1", "0"}:
            raise BadInput(f"{field.name}: must be true or false (was {text[:64]!r})", field=field.name)
        return text.lower() in {"true", "1"}
    if field.cpp_type in {
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    }:
        try:
            return int(text)
        except ValueError:
            raise BadInput(
                f"{field.name}: must be a whole number (was {text[:64]!r})", field=field.name
            ) from None
    if field.type == FieldDescriptor.TYPE_ENUM and text.lstrip("-").isdigit():
        return int(text)
    return text


def from_query(query: Mapping[str, str], message_class: type[M]) -> M:
    """Query parameters (scalar fields of ``message_class`` by name) as the message.

    A repeated field takes each occurrence of its key (``?ids=a&ids=b``) when ``query`` is a
    multi-dict such as Starlette's ``QueryParams``.
    """
    fields = message_class.DESCRIPTOR.fields_by_name
    data: dict[str, object] = {}
    for key, text in query.items():
        field = fields.get(key)
        if field is None or field.type == FieldDescriptor.TYPE_MESSAGE:
            raise BadInput(f"{key}: no such parameter of {message_class.DESCRIPTOR.name}", field=key)
        if field.is_repeated:
            texts = query.getlist(key) if isinstance(query, ImmutableMultiDict) else [text]
            data[key] = [_query_value(field, each) for each in texts]
        else:
            data[key] = _query_value(field, text)
    return from_dict(data, message_class)


def metadata(request: Request) -> tuple[tuple[str, str], ...]:
    """The caller's ``Authorization`` header as gRPC metadata (none: the server says 401)."""
    header = request.headers.get("authorization")
    if header is None:
        return ()
    if not header.isascii() or not header.isprintable():
        raise BadInput("authorization: the header must be printable ASCII ('Bearer <token>')")
    return (("authorization", header),)


async def call(request: Request, rpc: Rpc, message: Message) -> Any:
    """``rpc(message)`` as the caller; a failure raises ``grpc.aio.AioRpcError``."""
    return await rpc(message, metadata=metadata(request), timeout=CALL_TIMEOUT_S)


_JSON_TYPES = {
    FieldDescriptor.CPPTYPE_BOOL: "boolean",
    FieldDescriptor.CPPTYPE_INT32: "integer",
    FieldDescriptor.CPPTYPE_UINT32: "integer",
    FieldDescriptor.CPPTYPE_DOUBLE: "number",
    FieldDescriptor.CPPTYPE_FLOAT: "number",
}


def _field_schema(field: Any) -> dict[str, Any]:
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        schema: dict[str, Any] = {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        schema = {"type": "object"}
    else:  # 64-bit integers are strings in proto3 JSON, and decimals are strings in these protos
        schema = {"type": _JSON_TYPES.get(field.cpp_type, "string")}
    if field.is_repeated and field.type != FieldDescriptor.TYPE_MESSAGE:
        return {"type": "array", "items": schema}
    return schema


def body_schema(message_class: type[Message]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a route whose JSON body is ``message_class``."""
    descriptor = message_class.DESCRIPTOR
    schema = {
        "title": descriptor.name,
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _field_schema(f) for f in descriptor.fields},
    }
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema}}}}


def query_parameters(message_class: type[Message]) -> dict[str, Any]:
    """OpenAPI query ``parameters`` of a route whose query is ``message_class``."""
    return {
        "parameters": [
            {"name": f.name, "in": "query", "required": False, "schema": _field_schema(f)}
            for f in message_class.DESCRIPTOR.fields
        ]
    }
