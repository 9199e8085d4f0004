"""Packing fills into settlement batches the contracts accept.

A batch (``ISettlement.Batch``) carries at most two orders per account and at most ``slots``
fills, and each account appears once (one transition each). :func:`pack_legs` splits a list of
fills ("legs": buyer, seller, instrument, size, price) into the fewest batches it can in one
greedy pass, keeping the legs' order inside each batch: a leg goes into the first batch where
both of its accounts still have room for its order (an account's order is one per instrument,
side and price: two legs at the same terms share it) and the fill table has a free slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zkmargin.errors import InputError

#: orders per account and batch (``ISettlement``: two order slots per entry)
MAX_ORDERS_PER_ACCOUNT = 2


@dataclass(frozen=True)
class Leg:
    """One fill to settle: ``size`` lots of listed instrument ``instrument`` at ``price`` (base
    units per lot), bought by ``buyer`` from ``seller`` (addresses)."""

    buyer: str
    seller: str
    instrument: int
    size: int
    price: int

    def order_key(self, address: str) -> tuple[int, int, int]:
        """The order of ``address`` this leg fills: (instrument, side 0 buy / 1 sell, price)."""
        return (self.instrument, 0 if address == self.buyer else 1, self.price)


def pack_legs(legs: Sequence[Leg], slots: int) -> list[list[Leg]]:
    """The legs in batches: at most ``slots`` fills and two orders per account in each batch."""
    if slots < 1:
        raise InputError("slots", f"must be at least 1, got {slots}")
    batches: list[list[Leg]] = []
    orders: list[dict[str, set[tuple[int, int, int]]]] = []
    for k, leg in enumerate(legs):
        if leg.buyer == leg.seller:
            raise InputError(f"legs[{k}]", f"{leg.buyer} cannot trade with itself")
        if leg.size <= 0:
            raise InputError(f"legs[{k}].size", f"must be positive, got {leg.size}")
        for b, held in zip(batches, orders):
            if len(b) >= slots:
                continue
            fits = all(
                len(held.get(who, set()) | {leg.order_key(who)}) <= MAX_ORDERS_PER_ACCOUNT
                for who in (leg.buyer, leg.seller)
            )
            if fits:
                b.append(leg)
                for who in (leg.buyer, leg.seller):
                    held.setdefault(who, set()).add(leg.order_key(who))
                break
        else:
            batches.append([leg])
            orders.append({who: {leg.order_key(who)} for who in (leg.buyer, leg.seller)})
    return batches
