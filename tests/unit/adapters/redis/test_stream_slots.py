"""How a cluster consumer splits its streams into XREADGROUP calls: one per hash slot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from adapters.redis.shards import ShardLayout
from adapters.redis.stream_consumer import _by_slot

names = st.one_of(
    st.text(min_size=1, max_size=12),
    st.integers(0, 15).map(lambda shard: ShardLayout(shards=16).market_stream(shard)),
    st.integers(0, 15).map(lambda shard: ShardLayout(shards=16).signals_stream(shard)),
)


@given(st.lists(names, min_size=1, max_size=30, unique=True))
def test_every_stream_is_read_once_in_a_call_of_its_own_slot(streams: list[str]) -> None:
    groups = _by_slot(streams)
    assert sorted(stream for group in groups for stream in group) == sorted(streams)
    slots = [{key_slot(stream.encode()) for stream in group} for group in groups]
    assert all(len(group_slots) == 1 for group_slots in slots)  # no CROSSSLOT
    assert len({next(iter(group_slots)) for group_slots in slots}) == len(groups)  # one call per slot
    for group in groups:  # each call names its streams in the order they were given
        assert [stream for stream in streams if stream in group] == list(group)


def test_a_shards_market_and_signals_streams_are_read_together() -> None:
    layout = ShardLayout(shards=4)
    streams = [layout.market_stream(2), layout.signals_stream(2), layout.market_stream(3)]
    assert _by_slot(streams) == [(streams[0], streams[1]), (streams[2],)]
