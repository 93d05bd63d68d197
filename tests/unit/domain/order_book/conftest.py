"""The book most order-book tests start from."""

from __future__ import annotations

import pytest

from domain.order_book import OrderBook
from tests.unit.domain.order_book.support import BTC, snap


@pytest.fixture
def book() -> OrderBook:
    """Bids 99/98/97, asks 101/102/103, at update id 160."""
    book = OrderBook(BTC)
    book.apply_snapshot(
        snap(
            160,
            bids=[("98", "2"), ("99", "1"), ("97", "3")],
            asks=[("101", "1.5"), ("103", "4"), ("102", "2.5")],
        )
    )
    return book
