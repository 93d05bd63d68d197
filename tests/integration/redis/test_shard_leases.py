"""Shard leases among strategy workers, against a real Redis.

Short leases (300 ms) and real sleeps: expiry is the server's, so it cannot be faked. The safety
property is checked from outside, against the lease keys themselves: whenever a worker believes
it owns a shard, the shard's lease in Redis names that worker with the token it was given.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

import pytest
import redis
import redis.asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.redis.shard_leases import LeaseChanges, ShardLeases, lease_value, parse_lease_value
from adapters.redis.shards import ShardLayout
from tests.integration.redis.conftest import run

pytestmark = pytest.mark.redis

TTL_MS = 300
REFRESH_S = TTL_MS / 3 / 1000


def worker(client: redis.asyncio.Redis, layout: ShardLayout, name: str) -> ShardLeases:
    return ShardLeases(client, layout, name, ttl_ms=TTL_MS)


async def settle(workers: Sequence[ShardLeases], rounds: int = 3) -> None:
    """Every worker refreshes ``rounds`` times, giving up what it is asked to, as a caller would."""
    for _ in range(rounds):
        for each in workers:
            changes = await each.refresh()
            for shard in changes.to_release:
                await each.release(shard)


async def lease_owners(client: redis.asyncio.Redis, layout: ShardLayout) -> dict[int, str]:
    values = [await client.get(layout.lease_key(shard)) for shard in range(layout.shards)]
    return {shard: str(value, "utf-8") for shard, value in enumerate(values) if isinstance(value, bytes)}


def test_one_worker_gets_every_shard(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=8)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            alone = worker(client, layout, "w-1")
            assert alone.owned == frozenset()
            assert alone.fair_share() == 0
            changes = await alone.refresh()
            assert changes == LeaseChanges(acquired=frozenset(range(8)))
            assert alone.owned == frozenset(range(8))
            assert alone.fair_share() == 8
            owners = await lease_owners(client, layout)
            assert owners == {s: lease_value("w-1", alone.tokens()[s]) for s in range(8)}
            assert await alone.refresh() == LeaseChanges()  # renewed, nothing new

    run(scenario())


def test_two_workers_split_the_shards_evenly(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=8)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            first, second = worker(client, layout, "w-1"), worker(client, layout, "w-2")
            await first.refresh()  # alone: takes all eight
            await settle([second, first, second])
            assert len(first.owned) == len(second.owned) == 4
            assert first.owned.isdisjoint(second.owned)
            assert first.owned | second.owned == frozenset(range(8))
            assert first.fair_share() == second.fair_share() == 4
            owners = await lease_owners(client, layout)
            for each in (first, second):
                for shard, token in each.tokens().items():
                    assert owners[shard] == lease_value(each.worker_id, token)

    run(scenario())


def test_a_dead_workers_shards_move_to_the_survivor(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=8)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            dead, survivor = worker(client, layout, "w-dead"), worker(client, layout, "w-alive")
            await settle([dead, survivor])
            assert len(survivor.owned) == 4
            died_at = time.monotonic()  # ``dead`` never refreshes again
            while len(survivor.owned) < 8:
                assert time.monotonic() - died_at < (TTL_MS / 1000 + REFRESH_S) + 0.25
                changes = await survivor.refresh()
                assert not changes.lost
                await asyncio.sleep(REFRESH_S)
            assert survivor.fair_share() == 8
            assert dead.owned == frozenset()  # cut off for longer than its lease: it stopped itself
            assert dead.tokens() == {}

    run(scenario())


def test_a_joining_worker_gets_its_share_from_the_others(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=8)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            first, second = worker(client, layout, "w-1"), worker(client, layout, "w-2")
            await settle([first, second])
            third = worker(client, layout, "w-3")
            assert await third.refresh() == LeaseChanges()  # nothing free yet
            assert third.fair_share() == 3
            for each in (first, second):
                changes = await each.refresh()
                assert len(changes.to_release) == 1
                assert changes.to_release == {max(each.owned)}  # the highest-numbered extra
                assert changes.to_release <= each.owned  # kept until the caller releases it
                await each.release(next(iter(changes.to_release)))
            changes = await third.refresh()
            assert len(changes.acquired) == 2
            assert sorted(len(each.owned) for each in (first, second, third)) == [2, 3, 3]
            assert first.owned | second.owned | third.owned == frozenset(range(8))

    run(scenario())


def test_release_deletes_only_a_lease_that_is_still_ours(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=2)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            slow = worker(client, layout, "w-slow")
            await slow.refresh()
            await asyncio.sleep(TTL_MS / 1000 + 0.05)  # its leases lapse...
            taker = worker(client, layout, "w-taker")
            assert (await taker.refresh()).acquired == {0, 1}  # ...and are taken
            await slow.release(0)  # too late: must not delete the taker's lease
            owners = await lease_owners(client, layout)
            assert owners[0] == lease_value("w-taker", taker.tokens()[0])
            assert slow.owned == frozenset()
            await taker.release(1)  # its own: deleted now, not after the ttl
            assert 1 not in await lease_owners(client, layout)
            assert taker.owned == {0}
            await taker.release(1)  # twice, and a shard never held: nothing happens
            await slow.release(1)

    run(scenario())


def test_a_lease_taken_from_under_a_worker_is_reported_lost(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=2)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            holder = worker(client, layout, "w-1")
            await holder.refresh()
            await client.set(layout.lease_key(0), lease_value("intruder", 99), px=TTL_MS)
            changes = await holder.refresh()
            assert changes == LeaseChanges(lost=frozenset({0}))  # not re-taken in the same refresh
            assert holder.owned == {1}
            assert await client.get(layout.lease_key(0)) == b"intruder:99"

    run(scenario())


def test_fencing_tokens_grow_from_one_owner_to_the_next(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=1)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            seen = []
            for name in ("w-1", "w-2", "w-1"):
                each = worker(client, layout, name)
                await each.refresh()
                seen.append(each.tokens()[0])
                await each.release_all()
            assert seen == sorted(set(seen))
            assert await client.zcard(layout.workers_key) == 0  # release_all leaves the live set

    run(scenario())


def test_a_redis_error_propagates_and_ownership_lapses(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=2)
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            cut_off = worker(client, layout, "w-1")
            await cut_off.refresh()
            assert cut_off.owned == {0, 1}
            await client.delete(layout.workers_key)
            await client.set(layout.workers_key, "not a sorted set")  # every refresh fails now
            with pytest.raises(redis.ResponseError):
                await cut_off.refresh()
            assert cut_off.owned == {0, 1}  # the leases renewed last time still stand...
            await asyncio.sleep(TTL_MS / 1000)
            assert cut_off.owned == frozenset()  # ...but not beyond their ttl
            assert cut_off.tokens() == {}

    run(scenario())


def test_the_heartbeat_uses_the_injected_clock(redis_url: str, prefix: str) -> None:
    async def scenario() -> None:
        layout = ShardLayout(prefix=prefix, shards=4)
        now = [1_700_000_000_000]
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            old = ShardLeases(client, layout, "w-old", ttl_ms=TTL_MS, clock_ms=lambda: now[0])
            await old.refresh()
            now[0] += TTL_MS + 1  # the first heartbeat is now older than the ttl: pruned
            new = ShardLeases(client, layout, "w-new", ttl_ms=TTL_MS, clock_ms=lambda: now[0])
            await new.refresh()
            assert new.fair_share() == 4
            assert await client.zrange(layout.workers_key, 0, -1, withscores=True) == [
                (b"w-new", float(now[0]))
            ]

    run(scenario())


# --- property: no two workers ever believe they own one shard -------------------------------

WORKERS = st.integers(0, 3)
REFRESH_ALL = st.tuples(st.just("refresh-live"), st.just(0))
SLEEP = st.tuples(st.just("sleep"), st.sampled_from([40, 120, 330]))
DIE = st.tuples(st.just("die"), WORKERS)
OPERATIONS = st.lists(
    st.one_of(  # repeated strategies weigh more: refreshes, deaths and sleeps make handovers
        REFRESH_ALL,
        REFRESH_ALL,
        REFRESH_ALL,
        SLEEP,
        SLEEP,
        DIE,
        DIE,
        st.tuples(st.just("refresh"), WORKERS),
        st.tuples(st.just("resume"), WORKERS),
        st.tuples(st.just("join"), st.just(0)),
        st.tuples(st.just("release"), WORKERS),
    ),
    min_size=1,
    max_size=24,
)
HANDOVER = [("refresh-live", 0)] * 2 + [("die", 0), ("sleep", 330), ("refresh-live", 0), ("resume", 0)]
SLEEP_BUDGET_S = 0.8  # per example, so the whole property stays within a few seconds
examples = itertools.count()


async def check_beliefs(client: redis.asyncio.Redis, layout: ShardLayout, workers: list[ShardLeases]) -> None:
    believed: dict[int, str] = {}
    for each in workers:
        tokens = dict(each.tokens())
        values = [await client.get(layout.lease_key(shard)) for shard in tokens]
        still = each.owned  # a belief that lapsed during the reads proves nothing either way
        for (shard, token), value in zip(tokens.items(), values, strict=True):
            if shard in still:
                assert value is not None, f"{each.worker_id} believes it owns {shard}, which has no lease"
                assert parse_lease_value(value) == (each.worker_id, token)
                assert shard not in believed, f"{shard} owned by {believed.get(shard)} and {each.worker_id}"
                believed[shard] = each.worker_id


async def play(redis_url: str, layout: ShardLayout, operations: list[tuple[str, int]]) -> None:
    async with redis.asyncio.Redis.from_url(redis_url) as client:
        workers = [worker(client, layout, f"w-{n}") for n in range(2)]
        live = set(range(2))
        last: dict[int, LeaseChanges] = {}
        highest_token: dict[int, int] = {}
        slept = 0.0

        async def refresh(n: int) -> None:
            changes = last[n] = await workers[n].refresh()
            assert changes.acquired.isdisjoint(changes.lost)
            assert changes.to_release <= workers[n].owned
            for shard in changes.acquired:
                token = workers[n].tokens()[shard]
                assert token > highest_token.get(shard, 0), "a new owner's token must be higher"
                highest_token[shard] = token

        for operation, argument in operations:
            n = argument % len(workers)
            if operation == "refresh" and n in live:
                await refresh(n)
            elif operation == "refresh-live":
                for each in sorted(live):
                    await refresh(each)
            elif operation == "die":
                live.discard(n)
            elif operation == "resume":  # a worker cut off for a while comes back
                live.add(n)
            elif operation == "join" and len(workers) < 4:
                workers.append(worker(client, layout, f"w-{len(workers)}"))
                live.add(len(workers) - 1)
            elif operation == "release" and n in live:
                wanted = last[n].to_release if n in last else frozenset()
                for shard in sorted(wanted or workers[n].owned)[:1]:
                    await workers[n].release(shard)
            elif operation == "sleep" and slept < SLEEP_BUDGET_S:
                slept += argument / 1000
                await asyncio.sleep(argument / 1000)
            await check_beliefs(client, layout, workers)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(operations=[*HANDOVER, ("refresh", 0), ("join", 0), ("refresh-live", 0), ("release", 1)])
@given(operations=OPERATIONS)
def test_no_shard_is_ever_believed_owned_by_two_workers(
    redis_url: str, prefix: str, operations: list[tuple[str, int]]
) -> None:
    layout = ShardLayout(prefix=f"{prefix}example-{next(examples)}:", shards=8)  # keys of this example
    run(play(redis_url, layout, operations))
