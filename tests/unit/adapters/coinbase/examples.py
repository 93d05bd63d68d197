"""Coinbase Advanced Trade's published WebSocket examples, byte for byte, as frames arrive."""

# ruff: noqa: E501  (the examples keep the venue's own line breaks)

HEARTBEATS = b"""{
  "channel": "heartbeats",
  "client_id": "",
  "timestamp": "2023-06-23T20:31:26.122969572Z",
  "sequence_num": 0,
  "events": [
    {"current_time": "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105", "heartbeat_counter": "3049"}
  ]
}"""

LEVEL2 = b"""{
  "channel": "l2_data",
  "client_id": "",
  "timestamp": "2023-02-09T20:32:50.714964855Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "product_id": "BTC-USD",
      "updates": [
        {"side": "bid", "event_time": "1970-01-01T00:00:00Z", "price_level": "21921.73", "new_quantity": "0.06317902"},
        {"side": "bid", "event_time": "1970-01-01T00:00:00Z", "price_level": "21921.3", "new_quantity": "0.02"}
      ]
    }
  ]
}"""

MARKET_TRADES = b"""{
  "channel": "market_trades",
  "client_id": "",
  "timestamp": "2023-02-09T20:19:35.39625135Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "trades": [
        {"trade_id": "000000000", "product_id": "ETH-USD", "price": "1260.01", "size": "0.3", "side": "BUY", "time": "2019-08-14T20:42:27.265Z"}
      ]
    }
  ]
}"""

TICKER = b"""{
  "channel": "ticker",
  "client_id": "",
  "timestamp": "2023-02-09T20:30:37.167359596Z",
  "sequence_num": 0,
  "events": [
    {
      "type": "snapshot",
      "tickers": [
        {
          "type": "ticker", "product_id": "BTC-USD", "price": "21932.98",
          "volume_24_h": "16038.28770938", "low_24_h": "21835.29", "high_24_h": "23011.18",
          "low_52_w": "15460", "high_52_w": "48240", "price_percent_chg_24_h": "-4.15775596190603",
          "best_bid": "21931.98", "best_bid_quantity": "8000.21",
          "best_ask": "21933.98", "best_ask_quantity": "8038.07770938"
        }
      ]
    }
  ]
}"""

SUBSCRIPTIONS = b"""{"channel":"subscriptions","client_id":"","timestamp":"2026-04-07T14:30:00.000000Z","sequence_num":0,
 "events":[{"subscriptions":{"level2":["BTC-USD"],"market_trades":["BTC-USD","ETH-USD"]}}]}"""
