"""``tradeplane exchange-sim``: run the local exchange simulator until Ctrl-C.

``--dialect`` picks the venue it speaks: ``binance`` (default), ``coinbase`` (Advanced Trade
market data), ``kraken`` (WebSocket v2), or ``all`` (the three on ``--port``, ``--port+1``,
``--port+2``), each serving the same seeded market.

With ``--trading`` it also serves the venue's trading side (signed REST ``/api/v3/...`` and the
WebSocket API ``/ws-api/v3`` on ``--trading-port``) for one simulated account, trading against
the very market the streams publish. Without ``--api-key`` / ``--api-secret`` a throwaway pair
is generated and printed once: it unlocks nothing but this local simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import signal
import string
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.exchanges.simulator.trading import TradingVenue

_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")
_ASSET = re.compile(r"[A-Z0-9]{1,20}")
_API_KEY = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_DEFAULT_BALANCES = "USDT=100000,BTC=1,ETH=10"
DIALECTS = ("binance", "coinbase", "kraken", "all")


def _symbols(text: str) -> tuple[str, ...]:
    symbols = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    bad = [symbol for symbol in symbols if not _SYMBOL.fullmatch(symbol)]
    if not symbols or bad or len(set(symbols)) != len(symbols):
        raise argparse.ArgumentTypeError(f"must be distinct symbols like BTCUSDT,ETHUSDT (was {text!r})")
    return symbols


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1 (was {text!r})") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (was {text})")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (was {text!r})") from None
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must not be negative (was {text})")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535 (was {text!r})")
    return int(text)


def _balances(text: str) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for part in (part.strip() for part in text.split(",")):
        asset, _, amount = part.partition("=")
        asset = asset.strip().upper()
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = Decimal("NaN")
        if not _ASSET.fullmatch(asset) or not value.is_finite() or value < 0 or asset in balances:
            raise argparse.ArgumentTypeError(
                f"must be distinct ASSET=AMOUNT pairs, amounts >= 0, like USDT=100000,BTC=1 (was {text!r})"
            )
        balances[asset] = value
    return balances


def _commission(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"must be a number like 0.001 (was {text!r})") from None
    if not value.is_finite() or not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1 (was {text})")
    return value


def _api_key(text: str) -> str:
    if not _API_KEY.fullmatch(text):
        raise argparse.ArgumentTypeError("must be 1-128 characters of letters, digits and ._~-")
    return text


def _throwaway_credential() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(64))


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Register ``exchange-sim`` on the ``tradeplane`` command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "exchange-sim",
        help="run a local exchange simulator (Binance, Coinbase or Kraken dialect)",
        description=(
            "Serve a simulated market until Ctrl-C. binance: WebSocket (/stream?streams=..., "
            "/ws/<stream>) and REST (/api/v3/depth); coinbase: Advanced Trade WebSocket on any path "
            "and REST /api/v3/brokerage/market/products/<id>; kraken: WebSocket v2 on /v2; all: the "
            "three on --port, --port+1 and --port+2. Every dialect serves the same seeded market."
        ),
    )
    parser.add_argument(
        "--dialect", choices=DIALECTS, default="binance", help="the venue protocol to speak (default binance)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=_port, default=9001, help="port to bind, 0 for any free one")
    parser.add_argument(
        "--symbols",
        type=_symbols,
        default=("BTCUSDT", "ETHUSDT"),
        help=(
            "comma-separated, always in Binance form (BTCUSDT,ETHUSDT); coinbase serves them as "
            "BTC-USD,ETH-USD and kraken as BTC/USD,ETH/USD (a USDT quote is served as USD), walking "
            "exactly like the Binance symbols"
        ),
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the random walk (and of faults)")
    parser.add_argument(
        "--rate", type=_non_negative, default=50.0, help="market steps per second, 0 = unpaced"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--record", type=Path, metavar="FILE", help="also write every frame sent to FILE (JSON lines)"
    )
    source.add_argument(
        "--replay", type=Path, metavar="FILE", help="replay a recording instead of a random walk"
    )
    faults = parser.add_argument_group("faults (probabilities per market step)")
    faults.add_argument("--garbage-prob", type=_probability, default=0.0, help="send a malformed frame")
    faults.add_argument(
        "--gap-prob", type=_probability, default=0.0, help="skip a depth update (sequence gap)"
    )
    faults.add_argument("--drop-prob", type=_probability, default=0.0, help="drop every connection")
    faults.add_argument("--silence-prob", type=_probability, default=0.0, help="go silent (see --silence)")
    faults.add_argument(
        "--silence", type=_non_negative, default=2.0, metavar="SECONDS", help="length of a silence"
    )
    parser.add_argument(
        "--ping-interval", type=_non_negative, default=20.0, help="server ping period, 0 = off"
    )
    parser.add_argument(
        "--max-connection-age",
        type=_non_negative,
        default=0.0,
        help="cut connections this old (s), 0 = never",
    )
    trading = parser.add_argument_group("trading side (one simulated account)")
    trading.add_argument(
        "--trading",
        action="store_true",
        help="also serve signed REST /api/v3 and the WebSocket API /ws-api/v3",
    )
    trading.add_argument(
        "--trading-port", type=_port, default=9002, help="port of the trading side, 0 for any free one"
    )
    trading.add_argument("--api-key", type=_api_key, help="the account's API key (default: a generated one)")
    trading.add_argument(
        "--api-secret",
        help="its HMAC secret, or an Ed25519 public key in PEM (default: generated with the key)",
    )
    trading.add_argument(
        "--balances",
        type=_balances,
        default=_balances(_DEFAULT_BALANCES),
        metavar="ASSET=AMOUNT,...",
        help=f"the account's starting free balances (default {_DEFAULT_BALANCES})",
    )
    trading.add_argument(
        "--commission",
        type=_commission,
        default=Decimal("0.001"),
        help="maker and taker rate (default 0.001)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(handler=run_exchange_sim)
    return parser


def run_exchange_sim(args: argparse.Namespace) -> int:
    """The subcommand's handler: serve until SIGINT/SIGTERM, then stop cleanly."""
    problem = _dialect_problem(args) or _trading_problem(args)
    if problem:
        print(f"exchange-sim: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.dialect != "binance":
        return asyncio.run(_serve_dialects(args))
    return asyncio.run(_serve(args))


def _dialect_problem(args: argparse.Namespace) -> str | None:
    """What the chosen dialect cannot do, if anything."""
    from adapters.exchanges.simulator.venue_symbols import from_binance_style, parse_venue_symbols

    if args.dialect == "binance":
        return None
    for flag, given in (("--trading", args.trading), ("--record", args.record), ("--replay", args.replay)):
        if given:
            return f"{flag} is served by the binance dialect only (not --dialect {args.dialect})"
    try:
        for separator in ("-", "/"):
            parse_venue_symbols([from_binance_style(s, separator) for s in args.symbols], separator)
    except ValueError as exc:
        return f"--symbols: {exc}"
    if args.dialect == "all" and args.port and args.port > 65533:
        return "--dialect all needs --port, --port+1 and --port+2 (at most 65533)"
    return None


def _trading_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the trading flags, if anything."""
    given = [
        flag for flag, value in (("--api-key", args.api_key), ("--api-secret", args.api_secret)) if value
    ]
    if given and not args.trading:
        return f"{' and '.join(given)} need --trading"
    if len(given) == 1:
        return "--api-key and --api-secret go together (give both, or neither for a generated pair)"
    return None


async def _serve(args: argparse.Namespace) -> int:
    from adapters.exchanges.simulator.market import RandomWalkMarket
    from adapters.exchanges.simulator.recording import FrameRecorder, RecordedMarket
    from adapters.exchanges.simulator.server import ExchangeSimulator, MarketSource
    from adapters.exchanges.simulator.trading import TradingVenue

    market: MarketSource
    try:
        market = RecordedMarket(args.replay) if args.replay else RandomWalkMarket(args.symbols, args.seed)
    except (OSError, ValueError) as exc:
        print(f"exchange-sim: cannot replay {args.replay}: {exc}", file=sys.stderr)
        return 2
    venue: TradingVenue | None = None
    generated: tuple[str, str] | None = None
    if args.trading:
        api_key, api_secret = args.api_key, args.api_secret
        if api_key is None:
            api_key, api_secret = generated = (_throwaway_credential(), _throwaway_credential())
        try:
            venue = TradingVenue(
                market,
                api_key=api_key,
                api_secret=api_secret,
                balances=args.balances,
                maker_commission=args.commission,
                taker_commission=args.commission,
                seed=args.seed,
                ping_interval=args.ping_interval or None,
            )
        except ValueError as exc:
            print(f"exchange-sim: cannot set up the trading side: {exc}", file=sys.stderr)
            return 2
        market = venue.market
    recorder = FrameRecorder(args.record) if args.record else None
    if recorder is not None:
        for symbol in market.symbols:
            recorder.write_snapshot(symbol, market.snapshot(symbol, 5000))
    simulator = ExchangeSimulator(
        market,
        host=args.host,
        port=args.port,
        seed=args.seed,
        rate=args.rate,
        garbage_prob=args.garbage_prob,
        gap_prob=args.gap_prob,
        drop_prob=args.drop_prob,
        silence_prob=args.silence_prob,
        silence_seconds=args.silence,
        ping_interval=args.ping_interval or None,
        max_connection_age=args.max_connection_age or None,
        recorder=recorder,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        port = await simulator.start()
    except OSError as exc:
        print(f"exchange-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        streams = "/".join(f"{s.lower()}@trade" for s in market.symbols)
        source = f"replaying {args.replay}" if args.replay else f"seed {args.seed}"
        print(
            f"exchange-sim listening on ws://{args.host}:{port}/stream?streams={streams} "
            f"and http://{args.host}:{port}/api/v3/depth ({','.join(market.symbols)}; {source}; "
            f"{args.rate:g} steps/s) - Ctrl-C to stop",
            flush=True,
        )
        if venue is not None:
            try:
                await venue.start(args.host, args.trading_port)
            except OSError as exc:
                print(
                    f"exchange-sim: cannot listen on {args.host}:{args.trading_port}: {exc}", file=sys.stderr
                )
                return 1
            _announce_trading(venue, args, generated)
        await stop.wait()
    finally:
        if venue is not None:
            await venue.stop()
        await simulator.stop()
        if recorder is not None:
            recorder.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0


async def _serve_dialects(args: argparse.Namespace) -> int:
    """Serve coinbase, kraken, or all three dialects (one port each), until SIGINT/SIGTERM."""
    from adapters.exchanges.simulator.coinbase import CoinbaseSimulator
    from adapters.exchanges.simulator.kraken import KrakenSimulator
    from adapters.exchanges.simulator.server import ExchangeSimulator
    from adapters.exchanges.simulator.venue_symbols import from_binance_style

    names = ("binance", "coinbase", "kraken") if args.dialect == "all" else (args.dialect,)
    faults = {"p_drop": args.drop_prob, "p_garbage": args.garbage_prob, "p_silence": args.silence_prob}
    common = {"seed": args.seed, "rate": args.rate, "host": args.host, "silence_seconds": args.silence}
    servers: list[tuple[str, ExchangeSimulator | CoinbaseSimulator | KrakenSimulator]] = []
    for offset, name in enumerate(names):
        port = args.port + offset if args.port else 0
        if name == "binance":
            servers.append(
                (
                    name,
                    ExchangeSimulator(
                        symbols=args.symbols,
                        port=port,
                        gap_prob=args.gap_prob,
                        garbage_prob=args.garbage_prob,
                        drop_prob=args.drop_prob,
                        silence_prob=args.silence_prob,
                        ping_interval=args.ping_interval or None,
                        max_connection_age=args.max_connection_age or None,
                        **common,
                    ),
                )
            )
        elif name == "coinbase":
            products = [from_binance_style(s, "-") for s in args.symbols]
            servers.append(
                (
                    name,
                    CoinbaseSimulator(products, port=port, p_skip_sequence=args.gap_prob, **faults, **common),
                )
            )
        else:
            pairs = [from_binance_style(s, "/") for s in args.symbols]
            servers.append(
                (name, KrakenSimulator(pairs, port=port, p_drop_update=args.gap_prob, **faults, **common))
            )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started: list[ExchangeSimulator | CoinbaseSimulator | KrakenSimulator] = []
    try:
        for name, server in servers:
            try:
                await server.start()
            except OSError as exc:
                print(f"exchange-sim: cannot listen for {name} on {args.host}: {exc}", file=sys.stderr)
                return 1
            started.append(server)
            print(
                f"exchange-sim {name} listening on {_urls(name, server)} (seed {args.seed}; "
                f"{args.rate:g} steps/s) - Ctrl-C to stop",
                flush=True,
            )
        await stop.wait()
    finally:
        for server in started:
            await server.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0


def _urls(name: str, server: Any) -> str:
    """Where a started dialect serves its streams (and its REST side, when it has one)."""
    if name == "binance":
        streams = "/".join(f"{s.lower()}@trade" for s in server.market.symbols)
        return f"{server.ws_url}/stream?streams={streams} and {server.rest_url}/api/v3/depth"
    if name == "coinbase":
        return f"{server.ws_url} and {server.rest_url}/api/v3/brokerage/market/products/<product_id>"
    return str(server.ws_url)


def _announce_trading(
    venue: TradingVenue, args: argparse.Namespace, generated: tuple[str, str] | None
) -> None:
    balances = ",".join(f"{asset}={amount}" for asset, amount in args.balances.items())
    print(
        f"exchange-sim trading on {venue.rest_url}/api/v3 and {venue.ws_api_url} "
        f"(balances {balances}; commission {args.commission})",
        flush=True,
    )
    if generated is not None:
        # A throwaway pair that unlocks only this local simulator: printed once, so a client can use it.
        api_key, api_secret = generated
        print(
            f"exchange-sim generated a throwaway account: api key {api_key} api secret {api_secret}",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand alone: ``python -m entrypoints.commands.exchange_sim --port 9001``."""
    parser = argparse.ArgumentParser(prog="tradeplane")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["exchange-sim", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
