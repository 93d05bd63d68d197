"""Strategies: pure objects fed trades, quotes and bars that return signals (see base.Strategy)."""

from domain.strategies.base import NO_SIGNALS, PriceSource, Strategy
from domain.strategies.bollinger_breakout import BollingerBreakout, BollingerBreakoutParams
from domain.strategies.lead_lag import LeadLag, LeadLagParams
from domain.strategies.price_strategy import PriceStrategy
from domain.strategies.registry import BUILTIN_STRATEGIES, create_strategy
from domain.strategies.rsi_mean_reversion import RsiMeanReversion, RsiMeanReversionParams
from domain.strategies.sma_crossover import SmaCrossover, SmaCrossoverParams

__all__ = [
    "BUILTIN_STRATEGIES",
    "NO_SIGNALS",
    "BollingerBreakout",
    "BollingerBreakoutParams",
    "LeadLag",
    "LeadLagParams",
    "PriceSource",
    "PriceStrategy",
    "RsiMeanReversion",
    "RsiMeanReversionParams",
    "SmaCrossover",
    "SmaCrossoverParams",
    "Strategy",
    "create_strategy",
]
