"""Control characters are refused in every string of a request, naming the field by its path."""

from __future__ import annotations

import unicodedata

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tradeplane.v1 import backtest_pb2, orders_pb2, risk_pb2, strategies_pb2

from entrypoints.grpc.errors import ApiError
from entrypoints.grpc.request_text import check_message, check_text, first_control


def _refused_field(message: object) -> str:
    with pytest.raises(ApiError) as caught:
        check_message(message)  # type: ignore[arg-type]
    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "control character" in caught.value.message
    assert caught.value.field is not None
    return caught.value.field


def _refused(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith("C") or category in {"Zl", "Zp"}


@given(st.text(max_size=50))
def test_text_is_refused_exactly_when_it_holds_a_control_character(text: str) -> None:
    index = first_control(text)
    if index is None:
        assert not any(_refused(char) for char in text)
    else:
        assert _refused(text[index])
        assert not any(_refused(char) for char in text[:index])


@pytest.mark.parametrize("text", ["plain", "écart — 停止 ✓", "non\u00a0breaking", "tab-free", ""])
def test_printable_text_of_any_script_passes(text: str) -> None:
    check_text(text, "reason")


def test_the_refusal_names_the_position_not_the_text() -> None:
    with pytest.raises(ApiError) as caught:
        check_text("ok\r\nforged", "reason")
    assert caught.value.message == (
        "reason: contains a control character (U+000D at position 2); only printable text is accepted"
    )


def test_every_kind_of_string_field_is_checked_by_its_path() -> None:
    assert _refused_field(risk_pb2.HaltRequest(reason="x\x00")) == "reason"
    assert _refused_field(risk_pb2.UpdateRiskLimitsRequest(clear=["ok", "x\n"])) == "clear[1]"
    nested = risk_pb2.UpdateRiskLimitsRequest(limits=risk_pb2.RiskLimits(max_order_quantity="1\x1b"))
    assert _refused_field(nested) == "limits.max_order_quantity"
    keyed = risk_pb2.RiskLimits(instrument_limits={"X\n": risk_pb2.InstrumentLimits()})
    assert _refused_field(risk_pb2.UpdateRiskLimitsRequest(limits=keyed)) == "limits.instrument_limits"
    inner = risk_pb2.RiskLimits(
        instrument_limits={"BTCUSDT.BINANCE": risk_pb2.InstrumentLimits(max_order_quantity="\u202e1")}
    )
    assert (
        _refused_field(risk_pb2.UpdateRiskLimitsRequest(limits=inner))
        == "limits.instrument_limits.BTCUSDT.BINANCE.max_order_quantity"
    )
    params = strategies_pb2.UpdateStrategyParamsRequest(strategy_id="s", parameters={"fast": "5\u2028"})
    assert _refused_field(params) == "parameters.fast"
    named = strategies_pb2.UpdateStrategyParamsRequest(strategy_id="s", parameters={"fa\tst": "5"})
    assert _refused_field(named) == "parameters"
    run = backtest_pb2.RunBacktestRequest(data=["a.csv", "b\x00.csv"], strategy="sma_crossover")
    assert _refused_field(run) == "data[1]"


def test_a_clean_request_passes() -> None:
    check_message(
        backtest_pb2.RunBacktestRequest(
            data=["BTCUSDT-1m.csv"], strategy="sma_crossover", params={"fast": "5"}, capital="100"
        )
    )


_SUBMIT_TEXT = ("client_order_id", "instrument_id", "quantity", "price", "stop_price", "strategy_id")


@given(st.lists(st.text(max_size=12), min_size=len(_SUBMIT_TEXT), max_size=len(_SUBMIT_TEXT)))
def test_a_flat_request_is_refused_exactly_when_a_field_holds_a_control_character(
    texts: list[str],
) -> None:
    """Flat requests take a shortcut (every string printable: nothing to refuse); the answer
    must be the one the full walk gives: the first field, in field order, that is refused."""
    request = orders_pb2.SubmitOrderRequest(**dict(zip(_SUBMIT_TEXT, texts, strict=True)))
    bad = [name for name, text in zip(_SUBMIT_TEXT, texts, strict=True) if any(map(_refused, text))]
    if bad:
        assert _refused_field(request) == bad[0]
    else:
        check_message(request)
