"""The paper venue keeps its own state on disk: what it reported, it remembers after a restart."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.brokers.paper import PaperBroker, PaperBrokerConfig, VenueLog, VenueLogError
from adapters.brokers.paper import orders as orders_module
from application.messages import OrderAccepted, OrderFilled
from domain.identifiers import ClientOrderId
from domain.orders import OrderStatus, OrderType, TimeInForce
from domain.values import AggressorSide, OrderSide
from tests.builders import STEP_NS, TS, make_order
from tests.unit.adapters.brokers.paper.paper_venue import PaperVenue

BIDS = [("99.00", "3"), ("98.00", "2")]
ASKS = [("100.00", "1"), ("101.00", "2")]
LATER = TS + STEP_NS


def _venue(path: Path) -> PaperVenue:
    return PaperVenue(
        PaperBrokerConfig(maker_fee_bps=Decimal(2), taker_fee_bps=Decimal(10)), log=VenueLog(path)
    )


def _limit(price: str, quantity: str = "1", side: OrderSide = OrderSide.BUY, n: int = 1):  # type: ignore[no-untyped-def]
    return make_order(client_order_id=f"L-{n}", price=price, side=side, quantity=quantity, ts_init=LATER)


def _market(quantity: str, n: int = 1):  # type: ignore[no-untyped-def]
    return make_order(client_order_id=f"M-{n}", order_type=OrderType.MARKET, quantity=quantity, ts_init=LATER)


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_restarted_venue_still_works_its_resting_orders_and_remembers_closed_ones(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    first = _venue(path)
    first.snapshot(BIDS, ASKS, sequence=1)
    resting = first.submit(_limit("95.00", "2"))
    first.trade("94.00", "0.5", ts=LATER)  # through the price: a partial maker fill
    taken = first.submit(_market("2", n=2))

    second = _venue(path)  # a new process: nothing but the log
    [working] = second.broker.query_open_orders()
    assert working.client_order_id == resting.client_order_id
    assert working.status is OrderStatus.PARTIALLY_FILLED
    assert working.filled_quantity == Decimal("0.5")
    assert [fill.trade_id for fill in working.fills] == [fill.trade_id for fill in resting.fills]
    closed = second.broker.query_order(taken.client_order_id)
    assert closed is not None
    assert closed.status is OrderStatus.FILLED
    assert closed.fills == tuple(taken.fills)  # the same fills, exactly: ids, prices, fees, times
    assert second.broker.query_order(ClientOrderId("NEVER-1")) is None

    # the resting order fills on at the restarted venue, and can be canceled there
    second.orders[resting.client_order_id] = resting
    second.trade("94.50", "1", ts=LATER + STEP_NS)
    assert second.fills(resting) == [(Decimal(1), Decimal("95.00"))]
    second.cancel(resting, LATER + 2 * STEP_NS)
    assert resting.status is OrderStatus.CANCELED
    third = _venue(path)
    view = third.broker.query_order(resting.client_order_id)
    assert view is not None
    assert view.status is OrderStatus.CANCELED
    assert view.reason == "canceled on request"
    assert view.filled_quantity == Decimal("1.5")


def test_every_report_is_in_the_log_before_anyone_hears_of_it(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    venue = _venue(path)
    venue.snapshot(BIDS, ASKS, sequence=1)
    seen: list[list[str]] = []

    def on_report(report: object) -> None:
        seen.append([str(record["e"]) for record in _records(path)[1:] if record["e"] != "ids"])

    venue.bus.subscribe(OrderAccepted, on_report)
    venue.bus.subscribe(OrderFilled, on_report)
    venue.submit(_market("1"))

    assert seen == [["accepted", "filled"], ["accepted", "filled"]]


def test_a_rejection_is_remembered_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    venue = _venue(path)
    order = venue.submit(_market("1"))  # no market data yet
    assert order.status is OrderStatus.REJECTED
    view = _venue(path).broker.query_order(order.client_order_id)
    assert view is not None
    assert view.status is OrderStatus.REJECTED
    assert "no market data" in view.reason


def test_the_rest_of_a_market_order_cut_by_a_crash_expires_at_restart(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    venue = _venue(path)
    venue.snapshot(BIDS, ASKS, sequence=1)
    venue.submit(_market("5"))  # fills 3 of 5 (the book holds 3), the rest expires
    lines = path.read_text().splitlines()
    assert [json.loads(line)["e"] for line in lines] == [
        "paper-venue-log",
        "ids",
        "accepted",
        "filled",
        "filled",
        "expired",
    ]
    path.write_text("\n".join(lines[:4]) + "\n")  # the crash came after the first fill

    view = _venue(path).broker.query_order(ClientOrderId("M-1"))
    assert view is not None
    assert view.status is OrderStatus.EXPIRED
    assert view.filled_quantity == Decimal(1)
    assert "lost when the paper venue restarted" in view.reason
    assert _records(path)[-1]["e"] == "expired"  # and the log says so from now on


def test_a_line_torn_by_a_crash_is_dropped_and_the_log_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    venue = _venue(path)
    venue.snapshot(BIDS, ASKS, sequence=1)
    venue.submit(_limit("95.00"))
    with open(path, "ab") as file:
        file.write(b'{"e":"filled","id":"L-1","trade_id":"PA')  # cut mid-write: never published

    second = _venue(path)
    [working] = second.broker.query_open_orders()
    assert working.status is OrderStatus.ACCEPTED
    second.snapshot(BIDS, ASKS, sequence=1)
    second.submit(_limit("96.00", n=2))
    assert [o.client_order_id for o in _venue(path).broker.query_open_orders()] == ["L-1", "L-2"]


def test_a_file_that_is_not_a_venue_log_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    path.write_text("SQLite format 3\n")
    with pytest.raises(VenueLogError, match=r"venue\.log.*is not"):
        _venue(path)
    path.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(VenueLogError, match="line 1"):
        _venue(path)


def test_a_malformed_record_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    venue = _venue(path)
    venue.snapshot(BIDS, ASKS, sequence=1)
    venue.submit(_limit("95.00"))
    records = _records(path)
    assert records[2]["e"] == "accepted"
    records[2]["qty"] = 1.5  # a float where an exact decimal string belongs
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(VenueLogError, match=r"line 3 \('accepted'\) is malformed"):
        _venue(path)
    records[2]["qty"] = "-1"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(VenueLogError, match="line 3"):
        _venue(path)
    path.write_text(json.dumps(records[0]) + "\n" + json.dumps({"e": "filled", "id": "NOPE-1"}) + "\n")
    with pytest.raises(VenueLogError, match="line 2"):
        _venue(path)


def test_the_log_is_compacted_at_start_to_what_the_venue_still_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders_module, "HISTORY", 2)
    path = tmp_path / "venue.log"
    venue = _venue(path)
    venue.snapshot(BIDS, ASKS, sequence=1)
    for n in range(1, 6):
        venue.submit(_market("0.1", n=n))
    venue.submit(_limit("90.00", n=9))
    _venue(path)
    kept = {str(record["id"]) for record in _records(path)[1:] if record["e"] != "ids"}
    assert kept == {"M-4", "M-5", "L-9"}


def test_clear_forgets_everything(tmp_path: Path) -> None:
    path = tmp_path / "venue.log"
    venue = _venue(path)
    venue.snapshot(BIDS, ASKS, sequence=1)
    venue.submit(_limit("95.00"))
    VenueLog(path).clear()
    assert _venue(path).broker.query_open_orders() == []


# -- the invariant: a venue rebuilt from its log answers as the venue that wrote it ----------------

_step = st.one_of(
    st.tuples(
        st.just("limit"),
        st.sampled_from(["97.00", "98.00", "99.00", "100.00"]),
        st.sampled_from(list(OrderSide)),
    ),
    st.tuples(st.just("market"), st.sampled_from(["0.5", "1", "4"]), st.sampled_from(list(OrderSide))),
    st.tuples(
        st.just("trade"),
        st.sampled_from(["97.50", "98.00", "100.00", "101.00"]),
        st.sampled_from(list(AggressorSide)),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.just(None)),
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(_step, max_size=25))
def test_a_venue_rebuilt_from_its_log_answers_every_query_as_the_one_that_wrote_it(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, object, object]]
) -> None:
    path = tmp_path_factory.mktemp("venue") / "venue.log"
    venue = _venue(path)
    venue.snapshot(BIDS, ASKS, sequence=1)
    submitted = []
    ts = LATER
    for n, (kind, a, b) in enumerate(steps, start=1):
        ts += STEP_NS
        if kind == "limit":
            order = make_order(client_order_id=f"L-{n}", price=str(a), side=b, quantity="1", ts_init=ts)  # type: ignore[arg-type]
            submitted.append(venue.submit(order))
        elif kind == "market":
            order = make_order(
                client_order_id=f"M-{n}",
                order_type=OrderType.MARKET,
                side=b,  # type: ignore[arg-type]
                quantity=str(a),
                time_in_force=TimeInForce.IOC,
                ts_init=ts,
            )
            submitted.append(venue.submit(order))
        elif kind == "trade":
            venue.trade(str(a), "0.7", b, ts=ts, trade_id=f"X-{n}")  # type: ignore[arg-type]
        elif submitted:
            order = submitted[int(a) % len(submitted)]  # type: ignore[call-overload]
            if order.status.is_open and order.status is not OrderStatus.CANCEL_PENDING:
                venue.cancel(order, ts)

    rebuilt = _venue(path).broker

    def view(broker: PaperBroker, coid: ClientOrderId) -> tuple[object, ...] | None:
        answer = broker.query_order(coid)
        return (
            None if answer is None else (answer.status, answer.filled_quantity, answer.fills, answer.reason)
        )

    for order in submitted:
        assert view(rebuilt, order.client_order_id) == view(venue.broker, order.client_order_id)
        assert order.fills == list(rebuilt.query_order(order.client_order_id).fills)  # type: ignore[union-attr]
    assert [o.client_order_id for o in rebuilt.query_open_orders()] == [
        o.client_order_id for o in venue.broker.query_open_orders()
    ]
