"""The registry: built-ins by name, and create_strategy's errors."""

from __future__ import annotations

import pytest

from domain.errors import InvalidParameter
from domain.strategies import (
    BUILTIN_STRATEGIES,
    BollingerBreakout,
    LeadLag,
    RsiMeanReversion,
    SmaCrossover,
    Strategy,
    create_strategy,
)
from tests.builders import BTCUSDT, ETHUSDT


def test_built_ins_by_name() -> None:
    assert dict(BUILTIN_STRATEGIES) == {
        "sma_crossover": SmaCrossover,
        "rsi_mean_reversion": RsiMeanReversion,
        "bollinger_breakout": BollingerBreakout,
        "lead_lag": LeadLag,
    }


def test_the_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        BUILTIN_STRATEGIES["mine"] = SmaCrossover  # type: ignore[index]


SINGLE_INSTRUMENT = sorted(set(BUILTIN_STRATEGIES) - {"lead_lag"})  # lead_lag: two, and a leader


@pytest.mark.parametrize("name", SINGLE_INSTRUMENT)
def test_create_each_built_in_with_defaults(name: str) -> None:
    strategy = create_strategy(name, strategy_id=f"{name}-1", instrument_ids=[BTCUSDT], params={})

    assert isinstance(strategy, BUILTIN_STRATEGIES[name])
    assert isinstance(strategy, Strategy)
    assert strategy.id == f"{name}-1"
    assert strategy.instrument_ids == frozenset({BTCUSDT})
    assert not strategy.ready


def test_create_with_command_line_parameters() -> None:
    strategy = create_strategy(
        "sma_crossover",
        strategy_id="cross",
        instrument_ids=["BTCUSDT.BINANCE", "ETHUSDT.BINANCE"],
        params={"fast": "5", "slow": "12", "source": "bar"},
    )

    assert dict(strategy.parameters()) == {"fast": 5, "slow": 12, "source": "bar"}
    assert strategy.instrument_ids == frozenset({BTCUSDT, ETHUSDT})
    assert strategy.warmup == 12


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidParameter) as raised:
        create_strategy("macd_magic", strategy_id="s", instrument_ids=[BTCUSDT], params={})

    assert raised.value.field == "strategy"
    assert raised.value.value == "macd_magic"
    assert "known: bollinger_breakout, lead_lag, rsi_mean_reversion, sma_crossover" in str(raised.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strategy_id": "bad id!", "instrument_ids": [BTCUSDT], "params": {}}, "strategy_id"),
        ({"strategy_id": 7, "instrument_ids": [BTCUSDT], "params": {}}, "strategy_id"),
        ({"strategy_id": "s", "instrument_ids": [], "params": {}}, "instrument_ids"),
        ({"strategy_id": "s", "instrument_ids": ["BTCUSDT"], "params": {}}, "instrument_ids"),
        ({"strategy_id": "s", "instrument_ids": "BTCUSDT.BINANCE", "params": {}}, "instrument_ids"),
        ({"strategy_id": "s", "instrument_ids": [BTCUSDT], "params": {"fast": "x"}}, "fast"),
        ({"strategy_id": "s", "instrument_ids": [BTCUSDT], "params": {"period": 5}}, "period"),
    ],
    ids=[
        "bad-strategy-id",
        "non-string-id",
        "no-instruments",
        "bad-instrument",
        "one-string",
        "bad-param",
        "unknown-param",
    ],
)
def test_create_refuses_bad_input(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        create_strategy("sma_crossover", **kwargs)  # type: ignore[arg-type]

    assert raised.value.field == field
