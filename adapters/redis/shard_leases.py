"""Which strategy worker owns which shard: leases in Redis, split fairly among the live workers.

Each shard is owned by one worker at a time; a dead worker's shards pass to the survivors within
about ``ttl_ms``, and a joining worker gets its share because the others give shards up. Every
command and Lua script touches ONE key, so the protocol runs unchanged on a Redis Cluster.
The caller runs :meth:`ShardLeases.refresh` every ``ttl_ms / 3`` (two refreshes may fail
before a lease lapses). Protocol, in the order of one refresh:

1. **Heartbeat** (one script on ``workers_key``): ``ZADD`` the worker with the *server's* time
   (``TIME``: every score comes from the one server holding the key, so hosts' clocks never
   disagree), drop members older than ``ttl_ms``, ``ZCARD`` = live workers. The fair share is
   ``ceil(shards / live)``.
2. **Renew** each owned lease: ``if GET == our value then PEXPIRE``. A failed renew means the
   lease lapsed (and may be another worker's now): the shard is reported ``lost``.
3. **Acquire** while below the fair share: free shards are tried in an order starting at a hash
   of the worker id (workers start at different shards instead of racing for shard 0) with
   ``SET lease "<worker>:0" NX PX ttl``; the winner then takes a fencing token with ``INCR`` on
   the shard's ``lease_epoch_key`` and swaps it into its value (``if GET == "<worker>:0" then
   SET "<worker>:<token>" PX ttl``). Taking the token *after* winning the lease makes the
   tokens of successive owners strictly increasing without a two-key script: an owner's ``INCR``
   happens while it holds the lease, hence before any later owner's ``SET NX``. A token is only
   used once its swap succeeded.
4. **Excess**: owned above the fair share, the highest-numbered extras are reported in
   ``to_release``; the caller finishes what it is handling, then calls :meth:`release`
   (compare-and-delete, so a lease that lapsed and was taken by another is left alone).

Ownership is what Redis says: ``owned`` is empty once the last successful refresh *started*
more than ``ttl_ms`` (minus a margin for clock drift) ago on the local monotonic clock, since
a lease renewed then may have lapsed since, so a worker cut off from Redis stops by itself.
Redis errors propagate from :meth:`refresh`; what a failed refresh already learnt is kept and
reported by the next successful one (a lost shard leaves ``owned`` at once).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import redis.asyncio
import redis.asyncio.cluster

from adapters.redis.shards import ShardLayout

AsyncClient = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster

PENDING_TOKEN = 0  # fencing tokens from INCR start at 1

_HEARTBEAT = """
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
return redis.call('ZCARD', KEYS[1])
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lease_value(worker_id: str, token: int) -> str:
    """What a lease key holds: the owner and its fencing token."""
    return f"{worker_id}:{token}"


def parse_lease_value(value: str | bytes) -> tuple[str, int]:
    """``(worker_id, token)`` of a lease value (worker ids may contain colons)."""
    text = value.decode() if isinstance(value, bytes) else value
    worker_id, _, token = text.rpartition(":")
    return worker_id, int(token)


@dataclass(frozen=True, slots=True)
class LeaseChanges:
    """What one refresh changed. ``lost``: stop processing these shards at once (another worker
    may own them now). ``acquired``: rebuild their state, then process them. ``to_release``:
    above the fair share; finish the work in hand, then call ``release``. The three are disjoint."""

    acquired: frozenset[int] = frozenset()
    lost: frozenset[int] = frozenset()
    to_release: frozenset[int] = frozenset()


