"""Issue 12 on-chain with the real Groth16 verifiers: the two attacks of the issue, the settlement
reverts, and the gas per settled fill.

The attacks and the reverts run on a deployment with the committed ``SolvencyVerifierN2S3`` and
``TransitionVerifierN2S3K4`` (the devnet keys of ``offchain.devnet.defaults.zk_cache_dir()``, a
deterministic seed, so the committed sources match them: checked here) and real proofs from
``prover.api`` / ``prover.transition_api``. Every forged batch below is what an attacker can
actually submit: the integer reference (and the circuit's witness builder) refuses to make a proof
of a false statement, so a forgery pairs a valid proof of some true statement with other public
inputs, and the verifier says no.

The gas of ``Settlement.settle`` per settled fill (batches of 1, 8 and 32 fills) runs on its own
deployment with the K = 32 transition verifier (``TransitionVerifierN2S3K32``): its figures are the
"Settlement: gas per settled fill" section of ``gas/gas-report.json`` and ``gas/gas-report.md``,
rewritten under ``ZKMARGIN_UPDATE_GAS=1`` and otherwise checked within 2%.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from _gas_report import check_section, write_section
from ape import reverts
from conftest import AUCTION, GRACE, MARKS, UNIT, Env, Opening, _sig

from offchain.devnet.batches import NO_SIGNATURE, Trade, prepare_batch
from offchain.devnet.defaults import zk_cache_dir
from offchain.devnet.settlement_gas import GasRow, SettlementGasRun
from offchain.mirror.auction import WAD
from offchain.trading.signing import sign_commitment
from prover.api import devnet_setup, prove_solvency
from prover.errors import UnsatisfiedError
from prover.solidity import generate_verifier
from prover.statement import KIND_IM, KIND_MM, Account
from prover.transition_api import TransitionKeys, prove_transitions, transition_setup
from prover.transitions import SIDE_BUY, SIDE_SELL, Fill, FillTable, TransitionRequest, apply_transition

ROOT = Path(__file__).resolve().parents[2]


def _committed_verifier(project, owner, vk, name):
    """Deploy the committed verifier ``name``, after checking that it is the one ``vk`` generates."""
    committed = (ROOT / "contracts" / "verifiers" / f"{name}.sol").read_text()
    assert committed == generate_verifier(vk, name), f"contracts/verifiers/{name}.sol does not match the devnet keys"
    return getattr(project, name).deploy(sender=owner)


class RealEnv(Env):
    """``Env`` with real proofs: every batch and takeover is proven with the transition keys."""

    def __init__(self, d, chain, accounts, tkeys: TransitionKeys) -> None:
        super().__init__(d, chain, accounts)
        self.tkeys = tkeys
        self.SLOTS = tkeys.k

    def allow_inputs(self, inputs) -> None:  # the real verifier decides
        return None

    def prove(self, batch) -> list[list[int]]:
        return prove_transitions(batch.requests, self.tkeys)

    def send(self, batch, allow=True, sender=None, proofs=None):
        receipt = self.d.settlement.settle(batch.contract_batch(proofs or self.prove(batch)), sender=sender or self.owner)
        for res in batch.results:
            self.openings[res.new.commitment()] = Opening(list(res.new.q), res.new.cash, res.new.salt)
        return receipt

    def takeover(self, bidder, lots, cash_taken, collateral=None, allow=True):
        from offchain.devnet.batches import prepare_takeover

        party = self.party(bidder, collateral=collateral)
        req, res = prepare_takeover(self.epoch, party, lots, cash_taken, self.SLOTS)
        [proof] = prove_transitions([req], self.tkeys)
        self.openings[res.new.commitment()] = Opening(list(res.new.q), res.new.cash, res.new.salt)
        old = party.old.commitment() if party.old else 0
        return (old, res.new.commitment(), party.collateral, req.table.digest(), proof)


@pytest.fixture(scope="module")
def skeys():
    return devnet_setup(2, 3, zk_cache_dir())


@pytest.fixture(scope="module")
def real(project, proto_owner, chain, accounts, skeys):
    tkeys = transition_setup(2, 3, 4, zk_cache_dir())
    from offchain.devnet.deploy import deploy_protocol

    verifier = _committed_verifier(project, proto_owner, skeys.vk, "SolvencyVerifierN2S3")
    tverifier = _committed_verifier(project, proto_owner, tkeys.vk, tkeys.verifier_name)
    d = deploy_protocol(proto_owner, verifier=verifier, transition_verifier=tverifier, grace_period_seconds=GRACE,
                        auction=AUCTION, fee_bps=0)
    e = RealEnv(d, chain, accounts, tkeys)
    e.post_epoch(1)
    return e


def _entries(t):
    """A contract batch tuple with its entries as lists (to forge)."""
    return [t[0], t[1], t[2], [list(e) for e in t[3]]]


def _tuple(t):
    return (t[0], t[1], t[2], [tuple(e) for e in t[3]])


def _request(env, user, old, table, *, index=0, count=1, orders=(None, None), **kw) -> TransitionRequest:
    return TransitionRequest(epoch=env.epoch, address=int(str(user.address), 16), old=old, new_salt=4242,
                             collateral=int(env.d.vault.balanceOf(user)), table=table, index=index, count=count,
                             fee_bps=int(env.d.settlement.feeBps()), settled=env.settled_funding(user), orders=orders, **kw)


# ---------------------------------------------------------------- attack 1: drop a losing book


def test_an_underwater_long_cannot_drop_its_book_nor_withdraw(real, skeys, users):
    """A 15,000 USD long (500 lots at 30 USD) on a 2,500 USD deposit, under water after a -30%
    move, tries every path to an empty book and a withdrawal of everything: none exists."""
    env, d = real, real.d
    alice, keeper = users[0], users[6]
    addr = int(str(alice.address), 16)
    env.fund(alice, 2_500 * UNIT)
    book = env.open(alice, Opening([500, 0], -15_000 * UNIT, 101))
    assert (book.q, book.cash) == ([500, 0], -15_000 * UNIT)
    env.post_epoch(2, marks=[21 * UNIT, MARKS[1]])  # -30%: 4,500 USD lost
    ep, b = env.epoch, int(d.vault.balanceOf(alice))
    assert ep.figures(KIND_MM, book.q, book.cash, b).equity == -2_000 * UNIT
    # there is no way to declare a commitment any more
    functions = {a.name for a in d.accounts.contract_type.abi if a.type == "function"}
    assert "updateCommitment" not in functions
    with reverts(d.vault.Vault_AccountHasPositions):
        d.vault.withdraw(b, alice, sender=alice)
    # the reference refuses to prove the real book's solvency, at any collateral
    for kind in (KIND_IM, KIND_MM):
        with pytest.raises(UnsatisfiedError):
            prove_solvency(skeys, ep, book.account, kind, addr, b)
    # a withdrawal of everything under a (valid) IM proof of an empty book it does not hold
    words, _ = prove_solvency(skeys, ep, Account.create([0, 0], 0, 5), KIND_IM, addr, 0).evm()
    with reverts(d.accounts.Accounts_InvalidProof):
        d.accounts.withdraw(b, alice, 2, 0, words, sender=alice)
    # transitions that drop the positions without fills: the reference refuses them
    empty = FillTable((), env.SLOTS, nonce=11)
    with pytest.raises(UnsatisfiedError, match="below initial margin"):
        apply_transition(_request(env, alice, book.account, empty, public_delta=(-500, 0, 0)))
    with pytest.raises(UnsatisfiedError, match="below initial margin"):
        apply_transition(_request(env, alice, book.account, empty, cash_out=b))
    # ... and a sale of the book to an account outside the batch
    mine = env.order(alice, 0, SIDE_SELL, 21 * UNIT, 500)
    away = FillTable((Fill(0, 21 * UNIT, 500, 1, 0, 12345, mine.commitment),), env.SLOTS, nonce=12)
    with pytest.raises(UnsatisfiedError, match="not below the batch's count"):
        apply_transition(_request(env, alice, book.account, away, orders=(mine, None)))
    # a valid proof of a new account's empty book, submitted over the losing one
    fresh = prepare_batch(ep, 0, [replace(env.party(alice), old=None)], [], env.SLOTS)
    t = _entries(fresh.contract_batch(env.prove(fresh)))
    assert t[3][0][1] == 0
    with reverts(d.accounts.Accounts_StaleCommitment):
        d.settlement.settle(_tuple(t), sender=alice)
    t[3][0][1] = book.commitment
    with reverts(d.accounts.Accounts_InvalidProof):
        d.settlement.settle(_tuple(t), sender=alice)
    # the only transition with a public position delta is a liquidation bidder's takeover: a valid
    # takeover-shaped proof (500 lots out, 15,000 USD in) is refused by settlement
    req = _request(env, alice, book.account, empty, public_delta=(-500, 0, 15_000 * UNIT))
    res = apply_transition(req)
    assert res.fresh and list(res.new.q) == [0, 0]
    [proof] = prove_transitions([req], env.tkeys)
    entry = (alice.address, book.commitment, res.new.commitment(), req.collateral, 0, True,
             [(0, 0, NO_SIGNATURE)] * 2, proof)
    with reverts(d.accounts.Accounts_InvalidProof):
        d.settlement.settle((2, empty.digest(), 0, [entry]), sender=alice)
    assert int(d.accounts.commitmentOf(alice)) == book.commitment and int(d.vault.balanceOf(alice)) == b
    # after the grace window the book the chain holds, with its loss, is auctioned
    env.pass_grace()
    env.start(alice, keeper)
    positions, _marks = d.liquidation.getBook(alice)
    assert list(positions) == [500, 0] and int(d.liquidation.getAuction(alice).cash) == -15_000 * UNIT


# ---------------------------------------------------------------- attack 2: cash from nowhere


def test_private_cash_from_nowhere_is_never_paid_for(real, users):
    """An account with 1 unit deposited claims +50,000 USD of private cash, lapses, and waits for
    the keeper to buy its book: no transition produces that cash, and the liquidation only ever
    opens the book the chain recorded."""
    env, d, liq = real, real.d, real.d.liquidation
    mallory, keeper = users[1], users[6]
    env.fund(mallory, 1)
    env.fund(keeper, 1_000 * UNIT)
    ep, claim = env.epoch, 50_000 * UNIT
    party = env.party(mallory)
    assert party.old is None and party.collateral == 1
    # 1. moving public balance into private cash is the only source without fills: 50,000 USD of
    #    it needs 50,000 USD of balance (the statement is true; the chain checks the balance)
    move = prepare_batch(ep, 0, [replace(party, cash_out=-claim, collateral=0)], [], env.SLOTS)
    assert move.results[0].new.cash == claim
    with reverts(d.accounts.Accounts_CollateralAboveBalance, collateral=claim, balance=1):
        d.settlement.settle(move.contract_batch(env.prove(move)), sender=mallory)
    # 2. a "new" account whose empty book holds 50,000 USD: the circuit opens C_old = 0 as q = 0,
    #    c = 0 and refuses the witness; the proof from a rich opening does not start from C = 0
    rich = Account.create([0, 0], claim, 9)
    req = _request(env, mallory, rich, FillTable((), env.SLOTS, nonce=21))
    res = apply_transition(req)  # true from that opening, which the chain never recorded
    tc = env.tkeys.circuit
    priv = tc.private_inputs(req)
    priv["is_new"] = 1
    with pytest.raises(UnsatisfiedError):
        tc.cs.witness([0, *res.public[1:]], priv)
    [proof] = prove_transitions([req], env.tkeys)
    entry = [mallory.address, rich.commitment(), res.new.commitment(), 1, 0, res.fresh, [(0, 0, NO_SIGNATURE)] * 2, proof]
    with reverts(d.accounts.Accounts_StaleCommitment):
        d.settlement.settle((1, req.table.digest(), 0, [tuple(entry)]), sender=mallory)
    entry[1] = 0
    with reverts(d.accounts.Accounts_InvalidProof):
        d.settlement.settle((1, req.table.digest(), 0, [tuple(entry)]), sender=mallory)
    # 3. its real book (what a transition gives it: empty, no cash), lapsed on purpose
    env.send(prepare_batch(ep, 0, [party], [], env.SLOTS))
    book = env.book(mallory)
    assert book is not None and (book.q, book.cash) == ([0, 0], 0)
    env.post_epoch(2)
    env.pass_grace()
    assert int(d.accounts.liquidationReason(mallory)) == 1
    good = env.opening_of(mallory)
    with reverts(liq.Liquidation_CommitmentMismatch):  # the keeper cannot be shown the rich book
        liq.startLiquidation(mallory, (good[0], claim, good[2], *good[3:]), sender=keeper)
    env.start(mallory, keeper)
    assert int(liq.getAuction(mallory).cash) == 0
    before = int(d.vault.balanceOf(keeper))
    with reverts(liq.Liquidation_EmptyFill):  # nothing to buy
        env.bid(mallory, keeper, WAD, 10**30)
    receipt = liq.finishLiquidation(mallory, sender=keeper)
    [fin] = list(receipt.decode_logs(liq.LiquidationFinished))
    assert (int(fin.shortfall), int(fin.remainingCollateral)) == (0, 1)
    assert int(d.vault.balanceOf(keeper)) == before and int(d.vault.balanceOf(mallory)) == 1


# ---------------------------------------------------------------- settlement reverts


def test_settlement_reverts_with_the_real_verifier(real, users):
    """A fill without its trader's authorization, a fill that breaks the order (price beyond the
    limit, size above it, in one batch or across two), a batch that is not zero-sum, a replayed
    batch and a stale-epoch batch: refused by the reference, reverted on-chain."""
    env, d, st = real, real.d, real.d.settlement
    alice, bob = users[2], users[3]
    for u in (alice, bob):
        env.fund(u, 1_000 * UNIT)
    buy = env.order(alice, 0, SIDE_BUY, 31 * UNIT, 20)  # alice buys up to 20 lots at <= 31 USD
    sell = env.order(bob, 0, SIDE_SELL, 29 * UNIT, 10)  # bob sells up to 10 lots at >= 29 USD

    def batch(price=30 * UNIT, size=10, buy_slot=buy, sell_slot=sell, nonce=1):
        trade = Trade(0, price, size, str(alice.address), buy_slot.commitment, str(bob.address), sell_slot.commitment)
        return prepare_batch(env.epoch, 0, [env.party(alice, [buy_slot]), env.party(bob, [sell_slot])], [trade],
                             env.SLOTS, nonce=nonce)

    honest = batch()
    proofs = env.prove(honest)
    good = _entries(honest.contract_batch(proofs))
    ia, ib = (0, 1) if good[3][0][0] == alice.address else (1, 0)
    # a fill without its trader's authorization: alice's order signed by bob's key
    forged = _entries(honest.contract_batch(proofs))
    o, s_new, _ = forged[3][ia][6][0]
    bad_sig = _sig(sign_commitment(o, bob.private_key, d.chain_id, str(st.address)))
    forged[3][ia][6] = [(o, s_new, bad_sig), forged[3][ia][6][1]]
    with reverts(st.Settlement_BadOrderSignature, index=ia, slot=0):
        st.settle(_tuple(forged), sender=env.owner)
    # ... and a fill on an order alice never signed (her slot holds another one)
    other = env.order(alice, 0, SIDE_BUY, 31 * UNIT, 20)
    with pytest.raises(UnsatisfiedError, match="not one it signed"):
        prepare_batch(env.epoch, 0, [env.party(alice, [other]), env.party(bob, [sell])],
                      [Trade(0, 30 * UNIT, 10, str(alice.address), buy.commitment, str(bob.address), sell.commitment)],
                      env.SLOTS)
    # a price beyond alice's limit, a size above bob's order: no proof; the honest proofs with
    # that fill table do not verify
    with pytest.raises(UnsatisfiedError, match="worse than the order's limit"):
        batch(price=32 * UNIT)
    with pytest.raises(UnsatisfiedError, match="filled 11 lots of an order of 10"):
        batch(size=11)
    for price, size in ((32 * UNIT, 10), (30 * UNIT, 11)):
        table = FillTable((Fill(0, price, size, ia, ib, buy.commitment, sell.commitment),),
                          env.SLOTS, honest.table.nonce)
        forged = _entries(honest.contract_batch(proofs))
        forged[1] = table.digest()
        with reverts(d.accounts.Accounts_InvalidProof):
            st.settle(_tuple(forged), sender=env.owner)
    # not zero-sum: alice's side alone (the reference needs the seller in the batch; her proof is
    # for a batch of two)
    with pytest.raises(UnsatisfiedError, match="not below the batch's count"):
        apply_transition(replace(honest.requests[ia], index=0, count=1))
    alone = _entries(honest.contract_batch(proofs))
    alone[3] = [alone[3][ia]]
    with reverts(d.accounts.Accounts_InvalidProof):
        st.settle(_tuple(alone), sender=env.owner)
    assert int(d.accounts.commitmentOf(alice)) == 0 and int(d.accounts.commitmentOf(bob)) == 0
    # the honest batch settles once; replayed, it reverts
    env.send(honest, proofs=proofs)
    assert env.book(alice).q == [10, 0] and env.book(bob).q == [-10, 0]
    with reverts(st.Settlement_BatchReplayed, fillTable=honest.fill_table):
        st.settle(_tuple(good), sender=env.owner)
    # across batches: alice's order has 10 lots left, the chain keeps its fill state
    rest = env.order(bob, 0, SIDE_SELL, 29 * UNIT, 10)
    again = replace(buy, filled_before=10, r_before=buy.r_after, r_after=buy.r_after + 1000)
    with pytest.raises(UnsatisfiedError, match="filled 21 lots of an order of 20"):
        batch(size=11, buy_slot=again, sell_slot=replace(rest, order=replace(rest.order, size=11)), nonce=2)
    fresh_state = replace(buy, r_after=buy.r_after + 1000)  # claims the order was never filled
    overfill = batch(size=10, buy_slot=fresh_state, sell_slot=rest, nonce=3)
    with reverts(d.accounts.Accounts_InvalidProof):  # its S_old is 0, the chain holds the state
        st.settle(overfill.contract_batch(env.prove(overfill)), sender=env.owner)
    # a stale epoch: the next honest batch proved in epoch 1, submitted in epoch 2
    second = batch(size=10, buy_slot=again, sell_slot=rest, nonce=4)
    t = second.contract_batch(env.prove(second))
    env.post_epoch(2)
    with reverts(st.Settlement_WrongEpoch, epochId=1, current=2):
        st.settle(t, sender=env.owner)
    relabelled = _entries(t)
    relabelled[0] = 2
    with reverts(d.accounts.Accounts_InvalidProof):  # epoch 1's digest is in the proofs
        st.settle(_tuple(relabelled), sender=env.owner)
    assert env.book(alice).q == [10, 0] and int(st.orderState(buy.commitment)) == honest.results[ia].orders_after[0][2]



# ---------------------------------------------------------------- gas per settled fill

GAS_SIZES = (1, 8, 32)
GAS_DESCRIPTION = (
    "`Settlement.settle` with real transition proofs (`TransitionVerifierN2S3K32`: n = 2, S = 3, K = 32 fill "
    "slots; the verifier's gas depends on the number of public inputs, 22 here, not on K), fee 5 bps. Shape: one "
    "resting sell order filled by N takers, one lot each (N fills, N + 1 accounts, each proving its own transition: "
    "`offchain/devnet/settlement_gas.py`). \"new\": the accounts' first settlement (commitment slots written from "
    "zero); \"open\": accounts that already hold a commitment (the steady state). All the proofs of a batch are "
    "verified in one `verifyBatch` call (`MarginAccounts.applyTransitions`: k proofs, k + 3 pairings), so each "
    "account adds one pairing (34,000 gas), two ecMul and its state, instead of a whole `verifyProof` (at least "
    "316,300 gas with 22 public inputs). Before that change (one `verifyProof` per account) the open-account "
    "batches of 1, 8 and 32 fills cost 792,939, 3,278,886 and 11,802,638 gas (792,939, 409,860 and 368,832 per "
    "fill). The gas grows with the accounts, not the fills: N maker/taker pairs (2N accounts) cost about twice as "
    "much per fill (`bench/bench_settlement_gas.py` prints both shapes). Produced by "
    "`tests/devnet/test_transitions_real_verifier.py`.")


@pytest.fixture(scope="module")
def gas_run(project, proto_owner, chain, accounts, skeys):
    tkeys = transition_setup(2, 3, max(GAS_SIZES), zk_cache_dir())
    from offchain.devnet.deploy import deploy_protocol

    verifier = _committed_verifier(project, proto_owner, skeys.vk, "SolvencyVerifierN2S3")
    tverifier = _committed_verifier(project, proto_owner, tkeys.vk, tkeys.verifier_name)
    d = deploy_protocol(proto_owner, verifier=verifier, transition_verifier=tverifier, grace_period_seconds=GRACE,
                        auction=AUCTION, fee_bps=5)
    env = Env(d, chain, accounts)
    env.post_epoch(1)
    return env, SettlementGasRun(d, env.epoch, tkeys, proto_owner)


def test_gas_per_settled_fill(gas_run, accounts):
    env, run = gas_run
    d = env.d
    people = []
    for i in range(max(GAS_SIZES) + 1):
        u = accounts.generate_test_account()
        env.chain.provider.set_balance(u.address, 10**20)
        env.fund(u, (100_000 if i == 0 else 1_000) * UNIT)
        people.append(u)
    maker, takers = people[0], people[1:]
    rows: list[GasRow] = [run.measure("maker", [maker], takers)]  # first settlement: every account new
    rows += [run.measure("maker", [maker], takers[:k]) for k in GAS_SIZES]
    assert [(r.accounts, r.fills, r.parties) for r in rows] == [("new", 32, 33), ("open", 1, 2), ("open", 8, 9),
                                                                 ("open", 32, 33)]
    # every fill settled: the maker sold 32 + 1 + 8 + 32 lots, the first taker bought 4
    assert run.books[str(maker.address)].q[0] == -73 and run.books[str(takers[0].address)].q[0] == 4
    assert int(d.accounts.commitmentOf(maker)) == run.books[str(maker.address)].commitment()
    fee = -(-30 * UNIT * 5 // 10_000)  # one lot at 30 USD, 5 bps a side
    assert int(d.vault.protocolFees()) >= 2 * fee * 73
    open_rows = {r.fills: r for r in rows if r.accounts == "open"}
    # the per-fill cost falls towards one account's cost as the maker's share is spread
    assert open_rows[1].per_fill > open_rows[8].per_fill > open_rows[32].per_fill
    assert rows[0].batch_gas > open_rows[32].batch_gas  # first settlements write the commitment slots
    figures = {r.name: r.batch_gas for r in rows}
    if os.environ.get("ZKMARGIN_UPDATE_GAS") == "1":
        write_section("settlement", {"description": GAS_DESCRIPTION, "gas": figures,
                                     "rows": [r.as_json() for r in rows]})
    else:
        check_section("settlement", figures)
