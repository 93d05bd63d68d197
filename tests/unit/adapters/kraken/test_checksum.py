"""The book checksum on the venue's published vectors (K1-K4)."""

from __future__ import annotations

import zlib
from decimal import Decimal

import pytest

from adapters.exchanges.kraken.checksum import book_checksum, checksum_text, render
from adapters.exchanges.kraken.parsing import BookMessage, parse_message
from tests.unit.adapters.kraken.vectors import (
    BOOK_SNAPSHOT,
    K1_ASKS,
    K1_ASKS_TEXT,
    K1_BIDS,
    K1_BIDS_TEXT,
    K1_CHECKSUM,
    MATIC_PRECISION,
)


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        ("45285.2", 1, "452852"),
        ("0.00100000", 8, "100000"),
        ("0.001", 8, "100000"),
        ("45281.0", 1, "452810"),
        ("45281", 1, "452810"),
        ("0.1", 8, "10000000"),
        ("0.566", 4, "5660"),
        ("12", 0, "12"),
    ],
)
def test_render_keeps_trailing_zeros_and_drops_leading_ones(value: str, places: int, text: str) -> None:
    assert render(Decimal(value), places) == text


def test_k1_the_guide_book_gives_the_published_strings_and_checksum() -> None:
    assert checksum_text(K1_ASKS, [], 1, 8) == K1_ASKS_TEXT
    assert checksum_text([], K1_BIDS, 1, 8) == K1_BIDS_TEXT
    assert book_checksum(K1_ASKS, K1_BIDS, 1, 8) == K1_CHECKSUM


def _matic() -> BookMessage:
    message = parse_message(BOOK_SNAPSHOT, 0)
    assert isinstance(message, BookMessage)
    return message


def test_k2_the_published_snapshot_verifies_at_precisions_4_and_8() -> None:
    message = _matic()
    assert book_checksum(message.asks, message.bids, *MATIC_PRECISION) == 2439117997 == message.checksum


def test_k3_the_snapshot_after_the_published_update() -> None:
    message = _matic()
    bids = [
        (price, Decimal("1098.3947558")) if price == Decimal("0.5657") else (price, qty)
        for price, qty in message.bids
    ]
    assert book_checksum(message.asks, bids, *MATIC_PRECISION) == 2114181697


def test_k4_shortest_rendering_without_padding_does_not_match() -> None:
    message = _matic()
    text = "".join(
        f"{str(price).replace('.', '').lstrip('0')}{str(qty).replace('.', '').lstrip('0')}"
        for side in (message.asks, message.bids)
        for price, qty in side
    )
    assert zlib.crc32(text.encode()) == 3830085102 != message.checksum
    # and at the wrong precision the checksum fails too
    assert book_checksum(message.asks, message.bids, 5, 8) != message.checksum


def test_only_the_top_ten_levels_of_each_side_count() -> None:
    deeper_asks = (*K1_ASKS, (Decimal("45300.0"), Decimal("1.00000000")))
    deeper_bids = (*K1_BIDS, (Decimal("45200.0"), Decimal("1.00000000")))
    assert book_checksum(deeper_asks, deeper_bids, 1, 8) == K1_CHECKSUM


def test_the_checksum_is_unsigned() -> None:
    values = {book_checksum([(Decimal(p), Decimal(1))], [], 0, 0) for p in range(1, 200)}
    assert all(0 <= value <= 0xFFFFFFFF for value in values)
    assert any(value >= 2**31 for value in values)
