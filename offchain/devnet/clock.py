"""Devnet time: the grace window of the current epoch, and moving chain time forward.

After each epoch, an account has ``gracePeriodSeconds`` of *unpaused* chain time to post a fresh
maintenance proof; after that it is liquidatable (``MarginAccounts.liquidationReason``). The
keepers and ``ape run advance`` use :func:`grace_window` to say when that is, and
:func:`advance_past_grace` to get there on a devnet (anvil's ``evm_setNextBlockTimestamp``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from zkmargin.errors import InputError

#: the most ``ape run advance`` moves the clock in one call (a year)
MAX_ADVANCE_SECONDS = 366 * 86_400


@dataclass(frozen=True)
class GraceWindow:
    """The current epoch's grace window, in chain time (unix seconds)."""

    epoch_id: int
    posted_at: int
    grace_seconds: int
    paused_seconds: int
    now: int
    paused: bool = False

    @property
    def ends_at(self) -> int:
        """The last second of the window: from ``ends_at + 1`` an account without a fresh proof is
        liquidatable (time spent paused does not count)."""
        return self.posted_at + self.grace_seconds + self.paused_seconds

    @property
    def seconds_left(self) -> int:
        """Chain seconds until unproven accounts become liquidatable (0 once they are)."""
        return max(0, self.ends_at + 1 - self.now)

    @property
    def open(self) -> bool:
        return self.seconds_left > 0

    def describe(self) -> str:
        """``grace window of epoch 3 ends 2025-01-02 10:30:00 UTC (in 1,200 s of chain time)``."""
        if self.paused:
            return f"grace window of epoch {self.epoch_id}: stopped while the protocol is paused"
        verb = "ends" if self.open else "ended"
        return f"grace window of epoch {self.epoch_id} {verb} {self.when()}"

    def when(self) -> str:
        """``2025-01-02 10:30:00 UTC (in 1,200 s of chain time)`` or ``(... s ago)``."""
        ago = f"{self.now - self.ends_at:,} s ago"
        return f"{utc(self.ends_at)} ({f'in {self.seconds_left:,} s of chain time' if self.open else ago})"


def utc(timestamp: int) -> str:
    """A unix time as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def chain_now() -> int:
    """The latest block's timestamp."""
    from ape import chain

    return int(chain.blocks.head.timestamp)


def grace_window(d: Any) -> GraceWindow | None:
    """The grace window of the current epoch of deployment ``d`` (None before the first epoch)."""
    if int(d.epochs.currentEpochId()) == 0:
        return None
    epoch_id, _, posted_at = d.epochs.currentEpoch()
    return GraceWindow(
        epoch_id=int(epoch_id),
        posted_at=int(posted_at),
        grace_seconds=int(d.accounts.gracePeriodSeconds()),
        paused_seconds=int(d.accounts.pausedSecondsSince(int(posted_at))),
        now=chain_now(),
        paused=bool(d.accounts.paused()),
    )


def advance(seconds: int) -> int:
    """Move chain time forward by ``seconds`` (mines one block); return the new chain time."""
    from ape import chain

    if not 0 < int(seconds) <= MAX_ADVANCE_SECONDS:
        raise InputError("--seconds", f"must be in [1, {MAX_ADVANCE_SECONDS}] (a year), got {seconds}")
    target = chain_now() + int(seconds)
    chain.provider.make_request("evm_setNextBlockTimestamp", [target])
    chain.provider.make_request("evm_mine", [])
    return chain_now()


def advance_past_grace(d: Any) -> tuple[GraceWindow | None, int]:
    """Move chain time to the first second at which unproven accounts are liquidatable (nothing
    if that time has passed); return the window and the seconds moved."""
    window = grace_window(d)
    if window is None or not window.open:
        return window, 0
    if window.paused:
        raise InputError("--past-grace", "the protocol is paused: the grace window does not run until it is unpaused")
    moved = window.seconds_left
    advance(moved)
    return window, moved
