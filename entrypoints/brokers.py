"""Which broker the configuration names, built with what it needs: ``[broker] kind``.

``paper`` is the simulated venue (instruments as typed in the file, the starting balances of
``[account]``, which the venue then keeps itself). Its ``account`` is ``"spot"`` (the default:
no order beyond the free balance, so no short selling) or ``"margin"`` (a sell may borrow the
base asset, within ``max_leverage`` × equity); a strategy with ``allow_short = true`` needs
``"margin"``. ``binance`` trades on Binance Spot: its instruments, balances and commission
rates come from the venue, its keys from the encrypted keystore or the environment (never the
file), and ``environment = "testnet"`` is the default; ``"live"`` also needs
``live_trading = true``. ``rest_url`` / ``ws_api_url`` point it elsewhere (the simulated venue).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from adapters.brokers.paper import PaperBroker, PaperBrokerConfig, VenueLog, VenueLogError
from application.ports import Clock, ConnectedBroker, ReconcilableBroker
from domain.identifiers import InstrumentId
from domain.instrument import Instrument, InstrumentRegistry
from entrypoints import feeds
from entrypoints.config import ConfigError, Settings

# The Binance client (aiohttp, httpx, websockets, cryptography) and the keystore are imported
# by the functions that use them, when the configuration names binance: a paper engine or a
# backtest does not load them.
if TYPE_CHECKING:
    from adapters.brokers.binance.config import BinanceBrokerConfig

log = logging.getLogger("tradeplane.broker")

KINDS = ("paper", "binance")
DEFAULT_RECONCILE_INTERVAL_S = 30.0
"""How often a networked broker's orders are checked with the venue while the engine runs."""

# Options of [broker] the engine reads itself; the rest configure the adapter.
_ENGINE_OPTIONS = frozenset({"live_trading", "reconcile_interval_s"})


def check_kind(settings: Settings) -> str:
    kind = settings.broker.kind
    if kind not in KINDS:
        raise ConfigError(f"broker kind {kind!r} is unknown; known: {', '.join(KINDS)}")
    return kind


def reconcile_interval_s(settings: Settings) -> float:
    value = settings.broker.options.get("reconcile_interval_s", DEFAULT_RECONCILE_INTERVAL_S)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 86_400:
        raise ConfigError(f"[broker] reconcile_interval_s must be seconds from 1 to 86400 (was {value!r})")
    return float(value)


def paper_config(settings: Settings) -> PaperBrokerConfig:
    """The paper venue's settings; raises ConfigError naming a bad option."""
    try:
        return PaperBrokerConfig.from_mapping(settings.broker.options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"[broker]: {error}") from None


def check_short_selling(settings: Settings, config: PaperBrokerConfig) -> None:
    """Raise ConfigError for a strategy allowed to sell short on a spot paper account: the venue
    would refuse its first short sale, so the configuration is refused before anything runs."""
    if config.margin:
        return
    for entry in settings.strategies:
        if entry.allow_short:
            raise ConfigError(
                f"strategy {entry.id} has allow_short = true, but the paper account is spot,"
                " and a spot account cannot sell what it does not hold: set"
                ' [broker] account = "margin", or allow_short = false'
            )


def binance_config(settings: Settings) -> BinanceBrokerConfig:
    from adapters.brokers.binance.config import BinanceBrokerConfig

    options = {k: v for k, v in settings.broker.options.items() if k not in _ENGINE_OPTIONS}
    try:
        config = BinanceBrokerConfig.from_mapping(options)
    except (TypeError, ValueError) as error:
        engine = ", ".join(sorted(_ENGINE_OPTIONS))
        raise ConfigError(f"[broker] binance: {error}; the engine's own [broker] options: {engine}") from None
    live_trading = settings.broker.options.get("live_trading", False)
    if not isinstance(live_trading, bool):
        raise ConfigError(f"[broker] live_trading must be true or false (was {live_trading!r})")
    if config.environment == "live" and not live_trading:
        raise ConfigError(
            '[broker] environment = "live" trades real funds: it also needs live_trading = true'
            ' (start on environment = "testnet")'
        )
    reconcile_interval_s(settings)
    return config


def build_instruments(settings: Settings) -> InstrumentRegistry:
    """The instruments traded: as typed (paper; an entry on a venue that publishes its instruments
    may give its id alone, and is read from the venue), or as the venue defines them (binance)."""
    if check_kind(settings) == "paper":
        typed = {instrument.id for instrument in settings.instruments}
        untyped = [i for i in settings.instrument_ids if i not in typed]
        read = feeds.venue_instruments(settings, untyped) if untyped else []
        return InstrumentRegistry([*settings.instruments, *read])
    from adapters.brokers.binance.errors import BinanceBrokerError
    from adapters.brokers.binance.instruments import BinanceInstrumentProvider

    ids = [InstrumentId(i) for i in settings.instrument_ids]
    config = binance_config(settings)
    try:
        venue = list(BinanceInstrumentProvider(config, None).instruments(ids))
    except (BinanceBrokerError, ValueError) as error:
        raise ConfigError(f"[broker] binance: the venue's instruments could not be read: {error}") from None
    _compare_typed(settings.instruments, venue)
    return InstrumentRegistry(venue)


