"""The venue's published Kraken v2 examples and checksum vectors, byte for byte."""

from __future__ import annotations

from decimal import Decimal

from domain.market_data import BookLevel

BOOK_SNAPSHOT = b"""{
  "channel": "book",
  "type": "snapshot",
  "data": [
    {
      "symbol": "MATIC/USD",
      "bids": [
        {"price": 0.5666, "qty": 4831.75496356},
        {"price": 0.5665, "qty": 6658.22734739},
        {"price": 0.5664, "qty": 18724.91513344},
        {"price": 0.5663, "qty": 11563.92544914},
        {"price": 0.5662, "qty": 14006.65365711},
        {"price": 0.5661, "qty": 17454.85679807},
        {"price": 0.566, "qty": 18097.1547},
        {"price": 0.5659, "qty": 33644.89175666},
        {"price": 0.5658, "qty": 148.3464},
        {"price": 0.5657, "qty": 606.70854372}
      ],
      "asks": [
        {"price": 0.5668, "qty": 4410.79769741},
        {"price": 0.5669, "qty": 4655.40412487},
        {"price": 0.567, "qty": 49844.89424998},
        {"price": 0.5671, "qty": 24306.41678},
        {"price": 0.5672, "qty": 29783.25223475},
        {"price": 0.5673, "qty": 57234.71239278},
        {"price": 0.5674, "qty": 45065.04744},
        {"price": 0.5675, "qty": 5912.76380354},
        {"price": 0.5676, "qty": 42514.92434778},
        {"price": 0.5677, "qty": 36304.0847022}
      ],
      "checksum": 2439117997,
      "timestamp": "2023-10-06T17:35:55.440295Z"
    }
  ]
}"""
BOOK_UPDATE = b"""{
  "channel": "book",
  "type": "update",
  "data": [
    {
      "symbol": "MATIC/USD",
      "bids": [{"price": 0.5657, "qty": 1098.3947558}],
      "asks": [],
      "checksum": 2114181697,
      "timestamp": "2023-10-06T17:35:55.440295Z"
    }
  ]
}"""
MATIC_PRECISION = (4, 8)
BOOK_TS = 1696613755440295000

TRADE_UPDATE = b"""{
  "channel": "trade",
  "type": "update",
  "data": [
    {"symbol": "MATIC/USD", "side": "sell", "price": 0.5117, "qty": 40.0, "ord_type": "market", \
"trade_id": 4665906, "timestamp": "2023-09-25T07:49:37.708706Z"}
  ]
}"""
TICKER_SNAPSHOT = b"""{
  "channel": "ticker",
  "type": "snapshot",
  "data": [
    {
      "symbol": "ALGO/USD", "bid": 0.10025, "bid_qty": 740.0, "ask": 0.10036, "ask_qty": 1361.44813783,
      "last": 0.10035, "volume": 997038.98383185, "vwap": 0.10148, "low": 0.09979, "high": 0.10285,
      "change": -0.00017, "change_pct": -0.17, "timestamp": "2023-09-25T09:04:31.742648Z"
    }
  ]
}"""
BOOK_ACK = (
    b'{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"ALGO/USD"},'
    b'"success":true,"time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z"}'
)
INSTRUMENT_SNAPSHOT = (
    b'{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"BTC","status":"enabled",'
    b'"precision":10,"precision_display":5,"borrowable":true,"collateral_value":1.0,"margin_rate":0.01}],'
    b'"pairs":[{"symbol":"BTC/USD","base":"BTC","quote":"USD","status":"online","qty_precision":8,'
    b'"qty_increment":0.00000001,"price_precision":1,"cost_precision":5,"marginable":true,"has_index":true,'
    b'"cost_min":0.5,"tick_size":0.1,"price_increment":0.1,"qty_min":0.0001}]}}'
)


def _levels(text: str) -> tuple[BookLevel, ...]:
    return tuple(
        (Decimal(price), Decimal(qty)) for price, qty in (pair.split("/") for pair in text.split(", "))
    )


K1_ASKS = _levels(
    "45285.2/0.00100000, 45286.4/1.54571953, 45286.6/1.54571109, 45289.6/1.54560911, "
    "45290.2/0.15890660, 45291.8/1.54553491, 45294.7/0.04454749, 45296.1/0.35380000, "
    "45297.5/0.09945542, 45299.5/0.18772827"
)
K1_BIDS = _levels(
    "45283.5/0.10000000, 45283.4/1.54582015, 45282.1/0.10000000, 45281.0/0.10000000, "
    "45280.3/1.54592586, 45279.0/0.07990000, 45277.6/0.03310103, 45277.5/0.30000000, "
    "45277.3/1.54602737, 45276.6/0.15445238"
)
K1_ASKS_TEXT = (
    "45285210000045286415457195345286615457110945289615456091145290215890660452918154553491"
    "452947445474945296135380000452975994554245299518772827"
)
K1_BIDS_TEXT = (
    "452835100000004528341545820154528211000000045281010000000452803154592586452790799000045277633101034527753"
    "000000045277315460273745276615445238"
)
K1_CHECKSUM = 3310070434
