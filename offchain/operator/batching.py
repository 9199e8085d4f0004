"""Which pending fills go into the next batch, and which ones the transition reference refuses.

:func:`select_fills` takes pending fills in their recorded order under the batch limits: at most
``max_fills`` fills (the circuit's fill slots), at most two distinct orders per account (its two
order slots). A fill that does not fit is left for a later batch, and so is every later fill of
either of its accounts, so that each account's fills settle in the order they were matched.

:func:`admit` applies the integer reference (:func:`prover.transitions.apply_transition`) one
fill at a time: a fill is accepted when both its accounts' transitions stay valid with it added
to the fills already accepted, and refused otherwise, with the broken rule (for example the
post-trade state below initial margin and not only reducing). A refused fill never blocks the
others. Each account's transition depends only on its own fills, so it is checked on its own
(index 0 of a two-account table whose other side stands for every counterparty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from offchain.operator.records import FillRecord, OrderRecord
from offchain.operator.store import Rejection
from prover.errors import ProverInputError
from prover.statement import Account, Epoch
from prover.transitions import ORDER_SLOTS, Fill, FillTable, OrderSlot, TransitionRequest, apply_transition


@dataclass(frozen=True)
class PartyState:
    """An account's side of the next batch as the store and the chain agree on it."""

    address: str
    old: Account | None
    settled: tuple[int, ...] | None
    collateral: int
    orders: Mapping[int, OrderRecord] = field(default_factory=dict)


def select_fills(pending: Sequence[FillRecord], max_fills: int, blocked: frozenset[str] = frozenset()) -> list[FillRecord]:
    """The fills of the next batch (see the module docstring); ``blocked`` accounts' fills wait."""
    chosen: list[FillRecord] = []
    orders: dict[str, set[int]] = {}
    held = set(blocked)
    for f in pending:
        if len(chosen) >= max_fills:
            break
        sides = ((f.buyer, f.buy_order), (f.seller, f.sell_order))
        if any(a in held for a, _ in sides) or any(len(orders.get(a, set()) | {o}) > ORDER_SLOTS for a, o in sides):
            held.update(a for a, _ in sides)
            continue
        for a, o in sides:
            orders.setdefault(a, set()).add(o)
        chosen.append(f)
    return chosen


def transition_problem(epoch: Epoch, fee_bps: int, party: PartyState, fills: Sequence[FillRecord]) -> str | None:
    """Why ``party``'s transition with ``fills`` is invalid (``"field: problem"``), or None."""
    own: list[int] = []
    rows = []
    for f in fills:
        buying = f.buyer == party.address
        o = f.buy_order if buying else f.sell_order
        if o not in own:
            own.append(o)
        rows.append(Fill(f.instrument, f.price, f.size, 0 if buying else 1, 1 if buying else 0, f.buy_order, f.sell_order))
    if len(own) > ORDER_SLOTS:
        return f"orders: {len(own)} orders, a batch has {ORDER_SLOTS} slots per account"
    slots: list[OrderSlot | None] = [OrderSlot(party.orders[o].statement_order(), party.orders[o].filled,
                                               party.orders[o].state_salt, 1) for o in own]
    slots += [None] * (ORDER_SLOTS - len(slots))
    req = TransitionRequest(
        epoch=epoch, address=int(party.address, 16), old=party.old, new_salt=1, collateral=party.collateral,
        table=FillTable(tuple(rows), slots=max(1, len(rows))), index=0, count=2, fee_bps=fee_bps,
        settled=party.settled if party.old is not None else epoch.fund, orders=tuple(slots))
    try:
        apply_transition(req)
    except ProverInputError as exc:
        return f"{exc.field}: {exc.problem}"
    return None


def admit(epoch: Epoch, fee_bps: int, fills: Sequence[FillRecord],
          parties: Mapping[str, PartyState]) -> tuple[list[FillRecord], list[Rejection]]:
    """Accept fills one at a time in order (see the module docstring); returns the accepted fills
    and a :class:`~offchain.operator.store.Rejection` for each refused one, naming the account
    whose transition it breaks and that account's order (to cancel)."""
    accepted: list[FillRecord] = []
    rejected: list[Rejection] = []
    own: dict[str, list[FillRecord]] = {a: [] for a in parties}
    for f in fills:
        problem = None
        for who, order in ((f.buyer, f.buy_order), (f.seller, f.sell_order)):
            why = transition_problem(epoch, fee_bps, parties[who], [*own[who], f])
            if why is not None:
                problem = Rejection(f.id, f"{who}: {why}", who, order)
                break
        if problem is not None:
            rejected.append(problem)
            continue
        accepted.append(f)
        own[f.buyer].append(f)
        own[f.seller].append(f)
    return accepted, rejected
