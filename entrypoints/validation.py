"""Everything a configuration says that can be checked offline, checked before any side effect.

``bootstrap`` finds a bad broker option or strategy only once it has opened (and so created)
the stores, and a networked broker only once it has connected; ``validate`` builds the same
configs beforehand, touching no file, socket or clock, so a typo costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from entrypoints import brokers, feeds
from entrypoints.alerts import AlertSettings
from entrypoints.config import ConfigError, FeedSettings, Settings, StrategySettings, load_settings
from entrypoints.container import build_sizer
from entrypoints.metrics import metrics_settings
from entrypoints.strategy_entries import build_strategy


def validate(settings: Settings) -> None:
    """Raise ConfigError for the first thing ``settings`` gets wrong: broker, feeds, metrics,
    alerts or strategies (the sections load_settings parses are checked there already)."""
    _broker(settings)
    for feed in settings.feeds:
        _feed(feed)
    metrics_settings(settings)
    AlertSettings.from_mapping(settings.alerts)
    known = frozenset(settings.instrument_ids)
    for entry in settings.strategies:
        _strategy(entry, known)


def load_validated(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """``load_settings`` plus ``validate``; a mistake an environment override made names it."""
    return load_settings(path, environ, check=validate)


def _broker(settings: Settings) -> None:
    # The very checks build_broker makes first, before it reads the venue or its keys.
    if brokers.check_kind(settings) == "binance":
        brokers.binance_config(settings)
        return
    brokers.check_short_selling(settings, brokers.paper_config(settings))


def _feed(feed: FeedSettings) -> None:
    feeds.feed_config(feed)


def _strategy(entry: StrategySettings, known: frozenset[str]) -> None:
    unknown = [i for i in entry.instruments if i not in known]
    if unknown:
        raise ConfigError(
            f"strategy {entry.id}: instrument(s) {', '.join(unknown)} not in [[instruments]]"
            f" (known: {', '.join(sorted(known))})"
        )
    build_strategy(entry)  # an ML model is read and checked now, not at the first bar
    build_sizer(entry.sizing)
