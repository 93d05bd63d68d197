"""The session start, blocking, before the event loop: is the key good, and what may it trade?

The venue's clock is measured first (every signed request depends on it), then the symbols'
filters and the rate limits are read from ``exchangeInfo``, then the account (which also
proves the key, its secret and its permissions) and each symbol's commission rates. Every
failure becomes one ``BinanceBrokerError`` an operator can act on: the key refused, the venue
unreachable, a symbol it does not list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.brokers.binance.errors import (
    KEY_REFUSED_CODES,
    BinanceBrokerError,
    MalformedPayload,
    RateLimitBlocked,
    TransportError,
    VenueError,
)
from adapters.brokers.binance.instruments import SymbolRules, fetch_exchange_info
from adapters.brokers.binance.rest import SyncRestClient
from domain.errors import InvalidValue
from domain.values import exact_add, non_negative

log = logging.getLogger("tradeplane.broker.binance")

ACCOUNT_WEIGHT = 20
COMMISSION_WEIGHT = 20


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """Which account the key opens (for the banner and ``health``)."""

    uid: str
    account_type: str
    can_trade: bool


@dataclass(frozen=True, slots=True)
class Session:
    """What the session start learnt."""

    rules: dict[str, SymbolRules]
    account: AccountInfo
    commission_rates: dict[str, tuple[Decimal, Decimal]]
    """Per symbol, the account's (maker, taker) rates."""


def open_session(client: SyncRestClient, symbols: Sequence[str], *, key_hint: str, rest_url: str) -> Session:
    """Clock, symbols and limits, account and commissions (see the module docstring)."""
    if not symbols:
        raise BinanceBrokerError("no instrument on BINANCE to trade")
    try:
        client.sync_clock()
        info = fetch_exchange_info(client, symbols)
        missing = [symbol for symbol in symbols if symbol not in info.rules]
        if missing:
            raise BinanceBrokerError(f"the venue does not list {', '.join(missing)}")
        client.core.limiter.configure(info.rate_limits)
        account = account_info(client.request("GET", "/api/v3/account", signed=True, weight=ACCOUNT_WEIGHT))
        if not account.can_trade:
            raise BinanceBrokerError(f"the account of key {key_hint} cannot trade (canTrade is false)")
        rates = {}
        for symbol in symbols:
            rate = _commission(client, symbol)
            if rate is not None:
                rates[symbol] = rate
    except VenueError as error:
        if error.code in KEY_REFUSED_CODES or error.status in (401, 403):
            raise BinanceBrokerError(
                f"the venue refused the API key {key_hint}: {error}"
                " (check the key, its secret, its IP restriction and its trading permission)"
            ) from None
        raise BinanceBrokerError(f"the venue refused the session start: {error}") from None
    except TransportError as error:
        raise BinanceBrokerError(f"cannot reach the venue at {rest_url}: {error}") from None
    except RateLimitBlocked as error:
        raise BinanceBrokerError(str(error)) from None
    except MalformedPayload as error:
        raise BinanceBrokerError(f"the venue's answer could not be read: {error}") from None
    return Session({symbol: info.rules[symbol] for symbol in symbols}, account, rates)


def _commission(client: SyncRestClient, symbol: str) -> tuple[Decimal, Decimal] | None:
    try:
        body = client.request(
            "GET", "/api/v3/account/commission", [("symbol", symbol)], signed=True, weight=COMMISSION_WEIGHT
        )
    except VenueError as error:
        if error.code in KEY_REFUSED_CODES or error.status in (401, 403):
            raise
        log.warning("binance: the commission rates of %s could not be read: %s", symbol, error)
        return None
    standard = body.get("standardCommission") if isinstance(body, dict) else None
    if not isinstance(standard, dict):
        return None
    try:
        return non_negative(standard.get("maker", "0"), "maker"), non_negative(
            standard.get("taker", "0"), "taker"
        )
    except InvalidValue as error:
        raise MalformedPayload(f"commission of {symbol}: {error}", standard) from None


def account_info(body: Any) -> AccountInfo:
    if not isinstance(body, dict):
        raise MalformedPayload("the account must be an object", body)
    uid = body.get("uid")
    return AccountInfo(
        uid=str(uid) if uid is not None else "?",
        account_type=str(body.get("accountType", "SPOT")),
        can_trade=body.get("canTrade", True) is not False,
    )


def read_balances(client: SyncRestClient) -> dict[str, Decimal]:
    """Each asset's total (free + locked) from ``GET /api/v3/account``; zero ones left out."""
    try:
        body = client.request("GET", "/api/v3/account", signed=True, weight=ACCOUNT_WEIGHT)
    except (VenueError, TransportError, RateLimitBlocked) as error:
        raise BinanceBrokerError(f"the account's balances could not be read: {error}") from None
    if not isinstance(body, dict) or not isinstance(body.get("balances"), list):
        raise BinanceBrokerError("the account's balances could not be read: no balances list")
    totals: dict[str, Decimal] = {}
    for entry in body["balances"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("asset"), str):
            raise BinanceBrokerError("the account's balances could not be read: an entry lacks its asset")
        try:
            free = non_negative(entry.get("free", "0"), "free")
            locked = non_negative(entry.get("locked", "0"), "locked")
        except InvalidValue as error:
            raise BinanceBrokerError(
                f"the account's balance of {entry['asset']} could not be read: {error}"
            ) from None
        total = exact_add(free, locked)
        if total:
            totals[entry["asset"]] = total
    return totals
