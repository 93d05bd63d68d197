"""Request validation and the domain -> proto mapping: exact decimals, named fields, opaque cursors."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tradeplane.v1 import common_pb2, orders_pb2, risk_pb2

from application.ports import BrokerHealth
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId
from domain.orders import Fill, Order, OrderStatus, OrderType, TimeInForce
from domain.risk import RiskLimits, TradingState
from domain.values import OrderSide
from entrypoints.grpc import mapping
from entrypoints.grpc.errors import ApiError

BTC = InstrumentId("BTCUSDT.BINANCE")


def _invalid(call: object, *args: object, **kwargs: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "nan",
        "inf",
        "-Infinity",
        "sNaN",
        "1,5",
        " 1",
        "1 ",
        "0x10",
        "1e999999",
        "",
        "+",
        ".",
        "1..2",
        "١٢",
    ],
)
def test_malformed_decimals_are_refused_naming_the_field(text: str) -> None:
    error = _invalid(mapping.require_positive, text, "quantity")
    assert error.field == "quantity"
    assert error.message.startswith("quantity: ")


@pytest.mark.parametrize("text", ["0", "-1", "-0.0001", "0e5"])
def test_prices_and_quantities_must_be_positive(text: str) -> None:
    assert "positive" in _invalid(mapping.require_positive, text, "price").message


def test_too_long_and_too_precise_decimals_are_refused() -> None:
    assert _invalid(mapping.require_positive, "1" * 41, "quantity").field == "quantity"
    assert _invalid(mapping.require_positive, "1e-41", "quantity").field == "quantity"
    assert _invalid(mapping.require_positive, "1e30", "quantity").field == "quantity"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("30000.10", "30000.1"),
        ("0.05000000", "0.05"),
        ("1E+3", "1000"),
        ("-0.000", "0"),
        ("5", "5"),
        ("1.0000000000000000000000000000000000001", "1.0000000000000000000000000000000000001"),
    ],
)
def test_outbound_decimals_are_plain_and_never_rounded(value: str, wire: str) -> None:
    assert mapping.text(Decimal(value)) == wire


def test_an_optional_decimal_may_be_empty() -> None:
    assert mapping.parse_decimal("", "price", required=False) is None


@given(st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("1e15"), places=12, allow_nan=False))
def test_every_positive_decimal_survives_text_and_back_exactly(value: Decimal) -> None:
    wire = mapping.text(value)
    assert "e" not in wire.lower()
    assert mapping.require_positive(wire, "quantity") == value


def test_enums_refuse_unspecified_and_unknown_numbers_listing_the_choices() -> None:
    error = _invalid(mapping.parse_enum, 0, mapping.SIDE_FROM_PROTO, "side", "Side")
    assert "must be set" in error.message
    assert "SIDE_BUY" in error.message
    assert (
        "has no value 42" in _invalid(mapping.parse_enum, 42, mapping.SIDE_FROM_PROTO, "side", "Side").message
    )
    assert mapping.parse_enum(common_pb2.SIDE_SELL, mapping.SIDE_FROM_PROTO, "side", "Side") is OrderSide.SELL


def test_instrument_ids_must_be_well_formed_and_known_when_asked() -> None:
    assert mapping.parse_instrument_id("BTCUSDT.BINANCE") == BTC
    assert "required" in _invalid(mapping.parse_instrument_id, "").message
    assert _invalid(mapping.parse_instrument_id, "btc usdt").field == "instrument_id"
    error = _invalid(mapping.parse_instrument_id, "ETHUSDT.BINANCE", known={BTC: object()})
    assert "unknown instrument" in error.message
    assert "BTCUSDT.BINANCE" in error.message


@pytest.mark.parametrize("value", ["x" * 65, "a b", "id/1", "ü"])
def test_client_order_ids_are_checked(value: str) -> None:
    assert _invalid(mapping.parse_client_order_id, value).field == "client_order_id"


def test_page_sizes_default_and_are_bounded() -> None:
    assert mapping.page_size(0) == mapping.DEFAULT_PAGE_SIZE
    assert mapping.page_size(1000) == 1000
    for bad in (-1, 1001, 2**31 - 1):
        assert _invalid(mapping.page_size, bad).field == "page_size"


def test_page_tokens_round_trip_and_garbage_is_refused() -> None:
    token = mapping.encode_page_token(123, "TP-7")
    assert mapping.decode_page_token(token, 2) == ["123", "TP-7"]
    assert mapping.decode_page_token("", 2) is None
    for garbage in ("%%%", "bm90IGEgdG9rZW4=", "\u00ff"):
        assert _invalid(mapping.decode_page_token, garbage, 2).field == "page_token"


def test_an_order_maps_with_exact_strings_and_its_last_reason() -> None:
    order = Order(
        client_order_id="c-1",
        instrument_id=BTC,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.00100000"),
        price=Decimal("30000.10"),
        ts_init=1_700_000_000_123_456_789,
    )
    order.submit(1_700_000_000_200_000_000)
    order.reject("no funds", 1_700_000_000_300_000_000)
    proto = mapping.order_to_proto(order)
    assert proto.quantity == "0.001"
    assert proto.price == "30000.1"
    assert proto.stop_price == ""
    assert proto.status == common_pb2.ORDER_STATUS_REJECTED
    assert proto.reason == "no funds"
    assert proto.create_time.seconds == 1_700_000_000
    assert proto.create_time.nanos == 123_456_789
    assert proto.avg_fill_price == ""


def test_an_order_carries_its_post_only_flag() -> None:
    order = Order(
        client_order_id="c-1",
        instrument_id=BTC,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("1"),
        price=Decimal("30000"),
        post_only=True,
        ts_init=1_700_000_000_000_000_000,
    )
    assert mapping.order_to_proto(order).post_only is True


@pytest.mark.parametrize("asset", ["", "USDT", "BTC", "BNB"])
def test_a_fill_carries_the_asset_its_fee_is_paid_in(asset: str) -> None:
    fill = Fill(
        instrument_id=BTC,
        client_order_id=ClientOrderId("c-1"),
        trade_id=TradeId("t-1"),
        side=OrderSide.BUY,
        quantity=Decimal("0.5"),
        price=Decimal("30000"),
        fee=Decimal("0.0005"),
        fee_asset=asset,
        ts_event=1_700_000_000_000_000_000,
    )
    proto = mapping.fill_to_proto(fill)
    assert (proto.fee, proto.fee_asset) == ("0.0005", asset)


def test_every_status_and_trading_state_has_its_proto_value() -> None:
    assert set(mapping.STATUS_TO_PROTO) == set(OrderStatus)
    assert set(mapping.STATUS_FROM_PROTO.values()) == set(OrderStatus)
    assert set(mapping.TRADING_STATE_TO_PROTO) == set(TradingState)


def test_risk_limits_map_to_proto_with_unset_limits_absent() -> None:
    limits = RiskLimits.from_mapping(
        {
            "max_order_quantity": "0.5",
            "max_orders_per_window": 10,
            "window_ns": 1_000_000_000,
            "instrument_limits": {"BTCUSDT.BINANCE": {"max_position_quantity": "2"}},
        }
    )
    proto = mapping.risk_limits_to_proto(limits)
    assert proto.max_order_quantity == "0.5"
    assert proto.max_orders_per_window == 10
    assert not proto.HasField("max_gross_exposure")
    assert proto.instrument_limits["BTCUSDT.BINANCE"].max_position_quantity == "2"
    assert not proto.instrument_limits["BTCUSDT.BINANCE"].HasField("max_order_quantity")
    assert isinstance(proto, risk_pb2.RiskLimits)


def test_cursors_carry_a_timestamp_and_an_id() -> None:
    assert mapping.decode_cursor(mapping.encode_page_token(17, "TP-1")) == (17, "TP-1")
    assert mapping.decode_cursor("") is None
    assert _invalid(mapping.decode_cursor, mapping.encode_page_token("x", "TP-1")).field == "page_token"


def test_broker_health_maps_every_field_and_an_unset_block_reads_as_now() -> None:
    health = BrokerHealth(
        name="binance",
        environment="testnet",
        account="uid 7 (SPOT)",
        connected=False,
        requests_in_flight=2,
        unknown_outcomes=1,
        rate_limited=3,
        blocked_until_ns=1_700_000_000_500_000_000,
        used_weight=42,
        reconnects=4,
        clock_offset_ms=-12,
        last_error="connection lost",
    )
    message = mapping.broker_health_to_proto(health)
    assert (message.name, message.environment, message.account, message.connected) == (
        "binance",
        "testnet",
        "uid 7 (SPOT)",
        False,
    )
    assert (message.requests_in_flight, message.unknown_outcomes, message.rate_limited) == (2, 1, 3)
    assert (message.blocked_until.seconds, message.blocked_until.nanos) == (1_700_000_000, 500_000_000)
    assert (message.used_weight, message.reconnects, message.clock_offset_ms) == (42, 4, -12)
    assert message.last_error == "connection lost"
    unblocked = mapping.broker_health_to_proto(
        BrokerHealth(name="b", environment="live", account="a", connected=True)
    )
    assert not unblocked.HasField("blocked_until")


@pytest.mark.parametrize(
    "stamp",
    ["\u00b2", "\u0661", "9" * 29, str(2**63), "9" * 5000, "-5", "+5", " 5", ""],
)
def test_a_cursor_timestamp_is_ascii_digits_that_fit_64_bits(stamp: str) -> None:
    token = mapping.encode_page_token(stamp, "TP-1")
    assert _invalid(mapping.decode_cursor, token).field == "page_token"


def test_a_cursor_is_bounded_in_length_and_alphabet() -> None:
    assert mapping.decode_cursor(mapping.encode_page_token(2**63 - 1, "TP-1")) == (2**63 - 1, "TP-1")
    for token in ("A" * 100_000, mapping.encode_page_token(5, "x" * 200), mapping.encode_page_token(5, "")):
        assert _invalid(mapping.decode_cursor, token).message.startswith("page_token: is not a token")
    assert _invalid(mapping.decode_cursor, "YWJj!!!!").field == "page_token"


@given(st.text(max_size=300))
def test_any_page_token_decodes_or_is_invalid_argument(token: str) -> None:
    outcome: tuple[int, str] | ApiError | None
    try:
        outcome = mapping.decode_cursor(token)
    except ApiError as error:
        outcome = error
    if isinstance(outcome, ApiError):
        assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT
        assert outcome.field == "page_token"
    else:
        assert outcome is None or 0 <= outcome[0] < 2**63


@given(st.integers(0, 2**63 - 1), st.text(min_size=1, max_size=64).filter(lambda t: "\x1f" not in t))
def test_every_cursor_the_server_issues_round_trips(stamp: int, key: str) -> None:
    assert mapping.decode_cursor(mapping.encode_page_token(stamp, key)) == (stamp, key)


def _reference_order(order: Order) -> orders_pb2.Order:
    """The order message built the obvious way, every field through the constructor."""
    last = order.events[-1] if order.events else None
    return orders_pb2.Order(
        client_order_id=order.client_order_id,
        venue_order_id=order.venue_order_id or "",
        instrument_id=order.instrument_id,
        side=mapping.SIDE_TO_PROTO[order.side],
        type=mapping.TYPE_TO_PROTO[order.order_type],
        time_in_force=mapping.TIF_TO_PROTO[order.time_in_force],
        quantity=mapping.text(order.quantity),
        price=mapping.text(order.price),
        stop_price=mapping.text(order.stop_price),
        filled_quantity=mapping.text(order.filled_quantity),
        leaves_quantity=mapping.text(order.leaves_quantity),
        avg_fill_price=mapping.text(order.avg_fill_price),
        status=mapping.STATUS_TO_PROTO[order.status],
        strategy_id=order.strategy_id or "",
        reduce_only=order.reduce_only,
        create_time=mapping.timestamp(order.ts_init),
        update_time=mapping.timestamp(order.ts_last),
        reason=last.reason if last is not None else "",
        post_only=order.post_only,
    )


_PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@st.composite
def _orders(draw: st.DrawFn) -> Order:
    """An order of any type in a state it can reach: new, submitted, accepted, partly or
    fully filled, canceled or rejected; with or without a strategy, at any time (0 included)."""
    order_type = draw(st.sampled_from(list(OrderType)))
    ts = draw(st.integers(min_value=0, max_value=2**62))
    order = Order(
        client_order_id=draw(st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True)),
        instrument_id=BTC,
        side=draw(st.sampled_from(list(OrderSide))),
        order_type=order_type,
        quantity=draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3)),
        price=draw(_PRICES) if order_type.has_price else None,
        stop_price=draw(_PRICES) if order_type.has_stop else None,
        time_in_force=draw(st.sampled_from(list(TimeInForce))),
        strategy_id=draw(st.sampled_from([None, StrategyId("manual"), StrategyId("sma-1")])),
        reduce_only=draw(st.booleans()),
        post_only=order_type is OrderType.LIMIT and draw(st.booleans()),
        ts_init=ts,
    )
    steps = draw(st.integers(min_value=0, max_value=5))
    if steps >= 1:
        order.submit(ts + 1)
    if steps == 2:
        order.reject(draw(st.text(max_size=20)), ts + 2)
    if steps >= 3:
        order.accept("v-1", ts + 2)
    if steps >= 4:
        part = order.quantity / 2 if steps == 4 else order.quantity
        order.fill(
            Fill(
                instrument_id=BTC,
                client_order_id=order.client_order_id,
                trade_id=TradeId("t-1"),
                side=order.side,
                quantity=part.quantize(Decimal("0.0001")),
                price=draw(_PRICES),
                fee=Decimal("0.01"),
                ts_event=ts + 3,
            )
        )
    if steps == 4 and order.is_open and draw(st.booleans()):
        order.cancel(ts + 4, reason=draw(st.text(max_size=20)))
    return order


@given(_orders())
def test_an_order_written_in_place_is_the_message_the_constructor_builds(order: Order) -> None:
    reference = _reference_order(order)
    assert mapping.order_to_proto(order) == reference
    response = orders_pb2.SubmitOrderResponse()
    mapping.write_order(response.order, order)
    assert response == orders_pb2.SubmitOrderResponse(order=reference)
    assert response.SerializeToString(deterministic=True) == orders_pb2.SubmitOrderResponse(
        order=reference
    ).SerializeToString(deterministic=True)
