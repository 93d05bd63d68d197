"""Where the services' streams live: instruments split into shards, one hash slot per shard.

When ingestion, strategy and execution run as separate services, market events are appended
to one stream per *shard*, and each instrument always falls in the same shard (CRC-32 of its
id modulo the shard count, the same in every process and every Python). A strategy worker owns
whole shards, so it sees each of its instruments' events in order.

Every key of a shard carries the same Redis Cluster hash tag (``{shard-3}``), so the shard's
market stream, its signals stream, their consumer groups and its lease live on one node: one
``XREADGROUP`` can read a shard's two streams together, on a single server or a cluster.

- ``{prefix}{shard-N}:market``: normalized market events of the shard's instruments (ingestion).
- ``{prefix}{shard-N}:signals``: what the worker owning the shard decided, with its progress.
- ``{prefix}{shard-N}:lease``: which worker owns the shard now (see ``shard_leases``).
- ``{prefix}{shard-N}:lease-epoch``: the shard's last fencing token (a counter that never expires).
- ``{prefix}{workers}``: the live strategy workers and their last heartbeat.
- ``{prefix}{dead-letter}``: entries no consumer could decode or handle, with the reason.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

DEFAULT_SHARDS = 8
MAX_SHARDS = 1024


@dataclass(frozen=True, slots=True)
class ShardLayout:
    """The stream and key names of one deployment; every service of it must agree on both fields."""

    prefix: str = "tradeplane:"
    shards: int = DEFAULT_SHARDS

    def __post_init__(self) -> None:
        shards = self.shards
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
            raise ValueError(f"shards must be an integer from 1 to {MAX_SHARDS}, was {self.shards!r}")
        if "{" in self.prefix or "}" in self.prefix:
            raise ValueError(f"the key prefix may not contain braces (hash tags), was {self.prefix!r}")

    def shard_of(self, instrument_id: str) -> int:
        """The shard of ``instrument_id``: stable across processes, hosts and restarts."""
        return zlib.crc32(instrument_id.encode()) % self.shards

    def _key(self, tag: str, name: str) -> str:
        return f"{self.prefix}{{{tag}}}:{name}"

    def market_stream(self, shard: int) -> str:
        return self._key(f"shard-{self._checked(shard)}", "market")

    def signals_stream(self, shard: int) -> str:
        return self._key(f"shard-{self._checked(shard)}", "signals")

    def lease_key(self, shard: int) -> str:
        return self._key(f"shard-{self._checked(shard)}", "lease")

    def lease_epoch_key(self, shard: int) -> str:
        return self._key(f"shard-{self._checked(shard)}", "lease-epoch")

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}{{workers}}"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.prefix}{{dead-letter}}"

    def shard_of_stream(self, stream: str) -> int:
        """The shard a market or signals stream name belongs to; ValueError for any other name."""
        head = f"{self.prefix}{{shard-"
        if stream.startswith(head):
            number, _, rest = stream[len(head) :].partition("}:")
            if number.isdigit() and rest in ("market", "signals"):
                return self._checked(int(number))
        raise ValueError(f"{stream!r} is not a shard stream of this layout")

    def _checked(self, shard: int) -> int:
        if not 0 <= shard < self.shards:
            raise ValueError(f"shard {shard} is outside 0..{self.shards - 1}")
        return shard
