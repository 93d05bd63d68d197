"""``tradeplane demo``: everything offline — simulator, engine, SMA crossover, paper broker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from entrypoints import brokers, operations
from entrypoints.commands.demo_venue import VENUES, DemoVenue, start_demo_venue
from entrypoints.config import (
    ConfigError,
    GrpcSettings,
    LoggingSettings,
    Settings,
    check_listen,
    parse_settings,
)
from entrypoints.container import App, bootstrap
from entrypoints.foreground import run_engine
from entrypoints.gc_tuning import tune_gc
from entrypoints.grpc import launch
from entrypoints.grpc.auth import new_token
from entrypoints.grpc.server import GrpcServer
from entrypoints.logs import Console, configure_logging
from entrypoints.storage import where_state_lives
from entrypoints.validation import validate
from entrypoints.web import serve as web_gateway
from entrypoints.web.serve import RunningGateway

log = logging.getLogger("tradeplane.demo")


@dataclass(frozen=True, slots=True)
class OtherVenues:
    """Where the demo's Coinbase and Kraken simulators listen (None: that venue is not simulated)."""

    coinbase: tuple[str, str] | None = None
    """WebSocket URL, REST URL."""
    kraken: str | None = None
    """WebSocket URL (its instruments come over the WebSocket too)."""
    binance: bool = True
    """Whether Binance is among the venues (its simulator runs either way)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, present in (
                ("binance", self.binance),
                ("coinbase", self.coinbase is not None),
                ("kraken", self.kraken is not None),
            )
            if present
        )


_SIMULATED_FEED = {
    "use_system_proxy": False,
    "reconnect_initial_delay": 0.2,
    "reconnect_max_delay": 2.0,
    "stale_after": 5.0,
}
_VENUE_FEES = {"COINBASE": ("40", "60"), "KRAKEN": ("25", "40")}
"""Maker and taker fees (bps) of the paper venue per venue: each venue's entry tier."""


def _sma(strategy_id: str, instrument_id: str) -> dict[str, object]:
    return {
        "id": strategy_id,
        "kind": "sma_crossover",
        "instruments": [instrument_id],
        "params": {"fast": 10, "slow": 40},
        "sizing": {"kind": "fixed_quantity", "quantity": "0.05"},
        "allow_short": True,
    }


def _ml(strategy_id: str, instrument_id: str, model: str) -> dict[str, object]:
    """The ML classifier on one-second bars of the simulator's trades, retrained every
    minute in a worker process: the whole live path of a model, in a demo's time scale."""
    return {
        "id": strategy_id,
        "kind": "ml_classifier",
        "instruments": [instrument_id],
        "params": {
            "model": model,
            "threshold": 0.55,
            "bar_seconds": 1,
            "retrain_every": 60,
            "train_window": 100,
        },
        "sizing": {"kind": "fixed_quantity", "quantity": "0.02"},
        "allow_short": True,
    }


