"""LeadLag: trade the follower venue when the leader venue has moved and the follower has not.

The same asset quoted on two venues moves together, but not at the same instant: one venue
(the leader, often the deepest market) tends to move first. When the leader's price has moved
by more than ``threshold_bps`` over its last ``lookback`` prices and the follower's own move
over its last ``lookback`` prices falls short of it by more than ``threshold_bps``, the
follower is expected to catch up: BUY it when the leader went up, SELL it when it went down.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from domain.errors import InvalidParameter, InvalidValue
from domain.identifiers import InstrumentId
from domain.indicators import MAX_PERIOD
from domain.signals import Signal
from domain.strategies.base import NO_SIGNALS, PriceSource
from domain.strategies.parameters import ParameterReader, check_int, check_real, check_source
from domain.strategies.price_strategy import InstrumentState, PriceStrategy, format_number
from domain.values import OrderSide

MAX_THRESHOLD_BPS: Final = 10_000.0
"""A 100 % move: a larger threshold can never be met, so it is a unit mistake."""
_BPS: Final = 10_000.0


def _leader(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidParameter("leader", value, "is required: the id of one of the two instruments")
    try:
        return InstrumentId(value.strip())
    except InvalidValue as error:
        raise InvalidParameter("leader", value, error.problem) from None


@dataclass(frozen=True, kw_only=True)
class LeadLagParams:
    """Parameters of :class:`LeadLag`: ``leader``, ``threshold_bps``, ``lookback``, ``source``.

    ``leader`` is the id of the instrument that moves first (required; it must be one of the
    strategy's two instruments, checked when the strategy is built); ``threshold_bps`` a
    number in (0, 10000]; ``lookback`` in [2, 100000] prices; ``source`` "mid" (the default),
    "trade" or "bar". Raises InvalidParameter naming the offending field.
    """

    leader: str = ""
    threshold_bps: float = 5.0
    lookback: int = 20
    source: PriceSource = PriceSource.MID

    def __post_init__(self) -> None:
        object.__setattr__(self, "leader", _leader(self.leader))
        object.__setattr__(
            self,
            "threshold_bps",
            check_real("threshold_bps", self.threshold_bps, above=0.0, maximum=MAX_THRESHOLD_BPS),
        )
        check_int("lookback", self.lookback, minimum=2, maximum=MAX_PERIOD)
        object.__setattr__(self, "source", check_source(self.source))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> LeadLagParams:
        """Parse ``{"leader": "BTCUSDT.BINANCE", "threshold_bps": "5", ...}``; absent keys
        take the defaults (``leader`` has none).

        Raises InvalidParameter for an unknown key (listing the allowed ones), a value of the
        wrong type, out of range, or a missing or malformed leader.
        """
        reader = ParameterReader("lead_lag", mapping, cls)
        return cls(
            leader=mapping.get("leader", ""),  # type: ignore[arg-type]  # checked in __post_init__
            threshold_bps=reader.number("threshold_bps"),
            lookback=reader.integer("lookback"),
            source=reader.source(),
        )


class _WindowState(InstrumentState):
    """The last ``lookback`` prices of one instrument."""

    __slots__ = ("prices",)

    def __init__(self, instrument_id: InstrumentId, lookback: int) -> None:
        super().__init__(instrument_id)
        self.prices: deque[float] = deque(maxlen=lookback)

    def move_bps(self) -> float:
        """The move from the oldest to the newest price of the window, in basis points."""
        prices = self.prices
        return (prices[-1] - prices[0]) / prices[0] * _BPS


class LeadLag(PriceStrategy[LeadLagParams, _WindowState]):
    """Trades the follower of two instruments when the leader moved and the follower lags.

    Built on exactly two instruments, ``leader`` one of them; the other is the follower.
    Every price (``source``) of either updates its window of the last ``lookback`` prices.
    Once both windows are full, each update compares the moves (oldest to newest, in bps):
    with ``L`` the leader's, ``F`` the follower's and ``t`` ``threshold_bps``, the call is BUY
    when ``L > t`` and ``L - F > t``, SELL when ``L < -t`` and ``F - L > t``, none otherwise.
    A signal, always on the follower, is emitted when the call changes to BUY or SELL, so a
    lag lasting many updates gives one signal; the call must change (to none, or to the other
    side) before the same side can signal again. ``strength`` is 1.0. ``warmup`` is
    ``lookback`` prices on each instrument. The reason reads e.g. "leader BTCUSDT.BINANCE moved
    +12.5 bps over 20 prices, BTC-USDT.COINBASE +1.25 bps".
    """

    __slots__ = ("_call", "_follower", "_leader")

    name: ClassVar[str] = "lead_lag"

    @classmethod
    def parse_parameters(cls, mapping: Mapping[str, object]) -> LeadLagParams:
        """See :meth:`LeadLagParams.from_mapping`."""
        return LeadLagParams.from_mapping(mapping)

    def _new_state(self, params: LeadLagParams, instrument_id: InstrumentId) -> _WindowState:
        return _WindowState(instrument_id, params.lookback)

    def _warmup_of(self, state: _WindowState) -> int:
        maxlen = state.prices.maxlen
        assert maxlen is not None  # always built with one
        return maxlen

    def _apply(self, params: LeadLagParams) -> None:
        # Checked before anything changes, so a bad update leaves the strategy as it was.
        ids = sorted(self._instrument_ids)
        if len(ids) != 2:
            raise InvalidParameter(
                "instrument_ids", ids, "lead_lag needs exactly two instruments: the leader and the follower"
            )
        if params.leader not in ids:
            raise InvalidParameter(
                "leader", params.leader, f"must be one of the instruments {', '.join(ids)}"
            )
        super()._apply(params)
        self._leader = self._states[InstrumentId(params.leader)]
        self._follower = next(state for state in self._states.values() if state is not self._leader)
        self._call = 0  # 1 BUY, -1 SELL, 0 none: the last update's call

    @property
    def leader(self) -> InstrumentId:
        return self._leader.instrument_id

    @property
    def follower(self) -> InstrumentId:
        return self._follower.instrument_id

    def _on_price(self, state: _WindowState, price: float, ts_event: int) -> Sequence[Signal]:
        state.prices.append(price)
        state.count += 1
        leader, follower = self._leader, self._follower
        warmup = self._warmup
        if leader.count < warmup or follower.count < warmup:
            return NO_SIGNALS
        threshold = self._params.threshold_bps
        lead = leader.move_bps()
        follow = follower.move_bps()
        if lead > threshold and lead - follow > threshold:
            call = 1
        elif lead < -threshold and follow - lead > threshold:
            call = -1
        else:
            call = 0
        previous = self._call
        self._call = call
        if call in (0, previous):
            return NO_SIGNALS
        reason = (
            f"leader {leader.instrument_id} moved {_signed(lead)} bps over {warmup} prices,"
            f" {follower.instrument_id} {_signed(follow)} bps"
        )
        return self._signal(follower, OrderSide.BUY if call > 0 else OrderSide.SELL, reason, ts_event)


def _signed(value: float) -> str:
    text = format_number(value)
    return text if text.startswith("-") else "+" + text
