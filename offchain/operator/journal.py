"""The operator's database as the journal of transitions settled outside the exchange.

The session API (``offchain.devnet.session.Protocol``), the liquidation keeper's takeovers and
the devnet tests settle transitions of their own (``offchain.devnet.batches``). A
:class:`StoreJournal` writes each of them into an :class:`~offchain.operator.store.OperatorStore`
as history rows, one database transaction per account and transition, so that every account's
opening can be replayed from the database (:meth:`OperatorStore.replay`) exactly as the prover
and the chain hold it:

* ``funding``: the unsettled funding the transition settled (``-funding_paid``);
* ``fill``: one row per fill of the account (``dq`` the lots bought (+) or sold (-), ``dc`` the
  cash paid or received at the fill's price);
* ``fee``: the account's trading fees;
* ``takeover``: a liquidation bidder's public delta (lots and cash taken);
* ``cash_out``: private cash moved to the public balance (``-cash_out``);
* then the ``commit`` row with the new commitment and salt (the store checks that the old opening
  plus these rows is exactly the new one, and refuses the whole transition otherwise).

A close (the account's book auctioned off, commitment 0) is :meth:`StoreJournal.close`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from offchain.operator.store import OperatorStore
from prover.transitions import TransitionRequest, TransitionResult


def transition_entries(req: TransitionRequest, res: TransitionResult) -> list[tuple[str, list[int], int]]:
    """The history rows of one account's transition (see the module docstring)."""
    n = req.epoch.n
    zero = [0] * n
    out: list[tuple[str, list[int], int]] = []
    if res.funding_paid:
        out.append(("funding", list(zero), -res.funding_paid))
    for f in req.table.fills:
        for mine, sign in ((f.buy_index == req.index, 1), (f.sell_index == req.index, -1)):
            if mine:
                dq = list(zero)
                dq[f.instrument] = sign * f.size
                out.append(("fill", dq, -sign * f.price * f.size))
    if res.own_fees:
        out.append(("fee", list(zero), -res.own_fees))
    dq_pub, dc_pub = req.delta
    if any(dq_pub) or dc_pub:
        out.append(("takeover", list(dq_pub), dc_pub))
    if req.cash_out:
        out.append(("cash_out", list(zero), -req.cash_out))
    return out


class StoreJournal:
    """Writes transitions into ``store`` (see the module docstring)."""

    def __init__(self, store: OperatorStore) -> None:
        self.store = store

    def transitions(self, epoch_id: int, requests: Sequence[TransitionRequest], results: Sequence[TransitionResult],
                    addresses: Sequence[str], labels: dict[str, str] | None = None, note: str = "") -> None:
        """Record each account's transition (``requests[i]``, ``results[i]`` of ``addresses[i]``)."""
        for address, req, res in zip(addresses, requests, results, strict=True):
            self.store.add_account(address, (labels or {}).get(address, ""))
            self.store.record_transition(address, epoch_id, transition_entries(req, res), res.new, note)

    def batch(self, batch: Any, labels: dict[str, str] | None = None, note: str = "settled by the session API") -> None:
        """A settled ``offchain.devnet.batches.PreparedBatch``."""
        self.transitions(batch.epoch.epoch_id, batch.requests, batch.results, [p.address for p in batch.parties],
                         labels, note)

    def takeover(self, address: str, req: TransitionRequest, res: TransitionResult) -> None:
        """A liquidation bidder's takeover (``offchain.devnet.batches.prepare_takeover``)."""
        self.transitions(req.epoch.epoch_id, [req], [res], [address], note="liquidation takeover")

    def close(self, address: str, epoch_id: int | None) -> None:
        """``address``'s commitment went to 0 (its book was auctioned off)."""
        rec = self.store.account(address)
        if rec is not None and rec.opening is not None:
            self.store.record_close(address, epoch_id)


def adopt_store_openings(protocol: Any, state_dir: str | Path, db: str | Path | None = None) -> int:
    """Take into ``protocol``'s book (``offchain.devnet.session.Protocol.adopt``) every opening of
    the operator's database (``<state_dir>/operator.sqlite`` unless ``db``) that opens the
    commitment its account holds on chain: accounts that trade through the exchange and the
    settler are then proven by the prover and known to the keeper. Returns how many were taken;
    none when there is no database."""
    path = Path(db) if db is not None else Path(state_dir) / "operator.sqlite"
    if not path.is_file():
        return 0
    with OperatorStore(path, create=False) as store:
        return sum(1 for opening in store.openings() if protocol.adopt(opening))