def demo_settings(
    ws_url: str,
    rest_url: str,
    *,
    data_dir: str | None = None,
    trading: tuple[str, str] | None = None,
    others: OtherVenues | None = None,
    ml_model: str | None = None,
) -> Settings:
    """A small, lively setup: BTCUSDT from the local simulator, fast SMAs, tight risk.

    With ``data_dir`` the demo keeps its state there (SQLite files: orders, fills, positions,
    signals, market data, and the paper venue's log); without, it keeps nothing. With
    ``trading`` (the simulated venue's REST and WebSocket API URLs) it trades through the Binance
    adapter instead of the paper broker; its instruments and balances then come from that venue.
    With ``others`` it also watches BTC-USDT on simulated Coinbase and Kraken (their instruments
    read from the venues), runs an SMA crossover on each venue, and, with two venues or more, the
    lead-lag strategy: the first venue leads, the last one is traded."""
    others = others if others is not None else OtherVenues()
    storage = {"kind": "memory"} if data_dir is None else {"kind": "sql", "data_dir": data_dir}
    # The SMA demo sells short, so its paper account is a margin one (a spot account would refuse
    # every sale beyond the BTC it holds); the start line says so.
    broker: dict[str, object] = {
        "kind": "paper",
        "maker_fee_bps": "2",
        "taker_fee_bps": "5",
        "account": "margin",
    }
    instrument: dict[str, str] = {
        "id": "BTCUSDT.BINANCE",
        "base": "BTC",
        "quote": "USDT",
        "price_tick": "0.01",
        "lot_size": "0.001",
        "min_quantity": "0.001",
        "min_notional": "5",
    }
    if trading is not None:  # the venue says what the instrument's rules are
        instrument = {"id": "BTCUSDT.BINANCE"}
        broker = {
            "kind": "binance",
            "environment": "testnet",
            "rest_url": trading[0],
            "ws_api_url": trading[1],
            "reconcile_interval_s": 10,
        }
    instruments: list[dict[str, str]] = []
    feeds: dict[str, dict[str, object]] = {}
    strategies: list[dict[str, object]] = []
    traded: list[str] = []
    if others.binance:
        instruments.append(instrument)
        feeds["binance"] = {
            "instrument_ids": ["BTCUSDT.BINANCE"],
            "ws_url": ws_url,
            "rest_url": rest_url,
            **_SIMULATED_FEED,
        }
        strategies.append(_sma("sma-demo", "BTCUSDT.BINANCE"))
        if ml_model is not None:
            strategies.append(_ml("ml-demo", "BTCUSDT.BINANCE", ml_model))
        traded.append("BTCUSDT.BINANCE")
    if others.coinbase is not None:
        instruments.append({"id": "BTC-USDT.COINBASE"})  # tick, lot and minimums from the venue
        feeds["coinbase"] = {
            "instrument_ids": ["BTC-USDT.COINBASE"],
            "ws_url": others.coinbase[0],
            "rest_url": others.coinbase[1],
            **_SIMULATED_FEED,
        }
        strategies.append(_sma("sma-coinbase", "BTC-USDT.COINBASE"))
        traded.append("BTC-USDT.COINBASE")
    if others.kraken is not None:
        instruments.append({"id": "BTC-USDT.KRAKEN"})  # read from the venue's instrument channel
        feeds["kraken"] = {"instrument_ids": ["BTC-USDT.KRAKEN"], "ws_url": others.kraken, **_SIMULATED_FEED}
        strategies.append(_sma("sma-kraken", "BTC-USDT.KRAKEN"))
        traded.append("BTC-USDT.KRAKEN")
    if len(traded) > 1:
        strategies.append(
            {
                "id": "lead-lag",
                "kind": "lead_lag",
                "instruments": [traded[0], traded[-1]],
                "params": {"leader": traded[0], "threshold_bps": 1, "lookback": 5},
                "sizing": {"kind": "fixed_quantity", "quantity": "0.05"},
                "allow_short": True,
            }
        )
    if trading is None and len(traded) > 1:
        broker["venues"] = {
            venue: {"maker_fee_bps": maker, "taker_fee_bps": taker}
            for venue, (maker, taker) in _VENUE_FEES.items()
            if any(i.endswith(f".{venue}") for i in traded)
        }
    return parse_settings(
        {
            "storage": storage,
            "engine": {"name": "tradeplane-demo", "order_id_prefix": "DEMO", "status_interval_s": 3.0},
            "account": {"balances": {"USDT": "100000"}},
            "instruments": instruments,
            "feeds": feeds,
            "broker": broker,
            "strategies": strategies,
            "risk": {
                "max_order_quantity": "0.5",
                "max_position_quantity": "0.2",
                "max_open_orders": 10,
                "max_orders_per_window": 600,  # room for manual orders over gRPC beside the strategy
                "window_ns": 60_000_000_000,
                "max_data_age_ns": 5_000_000_000,
                "price_band_fraction": "0.05",
                "daily_loss_limit": "5000",
                "max_drawdown_fraction": "0.2",
            },
            "stops": {"stop_loss_fraction": "0.01"},
            **({"grpc": {"backtest_data_dir": str(EXAMPLE_HISTORY)}} if EXAMPLE_HISTORY.is_dir() else {}),
            # The model's folder is where its retrained successors go, and what the API lists.
            **({"ml": {"models_dir": str(Path(ml_model).parent)}} if ml_model is not None else {}),
        },
        source="<demo>",
    )


