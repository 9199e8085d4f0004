"""A trader's state as the exchange's pre-trade check counts it: the settled opening plus every
fill matched but not yet settled, with the funding the opening has not settled.

The statement (docs/ARCHITECTURE.md) settles an account's unsettled funding, then its fills, in
one transition: ``cash_new = cash - sum_i q_i (F_i - Fs_i) + sum(fill cash) - sum(fees)``, with
``q`` and ``cash`` the opening, ``Fs`` the funding index it last settled at and ``F`` the current
epoch's. :func:`trader_state` computes that state from the operator database: the opening and its
settled epoch from ``accounts``, the unsettled funding as :meth:`prover.statement.Epoch.figures`
counts it (``settled=Fs``), every ``pending`` and ``in_batch`` fill the trader is a side of at its
price, each side's fee ``ceil(price * size * fee_bps / 10000)`` (:func:`prover.transitions.fee_of`),
and the public vault balance as collateral. Its equity at the epoch's marks is the equity of the
account once all of it settles.
"""

from __future__ import annotations

from typing import NamedTuple

from offchain.operator.errors import StoreError
from offchain.operator.records import checksum
from offchain.operator.store import OperatorStore
from prover.statement import KIND_IM, Epoch
from prover.transitions import fee_of


class TraderState(NamedTuple):
    """A trader's positions and cash once everything matched settles (see the module docstring)."""

    #: lots per instrument: the opening's plus the unsettled fills'
    q: tuple[int, ...]
    #: base units: ``opening_cash - unsettled_funding + fill_cash - fees``
    cash: int
    #: the public vault balance (base units)
    collateral: int
    opening_q: tuple[int, ...]
    opening_cash: int
    #: ``sum_i q_i (F_i - Fs_i)`` of the opening (positive: the account owes it)
    unsettled_funding: int
    #: how many fills are matched but not settled
    unsettled_fills: int
    #: their cash (sells minus buys, at their prices) and the trader's fees on them
    fill_cash: int
    fees: int

    def describe(self) -> str:
        """One line: the collateral and how the cash is made up."""
        return (f"collateral {self.collateral}, cash {self.cash} = opening cash {self.opening_cash} "
                f"- unsettled funding {self.unsettled_funding} + {self.unsettled_fills} unsettled fills "
                f"({self.fill_cash} cash, {self.fees} fees)")


def trader_state(store: OperatorStore, trader: str, epoch: Epoch | None, collateral: int, fee_bps: int,
                 n: int) -> TraderState:
    """``trader``'s state in ``epoch`` (None: before the first epoch, nothing is unsettled) with
    ``collateral`` as its vault balance, for a listing of ``n`` instruments."""
    address = checksum("trader", trader)
    rec = store.account(address)
    q0 = [0] * n
    c0 = 0
    unsettled = 0
    if rec is not None and rec.opening is not None:
        q0 = list(rec.opening.q)
        c0 = rec.opening.cash
        if len(q0) != n:
            raise StoreError(f"{address}'s opening has {len(q0)} instruments, the listing {n}")
        if epoch is not None and rec.settled_epoch is not None:
            settled = store.epoch(rec.settled_epoch)
            if settled is None:
                raise StoreError(f"{address} settled at epoch {rec.settled_epoch}, which the database does not hold")
            unsettled = epoch.figures(KIND_IM, q0, c0, 0, settled=settled.fund).unsettled_funding
    q = list(q0)
    flow = fees = count = 0
    for f in store.unsettled_fills(address):
        sign = 1 if f.buyer == address else -1
        q[f.instrument] += sign * f.size
        flow -= sign * f.price * f.size
        fees += fee_of(f.price, f.size, fee_bps)
        count += 1
    return TraderState(tuple(q), c0 - unsettled + flow - fees, collateral, tuple(q0), c0, unsettled, count, flow, fees)
