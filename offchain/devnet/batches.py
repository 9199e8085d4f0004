"""Settlement batches as the contracts take them, built from the operator's private books.

A batch is a set of fills between accounts, settled by one ``Settlement.settle`` call in which
every account the fills touch proves its transition ``C_old -> C_new`` (``prover.transitions``).
:func:`prepare_batch` sorts the accounts by address (their position is their index in the fill
table), builds the fill table, checks every account's transition with the integer reference and
returns a :class:`PreparedBatch`: the transition requests to prove, the new private states, and
:meth:`PreparedBatch.contract_batch` to turn the proofs into the ``ISettlement.Batch`` tuple.

:func:`prepare_takeover` does the same for a liquidation bidder taking a slice of a book (the
public delta of its transition).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from prover.field import R
from prover.statement import Account, Epoch
from prover.transitions import (
    DEFAULT_FILL_SLOTS,
    Fill,
    FillTable,
    OrderSlot,
    TransitionRequest,
    TransitionResult,
    apply_transition,
)
from zkmargin.errors import InputError

#: an EIP-712 signature as the contracts take it: (v, r, s)
Signature = tuple[int, bytes, bytes]
NO_SIGNATURE: Signature = (0, b"\x00" * 32, b"\x00" * 32)


@dataclass(frozen=True)
class Party:
    """One account's private side of a batch: its current state and what it brings."""

    address: str
    old: Account | None  # None: no commitment yet
    settled: tuple[int, ...] | None  # the funding index it last settled at (None for a new account)
    collateral: int  # the public balance its post-state is margined with
    new_salt: int
    orders: tuple[OrderSlot, ...] = ()
    signatures: tuple[Signature, ...] = ()
    cash_out: int = 0

    def __post_init__(self) -> None:
        if len(self.orders) > 2:
            raise InputError(f"parties[{self.address}].orders", "at most two orders per account and batch")
        if len(self.signatures) != len(self.orders):
            raise InputError(f"parties[{self.address}].signatures", "one signature per order")


@dataclass(frozen=True)
class Trade:
    """A fill between two accounts' orders (by address and order commitment)."""

    instrument: int
    price: int
    size: int
    buyer: str
    buy_order: int
    seller: str
    sell_order: int


@dataclass
class PreparedBatch:
    """A batch ready to prove: requests (in index order), results, and the contract tuple."""

    epoch: Epoch
    fee_bps: int
    parties: list[Party]
    table: FillTable
    requests: list[TransitionRequest]
    results: list[TransitionResult]
    trades: list[Trade] = field(default_factory=list)

    @property
    def fill_table(self) -> int:
        return self.table.digest()

    @property
    def fee_total(self) -> int:
        return self.results[0].fee_total if self.results else 0

    def contract_batch(self, proofs: Sequence[Sequence[int]]) -> tuple[object, ...]:
        """``ISettlement.Batch`` with each account's proof words (index order)."""
        if len(proofs) != len(self.parties):
            raise InputError("proofs", f"expected {len(self.parties)} proofs, got {len(proofs)}")
        entries = []
        for party, res, proof in zip(self.parties, self.results, proofs):
            orders = []
            for j in range(2):
                if j < len(party.orders):
                    o, _s_old, s_new = res.orders_after[j]
                    orders.append((o, s_new, party.signatures[j]))
                else:
                    orders.append((0, 0, NO_SIGNATURE))
            old_c = party.old.commitment() if party.old is not None else 0
            entries.append((party.address, old_c, res.new.commitment(), party.collateral, party.cash_out, res.fresh,
                            orders, list(proof)))
        return (self.epoch.epoch_id, self.fill_table, self.fee_total, entries)


def prepare_batch(epoch: Epoch, fee_bps: int, parties: Sequence[Party], trades: Sequence[Trade],
                  slots: int = DEFAULT_FILL_SLOTS, nonce: int | None = None) -> PreparedBatch:
    """Check and build a batch (raises ``UnsatisfiedError`` naming an account whose transition is
    invalid: an unsigned order, a price beyond a limit, below initial margin, ...). ``nonce`` is
    the batch nonce hashed into ``T`` (default: a random field element, so that no two batches
    share their replay key)."""
    ordered = sorted(parties, key=lambda p: int(p.address, 16))
    index = {p.address: i for i, p in enumerate(ordered)}
    if len(index) != len(ordered):
        raise InputError("parties", "an account appears twice")
    fills = []
    for k, t in enumerate(trades):
        for who in (t.buyer, t.seller):
            if who not in index:
                raise InputError(f"trades[{k}]", f"{who} is not a party of the batch")
        fills.append(Fill(t.instrument, t.price, t.size, index[t.buyer], index[t.seller], t.buy_order, t.sell_order))
    table = FillTable(tuple(fills), slots, secrets.randbelow(R) if nonce is None else nonce)
    requests = []
    for i, p in enumerate(ordered):
        orders = (*p.orders, *([None] * (2 - len(p.orders))))
        requests.append(TransitionRequest(
            epoch=epoch, address=int(p.address, 16), old=p.old, new_salt=p.new_salt, collateral=p.collateral,
            table=table, index=i, count=len(ordered), fee_bps=fee_bps,
            settled=p.settled if p.old is not None else epoch.fund, cash_out=p.cash_out, orders=orders))
    results = [apply_transition(r) for r in requests]
    return PreparedBatch(epoch, fee_bps, ordered, table, requests, results, list(trades))


def prepare_takeover(epoch: Epoch, bidder: Party, lots: Sequence[int], cash_taken: int,
                     slots: int = DEFAULT_FILL_SLOTS) -> tuple[TransitionRequest, TransitionResult]:
    """The bidder's transition taking ``lots`` and ``cash_taken`` of a liquidated book."""
    table = FillTable((), slots)
    req = TransitionRequest(
        epoch=epoch, address=int(bidder.address, 16), old=bidder.old, new_salt=bidder.new_salt,
        collateral=bidder.collateral, table=table, index=0, count=1, fee_bps=0,
        settled=bidder.settled if bidder.old is not None else epoch.fund,
        public_delta=(*[int(x) for x in lots], int(cash_taken)))
    return req, apply_transition(req)