DEMO_METRICS = "127.0.0.1:9464"
"""Where the demo serves Prometheus metrics unless told otherwise (Prometheus's usual port for it)."""
DEMO_WEB = "127.0.0.1:8051"
"""Where the demo serves the web console unless told otherwise."""
EXAMPLE_HISTORY = Path(__file__).resolve().parents[2] / "docs" / "examples" / "history"
"""The sample Binance and Coinbase files of a checkout: what the demo's backtests may read."""

_NOT_STARTED_WS = "ws://127.0.0.1:1"
_NOT_STARTED_HTTP = "http://127.0.0.1:1"
"""Stand-ins for the simulator's addresses, to check the demo's settings before it starts."""


def _planned_venues(venues: tuple[str, ...]) -> OtherVenues:
    return OtherVenues(
        coinbase=(_NOT_STARTED_WS, _NOT_STARTED_HTTP) if "coinbase" in venues else None,
        kraken=_NOT_STARTED_WS if "kraken" in venues else None,
        binance="binance" in venues,
    )


def _started_venues(venue: DemoVenue, venues: tuple[str, ...]) -> OtherVenues:
    coinbase, kraken = venue.coinbase, venue.kraken
    return OtherVenues(
        coinbase=None if coinbase is None else (coinbase.ws_url, coinbase.rest_url),
        kraken=None if kraken is None else kraken.ws_url,
        binance="binance" in venues,
    )


def preflight(
    args: argparse.Namespace | None,
    *,
    data_dir: str | None,
    binance: bool,
    venues: tuple[str, ...] = ("binance",),
) -> tuple[GrpcSettings | None, str | None]:
    """Everything checkable offline, before the simulator starts or a file opens: the settings,
    the control plane's address (free?) and the admin token of the environment, if any."""
    if binance and venues != ("binance",):
        raise ConfigError(
            "--broker binance trades on Binance only: leave --venues out, or use the paper broker"
        )
    trading = (_NOT_STARTED_HTTP, _NOT_STARTED_WS) if binance else None  # REST, then WebSocket API
    planned = demo_settings(
        _NOT_STARTED_WS,
        _NOT_STARTED_HTTP,
        data_dir=data_dir,
        trading=trading,
        others=_planned_venues(venues),
        ml_model=_ml_model(args),
    )
    validate(planned)
    if args is not None:
        operations.with_metrics_options(planned, args)  # checked, and its port free
    grpc = launch.grpc_settings(planned, args) if args is not None else None
    env_token = launch.admin_token_from_env()
    if grpc is not None:
        launch.check_port_free(grpc.listen)
    return grpc, env_token


def _announce(console: Console, venue: DemoVenue, venues: tuple[str, ...], *, seed: int, rate: float) -> None:
    """Say where each simulated venue listens."""
    simulator = venue.simulator
    if "binance" in venues:
        console.say(
            f"exchange simulator on {simulator.ws_url} (seed {seed}, {rate:g} steps/s)",
            logger="tradeplane.demo",
            simulator=simulator.ws_url,
        )
    if venue.coinbase is not None:
        console.say(
            f"Coinbase simulator on {venue.coinbase.ws_url} (same seeded market, Coinbase's protocol)",
            logger="tradeplane.demo",
            simulator=venue.coinbase.ws_url,
        )
    if venue.kraken is not None:
        console.say(
            f"Kraken simulator on {venue.kraken.ws_url} (same seeded market, Kraken's v2 protocol)",
            logger="tradeplane.demo",
            simulator=venue.kraken.ws_url,
        )


