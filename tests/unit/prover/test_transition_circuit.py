"""The transition circuit against its integer reference (``prover.transitions``), and the attacks
each constraint stops: a witness built for the attack's public inputs must violate the circuit.

A small circuit (n = 2 instruments, S = 3 scenarios, K = 4 fill slots) keeps the test fast; the
constraints do not depend on the sizes.
"""

from __future__ import annotations

import random

import pytest

from prover.errors import ProverInputError, UnsatisfiedError
from prover.field import R
from prover.statement import Account, Epoch
from prover.transition_circuit import transition_circuit
from prover.transitions import (
    SIDE_BUY,
    SIDE_SELL,
    Fill,
    FillTable,
    Order,
    OrderSlot,
    TransitionRequest,
    apply_transition,
    batch_fee_total,
    fee_of,
)

N, S, K = 2, 3, 4
UNIT = 10**6
ALICE, BOB = 0xA11CE, 0xB0B
EPOCH = Epoch.create(5, 15_000, [30 * UNIT, 20 * UNIT], [[-3 * UNIT, 0, 3 * UNIT], [-2 * UNIT, 0, 2 * UNIT]],
                     [300_001, 200_001], funding=[1_000, -400])


@pytest.fixture(scope="module")
def circuit():
    return transition_circuit(N, S, K)


def _orders():
    buy = Order(ALICE, 0, SIDE_BUY, 31 * UNIT, 10, 2_000_000_000, 1, 111)
    sell = Order(BOB, 0, SIDE_SELL, 29 * UNIT, 6, 2_000_000_000, 1, 222)
    return buy, sell


def _requests(fee_bps=10, alice_old=None, bob_old=None, fills=None, alice_slots=None, bob_slots=None, **kw):
    buy, sell = _orders()
    table = FillTable(tuple(fills if fills is not None else [Fill(0, 30 * UNIT, 4, 0, 1, buy.commitment(), sell.commitment())]), K)
    common = {"epoch": EPOCH, "table": table, "count": 2, "fee_bps": fee_bps}
    a = TransitionRequest(address=ALICE, old=alice_old, new_salt=7, collateral=kw.get("alice_b", 100 * UNIT), index=0,
                          orders=alice_slots or (OrderSlot(buy), None), settled=kw.get("alice_settled"),
                          cash_out=kw.get("cash_out", 0), **common)
    b = TransitionRequest(address=BOB, old=bob_old, new_salt=8, collateral=100 * UNIT, index=1,
                          orders=bob_slots or (OrderSlot(sell), None), **common)
    return a, b


def test_a_fill_is_zero_sum_and_both_sides_prove(circuit):
    a, b = _requests()
    ra, rb = apply_transition(a), apply_transition(b)
    assert [x + y for x, y in zip(ra.new.q, rb.new.q)] == [0, 0]  # positions: zero-sum
    fee = fee_of(30 * UNIT, 4, 10)
    assert ra.new.cash + rb.new.cash == -2 * fee == -ra.fee_total  # cash: minus the fees
    assert ra.fee_total == rb.fee_total == batch_fee_total(a.table, 10)
    for req in (a, b):
        w, pub = circuit.witness(req)
        assert circuit.cs.is_satisfied(w) and pub == apply_transition(req).public


def test_funding_is_settled_into_cash(circuit):
    old = Account.create([5, -3], -100 * UNIT, 99)
    a, _ = _requests(alice_old=old, alice_settled=(400, 100))
    r = apply_transition(a)
    assert r.funding_paid == 5 * (1_000 - 400) + (-3) * (-400 - 100)
    assert r.new.cash == old.cash - r.funding_paid + r.cash_flow - r.own_fees
    w, _ = circuit.witness(a)
    assert circuit.cs.is_satisfied(w)


