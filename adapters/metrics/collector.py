"""The engine's metrics as Prometheus families, computed when Prometheus scrapes.

Counters come from the recorder's ints and from the counts the engine keeps anyway (feed
health, broker reports, the bus); gauges (account, risk, positions, data health) are read
from the engine's state at that moment. Names, types and labels are the operations contract:
dashboards and alert rules query them by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import cast

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from adapters.metrics.histogram import LatencyHistogram
from adapters.metrics.recorder import EVENT_TYPES
from adapters.metrics.view import EngineView
from adapters.persistence.market_data_store import SqlMarketDataRepository
from domain.portfolio import MissingMark
from domain.risk import TradingState

PREFIX = "tradeplane_"
_le = cast(Callable[[float], str], floatToGoString)  # untyped in prometheus_client


def _counter(name: str, doc: str, labels: Iterable[str] = ()) -> CounterMetricFamily:
    return CounterMetricFamily(PREFIX + name, doc, labels=list(labels))


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=list(labels))


def _histogram(family: HistogramMetricFamily, labels: list[str], histogram: LatencyHistogram) -> None:
    buckets = [(_le(bound), float(count)) for bound, count in histogram.cumulative()]
    family.add_metric(labels, buckets, histogram.sum_seconds)


def _histogram_family(name: str, doc: str, histogram: LatencyHistogram) -> HistogramMetricFamily:
    family = HistogramMetricFamily(PREFIX + name, doc, labels=[])
    _histogram(family, [], histogram)
    return family


class EngineCollector(Collector):
    """Every ``tradeplane_*`` family of the contract but the alerts' (their component exports them)."""

    def __init__(self, view: EngineView) -> None:
        self._view = view

    def collect(self) -> Iterator[Metric]:
        self._view.recorder.fold()
        yield from self._market_data()
        yield from self._latencies()
        yield from self._orders()
        yield from self._account()
        yield from self._operations()

    # -- market data -------------------------------------------------------------------------

    def _market_data(self) -> Iterator[Metric]:
        view = self._view
        events = _counter("market_events_total", "Market events handled.", ("venue", "instrument", "type"))
        for kind, per_instrument in view.recorder.market_events.items():
            for iid, count in sorted(per_instrument.items()):
                events.add_metric([iid.venue, str(iid), EVENT_TYPES[kind]], count)
        yield events
        feeds = view.ingestion.health()
        connected = _gauge("feed_connected", "1 while the feed is connected to its venue.", ("feed",))
        per_feed = {
            "feed_messages_total": ("Frames received.", "messages"),
            "feed_malformed_total": ("Frames that could not be parsed (counted, never raised).", "malformed"),
            "feed_unknown_messages_total": ("Well-formed messages of a kind the feed ignores.", "unknown"),
            "feed_gaps_total": ("Sequence gaps seen (messages lost on the way).", "gaps"),
            "feed_checksum_failures_total": ("Book checksums that did not match.", "checksum_failures"),
            "feed_reconnects_total": ("Connections opened to replace a lost one.", "reconnects"),
        }
        counters = {name: _counter(name, doc, ("feed",)) for name, (doc, _) in per_feed.items()}
        resyncs = _counter(
            "book_resyncs_total",
            "Books rebuilt from a fresh snapshot or resubscription.",
            ("feed", "instrument"),
        )
        for feed in feeds:
            connected.add_metric([feed.name], 1.0 if feed.connected else 0.0)
            for name, (_, field) in per_feed.items():
                counters[name].add_metric([feed.name], getattr(feed, field))
            for instrument in feed.instruments:
                resyncs.add_metric([feed.name, str(instrument.instrument_id)], instrument.resubscriptions)
        yield connected
        yield from counters.values()
        yield resyncs
        synced = _gauge("book_synced", "1 while the instrument's L2 book is in sync.", ("instrument",))
        age = _gauge("market_data_age_seconds", "Age of the instrument's last price.", ("instrument",))
        usable = _gauge(
            "market_data_usable",
            "1 while the instrument's data can be traded on (feed up, book in sync, fresh).",
            ("instrument",),
        )
        for data in view.engine.market_data():
            if data.book_synced is not None:
                synced.add_metric([data.instrument_id], 1.0 if data.book_synced else 0.0)
            if data.data_age_ns is not None:
                age.add_metric([data.instrument_id], max(0, data.data_age_ns) / 1e9)
            usable.add_metric([data.instrument_id], 1.0 if data.usable else 0.0)
        yield from (synced, age, usable)

    # -- latencies ------------------------------------------------------------------------------

    def _latencies(self) -> Iterator[Metric]:
        recorder = self._view.recorder
        yield _histogram_family(
            "frame_to_handled_seconds",
            "Frame received -> every bus handler of its market event done (one event in eight timed).",
            recorder.frame_to_handled,
        )
        yield _histogram_family(
            "frame_to_order_seconds",
            "Frame received -> order handed to the broker, for orders a market event caused.",
            recorder.frame_to_order,
        )
        yield _histogram_family(
            "order_ack_seconds", "Order handed to the broker -> venue acknowledged.", recorder.order_ack
        )
        yield _histogram_family(
            "order_fill_seconds", "Order handed to the broker -> its first fill.", recorder.order_fill
        )

    # -- orders and fills -------------------------------------------------------------------------

    def _orders(self) -> Iterator[Metric]:
        view = self._view
        recorder = view.recorder
        submitted = _counter(
            "orders_submitted_total", "Orders handed to the broker.", ("instrument", "side", "strategy")
        )
        for (iid, side, strategy), count in sorted(recorder.orders_submitted.items()):
            submitted.add_metric([iid, side, strategy], count)
        outcomes = _counter("order_outcomes_total", "Orders closed, by outcome.", ("instrument", "outcome"))
        for (iid, outcome), count in sorted(recorder.outcomes.items()):
            outcomes.add_metric([iid, outcome], count)
        refusals = _counter("risk_refusals_total", "Intents refused before anything was sent.", ("reason",))
        for reason, count in sorted(recorder.risk_refusals.items()):
            refusals.add_metric([reason], count)
        fills = _counter("fills_total", "Fills booked.", ("instrument", "side"))
        for (iid, side), count in sorted(recorder.fills.items()):
            fills.add_metric([iid, side], count)
        notional = _counter(
            "traded_notional_total", "Price x quantity filled, in the quote currency.", ("instrument",)
        )
        for iid, amount in sorted(recorder.traded_notional.items()):
            notional.add_metric([iid], float(amount))
        fees = _counter("fees_paid_total", "Fees paid, in the quote currency.", ("instrument",))
        for iid, amount in sorted(recorder.fees_paid.items()):
            fees.add_metric([iid], float(amount))
        yield from (submitted, outcomes, refusals, fills, notional, fees)
        rejections = _counter("broker_rejections_total", "Orders the broker rejected.", ("broker",))
        rejections.add_metric([view.broker_name], view.reports.stats.broker_rejections)
        yield rejections
        connected = _gauge("broker_connected", "1 while the broker can reach its venue.", ("broker",))
        connected.add_metric([view.broker_name], 1.0 if _broker_connected(view) else 0.0)
        yield connected
        reconciliation = view.engine.reconciliation
        differences = _counter(
            "reconciliation_differences_total", "Differences found between the journal and the venue."
        )
        differences.add_metric([], reconciliation.differences if reconciliation is not None else 0)
        yield differences

    # -- account and risk -------------------------------------------------------------------------

    def _account(self) -> Iterator[Metric]:
        view = self._view
        portfolio, trading = view.portfolio, view.risk.trading
        currency = [portfolio.valuation_currency]
        limits = view.risk.limits
        families = {
            "equity": "Balances valued at their marks.",
            "realized_pnl": "Realized P&L of all positions, before fees.",
            "unrealized_pnl": "Unrealized P&L of the open positions at their marks.",
            "fees": "Fees of all positions.",
            "gross_exposure": "Sum of |position value|.",
            "daily_pnl": "Equity now minus equity at the start of the UTC day.",
            "daily_loss_limit": "Today's loss at which trading turns REDUCE_ONLY.",
        }
        gauges = {name: _gauge(name, doc, ("currency",)) for name, doc in families.items()}
        values: dict[str, Decimal | None] = {
            "realized_pnl": portfolio.realized_pnl(),
            "fees": portfolio.fees(),
            "daily_pnl": trading.daily_pnl,
            "daily_loss_limit": limits.daily_loss_limit,
        }
        try:
            values["equity"] = portfolio.equity()
            values["gross_exposure"] = portfolio.gross_exposure()
            values["unrealized_pnl"] = portfolio.unrealized_pnl()
        except (MissingMark, KeyError):  # an asset or a position with no price yet
            pass
        for name, value in values.items():
            if value is not None:
                gauges[name].add_metric(currency, float(value))
        yield from gauges.values()
        drawdown = _gauge("drawdown_ratio", "Drawdown as a fraction of peak equity (0..1).")
        drawdown.add_metric([], float(trading.drawdown_fraction))
        limit = _gauge("max_drawdown_ratio_limit", "Drawdown fraction at which trading halts.")
        if limits.max_drawdown_fraction is not None:
            limit.add_metric([], float(limits.max_drawdown_fraction))
        yield from (drawdown, limit)
        positions = _gauge("position", "Signed position in the base asset.", ("instrument",))
        for iid, position in sorted(portfolio.positions.items()):
            positions.add_metric([iid], float(position.quantity))
        yield positions
        state = _gauge("trading_state", "1 for the current trading state, 0 for the others.", ("state",))
        for candidate in TradingState:
            state.add_metric([candidate.value], 1.0 if trading.state is candidate else 0.0)
        yield state
        enabled = _gauge("strategy_enabled", "1 while the strategy runs.", ("strategy",))
        for slot in view.strategies.slots:
            enabled.add_metric([slot.id], 1.0 if slot.active else 0.0)
        yield enabled

    # -- stores, bus, API, build ------------------------------------------------------------------

    def _operations(self) -> Iterator[Metric]:
        view = self._view
        store = view.market_data
        writer = store if isinstance(store, SqlMarketDataRepository) else None
        commits = HistogramMetricFamily(
            PREFIX + "store_commit_seconds", "Duration of a store's commits.", labels=["store"]
        )
        _histogram(commits, ["trades"], view.recorder.trades_commit)
        if writer is not None:
            _histogram(commits, ["market_data"], view.recorder.market_data_write)
        yield commits
        failures = _counter("store_commit_failures_total", "Commits a store refused.", ("store",))
        failures.add_metric(["trades"], view.risk.store_failures)
        if writer is not None:
            failures.add_metric(["market_data"], writer.failed_batches)
        yield failures
        backlog = _gauge("market_data_writer_backlog", "Market-data batches waiting for the writer thread.")
        backlog.add_metric([], writer.backlog if writer is not None else 0)
        yield backlog
        dropped = _counter(
            "market_data_dropped_batches_total", "Market-data batches dropped: the writer was too far behind."
        )
        dropped.add_metric([], writer.dropped_batches if writer is not None else 0)
        yield dropped
        subscribers = _gauge("stream_subscribers", "Open gRPC streams.", ("stream",))
        drops = _counter(
            "stream_drops_total", "gRPC stream subscribers dropped for falling behind.", ("stream",)
        )
        requests = _counter("grpc_requests_total", "gRPC calls finished.", ("method", "code"))
        api = view.api
        if api is not None:
            for stream, count in sorted(api.stream_subscribers().items()):
                subscribers.add_metric([stream], count)
            for stream, count in sorted(api.stream_drops().items()):
                drops.add_metric([stream], count)
            for (method, code), count in sorted(api.requests().items()):
                requests.add_metric([method, code], count)
        yield from (subscribers, drops, requests)
        errors = _counter("bus_handler_errors_total", "Bus handlers that raised (isolated and counted).")
        errors.add_metric([], view.bus.stats.handler_errors)
        yield errors
        build = _gauge("build_info", "The running build (value 1).", ("version",))
        build.add_metric([view.version], 1.0)
        yield build


def _broker_connected(view: EngineView) -> bool:
    health = view.broker_health
    return True if health is None else health().connected
