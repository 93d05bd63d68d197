"""Risk: limits, pre-trade checks, the order-rate throttle, the trading state and position stops."""

from .data_usability import MarketDataState
from .limits import InstrumentLimits, RiskLimits
from .pretrade import PreTradeRisk
from .reasons import APPROVED, RiskDecision, RiskLimitBreached, RiskReason, RiskRejection
from .stops import STOPS_STRATEGY_ID, PositionStops, StopRules
from .throttle import OrderRateThrottle
from .trading_state import (
    NS_PER_DAY,
    ResumeRefused,
    TradingSnapshot,
    TradingState,
    TradingStateChanged,
    TradingStateMachine,
    utc_day,
)

__all__ = [
    "APPROVED",
    "NS_PER_DAY",
    "STOPS_STRATEGY_ID",
    "InstrumentLimits",
    "MarketDataState",
    "OrderRateThrottle",
    "PositionStops",
    "PreTradeRisk",
    "ResumeRefused",
    "RiskDecision",
    "RiskLimitBreached",
    "RiskLimits",
    "RiskReason",
    "RiskRejection",
    "StopRules",
    "TradingSnapshot",
    "TradingState",
    "TradingStateChanged",
    "TradingStateMachine",
    "utc_day",
]
