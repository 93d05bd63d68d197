"""Venue payloads as Binance sends them (strings for decimals, ms for times), with overrides."""

from __future__ import annotations

from typing import Any

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
T0_MS = 1_700_000_000_000


def symbol_info(
    symbol: str = "BTCUSDT", base: str = "BTC", quote: str = "USDT", **overrides: Any
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": quote,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.00000", "stepSize": "0.00001"},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000",
                "maxQty": "100.00000",
                "stepSize": "0.00000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
    }
    info.update(overrides)
    return info


RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def exchange_info(*symbols: dict[str, Any]) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": T0_MS,
        "rateLimits": RATE_LIMITS,
        "symbols": list(symbols) or [symbol_info()],
    }


def execution_report(**overrides: Any) -> dict[str, Any]:
    """A NEW report of a 1 BTC limit buy at 100 (order id 7, client id O-1)."""
    event: dict[str, Any] = {
        "e": "executionReport",
        "E": T0_MS,
        "s": "BTCUSDT",
        "c": "O-1",
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "1.00000000",
        "p": "100.00000000",
        "P": "0.00000000",
        "C": "",
        "x": "NEW",
        "X": "NEW",
        "r": "NONE",
        "i": 7,
        "l": "0.00000000",
        "z": "0.00000000",
        "L": "0.00000000",
        "n": "0",
        "N": None,
        "T": T0_MS,
        "t": -1,
        "I": 1,
        "w": True,
        "m": False,
        "O": T0_MS,
        "Z": "0.00000000",
    }
    event.update(overrides)
    return event


def trade_report(
    trade_id: int, quantity: str, cumulative: str, *, status: str = "PARTIALLY_FILLED", **more: Any
) -> dict[str, Any]:
    """A TRADE report of order 7 at 100, fee 0.001 BNB, maker."""
    return execution_report(
        x="TRADE",
        X=status,
        l=quantity,
        z=cumulative,
        L="100.00000000",
        n="0.00100000",
        N="BNB",
        t=trade_id,
        I=1000 + trade_id,
        m=True,
        T=T0_MS + trade_id,
        E=T0_MS + trade_id,
        **more,
    )


def order_answer(**overrides: Any) -> dict[str, Any]:
    """A RESULT-style order answer: order 7, client id O-1, NEW."""
    answer: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "orderId": 7,
        "orderListId": -1,
        "clientOrderId": "O-1",
        "transactTime": T0_MS,
        "price": "100.00000000",
        "origQty": "1.00000000",
        "executedQty": "0.00000000",
        "cummulativeQuoteQty": "0.00000000",
        "status": "NEW",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "workingTime": T0_MS,
        "selfTradePreventionMode": "NONE",
    }
    answer.update(overrides)
    return answer


def my_trade(
    trade_id: int, quantity: str, *, order_id: int = 7, maker: bool = True, **overrides: Any
) -> dict[str, Any]:
    trade: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "id": trade_id,
        "orderId": order_id,
        "orderListId": -1,
        "price": "100.00000000",
        "qty": quantity,
        "quoteQty": "0",
        "commission": "0.00100000",
        "commissionAsset": "BNB",
        "time": T0_MS + trade_id,
        "isBuyer": True,
        "isMaker": maker,
        "isBestMatch": True,
    }
    trade.update(overrides)
    return trade
