"""domain.performance: every metric on hand-computed cases, the edge cases, and properties."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidParameter, InvalidValue
from domain.orders import Fill
from domain.performance import (
    DAY_NS,
    PerformanceConfig,
    PerformanceReport,
    compute_performance,
    exposure,
    period_returns,
)
from domain.positions import Position
from domain.values import ONE, OrderSide, divide, exact_add, exact_sub
from tests.builders import make_fill
from tests.property.strategies import fill_sequences, instruments

BUY, SELL = OrderSide.BUY, OrderSide.SELL
D = Decimal
T0 = 19_675 * DAY_NS
"""2023-11-14T00:00:00Z, a UTC midnight, so daily periods close on whole days from T0."""
HOUR = DAY_NS // 24


def day(n: float) -> int:
    return T0 + int(n * DAY_NS)


def curve(*values: str | int, step: int = DAY_NS) -> list[tuple[int, Decimal]]:
    """Equity points ``step`` apart from T0."""
    return [(T0 + i * step, D(v)) for i, v in enumerate(values)]


def fill(side: OrderSide, quantity: str, price: str, at: int, *, fee: str = "0", n: int = 0) -> Fill:
    return make_fill(side=side, quantity=quantity, price=price, fee=fee, trade_id=f"T-{at}-{n}", ts_event=at)


def report(
    points: list[tuple[int, Decimal]], fills: list[Fill] | None = None, **kw: object
) -> PerformanceReport:
    return compute_performance(points, fills or [], starting_capital=kw.pop("capital", D(100)), **kw)  # type: ignore[arg-type]


# --- returns and risk ------------------------------------------------------------------------


def test_return_statistics_on_a_three_day_curve() -> None:
    r = report(curve(100, 110, 99, "108.9"))
    # Daily closes 110, 99, 108.9 against a start of 100: returns +0.1, −0.1, +0.1.
    assert r.periods == 3
    # Total return 108.9 / 100 − 1 = 0.089, exactly; net profit 8.9.
    assert r.total_return == D("0.089")
    assert r.net_profit == D("8.9")
    # mean = 0.1/3 = 1/30; sample variance = (2 × (1/15)² + (2/15)²) / 2 = 1/75.
    # Volatility = √(1/75) × √365 = √(365/75) = 2.20605...
    assert r.annualized_volatility == pytest.approx(math.sqrt(365 / 75))
    # Sharpe = (1/30) / √(1/75) × √365 = √(75 × 365) / 30 = 5.51513...
    assert r.sharpe_ratio == pytest.approx(math.sqrt(75 * 365) / 30)
    # Downside deviation = √((0 + 0.01 + 0) / 3) = √(1/300); Sortino = √(300 × 365) / 30 = 11.0303...
    assert r.sortino_ratio == pytest.approx(math.sqrt(300 * 365) / 30)
    # CAGR over 3 calendar days of a 365-day year: 1.089^(365/3) − 1 ≈ 31992.
    assert r.annualized_return == pytest.approx(1.089 ** (365 / 3) - 1)
    # Peak 110 (day 1), trough 99 (day 2): 11 / 110 = 10 %, not recovered by 108.9.
    assert r.max_drawdown == pytest.approx(0.1)
    assert r.max_drawdown_amount == 11
    assert (r.max_drawdown_peak_ns, r.max_drawdown_trough_ns, r.max_drawdown_recovery_ns) == (
        day(1),
        day(2),
        None,
    )
    # Under water from day 1 to the end of the run (day 3): 2 days, not recovered.
    assert (r.longest_drawdown_ns, r.longest_drawdown_recovered) == (2 * DAY_NS, False)
    assert r.longest_drawdown_seconds == 2 * 86_400
    # Calmar = CAGR / max drawdown.
    assert r.calmar_ratio == pytest.approx(r.annualized_return / 0.1)  # type: ignore[operator]


def test_a_risk_free_rate_is_compounded_to_the_period_and_subtracted() -> None:
    config = PerformanceConfig(risk_free_rate=0.05)
    r = report(curve(100, 110, 99, "108.9"), config=config)
    returns = np.array([0.1, -0.1, 0.1])
    rf = 1.05 ** (1 / 365) - 1  # 0.000133681... per day
    excess = returns - rf
    sharpe = excess.mean() / returns.std(ddof=1) * math.sqrt(365)
    downside = math.sqrt(np.mean(np.minimum(excess, 0) ** 2))
    assert r.sharpe_ratio == pytest.approx(sharpe)
    assert r.sortino_ratio == pytest.approx(excess.mean() / downside * math.sqrt(365))
    assert r.risk_free_rate == 0.05


def test_periods_per_year_overrides_the_annualization() -> None:
    r = report(curve(100, 110, 99, "108.9"), config=PerformanceConfig(periods_per_year=252))
    # Same daily returns, annualized with √252 instead of √365.
    assert r.periods_per_year == 252
    assert r.annualized_volatility == pytest.approx(math.sqrt(252 / 75))
    assert r.sharpe_ratio == pytest.approx(math.sqrt(75 * 252) / 30)


def test_hourly_periods_annualize_with_8760() -> None:
    r = report(curve(100, 101, 100, 102, step=HOUR), config=PerformanceConfig(period_ns=HOUR))
    assert r.periods == 3
    assert r.periods_per_year == 8760  # 365 × 24
    returns = np.array([0.01, 100 / 101 - 1, 0.02])
    assert r.annualized_volatility == pytest.approx(returns.std(ddof=1) * math.sqrt(8760))


def test_irregular_points_are_resampled_to_the_last_value_of_each_period() -> None:
    points = [
        (day(0), D(100)),
        (day(0) + 6 * HOUR, D(105)),
        (day(0) + 23 * HOUR, D(102)),  # day 0 closes at 102
        (day(1) + 12 * HOUR, D(98)),  # day 1 closes at 98
        # nothing on day 2: it closes at 98 too (forward-filled)
        (day(3) + HOUR, D(104)),  # the run ends mid-day 3: the partial period closes at 104
    ]
    end = day(3) + 12 * HOUR
    times = np.array([p[0] for p in points], dtype=np.int64)
    values = np.array([float(p[1]) for p in points])
    returns = period_returns(times, values, starting=100.0, start=day(0), end=end, config=PerformanceConfig())
    assert returns == pytest.approx([0.02, 98 / 102 - 1, 0.0, 104 / 98 - 1])
    assert report(points, end_ns=end).periods == 4


def test_a_point_on_a_boundary_closes_the_period_that_ends_there() -> None:
    # The equity at 00:00 of day 1 is day 0's close; a later point on day 1 belongs to day 1.
    points = [(day(0), D(100)), (day(1), D(120)), (day(1) + HOUR, D(90)), (day(2), D(99))]
    times = np.array([p[0] for p in points], dtype=np.int64)
    values = np.array([float(p[1]) for p in points])
    returns = period_returns(
        times, values, starting=100.0, start=day(0), end=day(2), config=PerformanceConfig()
    )
    assert returns == pytest.approx([0.2, 99 / 120 - 1])


def test_periods_align_to_utc_midnight_not_to_the_start() -> None:
    # A run from 18:00 to 06:00 two days later spans 3 calendar days: 3 periods, two partial.
    start = day(0) + 18 * HOUR
    points = [(start, D(100)), (day(1), D(101)), (day(2), D(102)), (day(2) + 6 * HOUR, D(103))]
    assert report(points).periods == 3


def test_drawdown_that_recovers_and_a_longer_one_that_does_not() -> None:
    r = report(curve(100, 120, 90, 121, 115, 116, 117, 118))
    # Deepest: 120 (day 1) → 90 (day 2) = 25 %, back above 120 at day 3.
    assert r.max_drawdown == pytest.approx(0.25)
    assert r.max_drawdown_amount == 30
    assert (r.max_drawdown_peak_ns, r.max_drawdown_trough_ns, r.max_drawdown_recovery_ns) == (
        day(1),
        day(2),
        day(3),
    )
    # Longest: from the 121 peak (day 3) to the end (day 7), still under water: 4 days.
    assert (r.longest_drawdown_ns, r.longest_drawdown_recovered) == (4 * DAY_NS, False)


def test_the_longest_drawdown_counts_from_peak_to_recovery() -> None:
    r = report(curve(100, 95, 96, 97, 100, 90, 101))
    # 100 (day 0) → under water days 1-3 → back at 100 on day 4: 4 days, recovered (equal counts).
    # 100 (day 4) → 90 → 101 on day 6: 2 days. The deeper one (10 %) is not the longer one.
    assert (r.longest_drawdown_ns, r.longest_drawdown_recovered) == (4 * DAY_NS, True)
    assert r.max_drawdown == pytest.approx(0.1)
    assert r.max_drawdown_recovery_ns == day(6)


def test_the_starting_capital_is_the_first_peak() -> None:
    # The first recorded point is already below the capital (an entry fee): that is a drawdown.
    r = report(curve("99.9", "99.9"), capital=D(100))
    assert r.max_drawdown == pytest.approx(0.001)
    assert r.max_drawdown_peak_ns == day(0)
    assert r.total_return == D("-0.001")


# --- trades, exposure, fees ------------------------------------------------------------------


def four_trades() -> list[Fill]:
    return [
        # A: long 1, 100 → 120, fees 1 + 1: net 18, held 1 day.
        fill(BUY, "1", "100", day(0), fee="1"),
        fill(SELL, "1", "120", day(1), fee="1"),
        # B: long 2, 100 → 95: net −10, held 2 days (opened the moment A closed).
        fill(BUY, "2", "100", day(1), n=1),
        fill(SELL, "2", "95", day(3)),
        # C: long 1, 50 → 56: net 6, held 1 day.
        fill(BUY, "1", "50", day(3), n=1),
        fill(SELL, "1", "56", day(4)),
        # D: long 1, 10 → 11, fees 0.5 + 0.5: net 0 (neither a win nor a loss), held 12 h.
        fill(BUY, "1", "10", day(4), fee="0.5", n=1),
        fill(SELL, "1", "11", day(4.5), fee="0.5"),
    ]


def test_trade_statistics_by_hand() -> None:
    r = report(curve(100, 100, 100, 100, 100, 100), four_trades())
    assert (r.trade_count, r.winning_trades, r.losing_trades) == (4, 2, 1)
    assert r.win_rate == 0.5  # 2 of 4
    assert r.average_win == 12  # (18 + 6) / 2
    assert r.average_loss == -10
    assert r.average_trade == D("3.5")  # (18 − 10 + 6 + 0) / 4
    assert r.profit_factor == pytest.approx(2.4)  # 24 / 10
    assert (r.gross_profit, r.gross_loss, r.trades_net_pnl) == (24, -10, 14)
    assert r.average_holding_ns == int(1.125 * DAY_NS)  # (1 + 2 + 1 + 0.5) / 4 days
    assert r.fees_paid == 3
    # In the market day 0 → 4.5 (B opens the instant A closes) of a 5-day run: 0.9.
    assert r.exposure == pytest.approx(0.9)


def test_all_winning_trades_leave_the_profit_factor_undefined() -> None:
    r = report(curve(100, 100), [fill(BUY, "1", "100", day(0)), fill(SELL, "1", "101", day(1))])
    assert (r.trade_count, r.win_rate, r.profit_factor, r.average_loss) == (1, 1.0, None, None)


def test_all_losing_trades_have_a_profit_factor_of_zero() -> None:
    r = report(curve(100, 100), [fill(BUY, "1", "100", day(0)), fill(SELL, "1", "99", day(1))])
    assert (r.win_rate, r.profit_factor, r.average_win, r.average_loss) == (0.0, 0.0, None, -1)


def test_exposure_counts_any_instrument_and_an_open_position_to_the_end() -> None:
    eth = "ETHUSDT.BINANCE"
    fills = [
        fill(BUY, "1", "100", day(1)),
        make_fill(instrument_id=eth, side=SELL, quantity="1", price="10", trade_id="E1", ts_event=day(2)),
        fill(SELL, "1", "100", day(3)),  # BTC flat, ETH still short
        make_fill(instrument_id=eth, side=BUY, quantity="1", price="10", trade_id="E2", ts_event=day(4)),
        fill(SELL, "1", "100", day(8)),  # opened at day 8 and still open at the end (day 10)
    ]
    # In the market days 1 → 4 and 8 → 10: 5 of 10 days.
    assert exposure(fills, day(0), day(10)) == pytest.approx(0.5)
    assert exposure([], day(0), day(10)) == 0.0
    assert exposure(fills, day(0), day(0)) is None


# --- edge cases ------------------------------------------------------------------------------


def test_no_trades() -> None:
    r = report(curve(100, 101, 102))
    assert (r.trade_count, r.winning_trades, r.losing_trades) == (0, 0, 0)
    assert (r.win_rate, r.average_win, r.average_loss, r.average_trade, r.profit_factor) == (None,) * 5
    assert (r.average_holding_ns, r.exposure, r.fees_paid, r.trades) == (None, 0.0, 0, ())


def test_a_flat_curve_has_zero_volatility_and_no_ratios() -> None:
    r = report(curve(100, 100, 100, 100))
    assert r.annualized_volatility == 0.0
    assert (r.sharpe_ratio, r.sortino_ratio, r.calmar_ratio) == (None, None, None)
    assert r.annualized_return == 0.0
    assert (r.max_drawdown, r.max_drawdown_amount, r.max_drawdown_peak_ns) == (0.0, 0, None)
    assert (r.longest_drawdown_ns, r.longest_drawdown_recovered) == (0, True)


def test_steady_growth_has_no_sharpe_rather_than_an_astronomical_one() -> None:
    # +1 % every day: the returns are equal in Decimal; float noise must not become a ratio.
    r = report(curve("100", "101", "102.01", "103.0301"))
    assert r.annualized_volatility == 0.0
    assert (r.sharpe_ratio, r.sortino_ratio) == (None, None)


def test_a_run_shorter_than_one_period() -> None:
    r = report(curve(100, 101, 99, 102, step=HOUR))
    # 3 hours inside one day: one return, so no volatility; no CAGR from a fraction of a period.
    assert r.periods == 1
    assert (r.annualized_volatility, r.sharpe_ratio, r.sortino_ratio) == (None, None, None)
    assert (r.annualized_return, r.calmar_ratio) == (None, None)
    assert r.total_return == D("0.02")
    assert r.max_drawdown == pytest.approx(2 / 101)


def test_an_empty_curve_and_a_single_point() -> None:
    empty = compute_performance([], [], starting_capital=D(100))
    assert (empty.final_equity, empty.total_return, empty.periods, empty.exposure) == (100, 0, 0, None)
    single = report(curve(105))
    assert (single.final_equity, single.total_return, single.periods) == (105, D("0.05"), 0)
    assert single.annualized_return is None


def test_negative_equity_blows_through_a_drawdown_of_one() -> None:
    r = report(curve(100, 50, -20, 10))
    assert r.max_drawdown == pytest.approx(1.2)  # 120 lost from a peak of 100
    assert r.max_drawdown_amount == 120
    assert r.total_return == D("-0.9")
    # Returns off a non-positive base mean nothing: no volatility, ratios or CAGR.
    assert (r.annualized_volatility, r.sharpe_ratio, r.sortino_ratio) == (None, None, None)
    ruined = report(curve(100, 50, -20))
    assert (ruined.annualized_return, ruined.calmar_ratio, ruined.total_return) == (None, None, D("-1.2"))


def test_invalid_input_is_refused() -> None:
    with pytest.raises(InvalidValue, match="starting_capital"):
        compute_performance(curve(100), [], starting_capital=D(0))
    with pytest.raises(InvalidValue, match="index 1 goes backwards"):
        report([(day(1), D(100)), (day(0), D(100))])
    with pytest.raises(InvalidValue, match="outside"):
        report(curve(100, 100), start_ns=day(0.5))
    with pytest.raises(InvalidValue, match="end_ns"):
        report([], start_ns=day(1), end_ns=day(0))
    with pytest.raises(InvalidParameter):
        PerformanceConfig(period_ns=0)
    with pytest.raises(InvalidParameter):
        PerformanceConfig(periods_per_year=0)
    with pytest.raises(InvalidParameter):
        PerformanceConfig(risk_free_rate=float("nan"))


def test_as_dict_is_json_safe_with_exact_money_and_rounded_ratios() -> None:
    r = report(curve(100, 110, 99, "108.9"), [fill(BUY, "1", "100", day(0)), fill(SELL, "1", "110", day(1))])
    data = r.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["total_return"] == "0.089"
    assert data["final_equity"] == "108.9"
    assert data["sharpe_ratio"] == 5.51513  # 6 significant digits
    assert data["profit_factor"] is None
    assert data["longest_drawdown_seconds"] == 172_800
    assert data["trades"] == [t.as_dict() for t in r.trades]
    assert "trades" not in r.as_dict(trades=False)


# --- properties ------------------------------------------------------------------------------

equities = st.integers(1, 10**12).map(lambda n: Decimal(n).scaleb(-4))  # 0.0001 to 1e8, positive
gaps = st.integers(1, 3 * DAY_NS)


@st.composite
def positive_curves(draw: st.DrawFn) -> list[tuple[int, Decimal]]:
    values = draw(st.lists(equities, min_size=1, max_size=40))
    times = [T0]
    for _ in values[1:]:
        times.append(times[-1] + draw(gaps))
    return list(zip(times, values, strict=True))


@settings(deadline=None)
@given(positive_curves())
def test_positive_equity_keeps_every_statistic_in_range(points: list[tuple[int, Decimal]]) -> None:
    first, last = points[0][1], points[-1][1]
    r = compute_performance(points, [], starting_capital=first)
    assert 0.0 <= r.max_drawdown < 1.0
    assert r.total_return == exact_sub(divide(last, first), ONE)
    assert r.net_profit == exact_sub(last, first)
    assert 0 <= r.longest_drawdown_ns <= r.duration_ns
    for value in (
        r.annualized_volatility,
        r.sharpe_ratio,
        r.sortino_ratio,
        r.calmar_ratio,
        r.annualized_return,
    ):
        assert value is None or math.isfinite(value)
    assert r.annualized_volatility is None or r.annualized_volatility >= 0
    json.dumps(r.as_dict())


@settings(deadline=None)
@given(instruments().flatmap(lambda i: fill_sequences(i, max_size=12, max_lots=10**5, max_ticks=10**7)))
def test_trade_net_pnl_reconciles_with_the_position(fills: list[Fill]) -> None:
    """Σ net P&L of the closed trades == realized P&L − fees + the fees of what is still open
    (tests/unit/domain/test_round_trips.py has the fee split); exactly, once flat."""
    points = [(f.ts_event, D(100)) for f in fills]
    r = compute_performance(points, fills, starting_capital=D(100))
    position = Position.from_fills(fills[0].instrument_id, fills)
    gross = D(0)
    for trade in r.trades:
        gross = exact_add(gross, trade.gross_pnl)
    assert gross == position.realized_pnl
    assert r.fees_paid == position.fees
    if position.is_flat:
        assert r.trades_net_pnl == exact_sub(position.realized_pnl, position.fees)
    assert r.exposure is None or 0.0 <= r.exposure <= 1.0
