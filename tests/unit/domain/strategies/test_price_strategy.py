"""Behaviour every built-in shares: sources, instruments, parameters, reset, determinism."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from domain.errors import InvalidParameter
from domain.identifiers import InstrumentId
from domain.strategies import (
    NO_SIGNALS,
    BollingerBreakout,
    PriceSource,
    PriceStrategy,
    RsiMeanReversion,
    SmaCrossover,
    SmaCrossoverParams,
    Strategy,
)
from tests.builders import BTCUSDT, ETHUSDT, STRATEGY
from tests.unit.domain.strategies.events import (
    EVENTS_BY_SOURCE,
    MarketEvent,
    bars,
    quotes,
    run,
    side_name,
    sides_at,
    trades,
)

Case = tuple[type[PriceStrategy[Any, Any]], dict[str, object], list[int], list[tuple[int, str]]]

CASES: list[Case] = [
    (
        SmaCrossover,
        {"fast": 2, "slow": 3},
        [1, 2, 3, 4, 5, 1, 1, 10],
        [(5, "SELL"), (7, "BUY")],
    ),
    (
        RsiMeanReversion,
        {"period": 2},
        [10, 11, 12, 11, 12, 13, 10, 9, 9, 12],
        [(4, "SELL"), (6, "BUY"), (9, "SELL")],
    ),
    (
        BollingerBreakout,
        {"period": 2, "num_std": 1},
        [10, 12, 11, 13, 14, 12, 11, 20],
        [(3, "BUY"), (5, "SELL"), (7, "BUY")],
    ),
]
"""(class, parameters, prices, expected (position, side)), as worked out in each strategy's tests."""
IDS = [case[0].name for case in CASES]


