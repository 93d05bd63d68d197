"""The names of the engine's alerts and the thresholds that fire them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NS_PER_S = 1_000_000_000

TRADING_HALTED = "TradingHalted"
TRADING_REDUCE_ONLY = "TradingReduceOnly"
FEED_DOWN = "FeedDown"
BOOK_RESYNC_FAILING = "BookResyncFailing"
RECONCILIATION_DIFFERENCE = "ReconciliationDifference"
STORE_COMMIT_FAILING = "StoreCommitFailing"
STRATEGY_DISABLED = "StrategyDisabled"
BROKER_REJECTING = "BrokerRejecting"
DAILY_LOSS_NEAR_LIMIT = "DailyLossNearLimit"
DRAWDOWN_NEAR_LIMIT = "DrawdownNearLimit"

ALERT_NAMES = (
    TRADING_HALTED,
    TRADING_REDUCE_ONLY,
    FEED_DOWN,
    BOOK_RESYNC_FAILING,
    RECONCILIATION_DIFFERENCE,
    STORE_COMMIT_FAILING,
    STRATEGY_DISABLED,
    BROKER_REJECTING,
    DAILY_LOSS_NEAR_LIMIT,
    DRAWDOWN_NEAR_LIMIT,
)
"""Every alert the engine raises; the Prometheus rules and dashboards use the same names."""

WINDOW_S = 300
"""Book resyncs and broker rejections are counted over the last five minutes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertPolicy:
    """When the rules fire and how often an active alert is sent again.

    ``loss_warning_fraction`` is the share of a risk limit (daily loss, max drawdown) at which a
    "near limit" alert fires: 0.8 warns at 80% of the way to the limit. Raises ValueError for a
    value that cannot work (a count below 1, a non-positive time, a fraction outside (0, 1]).
    """

    evaluate_interval_s: float = 1.0
    feed_down_after_s: float = 30.0
    book_resync_failures: int = 3
    broker_rejections: int = 5
    loss_warning_fraction: Decimal = Decimal("0.8")
    repeat_interval_s: float = 3600.0
    window_s: float = WINDOW_S

    def __post_init__(self) -> None:
        for name in ("evaluate_interval_s", "repeat_interval_s", "window_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive (was {getattr(self, name)})")
        if not self.feed_down_after_s >= 0:
            raise ValueError(f"feed_down_after_s must be zero or more (was {self.feed_down_after_s})")
        for name in ("book_resync_failures", "broker_rejections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (was {getattr(self, name)})")
        fraction = self.loss_warning_fraction
        if not isinstance(fraction, Decimal) or not Decimal(0) < fraction <= Decimal(1):
            raise ValueError(f"loss_warning_fraction must be a Decimal in (0, 1] (was {fraction!r})")

    @property
    def feed_down_after_ns(self) -> int:
        return round(self.feed_down_after_s * NS_PER_S)

    @property
    def repeat_interval_ns(self) -> int:
        return round(self.repeat_interval_s * NS_PER_S)

    @property
    def window_ns(self) -> int:
        return round(self.window_s * NS_PER_S)