@pytest.mark.parametrize("seed", range(12))
def test_random_batches_match_the_reference(circuit, seed):
    rng = random.Random(seed)
    buy, sell = _orders()
    buy2 = Order(ALICE, 1, SIDE_SELL, 19 * UNIT, 5, 2_000_000_000, 2, 333)
    sell2 = Order(BOB, 1, SIDE_BUY, 21 * UNIT, 5, 2_000_000_000, 2, 444)
    fills = []
    left = {0: 6, 1: 5}
    for _ in range(rng.randrange(1, K + 1)):
        inst = rng.randrange(2)
        size = rng.randrange(1, 3)
        if left[inst] < size:
            continue
        left[inst] -= size
        if inst == 0:
            fills.append(Fill(0, rng.randrange(29 * UNIT, 31 * UNIT + 1), size, 0, 1, buy.commitment(), sell.commitment()))
        else:
            fills.append(Fill(1, rng.randrange(19 * UNIT, 21 * UNIT + 1), size, 1, 0, sell2.commitment(), buy2.commitment()))
    a, b = _requests(fee_bps=rng.randrange(0, 50), fills=fills,
                     alice_slots=(OrderSlot(buy, r_after=5), OrderSlot(buy2, r_after=6)),
                     bob_slots=(OrderSlot(sell, r_after=7), OrderSlot(sell2, r_after=8)))
    for req in (a, b):
        w, _pub = circuit.witness(req)
        assert circuit.cs.is_satisfied(w)
    ra, rb = apply_transition(a), apply_transition(b)
    assert [x + y for x, y in zip(ra.new.q, rb.new.q)] == [0, 0]
    assert ra.new.cash + rb.new.cash == -ra.fee_total


def _forced(circuit, req, public_patch=None, private_patch=None):
    """A witness for ``req`` with patched inputs (the attacker's): is it accepted by the circuit?"""
    result = apply_transition(req) if public_patch is None else None
    pub = list(result.public) if result else list(public_patch)
    priv = circuit.private_inputs(req)
    priv.update(private_patch or {})
    w = circuit.cs.witness(pub, priv, check=False)
    return circuit.cs.is_satisfied(w)


def test_the_forced_witness_helper_accepts_honest_witnesses(circuit):
    a, b = _requests()
    assert _forced(circuit, a) and _forced(circuit, b)


def test_a_book_the_account_does_not_hold_cannot_be_replaced(circuit):
    """The issue's first attack: declare an empty book while C_old holds a losing long."""
    held = Account.create([500, 0], -15_000 * UNIT, 1)
    a, _ = _requests(alice_old=held, fills=[])
    assert _forced(circuit, a)
    honest = apply_transition(a).public
    # claim the old book was empty: the opening of C_old no longer matches
    fake = TransitionRequest(**{**a.__dict__, "old": Account.create([0, 0], 0, 1)})
    assert not _forced(circuit, fake, public_patch=honest)


def test_cash_from_nowhere_is_refused(circuit):
    """The issue's second attack: +50,000 USD of private cash with no fill behind it."""
    a, _ = _requests(fills=[], alice_slots=(None, None))
    pub = apply_transition(a).public
    rich = Account.create([0, 0], 50_000 * UNIT, 7)
    pub[1] = rich.commitment()  # C_new of a book with cash it never earned
    assert not _forced(circuit, a, public_patch=pub)


def test_an_unauthorized_or_worse_priced_fill_is_refused(circuit):
    buy, sell = _orders()
    # a fill at a price above Alice's limit
    a, _ = _requests(fills=[Fill(0, 32 * UNIT, 4, 0, 1, buy.commitment(), sell.commitment())])
    with pytest.raises(UnsatisfiedError, match="limit"):
        apply_transition(a)
    # the operator invents an order Alice never signed: Alice's proof cannot match it
    ghost = Order(ALICE, 0, SIDE_BUY, 40 * UNIT, 100, 2_000_000_000, 9, 9)
    a2, _ = _requests(fills=[Fill(0, 30 * UNIT, 4, 0, 1, ghost.commitment(), sell.commitment())])
    with pytest.raises(UnsatisfiedError, match="signed"):
        apply_transition(a2)
    # more than the order's size
    a3, _ = _requests(fills=[Fill(0, 30 * UNIT, 11, 0, 1, buy.commitment(), sell.commitment())])
    with pytest.raises(UnsatisfiedError, match="filled 11"):
        apply_transition(a3)
    # and the circuit agrees: force each witness
    for bad in (a, a3):
        honest, _ = _requests()
        pub = apply_transition(honest).public
        pub[7] = bad.table.digest()
        assert not _forced(circuit, bad, public_patch=pub)


