"""GetStatus reports each feed's per-instrument health: books verified, gaps, checksum failures."""

from __future__ import annotations

from application.ports import FeedHealth, InstrumentFeedHealth
from domain.identifiers import InstrumentId
from entrypoints.grpc.mapping import feed_to_proto


def test_a_feed_carries_its_instruments_health_in_order() -> None:
    feed = FeedHealth(
        name="kraken",
        connected=True,
        last_message_ns=2_000_000_000,
        messages=10,
        reconnects=1,
        gaps=0,
        malformed=2,
        unknown=3,
        checksum_failures=1,
        instruments=(
            InstrumentFeedHealth(
                instrument_id=InstrumentId("BTC-USD.KRAKEN"),
                book_verified=True,
                last_message_ns=2_000_000_000,
                checksum_failures=1,
                resubscriptions=1,
            ),
            InstrumentFeedHealth(
                instrument_id=InstrumentId("ETH-USD.KRAKEN"), book_verified=False, last_message_ns=None
            ),
        ),
    )
    message = feed_to_proto(feed)
    assert (message.unknown, message.checksum_failures, message.malformed) == (3, 1, 2)
    assert [i.instrument_id for i in message.instruments] == ["BTC-USD.KRAKEN", "ETH-USD.KRAKEN"]
    first, second = message.instruments
    assert first.book_verified
    assert (first.checksum_failures, first.resubscriptions) == (1, 1)
    assert first.last_message_time.seconds == 2
    assert not second.book_verified
    assert not second.HasField("last_message_time")
