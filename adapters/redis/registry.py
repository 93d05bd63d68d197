"""The messages that may cross Redis, by the stream family that carries them: the one list to extend.

The codec derives each type's JSON form from its fields, and the stream routing sends each
type to its family's stream, both from this table; a new message type is one entry here (a
new market event or broker report is picked up from the domain's own unions).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import get_args

from application.messages import (
    BrokerReport,
    FeedStatusChanged,
    IntentRejected,
    OrderUpdated,
    PositionChanged,
    ShardProgress,
    SignalDecided,
    SignalEmitted,
    StrategyFailed,
)
from domain.intents import OrderIntent
from domain.market_data import MarketEvent
from domain.signals import Signal

STREAM_FAMILIES: Mapping[str, tuple[type, ...]] = MappingProxyType(
    {
        # Trades, quotes, bars, book snapshots, deltas and invalidations, and a feed's connection
        # going down or coming back: their relative order matters.
        "market": (*get_args(MarketEvent), FeedStatusChanged),
        "strategy": (Signal, SignalEmitted, OrderIntent, StrategyFailed),
        # What a broker says happened to an order: an accept comes before its fills.
        "reports": get_args(BrokerReport),
        # What the engine tells observers after the fact.
        "events": (OrderUpdated, PositionChanged, IntentRejected),
        # Strategy workers to execution, in each shard's signals stream (see ``shards``).
        "decisions": (SignalDecided, ShardProgress),
    }
)
"""Every message type that may cross Redis, grouped by the family (stream) that carries it."""

MESSAGE_TYPES: tuple[type, ...] = tuple(kind for kinds in STREAM_FAMILIES.values() for kind in kinds)
"""Every registered message type, family after family."""
