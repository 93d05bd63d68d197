"""The simulator's Kraken book checksum against the venue guide's vectors, and a client's truncation."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.simulator.kraken_book import DepthBook, book_checksum
from adapters.exchanges.simulator.market import BookView
from adapters.exchanges.simulator.venue_symbols import shortest


def levels(text: str) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(q)) for p, q in (pair.split("/") for pair in text.split())]


K1_ASKS = levels(
    "45285.2/0.00100000 45286.4/1.54571953 45286.6/1.54571109 45289.6/1.54560911 45290.2/0.15890660 "
    "45291.8/1.54553491 45294.7/0.04454749 45296.1/0.35380000 45297.5/0.09945542 45299.5/0.18772827"
)
K1_BIDS = levels(
    "45283.5/0.10000000 45283.4/1.54582015 45282.1/0.10000000 45281.0/0.10000000 45280.3/1.54592586 "
    "45279.0/0.07990000 45277.6/0.03310103 45277.5/0.30000000 45277.3/1.54602737 45276.6/0.15445238"
)
K2_BIDS = levels(
    "0.5666/4831.75496356 0.5665/6658.22734739 0.5664/18724.91513344 0.5663/11563.92544914 "
    "0.5662/14006.65365711 0.5661/17454.85679807 0.566/18097.1547 0.5659/33644.89175666 "
    "0.5658/148.3464 0.5657/606.70854372"
)
K2_ASKS = levels(
    "0.5668/4410.79769741 0.5669/4655.40412487 0.567/49844.89424998 0.5671/24306.41678 "
    "0.5672/29783.25223475 0.5673/57234.71239278 0.5674/45065.04744 0.5675/5912.76380354 "
    "0.5676/42514.92434778 0.5677/36304.0847022"
)


def test_the_guide_vectors() -> None:
    assert book_checksum(K1_ASKS, K1_BIDS, 1, 8) == 3310070434
    assert book_checksum(K2_ASKS, K2_BIDS, 4, 8) == 2439117997
    k3_bids = [*K2_BIDS[:-1], (Decimal("0.5657"), Decimal("1098.3947558"))]
    assert book_checksum(K2_ASKS, k3_bids, 4, 8) == 2114181697


def test_unpadded_rendering_does_not_match() -> None:
    assert book_checksum(K2_ASKS, K2_BIDS, 0, 0) != 2439117997


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1e9"), places=3))
def test_shortest_numbers_read_back_exactly_without_exponent(value: Decimal) -> None:
    text = shortest(value)
    assert "E" not in text.upper()
    assert Decimal(text) == value


book_sides = st.dictionaries(st.integers(1, 60), st.integers(1, 9), min_size=1, max_size=30)


@given(st.lists(st.tuples(book_sides, book_sides), min_size=2, max_size=6), st.sampled_from([1, 3, 10]))
def test_a_client_applying_the_sent_levels_then_truncating_holds_the_top_levels(
    books: list[tuple[dict[int, int], dict[int, int]]], depth: int
) -> None:
    def view(bids: dict[int, int], asks: dict[int, int]) -> BookView:
        return BookView(
            0,
            [(Decimal(p), Decimal(q)) for p, q in sorted(bids.items(), reverse=True)],
            [(Decimal(p + 100), Decimal(q)) for p, q in sorted(asks.items())],
        )

    first = view(*books[0])
    server = DepthBook(depth, first)
    client_bids, client_asks = dict(first.bids[:depth]), dict(first.asks[:depth])
    for bids, asks in books[1:]:
        now = view(bids, asks)
        sent_bids, sent_asks = server.advance(now)
        for side, sent in ((client_bids, sent_bids), (client_asks, sent_asks)):
            for price, qty in sent:
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)
        client_bids = dict(sorted(client_bids.items(), reverse=True)[:depth])
        client_asks = dict(sorted(client_asks.items())[:depth])
        assert sorted(client_bids.items(), reverse=True) == now.bids[:depth]
        assert sorted(client_asks.items()) == now.asks[:depth]