def _trading_venue(console: Console, venue: DemoVenue) -> tuple[str, str] | None:
    """The simulated Binance trading venue's REST and WebSocket API URLs, its key in the
    environment (the way containers give theirs); None without one."""
    if venue.trading is None:
        return None
    trading = (venue.trading.rest_url, venue.trading.ws_api_url)
    console.say(
        f"simulated Binance trading venue on {trading[0]} and {trading[1]}",
        logger="tradeplane.demo",
        rest_url=trading[0],
        ws_api_url=trading[1],
    )
    os.environ["TRADEPLANE_BINANCE_API_KEY"] = venue.api_key
    os.environ["TRADEPLANE_BINANCE_API_SECRET"] = venue.api_secret
    return trading


def _what_runs(duration: float | None, venues: tuple[str, ...], *, binance: bool) -> str:
    how_long = f"for {duration:g}s" if duration else "until Ctrl-C"
    how = "the Binance adapter against the simulated venue" if binance else "paper broker"
    what = "SMA crossover on BTCUSDT"
    if len(venues) > 1:
        what = f"SMA crossover on BTC/USDT at {', '.join(venues)}, lead-lag from {venues[0]} to {venues[-1]}"
    elif venues != ("binance",):
        what = f"SMA crossover on BTC/USDT at {venues[0]}"
    return f"engine running {how_long}: {what}, {how}"


async def run_demo(
    duration: float | None,
    *,
    status_interval: float,
    seed: int,
    rate: float,
    args: argparse.Namespace | None = None,
) -> int:
    binance = args is not None and args.broker == "binance"
    venues: tuple[str, ...] = getattr(args, "venues", ("binance",)) if args is not None else ("binance",)
    console = Console(getattr(args, "log_format", "text") if args is not None else "text")
    data_dir = None if args is None or args.memory else str(args.data_dir)
    try:
        grpc, env_token = preflight(args, data_dir=data_dir, binance=binance, venues=venues)
        web = _web_listen(args, grpc)
    except ConfigError as error:
        console.error(f"tradeplane: {error}", logger="tradeplane.demo")
        return 2
    venue = await start_demo_venue(seed=seed, rate=rate, trading=binance, venues=venues)
    simulator = venue.simulator
    _announce(console, venue, venues, seed=seed, rate=rate)
    trading = _trading_venue(console, venue)
    # The trading venue is new each run, so is the account: what a last run kept would not match it.
    reset = trading is not None or (args is not None and args.reset_state)
    others = _started_venues(venue, venues)
    settings = demo_settings(
        simulator.ws_url,
        simulator.rest_url,
        data_dir=data_dir,
        trading=trading,
        others=others,
        ml_model=_ml_model(args),
    )
    if args is not None:
        settings = operations.with_metrics_options(settings, args)
    try:
        app = bootstrap(settings, reset_state=reset)
    except ConfigError as error:
        await venue.stop()
        console.error(f"tradeplane: {error}", logger="tradeplane.demo")
        return 2
    how_to = "--memory" if data_dir is None else "--reset-state starts afresh"
    console.say(f"storage: {where_state_lives(settings.storage)} ({how_to})", logger="tradeplane.demo")
    console.say(brokers.describe(settings, app.broker), logger="tradeplane.demo", broker=app.broker.name)
    try:
        server, gateway = await _serve(
            app, settings, grpc=grpc, env_token=env_token, web=web, console=console
        )
    except ConfigError as error:
        app.close()
        await venue.stop()
        console.error(f"tradeplane: {error}", logger="tradeplane.demo")
        return 2
    tune_gc()
    console.say(_what_runs(duration, venues, binance=binance), logger="tradeplane.demo")
    try:
        async with operations.operations(app, settings, console, grpc=server):
            final = await run_engine(
                app.engine,
                duration=duration,
                status_interval=status_interval,
                cancel_open_orders=True,
                console=console,
            )
    except ConfigError as error:  # the metrics port was taken since the check
        console.error(f"tradeplane: {error}", logger="tradeplane.demo")
        return 2
    finally:
        if gateway is not None:
            await gateway.stop()
        if server is not None:
            await server.stop()
        app.close()
        await venue.stop()
    return 0 if final.handler_errors == 0 else 1