def build(
    case: Case, source: PriceSource = PriceSource.TRADE, instrument_ids: tuple[InstrumentId, ...] = (BTCUSDT,)
) -> PriceStrategy[Any, Any]:
    cls, params, _, _ = case
    return cls.create(
        strategy_id=STRATEGY, instrument_ids=instrument_ids, params={**params, "source": source}
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_built_ins_satisfy_the_strategy_protocol(case: Case) -> None:
    assert isinstance(build(case), Strategy)


@pytest.mark.parametrize("source", list(PriceSource))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_source_drives_the_same_rule(case: Case, source: PriceSource) -> None:
    _, _, series, expected = case

    assert sides_at(build(case, source), EVENTS_BY_SOURCE[source](series)) == expected


@pytest.mark.parametrize("source", list(PriceSource))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_events_of_other_kinds_are_ignored(case: Case, source: PriceSource) -> None:
    # Other kinds, interleaved at every step, return the shared empty tuple and leave
    # the state alone: the signals are those of the driving events alone.
    _, _, series, expected = case
    strategy = build(case, source)
    decoys = series[::-1]  # other prices, so that consuming them would change the signals
    others = [EVENTS_BY_SOURCE[other](decoys) for other in PriceSource if other is not source]
    mixed: list[MarketEvent] = []
    for index, event in enumerate(EVENTS_BY_SOURCE[source](series)):
        mixed += [others[0][index], others[1][index], event]

    signals = run(strategy, mixed)

    assert [(index // 3, side_name(signal)) for index, signal in signals] == expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_other_kinds_return_the_shared_empty_tuple(case: Case) -> None:
    _, _, series, _ = case
    strategy = build(case, PriceSource.BAR)

    assert all(strategy.on_trade(tick) is NO_SIGNALS for tick in trades(series))
    assert all(strategy.on_quote(quote) is NO_SIGNALS for quote in quotes(series))
    assert strategy.ready_for(BTCUSDT) is False


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_events_of_unsubscribed_instruments_are_ignored(case: Case) -> None:
    _, _, series, _ = case
    strategy = build(case)

    assert all(strategy.on_trade(tick) is NO_SIGNALS for tick in trades(series, ETHUSDT))
    assert strategy.ready_for(BTCUSDT) is False
    with pytest.raises(InvalidParameter, match="ETHUSDT"):
        strategy.ready_for(ETHUSDT)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_instruments_keep_separate_state(case: Case) -> None:
    _, _, series, expected = case
    strategy = build(case, instrument_ids=(BTCUSDT, ETHUSDT))
    reversed_series = series[::-1]
    alone = build(case, instrument_ids=(ETHUSDT,))
    eth_alone = run(alone, trades(reversed_series, ETHUSDT))
    interleaved = [
        event for pair in zip(trades(series), trades(reversed_series, ETHUSDT), strict=True) for event in pair
    ]

    signals = run(strategy, interleaved)

    btc = [(index // 2, side_name(signal)) for index, signal in signals if signal.instrument_id == BTCUSDT]
    eth = [(index // 2, signal) for index, signal in signals if signal.instrument_id == ETHUSDT]
    assert btc == expected
    assert eth_alone
    assert eth == eth_alone
    assert strategy.ready


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ready_only_when_every_instrument_is_warm(case: Case) -> None:
    _, _, series, _ = case
    strategy = build(case, instrument_ids=(BTCUSDT, ETHUSDT))

    run(strategy, trades(series))

    assert strategy.ready_for(BTCUSDT)
    assert not strategy.ready_for(ETHUSDT)
    assert not strategy.ready


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ready_flips_after_warmup_events(case: Case) -> None:
    _, _, series, _ = case
    strategy = build(case)
    ticks = trades(series)

    run(strategy, ticks[: strategy.warmup - 1])
    assert not strategy.ready
    run(strategy, ticks[strategy.warmup - 1 : strategy.warmup])
    assert strategy.ready


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_same_events_give_the_same_signals(case: Case) -> None:
    _, _, series, _ = case
    events = trades(series * 5)

    first = run(build(case), events)
    second = run(build(case), events)

    assert first
    assert first == second


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reset_forgets_everything(case: Case) -> None:
    _, _, series, expected = case
    strategy = build(case)
    run(strategy, trades(series))

    strategy.reset()

    assert not strategy.ready
    assert sides_at(strategy, trades(series)) == expected


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parameters_round_trip_and_are_read_only(case: Case) -> None:
    cls, params, _, _ = case
    strategy = build(case)

    current = strategy.parameters()

    assert isinstance(current, Mapping)
    assert {key: current[key] for key in params} == params
    assert current["source"] is PriceSource.TRADE
    assert cls.parse_parameters(current) == strategy.params
    with pytest.raises(TypeError):
        current["source"] = "bar"  # type: ignore[index]


def test_update_parameters_changes_only_the_given_ones_and_restarts_warm_up() -> None:
    strategy = SmaCrossover.create(
        strategy_id=STRATEGY, instrument_ids=[BTCUSDT], params={"fast": 2, "slow": 3}
    )
    run(strategy, trades([1, 2, 3, 4]))
    assert strategy.ready_for(BTCUSDT)

    strategy.update_parameters({"slow": "5"})

    assert dict(strategy.parameters()) == {"fast": 2, "slow": 5, "source": PriceSource.TRADE}
    assert strategy.warmup == 5
    assert not strategy.ready
    # The new indicators start empty: the old prices do not count towards the warm-up.
    assert sides_at(strategy, trades([10, 1, 10, 1, 10])) == []


def test_update_parameters_can_switch_the_source() -> None:
    strategy = SmaCrossover.create(
        strategy_id=STRATEGY, instrument_ids=[BTCUSDT], params={"fast": 2, "slow": 3}
    )

    strategy.update_parameters({"source": "bar"})

    assert strategy.on_trade(trades([1])[0]) is NO_SIGNALS
    assert sides_at(strategy, bars([1, 2, 3, 4, 5, 1, 1, 10])) == [(5, "SELL"), (7, "BUY")]


@pytest.mark.parametrize(
    "update",
    [{"fast": 30}, {"slow": "x"}, {"speed": 1}, {"fast": True}],
    ids=["cross-field", "not-a-number", "unknown", "bool"],
)
def test_a_rejected_update_changes_nothing(update: dict[str, object]) -> None:
    strategy = SmaCrossover.create(
        strategy_id=STRATEGY, instrument_ids=[BTCUSDT], params={"fast": 2, "slow": 3}
    )
    run(strategy, trades([1, 2, 3, 4, 5]))
    before = dict(strategy.parameters())

    with pytest.raises(InvalidParameter):
        strategy.update_parameters(update)

    assert dict(strategy.parameters()) == before
    assert strategy.ready
    assert sides_at(strategy, trades([1, 1, 10], start=5)) == [(0, "SELL"), (2, "BUY")]


def test_update_parameters_refuses_a_non_mapping() -> None:
    strategy = SmaCrossover.create(strategy_id=STRATEGY, instrument_ids=[BTCUSDT], params={})

    with pytest.raises(InvalidParameter, match="params"):
        strategy.update_parameters([("fast", 2)])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("strategy_id", "instrument_ids", "field"),
    [
        ("has space", [BTCUSDT], "strategy_id"),
        ("", [BTCUSDT], "strategy_id"),
        (STRATEGY, [], "instrument_ids"),
        (STRATEGY, "BTCUSDT.BINANCE", "instrument_ids"),
        (STRATEGY, ["btcusdt"], "instrument_ids"),
        (STRATEGY, 42, "instrument_ids"),
    ],
)
def test_construction_refuses_bad_ids(strategy_id: str, instrument_ids: object, field: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        SmaCrossover(strategy_id=strategy_id, instrument_ids=instrument_ids)  # type: ignore[arg-type]

    assert raised.value.field == field


def test_instrument_ids_are_normalized_to_a_frozenset() -> None:
    strategy = SmaCrossover(strategy_id="s1", instrument_ids=["ETHUSDT.BINANCE", BTCUSDT, BTCUSDT])

    assert strategy.instrument_ids == frozenset({BTCUSDT, ETHUSDT})
    assert all(type(instrument_id) is InstrumentId for instrument_id in strategy.instrument_ids)
    assert strategy.id == "s1"


def test_the_constructor_takes_typed_parameters_a_mapping_or_none() -> None:
    typed = SmaCrossover(strategy_id="s", instrument_ids=[BTCUSDT], params=SmaCrossoverParams(fast=3, slow=9))
    parsed = SmaCrossover(strategy_id="s", instrument_ids=[BTCUSDT], params={"fast": "3", "slow": "9"})
    default = SmaCrossover(strategy_id="s", instrument_ids=[BTCUSDT])

    assert typed.params == parsed.params == SmaCrossoverParams(fast=3, slow=9)
    assert default.params == SmaCrossoverParams()
    assert repr(typed) == (
        "SmaCrossover(id='s', instruments=['BTCUSDT.BINANCE'], fast=3, slow=9, source='trade')"
    )
