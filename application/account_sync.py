"""The venue's balances are the truth: the portfolio's cash follows a networked venue's account.

A real venue moves balances for reasons the engine never sees as fills (a fee paid in a third
asset, a deposit, a withdrawal, a fill booked before the engine restarted). When it reports an
asset's total (``BalancesReported``), the portfolio's balance of that asset is set to it; each
difference the engine's own fills did not explain is logged with both values. Only assets the
engine trades or values are followed; the rest of the account is not its business.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal

from application.execution import RiskMonitor
from application.messages import BalancesReported
from application.ports import Clock, TradeRepository
from domain.portfolio import Portfolio
from domain.values import exact_sub, plain

log = logging.getLogger("tradeplane.account")


class AccountSync:
    """Applies ``BalancesReported`` to the portfolio, saved and committed like a fill's cash."""

    __slots__ = ("_assets", "_clock", "_monitor", "_portfolio", "_trades", "adjustments")

    def __init__(
        self,
        *,
        portfolio: Portfolio,
        trades: TradeRepository,
        monitor: RiskMonitor,
        clock: Clock,
        assets: Iterable[str],
    ) -> None:
        self._portfolio = portfolio
        self._clock = clock
        self._trades = trades
        self._monitor = monitor
        self._assets = frozenset(assets)
        self.adjustments = 0
        """Balances changed because the venue said so (not by a fill the engine booked)."""

    def on_balances(self, report: BalancesReported) -> None:
        if self.apply(report.balances, why="the venue's account update"):
            now = self._clock.now_ns()  # the engine's time: the venue's runs on its own clock
            self._trades.save_balances(self._portfolio.account.balances, now)
            self._monitor.commit_trades()
            self._monitor.mark_to_market(now)

    def apply(self, balances: Mapping[str, Decimal], *, why: str) -> bool:
        """Set each followed asset's balance to the venue's; True when one changed."""
        account = self._portfolio.account
        changed = False
        for asset, venue_total in sorted(balances.items()):
            if asset not in self._assets:
                continue
            ours = account.balance(asset)
            difference = exact_sub(venue_total, ours)
            if not difference:
                continue
            if difference > 0:
                account.deposit(asset, difference)
            else:
                account.withdraw(asset, difference.copy_negate())
            self.adjustments += 1
            changed = True
            log.warning(
                "balance of %s follows %s: %s here, %s at the venue",
                asset,
                why,
                plain(ours),
                plain(venue_total),
            )
        return changed
