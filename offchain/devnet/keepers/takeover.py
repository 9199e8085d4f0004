"""The liquidator's side of a bid: the takeover transition that moves a slice into its own book.

A bid (``Liquidation.bid``) carries the bidder's proven transition ``C_old -> C_new`` with the
public delta ``lots ++ [cashTaken]`` of the slice (docs/ARCHITECTURE.md, "State transitions"), so
the liquidator holds a private book like every account. This module builds that transition for
the keeper: the liquidator's opening comes from the operator's book, the epoch (with its funding
index) from the chain (:class:`~offchain.devnet.chain_epochs.ChainEpochs`), and the proof from the
injected transition prover.

Restart safety: the opening a bid would create is recorded as *pending* (keyed by its commitment)
before the bid is sent; whichever commitment the chain then holds for the liquidator is adopted
from the pending ones (:meth:`Takeovers.sync`), so a keeper killed between sending and recording
never loses the liquidator's book.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from offchain.devnet.batches import Party, prepare_takeover
from offchain.devnet.chain_epochs import ChainEpochs
from offchain.devnet.operator import PrivateAccount
from prover.field import R
from prover.statement import Account
from prover.transitions import DEFAULT_FILL_SLOTS, TransitionRequest
from zkmargin.errors import DevnetError

#: proves transition requests: 8 EVM proof words per request (``prover.transition_api``)
TransitionProver = Callable[[Sequence[TransitionRequest]], list[list[int]]]


class OpeningBook(Protocol):
    """What the keeper needs of the operator's book (``AccountBook`` or the SQLite store)."""

    def __contains__(self, address: object) -> bool: ...

    def get(self, address: str) -> PrivateAccount: ...

    def put(self, account: PrivateAccount) -> None: ...


@dataclass(frozen=True)
class PreparedTakeover:
    """A takeover ready to send: the ``ILiquidation.Takeover`` tuple and the opening it creates."""

    takeover: tuple[Any, ...]
    opening: PrivateAccount

    @property
    def commitment(self) -> int:
        return self.opening.commitment()


class Takeovers:
    """Builds and proves the liquidator's takeovers; adopts the opening the chain ends up with."""

    def __init__(self, deployment: Any, book: OpeningBook, liquidator: str, prover: TransitionProver,
                 epochs: ChainEpochs | None = None, pending: dict[int, PrivateAccount] | None = None,
                 slots: int = DEFAULT_FILL_SLOTS) -> None:
        self.d = deployment
        self.book = book
        self.liquidator = str(liquidator)
        self.prover = prover
        self.epochs = epochs or ChainEpochs(deployment)
        #: openings of takeovers sent (or about to be), by commitment
        self.pending: dict[int, PrivateAccount] = pending if pending is not None else {}
        self.slots = slots

    def sync(self) -> PrivateAccount | None:
        """The liquidator's opening as the chain holds it (a pending one is adopted into the book);
        raises :class:`DevnetError` if the chain holds a commitment nobody here can open."""
        c = int(self.d.accounts.commitmentOf(self.liquidator))
        if c == 0:
            return None
        if self.liquidator in self.book and self.book.get(self.liquidator).commitment() == c:
            return self.book.get(self.liquidator)
        if c in self.pending:
            opening = self.pending.pop(c)
            self.book.put(opening)
            self.pending.clear()  # older candidates can no longer be adopted
            return opening
        raise DevnetError(f"liquidator {self.liquidator}: commitment {c} on-chain has no opening here")

    def prepare(self, lots: Sequence[int], cash_taken: int, collateral: int,
                old: PrivateAccount | None = None, chained: bool = False) -> PreparedTakeover:
        """The takeover of a slice (``lots``, ``cash_taken``) with ``collateral`` claimed, from the
        liquidator's current book (or from ``old`` when ``chained``: a takeover following an earlier
        one in the same pass). Raises ``UnsatisfiedError`` if the post-state would be below IM."""
        prev = old if chained else self.sync()
        epoch = self.epochs.statement()
        settled = (self.epochs.settled_funding(self.liquidator) if not chained else epoch.fund) if prev is not None else None
        label = prev.label if prev is not None else "liquidator"
        party = Party(self.liquidator, Account.create(prev.q, prev.cash, prev.salt) if prev is not None else None,
                      settled, int(collateral), secrets.randbelow(R - 1) + 1)
        req, res = prepare_takeover(epoch, party, [int(x) for x in lots], int(cash_taken), self.slots)
        [words] = self.prover([req])
        opening = PrivateAccount(self.liquidator, list(res.new.q), res.new.cash, res.new.salt, label)
        old_c = prev.commitment() if prev is not None else 0
        tk = (old_c, res.new.commitment(), int(collateral), req.table.digest(), list(words))
        self.pending[opening.commitment()] = opening
        return PreparedTakeover(tk, opening)
