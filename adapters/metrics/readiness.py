"""Whether the engine can do its job now: what ``/readyz`` answers.

Ready means the engine runs, every feed is connected and every traded instrument's data is
usable (the test pre-trade risk applies), the stores take writes, and the broker reaches its
venue. Each thing that is not is named with why, so a probe's log says what to look at.
"""

from __future__ import annotations

from adapters.metrics.view import EngineView
from adapters.persistence.market_data_store import SqlMarketDataRepository


def not_ready(view: EngineView) -> dict[str, str]:
    """``{"feed:binance": "disconnected", ...}``: empty when ready."""
    problems: dict[str, str] = {}
    if not view.engine.running:
        problems["engine"] = "not running"
    for feed in view.ingestion.health():
        if not feed.connected:
            problems[f"feed:{feed.name}"] = "disconnected" + (
                f" ({feed.last_error})" if feed.last_error else ""
            )
    for data in view.engine.market_data():
        if not data.usable:
            problems[f"instrument:{data.instrument_id}"] = data.problem or "market data not usable"
    if not view.risk.store_writable:
        problems["store:trades"] = "the last commit failed"
    store = view.market_data
    if isinstance(store, SqlMarketDataRepository) and not store.last_write_ok:
        problems["store:market_data"] = store.last_error or "the last batch was not written"
    if view.broker_health is not None:
        health = view.broker_health()
        if not health.connected:
            reason = f" ({health.last_error})" if health.last_error else ""
            problems[f"broker:{view.broker_name}"] = "not connected to its venue" + reason
    return problems
