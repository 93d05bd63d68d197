"""Invariants of the built-in strategies over arbitrary price series."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.identifiers import InstrumentId
from domain.market_data import QuoteTick
from domain.strategies import (
    BollingerBreakout,
    PriceSource,
    PriceStrategy,
    RsiMeanReversion,
    SmaCrossover,
)
from domain.strategies.price_strategy import integer_ratio
from domain.values import OrderSide
from tests.builders import BTCUSDT, ETHUSDT, STRATEGY
from tests.property.strategies import finite_decimals
from tests.unit.domain.strategies.events import EVENTS_BY_SOURCE, MarketEvent, bars, run, trades

Config = tuple[type[PriceStrategy[Any, Any]], dict[str, object]]

TICKS = ("0.01", "0.5", "5", "0.00000001")


@st.composite
def price_series(draw: st.DrawFn, *, min_size: int = 0, max_size: int = 60) -> list[Decimal]:
    """A random walk on a tick grid (length uniform in the bounds, so long series are common):
    steps of up to ±40 ticks, flat runs, never below 2 ticks."""
    tick = Decimal(draw(st.sampled_from(TICKS)))
    level = draw(st.integers(200, 10**7))
    size = draw(st.integers(min_size, max_size))
    steps = draw(st.lists(st.integers(-40, 40) | st.just(0), min_size=size, max_size=size))
    series = []
    for step in steps:
        level = max(2, level + step)
        series.append(level * tick)
    return series


sma_configs = st.builds(
    lambda fast, gap: (SmaCrossover, {"fast": fast, "slow": fast + gap}), st.integers(1, 6), st.integers(1, 8)
)
rsi_configs = st.builds(
    lambda period, low, width: (
        RsiMeanReversion,
        {"period": period, "oversold": low, "overbought": low + width},
    ),
    st.integers(2, 6),
    st.integers(5, 45),
    st.integers(5, 45),
)
bollinger_configs = st.builds(
    lambda period, num_std: (BollingerBreakout, {"period": period, "num_std": num_std}),
    st.integers(2, 8),
    st.sampled_from((0.5, 1.0, 1.5, 2.0, 3.0)),
)
configs = st.one_of(sma_configs, rsi_configs, bollinger_configs)


def build(
    config: Config,
    instrument_ids: tuple[InstrumentId, ...] = (BTCUSDT,),
    source: PriceSource = PriceSource.TRADE,
) -> PriceStrategy[Any, Any]:
    cls, params = config
    return cls.create(
        strategy_id=STRATEGY, instrument_ids=instrument_ids, params={**params, "source": source}
    )


@given(config=configs, series=price_series())
def test_no_signal_until_the_warm_up_is_over(config: Config, series: list[Decimal]) -> None:
    strategy = build(config)

    for position, tick in enumerate(trades(series), start=1):
        signals = strategy.on_trade(tick)
        assert strategy.ready == (position >= strategy.warmup)
        if position <= strategy.warmup:
            assert not signals


@given(fast=st.integers(1, 6), gap=st.integers(1, 8), series=price_series(max_size=80))
def test_sma_crossover_signals_alternate(fast: int, gap: int, series: list[Decimal]) -> None:
    strategy = build((SmaCrossover, {"fast": fast, "slow": fast + gap}))

    sides = [signal.side for _, signal in run(strategy, trades(series))]

    assert all(side is not previous for previous, side in pairwise(sides))


@given(config=configs, series=price_series(), source=st.sampled_from(PriceSource))
def test_signals_carry_the_triggering_event(
    config: Config, series: list[Decimal], source: PriceSource
) -> None:
    events = EVENTS_BY_SOURCE[source](series)
    strategy = build(config, source=source)

    for position, signal in run(strategy, events):
        assert signal.ts_event == events[position].ts_event
        assert signal.instrument_id == events[position].instrument_id
        assert signal.strategy_id == STRATEGY
        assert signal.side in (OrderSide.BUY, OrderSide.SELL)
        assert 0.0 <= signal.strength <= 1.0


@given(config=configs, series=price_series())
def test_the_same_series_gives_the_same_signals(config: Config, series: list[Decimal]) -> None:
    events = trades(series)

    assert run(build(config), events) == run(build(config), events)


@given(config=configs, series=price_series())
def test_a_reset_strategy_repeats_itself(config: Config, series: list[Decimal]) -> None:
    strategy = build(config)
    events = trades(series)
    first = run(strategy, events)

    strategy.reset()

    assert run(strategy, events) == first


@given(config=configs, btc=price_series(max_size=40), eth=price_series(max_size=40), data=st.data())
def test_interleaved_instruments_match_separate_strategies(
    config: Config, btc: list[Decimal], eth: list[Decimal], data: st.DataObject
) -> None:
    btc_events, eth_events = trades(btc, BTCUSDT), trades(eth, ETHUSDT)
    order = data.draw(st.permutations([BTCUSDT] * len(btc) + [ETHUSDT] * len(eth)), label="order")
    queues = {BTCUSDT: iter(btc_events), ETHUSDT: iter(eth_events)}
    interleaved: list[MarketEvent] = [next(queues[instrument_id]) for instrument_id in order]
    both = build(config, (BTCUSDT, ETHUSDT))

    together = [signal for _, signal in run(both, interleaved)]

    for instrument_id, events in ((BTCUSDT, btc_events), (ETHUSDT, eth_events)):
        alone = [signal for _, signal in run(build(config, (instrument_id,)), events)]
        assert [signal for signal in together if signal.instrument_id == instrument_id] == alone


@given(fast=st.integers(1, 6), gap=st.integers(1, 8), series=price_series())
def test_sma_trade_hot_path_matches_the_bar_path(fast: int, gap: int, series: list[Decimal]) -> None:
    # SmaCrossover.on_trade inlines the price step that on_bar and on_quote share.
    config: Config = (SmaCrossover, {"fast": fast, "slow": fast + gap})

    by_trade = run(build(config), trades(series))

    assert run(build(config, source=PriceSource.BAR), bars(series)) == by_trade


@given(config=configs, series=price_series(), half_spread=st.integers(1, 100))
def test_mid_source_sees_the_exact_mid(config: Config, series: list[Decimal], half_spread: int) -> None:
    offset = Decimal(half_spread) * Decimal("0.000001")
    mids = [price + 1 for price in series]  # at least 1 above the offset, so bids stay positive
    mid_quotes = [
        QuoteTick(
            tick.instrument_id, mid - offset, tick.size, mid + offset, tick.size, tick.ts_event, tick.ts_init
        )
        for tick, mid in zip(trades(mids), mids, strict=True)
    ]

    by_mid = run(build(config, source=PriceSource.MID), mid_quotes)

    assert by_mid == run(build(config), trades(mids))


@given(value=finite_decimals())
def test_the_integer_ratio_conversion_is_float_of_the_decimal(value: Decimal) -> None:
    numerator, denominator = integer_ratio(value)

    assert numerator / denominator == float(value)
