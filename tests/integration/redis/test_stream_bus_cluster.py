"""The stream bus on a Redis Cluster of three masters, started for this module on loopback ports.

Streams are hash-tagged per shard (``...stream:{shard-N}:market``), chosen so that they live
on different masters: the publisher's pipeline then spans nodes, and the consumer's reads, acks,
claims and dead letters must each stay within one hash slot (CROSSSLOT otherwise). A write
to a slot the client believes is elsewhere must follow the MOVED redirection and land.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import pytest
import redis
import redis.asyncio.cluster
import redis.cluster
from redis.crc import key_slot

from adapters.redis.connection import sync_client
from adapters.redis.stream_bus import RedisStreamBus, RedisStreamConsumer, StreamRouting
from application.messages import OrderFilled
from domain.market_data import QuoteTick, TradeTick
from tests.integration.redis.conftest import run
from tests.integration.redis.test_stream_bus import Crash, fill, quote
from tests.support.redis_cluster import ClusterInfo, ClusterStartError, local_redis_cluster

pytestmark = pytest.mark.redis

TYPES = (QuoteTick, OrderFilled, TradeTick)


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterInfo]:
    try:
        with local_redis_cluster(timeout_s=30) as info:
            yield info
    except ClusterStartError as error:
        pytest.fail(f"could not start a local Redis Cluster: {error}", pytrace=False)


def node(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5.0)


def owner(cluster: ClusterInfo, key: str) -> int:
    """The port of the master that serves ``key``'s slot, as the cluster itself says."""
    with node(cluster.ports[0]) as client:
        slot = int(client.cluster("KEYSLOT", key))
        port = slot_owner(client, slot)
    assert port is not None, f"slot {slot} is not served"
    return port


def slot_owner(client: redis.Redis, slot: int) -> int | None:
    """The port of the master serving ``slot`` according to the node ``client`` talks to."""
    for start, end, primary, *_ in client.cluster("SLOTS"):
        if start <= slot <= end:
            return int(primary[1])
    return None


def spread_routing(cluster: ClusterInfo, prefix: str) -> StreamRouting:
    """A routing whose streams (one per type of ``TYPES``) are shard streams on distinct masters."""
    chosen: dict[int, str] = {}
    for shard in range(64):
        family = f"{{shard-{shard}}}:market"
        chosen.setdefault(owner(cluster, f"{prefix}stream:{family}"), family)
        if len(chosen) == len(TYPES):
            break
    families = dict(zip(TYPES, chosen.values(), strict=True))
    return StreamRouting(prefix=prefix, families=families)


@pytest.fixture
def routing(cluster: ClusterInfo) -> StreamRouting:
    return spread_routing(cluster, f"tradeplane-test:{uuid.uuid4().hex}:")


@pytest.fixture
def admin(cluster: ClusterInfo) -> Iterator[redis.cluster.RedisCluster]:
    client = sync_client(cluster.url, timeout_s=5.0, cluster=True)
    yield client
    client.close()


def streams_of(routing: StreamRouting) -> tuple[str, ...]:
    return routing.streams_for(TYPES)


def messages(n: int) -> list[object]:
    return [quote(i) if i % 2 else fill(i) for i in range(n)]


def publish(cluster: ClusterInfo, routing: StreamRouting, batch: Sequence[object]) -> None:
    client = sync_client(cluster.url, timeout_s=1.0, cluster=True)
    try:
        with RedisStreamBus(client, routing=routing, batch_size=50) as bus:
            for message in batch:
                bus.publish(message)
            assert bus.flush()
            assert bus.writes == len(batch)
            assert bus.dropped == 0
    finally:
        client.close()


def consumer(
    cluster: ClusterInfo, routing: StreamRouting, name: str, handler: Callable[[Any], None], **options: Any
) -> RedisStreamConsumer:
    return RedisStreamConsumer(
        cluster.url, "g", name, streams_of(routing), handler, routing=routing, cluster=True, **options
    )


def pending(admin: redis.cluster.RedisCluster, streams: Sequence[str]) -> dict[str, int]:
    """Pending entries of group ``g`` per consumer, over ``streams``."""
    total: Counter[str] = Counter()
    for stream in streams:
        for row in admin.xpending(stream, "g")["consumers"]:
            total[row["name"].decode()] += int(row["pending"])
    return dict(total)