def _compare_typed(typed: Sequence[Instrument], venue: Sequence[Instrument]) -> None:
    by_id = {instrument.id: instrument for instrument in venue}
    for instrument in typed:
        actual = by_id.get(instrument.id)
        if actual is not None and actual != instrument:
            log.warning(
                "[[instruments]] %s differs from the venue's rules; the venue's apply: %s",
                instrument.id,
                actual,
            )


def build_broker(
    settings: Settings,
    publish: Callable[[object], None],
    instruments: InstrumentRegistry,
    venue_log: VenueLog | None,
    clock: Clock,
) -> ReconcilableBroker:
    """The configured broker, ready: a networked one has checked its keys and its clock."""
    if check_kind(settings) == "binance":
        return _binance(settings, publish, instruments, clock)
    config = paper_config(settings)
    # A store that outlives the process needs venue ids that do not repeat across runs.
    prefix = f"PAPER-{time.time_ns() // 1_000_000:x}" if settings.storage.kind == "sql" else "PAPER"
    try:
        return PaperBroker(
            publish=publish,
            instruments=instruments,
            config=config,
            id_prefix=prefix,
            log=venue_log,
            balances=settings.balances,
        )
    except VenueLogError as error:
        raise ConfigError(f"[broker]: {error}") from None


def _binance(
    settings: Settings, publish: Callable[[object], None], instruments: InstrumentRegistry, clock: Clock
) -> ReconcilableBroker:
    from adapters.brokers.binance.broker import BinanceBroker
    from adapters.brokers.binance.credentials import ApiCredentials
    from adapters.brokers.binance.errors import BinanceBrokerError
    from adapters.brokers.binance.signing import signer_for
    from entrypoints.credentials import CredentialsError, resolve_credentials

    config = binance_config(settings)
    try:
        api_key, secret = resolve_credentials("binance")
        credentials = ApiCredentials(api_key=api_key, signer=signer_for(secret.reveal()))
    except (CredentialsError, ValueError) as error:
        raise ConfigError(f"[broker] binance: {error}") from None
    broker = BinanceBroker(
        config,
        credentials,
        publish=publish,
        instruments={iid: instruments[iid] for iid in instruments},
        clock=clock,
    )
    try:
        broker.start_session()
    except BinanceBrokerError as error:
        broker.close()
        raise ConfigError(f"[broker] binance: {error}") from None
    return broker


def starting_balances(settings: Settings, broker: ReconcilableBroker) -> Mapping[str, Decimal]:
    """``[account] balances`` on paper; a networked venue's own account otherwise."""
    balances = getattr(broker, "balances", None)
    if not isinstance(broker, ConnectedBroker) or balances is None:
        return settings.balances
    return dict(balances())


def describe(settings: Settings, broker: ReconcilableBroker) -> str:
    """One line for the start of a run: which broker, which environment, which account."""
    if isinstance(broker, PaperBroker):
        config = broker.config
        account = (
            f"margin account, short selling up to {config.max_leverage} × equity"
            if config.margin
            else "spot account, no short selling"
        )
        return f"broker: {broker.name} ({account}; simulated venue: no real order is sent anywhere)"
    if not isinstance(broker, ConnectedBroker):
        return f"broker: {broker.name} (simulated venue: no real order is sent anywhere)"
    health = broker.health()
    return f"broker: {health.name}, environment {health.environment}, account {health.account}"


def live_banner(settings: Settings, broker: ReconcilableBroker) -> str | None:
    """A banner no one can miss when real funds are at stake; None otherwise."""
    if not isinstance(broker, ConnectedBroker) or broker.health().environment != "live":
        return None
    line = f"LIVE TRADING with real funds on {broker.health().name}: account {broker.health().account}"
    bar = "!" * (len(line) + 4)
    return f"{bar}\n! {line} !\n{bar}"


def broker_closer(broker: ReconcilableBroker) -> Callable[[], None] | None:
    """What releases a networked broker's connections once the engine is closed, if it holds any.

    A Binance broker exists only once its module is loaded: looking for the class there keeps
    a paper engine from importing the Binance client just to learn that it is not one."""
    module = sys.modules.get("adapters.brokers.binance.broker")
    return broker.close if module is not None and isinstance(broker, module.BinanceBroker) else None


def connected(broker: ReconcilableBroker) -> ConnectedBroker | None:
    """The broker itself when it talks to a venue over the network."""
    return broker if isinstance(broker, ConnectedBroker) else None
