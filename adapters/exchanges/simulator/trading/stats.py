"""What the trading venue counts, for tests and operators to read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Counters:
    """Counts the API layers keep as requests go by."""

    requests: int = 0
    orders_placed: int = 0
    orders_rejected: int = 0
    responses_lost: int = 0
    responses_failed: int = 0
    ws_connections_opened: int = 0
    user_streams_dropped: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueStats:
    """A snapshot of the venue's counters."""

    requests: int
    """REST requests and WebSocket API requests received."""
    rejected_signatures: int
    rate_limited: int
    """429 answers."""
    banned: int
    """418 answers."""
    orders_placed: int
    """Orders accepted (NEW), through the API or placed externally."""
    orders_rejected: int
    """New orders refused with an error (any code)."""
    reports_sent: int
    """executionReport events delivered (one per subscription)."""
    events_sent: int
    """User data events of any kind delivered."""
    responses_lost: int
    responses_failed: int
    ws_connections: int
    """WebSocket API sessions open now."""
    ws_connections_opened: int
    user_streams_dropped: int
    subscriptions: int
    """User data stream subscriptions active now."""