class ShardLeases:
    """One worker's leases on the shards of ``layout`` (see the module docstring).

    ``clock_ms`` replaces the server's clock for heartbeat scores (tests); leases always expire
    on the server's own clock and ``owned`` always ages on the local monotonic clock.
    Not safe for concurrent calls: one task refreshes and releases.
    """

    def __init__(
        self,
        client: AsyncClient,
        layout: ShardLayout,
        worker_id: str,
        *,
        ttl_ms: int = 5000,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if not worker_id:
            raise ValueError("worker_id must not be empty")
        if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 3:
            raise ValueError(f"ttl_ms must be an integer of at least 3, was {ttl_ms!r}")
        self._client = client
        self._layout = layout
        self.worker_id = worker_id
        self.ttl_ms = ttl_ms
        self._clock_ms = clock_ms
        # Up to 1% of drift between the local and the server's clock, plus a little for jitter.
        self._valid_s = (ttl_ms - ttl_ms // 100 - 2) / 1000
        self._start = zlib.crc32(worker_id.encode()) % layout.shards
        self._tokens: dict[int, int] = {}  # leases held in Redis, as far as we know
        self._announced: set[int] = set()  # shards the caller has been told it owns
        self._pending_lost: set[int] = set()  # announced, then lost, not reported yet
        self._fair_share = 0
        self._valid_until = float("-inf")  # local monotonic seconds

    @property
    def owned(self) -> frozenset[int]:
        """Shards with a lease this worker surely still holds, as of the last refresh."""
        if time.monotonic() >= self._valid_until:
            return frozenset()
        return frozenset(self._announced)

    def fair_share(self) -> int:
        """``ceil(shards / live workers)`` at the last refresh (0 before the first)."""
        return self._fair_share

    def tokens(self) -> Mapping[int, int]:
        """The fencing token of each shard in ``owned``."""
        return MappingProxyType({shard: self._tokens[shard] for shard in self.owned})

    async def refresh(self) -> LeaseChanges:
        """Heartbeat, renew, acquire up to the fair share; see the module docstring."""
        started = time.monotonic()
        live = await self._heartbeat()
        self._fair_share = -(-self._layout.shards // max(live, 1))
        lost_now = await self._renew()
        await self._acquire(exclude=lost_now)
        self._valid_until = started + self._valid_s
        acquired = frozenset(self._tokens.keys() - self._announced)
        lost = frozenset(self._pending_lost)
        self._announced = set(self._tokens)
        self._pending_lost.clear()
        extra = len(self._tokens) - self._fair_share
        to_release = frozenset(sorted(self._tokens)[-extra:]) if extra > 0 else frozenset()
        return LeaseChanges(acquired=acquired, lost=lost, to_release=to_release)

    async def release(self, shard: int) -> None:
        """Give ``shard`` up now, if its lease is still ours (compare-and-delete)."""
        token = self._tokens.get(shard)
        if token is None:
            return
        key = self._layout.lease_key(shard)
        await self._client.eval(_RELEASE, 1, key, lease_value(self.worker_id, token))
        self._forget(shard)
        self._pending_lost.discard(shard)

    async def release_all(self) -> None:
        """Clean shutdown: every lease still ours is deleted and the worker leaves the live set,
        so the others take its shards on their next refresh instead of after ``ttl_ms``."""
        for shard in sorted(self._tokens):
            await self.release(shard)
        await self._client.zrem(self._layout.workers_key, self.worker_id)
        self._pending_lost.clear()
        self._valid_until = float("-inf")

    async def _heartbeat(self) -> int:
        now = "" if self._clock_ms is None else str(int(self._clock_ms()))
        live = await self._client.eval(
            _HEARTBEAT, 1, self._layout.workers_key, self.worker_id, now, str(self.ttl_ms)
        )
        return int(live)

    async def _renew(self) -> set[int]:
        shards = sorted(self._tokens)
        if not shards:
            return set()
        replies = await self._pipelined(
            ("EVAL", _RENEW, 1, self._layout.lease_key(shard), self._value(shard), self.ttl_ms)
            for shard in shards
        )
        lost = {shard for shard, renewed in zip(shards, replies, strict=True) if not renewed}
        for shard in lost:
            self._forget(shard)
        return lost

    async def _acquire(self, *, exclude: set[int]) -> None:
        need = self._fair_share - len(self._tokens)
        if need <= 0:
            return
        count = self._layout.shards
        candidates = [
            shard
            for shard in ((self._start + step) % count for step in range(count))
            if shard not in self._tokens and shard not in exclude and shard not in self._pending_lost
        ]
        if not candidates:
            return
        taken = await self._pipelined(("EXISTS", self._layout.lease_key(shard)) for shard in candidates)
        for shard, exists in zip(candidates, taken, strict=True):
            if need <= 0:
                break
            if not exists and await self._try_acquire(shard):
                need -= 1

    async def _try_acquire(self, shard: int) -> bool:
        key = self._layout.lease_key(shard)
        pending = lease_value(self.worker_id, PENDING_TOKEN)
        if not await self._client.set(key, pending, nx=True, px=self.ttl_ms):
            return False
        token = int(await self._client.incr(self._layout.lease_epoch_key(shard)))
        value = lease_value(self.worker_id, token)
        swapped = await self._client.eval(_SWAP, 1, key, pending, value, str(self.ttl_ms))
        if swapped:
            self._tokens[shard] = token
        return bool(swapped)

    async def _pipelined(self, commands: Any) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())

    def _value(self, shard: int) -> str:
        return lease_value(self.worker_id, self._tokens[shard])

    def _forget(self, shard: int) -> None:
        del self._tokens[shard]
        if shard in self._announced:
            self._announced.discard(shard)
            self._pending_lost.add(shard)
