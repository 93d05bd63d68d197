"""The simulator's random-walk market: deterministic per seed, contiguous sequences, never crossed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from adapters.exchanges.binance.parsing import parse_depth_snapshot, parse_frame
from adapters.exchanges.simulator.market import (
    BOOK_TICKER,
    DEPTH,
    TRADE,
    MarketFrame,
    MarketParams,
    RandomWalkMarket,
)
from adapters.exchanges.simulator.recording import FrameRecorder, RecordedMarket
from domain.identifiers import InstrumentId
from domain.market_data import BookDelta, TradeTick
from domain.order_book import OrderBook

SYMBOLS = ("BTCUSDT", "ETHUSDT")
START_MS = 1_770_000_000_000


def run(market: RandomWalkMarket, steps: int) -> list[MarketFrame]:
    frames: list[MarketFrame] = []
    for step in range(steps):
        frames.extend(market.step(START_MS + step * 10))
    return frames


def test_same_seed_gives_the_same_frames() -> None:
    first = run(RandomWalkMarket(SYMBOLS, seed=7), 500)
    second = run(RandomWalkMarket(SYMBOLS, seed=7), 500)

    assert first == second
    assert {frame.kind for frame in first} == {TRADE, DEPTH, BOOK_TICKER}


def test_another_seed_gives_other_frames() -> None:
    assert run(RandomWalkMarket(SYMBOLS, seed=7), 50) != run(RandomWalkMarket(SYMBOLS, seed=8), 50)


def test_a_symbol_walks_the_same_whatever_other_symbols_are_simulated() -> None:
    alone = list(run(RandomWalkMarket(["ETHUSDT"], seed=7), 200))
    together = [f for f in run(RandomWalkMarket(SYMBOLS, seed=7), 200) if f.symbol == "ETHUSDT"]

    assert alone == together


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_depth_updates_are_contiguous_and_trade_ids_consecutive(seed: int) -> None:
    market = RandomWalkMarket(SYMBOLS, seed=seed)
    last_u = {symbol: market.snapshot(symbol, 5000)["lastUpdateId"] for symbol in SYMBOLS}
    last_t: dict[str, int] = {}

    for frame in run(market, 1000):
        payload = frame.payload
        if frame.kind == DEPTH:
            assert payload["U"] == last_u[frame.symbol] + 1
            assert payload["U"] <= payload["u"]
            assert len(payload["b"]) + len(payload["a"]) == payload["u"] - payload["U"] + 1
            last_u[frame.symbol] = payload["u"]
        elif frame.kind == TRADE:
            if frame.symbol in last_t:
                assert payload["t"] == last_t[frame.symbol] + 1
            last_t[frame.symbol] = payload["t"]
        else:
            assert payload["u"] == last_u[frame.symbol]  # bookTicker after the depth update it reflects


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_book_is_never_crossed_and_book_ticker_is_its_top(seed: int) -> None:
    market = RandomWalkMarket(SYMBOLS, seed=seed, params=MarketParams(depth=5, trade_probability=0.9))

    for step in range(2000):
        for frame in market.step(START_MS + step):
            view = market.book(frame.symbol)
            assert view.bids
            assert view.asks
            assert view.bids[0][0] < view.asks[0][0]
            if frame.kind == BOOK_TICKER:
                assert (Decimal(frame.payload["b"]), Decimal(frame.payload["B"])) == view.bids[0]
                assert (Decimal(frame.payload["a"]), Decimal(frame.payload["A"])) == view.asks[0]


def test_payloads_are_binance_format_and_rebuild_the_book_exactly() -> None:
    market = RandomWalkMarket(["BTCUSDT"], seed=7)
    instrument = InstrumentId("BTCUSDT.BINANCE")
    book = OrderBook(instrument)
    book.apply_snapshot(parse_depth_snapshot(market.snapshot("BTCUSDT", 1000), instrument, 1))
    trades = 0

    for frame in run(market, 500):
        raw = orjson.dumps({"stream": f"btcusdt@{frame.kind}", "data": frame.payload})
        event = parse_frame(raw, 1)  # the feed's own parser accepts every payload
        if isinstance(event, BookDelta):
            assert book.apply_delta(event)
        elif isinstance(event, TradeTick):
            trades += 1

    view = market.book("BTCUSDT")
    assert trades > 100
    assert book.sequence == view.last_update_id
    assert book.bids() == view.bids
    assert book.asks() == view.asks


def test_prices_and_sizes_are_eight_decimal_strings() -> None:
    frame = next(f for f in run(RandomWalkMarket(["BTCUSDT"], seed=7), 20) if f.kind == TRADE)

    assert frame.payload["p"].split(".")[1].__len__() == 8
    assert frame.payload["q"].split(".")[1].__len__() == 8
    assert Decimal(frame.payload["p"]) > 20_000  # BTCUSDT starts near 30000


def test_snapshot_holds_at_most_limit_levels_best_first() -> None:
    market = RandomWalkMarket(["BTCUSDT"], seed=7, params=MarketParams(depth=20))

    body = market.snapshot("BTCUSDT", 5)

    assert len(body["bids"]) == len(body["asks"]) == 5
    bids = [Decimal(p) for p, _ in body["bids"]]
    asks = [Decimal(p) for p, _ in body["asks"]]
    assert bids == sorted(bids, reverse=True)
    assert asks == sorted(asks)


def test_skipped_depth_update_changes_the_book_but_leaves_a_gap() -> None:
    market = RandomWalkMarket(["BTCUSDT"], seed=7)
    before = market.snapshot("BTCUSDT", 1000)["lastUpdateId"]

    market.skip_next_depth("BTCUSDT")
    skipped = market.step(START_MS)
    following = next(f for f in market.step(START_MS + 1) if f.kind == DEPTH)

    assert not [f for f in skipped if f.kind == DEPTH]
    assert following.payload["U"] > before + 1


def test_recording_replays_the_same_frames_and_serves_the_same_book(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    market = RandomWalkMarket(SYMBOLS, seed=7)
    with FrameRecorder(path) as recorder:
        for symbol in SYMBOLS:
            recorder.write_snapshot(symbol, market.snapshot(symbol, 5000))
        recorded = run(market, 300)
        for frame in recorded:
            recorder.write_frame(frame)

    replay = RecordedMarket(path)
    replayed: list[MarketFrame] = []
    while not replay.finished:
        replayed.extend(replay.step(0))

    assert replay.symbols == SYMBOLS
    assert replayed == recorded
    for symbol in SYMBOLS:
        assert replay.snapshot(symbol, 1000) == market.snapshot(symbol, 1000)
        assert replay.book(symbol) == market.book(symbol)


def test_recording_with_a_bad_line_is_refused_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"stream":"btcusdt@trade","data":{}}\nnot json\n')

    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        RecordedMarket(path)
