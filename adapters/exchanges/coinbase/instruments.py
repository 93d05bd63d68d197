"""``CoinbaseInstrumentProvider``: instruments from Coinbase's public product endpoint.

``GET {rest_url}/api/v3/brokerage/market/products/{product_id}`` describes one product; the
domain instrument takes its tick (``quote_increment``), lot (``base_increment``), minimum
quantity (``base_min_size``) and minimum notional (``quote_min_size``). Blocking (httpx), like
every bootstrap call made before the event loop runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from adapters.config_checks import url
from adapters.exchanges.coinbase.errors import ProductLookupError
from adapters.exchanges.coinbase.schemas import VENUE
from domain.errors import InvalidValue
from domain.identifiers import InstrumentId
from domain.instrument import Instrument
from domain.values import non_negative, positive

PRODUCT_PATH = "/api/v3/brokerage/market/products/"
_USER_AGENT = "tradeplane"


def instrument_of(product_id: str, body: Any) -> Instrument:
    """One product's JSON body -> Instrument; ProductLookupError names what is missing or wrong."""
    if not isinstance(body, dict):
        raise ProductLookupError(product_id, "the answer is not a JSON object")
    if body.get("product_id") != product_id:
        raise ProductLookupError(product_id, f"the answer describes {body.get('product_id')!r} instead")
    base = body.get("base_currency_id")
    quote_asset = body.get("quote_currency_id")
    if not isinstance(base, str) or not isinstance(quote_asset, str):
        raise ProductLookupError(product_id, "base_currency_id or quote_currency_id is missing")
    try:
        return Instrument(
            id=InstrumentId(f"{product_id}.{VENUE}"),
            base=base,
            quote=quote_asset,
            price_tick=positive(body.get("quote_increment"), "quote_increment"),
            lot_size=positive(body.get("base_increment"), "base_increment"),
            min_quantity=non_negative(body.get("base_min_size", "0"), "base_min_size"),
            min_notional=non_negative(body.get("quote_min_size", "0"), "quote_min_size"),
        )
    except InvalidValue as exc:
        raise ProductLookupError(product_id, str(exc)) from None


class CoinbaseInstrumentProvider:
    """``InstrumentProvider`` over the public product endpoint (no credentials needed).

    ``transport`` replaces the network (tests); ``use_system_proxy`` honours HTTP(S)_PROXY.
    """

    def __init__(
        self,
        rest_url: str = "https://api.coinbase.com",
        timeout: float = 10.0,
        *,
        use_system_proxy: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._rest_url = url(rest_url, "rest_url", ("http", "https"))
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds (was {timeout!r})")
        self._timeout = float(timeout)
        self._trust_env = use_system_proxy
        self._transport = transport

    def instruments(self, instrument_ids: Sequence[InstrumentId]) -> list[Instrument]:
        """One per id, in order; ProductLookupError (a ValueError) names a product the venue
        does not list, or one it cannot be asked about, and why."""
        products = []
        for raw in instrument_ids:
            instrument_id = InstrumentId(raw)
            if instrument_id.venue != VENUE:
                raise ValueError(f"instrument {instrument_id} is not on {VENUE}")
            products.append(instrument_id.symbol)
        if not products:
            return []
        with httpx.Client(
            base_url=self._rest_url,
            timeout=self._timeout,
            trust_env=self._trust_env,
            transport=self._transport,
            headers={"User-Agent": _USER_AGENT},
        ) as client:
            return [instrument_of(product, self._fetch(client, product)) for product in products]

    def _fetch(self, client: httpx.Client, product_id: str) -> Any:
        path = PRODUCT_PATH + quote(product_id, safe="")
        try:
            response = client.get(path)
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            raise ProductLookupError(product_id, f"GET {path} failed: {detail}") from None
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        if response.status_code == 404:
            message = body.get("message") if isinstance(body, dict) else None
            raise ProductLookupError(
                product_id, f"the venue does not list it (HTTP 404: {message or 'not found'})"
            )
        if response.status_code != 200:
            text = response.content[:200].decode("utf-8", "replace")
            raise ProductLookupError(product_id, f"GET {path} answered HTTP {response.status_code}: {text}")
        if body is None:
            raise ProductLookupError(product_id, f"GET {path} answered a body that is not JSON")
        return body
