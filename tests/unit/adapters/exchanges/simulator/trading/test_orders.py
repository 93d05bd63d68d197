"""Every order type through REST: what the venue answers, what it reports, how balances move."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .support import (
    FakeClock,
    RestClient,
    WsApiClient,
    error_of,
    make_venue,
    reports,
    run,
    scripted_market,
    serving,
    settle,
)

BTC = "BTCUSDT"
D = Decimal


def _kinds(events: list[dict[str, Any]]) -> list[str]:
    """Each event as ``x`` of a report or ``pos`` for an account position."""
    out = []
    for wrapped in events:
        event = wrapped["event"]
        out.append(event["x"] if event["e"] == "executionReport" else "pos")
    return out


def test_a_market_buy_walks_the_book_and_pays_commission_in_base() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            answer = await client.order(symbol=BTC, side="BUY", type="MARKET", quantity="0.5")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["status"] == "FILLED"
            assert body["executedQty"] == "0.50000000"
            assert body["cummulativeQuoteQty"] == "15000.06000000"
            assert [(f["price"], f["qty"], f["commission"], f["commissionAsset"]) for f in body["fills"]] == [
                ("30000.10000000", "0.40000000", "0.00040000", "BTC"),
                ("30000.20000000", "0.10000000", "0.00010000", "BTC"),
            ]
            assert body["fills"][1]["tradeId"] == body["fills"][0]["tradeId"] + 1
            assert answer.headers["X-MBX-ORDER-COUNT-10S"] == "1"
            assert venue.balances()["USDT"] == (D("100000") - D("15000.06"), D(0))
            assert venue.balances()["BTC"] == (D("2") + D("0.4995"), D(0))
            events = await ws.wait_events(6)
            assert _kinds(events) == ["NEW", "pos", "TRADE", "pos", "TRADE", "pos"]
            trade = events[2]["event"]
            assert (trade["X"], trade["l"], trade["L"], trade["n"], trade["N"], trade["m"]) == (
                "PARTIALLY_FILLED", "0.40000000", "30000.10000000", "0.00040000", "BTC", False,
            )  # fmt: skip
            assert events[4]["event"]["X"] == "FILLED"
            assert events[4]["event"]["z"] == "0.50000000"
            assert events[4]["event"]["Z"] == "15000.06000000"
            ids = [event["event"]["I"] for event in events if event["event"]["e"] == "executionReport"]
            assert ids == sorted(set(ids))
            last_position = events[5]["event"]["B"]
            assert {b["a"]: (b["f"], b["l"]) for b in last_position} == {
                "BTC": ("2.49950000", "0.00000000"),
                "USDT": ("84999.94000000", "0.00000000"),
            }

    run(scenario)


def test_a_market_sell_by_quote_amount_receives_at_most_that_and_pays_commission_in_quote() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            answer = await client.order(symbol=BTC, side="SELL", type="MARKET", quoteOrderQty="20999.93")
            body = answer.json()
            assert body["status"] == "FILLED", body
            # 0.5 at 29999.90 (14999.95) and 0.2 at 29999.80 (5999.96); a third step would pass the amount.
            assert body["executedQty"] == "0.70000000"
            assert body["origQuoteOrderQty"] == "20999.93000000"
            assert body["cummulativeQuoteQty"] == "20999.91000000"
            commission = D("14.99995") + D("5.99996")
            assert venue.balances()["USDT"] == (D("100000") + D("20999.91") - commission, D(0))
            assert venue.balances()["BTC"] == (D("1.3"), D(0))

    run(scenario)


def test_a_market_order_larger_than_the_book_fills_what_it_can_and_expires() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            answer = await client.order(symbol=BTC, side="BUY", type="MARKET", quantity="3")
            body = answer.json()
            assert body["status"] == "EXPIRED"
            assert body["executedQty"] == "2.00000000"
            await settle()
            assert [r["x"] for r in reports(ws.events)] == ["NEW", "TRADE", "TRADE", "TRADE", "EXPIRED"]
            assert venue.balances()["USDT"][1] == 0

    run(scenario)


def test_a_crossing_gtc_limit_takes_then_rests_and_fills_as_maker_when_a_trade_prints_through() -> None:
    async def scenario() -> None:
        market = scripted_market()
        venue = make_venue(market)
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            answer = await client.order(
                symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price="30000.10"
            )
            body = answer.json()
            assert body["status"] == "PARTIALLY_FILLED"
            assert [f["price"] for f in body["fills"]] == ["30000.10000000"]
            locked = D("30000.10") * D("0.6")
            assert venue.balances()["USDT"] == (D("100000") - D("12000.04") - locked, locked)
            market.print_trade(BTC, "30000.15", "0.25")  # not through the bid: nothing
            market.print_trade(BTC, "30000.05", "0.25")  # through it: a maker fill of 0.25
            venue.market.step(venue.now_ms())
            order = venue.orders()[0]
            assert order["executedQty"] == "0.65000000"
            trades = venue.trades()
            assert (trades[-1]["price"], trades[-1]["qty"], trades[-1]["isMaker"]) == (
                "30000.10000000", "0.25000000", True,
            )  # fmt: skip
            market.set_book(BTC, [("29999.90", "1")], [("30000.00", "5")])  # the book crosses the bid
            venue.market.step(venue.now_ms())
            assert venue.orders()[0]["status"] == "FILLED"
            assert venue.balances()["USDT"][1] == 0
            await settle()
            assert [r["x"] for r in reports(ws.events)] == ["NEW", "TRADE", "TRADE", "TRADE"]
            assert [r["m"] for r in reports(ws.events)] == [False, False, True, True]

    run(scenario)


def test_a_maker_fill_pays_the_maker_rate() -> None:
    async def scenario() -> None:
        market = scripted_market()
        venue = make_venue(market, maker_commission=D("0.0002"))  # unlike the taker rate, so it shows
        async with serving(venue), RestClient(venue) as client:
            await client.order(
                symbol=BTC, side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.1", price="30001"
            )
            market.print_trade(BTC, "30001.00", "1")
            venue.market.step(venue.now_ms())
            assert venue.trades()[-1]["commission"] == "0.60002000"  # 3000.10 * 0.0002

    run(scenario)


def test_ioc_fills_what_crosses_and_expires_the_rest() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            answer = await client.order(
                symbol=BTC, side="BUY", type="LIMIT", timeInForce="IOC", quantity="0.7", price="30000.10"
            )
            body = answer.json()
            assert (body["status"], body["executedQty"]) == ("EXPIRED", "0.40000000")
            assert venue.balances()["USDT"][1] == 0

    run(scenario)


@pytest.mark.parametrize(("quantity", "status", "filled"), [("1.1", "EXPIRED", "0"), ("1.0", "FILLED", "1")])
def test_fok_fills_entirely_or_not_at_all(quantity: str, status: str, filled: str) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            answer = await client.order(
                symbol=BTC, side="BUY", type="LIMIT", timeInForce="FOK", quantity=quantity, price="30000.20"
            )
            body = answer.json()
            assert (body["status"], D(body["executedQty"])) == (status, D(filled))
            assert venue.balances()["USDT"][1] == 0

    run(scenario)


def test_limit_maker_rests_and_is_rejected_when_it_would_take() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            rested = await client.order(
                symbol=BTC, side="BUY", type="LIMIT_MAKER", quantity="0.1", price="30000.00"
            )
            assert "status" not in rested.json()  # ACK is the default for LIMIT_MAKER
            assert (venue.orders()[0]["status"], venue.orders()[0]["isWorking"]) == ("NEW", True)
            refused = await client.order(
                symbol=BTC, side="BUY", type="LIMIT_MAKER", quantity="0.1", price="30000.10"
            )
            assert error_of(refused) == (400, -2010)
            assert refused.json()["msg"] == "Order would immediately match and take."
            await settle()
            last = reports(ws.events)[-1]
            assert (last["x"], last["X"], last["r"], last["i"]) == (
                "REJECTED",
                "REJECTED",
                "WOULD_MATCH_IMMEDIATELY",
                -1,
            )

    run(scenario)


def test_a_stop_loss_sell_waits_off_the_book_then_sells_at_market_when_a_trade_reaches_it() -> None:
    async def scenario() -> None:
        market = scripted_market()
        venue = make_venue(market)
        async with serving(venue), RestClient(venue) as client:
            answer = await client.order(
                symbol=BTC, side="SELL", type="STOP_LOSS", quantity="0.8", stopPrice="29990"
            )
            assert answer.json() == {
                "symbol": BTC,
                "orderId": answer.json()["orderId"],
                "orderListId": -1,
                "clientOrderId": answer.json()["clientOrderId"],
                "transactTime": venue.now_ms(),
            }
            order = venue.orders()[0]
            assert (order["status"], order["isWorking"], order["workingTime"]) == ("NEW", False, -1)
            assert venue.balances()["BTC"] == (D("1.2"), D("0.8"))
            market.print_trade(BTC, "29995.00", "1")  # above the stop: waits
            venue.market.step(venue.now_ms())
            assert venue.orders()[0]["status"] == "NEW"
            market.print_trade(BTC, "29990.00", "1")
            venue.market.step(venue.now_ms())
            order = venue.orders()[0]
            assert (order["status"], order["executedQty"]) == ("FILLED", "0.80000000")
            assert [t["price"] for t in venue.trades()] == ["29999.90000000", "29999.80000000"]
            assert venue.balances()["BTC"] == (D("1.2"), D(0))

    run(scenario)


def test_a_stop_limit_buy_triggers_on_a_rising_trade_and_then_works_as_a_limit() -> None:
    async def scenario() -> None:
        market = scripted_market()
        venue = make_venue(market)
        async with serving(venue), RestClient(venue) as client:
            await client.order(
                symbol=BTC, side="BUY", type="STOP_LOSS_LIMIT", timeInForce="GTC",
                quantity="1", price="30000.10", stopPrice="30000.05",
            )  # fmt: skip
            market.print_trade(BTC, "30000.05", "0.01")
            venue.market.step(venue.now_ms())
            order = venue.orders()[0]
            assert (order["status"], order["executedQty"], order["isWorking"]) == (
                "PARTIALLY_FILLED", "0.40000000", True,
            )  # fmt: skip
            assert order["workingTime"] == venue.now_ms()

    run(scenario)


@pytest.mark.parametrize(
    ("side", "kind", "stop", "trade", "triggers"),
    [
        ("SELL", "TAKE_PROFIT", "30010", "30009.99", False),
        ("SELL", "TAKE_PROFIT", "30010", "30010.00", True),
        ("BUY", "TAKE_PROFIT", "29990", "29990.01", False),
        ("BUY", "TAKE_PROFIT", "29990", "29989.00", True),
        ("BUY", "STOP_LOSS", "30010", "30011.00", True),
        ("SELL", "STOP_LOSS", "29990", "29990.01", False),
    ],
)
def test_stop_and_take_profit_orders_trigger_on_the_right_side(
    side: str, kind: str, stop: str, trade: str, triggers: bool
) -> None:
    async def scenario() -> None:
        market = scripted_market()
        venue = make_venue(market)
        market.print_trade(BTC, "30000.00", "0.1")  # the last price the venue knows
        venue.market.step(venue.now_ms())
        async with serving(venue), RestClient(venue) as client:
            answer = await client.order(symbol=BTC, side=side, type=kind, quantity="0.1", stopPrice=stop)
            assert answer.status_code == 200, answer.text
            market.print_trade(BTC, trade, "0.1")
            venue.market.step(venue.now_ms())
            assert venue.orders()[0]["status"] == ("FILLED" if triggers else "NEW")

    run(scenario)


@pytest.mark.parametrize(("side", "stop"), [("SELL", "30000.00"), ("BUY", "29999.00")])
def test_a_stop_the_last_price_already_reached_is_rejected(side: str, stop: str) -> None:
    async def scenario() -> None:
        market = scripted_market()
        venue = make_venue(market)
        market.print_trade(BTC, "30000.00", "0.1")
        venue.market.step(venue.now_ms())
        async with serving(venue), RestClient(venue) as client:
            answer = await client.order(
                symbol=BTC, side=side, type="STOP_LOSS", quantity="0.1", stopPrice=stop
            )
            assert error_of(answer) == (400, -2010)
            assert answer.json()["msg"] == "Stop price would trigger immediately."
            assert venue.orders() == []

    run(scenario)


def test_a_triggered_stop_market_buy_draws_free_quote_and_expires_what_it_cannot_pay() -> None:
    async def scenario() -> None:
        market = scripted_market()
        balances = {"USDT": D("3100"), "BTC": D("0")}
        venue = make_venue(market, balances=balances)
        async with serving(venue), RestClient(venue) as client:
            answer = await client.order(
                symbol=BTC, side="BUY", type="STOP_LOSS", quantity="0.1", stopPrice="30000.05"
            )
            assert answer.status_code == 200, answer.text
            assert venue.balances()["USDT"] == (D("99.995"), D("3000.005"))
            market.set_book(BTC, [("30999.00", "1")], [("31000.00", "1")], publish=False)
            market.print_trade(BTC, "31000.00", "0.5")
            venue.market.step(venue.now_ms())
            order = venue.orders()[0]
            # 3100 buys 0.1 at 31000 exactly: all of it, nothing left over.
            assert (order["status"], order["executedQty"]) == ("FILLED", "0.10000000")
            assert venue.balances()["USDT"] == (D(0), D(0))

    run(scenario)


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("LIMIT", {"timeInForce": "GTC", "price": "29000"}, "FULL"),
        ("MARKET", {}, "FULL"),
        ("LIMIT_MAKER", {"price": "29000"}, "ACK"),
        ("STOP_LOSS_LIMIT", {"timeInForce": "GTC", "price": "29000", "stopPrice": "29001"}, "ACK"),
    ],
)
def test_the_default_response_type_follows_the_order_type(
    kind: str, extra: dict[str, str], expected: str
) -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            body = (await client.order(symbol=BTC, side="BUY", type=kind, quantity="0.01", **extra)).json()
            shape = "FULL" if "fills" in body else "RESULT" if "status" in body else "ACK"
            assert shape == expected, body

    run(scenario)


def test_result_responses_carry_the_order_without_fills() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            body = (
                await client.order(
                    symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                    price="29000", newOrderRespType="RESULT", newClientOrderId="my-order.1",
                )
            ).json()  # fmt: skip
            assert set(body) == {
                "symbol", "orderId", "orderListId", "clientOrderId", "transactTime", "price", "origQty",
                "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status", "timeInForce", "type",
                "side", "workingTime", "selfTradePreventionMode",
            }  # fmt: skip
            assert body["clientOrderId"] == "my-order.1"

    run(scenario)


def test_cancel_reports_the_cancel_id_and_the_original_and_unlocks() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client, WsApiClient.open(venue) as ws:
            await ws.subscribe()
            placed = (
                await client.order(
                    symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.1",
                    price="29000", newClientOrderId="keep-me",
                )
            ).json()  # fmt: skip
            canceled = await client.signed(
                "DELETE",
                "/api/v3/order",
                {"symbol": BTC, "origClientOrderId": "keep-me", "newClientOrderId": "bye"},
            )
            body = canceled.json()
            assert (body["status"], body["origClientOrderId"], body["clientOrderId"], body["orderId"]) == (
                "CANCELED", "keep-me", "bye", placed["orderId"],
            )  # fmt: skip
            assert venue.balances()["USDT"] == (D("100000"), D(0))
            await settle()
            last = reports(ws.events)[-1]
            assert (last["x"], last["X"], last["c"], last["C"]) == ("CANCELED", "CANCELED", "bye", "keep-me")
            again = await client.signed(
                "DELETE", "/api/v3/order", {"symbol": BTC, "orderId": placed["orderId"]}
            )
            assert error_of(again) == (400, -2011)

    run(scenario)


def test_cancel_all_open_orders_of_a_symbol() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            for price in ("29000", "29001"):
                await client.order(
                    symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.1", price=price
                )
            await client.order(
                symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price="1900"
            )
            answer = await client.signed("DELETE", "/api/v3/openOrders", {"symbol": BTC})
            assert [order["status"] for order in answer.json()] == ["CANCELED", "CANCELED"]
            left = (await client.signed("GET", "/api/v3/openOrders", {})).json()
            assert [order["symbol"] for order in left] == ["ETHUSDT"]
            none_left = await client.signed("DELETE", "/api/v3/openOrders", {"symbol": BTC})
            assert error_of(none_left) == (400, -2011)

    run(scenario)


def test_queries_show_orders_trades_and_the_account() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        venue = make_venue(clock=clock)
        async with serving(venue), RestClient(venue) as client:
            bought = (await client.order(symbol=BTC, side="BUY", type="MARKET", quantity="0.5")).json()
            clock.advance(1000)
            resting = (
                await client.order(
                    symbol=BTC, side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.2", price="31000"
                )
            ).json()
            status = await client.signed(
                "GET", "/api/v3/order", {"symbol": BTC, "orderId": resting["orderId"]}
            )
            assert status.json()["status"] == "NEW"
            assert status.json()["isWorking"] is True
            by_client = await client.signed(
                "GET", "/api/v3/order", {"symbol": BTC, "origClientOrderId": bought["clientOrderId"]}
            )
            assert by_client.json()["orderId"] == bought["orderId"]
            everything = (await client.signed("GET", "/api/v3/allOrders", {"symbol": BTC})).json()
            assert [o["orderId"] for o in everything] == [bought["orderId"], resting["orderId"]]
            trades = (await client.signed("GET", "/api/v3/myTrades", {"symbol": BTC})).json()
            assert [t["id"] for t in trades] == [f["tradeId"] for f in bought["fills"]]
            assert all(t["isBuyer"] and not t["isMaker"] for t in trades)
            of_order = await client.signed(
                "GET", "/api/v3/myTrades", {"symbol": BTC, "orderId": resting["orderId"]}
            )
            assert of_order.json() == []
            from_id = await client.signed(
                "GET", "/api/v3/myTrades", {"symbol": BTC, "fromId": trades[1]["id"]}
            )
            assert [t["id"] for t in from_id.json()] == [trades[1]["id"]]
            account = (await client.signed("GET", "/api/v3/account", {})).json()
            balances = {b["asset"]: (b["free"], b["locked"]) for b in account["balances"]}
            assert balances["BTC"] == ("2.29950000", "0.20000000")
            assert account["commissionRates"]["taker"] == "0.00100000"
            assert (account["accountType"], account["canTrade"]) == ("SPOT", True)
            commission = (await client.signed("GET", "/api/v3/account/commission", {"symbol": BTC})).json()
            assert commission["standardCommission"]["maker"] == "0.00100000"
            assert commission["taxCommission"]["taker"] == "0.00000000"
            assert commission["discount"]["enabledForAccount"] is False

    run(scenario)


def test_exchange_info_publishes_filters_and_limits() -> None:
    async def scenario() -> None:
        venue = make_venue()
        async with serving(venue), RestClient(venue) as client:
            info = (await client.public("GET", "/api/v3/exchangeInfo", {"symbols": '["BTCUSDT"]'})).json()
            assert [s["symbol"] for s in info["symbols"]] == [BTC]
            symbol = info["symbols"][0]
            filters = {f["filterType"]: f for f in symbol["filters"]}
            assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
            assert filters["LOT_SIZE"]["stepSize"] == "0.00100000"
            assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
            assert (symbol["baseAsset"], symbol["quoteAsset"]) == ("BTC", "USDT")
            assert {limit["rateLimitType"] for limit in info["rateLimits"]} == {
                "REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS",
            }  # fmt: skip
            unknown = await client.public("GET", "/api/v3/exchangeInfo", {"symbol": "NOPEUSDT"})
            assert error_of(unknown) == (400, -1121)
            weight = int((await client.public("GET", "/api/v3/exchangeInfo")).headers["X-MBX-USED-WEIGHT-1M"])
            assert weight == 20 * 3

    run(scenario)
