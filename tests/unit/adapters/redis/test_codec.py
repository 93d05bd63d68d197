"""The Redis wire codec: every bus message survives encode/decode exactly; bad payloads fail loudly.

Values are built with the domain's validating constructors (``create`` for market data, the
dataclasses' own checks otherwise), so the round trip is proven on what the engine can produce.
"Exactly" means more than ``==`` (which says ``Decimal("1.50") == Decimal("1.5")`` and
``5 == Decimal(5)``): the reprs must agree too, so digits, exponents and int/Decimal kinds survive.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.redis.codec import MESSAGE_TYPES, TAG, CodecError, decode, encode, from_dict, tag_of, to_dict
from application.messages import (
    CancelRejected,
    FeedStatusChanged,
    IntentRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PositionChanged,
    ShardProgress,
    SignalDecided,
    SignalEmitted,
    StrategyFailed,
)
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, TradeId, VenueOrderId
from domain.intents import OrderIntent
from domain.market_data import Bar, BookDelta, BookInvalidated, BookSnapshot, QuoteTick, TradeTick
from domain.orders import Fill, LiquiditySide, OrderEvent, OrderStatus, OrderType, TimeInForce
from domain.risk import RiskReason, RiskRejection
from domain.signals import Signal
from domain.values import AggressorSide, OrderSide
from tests.builders import BTCUSDT, TS, make_fill, make_intent, make_signal
from tests.property.strategies import finite_decimals

# -- strategies -------------------------------------------------------------------------------

instrument_ids = st.builds(
    lambda symbol, venue: InstrumentId(f"{symbol}.{venue}"),
    st.from_regex(r"[A-Z0-9][A-Z0-9_\-/]{0,31}", fullmatch=True),
    st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True),
)
names = st.from_regex(r"[A-Za-z0-9_\-.:]{1,64}", fullmatch=True)
client_order_ids = names.map(ClientOrderId)
strategy_ids = names.map(StrategyId)
texts = st.text(max_size=40)
sentences = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
nanos = st.integers(0, 2**63 - 1)
decimals = finite_decimals()
non_negatives = decimals.map(Decimal.copy_abs)
positives = non_negatives.filter(lambda d: d > 0)


def _trades() -> st.SearchStrategy[TradeTick]:
    return st.builds(
        TradeTick.create,
        instrument_id=instrument_ids,
        price=positives,
        size=positives,
        aggressor=st.sampled_from(AggressorSide),
        trade_id=st.one_of(st.text(min_size=1, max_size=20), st.integers(0, 2**63 - 1).map(str)),
        ts_event=nanos,
        ts_init=nanos,
    )


@st.composite
def _quotes(draw: st.DrawFn) -> QuoteTick:
    bid, ask = sorted((draw(positives), draw(positives)))
    return QuoteTick.create(
        instrument_id=draw(instrument_ids),
        bid_price=bid,
        bid_size=draw(non_negatives),
        ask_price=ask,
        ask_size=draw(non_negatives),
        ts_event=draw(nanos),
        ts_init=draw(nanos),
    )


@st.composite
def _bars(draw: st.DrawFn) -> Bar:
    low, a, b, high = sorted(draw(st.lists(positives, min_size=4, max_size=4)))
    open_, close = draw(st.permutations((a, b)))
    return Bar.create(
        instrument_id=draw(instrument_ids),
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=draw(non_negatives),
        interval_ns=draw(st.integers(1, 2**63 - 1)),
        ts_event=draw(nanos),
        ts_init=draw(nanos),
    )


@st.composite
def _snapshots(draw: st.DrawFn) -> BookSnapshot:
    prices = sorted(draw(st.lists(positives, max_size=8, unique_by=lambda d: d)))
    split = draw(st.integers(0, len(prices)))
    return BookSnapshot.create(
        instrument_id=draw(instrument_ids),
        bids=[(price, draw(positives)) for price in prices[:split]],
        asks=[(price, draw(positives)) for price in prices[split:]],
        sequence=draw(nanos),
        ts_event=draw(nanos),
        ts_init=draw(nanos),
    )


@st.composite
def _deltas(draw: st.DrawFn) -> BookDelta:
    first, last = sorted((draw(nanos), draw(nanos)))
    levels = st.lists(st.tuples(positives, non_negatives), max_size=6)
    return BookDelta.create(
        instrument_id=draw(instrument_ids),
        bids=draw(levels),
        asks=draw(levels),
        first_sequence=first,
        last_sequence=last,
        ts_event=draw(nanos),
        ts_init=draw(nanos),
    )


def _invalidations() -> st.SearchStrategy[BookInvalidated]:
    return st.builds(BookInvalidated, instrument_ids, texts, nanos, nanos)


@st.composite
def _intents(draw: st.DrawFn) -> OrderIntent:
    order_type = draw(st.sampled_from(OrderType))
    return OrderIntent(
        strategy_id=draw(strategy_ids),
        instrument_id=draw(instrument_ids),
        side=draw(st.sampled_from(OrderSide)),
        quantity=draw(positives),
        order_type=order_type,
        price=draw(positives) if order_type.has_price else None,
        stop_price=draw(positives) if order_type.has_stop else None,
        time_in_force=draw(st.sampled_from(TimeInForce)),
        reduce_only=draw(st.booleans()),
        post_only=draw(st.booleans()) if order_type is OrderType.LIMIT else False,
        reason=draw(texts),
        ts_event=draw(nanos),
    )


@st.composite
def _signals(draw: st.DrawFn) -> Signal:
    by_side = draw(st.booleans())
    return Signal(
        strategy_id=draw(strategy_ids),
        instrument_id=draw(instrument_ids),
        side=draw(st.sampled_from(OrderSide)) if by_side else None,
        target_position=None if by_side else draw(decimals),
        strength=draw(st.one_of(st.floats(0.0, 1.0), st.sampled_from((0, 1)))),
        reason=draw(sentences),
        ts_event=draw(nanos),
    )


def _fills() -> st.SearchStrategy[Fill]:
    return st.builds(
        Fill,
        instrument_id=instrument_ids,
        client_order_id=client_order_ids,
        venue_order_id=st.none() | names.map(VenueOrderId),
        trade_id=st.text(min_size=1, max_size=20).map(TradeId),
        side=st.sampled_from(OrderSide),
        quantity=positives,
        price=positives,
        fee=decimals,
        fee_asset=st.sampled_from(("", "USDT", "BTC", "BNB")),
        liquidity=st.sampled_from(LiquiditySide),
        strategy_id=st.none() | strategy_ids,
        ts_event=nanos,
    )


def _order_events() -> st.SearchStrategy[OrderEvent]:
    return st.builds(
        OrderEvent,
        client_order_id=client_order_ids,
        status=st.sampled_from(OrderStatus),
        ts_event=nanos,
        reason=texts,
        fill=st.none() | _fills(),
        venue_order_id=st.none() | names.map(VenueOrderId),
        triggered_price=st.none() | positives,
    )


amounts = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), decimals)


def _rejections() -> st.SearchStrategy[RiskRejection]:
    return st.builds(
        RiskRejection,
        reason=st.sampled_from(RiskReason),
        message=texts,
        limit=amounts,
        value=amounts,
        instrument_id=st.none() | instrument_ids,
    )


def _reports(kind: Any) -> st.SearchStrategy[Any]:
    return st.builds(kind, client_order_id=client_order_ids, reason=texts, ts_event=nanos)


STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    TradeTick: _trades(),
    QuoteTick: _quotes(),
    Bar: _bars(),
    BookSnapshot: _snapshots(),
    BookDelta: _deltas(),
    BookInvalidated: _invalidations(),
    OrderIntent: _intents(),
    Signal: _signals(),
    OrderAccepted: st.builds(
        OrderAccepted,
        client_order_id=client_order_ids,
        venue_order_id=names.map(VenueOrderId),
        ts_event=nanos,
    ),
    OrderRejected: _reports(OrderRejected),
    OrderFilled: st.builds(OrderFilled, fill=_fills()),
    OrderCanceled: _reports(OrderCanceled),
    OrderExpired: _reports(OrderExpired),
    CancelRejected: _reports(CancelRejected),
    OrderUpdated: st.builds(
        OrderUpdated,
        event=_order_events(),
        instrument_id=instrument_ids,
        strategy_id=st.none() | strategy_ids,
    ),
    PositionChanged: st.builds(
        PositionChanged,
        instrument_id=instrument_ids,
        quantity=decimals,
        avg_entry_price=st.none() | positives,
        realized_pnl=decimals,
        fees=decimals,
        ts_event=nanos,
    ),
    IntentRejected: st.builds(
        IntentRejected,
        intent=_intents(),
        rejections=st.lists(_rejections(), max_size=4).map(tuple),
        ts_event=nanos,
    ),
    StrategyFailed: st.builds(StrategyFailed, strategy_id=strategy_ids, error=texts, ts_event=nanos),
    SignalEmitted: st.builds(SignalEmitted, signal=_signals()),
    SignalDecided: st.builds(
        SignalDecided,
        signal=_signals(),
        price=decimals,
        key=texts,
        source=st.from_regex(r"[0-9]{1,13}-[0-9]{1,3}"),
    ),
    FeedStatusChanged: st.builds(
        FeedStatusChanged,
        feed=texts,
        instruments=st.lists(st.sampled_from([BTCUSDT, InstrumentId("ETH-USD.COINBASE")]), max_size=3).map(
            tuple
        ),
        connected=st.booleans(),
        reason=texts,
        ts_event=nanos,
    ),
    ShardProgress: st.builds(ShardProgress, shard=st.integers(0, 1023), through=texts, worker=texts),
}

messages = st.one_of(*STRATEGIES.values())


def test_every_message_type_has_a_strategy_and_the_tag_is_the_class_name() -> None:
    assert set(STRATEGIES) == set(MESSAGE_TYPES.values())
    for tag, kind in MESSAGE_TYPES.items():
        assert tag_of(kind) == tag == kind.__name__


# -- round trip -------------------------------------------------------------------------------


def _assert_same(decoded: object, original: object) -> None:
    assert type(decoded) is type(original)
    assert decoded == original
    assert repr(decoded) == repr(original)  # same digits and exponents, same int/Decimal kinds


@pytest.mark.parametrize("kind", list(STRATEGIES), ids=lambda kind: kind.__name__)
@given(data=st.data())
def test_decode_of_encode_is_the_message_exactly(kind: type, data: st.DataObject) -> None:
    message = data.draw(STRATEGIES[kind])
    payload = encode(message)
    _assert_same(decode(payload), message)
    # The dict form is JSON-able as it is, and is what the bytes hold.
    as_dict = to_dict(message)
    assert as_dict[TAG] == kind.__name__
    assert orjson.loads(orjson.dumps(as_dict)) == as_dict == orjson.loads(payload)
    _assert_same(from_dict(as_dict), message)


@given(message=messages)
def test_decimals_travel_as_strings_and_never_as_json_numbers_with_a_fraction(message: object) -> None:
    def walk(value: object) -> None:
        assert not isinstance(value, float) or isinstance(
            message, (Signal, SignalEmitted, SignalDecided)
        )  # strength
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(orjson.loads(encode(message)))


def test_a_quote_encodes_to_readable_json_with_exact_decimal_strings() -> None:
    quote = QuoteTick.create(
        instrument_id=BTCUSDT,
        bid_price="65000.10",
        bid_size="0.00100000",
        ask_price="65000.2",
        ask_size="3",
        ts_event=TS,
        ts_init=TS + 1,
    )
    assert orjson.loads(encode(quote)) == {
        "type": "QuoteTick",
        "instrument_id": "BTCUSDT.BINANCE",
        "bid_price": "65000.10",
        "bid_size": "0.00100000",
        "ask_price": "65000.2",
        "ask_size": "3",
        "ts_event": TS,
        "ts_init": TS + 1,
    }


def test_enums_travel_by_value_and_nested_messages_as_untagged_objects() -> None:
    intent = make_intent(side=OrderSide.SELL, order_type=OrderType.LIMIT, price=Decimal("10.5"))
    payload = orjson.loads(encode(IntentRejected(intent=intent, rejections=(), ts_event=TS)))
    assert list(payload) == ["type", "intent", "rejections", "ts_event"]  # the tag, then field order
    assert TAG not in payload["intent"]
    assert payload["intent"]["side"] == -1
    assert payload["intent"]["order_type"] == "LIMIT"
    assert payload["intent"]["time_in_force"] == "GTC"
    assert payload["intent"]["price"] == "10.5"


def test_a_fills_fee_asset_and_an_intents_post_only_flag_travel_and_come_back() -> None:
    fill = replace(make_fill(fee=Decimal("0.0001")), fee_asset="BNB")
    payload = to_dict(OrderFilled(fill=fill))
    assert payload["fill"]["fee_asset"] == "BNB"
    assert decode(encode(OrderFilled(fill=fill))) == OrderFilled(fill=fill)
    intent = replace(make_intent(order_type=OrderType.LIMIT), post_only=True)
    message = IntentRejected(intent=intent, rejections=(), ts_event=TS)
    assert to_dict(message)["intent"]["post_only"] is True
    assert decode(encode(message)) == message


@pytest.mark.parametrize(
    ("member", "value", "words"),
    [
        ("fee_asset", "bnb", "fee_asset must be an upper-case asset code"),
        ("fee_asset", 7, "fee_asset must be a string"),
    ],
)
def test_a_bad_fee_asset_is_refused_naming_the_field(member: str, value: object, words: str) -> None:
    payload = to_dict(OrderFilled(fill=make_fill()))
    payload["fill"][member] = value
    with pytest.raises(CodecError, match=words):
        from_dict(payload)


def test_a_fill_without_its_fee_asset_is_refused_rather_than_guessed() -> None:
    payload = to_dict(OrderFilled(fill=make_fill()))
    del payload["fill"]["fee_asset"]
    with pytest.raises(CodecError, match="fee_asset"):
        from_dict(payload)


@pytest.mark.parametrize("side", [True, 1.0, "1", "BUY", None])
def test_an_enum_value_of_the_wrong_json_type_is_refused(side: object) -> None:
    payload = to_dict(OrderFilled(fill=make_fill()))
    payload["fill"]["side"] = side
    with pytest.raises(CodecError, match=r"OrderFilled\.fill: side must be a value of OrderSide"):
        from_dict(payload)


@pytest.mark.parametrize("text", [" 1.5", "1.5 ", "1_5", "+1.5", "1.5e0", ".5", "١", "sNaN", "-Infinity"])
def test_a_decimal_must_be_the_exact_finite_text_str_writes(text: str) -> None:
    with pytest.raises(
        CodecError, match=re.escape(f"QuoteTick: bid_price must be a finite decimal string, was {text!r}")
    ):
        from_dict(_quote_payload(bid_price=text))


def test_an_error_inside_a_list_names_the_index() -> None:
    snapshot = to_dict(
        BookSnapshot.create(
            instrument_id=BTCUSDT, bids=[("1", "2")], asks=[], sequence=1, ts_event=TS, ts_init=TS
        )
    )
    snapshot["bids"] = [["1", 2]]
    with pytest.raises(
        CodecError, match=r"cannot decode BookSnapshot: bids\[0\]\[1\] must be a finite decimal string, was 2"
    ):
        from_dict(snapshot)
    snapshot["bids"] = [["1"]]
    with pytest.raises(CodecError, match=r"BookSnapshot: bids\[0\] must be a list of 2"):
        from_dict(snapshot)
    rejected = to_dict(
        IntentRejected(
            intent=make_intent(),
            rejections=(RiskRejection(reason=RiskReason.RATE_LIMIT, message="slow down"),),
            ts_event=TS,
        )
    )
    rejected["rejections"][0]["limit"] = True
    with pytest.raises(
        CodecError,
        match=r"IntentRejected\.rejections\[0\]: limit must be a finite decimal string or an integer, "
        r"was True",
    ):
        from_dict(rejected)


def test_market_data_is_validated_by_its_create_constructor_when_decoded() -> None:
    crossed = _quote_payload(bid_price="3")  # above the ask of 2: QuoteTick.create refuses it
    with pytest.raises(CodecError, match="cannot decode QuoteTick: bid_price must not be above ask_price"):
        from_dict(crossed)


def test_risk_amounts_keep_their_kind_an_int_count_stays_an_int() -> None:
    rejected = IntentRejected(
        intent=make_intent(),
        rejections=(
            RiskRejection(reason=RiskReason.MAX_OPEN_ORDERS, message="too many", limit=5, value=6),
            RiskRejection(
                reason=RiskReason.MAX_ORDER_NOTIONAL,
                message="too big",
                limit=Decimal("5"),
                value=Decimal("6.0"),
                instrument_id=BTCUSDT,
            ),
        ),
        ts_event=TS,
    )
    payload = orjson.loads(encode(rejected))
    assert [(r["limit"], r["value"]) for r in payload["rejections"]] == [(5, 6), ("5", "6.0")]
    decoded = decode(encode(rejected))
    assert isinstance(decoded, IntentRejected)
    assert type(decoded.rejections[0].limit) is int
    assert decoded.rejections[1].value == Decimal("6.0")
    assert str(decoded.rejections[1].value) == "6.0"


# -- refusals ---------------------------------------------------------------------------------


def _quote_payload(**changes: object) -> dict[str, Any]:
    quote = QuoteTick.create(
        instrument_id=BTCUSDT,
        bid_price="1.5",
        bid_size="1",
        ask_price="2",
        ask_size="1",
        ts_event=TS,
        ts_init=TS,
    )
    payload = to_dict(quote)
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not _DROP}


_DROP = object()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object, was a list"),
        (b'{"bid_price": "1"}', "no 'type' member"),
        (b'{"type": "Teleport"}', "unknown message type 'Teleport'"),
        (b'{"type": 7}', "unknown message type 7"),
        (orjson.dumps(_quote_payload(bid_price=1.5)), "QuoteTick: bid_price must be a finite decimal string"),
        (orjson.dumps(_quote_payload(bid_price="NaN")), "QuoteTick: bid_price must be a finite decimal"),
        (orjson.dumps(_quote_payload(ask_price="Infinity")), "QuoteTick: ask_price must be a finite"),
        (orjson.dumps(_quote_payload(ask_size="1,5")), "QuoteTick: ask_size must be a finite decimal"),
        (orjson.dumps(_quote_payload(ts_event="1")), "QuoteTick: ts_event must be an integer"),
        (orjson.dumps(_quote_payload(ts_event=True)), "QuoteTick: ts_event must be an integer"),
        (orjson.dumps(_quote_payload(ts_init=1.0)), "QuoteTick: ts_init must be an integer"),
        (
            orjson.dumps(_quote_payload(instrument_id="btc")),
            "QuoteTick: instrument_id must look like SYMBOL.VENUE",
        ),
        (orjson.dumps(_quote_payload(bid_size=_DROP)), "QuoteTick: missing field(s) bid_size"),
        (orjson.dumps(_quote_payload(extra="x")), "QuoteTick: unknown field(s) 'extra'"),
    ],
)
def test_a_malformed_payload_raises_a_codec_error_naming_what_is_wrong(payload: bytes, expected: str) -> None:
    with pytest.raises(CodecError, match="cannot decode") as caught:
        decode(payload)
    assert expected in str(caught.value)


def test_nested_errors_name_the_path_and_domain_refusals_become_codec_errors() -> None:
    fill = Fill(
        instrument_id=BTCUSDT,
        client_order_id=ClientOrderId("O-1"),
        trade_id=TradeId("T-1"),
        side=OrderSide.BUY,
        quantity=Decimal("1"),
        price=Decimal("10"),
        ts_event=TS,
    )
    payload = to_dict(OrderFilled(fill=fill))
    payload["fill"]["side"] = "UP"
    with pytest.raises(
        CodecError, match=r"OrderFilled\.fill: side must be a value of OrderSide \(1, -1\), was 'UP'"
    ):
        from_dict(payload)
    payload["fill"]["side"] = 1
    payload["fill"]["quantity"] = "0"
    with pytest.raises(CodecError, match=r"cannot decode OrderFilled\.fill: fill quantity must be greater"):
        from_dict(payload)

    rejected = to_dict(IntentRejected(intent=make_intent(), rejections=(), ts_event=TS))
    rejected["rejections"] = {}
    with pytest.raises(CodecError, match="IntentRejected: rejections must be a list"):
        from_dict(rejected)
    rejected["rejections"] = [{"reason": "BORED"}]
    with pytest.raises(CodecError, match=r"IntentRejected\.rejections\[0\]: missing field"):
        from_dict(rejected)

    emitted = to_dict(SignalEmitted(signal=make_signal()))
    emitted["signal"]["side"] = None  # neither a side nor a target: Signal refuses it
    with pytest.raises(CodecError, match=r"SignalEmitted\.signal: side/target_position exactly one"):
        from_dict(emitted)
    emitted["signal"] = "BUY"
    with pytest.raises(CodecError, match=r"SignalEmitted\.signal: expected a JSON object"):
        from_dict(emitted)


def test_encoding_refuses_what_it_could_not_decode_exactly() -> None:
    with pytest.raises(CodecError, match="cannot encode object: not a message type"):
        encode(object())
    with pytest.raises(CodecError, match="not a message type the codec handles"):
        tag_of(dict)
    float_quote = QuoteTick(BTCUSDT, 1.5, Decimal(1), Decimal(2), Decimal(1), TS, TS)  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="cannot encode QuoteTick: bid_price must be a finite Decimal"):
        encode(float_quote)
    nan_quote = QuoteTick(BTCUSDT, Decimal("NaN"), Decimal(1), Decimal(2), Decimal(1), TS, TS)
    with pytest.raises(CodecError, match="bid_price must be a finite Decimal"):
        encode(nan_quote)
    huge = QuoteTick(BTCUSDT, Decimal(1), Decimal(1), Decimal(2), Decimal(1), 2**64, TS)
    with pytest.raises(CodecError, match="cannot encode QuoteTick"):
        encode(huge)
    bool_ts = QuoteTick(BTCUSDT, Decimal(1), Decimal(1), Decimal(2), Decimal(1), True, TS)
    with pytest.raises(CodecError, match="ts_event must be an int"):
        encode(bool_ts)
    a_list: Any = []  # not the tuple the field declares
    listed = IntentRejected(intent=make_intent(), rejections=a_list, ts_event=TS)
    with pytest.raises(
        CodecError, match=r"cannot encode IntentRejected: rejections must be a tuple, was \[\]"
    ):
        encode(listed)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@given(payload=st.binary(max_size=64))
def test_arbitrary_bytes_decode_to_a_codec_error_or_a_message(payload: bytes) -> None:
    with contextlib.suppress(CodecError):
        decode(payload)


@given(message=messages, data=st.data())
def test_a_field_replaced_by_any_json_value_decodes_or_raises_codec_error_only(
    message: object, data: st.DataObject
) -> None:
    payload = to_dict(message)
    field = data.draw(st.sampled_from(sorted(payload)))
    payload[field] = data.draw(json_values)
    try:
        decoded = from_dict(payload)
    except CodecError as error:
        problem = str(error)
        decoded = None
    else:
        problem = ""
    assert problem.startswith("cannot decode") or type(decoded) in MESSAGE_TYPES.values()


@given(message=messages, data=st.data())
def test_a_dropped_field_is_always_refused(message: object, data: st.DataObject) -> None:
    payload = to_dict(message)
    field = data.draw(st.sampled_from(sorted(key for key in payload if key != TAG)))
    del payload[field]
    with pytest.raises(CodecError, match=f"missing field\\(s\\) {field}"):
        from_dict(payload)
