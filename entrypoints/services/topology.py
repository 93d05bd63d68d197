"""What the three services agree on, derived from the one configuration file they all read.

Each instrument goes to the shard of its *anchor*: the first, in sorted order, of the
instruments tied to it by strategies (a lead-lag strategy reads two instruments, so both must
reach the same worker). Every service computes the same map from the same ``[[strategies]]``
and ``[bus] shards``, so ingestion writes an instrument where its strategies' worker reads it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from adapters.redis.connection import REDIS_ERRORS, AsyncRedis, SyncRedis, async_client, describe, sync_client
from adapters.redis.shards import ShardLayout
from entrypoints.config import ConfigError, Settings


def shard_layout(settings: Settings) -> ShardLayout:
    return ShardLayout(prefix=settings.redis.prefix, shards=settings.bus.shards)


def shard_map(settings: Settings, layout: ShardLayout) -> dict[str, int]:
    """The shard of every configured instrument (see the module docstring)."""
    parent: dict[str, str] = {iid: iid for iid in settings.instrument_ids}

    def root(iid: str) -> str:
        while parent[iid] != iid:
            parent[iid] = parent[parent[iid]]
            iid = parent[iid]
        return iid

    for entry in settings.strategies:
        roots = sorted({root(iid) for iid in entry.instruments if iid in parent})
        for other in roots[1:]:
            parent[other] = roots[0]
    return {iid: layout.shard_of(root(iid)) for iid in parent}


def strategies_of_shard(settings: Settings, shards: Mapping[str, int], shard: int) -> list[str]:
    """The ids of the strategies whose instruments fall in ``shard``."""
    return [
        entry.id
        for entry in settings.strategies
        if entry.instruments and shards.get(entry.instruments[0]) == shard
    ]


def redis_client(settings: Settings, *, name: str, block_ms: int = 0) -> AsyncRedis:
    """The asyncio client of the bus: a single server or a cluster, per ``[bus] cluster``."""
    return async_client(
        settings.redis.url, timeout_s=block_ms / 1000 + 5.0, name=name, cluster=settings.bus.cluster
    )


def redact_url(url: str) -> str:
    """``url`` with its password, if any, masked (a Redis URL may carry one)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def instance_id(role: str) -> str:
    """This process's consumer name: host, pid and a random suffix (a restarted process is new)."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def sync_bus_client(settings: Settings, *, name: str) -> SyncRedis:
    """The synchronous client of the bus (ingestion's and execution's write-behind publishers).

    A single server is connected on first use, so one that is down is waited for; a cluster
    client learns the nodes at once, so a cluster no node of which answers is a ConfigError
    naming the URL, not a traceback."""
    try:
        return sync_client(settings.redis.url, timeout_s=1.0, name=name, cluster=settings.bus.cluster)
    except REDIS_ERRORS as error:
        raise ConfigError(
            f"[redis] url {redact_url(settings.redis.url)}: no node of the Redis Cluster answers"
            f" ({describe(error)}); start it, or set [bus] cluster = false for a single server"
        ) from None
