"""The shard merge gives the one-process order whatever the timing of its two streams."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.messages import SignalDecided
from application.shard_merge import ShardMerge, position_of
from domain.identifiers import InstrumentId, StrategyId
from domain.signals import Signal
from domain.values import OrderSide

Trace = list[tuple[str, str]]


def _decision(source: str, n: int) -> SignalDecided:
    signal = Signal(
        strategy_id=StrategyId("s"),
        instrument_id=InstrumentId("BTCUSDT.BINANCE"),
        side=OrderSide.BUY,
        reason=f"signal {n}",
        ts_event=1,
    )
    return SignalDecided(signal=signal, price=Decimal(1), key=f"{source}/{n}", source=source)


def _merge(trace: Trace, now: list[int], max_wait_ns: int = 10**9) -> ShardMerge:
    return ShardMerge(
        apply_market=lambda event: trace.append(("market", str(event))),
        apply_signal=lambda decision: trace.append(("signal", decision.key)),
        now_ns=lambda: now[0],
        max_wait_ns=max_wait_ns,
    )


@st.composite
def shard_history(draw: st.DrawFn) -> tuple[list[int], list[bool]]:
    """Signals per market event, and an interleaving of the two streams' arrivals."""
    signals = draw(st.lists(st.integers(0, 3), min_size=1, max_size=30))
    decisions = sum(signals) + len(signals)  # each event: its signals, then a progress mark
    order = draw(st.permutations([True] * len(signals) + [False] * decisions))
    return signals, list(order)


@settings(max_examples=300, deadline=None)
@given(shard_history(), st.integers(0, 5))
def test_any_interleaving_gives_the_one_process_order(
    history: tuple[list[int], list[bool]], every: int
) -> None:
    signals, arrivals = history
    expected: Trace = []
    market: list[str] = []
    decisions: list[SignalDecided | str] = []
    for index, count in enumerate(signals):
        entry = f"{1000 + index}-0"
        market.append(entry)
        expected.append(("market", entry))
        for n in range(count):
            decision = _decision(entry, n)
            decisions.append(decision)
            expected.append(("signal", decision.key))
        decisions.append(entry)  # the worker's progress mark after deciding this event
    trace: Trace = []
    now = [0]
    merge = _merge(trace, now)
    for step, is_market in enumerate(arrivals):
        if is_market:
            entry = market.pop(0)
            merge.market(position_of(entry), entry)
        else:
            item = decisions.pop(0)
            if isinstance(item, str):
                merge.progress(position_of(item))
            else:
                merge.decided(item)
        if every and step % every == 0:
            merge.release()
    merge.release()
    assert trace == expected
    assert merge.late == 0
    assert merge.unwaited == 0
    assert not merge.lagging


def test_a_silent_worker_delays_the_market_only_up_to_max_wait() -> None:
    trace: Trace = []
    now = [0]
    merge = _merge(trace, now, max_wait_ns=100)
    merge.market(position_of("5-0"), "5-0")
    assert merge.release() == 0
    assert merge.waiting == 1
    now[0] = 101
    assert merge.release() == 1
    assert merge.lagging
    assert merge.unwaited == 1
    merge.decided(_decision("5-0", 0))  # its decision came after all: traded at once, counted late
    assert trace == [("market", "5-0"), ("signal", "5-0/0")]
    assert merge.late == 1


def test_a_decision_whose_event_never_comes_is_traded_after_max_wait() -> None:
    trace: Trace = []
    now = [0]
    merge = _merge(trace, now, max_wait_ns=100)
    merge.decided(_decision("9-0", 0))
    merge.release()
    assert trace == []
    now[0] = 200
    merge.release()
    assert trace == [("signal", "9-0/0")]


def test_positions_are_checked() -> None:
    assert position_of(b"17-3") == (17, 3)
    for bad in ("17", "a-1", "1-", "-1", "1-2-3", ""):
        with pytest.raises(ValueError, match="not a stream position"):
            position_of(bad)
