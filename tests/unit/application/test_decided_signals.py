"""A decided signal is traded once per key, whatever copy of it arrives and when."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from application.decided_signals import DecidedSignals, client_order_id_for
from application.messages import SignalDecided
from application.strategy_engine import UnknownStrategy
from domain.identifiers import ClientOrderId, InstrumentId, StrategyId, client_order_id
from domain.orders import Order
from domain.signals import Signal
from domain.values import OrderSide


def _decision(key: str, strategy: str = "sma") -> SignalDecided:
    signal = Signal(
        strategy_id=StrategyId(strategy),
        instrument_id=InstrumentId("BTCUSDT.BINANCE"),
        side=OrderSide.BUY,
        reason="fast above slow",
        ts_event=1,
    )
    return SignalDecided(signal=signal, price=Decimal("100"), key=key, source="1-0")


class Execution:
    """A fake of what DecidedSignals drives: the strategy engine, the orders and the store."""

    def __init__(self) -> None:
        self.traded: list[tuple[ClientOrderId | None, str | None]] = []
        self.orders: set[ClientOrderId] = set()
        self.keys: set[str] = set()
        self.stale: list[str] = []

    def trade(
        self, signal: Signal, price: Decimal, coid: ClientOrderId | None, key: str | None, stale: str = ""
    ) -> None:
        if signal.strategy_id == "gone":
            raise UnknownStrategy(signal.strategy_id)
        assert key is not None
        self.keys.add(key)
        if stale:
            self.stale.append(stale)
            return
        self.traded.append((coid, key))
        if coid is not None:
            self.orders.add(coid)

    def find(self, coid: ClientOrderId) -> Order | None:
        return object() if coid in self.orders else None  # type: ignore[return-value]

    def handler(self, recent: int = 100, *, now: int | None = None, max_age_ns: int = 0) -> DecidedSignals:
        return DecidedSignals(
            trade=self.trade,
            find_order=self.find,
            stored=self.keys.__contains__,
            order_id_prefix="TP",
            recent=recent,
            now_ns=None if now is None else (lambda: now),
            max_age_ns=max_age_ns,
        )


def test_a_copy_is_counted_not_traded() -> None:
    execution = Execution()
    handler = execution.handler()
    handler.on_decided(_decision("m:1|sma|0"))
    handler.on_decided(_decision("m:1|sma|0"))
    assert len(execution.traded) == 1
    assert (handler.traded, handler.duplicates) == (1, 1)


def test_a_copy_after_a_restart_is_recognised_by_the_store() -> None:
    execution = Execution()
    execution.handler().on_decided(_decision("m:1|sma|0"))
    fresh = execution.handler()  # a new process: its window of recent keys is empty
    fresh.on_decided(_decision("m:1|sma|0"))
    assert len(execution.traded) == 1
    assert fresh.duplicates == 1


def test_the_order_alone_is_enough_to_recognise_a_copy() -> None:
    execution = Execution()
    execution.orders.add(client_order_id_for("m:7|sma|0", "TP"))
    handler = execution.handler()
    handler.on_decided(_decision("m:7|sma|0"))
    assert execution.traded == []


def test_a_signal_of_a_strategy_execution_does_not_have_is_logged_and_counted() -> None:
    execution = Execution()
    handler = execution.handler()
    handler.on_decided(_decision("m:1|gone|0", strategy="gone"))
    assert (handler.unknown, handler.traded) == (1, 0)


@given(st.lists(st.sampled_from([f"m:{n}|sma|0" for n in range(12)]), max_size=60), st.integers(1, 5))
def test_each_key_is_traded_exactly_once_whatever_the_copies(keys: list[str], recent: int) -> None:
    execution = Execution()
    handler = execution.handler(recent=recent)
    for key in keys:
        handler.on_decided(_decision(key))
    assert [key for _, key in execution.traded] == list(dict.fromkeys(keys))
    assert handler.traded + handler.duplicates == len(keys)


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_client_order_ids_are_a_function_of_the_key_and_valid_everywhere(one: str, other: str) -> None:
    coid = client_order_id_for(one, "TP")
    assert coid == client_order_id_for(one, "TP")
    assert client_order_id(coid) == coid  # the domain's own rule
    assert len(coid) <= 36  # the tightest venue limit (Binance newClientOrderId)
    if one != other:
        assert coid != client_order_id_for(other, "TP")


def test_a_decision_on_a_market_older_than_the_limit_is_stored_not_traded() -> None:
    execution = Execution()
    handler = execution.handler(now=1 + 61 * 10**9, max_age_ns=60 * 10**9)  # the event's time is 1
    handler.on_decided(_decision("m:1|sma|0"))
    assert execution.traded == []
    assert execution.stale == ["decided on a market event 61.0s old (more than 60s)"]
    assert "m:1|sma|0" in execution.keys  # stored: a copy of it is recognised
    handler.on_decided(_decision("m:1|sma|0"))
    assert (handler.stale, handler.duplicates) == (1, 1)
    fresh = execution.handler(now=1 + 59 * 10**9, max_age_ns=60 * 10**9)
    fresh.on_decided(_decision("m:2|sma|0"))
    assert [key for _, key in execution.traded] == ["m:2|sma|0"]
