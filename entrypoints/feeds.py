"""Market-data feeds by kind: ``[feeds.binance]``, ``[feeds.coinbase]``, ``[feeds.kraken]``.

One place turns a ``[feeds.<kind>]`` table into its venue's config (``validate`` checks it
offline, before anything opens) and into a running feed (the container builds it), and
knows which venue each kind serves, so an instrument typed only by its id can be read from
its venue's public instrument list.

A venue's adapter (its WebSocket and HTTP clients) is imported only when a configuration
names its feed: the table below holds functions that import it, not its classes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from application.ports import Clock, InstrumentProvider, MarketDataFeed
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from entrypoints.config import PUBLISHING_VENUES, ConfigError, FeedSettings, Settings


@dataclass(frozen=True, slots=True)
class FeedKind:
    """What ``[feeds.<kind>]`` builds: its config, its feed, and (when the venue publishes its
    instruments) the provider that reads them."""

    venue: str
    config: Callable[[Mapping[str, object]], Any]
    feed: Callable[[Any, Clock, random.Random], MarketDataFeed]
    instruments: Callable[[Any], InstrumentProvider] | None
    tuples: tuple[str, ...]
    """Options a TOML list gives that the config takes as a tuple."""
    unreadable: Callable[[], tuple[type[Exception], ...]] = tuple
    """The errors, besides OSError and ValueError, its provider raises for instruments it could
    not read (imported once the provider is)."""


def _binance_config(options: Mapping[str, object]) -> Any:
    from adapters.exchanges.binance.config import BinanceFeedConfig

    return BinanceFeedConfig.from_mapping(options)


def _binance_feed(config: Any, clock: Clock, rng: random.Random) -> MarketDataFeed:
    from adapters.exchanges.binance.feed import BinanceMarketDataFeed

    return BinanceMarketDataFeed(config, clock=clock, rng=rng)


def _binance_instruments(config: Any) -> InstrumentProvider:
    from adapters.brokers.binance.config import BinanceBrokerConfig
    from adapters.brokers.binance.instruments import BinanceInstrumentProvider

    broker = BinanceBrokerConfig(
        environment="live", rest_url=config.rest_url, use_system_proxy=config.use_system_proxy
    )
    return BinanceInstrumentProvider(broker, None)  # exchangeInfo is public: no key


def _binance_unreadable() -> tuple[type[Exception], ...]:
    from adapters.brokers.binance.errors import BinanceBrokerError

    return (BinanceBrokerError,)


def _coinbase_config(options: Mapping[str, object]) -> Any:
    from adapters.exchanges.coinbase import CoinbaseFeedConfig

    return CoinbaseFeedConfig.from_mapping(options)


def _coinbase_feed(config: Any, clock: Clock, rng: random.Random) -> MarketDataFeed:
    from adapters.exchanges.coinbase import CoinbaseMarketDataFeed

    return CoinbaseMarketDataFeed(config, clock, rng=rng)


def _coinbase_instruments(config: Any) -> InstrumentProvider:
    from adapters.exchanges.coinbase import CoinbaseInstrumentProvider

    return CoinbaseInstrumentProvider(config.rest_url)


def _kraken_config(options: Mapping[str, object]) -> Any:
    from adapters.exchanges.kraken import KrakenFeedConfig

    return KrakenFeedConfig.from_mapping(options)


def _kraken_feed(config: Any, clock: Clock, rng: random.Random) -> MarketDataFeed:
    from adapters.exchanges.kraken import KrakenMarketDataFeed

    return KrakenMarketDataFeed(config, clock, rng=rng)


def _kraken_instruments(config: Any) -> InstrumentProvider:
    from adapters.exchanges.kraken import KrakenInstrumentProvider

    return KrakenInstrumentProvider(config.ws_url)


FEED_KINDS: Mapping[str, FeedKind] = {
    "binance": FeedKind(
        venue="BINANCE",
        config=_binance_config,
        feed=_binance_feed,
        instruments=_binance_instruments,
        tuples=("streams",),
        unreadable=_binance_unreadable,
    ),
    "coinbase": FeedKind(
        venue="COINBASE",
        config=_coinbase_config,
        feed=_coinbase_feed,
        instruments=_coinbase_instruments,
        tuples=("channels",),
    ),
    "kraken": FeedKind(
        venue="KRAKEN",
        config=_kraken_config,
        feed=_kraken_feed,
        instruments=_kraken_instruments,
        tuples=("channels",),
    ),
}
"""Every feed kind, by its ``[feeds.<kind>]`` name."""


def _kind(feed: FeedSettings) -> FeedKind:
    kind = FEED_KINDS.get(feed.kind)
    if kind is None:
        raise ConfigError(f"feed kind {feed.kind!r} is unknown; known: {', '.join(FEED_KINDS)}")
    return kind


def feed_config(feed: FeedSettings) -> Any:
    """The venue config ``[feeds.<kind>]`` describes; ConfigError naming the table otherwise."""
    kind = _kind(feed)
    options: dict[str, object] = dict(feed.options)
    try:
        ids = options.get("instrument_ids", ())
        if not isinstance(ids, list | tuple):
            raise ValueError(f"instrument_ids must be a list of SYMBOL.VENUE ids (was {ids!r})")
        options["instrument_ids"] = tuple(InstrumentId(i) for i in ids)
        for name in kind.tuples:
            value = options.get(name)
            if isinstance(value, list):
                options[name] = tuple(value)
        return kind.config(options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"[feeds.{feed.kind}]: {error}") from None


def build_feed(feed: FeedSettings, clock: Clock) -> MarketDataFeed:
    """The running feed of ``[feeds.<kind>]`` (connects only when run)."""
    return _kind(feed).feed(feed_config(feed), clock, random.Random())


def venue_instruments(settings: Settings, instrument_ids: Sequence[str]) -> list[Instrument]:
    """The rules of ``instrument_ids`` as their venues publish them (tick, lot, minimums), read
    through each venue's feed settings; ConfigError names an instrument that cannot be read,
    and says the rules may be typed in ``[[instruments]]`` instead."""
    by_venue: dict[str, list[InstrumentId]] = {}
    for value in instrument_ids:
        instrument_id = InstrumentId(value)
        by_venue.setdefault(instrument_id.venue, []).append(instrument_id)
    found: dict[str, Instrument] = {}
    for venue, ids in by_venue.items():
        feed, kind = _feed_of(settings, venue, ids)
        assert kind.instruments is not None  # _feed_of picks a publishing venue
        provider = kind.instruments(feed_config(feed))
        unreadable: tuple[type[Exception], ...] = (OSError, ValueError, *kind.unreadable())
        try:
            for instrument in provider.instruments(ids):
                found[instrument.id] = instrument
        except unreadable as error:
            raise ConfigError(
                f"[[instruments]] {', '.join(ids)}: the venue's instrument list could not be read"
                f" ({error}); type price_tick, lot_size, min_quantity and min_notional in the entry instead"
            ) from None
    return [found[InstrumentId(i)] for i in instrument_ids]


def _feed_of(settings: Settings, venue: str, ids: Sequence[InstrumentId]) -> tuple[FeedSettings, FeedKind]:
    for feed in settings.feeds:
        kind = FEED_KINDS.get(feed.kind)
        if kind is not None and kind.venue == venue and kind.instruments is not None:
            return feed, kind
    if venue not in PUBLISHING_VENUES:
        raise ConfigError(
            f"[[instruments]] {', '.join(ids)}: give price_tick, lot_size, min_quantity and min_notional"
            f" (instruments of {venue} are typed, unless a broker for it reads them)"
        )
    kind_name = next(name for name, kind in FEED_KINDS.items() if kind.venue == venue)
    raise ConfigError(
        f"[[instruments]] {', '.join(ids)}: typed by id alone, its rules come from the venue, but there is"
        f" no [feeds.{kind_name}] to read them through"
    )
