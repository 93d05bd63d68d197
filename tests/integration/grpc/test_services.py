"""Portfolio, market data, risk, strategies, engine status, health and reflection over a real server."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tradeplane.v1 import (
    common_pb2,
    engine_pb2,
    market_data_pb2,
    orders_pb2,
    portfolio_pb2,
    risk_pb2,
    strategies_pb2,
)

from entrypoints.config import ConfigError, GrpcSettings
from entrypoints.grpc.engine_service import EngineInfo
from entrypoints.grpc.server import SERVICES, GrpcServer
from tests.integration.grpc.support import (
    ADMIN,
    BTC,
    CALL_TIMEOUT_S,
    ETH,
    LIMIT,
    SELL,
    STRATEGY,
    TRADER,
    VIEWER,
    Env,
    next_message,
    quote,
    refused,
    subscribed,
    trade,
)

T = CALL_TIMEOUT_S

# -- PortfolioService -------------------------------------------------------------------------------


async def test_get_account_before_and_after_a_fill(env: Env) -> None:
    before = (
        await env.stub.portfolio.GetAccount(portfolio_pb2.GetAccountRequest(), metadata=VIEWER, timeout=T)
    ).account
    assert before.valuation_currency == "USDT"
    assert [(b.asset, b.total) for b in before.balances] == [("USDT", "1000000")]
    assert (before.equity, before.realized_pnl, before.fees) == ("1000000", "0", "0")
    assert before.unvalued_reason == ""

    await env.submit("buy", quantity="0.01")  # 0.01 at 30000.50, fee 0.1500025

    after = (
        await env.stub.portfolio.GetAccount(portfolio_pb2.GetAccountRequest(), metadata=VIEWER, timeout=T)
    ).account
    assert [(b.asset, b.total) for b in after.balances] == [("BTC", "0.01"), ("USDT", "999699.8449975")]
    assert after.fees == "0.1500025"
    # Marked at the last trade, 30000.00: 0.005 below the entry, plus the fee.
    assert after.equity == "999999.8449975"
    assert after.unrealized_pnl == "-0.005"
    assert after.gross_exposure == after.net_exposure == "300"
    assert after.drawdown == "0.1550025"


async def test_list_positions_with_and_without_flat_ones(env: Env) -> None:
    assert not (
        await env.stub.portfolio.ListPositions(
            portfolio_pb2.ListPositionsRequest(), metadata=VIEWER, timeout=T
        )
    ).positions
    await env.submit("buy", quantity="0.01")

    positions = (
        await env.stub.portfolio.ListPositions(
            portfolio_pb2.ListPositionsRequest(), metadata=VIEWER, timeout=T
        )
    ).positions
    assert len(positions) == 1
    position = positions[0]
    assert (position.instrument_id, position.quantity, position.avg_entry_price) == (BTC, "0.01", "30000.5")
    assert (position.mark_price, position.fees, position.realized_pnl) == ("30000", "0.1500025", "0")
    assert position.unrealized_pnl == "-0.005"
    assert position.notional == "300"
    assert position.update_time.seconds > 0

    await env.submit("sell", side=SELL, quantity="0.01")  # flat again, at the bid 29999.50
    assert not (
        await env.stub.portfolio.ListPositions(
            portfolio_pb2.ListPositionsRequest(), metadata=VIEWER, timeout=T
        )
    ).positions
    flat = (
        await env.stub.portfolio.ListPositions(
            portfolio_pb2.ListPositionsRequest(include_flat=True), metadata=VIEWER, timeout=T
        )
    ).positions
    assert [p.instrument_id for p in flat] == [BTC]
    assert flat[0].quantity == "0"
    assert flat[0].avg_entry_price == ""
    assert flat[0].realized_pnl == "-0.01"  # 0.01 × (29999.50 - 30000.50)


async def test_stream_positions_follows_every_fill(env: Env) -> None:
    every = env.stub.portfolio.StreamPositions(portfolio_pb2.StreamPositionsRequest(), metadata=VIEWER)
    eth_only = env.stub.portfolio.StreamPositions(
        portfolio_pb2.StreamPositionsRequest(instrument_id=ETH), metadata=VIEWER
    )
    await subscribed(env, "positions", 2)

    await env.submit("buy", quantity="0.01")
    opened = (await next_message(every)).position
    assert (opened.instrument_id, opened.quantity, opened.avg_entry_price) == (BTC, "0.01", "30000.5")
    assert opened.fees == "0.1500025"
    await env.submit("sell", side=SELL, quantity="0.01")
    closed = (await next_message(every)).position
    assert closed.quantity == "0"
    assert closed.realized_pnl == "-0.01"
    # The ETH stream saw none of that; its first message is the first ETH fill.
    env.publish(quote("1999.00", "2000.00", instrument=ETH))
    await env.submit("eth", quantity="0.5", instrument_id=ETH)
    eth = (await next_message(eth_only)).position
    assert (eth.instrument_id, eth.quantity, eth.avg_entry_price) == (ETH, "0.5", "2000")
    every.cancel()
    eth_only.cancel()


# -- MarketDataService ------------------------------------------------------------------------------


async def test_list_instruments(env: Env) -> None:
    response = await env.stub.market.ListInstruments(
        market_data_pb2.ListInstrumentsRequest(), metadata=VIEWER, timeout=T
    )
    assert [i.id for i in response.instruments] == [BTC, ETH]
    btc = response.instruments[0]
    assert (btc.symbol, btc.venue, btc.base, btc.quote) == ("BTCUSDT", "BINANCE", "BTC", "USDT")
    assert (btc.price_tick, btc.lot_size, btc.min_quantity, btc.min_notional) == (
        "0.01",
        "0.001",
        "0.001",
        "5",
    )


async def test_get_quote_is_the_latest_one_and_not_found_before_the_first(env: Env) -> None:
    latest = (
        await env.stub.market.GetQuote(
            market_data_pb2.GetQuoteRequest(instrument_id=BTC), metadata=VIEWER, timeout=T
        )
    ).quote
    assert (latest.instrument_id, latest.bid_price, latest.bid_size) == (BTC, "29999.5", "1.5")
    assert (latest.ask_price, latest.ask_size) == ("30000.5", "1.25")
    assert latest.time.seconds > 0

    env.publish(quote("29999.75", "30000.25", bid_size="0.125", ask_size="0.250"))
    latest = (
        await env.stub.market.GetQuote(
            market_data_pb2.GetQuoteRequest(instrument_id=BTC), metadata=VIEWER, timeout=T
        )
    ).quote
    assert (latest.bid_price, latest.bid_size, latest.ask_price, latest.ask_size) == (
        "29999.75",
        "0.125",
        "30000.25",
        "0.25",
    )
    refusal = await refused(
        env.stub.market.GetQuote(
            market_data_pb2.GetQuoteRequest(instrument_id=ETH), metadata=VIEWER, timeout=T
        )
    )
    assert refusal.code == grpc.StatusCode.NOT_FOUND
    assert refusal.message == f"no quote for {ETH} yet"


async def test_get_order_book_depth(env: Env) -> None:
    async def book(depth: int) -> market_data_pb2.GetOrderBookResponse:
        response: market_data_pb2.GetOrderBookResponse = await env.stub.market.GetOrderBook(
            market_data_pb2.GetOrderBookRequest(instrument_id=BTC, depth=depth), metadata=VIEWER, timeout=T
        )
        return response

    two = await book(2)
    assert [(level.price, level.size) for level in two.bids] == [("29999.5", "1.5"), ("29999", "2")]
    assert [(level.price, level.size) for level in two.asks] == [("30000.5", "1.25"), ("30001", "2")]
    assert (two.instrument_id, two.sequence) == (BTC, 100)
    assert two.time.seconds > 0
    default = await book(0)  # 0 is the default depth, 10: the whole three-level book
    assert (len(default.bids), len(default.asks)) == (3, 3)
    assert (await book(1000)) == default  # the maximum
    assert [(level.price, level.size) for level in (await book(1)).asks] == [("30000.5", "1.25")]
    refusal = await refused(
        env.stub.market.GetOrderBook(
            market_data_pb2.GetOrderBookRequest(instrument_id=ETH), metadata=VIEWER, timeout=T
        )
    )
    assert refusal.code == grpc.StatusCode.NOT_FOUND  # the ETH feed sent no book


async def test_stream_quotes_all_and_filtered(env: Env) -> None:
    every = env.stub.market.StreamQuotes(market_data_pb2.StreamQuotesRequest(), metadata=VIEWER)
    btc_only = env.stub.market.StreamQuotes(
        market_data_pb2.StreamQuotesRequest(instrument_ids=[BTC]), metadata=VIEWER
    )
    await subscribed(env, "quotes", 2)

    env.publish(quote("1999.99", "2000.01", instrument=ETH, bid_size="3.5"))
    env.publish(quote("29999.99", "30000.01", bid_size="0.001", ask_size="12.345"))

    first, second = (await next_message(every)).quote, (await next_message(every)).quote
    assert (first.instrument_id, first.bid_price, first.bid_size, first.ask_price) == (
        ETH,
        "1999.99",
        "3.5",
        "2000.01",
    )
    assert (second.instrument_id, second.bid_price, second.bid_size) == (BTC, "29999.99", "0.001")
    assert (second.ask_price, second.ask_size) == ("30000.01", "12.345")
    assert (await next_message(btc_only)).quote == second
    every.cancel()
    btc_only.cancel()


async def test_stream_trades_all_and_filtered(env: Env) -> None:
    every = env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER)
    eth_only = env.stub.market.StreamTrades(
        market_data_pb2.StreamTradesRequest(instrument_ids=[ETH]), metadata=VIEWER
    )
    await subscribed(env, "trades", 2)

    env.publish(trade("30001.25", "t-btc", size="0.075"))
    env.publish(trade("2001.10", "t-eth", instrument=ETH, size="2"))

    btc, eth = (await next_message(every)).trade, (await next_message(every)).trade
    assert (btc.instrument_id, btc.trade_id, btc.price, btc.size) == (BTC, "t-btc", "30001.25", "0.075")
    assert btc.aggressor == market_data_pb2.AGGRESSOR_SIDE_SELLER
    assert (eth.instrument_id, eth.trade_id, eth.price, eth.size) == (ETH, "t-eth", "2001.1", "2")
    assert (await next_message(eth_only)).trade == eth
    every.cancel()
    eth_only.cancel()


# -- RiskService ------------------------------------------------------------------------------------


async def test_get_risk_limits_as_configured(env: Env) -> None:
    limits = (
        await env.stub.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest(), metadata=VIEWER, timeout=T)
    ).limits
    assert (limits.max_order_quantity, limits.max_position_quantity, limits.price_band_fraction) == (
        "5",
        "50",
        "0.05",
    )
    assert (limits.max_open_orders, limits.max_orders_per_window, limits.window_ns) == (
        500,
        10_000,
        60_000_000_000,
    )
    for unset in ("max_order_notional", "max_gross_exposure", "daily_loss_limit", "max_drawdown_fraction"):
        assert not limits.HasField(unset), unset
    assert not limits.instrument_limits


async def test_update_risk_limits_takes_effect_on_the_next_order_and_clear_removes_it(env: Env) -> None:
    updated = await env.stub.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(limits=risk_pb2.RiskLimits(max_order_quantity="0.005")),
        metadata=ADMIN,
        timeout=T,
    )
    assert updated.limits.max_order_quantity == "0.005"
    assert updated.limits.max_position_quantity == "50"  # unset fields keep their value
    assert updated.state.state == common_pb2.TRADING_STATE_ACTIVE

    refusal = await refused(env.submit("too-big", quantity="0.01"))
    assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
    assert (
        refusal.message
        == f"refused by risk: order quantity 0.01 exceeds the max order quantity 0.005 for {BTC}"
    )
    assert refusal.reason == "RISK_REJECTED"
    assert refusal.preconditions == (
        ("MAX_ORDER_QUANTITY", f"order quantity 0.01 exceeds the max order quantity 0.005 for {BTC}"),
    )
    assert env.order_count() == 0

    cleared = await env.stub.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(clear=["max_order_quantity"]), metadata=ADMIN, timeout=T
    )
    assert not cleared.limits.HasField("max_order_quantity")
    got = (
        await env.stub.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest(), metadata=VIEWER, timeout=T)
    ).limits
    assert got == cleared.limits
    assert (await env.submit("fits-now", quantity="0.01")).order.status == common_pb2.ORDER_STATUS_FILLED


async def test_per_instrument_limits_replace_the_table(env: Env) -> None:
    await env.stub.risk.UpdateRiskLimits(
        risk_pb2.UpdateRiskLimitsRequest(
            limits=risk_pb2.RiskLimits(
                instrument_limits={ETH: risk_pb2.InstrumentLimits(max_order_quantity="0.05")}
            )
        ),
        metadata=ADMIN,
        timeout=T,
    )
    refusal = await refused(
        env.submit("eth", instrument_id=ETH, order_type=LIMIT, price="1990.00", quantity="0.1")
    )
    assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "exceeds the max order quantity 0.05 for ETHUSDT.BINANCE" in refusal.message
    assert (await env.submit("btc", quantity="0.1")).order.status == common_pb2.ORDER_STATUS_FILLED
    limits = (
        await env.stub.risk.GetRiskLimits(risk_pb2.GetRiskLimitsRequest(), metadata=VIEWER, timeout=T)
    ).limits
    assert limits.instrument_limits[ETH].max_order_quantity == "0.05"


async def test_halt_cancels_open_orders_and_refuses_orders_until_resume(env: Env) -> None:
    await env.rest("r-1")
    await env.rest("r-2", price="29980.00")
    state = (
        await env.stub.risk.GetRiskState(risk_pb2.GetRiskStateRequest(), metadata=VIEWER, timeout=T)
    ).state
    assert (state.state, state.open_orders, state.reason) == (common_pb2.TRADING_STATE_ACTIVE, 2, "")
    assert state.equity == "1000000"

    halted = await env.stub.risk.Halt(
        risk_pb2.HaltRequest(reason="fat finger drill", cancel_open_orders=True), metadata=ADMIN, timeout=T
    )
    assert halted.state.state == common_pb2.TRADING_STATE_HALTED
    assert halted.state.reason == "KILL_SWITCH"
    assert "fat finger drill" in halted.state.message
    assert sorted((o.client_order_id, o.status) for o in halted.canceled_orders) == [
        ("r-1", common_pb2.ORDER_STATUS_CANCELED),
        ("r-2", common_pb2.ORDER_STATUS_CANCELED),
    ]
    assert halted.state.open_orders == 0
    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    assert status.trading_state == common_pb2.TRADING_STATE_HALTED

    refusal = await refused(env.submit("while-halted"))
    assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "trading is HALTED" in refusal.message
    assert ("TRADING_HALTED", "trading is HALTED: no order may be placed") in refusal.preconditions

    resumed = await env.stub.risk.Resume(risk_pb2.ResumeRequest(), metadata=ADMIN, timeout=T)
    assert resumed.state.state == common_pb2.TRADING_STATE_ACTIVE
    assert (await env.submit("after-resume")).order.status == common_pb2.ORDER_STATUS_FILLED


async def test_halt_without_cancel_keeps_the_orders_working(env: Env) -> None:
    await env.rest("stays")
    halted = await env.stub.risk.Halt(risk_pb2.HaltRequest(reason="look first"), metadata=ADMIN, timeout=T)
    assert not halted.canceled_orders
    assert halted.state.open_orders == 1
    assert set(env.app.orders.open_orders) == {"stays"}
    await env.stub.risk.Resume(risk_pb2.ResumeRequest(reset_peak=True), metadata=ADMIN, timeout=T)


# -- StrategyService --------------------------------------------------------------------------------


async def list_strategies(env: Env) -> list[strategies_pb2.Strategy]:
    response = await env.stub.strategies.ListStrategies(
        strategies_pb2.ListStrategiesRequest(), metadata=VIEWER, timeout=T
    )
    return list(response.strategies)


async def test_list_start_and_stop_strategies(env: Env) -> None:
    [strategy] = await list_strategies(env)
    assert (strategy.id, strategy.kind, list(strategy.instrument_ids)) == (STRATEGY, "sma_crossover", [BTC])
    assert dict(strategy.parameters) == {"fast": "2", "slow": "3", "source": "trade"}
    assert (strategy.active, strategy.ready, strategy.warmup) == (False, False, 3)
    assert (strategy.sizer, strategy.allow_short, strategy.signals, strategy.error) == (
        "FixedQuantity",
        False,
        0,
        "",
    )

    started = await env.stub.strategies.StartStrategy(
        strategies_pb2.StartStrategyRequest(strategy_id=STRATEGY), metadata=TRADER, timeout=T
    )
    assert started.strategy.active
    assert env.app.strategies.slot(STRATEGY).active
    stopped = await env.stub.strategies.StopStrategy(
        strategies_pb2.StopStrategyRequest(strategy_id=STRATEGY), metadata=TRADER, timeout=T
    )
    assert not stopped.strategy.active
    assert not (await list_strategies(env))[0].active


async def test_update_strategy_params_valid_then_invalid(env: Env) -> None:
    updated = await env.stub.strategies.UpdateStrategyParams(
        strategies_pb2.UpdateStrategyParamsRequest(
            strategy_id=STRATEGY, parameters={"fast": "5", "slow": "8"}
        ),
        metadata=TRADER,
        timeout=T,
    )
    assert dict(updated.strategy.parameters) == {"fast": "5", "slow": "8", "source": "trade"}
    assert updated.strategy.warmup == 8

    refusal = await refused(
        env.stub.strategies.UpdateStrategyParams(
            strategies_pb2.UpdateStrategyParamsRequest(strategy_id=STRATEGY, parameters={"fast": "9"}),
            metadata=TRADER,
            timeout=T,
        )
    )
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.message == "parameters.fast: must be less than slow (8)"
    assert refusal.fields == ("parameters.fast",)
    assert dict((await list_strategies(env))[0].parameters) == {"fast": "5", "slow": "8", "source": "trade"}


async def test_stream_signals_of_a_running_strategy(env: Env) -> None:
    await env.stub.strategies.StartStrategy(
        strategies_pb2.StartStrategyRequest(strategy_id=STRATEGY), metadata=TRADER, timeout=T
    )
    signals = env.stub.strategies.StreamSignals(strategies_pb2.StreamSignalsRequest(), metadata=VIEWER)
    mine = env.stub.strategies.StreamSignals(
        strategies_pb2.StreamSignalsRequest(strategy_id=STRATEGY, instrument_id=BTC), metadata=VIEWER
    )
    await subscribed(env, "signals", 2)

    # SMA(2) against SMA(3): below after the third price, above after the fourth: a BUY.
    for i, price in enumerate(("30010.00", "30000.00", "29990.00", "30020.00")):
        env.publish(trade(price, f"s-{i}"))

    signal = (await next_message(signals)).signal
    assert (signal.strategy_id, signal.instrument_id, signal.side) == (STRATEGY, BTC, common_pb2.SIDE_BUY)
    assert signal.strength == 1.0
    assert signal.target_position == ""
    assert signal.reason.startswith("fast SMA(2) 30005 crossed above slow SMA(3) 30003.3")
    assert signal.time.seconds > 0
    assert (await next_message(mine)).signal == signal
    [strategy] = await list_strategies(env)
    assert (strategy.signals, strategy.intents, strategy.ready) == (1, 1, True)
    # The signal was traded: a market buy of the sizer's 0.001, attributed to the strategy.
    orders = (
        await env.stub.orders.ListOrders(
            orders_pb2.ListOrdersRequest(strategy_id=STRATEGY), metadata=VIEWER, timeout=T
        )
    ).orders
    assert [(o.quantity, o.status, o.side) for o in orders] == [
        ("0.001", common_pb2.ORDER_STATUS_FILLED, common_pb2.SIDE_BUY)
    ]
    signals.cancel()
    mine.cancel()


# -- EngineService, health, reflection --------------------------------------------------------------


async def test_get_status(env: Env) -> None:
    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    assert (status.name, status.version, status.mode, status.broker) == (
        "grpc-it",
        "0.0.0-test",
        "test",
        "paper",
    )
    assert status.running
    assert status.start_time.seconds > 0
    assert status.uptime.ToNanoseconds() > 0
    assert (status.trading_state, status.trading_reason) == (common_pb2.TRADING_STATE_ACTIVE, "")
    assert status.equity == "1000000"
    [feed] = status.feeds
    assert (feed.name, feed.connected, feed.messages, feed.gaps, feed.last_error) == (
        "memory",
        True,
        4,
        0,
        "",
    )
    assert feed.last_message_time.seconds > 0
    counters = status.counters
    assert (counters.trades_seen, counters.orders_submitted, counters.fills, counters.open_orders) == (
        2,
        0,
        0,
        0,
    )
    assert counters.grpc_requests == 1
    assert counters.handler_errors == 0

    await env.submit("one", quantity="0.01")
    await env.rest("two")
    stream = env.stub.market.StreamTrades(market_data_pb2.StreamTradesRequest(), metadata=VIEWER)
    await subscribed(env, "trades")
    counters = (
        await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    ).counters
    assert (counters.orders_submitted, counters.fills, counters.open_orders) == (2, 1, 1)
    assert (counters.stream_subscribers, counters.stream_drops) == (1, 0)
    assert counters.grpc_requests == 5
    stream.cancel()


async def test_health_needs_no_token_overall_and_per_service(env: Env) -> None:
    health = health_pb2_grpc.HealthStub(env.stub.channel)
    serving = health_pb2.HealthCheckResponse.SERVING
    for service in ("", *SERVICES):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=T)
        assert response.status == serving, service
    refusal = await refused(health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=T))
    assert refusal.code == grpc.StatusCode.NOT_FOUND


async def test_health_follows_the_feed_then_the_engine(env: Env) -> None:
    health = health_pb2_grpc.HealthStub(env.stub.channel)
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING

    feed = "tradeplane.feed.memory"  # each feed has its own health service

    async def statuses() -> dict[str, int]:
        return {
            service: (await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=T)).status
            for service in ("", *SERVICES, feed)
        }

    async def eventually(expected: dict[str, int]) -> None:
        deadline = asyncio.get_running_loop().time() + T
        while (got := await statuses()) != expected:
            assert asyncio.get_running_loop().time() < deadline, got
            await asyncio.sleep(0.02)

    await eventually(dict.fromkeys(("", *SERVICES, feed), serving))
    await env.feed.stop()  # the market data feed is lost: market data is not served, the rest is
    market = "tradeplane.v1.MarketDataService"
    await eventually(
        {service: not_serving if service in (market, feed) else serving for service in ("", *SERVICES, feed)}
    )
    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    assert [(feed.name, feed.connected) for feed in status.feeds] == [("memory", False)]

    await env.app.engine.stop(cancel_open_orders=False)  # the engine stops: nothing is served
    await eventually(dict.fromkeys(("", *SERVICES, feed), not_serving))
    assert not (
        await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=T)
    ).running


async def test_reflection_lists_and_describes_the_services_without_a_token(env: Env) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(env.stub.channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="tradeplane.v1.OrderService"),
    ]
    responses = [response async for response in stub.ServerReflectionInfo(iter(requests), timeout=T)]

    listed = {service.name for service in responses[0].list_services_response.service}
    assert listed == {*SERVICES, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in responses[1].file_descriptor_response.file_descriptor_proto
    ]
    orders_file = next(f for f in files if f.name == "tradeplane/v1/orders.proto")
    assert "SubmitOrder" in {method.name for method in orders_file.service[0].method}


async def test_a_second_server_on_a_port_in_use_is_refused_with_a_hint(env: Env) -> None:
    settings = GrpcSettings(listen=f"127.0.0.1:{env.port}")
    info = EngineInfo(name="second", version="0", mode="test", broker="paper")
    second = GrpcServer(env.app, settings, info)
    with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1:\d+; is another engine"):
        await second.start()
    status = await env.stub.engine.GetStatus(engine_pb2.GetStatusRequest(), metadata=VIEWER, timeout=5)
    assert status.running  # the first one still serves
