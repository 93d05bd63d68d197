"""Performance of a run: returns, risk-adjusted ratios, drawdowns and trade statistics.

Inputs are what a backtest (or a live session) records: the equity curve as (ts_ns, equity)
points at irregular times, the fills, the starting capital and the run's span. Money figures
stay ``Decimal``; ratios are statistics and are ``float`` (or ``None`` where undefined, never
inf or NaN).

Rules, stated once:

- Return statistics use the equity resampled to regular periods (``period_ns``, one UTC day by
  default, aligned to ``origin_ns``). A period (b − period, b] is valued by the last equity
  point at or before its closing boundary b (forward-filled across empty periods); the run's
  last period may be partial and closes at ``end_ns``. The first period's return is measured
  against the starting capital. A run inside one period therefore has one return, and
  volatility and the ratios built on it are ``None``.
- Annualization multiplies by ``periods_per_year`` (default ``year_ns / period_ns``: 365 for
  daily periods, since crypto trades every calendar day; set 252 for an exchange calendar).
  CAGR uses the calendar span: (final / starting) ** (year_ns / span) − 1.
- Volatility is the sample standard deviation (n − 1) of period returns. Sharpe is the mean
  excess return over its volatility; Sortino uses the downside deviation below the risk-free
  rate over all periods (Sortino & Price). The risk-free rate is annual, compounded to a
  per-period rate. Once equity reaches zero or below, period returns lose meaning and every
  return statistic is ``None``.
- Drawdowns use every point of the curve (not the resampled one), starting from the starting
  capital at ``start_ns``. A drawdown lasts from its peak to the first point back at or above
  that peak, or to the end of the run if it never recovered.
- Trades are the closed round trips of ``domain.round_trips`` (average cost, as ``Position``);
  a trade wins when its net P&L (after fees) is above zero and loses when below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from domain.errors import InvalidParameter, InvalidValue
from domain.orders import Fill
from domain.round_trips import RoundTrip, derive_round_trips
from domain.values import ONE, ZERO, divide, exact_add, exact_sub, plain

NS_PER_SECOND = 1_000_000_000
DAY_NS = 86_400 * NS_PER_SECOND
YEAR_NS = 365 * DAY_NS
"""A calendar year of 365 days, matching 365 daily periods per year for crypto."""
ZERO_DEVIATION = 1e-12
"""A per-period standard deviation below this is float noise around zero (e.g. returns that
are equal in Decimal but not after conversion): the ratios dividing by it are ``None``."""

EquityPoint: TypeAlias = tuple[int, Decimal]
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceConfig:
    """How returns are sampled and annualized. Raises InvalidParameter for a non-positive
    period or year, a non-positive ``periods_per_year``, or a risk-free rate not above −1."""

    period_ns: int = DAY_NS
    periods_per_year: float | None = None
    """Annualization factor; ``None`` means ``year_ns / period_ns``."""
    risk_free_rate: float = 0.0
    """Annual rate, e.g. 0.04 for 4 %."""
    year_ns: int = YEAR_NS
    origin_ns: int = 0
    """Period boundaries fall on ``origin_ns + k × period_ns``: UTC midnights by default."""

    def __post_init__(self) -> None:
        if self.period_ns <= 0:
            raise InvalidParameter("period_ns", self.period_ns, "must be positive")
        if self.year_ns <= 0:
            raise InvalidParameter("year_ns", self.year_ns, "must be positive")
        if self.periods_per_year is not None and not (
            math.isfinite(self.periods_per_year) and self.periods_per_year > 0
        ):
            raise InvalidParameter("periods_per_year", self.periods_per_year, "must be positive")
        if not (math.isfinite(self.risk_free_rate) and self.risk_free_rate > -1):
            raise InvalidParameter("risk_free_rate", self.risk_free_rate, "must be above -1")

    @property
    def annualization(self) -> float:
        if self.periods_per_year is not None:
            return self.periods_per_year
        return self.year_ns / self.period_ns


@dataclass(frozen=True, slots=True, kw_only=True)
class PerformanceReport:
    """Every figure of a run. Money is Decimal, ratios float; ``None`` where undefined."""

    start_ns: int
    end_ns: int
    starting_capital: Decimal
    final_equity: Decimal
    net_profit: Decimal
    total_return: Decimal
    """final_equity / starting_capital − 1 (40 significant digits)."""
    annualized_return: float | None
    annualized_volatility: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    calmar_ratio: float | None
    max_drawdown: float
    """Largest fall from a peak as a fraction of that peak (above 1 if equity went negative)."""
    max_drawdown_amount: Decimal
    max_drawdown_peak_ns: int | None
    max_drawdown_trough_ns: int | None
    max_drawdown_recovery_ns: int | None
    """When equity first regained the peak of the largest drawdown; ``None`` if it never did."""
    longest_drawdown_ns: int
    """Longest time from a peak back to it (or to the end of the run, if it never recovered)."""
    longest_drawdown_recovered: bool
    periods: int
    trade_count: int
    winning_trades: int
    losing_trades: int
    win_rate: float | None
    average_win: Decimal | None
    average_loss: Decimal | None
    """Mean net P&L of the losing trades (a negative amount)."""
    average_trade: Decimal | None
    profit_factor: float | None
    """Gross profit of the winners over the gross loss of the losers; ``None`` without losers."""
    gross_profit: Decimal
    gross_loss: Decimal
    trades_net_pnl: Decimal
    average_holding_ns: int | None
    exposure: float | None
    """Fraction of the run with a non-zero position in any instrument."""
    fees_paid: Decimal
    period_ns: int
    periods_per_year: float
    risk_free_rate: float
    trades: tuple[RoundTrip, ...] = field(default=(), repr=False)

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def longest_drawdown_seconds(self) -> float:
        return self.longest_drawdown_ns / NS_PER_SECOND

    def as_dict(self, *, trades: bool = True) -> dict[str, object]:
        """JSON-safe values: decimals as exact strings, floats to 6 significant digits, None kept;
        durations also in seconds. ``trades`` adds the trade list under "trades"."""
        result: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            if name == "trades":
                continue
            result[name] = _json_value(getattr(self, name))
        result["duration_seconds"] = _json_value(self.duration_ns / NS_PER_SECOND)
        result["longest_drawdown_seconds"] = _json_value(self.longest_drawdown_seconds)
        if self.average_holding_ns is not None:
            result["average_holding_seconds"] = _json_value(self.average_holding_ns / NS_PER_SECOND)
        if trades:
            result["trades"] = [trade.as_dict() for trade in self.trades]
        return result


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def compute_performance(
    equity_curve: Sequence[EquityPoint],
    fills: Sequence[Fill],
    *,
    starting_capital: Decimal,
    start_ns: int | None = None,
    end_ns: int | None = None,
    config: PerformanceConfig | None = None,
) -> PerformanceReport:
    """Measure a run. ``start_ns`` / ``end_ns`` default to the first and last equity points.

    Raises InvalidValue for a non-positive starting capital, timestamps that go backwards,
    points outside [start_ns, end_ns], or end before start.
    """
    cfg = config if config is not None else PerformanceConfig()
    if not starting_capital > ZERO:
        raise InvalidValue("starting_capital", starting_capital, "must be greater than zero")
    times: IntArray = np.fromiter((p[0] for p in equity_curve), dtype=np.int64, count=len(equity_curve))
    backwards = np.flatnonzero(np.diff(times) < 0)
    if len(backwards):
        at = int(backwards[0]) + 1
        raise InvalidValue("equity_curve", equity_curve[at][0], f"timestamp at index {at} goes backwards")
    start, end = _span(equity_curve, fills, start_ns, end_ns)
    if len(times) and (times[0] < start or times[-1] > end):
        raise InvalidValue(
            "equity_curve", (int(times[0]), int(times[-1])), f"has points outside [{start}, {end}]"
        )
    values: FloatArray = np.fromiter(
        (float(p[1]) for p in equity_curve), dtype=np.float64, count=len(equity_curve)
    )
    final = equity_curve[-1][1] if equity_curve else starting_capital
    total_return = exact_sub(divide(final, starting_capital), ONE)

    returns = period_returns(
        times, values, starting=float(starting_capital), start=start, end=end, config=cfg
    )
    years = (end - start) / cfg.year_ns
    cagr = _cagr(float(divide(final, starting_capital)), years) if end - start >= cfg.period_ns else None
    volatility, sharpe, sortino = _return_ratios(returns, cfg)

    drawdown = _drawdowns(equity_curve, times, values, starting=starting_capital, start=start, end=end)
    calmar = cagr / drawdown.fraction if cagr is not None and drawdown.fraction > 0 else None

    trades = derive_round_trips(fills)
    fees = ZERO
    for fill in fills:
        fees = exact_add(fees, fill.fee)
    stats = _TradeStats.of(trades)
    return PerformanceReport(
        start_ns=start,
        end_ns=end,
        starting_capital=starting_capital,
        final_equity=final,
        net_profit=exact_sub(final, starting_capital),
        total_return=total_return,
        annualized_return=cagr,
        annualized_volatility=volatility,
        sharpe_ratio=sharpe,
        sortino_ratio=sortino,
        calmar_ratio=calmar,
        max_drawdown=drawdown.fraction,
        max_drawdown_amount=drawdown.amount,
        max_drawdown_peak_ns=drawdown.peak_ns,
        max_drawdown_trough_ns=drawdown.trough_ns,
        max_drawdown_recovery_ns=drawdown.recovery_ns,
        longest_drawdown_ns=drawdown.longest_ns,
        longest_drawdown_recovered=drawdown.longest_recovered,
        periods=len(returns),
        exposure=exposure(fills, start, end),
        fees_paid=fees,
        period_ns=cfg.period_ns,
        periods_per_year=cfg.annualization,
        risk_free_rate=cfg.risk_free_rate,
        trades=trades,
        trade_count=len(trades),
        winning_trades=stats.winning,
        losing_trades=stats.losing,
        win_rate=stats.win_rate,
        average_win=stats.average_win,
        average_loss=stats.average_loss,
        average_trade=stats.average_trade,
        profit_factor=stats.profit_factor,
        gross_profit=stats.gross_profit,
        gross_loss=stats.gross_loss,
        trades_net_pnl=stats.net,
        average_holding_ns=stats.average_holding_ns,
    )


def _span(
    curve: Sequence[EquityPoint], fills: Sequence[Fill], start_ns: int | None, end_ns: int | None
) -> tuple[int, int]:
    known = [p[0] for p in curve[:1]] + [p[0] for p in curve[-1:]] + [f.ts_event for f in fills]
    start = start_ns if start_ns is not None else (curve[0][0] if curve else min(known, default=0))
    end = end_ns if end_ns is not None else (curve[-1][0] if curve else max(known, default=start))
    if end < start:
        raise InvalidValue("end_ns", end, f"must not be before start_ns {start}")
    return start, end


def period_returns(
    times: IntArray, values: FloatArray, *, starting: float, start: int, end: int, config: PerformanceConfig
) -> FloatArray:
    """Simple returns of the equity resampled to ``config.period_ns`` (module docstring rules).

    Empty when the run has no duration; all NaN once a period starts from zero or negative
    equity (ruin), which the ratios then report as undefined.
    """
    if end <= start:
        return np.empty(0, dtype=np.float64)
    period, origin = config.period_ns, config.origin_ns
    first = (start - origin) // period + 1  # first boundary strictly after start
    last = -((origin - end) // period)  # ceil: first boundary at or after end
    boundaries = origin + period * np.arange(first, last, dtype=np.int64)
    closes = np.append(boundaries[boundaries < end], np.int64(end))
    index = np.searchsorted(times, closes, side="right") - 1
    sampled = np.where(index >= 0, values[np.maximum(index, 0)], starting)
    series = np.concatenate(([starting], sampled))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns: FloatArray = series[1:] / series[:-1] - 1.0
    if np.any(series[:-1] <= 0):
        returns = np.full(len(returns), np.nan)
    return returns


def _cagr(growth: float, years: float) -> float | None:
    if growth <= 0 or years <= 0:
        return None
    try:
        return math.exp(math.log(growth) / years) - 1.0
    except OverflowError:
        return None


def _return_ratios(
    returns: FloatArray, config: PerformanceConfig
) -> tuple[float | None, float | None, float | None]:
    """(annualized volatility, Sharpe, Sortino); ``None`` each where undefined."""
    if len(returns) < 2 or not np.all(np.isfinite(returns)):
        return None, None, None
    ppy = config.annualization
    rf = (1.0 + config.risk_free_rate) ** (1.0 / ppy) - 1.0
    excess = returns - rf
    deviation = float(np.std(returns, ddof=1))
    root = math.sqrt(ppy)
    mean = float(np.mean(excess))
    sharpe = mean / deviation * root if deviation > ZERO_DEVIATION else None
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    sortino = mean / downside * root if downside > ZERO_DEVIATION else None
    volatility = deviation * root if deviation > ZERO_DEVIATION else 0.0
    return volatility, sharpe, sortino


@dataclass(frozen=True, slots=True)
class _Drawdown:
    fraction: float
    amount: Decimal
    peak_ns: int | None
    trough_ns: int | None
    recovery_ns: int | None
    longest_ns: int
    longest_recovered: bool


def drawdown_series(values: FloatArray, starting: float) -> FloatArray:
    """Drawdown fraction at each point: 1 − equity / running peak (the peak starts at
    ``starting``, which must be positive)."""
    peaks = np.maximum.accumulate(np.concatenate(([starting], values)))[1:]
    result: FloatArray = 1.0 - values / peaks
    return result


def _drawdowns(
    curve: Sequence[EquityPoint],
    times: IntArray,
    values: FloatArray,
    *,
    starting: Decimal,
    start: int,
    end: int,
) -> _Drawdown:
    # Work on the curve with the starting capital prepended at start: index 0 is never under water.
    all_times = np.concatenate((np.array([start], dtype=np.int64), times))
    all_values = np.concatenate(([float(starting)], values))
    peaks = np.maximum.accumulate(all_values)
    depth = 1.0 - all_values / peaks
    under = all_values < peaks
    if not under.any():
        return _Drawdown(0.0, ZERO, None, None, None, 0, True)
    trough = int(np.argmax(depth))
    peak = int(np.flatnonzero(~under[:trough])[-1])
    after = np.flatnonzero(~under[trough:])
    recovery = int(all_times[trough + after[0]]) if len(after) else None
    peak_value = starting if peak == 0 else curve[peak - 1][1]
    amount = exact_sub(peak_value, curve[trough - 1][1])

    # Runs of points under water: each starts after a point at its peak and ends at the first
    # point back at (or above) the peak, or at the end of the run.
    flags = under.astype(np.int8)
    edges = np.diff(flags)
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    recovered = np.ones(len(starts), dtype=bool)
    if len(ends) < len(starts):
        ends = np.append(ends, len(all_times))
        recovered[-1] = False
    end_times = np.where(ends < len(all_times), all_times[np.minimum(ends, len(all_times) - 1)], end)
    lengths = end_times - all_times[starts - 1]
    longest = int(np.argmax(lengths))
    return _Drawdown(
        fraction=float(depth[trough]),
        amount=amount,
        peak_ns=int(all_times[peak]),
        trough_ns=int(all_times[trough]),
        recovery_ns=recovery,
        longest_ns=int(lengths[longest]),
        longest_recovered=bool(recovered[longest]),
    )


@dataclass(frozen=True, slots=True)
class _TradeStats:
    winning: int
    losing: int
    win_rate: float | None
    average_win: Decimal | None
    average_loss: Decimal | None
    average_trade: Decimal | None
    profit_factor: float | None
    gross_profit: Decimal
    gross_loss: Decimal
    net: Decimal
    average_holding_ns: int | None

    @classmethod
    def of(cls, trades: Sequence[RoundTrip]) -> _TradeStats:
        wins = [t.net_pnl for t in trades if t.net_pnl > ZERO]
        losses = [t.net_pnl for t in trades if t.net_pnl < ZERO]
        gross_profit = _sum(wins)
        gross_loss = _sum(losses)
        net = _sum([t.net_pnl for t in trades])
        count = len(trades)
        return cls(
            winning=len(wins),
            losing=len(losses),
            win_rate=len(wins) / count if count else None,
            average_win=divide(gross_profit, Decimal(len(wins))) if wins else None,
            average_loss=divide(gross_loss, Decimal(len(losses))) if losses else None,
            average_trade=divide(net, Decimal(count)) if count else None,
            profit_factor=float(divide(gross_profit, gross_loss.copy_negate())) if losses else None,
            gross_profit=gross_profit,
            gross_loss=gross_loss,
            net=net,
            average_holding_ns=sum(t.holding_ns for t in trades) // count if count else None,
        )


def _sum(amounts: Sequence[Decimal]) -> Decimal:
    total = ZERO
    for amount in amounts:
        total = exact_add(total, amount)
    return total


def exposure(fills: Sequence[Fill], start: int, end: int) -> float | None:
    """Fraction of [start, end] during which any instrument had a non-zero position.

    Fills are taken in time order (stable for equal times); ``None`` for a run of no duration.
    """
    if end <= start:
        return None
    held: dict[str, Decimal] = {}
    open_count = 0
    since = start
    exposed = 0
    for fill in sorted(fills, key=lambda f: f.ts_event):
        ts = min(max(fill.ts_event, start), end)
        before = held.get(fill.instrument_id, ZERO)
        after = exact_add(before, fill.signed_quantity)
        held[fill.instrument_id] = after
        if not before and after:
            if open_count == 0:
                since = ts
            open_count += 1
        elif before and not after:
            open_count -= 1
            if open_count == 0:
                exposed += ts - since
    if open_count:
        exposed += end - since
    return exposed / (end - start)
