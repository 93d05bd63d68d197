"""``KrakenInstrumentProvider``: instrument rules from the WebSocket v2 ``instrument`` channel.

Kraken's public v2 API lists every pair with its precisions, increments and minimums on the
``instrument`` channel. The provider opens a short synchronous connection (it is called once
at start, before the engine's event loop runs), subscribes, reads the snapshot and closes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from adapters.config_checks import url
from adapters.exchanges.kraken.config import VENUE, pair_of
from adapters.exchanges.kraken.errors import InstrumentLookupError, MalformedMessage, UnknownMessage
from adapters.exchanges.kraken.parsing import Ack, Instruments, PairInfo, parse_message
from adapters.exchanges.streaming.failures import connection_failure
from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId
from domain.instrument import Instrument

_MAX_FRAME_BYTES = 10 * 2**20
"""The full pair list of the venue is a few hundred kilobytes."""
_SUBSCRIBE = '{"method":"subscribe","params":{"channel":"instrument"},"req_id":1}'


def instrument_from(instrument_id: InstrumentId, info: PairInfo) -> Instrument:
    """Rules of ``instrument_id`` from its pair: tick = price increment (or 10**-price_precision),
    lot = quantity increment (or 10**-qty_precision), minimums = ``qty_min`` and ``cost_min``.

    Raises InstrumentLookupError naming the pair if the venue's values do not make an instrument.
    """
    base, _, quote = instrument_id.symbol.partition("-")
    try:
        return Instrument(
            id=instrument_id,
            base=base,
            quote=quote,
            price_tick=info.price_increment or Decimal(1).scaleb(-info.price_precision),
            lot_size=info.qty_increment or Decimal(1).scaleb(-info.qty_precision),
            min_quantity=info.qty_min or Decimal(0),
            min_notional=info.cost_min or Decimal(0),
        )
    except InvalidValue as exc:
        raise InstrumentLookupError(f"the venue's rules of {info.symbol} are not usable: {exc}") from None


class KrakenInstrumentProvider:
    """Implements ``application.ports.InstrumentProvider`` from Kraken's ``instrument`` channel.

    ``ws_url`` is the public v2 endpoint (the simulator's in tests); ``timeout`` bounds the
    whole exchange (connect, subscribe, snapshot) in seconds.
    """

    def __init__(self, ws_url: str = "wss://ws.kraken.com/v2", timeout: float = 10.0) -> None:
        self._url = url(ws_url, "ws_url", ("ws", "wss"))
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 3600:
            raise InvalidParameter("timeout", timeout, "must be a number of seconds above 0")
        self._timeout = float(timeout)

    def instruments(self, instrument_ids: Sequence[InstrumentId]) -> Sequence[Instrument]:
        """One per id, in order; raises InstrumentLookupError (a ValueError) naming a pair the
        venue does not list, an id not on KRAKEN, or why the list could not be read."""
        pairs: list[tuple[InstrumentId, str]] = []
        for given in instrument_ids:
            instrument_id = InstrumentId(given)
            if instrument_id.venue != VENUE:
                raise InstrumentLookupError(f"{instrument_id} is not a {VENUE} instrument")
            try:
                pairs.append((instrument_id, pair_of(instrument_id)))
            except InvalidValue as exc:
                raise InstrumentLookupError(str(exc)) from None
        if not pairs:
            return []
        listed = self.pairs()
        result = []
        for instrument_id, pair in pairs:
            info = listed.get(pair)
            if info is None:
                raise InstrumentLookupError(f"{pair} ({instrument_id}) is not listed by the venue")
            result.append(instrument_from(instrument_id, info))
        return result

    def pairs(self) -> dict[str, PairInfo]:
        """Every pair the venue lists, by pair (``BTC/USD``); raises InstrumentLookupError."""
        deadline = time.monotonic() + self._timeout
        try:
            with connect(
                self._url, open_timeout=self._timeout, max_size=_MAX_FRAME_BYTES, compression=None
            ) as websocket:
                websocket.send(_SUBSCRIBE)
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    raw = websocket.recv(timeout=remaining)
                    listing = self._read(raw)
                    if listing is not None:
                        return {info.symbol: info for info in listing.pairs}
        except TimeoutError:
            raise InstrumentLookupError(
                f"no instrument list from {self._url} within {self._timeout:g}s"
            ) from None
        except (OSError, WebSocketException) as exc:
            raise InstrumentLookupError(
                f"cannot read the instrument list: {connection_failure(exc, self._url)}"
            ) from None

    @staticmethod
    def _read(raw: str | bytes) -> Instruments | None:
        """The snapshot, None for anything else on the way; a refusal or a garbled list raises."""
        try:
            message = parse_message(raw, 0)
        except UnknownMessage:
            return None
        except MalformedMessage as exc:
            if b'"instrument"' in (raw if isinstance(raw, bytes) else raw.encode()):
                raise InstrumentLookupError(f"the instrument list is malformed: {exc}") from None
            return None
        if isinstance(message, Ack) and not message.success:
            raise InstrumentLookupError(f"the venue refused the instrument channel: {message.error}")
        if isinstance(message, Instruments) and message.snapshot:
            return message
        return None