async def _serve(
    app: App,
    settings: Settings,
    *,
    grpc: GrpcSettings | None,
    env_token: str | None,
    web: str | None,
    console: Console,
) -> tuple[GrpcServer | None, RunningGateway | None]:
    """The control plane (unless off) and the console in front of it (unless off).

    The admin token is the environment's or a new one, printed; a new read-only viewer token
    is printed with the console's address, for trying it as a viewer.
    """
    if grpc is None:
        return None, None
    token = env_token or new_token()
    viewer = new_token()
    server = await launch.start_control_plane(
        app, settings, grpc, mode="demo", admin_token=token, viewer_token=viewer
    )
    for line in launch.usage_lines(server, token, from_env=env_token is not None):
        console.say(line, logger="tradeplane.demo")
    if web is None:
        return server, None
    try:
        target = web_gateway.loopback_target(server.address)
        tls = web_gateway.GatewayTls.of(server.settings)
        gateway = await web_gateway.start_gateway(web, target, server.auth.identify, tls)
    except BaseException:
        await server.stop()
        raise
    console.say(
        f"web console on {gateway.url} : log in with the admin token,"
        f" or with this read-only viewer token: {viewer}",
        logger="tradeplane.demo",
        web=gateway.address,
    )
    return server, gateway


def _ml_model(args: argparse.Namespace | None) -> str | None:
    return getattr(args, "ml", None) if args is not None else None


def _web_listen(args: argparse.Namespace | None, grpc: GrpcSettings | None) -> str | None:
    """Where the demo's console listens (checked free); None with --no-web or without gRPC."""
    if args is None or grpc is None or getattr(args, "no_web", True) or not args.web_listen:
        return None
    listen = check_listen(args.web_listen, web_gateway.OPTION)
    launch.check_port_free(listen, "the web console", web_gateway.OPTION, "--no-web")
    return listen


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (was {text!r})") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number (was {text})")
    return value


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo`` on the ``tradeplane`` command line."""
    parser = commands.add_parser("demo", help="run everything offline: simulator, engine, paper broker")
    parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    parser.add_argument("--status-interval", type=_positive, default=3.0, help="seconds between status lines")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated market")
    parser.add_argument("--rate", type=_positive, default=50.0, help="simulated market steps per second")
    parser.add_argument("--log-level", default="WARNING", help="log level: DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "--log-format",
        choices=LoggingSettings.FORMATS,
        default="text",
        help="text for a terminal; json for one JSON object per line on stdout, status lines and"
        " start lines included",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("data/demo"),
        help="where the demo keeps its state",
    )
    parser.add_argument("--memory", action="store_true", help="keep nothing: in-memory stores")
    parser.add_argument(
        "--broker",
        choices=("paper", "binance"),
        default="paper",
        help="paper, or binance: the real Binance adapter against a simulated venue over loopback",
    )
    parser.add_argument(
        "--reset-state",
        action="store_true",
        help="start from a fresh paper account (clears the kept state first)",
    )
    parser.add_argument(
        "--venues",
        type=_venues,
        default=("binance",),
        help=f"comma-separated simulated venues to watch and trade (of {','.join(VENUES)}; default binance)",
    )
    parser.add_argument(
        "--ml",
        default=None,
        metavar="MODEL_DIR",
        help="also run an ML classifier with this model (tradeplane ml train prints its directory) on"
        " one-second bars of BTCUSDT, retrained every 60 bars in a worker process",
    )
    launch.add_arguments(parser)
    operations.add_arguments(parser, default_listen=DEMO_METRICS)
    web_gateway.add_arguments(parser, default_listen=DEMO_WEB)
    parser.set_defaults(handler=_main)


def _venues(text: str) -> tuple[str, ...]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in VENUES]
    if not names or unknown or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"must be distinct venues among {','.join(VENUES)} (was {text!r})")
    return tuple(name for name in VENUES if name in names)


def _main(args: argparse.Namespace) -> int:
    configure_logging(args.log_level, args.log_format)
    if args.duration is not None and args.duration <= 0:
        print("--duration must be positive", file=sys.stderr)
        return 2
    return asyncio.run(
        run_demo(
            args.duration, status_interval=args.status_interval, seed=args.seed, rate=args.rate, args=args
        )
    )
