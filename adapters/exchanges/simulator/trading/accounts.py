"""The account's balances: free and locked per asset, moved only by orders and their fills.

An open order locks what it may spend (a BUY the quote, a SELL the base); a fill spends from
that lock and credits what it bought less the commission; an order that ends gives back what
it still locks. Every asset touched since the last ``take_changed()`` is remembered, so an
``outboundAccountPosition`` can name exactly the assets that moved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from adapters.exchanges.simulator.trading.errors import INSUFFICIENT_BALANCE, order_rejected
from adapters.exchanges.simulator.trading.filters import has_precision

ZERO = Decimal(0)


class Account:
    """Free and locked balances by asset; an attempt to lock more than is free is -2010."""

    def __init__(self, balances: Mapping[str, Decimal], assets: Iterable[str] = ()) -> None:
        self._free: dict[str, Decimal] = {}
        self._locked: dict[str, Decimal] = {}
        for asset, amount in balances.items():
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                raise ValueError(f"the balance of {asset} must be a Decimal >= 0, was {amount!r}")
            if not has_precision(amount):
                raise ValueError(f"the balance of {asset} has more than 8 decimals: {amount}")
            self._free[asset] = amount
            self._locked[asset] = ZERO
        for asset in assets:
            self._free.setdefault(asset, ZERO)
            self._locked.setdefault(asset, ZERO)
        self._changed: set[str] = set()

    @property
    def assets(self) -> list[str]:
        return sorted(self._free)

    def free(self, asset: str) -> Decimal:
        return self._free.get(asset, ZERO)

    def locked(self, asset: str) -> Decimal:
        return self._locked.get(asset, ZERO)

    def lock(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked; -2010 when less is free."""
        if amount > self.free(asset):
            raise order_rejected(INSUFFICIENT_BALANCE)
        self._move(asset, -amount, amount)

    def unlock(self, asset: str, amount: Decimal) -> None:
        """Give back ``amount`` of a lock (an order ended, or spent less than it locked)."""
        self._move(asset, amount, -amount)

    def spend_locked(self, asset: str, amount: Decimal) -> None:
        """A fill pays ``amount`` out of the order's lock."""
        self._move(asset, ZERO, -amount)

    def credit(self, asset: str, amount: Decimal) -> None:
        """A fill receives ``amount`` (already net of commission) into free."""
        self._move(asset, amount, ZERO)

    def take_changed(self) -> list[str]:
        """Assets moved since the last call, sorted; forgets them."""
        changed = sorted(self._changed)
        self._changed.clear()
        return changed

    def snapshot(self) -> dict[str, tuple[Decimal, Decimal]]:
        """asset -> (free, locked), every asset the account knows."""
        return {asset: (self._free[asset], self._locked[asset]) for asset in self.assets}

    def _move(self, asset: str, free_delta: Decimal, locked_delta: Decimal) -> None:
        free = self._free.get(asset, ZERO) + free_delta
        locked = self._locked.get(asset, ZERO) + locked_delta
        if free < 0 or locked < 0:  # a bug in the venue, never a client's doing
            raise RuntimeError(f"{asset} would go negative: free {free}, locked {locked}")
        self._free[asset] = free
        self._locked[asset] = locked
        if free_delta or locked_delta:
            self._changed.add(asset)
