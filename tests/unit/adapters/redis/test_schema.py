"""The codec's JSON form is derived from the message classes: a new type needs no field list.

``schema_of`` is given classes the codec was never written for, and must carry them exactly or
refuse them when the schema is built (never later, on a message).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, get_args

import orjson
import pytest

from adapters.redis.codec import MESSAGE_TYPES
from adapters.redis.registry import STREAM_FAMILIES
from adapters.redis.schema import FieldError, schema_of
from application.messages import BrokerReport, VenueOrder
from domain.errors import InvalidValue
from domain.market_data import MarketEvent
from domain.orders import OrderStatus, OrderType, TimeInForce
from domain.values import OrderSide
from tests.builders import BTCUSDT, CLIENT_ORDER_ID, TS, VENUE_ORDER_ID, make_fill


def _round_trip(message: Any) -> Any:
    schema = schema_of(type(message))
    wire = orjson.loads(orjson.dumps(schema.encode(message, {})))
    return schema.decode(wire, schema.names)


def test_every_market_event_and_broker_report_is_registered_and_each_type_once() -> None:
    registered = [kind for kinds in STREAM_FAMILIES.values() for kind in kinds]
    assert len(registered) == len(set(registered)) == len(MESSAGE_TYPES)
    assert set(get_args(MarketEvent)) <= set(registered)
    assert set(get_args(BrokerReport)) <= set(registered)


def test_a_class_the_codec_was_not_written_for_round_trips_from_its_fields_alone() -> None:
    order = VenueOrder(
        client_order_id=CLIENT_ORDER_ID,
        venue_order_id=VENUE_ORDER_ID,
        instrument_id=BTCUSDT,
        side=OrderSide.SELL,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        price=Decimal("101.50"),
        quantity=Decimal("2"),
        filled_quantity=Decimal("1.0"),
        status=OrderStatus.PARTIALLY_FILLED,
        fills=(make_fill(quantity="0.4"), make_fill(quantity="0.6", trade_id="T-2")),
        ts_last=TS,
    )
    decoded = _round_trip(order)
    assert decoded == order
    assert repr(decoded) == repr(order)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Counts:
    counts: tuple[int, ...]
    flags: tuple[bool | None, ...]
    ratio: float
    limit: Decimal | int | None


@pytest.mark.parametrize(
    "message",
    [
        _Counts(counts=(1, 2**63), flags=(True, None), ratio=0.5, limit=Decimal("1.0")),
        _Counts(counts=(), flags=(), ratio=1, limit=3),
        _Counts(counts=(0,), flags=(False,), ratio=0.0, limit=None),
    ],
)
def test_plain_values_inside_tuples_and_unions_keep_their_json_kinds(message: _Counts) -> None:
    decoded = _round_trip(message)
    assert decoded == message
    assert repr(decoded) == repr(message)


def test_a_bool_is_not_an_int_nor_an_int_a_bool() -> None:
    schema = schema_of(_Counts)
    with pytest.raises(FieldError) as caught:
        schema.encode(_Counts(counts=(1, True), flags=(), ratio=0.5, limit=None), {})
    assert caught.value.path == ".counts[1]"
    with pytest.raises(FieldError) as caught:
        schema.decode({"counts": [], "flags": [1], "ratio": 0.5, "limit": None}, schema.names)
    assert caught.value.describe("_Counts") == "_Counts: flags[0] must be true or false, was 1"


class _Level(NamedTuple):
    price: Decimal
    size: Decimal

    @classmethod
    def create(cls, *, price: Decimal, size: Decimal) -> _Level:
        if size <= 0:
            raise InvalidValue("size", size, "must be greater than zero")
        return cls(price, size)


def test_a_named_tuple_is_built_with_its_create_constructor() -> None:
    assert _round_trip(_Level(Decimal("1.5"), Decimal("2"))) == _Level(Decimal("1.5"), Decimal("2"))
    with pytest.raises(FieldError, match="size must be greater than zero") as caught:
        schema_of(_Level).decode({"price": "1.5", "size": "0"}, schema_of(_Level).names)
    assert caught.value.whole


@dataclass(frozen=True)
class _Untyped:
    payload: object


@dataclass(frozen=True)
class _Ambiguous:
    amount: Decimal | str


@dataclass(frozen=True)
class _Mapping:
    limits: dict[str, Decimal]


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        (_Untyped, "_Untyped.payload: the Redis codec has no JSON form for <class 'object'>"),
        (_Ambiguous, "_Ambiguous.amount: the members of .* are not told apart by their JSON type"),
        (_Mapping, "_Mapping.limits: the Redis codec has no JSON form for dict"),
    ],
)
def test_a_field_without_an_unambiguous_json_form_is_refused_when_the_schema_is_built(
    kind: type, problem: str
) -> None:
    with pytest.raises(TypeError, match=problem):
        schema_of(kind)
