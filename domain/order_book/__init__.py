"""L2 order book of one instrument: sequence-checked deltas and the snapshot + buffer sync."""

from domain.order_book.book import OrderBook
from domain.order_book.sync import BookSync, BookSyncState, SyncStatus

__all__ = ["BookSync", "BookSyncState", "OrderBook", "SyncStatus"]
