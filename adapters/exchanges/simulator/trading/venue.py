"""``TradingVenue``: the simulated venue's trading side on one aiohttp port (REST and WebSocket API).

It watches the same market the market-data simulator publishes (hand ``venue.market`` to
``ExchangeSimulator``), so the account's orders fill at the prices the streams show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from adapters.exchanges.simulator.market import MarketFrame, MarketSource
from adapters.exchanges.simulator.trading.accounts import Account
from adapters.exchanges.simulator.trading.api import TradingApi
from adapters.exchanges.simulator.trading.auth import Authenticator
from adapters.exchanges.simulator.trading.faults import TradingFaults
from adapters.exchanges.simulator.trading.filters import SymbolFilters, has_precision, split_symbol
from adapters.exchanges.simulator.trading.limits import RateLimiter, VenueLimits
from adapters.exchanges.simulator.trading.matching import MatchingEngine, SymbolSpec
from adapters.exchanges.simulator.trading.observed import ObservedMarket
from adapters.exchanges.simulator.trading.order_params import parse_order
from adapters.exchanges.simulator.trading.params import Params
from adapters.exchanges.simulator.trading.rest import RestApi
from adapters.exchanges.simulator.trading.stats import Counters, VenueStats
from adapters.exchanges.simulator.trading.user_stream import UserStreams
from adapters.exchanges.simulator.trading.ws_api import PATH, WsApi

_log = logging.getLogger(__name__)

_DEFAULT_COMMISSION = Decimal("0.001")


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class TradingVenue:
    """One account on a simulated Binance Spot venue: ``await start()``, trade, ``await stop()``.

    ``api_secret`` is the HMAC secret, or an Ed25519 public key (PEM) for an Ed25519 key.
    ``filters`` default, per symbol, to rules read off the market's book. ``clock`` returns
    the venue's time in ms (default: the wall clock); ``faults.skew_clock`` shifts it.
    ``assets`` names (base, quote) of symbols whose name does not tell them.
    """

    def __init__(
        self,
        market: MarketSource,
        *,
        api_key: str,
        api_secret: str,
        balances: Mapping[str, Decimal],
        filters: Mapping[str, SymbolFilters] | None = None,
        maker_commission: Decimal = _DEFAULT_COMMISSION,
        taker_commission: Decimal = _DEFAULT_COMMISSION,
        limits: VenueLimits | None = None,
        seed: int = 7,
        clock: Callable[[], int] | None = None,
        assets: Mapping[str, tuple[str, str]] | None = None,
        ping_interval: float | None = 20.0,
    ) -> None:
        for name, rate in (("maker_commission", maker_commission), ("taker_commission", taker_commission)):
            if (
                not isinstance(rate, Decimal)
                or not rate.is_finite()
                or not 0 <= rate < 1
                or not has_precision(rate)
            ):
                raise ValueError(f"{name} must be a Decimal in [0, 1) with at most 8 decimals, was {rate!r}")
        unknown = set(filters or {}) - set(market.symbols)
        if unknown:
            raise ValueError(f"filters name symbols the market does not have: {sorted(unknown)}")
        self._wall = clock if clock is not None else _wall_clock_ms
        self.faults = TradingFaults(self._drop_user_streams)
        self._counters = Counters()
        specs = {
            symbol: _spec(symbol, market, (filters or {}).get(symbol), (assets or {}).get(symbol))
            for symbol in market.symbols
        }
        every_asset = {asset for spec in specs.values() for asset in (spec.base_asset, spec.quote_asset)}
        self._streams = UserStreams(self.faults)
        self._engine = MatchingEngine(
            market=market,
            specs=specs,
            account=Account({asset: _amount(asset, value) for asset, value in balances.items()}, every_asset),
            maker_commission=maker_commission,
            taker_commission=taker_commission,
            now_ms=self.now_ms,
            publish=self._streams.publish,
            seed=seed,
        )
        self.market: MarketSource = ObservedMarket(market, self._observe)
        self._limiter = RateLimiter(limits or VenueLimits(), self._wall, self.faults.take_rate_limit)
        self._auth = Authenticator(api_key, api_secret, self.now_ms)
        self._api = TradingApi(
            engine=self._engine,
            limiter=self._limiter,
            counters=self._counters,
            now_ms=self.now_ms,
            uid=random.Random(f"{seed}:uid").randint(100_000_000, 999_999_999),
        )
        self._rest = RestApi(
            api=self._api, auth=self._auth, limiter=self._limiter, faults=self.faults, counters=self._counters
        )
        self._ws = WsApi(
            api=self._api,
            auth=self._auth,
            limiter=self._limiter,
            faults=self.faults,
            streams=self._streams,
            counters=self._counters,
            now_ms=self.now_ms,
            ping_interval=ping_interval,
        )
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind and serve; returns the bound port (``port=0`` picks a free one)."""
        if self._runner is not None:
            return self.port
        app = web.Application()
        self._rest.add_routes(app)
        self._ws.add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host = host
        self.port = int(runner.addresses[0][1])
        self._streams.start()
        _log.info("trading venue listening on %s and %s", self.rest_url, self.ws_api_url)
        return self.port

    async def stop(self) -> None:
        """Close every session (1001), stop the user data stream and the server."""
        if self._runner is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ws.close_all(), timeout=1.0)
        self._ws.drop_all(fault=False)
        await self._streams.stop()
        await self._runner.cleanup()
        self._runner = None

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_api_url(self) -> str:
        return f"ws://{self.host}:{self.port}{PATH}"

    def now_ms(self) -> int:
        """The venue's clock (with any skew a test set): serverTime, timestamps, event times."""
        return self._wall() + self.faults.clock_skew_ms

    # -- what tests observe ------------------------------------------------------------

    def orders(self) -> list[dict[str, Any]]:
        """Every order of the account, oldest first, in the shape of ``GET /api/v3/order``."""
        return [order.query() for order in self._engine.ledger.every_order()]

    def trades(self) -> list[dict[str, Any]]:
        """Every trade of the account, in the order they happened, as ``myTrades`` rows."""
        return [trade.order.trade_row(trade.fill) for trade in self._engine.ledger.every_trade()]

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked)."""
        return self._engine.account.snapshot()

    @property
    def filters(self) -> dict[str, SymbolFilters]:
        """The rules of each symbol, as exchangeInfo publishes them."""
        return {symbol: spec.filters for symbol, spec in self._engine.specs.items()}

    def locked_by_open_orders(self) -> dict[str, Decimal]:
        """asset -> what the open orders still lock of it (the account's ``locked`` must equal it)."""
        held: dict[str, Decimal] = {}
        for order in self._engine.ledger.open_orders():
            held[order.lock_asset] = held.get(order.lock_asset, Decimal(0)) + order.locked
        return held

    @property
    def stats(self) -> VenueStats:
        counters = self._counters
        return VenueStats(
            requests=counters.requests,
            rejected_signatures=self._auth.rejected_signatures,
            rate_limited=self._limiter.rate_limited,
            banned=self._limiter.banned,
            orders_placed=counters.orders_placed,
            orders_rejected=counters.orders_rejected,
            reports_sent=self._streams.reports_sent,
            events_sent=self._streams.events_sent,
            responses_lost=counters.responses_lost,
            responses_failed=counters.responses_failed,
            ws_connections=len(self._ws.sessions),
            ws_connections_opened=counters.ws_connections_opened,
            user_streams_dropped=counters.user_streams_dropped,
            subscriptions=self._streams.subscribers,
        )

    # -- acting outside the API ----------------------------------------------------------

    def place_external_order(  # noqa: PLR0917 - an order reads symbol, side, type, quantity, price
        self,
        symbol: str,
        side: str,
        type: str,
        quantity: Decimal | str | None = None,
        price: Decimal | str | None = None,
        client_order_id: str | None = None,
        *,
        time_in_force: str | None = None,
        stop_price: Decimal | str | None = None,
        quote_order_qty: Decimal | str | None = None,
    ) -> dict[str, Any]:
        """Place an order as if from another application on the same account (no signature, not
        counted against the order limits); it reports like any. Returns the order as
        ``GET /api/v3/order`` shows it; a refusal raises ``VenueError`` with the venue's code.

        A LIMIT order without ``time_in_force`` is GTC.
        """
        if type in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT") and time_in_force is None:
            time_in_force = "GTC"
        values = {
            "symbol": symbol,
            "side": side,
            "type": type,
            "quantity": quantity,
            "price": price,
            "newClientOrderId": client_order_id,
            "timeInForce": time_in_force,
            "stopPrice": stop_price,
            "quoteOrderQty": quote_order_qty,
        }
        params = Params({name: _text(name, value) for name, value in values.items() if value is not None})
        request = parse_order(params, self._engine.specs)
        order, _ = self._api.place_order(request, external=True)
        return order.query()

    def cancel_external_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> dict[str, Any]:
        """Cancel an open order as if from another application on the same account; it reports like
        any. Returns the canceled order; an unknown or closed one raises ``VenueError`` (-2011)."""
        order, _ = self._engine.cancel(symbol, order_id=order_id, client_order_id=client_order_id)
        return order.query()

    def _observe(self, frames: list[MarketFrame]) -> None:
        """The market stepped. A failure here is the venue's bug: logged, never allowed to stop
        the market-data simulator that steps the market."""
        try:
            self._engine.observe(frames)
        except Exception:
            _log.exception("trading venue failed to observe a market step")

    def _drop_user_streams(self) -> int:
        return self._ws.drop_all()


def _spec(
    symbol: str, market: MarketSource, filters: SymbolFilters | None, assets: tuple[str, str] | None
) -> SymbolSpec:
    base, quote = assets if assets is not None else split_symbol(symbol)
    if filters is None:
        try:
            filters = SymbolFilters.from_book(market.book(symbol))
        except (KeyError, ValueError):
            filters = SymbolFilters()
    return SymbolSpec(symbol, base, quote, filters)


def _amount(asset: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValueError(f"the balance of {asset} must be a Decimal (never a float), was {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise ValueError(f"the balance of {asset} is not a number: {value!r}") from None


def _text(name: str, value: object) -> str:
    if isinstance(value, float):
        raise ValueError(f"{name} must be a Decimal or a string, never a float (was {value!r})")
    return str(value)
