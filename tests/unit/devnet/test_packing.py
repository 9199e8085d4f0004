"""Packing fills into settlement batches (offchain.devnet.packing): every batch within the
contracts' limits (K fills, two orders per account), groups never split, order kept."""

from __future__ import annotations

import random

import pytest

from offchain.devnet.packing import MAX_ORDERS_PER_ACCOUNT, Leg, pack_groups, pack_legs
from zkmargin.errors import InputError

H = "0xhouse"


def _orders(batch: list[Leg]) -> dict[str, set[tuple[int, int, int]]]:
    held: dict[str, set[tuple[int, int, int]]] = {}
    for leg in batch:
        for who in (leg.buyer, leg.seller):
            held.setdefault(who, set()).add(leg.order_key(who))
    return held


def test_same_terms_share_one_order_so_many_takers_fit_one_batch() -> None:
    legs = [Leg(f"0xu{i}", H, 0, 5, 100) for i in range(10)]
    (batch,) = pack_legs(legs, 16)
    assert batch == legs and _orders(batch)[H] == {(0, 1, 100)}


def test_a_third_house_order_opens_a_new_batch_and_slots_bound_a_batch() -> None:
    legs = [Leg("0xa", H, 0, 1, 10), Leg("0xb", H, 1, 1, 20), Leg(H, "0xc", 2, 1, 30)]
    assert pack_legs(legs, 16) == [legs[:2], legs[2:]]
    assert [len(b) for b in pack_legs([Leg(f"0xu{i}", H, 0, 1, 1) for i in range(9)], 4)] == [4, 4, 1]


def test_groups_stay_together_and_every_batch_is_within_limits() -> None:
    rng = random.Random(7)
    groups = []
    for i in range(60):
        user = f"0xu{i}"
        instruments = rng.sample(range(5), rng.randint(1, 2))
        groups.append([Leg(user, H, j, rng.randint(1, 9), 10 * j) if rng.random() < 0.5 else
                       Leg(H, user, j, rng.randint(1, 9), 10 * j) for j in instruments])
    batches = pack_groups(groups, 8)
    flat = [leg for b in batches for leg in b]
    assert sorted(map(repr, flat)) == sorted(repr(leg) for g in groups for leg in g)  # nothing lost or added
    for b in batches:
        assert len(b) <= 8 and all(len(k) <= MAX_ORDERS_PER_ACCOUNT for k in _orders(b).values())
    where = {id(leg): n for n, b in enumerate(batches) for leg in b}
    for g in groups:
        assert len({where[id(leg)] for leg in g}) == 1  # a hedged book is settled at once


def test_bad_legs_and_groups_are_named() -> None:
    with pytest.raises(InputError, match=r"legs\[0\]"):
        pack_legs([Leg("0xa", "0xa", 0, 1, 1)], 4)
    with pytest.raises(InputError, match=r"legs\[1\].size"):
        pack_legs([Leg("0xa", H, 0, 1, 1), Leg("0xb", H, 0, 0, 1)], 4)
    with pytest.raises(InputError, match=r"groups\[0\]"):
        pack_groups([[Leg("0xa", H, i, 1, 1) for i in range(3)]], 4)  # three orders for 0xa
