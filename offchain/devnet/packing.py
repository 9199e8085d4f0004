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
    return pack_groups([[leg] for leg in legs], slots)


def pack_groups(groups: Sequence[Sequence[Leg]], slots: int) -> list[list[Leg]]:
    """Like :func:`pack_legs`, with each group's legs kept in one batch (an account's hedged book
    is settled at once, never half-built); raises :class:`InputError` for a group that cannot fit
    in any batch (more than ``slots`` fills, or more than two orders for an account)."""
    if slots < 1:
        raise InputError("slots", f"must be at least 1, got {slots}")
    batches: list[list[Leg]] = []
    orders: list[dict[str, set[tuple[int, int, int]]]] = []

    def room(b: list[Leg], held: dict[str, set[tuple[int, int, int]]], group: Sequence[Leg]) -> bool:
        if len(b) + len(group) > slots:
            return False
        need: dict[str, set[tuple[int, int, int]]] = {}
        for leg in group:
            for who in (leg.buyer, leg.seller):
                need.setdefault(who, set(held.get(who, set()))).add(leg.order_key(who))
        return all(len(keys) <= MAX_ORDERS_PER_ACCOUNT for keys in need.values())

    k = 0
    for g, group in enumerate(groups):
        for leg in group:
            if leg.buyer == leg.seller:
                raise InputError(f"legs[{k}]", f"{leg.buyer} cannot trade with itself")
            if leg.size <= 0:
                raise InputError(f"legs[{k}].size", f"must be positive, got {leg.size}")
            k += 1
        if not group:
            continue
        if not room([], {}, group):
            raise InputError(f"groups[{g}]", f"does not fit in one batch ({len(group)} fills; at most {slots} fills "
                                             f"and {MAX_ORDERS_PER_ACCOUNT} orders per account)")
        for b, held in zip(batches, orders):
            if room(b, held, group):
                break
        else:
            b, held = [], {}
            batches.append(b)
            orders.append(held)
        b.extend(group)
        for leg in group:
            for who in (leg.buyer, leg.seller):
                held.setdefault(who, set()).add(leg.order_key(who))
    return batches
