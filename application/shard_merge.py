"""Execution's view of one shard: market events and the signals decided on them, in one order.

When strategy workers run apart from execution, execution reads two streams per shard: the
market events (as ingestion appended them) and the workers' decisions (``SignalDecided``, then
``ShardProgress``). One process applies a market event to the venue, the stops and risk, and
then, inside the same event, trades the signals the strategies decided on it. ``ShardMerge``
restores that order whatever the two streams' relative timing: a market event waits until the
shard's worker has said it decided everything up to it (its progress mark), and each signal is
traded right after the event it was decided on. So the same events give the same orders and
fills in both topologies.

A shard whose worker is silent (none alive, or moving) must not freeze the stops and the marks:
a market event that waited ``max_wait_ns`` is applied without its decisions, and the merge says
it is ``lagging``; a signal that arrives after its event was applied is traded at once
(``late``), sized on the state of now rather than of then.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from application.messages import SignalDecided

Position = tuple[int, int]
"""A place in an ordered log (a Redis stream entry id ``"ms-seq"`` as two integers)."""

BEGINNING: Position = (0, 0)


def position_of(entry_id: str | bytes) -> Position:
    """``"1718000000000-3"`` -> ``(1718000000000, 3)``; ValueError for anything else."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, dash, seq = text.partition("-")
    if not (dash and ms.isdigit() and seq.isdigit()):
        raise ValueError(f"not a stream position: {text!r}")
    return int(ms), int(seq)


class ShardMerge:
    """Interleaves one shard's market events with the decisions taken on them (module docstring).

    Feed it in stream order: ``market`` for each market entry, ``decided`` and ``progress`` for
    each entry of the decisions stream; then ``release`` applies what is ready. ``now_ns`` is a
    monotonic clock (only used to bound how long a market event waits for its decisions).
    """

    __slots__ = (
        "_apply_market",
        "_apply_signal",
        "_decisions",
        "_market",
        "_now_ns",
        "applied",
        "lagging",
        "late",
        "max_wait_ns",
        "progress_mark",
        "unwaited",
    )

    def __init__(
        self,
        *,
        apply_market: Callable[[object], None],
        apply_signal: Callable[[SignalDecided], None],
        now_ns: Callable[[], int],
        max_wait_ns: int,
        start: Position = BEGINNING,
    ) -> None:
        """``start``: the last market position already applied (where this run resumes)."""
        if max_wait_ns < 0:
            raise ValueError("max_wait_ns must be >= 0")
        self._apply_market = apply_market
        self._apply_signal = apply_signal
        self._now_ns = now_ns
        self.max_wait_ns = max_wait_ns
        self._market: deque[tuple[Position, object, int]] = deque()
        self._decisions: deque[tuple[Position, SignalDecided, int]] = deque()
        self.applied = start
        """The last market position applied."""
        self.progress_mark = start
        """Everything up to here has been decided by the shard's worker."""
        self.lagging = False
        """The last market event applied had waited too long for its decisions."""
        self.late = 0
        """Signals traded after their market event had been applied without them."""
        self.unwaited = 0
        """Market events applied without waiting for their decisions."""

    @property
    def waiting(self) -> int:
        """Market events read but not applied yet."""
        return len(self._market)

    def market(self, position: Position, event: object) -> None:
        """A market entry of the shard, read in stream order."""
        self._market.append((position, event, self._now_ns()))

    def decided(self, decision: SignalDecided) -> None:
        """A ``SignalDecided`` of the shard's decisions stream, read in stream order."""
        source = position_of(decision.source)
        if source <= self.applied:  # its event is applied already (or was read before a restart)
            self._trade(source, decision)
        else:
            self._decisions.append((source, decision, self._now_ns()))

    def progress(self, through: Position) -> None:
        """The worker decided everything up to ``through`` (its decisions came before this mark)."""
        self.progress_mark = max(self.progress_mark, through)

    def release(self) -> int:
        """Apply every market event that is ready, each followed by its signals; returns how many
        market events were applied."""
        applied = 0
        market = self._market
        deadline = self._now_ns() - self.max_wait_ns
        while market:
            position, event, arrived = market[0]
            decided = position <= self.progress_mark
            if not decided and arrived > deadline:
                break
            market.popleft()
            self.lagging = not decided
            self.unwaited += not decided
            self._trade_through(position, inclusive=False)  # on events this run never read
            self._apply_market(event)
            self.applied = position
            applied += 1
            self._trade_through(position, inclusive=True)
        decisions = self._decisions
        while decisions and decisions[0][2] <= deadline:  # their event never came: trade them now
            source, decision, _ = decisions.popleft()
            self._trade(source, decision)
        return applied

    def _trade_through(self, position: Position, *, inclusive: bool) -> None:
        decisions = self._decisions
        while decisions and (decisions[0][0] <= position if inclusive else decisions[0][0] < position):
            source, decision, _ = decisions.popleft()
            self._trade(source, decision)

    def _trade(self, source: Position, decision: SignalDecided) -> None:
        if source < self.applied or (source == self.applied and self.lagging):
            self.late += 1
        self._apply_signal(decision)
