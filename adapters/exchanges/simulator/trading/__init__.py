"""The simulated venue's trading side: one Binance Spot account over signed REST and the WebSocket API.

``TradingVenue`` serves, on one aiohttp port, what a broker adapter speaks to: ``/api/v3/...``
(REST) and ``/ws-api/v3`` (the WebSocket API, with the user data stream). It is as strict as
the venue, so a client that passes here did not pass by luck:

- SIGNED requests need the ``X-MBX-APIKEY`` key (WebSocket API: ``apiKey``), a ``timestamp``
  within ``recvWindow`` (default 5000 ms, at most 60000) and not 1 s ahead of the venue's
  clock, and a signature over the bytes as sent (REST: query string then body; WebSocket
  API: the params sorted by name). HMAC-SHA256 hex, or Ed25519 base64 when the account's
  ``api_secret`` is an Ed25519 public key in PEM.
- Parameters are checked as the venue checks them: mandatory ones (-1102), malformed values
  (-1100), bad enums (-1115/-1116/-1117/-1130), unknown symbols (-1121), parameters a type
  does not take (-1106), parameters nobody reads (-1104), duplicates (-1101).
- Orders: LIMIT (GTC/IOC/FOK), MARKET (quantity or quoteOrderQty), LIMIT_MAKER, STOP_LOSS,
  STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT, with ACK / RESULT / FULL answers (FULL by
  default for MARKET and LIMIT, ACK otherwise). Filters PRICE_FILTER, LOT_SIZE,
  MARKET_LOT_SIZE and NOTIONAL (-1013); balances locked per open order (-2010 when short); a
  client order id unique among open orders (-2010). Trailing, iceberg, pegged and list
  orders are refused (-1014), never half-simulated. How orders meet the market is in
  ``matching``; commissions are charged in the asset received, rounded to 8 decimals.
- Queries: order, openOrders, allOrders, myTrades, account, account/commission, exchangeInfo,
  time, ping; cancels of one order or all of a symbol (-2011 / -2013 for unknown orders).
- Limits (``VenueLimits``): request weight per minute, raw requests per 5 minutes, orders
  per 10 s and per day; 429 with ``Retry-After``, 418 (a ban) for a client that keeps sending
  during Retry-After. Every answer says the weight used (``X-MBX-USED-WEIGHT-1M``).
- The user data stream: ``userDataStream.subscribe.signature`` on a WebSocket API session,
  then ``executionReport`` and ``outboundAccountPosition`` events in order. The server pings
  every 20 s (aiohttp's heartbeat: a session silent to a ping for half that is closed).
- Faults (``venue.faults``, see ``faults``): lost or failed order answers, duplicated or
  delayed reports, dropped sessions, a skewed clock, forced 429s; each counted, so a test
  knows exactly what happens.

The venue observes the market the market-data simulator publishes: give ``venue.market`` (an
``ObservedMarket``) to ``ExchangeSimulator``. Tests observe ``venue.orders()``,
``venue.trades()``, ``venue.balances()`` and ``venue.stats``, and may act as another
application on the same account with ``place_external_order`` / ``cancel_external_order``.
"""

from adapters.exchanges.simulator.trading.errors import VenueError
from adapters.exchanges.simulator.trading.faults import TradingFaults
from adapters.exchanges.simulator.trading.filters import SymbolFilters
from adapters.exchanges.simulator.trading.limits import VenueLimits
from adapters.exchanges.simulator.trading.observed import ObservedMarket
from adapters.exchanges.simulator.trading.stats import VenueStats
from adapters.exchanges.simulator.trading.venue import TradingVenue

__all__ = [
    "ObservedMarket",
    "SymbolFilters",
    "TradingFaults",
    "TradingVenue",
    "VenueError",
    "VenueLimits",
    "VenueStats",
]
