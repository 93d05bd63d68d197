"""LeadLag: the follower is traded when the leader has moved and the follower has not."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick, TradeTick
from domain.signals import Signal
from domain.strategies import NO_SIGNALS, LeadLag, LeadLagParams, PriceSource, create_strategy
from domain.values import AggressorSide, OrderSide

LEADER = InstrumentId("BTCUSDT.BINANCE")
FOLLOWER = InstrumentId("BTC-USDT.COINBASE")
PAIR = [str(LEADER), str(FOLLOWER)]


def _strategy(**params: object) -> LeadLag:
    values: dict[str, object] = {"leader": str(LEADER), "threshold_bps": 5, "lookback": 3, **params}
    return LeadLag.create(strategy_id="ll", instrument_ids=PAIR, params=values)


def _quote(instrument: InstrumentId, mid: str, ts: int = 1) -> QuoteTick:
    half = Decimal("0.01")
    price = Decimal(mid)
    return QuoteTick(instrument, price - half, Decimal(1), price + half, Decimal(1), ts, ts)


def _feed(strategy: LeadLag, events: list[tuple[InstrumentId, str]]) -> list[Signal]:
    signals: list[Signal] = []
    for ts, (instrument, mid) in enumerate(events, start=1):
        signals.extend(strategy.on_quote(_quote(instrument, mid, ts)))
    return signals


def _flat(instrument: InstrumentId, price: str, n: int = 3) -> list[tuple[InstrumentId, str]]:
    return [(instrument, price)] * n


def test_a_leader_rise_the_follower_has_not_followed_buys_the_follower() -> None:
    strategy = _strategy()
    warm = _flat(LEADER, "100") + _flat(FOLLOWER, "100")
    assert _feed(strategy, warm) == []
    assert strategy.ready
    (signal,) = _feed(strategy, [(LEADER, "100.10")])  # +10 bps over 3 prices; follower flat
    assert signal.side is OrderSide.BUY
    assert signal.instrument_id == FOLLOWER
    assert signal.strategy_id == "ll"
    assert signal.ts_event == 1  # the leader quote's own time (_feed numbers each call from 1)
    assert signal.reason == "leader BTCUSDT.BINANCE moved +10 bps over 3 prices, BTC-USDT.COINBASE +0 bps"


def test_a_leader_fall_sells_the_follower() -> None:
    strategy = _strategy()
    _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100"))
    (signal,) = _feed(strategy, [(LEADER, "99.90")])
    assert signal.side is OrderSide.SELL
    assert signal.instrument_id == FOLLOWER


def test_no_signal_when_the_follower_has_followed() -> None:
    strategy = _strategy()
    _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100"))
    assert _feed(strategy, [(FOLLOWER, "100.08"), (LEADER, "100.10")]) == []  # 10 vs 8 bps: 2 < 5


def test_no_signal_when_the_leader_moved_less_than_the_threshold() -> None:
    strategy = _strategy()
    _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100"))
    assert _feed(strategy, [(LEADER, "100.04")]) == []


def test_a_lasting_lag_signals_once_and_again_only_after_it_ended() -> None:
    strategy = _strategy()
    _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100"))
    assert len(_feed(strategy, [(LEADER, "100.10")])) == 1
    assert _feed(strategy, [(FOLLOWER, "100"), (FOLLOWER, "100")]) == []  # still lagging: no repeat
    assert _feed(strategy, [(FOLLOWER, "100.10")]) == []  # followed: the call is none
    assert len(_feed(strategy, [(LEADER, "100.30")])) == 1  # a new move, a new signal


def test_no_signal_before_both_instruments_are_warm() -> None:
    strategy = _strategy()
    assert _feed(strategy, [(LEADER, "100"), (LEADER, "100"), (LEADER, "101"), (LEADER, "102")]) == []
    assert not strategy.ready
    assert _feed(strategy, [(FOLLOWER, "100"), (FOLLOWER, "100")]) == []
    assert _feed(strategy, [(FOLLOWER, "100")]) != []  # the third follower price: both windows full


def test_source_trade_reads_trades_and_ignores_quotes() -> None:
    strategy = _strategy(source="trade")
    assert strategy.source is PriceSource.TRADE
    assert _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100") + [(LEADER, "101")]) == []
    signals: list[Signal] = []
    for ts, (instrument, price) in enumerate(
        _flat(LEADER, "100") + _flat(FOLLOWER, "100") + [(LEADER, "101")]
    ):
        tick = TradeTick(instrument, Decimal(price), Decimal(1), AggressorSide.BUYER, f"t{ts}", ts, ts)
        signals.extend(strategy.on_trade(tick))
    assert [(s.side, s.instrument_id) for s in signals] == [(OrderSide.BUY, FOLLOWER)]


def test_another_instrument_is_ignored() -> None:
    strategy = _strategy()
    assert strategy.on_quote(_quote(InstrumentId("ETHUSDT.BINANCE"), "100")) is NO_SIGNALS


def test_reset_forgets_every_price() -> None:
    strategy = _strategy()
    _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100"))
    strategy.reset()
    assert not strategy.ready
    assert _feed(strategy, [(LEADER, "100.10")]) == []


def test_parameters_and_registry() -> None:
    strategy = create_strategy(
        "lead_lag",
        strategy_id="ll",
        instrument_ids=PAIR,
        params={"leader": "BTCUSDT.BINANCE", "threshold_bps": "5", "lookback": "20", "source": "mid"},
    )
    assert isinstance(strategy, LeadLag)
    assert dict(strategy.parameters()) == {
        "leader": LEADER,
        "threshold_bps": 5.0,
        "lookback": 20,
        "source": PriceSource.MID,
    }
    assert (strategy.leader, strategy.follower, strategy.warmup) == (LEADER, FOLLOWER, 20)


def test_the_leader_may_be_either_instrument() -> None:
    strategy = _strategy(leader=str(FOLLOWER))
    _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100"))
    (signal,) = _feed(strategy, [(FOLLOWER, "100.10")])
    assert signal.instrument_id == LEADER


@pytest.mark.parametrize(
    ("instruments", "params", "field"),
    [
        (PAIR, {}, "leader"),  # required
        (PAIR, {"leader": "ETHUSDT.BINANCE"}, "leader"),  # not one of the two
        (PAIR, {"leader": "not an id"}, "leader"),
        (PAIR, {"leader": 7}, "leader"),
        ([str(LEADER)], {"leader": str(LEADER)}, "instrument_ids"),
        ([*PAIR, "ETHUSDT.BINANCE"], {"leader": str(LEADER)}, "instrument_ids"),
        (PAIR, {"leader": str(LEADER), "threshold_bps": "0"}, "threshold_bps"),
        (PAIR, {"leader": str(LEADER), "threshold_bps": "10001"}, "threshold_bps"),
        (PAIR, {"leader": str(LEADER), "threshold_bps": "five"}, "threshold_bps"),
        (PAIR, {"leader": str(LEADER), "lookback": "1"}, "lookback"),
        (PAIR, {"leader": str(LEADER), "lookback": True}, "lookback"),
        (PAIR, {"leader": str(LEADER), "source": "book"}, "source"),
        (PAIR, {"leader": str(LEADER), "fast": 3}, "fast"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(
    instruments: list[str], params: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        create_strategy("lead_lag", strategy_id="ll", instrument_ids=instruments, params=params)
    assert raised.value.field == field


def test_a_bad_update_changes_nothing() -> None:
    strategy = _strategy()
    _feed(strategy, _flat(LEADER, "100") + _flat(FOLLOWER, "100"))
    with pytest.raises(InvalidParameter):
        strategy.update_parameters({"leader": "ETHUSDT.BINANCE"})
    assert strategy.leader == LEADER
    assert strategy.ready
    strategy.update_parameters({"leader": str(FOLLOWER)})
    assert (strategy.leader, strategy.ready) == (FOLLOWER, False)


def test_typed_parameters_are_validated_too() -> None:
    with pytest.raises(InvalidParameter):
        LeadLagParams(leader=str(LEADER), lookback=0)


# -- properties -------------------------------------------------------------------------------

MIDS = st.integers(min_value=9_900, max_value=10_100).map(lambda n: str(Decimal(n) / 100))
EVENTS = st.lists(st.tuples(st.sampled_from([LEADER, FOLLOWER]), MIDS), max_size=120)


@settings(max_examples=150, deadline=None)
@given(events=EVENTS, lookback=st.integers(2, 6), threshold=st.sampled_from([1, 5, 20]))
def test_signals_are_deterministic_on_the_follower_and_after_warm_up(
    events: list[tuple[InstrumentId, str]], lookback: int, threshold: int
) -> None:
    strategy = _strategy(lookback=lookback, threshold_bps=threshold)
    seen = {LEADER: 0, FOLLOWER: 0}
    signals: list[Signal] = []
    for ts, (instrument, mid) in enumerate(events, start=1):
        seen[instrument] += 1
        emitted = list(strategy.on_quote(_quote(instrument, mid, ts)))
        if min(seen.values()) < lookback:
            assert emitted == []
        signals.extend(emitted)
    assert all(signal.instrument_id == FOLLOWER for signal in signals)
    again = _strategy(lookback=lookback, threshold_bps=threshold)
    assert _feed(again, events) == signals
    strategy.reset()
    assert _feed(strategy, events) == signals
    sides = [signal.side for signal in signals]
    assert all(side in (OrderSide.BUY, OrderSide.SELL) for side in sides)


@settings(max_examples=100, deadline=None)
@given(events=EVENTS)
def test_when_the_follower_has_the_leaders_prices_the_leader_never_signals(
    events: list[tuple[InstrumentId, str]],
) -> None:
    strategy = _strategy(lookback=3)
    for ts, (_, mid) in enumerate(events, start=1):  # each price reaches the follower, then the leader
        strategy.on_quote(_quote(FOLLOWER, mid, 2 * ts))
        assert strategy.on_quote(_quote(LEADER, mid, 2 * ts + 1)) == ()  # both windows alike