async def drain(reader: RedisStreamConsumer, done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"not done in time: {reader.stats}"
        await reader.poll(20)


def test_the_publisher_writes_streams_that_live_on_different_masters(
    cluster: ClusterInfo, routing: StreamRouting, admin: redis.cluster.RedisCluster
) -> None:
    streams = streams_of(routing)
    slots = {stream: int(admin.cluster_keyslot(stream)) for stream in streams}
    assert slots == {stream: key_slot(stream.encode()) for stream in streams}
    assert len({owner(cluster, stream) for stream in streams}) == 3  # one per master

    batch = [*messages(40), *(quote(100 + i) for i in range(3))]
    publish(cluster, routing, batch)

    quotes = routing.stream_of(QuoteTick)
    fills = routing.stream_of(OrderFilled)
    assert quotes is not None
    assert fills is not None
    assert admin.xlen(quotes) == 23
    assert admin.xlen(fills) == 20
    with node(owner(cluster, quotes)) as master:  # the entries are on the slot's master itself
        assert master.xlen(quotes) == 23
        rows = cast("list[tuple[bytes, dict[bytes, bytes]]]", master.xrange(quotes))
    mids = [int(fields[b"mid"].rsplit(b":", 1)[1]) for _, fields in rows]
    assert mids == sorted(mids)  # in publish order


def test_one_group_reads_every_stream_across_masters_and_acks_each_entry(
    cluster: ClusterInfo, routing: StreamRouting, admin: redis.cluster.RedisCluster
) -> None:
    batch = messages(60)
    publish(cluster, routing, batch)
    handled: list[object] = []

    async def scenario() -> None:
        reader = consumer(cluster, routing, "c", handled.append, count=7)
        try:
            await drain(reader, lambda: len(handled) >= len(batch))
            started = time.monotonic()
            assert await reader.poll(100) == 0  # nothing new: every slot's read blocks, then returns
            assert time.monotonic() - started < 2.0
            assert reader.stats.handled == len(batch)
        finally:
            await reader.aclose()

    run(scenario())
    assert Counter(map(repr, handled)) == Counter(map(repr, batch))  # each once
    assert [m for m in handled if isinstance(m, QuoteTick)] == [m for m in batch if isinstance(m, QuoteTick)]
    assert pending(admin, streams_of(routing)) == {}


def test_a_blocking_read_over_several_slots_returns_what_arrives_while_it_waits(
    cluster: ClusterInfo, routing: StreamRouting, admin: redis.cluster.RedisCluster
) -> None:
    handled: list[object] = []

    async def scenario() -> None:
        reader = consumer(cluster, routing, "c", handled.append)
        try:
            assert await reader.start() == 0
            late = asyncio.create_task(asyncio.to_thread(publish, cluster, routing, [fill(1)]))
            assert await reader.poll(1_000) == 1  # woken on the fills' slot; the others time out
            await late
        finally:
            await reader.aclose()

    run(scenario())
    assert handled == [fill(1)]
    assert pending(admin, streams_of(routing)) == {}


def test_ack_per_batch_on_a_cluster_acks_every_slot(
    cluster: ClusterInfo, routing: StreamRouting, admin: redis.cluster.RedisCluster
) -> None:
    batch = messages(30)
    publish(cluster, routing, batch)
    handled: list[object] = []

    async def scenario() -> None:
        reader = consumer(cluster, routing, "c", handled.append, ack_per_batch=True, count=10)
        try:
            await drain(reader, lambda: len(handled) >= len(batch))
        finally:
            await reader.aclose()

    run(scenario())
    assert len(handled) == len(batch)
    assert pending(admin, streams_of(routing)) == {}


def test_a_dead_consumers_entries_are_claimed_on_every_master(
    cluster: ClusterInfo, routing: StreamRouting, admin: redis.cluster.RedisCluster
) -> None:
    batch = messages(40)
    publish(cluster, routing, batch)
    streams = streams_of(routing)
    handled: list[tuple[str, object]] = []

    async def scenario() -> None:
        def crashing(message: object) -> None:
            if len(handled) == 5:
                raise Crash  # the process dies mid-batch: nothing more is handled or acked
            handled.append(("a", message))

        a = consumer(cluster, routing, "a", crashing, count=50, min_idle_ms=150)
        with pytest.raises(Crash):
            await a.poll(0)
        await a.aclose()
        left = pending(admin, streams)["a"]
        assert left == len(batch) - 5

        b = consumer(
            cluster,
            routing,
            "b",
            lambda message: handled.append(("b", message)),
            count=50,
            min_idle_ms=150,
            claim_interval_ms=50,
        )
        try:
            await drain(b, lambda: len(handled) >= len(batch))
            assert b.stats.claimed == left
        finally:
            await b.aclose()

    run(scenario())
    assert Counter(repr(m) for _, m in handled) == Counter(map(repr, batch))  # no loss, no duplicate
    assert pending(admin, streams) == {}


def test_a_malformed_entry_is_dead_lettered_across_slots(
    cluster: ClusterInfo, routing: StreamRouting, admin: redis.cluster.RedisCluster
) -> None:
    stream = routing.stream_of(QuoteTick)
    assert stream is not None
    assert key_slot(stream.encode()) != key_slot(routing.dead_letter_stream.encode())  # no transaction
    admin.xadd(stream, {"type": "Teleport", "mid": "p:1", "data": b"{}"})
    publish(cluster, routing, [quote(1)])
    handled: list[object] = []

    async def scenario() -> RedisStreamConsumer:
        reader = consumer(cluster, routing, "c", handled.append)
        try:
            await drain(reader, lambda: bool(handled) and reader.stats.dead_lettered == 1)
        finally:
            await reader.aclose()
        return reader

    reader = run(scenario())
    assert handled == [quote(1)]
    assert reader.stats.malformed == 1
    rows = cast("list[tuple[bytes, dict[bytes, bytes]]]", admin.xrange(routing.dead_letter_stream))
    assert [fields[b"dead_letter_reason"] for _, fields in rows] == [
        b"malformed: unknown message type 'Teleport'"
    ]
    assert rows[0][1][b"dead_letter_stream"] == stream.encode()
    assert pending(admin, streams_of(routing)) == {}


def test_a_startup_node_that_does_not_own_the_slot_still_gets_the_write_there(
    cluster: ClusterInfo, routing: StreamRouting, admin: redis.cluster.RedisCluster
) -> None:
    stream = routing.stream_of(QuoteTick)
    assert stream is not None
    home = owner(cluster, stream)
    elsewhere = next(port for port in cluster.ports if port != home)
    client = sync_client(f"redis://127.0.0.1:{elsewhere}", timeout_s=1.0, cluster=True)
    try:
        with RedisStreamBus(client, routing=routing, exported=[QuoteTick]) as bus:
            bus.publish(quote(1))
            assert bus.flush()
            assert bus.writes == 1
    finally:
        client.close()
    with node(home) as master:
        assert master.xlen(stream) == 1


def empty_slot_routing(cluster: ClusterInfo) -> StreamRouting:
    """A routing of QuoteTick to a stream whose slot holds no key yet (the other tests' shard
    tags share slots whatever their prefix)."""
    while True:
        routing = StreamRouting(
            prefix=f"tradeplane-test:{uuid.uuid4().hex}:",
            families={QuoteTick: f"{{moved-{uuid.uuid4().hex[:8]}}}:market"},
        )
        stream = routing.stream_of(QuoteTick)
        assert stream is not None
        with node(owner(cluster, stream)) as master:
            if master.cluster("COUNTKEYSINSLOT", key_slot(stream.encode())) == 0:
                return routing


def migrate_empty_slot(cluster: ClusterInfo, slot: int, source: int, target: int) -> None:
    """Hand ``slot`` (no keys in it) from master ``source`` to master ``target``, as
    ``redis-cli --cluster reshard`` does: importing, migrating, then the new owner everywhere."""
    clients = {port: node(port) for port in cluster.ports}
    try:
        source_id, target_id = (clients[port].cluster("MYID").decode() for port in (source, target))
        clients[target].cluster("SETSLOT", slot, "IMPORTING", source_id)
        clients[source].cluster("SETSLOT", slot, "MIGRATING", target_id)
        assert clients[source].cluster("COUNTKEYSINSLOT", slot) == 0
        for port in (target, source, *(p for p in cluster.ports if p not in (source, target))):
            clients[port].cluster("SETSLOT", slot, "NODE", target_id)
        deadline = time.monotonic() + 10
        while any(slot_owner(client, slot) != target for client in clients.values()):
            assert time.monotonic() < deadline, "the nodes did not agree on the slot's new owner"
            time.sleep(0.05)
    finally:
        for client in clients.values():
            client.close()


def test_a_write_to_a_slot_that_moved_follows_the_redirection(cluster: ClusterInfo) -> None:
    routing = empty_slot_routing(cluster)
    stream = routing.stream_of(QuoteTick)
    assert stream is not None
    slot = key_slot(stream.encode())
    source = owner(cluster, stream)
    target = next(port for port in cluster.ports if port != source)
    client = sync_client(cluster.url, timeout_s=1.0, cluster=True)
    try:
        assert client.nodes_manager.get_node_from_slot(slot).port == source  # the topology it learnt
        migrate_empty_slot(cluster, slot, source, target)
        assert client.nodes_manager.get_node_from_slot(slot).port == source  # now stale
        with RedisStreamBus(client, routing=routing, exported=[QuoteTick]) as bus:
            bus.publish(quote(1))
            assert bus.flush()
            assert bus.writes == 1
            assert bus.healthy
        assert client.nodes_manager.get_node_from_slot(slot).port == target  # MOVED was followed
    finally:
        client.close()
    with node(target) as master:
        assert master.xlen(stream) == 1