def test_below_initial_margin_only_reducing_trades(circuit):
    old = Account.create([40, 0], -1_150 * UNIT, 3)  # long 40 lots of 30 USD, little equity
    _buy, _sell = _orders()
    alice_sell = Order(ALICE, 0, SIDE_SELL, 29 * UNIT, 10, 2_000_000_000, 3, 5)
    bob_buy = Order(BOB, 0, SIDE_BUY, 31 * UNIT, 10, 2_000_000_000, 3, 6)
    fills = [Fill(0, 30 * UNIT, 10, 1, 0, bob_buy.commitment(), alice_sell.commitment())]
    a, _ = _requests(alice_old=old, fills=fills, alice_slots=(OrderSlot(alice_sell), None),
                     bob_slots=(OrderSlot(bob_buy), None), alice_b=0)
    r = apply_transition(a)
    assert not r.fresh and r.new.q == (30, 0)  # allowed: it only reduced
    w, _ = circuit.witness(a)
    assert circuit.cs.is_satisfied(w)
    # claiming "fresh" (IM holds) for the same state is refused by the circuit
    pub = list(r.public)
    pub[12] = 1
    assert not _forced(circuit, a, public_patch=pub)
    # withdrawing while below IM is refused
    with pytest.raises(UnsatisfiedError, match="below initial margin"):
        apply_transition(TransitionRequest(**{**a.__dict__, "cash_out": 1}))


def test_fee_total_and_count_are_binding(circuit):
    a, _ = _requests()
    pub = apply_transition(a).public
    pub[11] += 1  # a fee minted
    assert not _forced(circuit, a, public_patch=pub)
    pub = apply_transition(a).public
    pub[9] = 1  # the counterparty's index 1 is outside a batch of one account
    assert not _forced(circuit, a, public_patch=pub)


def test_bad_requests_name_the_field():
    with pytest.raises(ProverInputError, match="order.side"):
        Order(ALICE, 0, 2, 1, 1, 1, 1, 1)
    with pytest.raises(ProverInputError, match="same account"):
        Fill(0, 1, 1, 0, 0, 1, 2)
    with pytest.raises(ProverInputError, match="index"):
        a, _ = _requests()
        apply_transition(TransitionRequest(**{**a.__dict__, "index": 2}))
    assert R > 0


def test_the_batch_nonce_separates_batches_without_fills(circuit):
    """Two cash-out batches of the same account have no fills; the nonce still gives them
    different fill tables (the chain's replay key), and the proof binds the nonce."""
    old = Account.create([0, 0], 50 * UNIT, 3)
    reqs = [TransitionRequest(epoch=EPOCH, address=ALICE, old=old, new_salt=9, collateral=100 * UNIT,
                              table=FillTable((), K, nonce), index=0, count=1, fee_bps=0, settled=EPOCH.fund,
                              cash_out=10 * UNIT) for nonce in (1, 2)]
    t1, t2 = (apply_transition(r).public[7] for r in reqs)
    assert t1 != t2 and t1 == FillTable((), K, 1).digest()
    w, pub = circuit.witness(reqs[0])
    assert circuit.cs.is_satisfied(w)
    assert not _forced(circuit, reqs[0], public_patch=[*pub[:7], t2, *pub[8:]])
    with pytest.raises(ProverInputError, match="table.nonce"):
        FillTable((), K, R)
