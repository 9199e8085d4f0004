"""The protocol with the generated Groth16 verifiers (n = 2, S = 3; transitions with K = 4 fill
slots) and real proofs, and the gas report.

Proofs come from ``prover.api`` and ``prover.transition_api`` with the deterministic devnet keys
(the committed ``contracts/verifiers/SolvencyVerifierN2S3.sol`` and ``TransitionVerifierN2S3K4.sol``
match them). Every commitment change is a settled batch whose transitions are proven for real.

The gas of every external function is measured here and compared with the committed report
``gas/gas-report.json`` (within 2%: proofs and signatures change a few calldata bytes per run);
``ZKMARGIN_UPDATE_GAS=1`` rewrites ``gas/gas-report.json`` and ``gas/gas-report.md``.
"""

from __future__ import annotations

import os

import pytest
from _gas_report import check_section, write_section
from ape import reverts
from conftest import ADDONS, AUCTION, BTC, GRACE, IM_BPS, MARKS, PNL, UNIT, Env, Opening

from offchain.devnet.batches import prepare_takeover
from offchain.devnet.defaults import zk_cache_dir
from offchain.devnet.deploy import deploy_protocol
from offchain.mirror.auction import WAD
from offchain.mirror.oracle import PriceReport, sign_report, to_price_units
from prover.api import ProofRequest, devnet_setup, prove_many, prove_solvency
from prover.field import R
from prover.statement import KIND_IM, KIND_INSOLVENCY, KIND_MM, Epoch
from prover.transition_api import prove_transitions, transition_setup

BATCHES = (1, 4, 16)
TARGETS = {
    "MarginAccounts.submitProof (MM, real verifier)": 250_000,
    "MarginAccounts.submitProofs (MM, real verifier, batch of 3: per proof)": 250_000,
    "MarginAccounts.submitProofs (MM, real verifier, batch of 16: per proof)": 100_000,
    "PriceOracle.submitReport (2 of 3 signatures)": 80_000,
    "CollateralVault.deposit (repeat)": 70_000,
    "Liquidation.bid (partial fill, with the bidder's takeover proof)": 550_000,
}
GAS: dict[str, int] = {}


def record(name, receipt):
    GAS[name] = int(receipt.gas_used)
    return receipt


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return devnet_setup(2, 3, tmp_path_factory.mktemp("zk"))


@pytest.fixture(scope="module")
def tkeys():
    return transition_setup(2, 3, 4, zk_cache_dir())  # the keys of the committed TransitionVerifierN2S3K4


class RealEnv(Env):
    """``Env`` with real transition proofs: every batch and takeover is proven, nothing allowed."""

    def __init__(self, d, chain, accounts, tkeys) -> None:
        super().__init__(d, chain, accounts)
        self.tkeys = tkeys
        self.SLOTS = tkeys.k
        self.last_settle = None

    def send(self, batch, allow=True, sender=None):
        receipt = self.d.settlement.settle(batch.contract_batch(prove_transitions(batch.requests, self.tkeys)),
                                           sender=sender or self.owner)
        for res in batch.results:
            self.openings[res.new.commitment()] = Opening(list(res.new.q), res.new.cash, res.new.salt)
        self.last_settle = receipt
        return receipt

    def takeover(self, bidder, lots, cash_taken, collateral=None, allow=True):
        party = self.party(bidder, collateral=collateral)
        req, res = prepare_takeover(self.epoch, party, lots, cash_taken, self.tkeys.k)
        [words] = prove_transitions([req], self.tkeys)
        self.openings[res.new.commitment()] = Opening(list(res.new.q), res.new.cash, res.new.salt)
        old = party.old.commitment() if party.old else 0
        return (old, res.new.commitment(), party.collateral, req.table.digest(), list(words))


@pytest.fixture(scope="module")
def real(project, proto_owner, chain, accounts, tkeys):
    verifier = project.SolvencyVerifierN2S3.deploy(sender=proto_owner)
    tverifier = project.TransitionVerifierN2S3K4.deploy(sender=proto_owner)
    d = deploy_protocol(proto_owner, verifier=verifier, transition_verifier=tverifier, grace_period_seconds=GRACE,
                        auction=AUCTION, fee_bps=5)
    e = RealEnv(d, chain, accounts, tkeys)
    e.post_epoch(1)
    return e


def _epoch(env, eid, marks=MARKS, pnl=PNL):
    return Epoch.create(eid, IM_BPS, marks, pnl, ADDONS)


def _prove(keys, env, eid, account, user, kind, collateral, marks=MARKS, pnl=PNL):
    sp = prove_solvency(keys, _epoch(env, eid, marks, pnl), account, kind=kind, address=int(str(user.address), 16),
                        collateral=collateral, settled=env.settled_funding(user))
    words, inputs = sp.evm()
    assert inputs[1] == env.digest(eid)
    return words


def _open(env, user, q, cash, salt):
    """``user`` buys ``q`` from the house (a settled batch, both transitions proven); its account."""
    book = env.open(user, Opening(list(q), cash, salt))
    return book.account


def test_real_proofs_end_to_end_and_gas(real, keys, users, accounts, project):
    env, d = real, real.d
    alice, bob, bidder, other = users[0], users[1], users[6], users[2]
    # ---- vault and oracle
    d.token.mint(alice, 10_000 * UNIT, sender=env.owner)
    d.token.approve(d.vault.address, 2**255, sender=alice)
    record("CollateralVault.deposit (first)", d.vault.deposit(1_000 * UNIT, sender=alice))
    record("CollateralVault.deposit (repeat)", d.vault.deposit(500 * UNIT, sender=alice))
    for u in (bob, bidder, other):
        env.fund(u, 2_000 * UNIT)
    d.token.mint(env.owner, 1_000 * UNIT, sender=env.owner)
    d.token.approve(d.vault.address, 2**255, sender=env.owner)
    record("CollateralVault.fundInsurance", d.vault.fundInsurance(100 * UNIT, sender=env.owner))
    record("CollateralVault.withdraw (flat account)", d.vault.withdraw(100 * UNIT, other, sender=other))
    signers = sorted([accounts[i] for i in (7, 8, 9)], key=lambda a: int(str(a.address), 16))
    for s in signers:
        record("PriceOracle.setReporter", d.oracle.setReporter(s, True, sender=env.owner))
    for t in (1, 2, 3):
        record("PriceOracle.setThreshold", d.oracle.setThreshold(t, sender=env.owner))
        env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 1
        last = int(d.oracle.latestRound(BTC).roundId)
        rep = PriceReport(BTC, last + 1, to_price_units(30_000 + t), int(env.chain.pending_timestamp))
        sigs = sign_report(rep, [a.private_key for a in signers[:t]], d.chain_id, str(d.oracle.address))
        record(f"PriceOracle.submitReport ({t} of 3 signatures)" if t != 1 else "PriceOracle.submitReport (1 signature)",
               d.oracle.submitReport(rep.as_tuple(), sigs, sender=bidder))
    d.oracle.setThreshold(1, sender=env.owner)
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 1
    record("PriceOracle.pushPrice", d.oracle.pushPrice(BTC, to_price_units(30_010), env.chain.pending_timestamp,
                                                     sender=env.owner))
    record("PriceOracle.configureFeed", d.oracle.configureFeed(BTC, (True, False, False, 172_800, 3_600, 5_000, 1, 10**15),
                                                             sender=env.owner))
    # ---- alice opens by buying her book from the house (both transitions proven), an MM proof
    # keeps it fresh
    acc_a = _open(env, alice, [10, -5], -200 * UNIT, 123456789)
    record("Settlement.settle (an opening: 2 accounts, 2 fills, real verifier)", env.last_settle)
    b = int(d.vault.balanceOf(alice))
    assert d.accounts.commitmentOf(alice) == acc_a.commitment()
    acc_b = _open(env, bob, [-100, 0], 3_000 * UNIT, 987654321)
    bb = int(d.vault.balanceOf(bob))
    crowd = []
    for i, u in enumerate(users[2:5]):
        if int(d.vault.balanceOf(u)) < 500 * UNIT:
            env.fund(u, 1_000 * UNIT)
        crowd.append((u, _open(env, u, [i + 1, -(i + 2)], 10 * UNIT, 555 + i)))
    record("RiskEpochs.postEpoch (n=2, S=3)", env.post_epoch(2))
    batch = []
    for u, acc in crowd:
        bu = int(d.vault.balanceOf(u))
        batch.append((u.address, KIND_MM, bu, acc.commitment(), _prove(keys, env, 2, acc, u, KIND_MM, bu)))
    receipt = d.accounts.submitProofs(2, batch, sender=bidder)
    GAS["MarginAccounts.submitProofs (MM, real verifier, batch of 3: per proof)"] = int(receipt.gas_used) // len(batch)
    assert all(d.accounts.accountState(u).provenEpoch == 2 for u, _ in crowd)
    mm = _prove(keys, env, 2, acc_a, alice, KIND_MM, b)
    # the proof is bound to alice: submitted for bob it fails
    with reverts(d.accounts.Accounts_InvalidProof):
        d.accounts.submitProof(bob, 2, KIND_MM, b, mm, sender=bidder)
    bad = list(mm)
    bad[0] = (bad[0] + 1) % (2**256)
    with reverts():  # a corrupted point: a Verifier_* revert or a failed pairing
        d.accounts.submitProof(alice, 2, KIND_MM, b, bad, sender=bidder)
    record("MarginAccounts.submitProof (MM, real verifier)", d.accounts.submitProof(alice, 2, KIND_MM, b, mm, sender=bidder))
    with reverts(d.accounts.Accounts_ProofReplayed):
        d.accounts.submitProof(alice, 2, KIND_MM, b, mm, sender=bidder)
    with reverts(d.accounts.Accounts_InputNotInField, index=4):
        d.accounts.submitProof(alice, 2, KIND_MM, R, mm, sender=bidder)
    # ---- withdrawal with an IM proof of the post-withdrawal balance
    wproof = _prove(keys, env, 2, acc_a, alice, KIND_IM, b - 300 * UNIT)
    record("MarginAccounts.withdraw (IM, real verifier)",
           d.accounts.withdraw(300 * UNIT, alice, 2, b - 300 * UNIT, wproof, sender=alice))
    assert d.vault.balanceOf(alice) == b - 300 * UNIT
    # ---- a price shock: bob's short is insolvent, the operator proves it, he is liquidated at once
    marks3 = [int(m * 1.6) for m in MARKS]
    pnl3 = [[int(x * 1.6) for x in r] for r in PNL]
    env.post_epoch(3, marks=marks3, pnl=pnl3)
    ins = _prove(keys, env, 3, acc_b, bob, KIND_INSOLVENCY, bb, marks3, pnl3)
    record("MarginAccounts.submitProof (insolvency, real verifier)",
           d.accounts.submitProof(bob, 3, KIND_INSOLVENCY, bb, ins, sender=env.owner))
    assert d.accounts.liquidationReason(bob) == 2
    record("Liquidation.startLiquidation (n=2, opens the commitment)", env.start(bob, bidder))
    record("Liquidation.bid (partial fill, with the bidder's takeover proof)", env.bid(bob, bidder, WAD // 2))
    record("Liquidation.bid (final fill, finishes the auction)", env.bid(bob, bidder, WAD))
    assert d.accounts.commitmentOf(bob) == 0
    assert int(d.token.balanceOf(d.vault.address)) == int(d.vault.totalDeposits()) + int(d.vault.totalPrivateCash()) + int(
        d.vault.insuranceFund()) + int(d.vault.protocolFees())
    # ---- setters
    record("MarginAccounts.setGracePeriod", d.accounts.setGracePeriod(GRACE, sender=env.owner))
    record("Liquidation.setAuctionParams", d.liquidation.setAuctionParams(AUCTION.as_tuple(), sender=env.owner))
    record("RiskEpochs.setRiskKeeper", d.epochs.setRiskKeeper(env.owner, sender=env.owner))
    record("RiskEpochs.setDigestCheck", d.epochs.setDigestCheck(True, sender=env.owner))
    record("RiskEpochs.postEpoch (n=2, S=3, digest recomputed on-chain)", env.post_epoch(4))
    d.epochs.setDigestCheck(False, sender=env.owner)
    marks8 = [1_000_000 * (i + 1) for i in range(8)]
    pnl8 = [[(-1) ** s * 10_000 * (i + s) for s in range(15)] for i in range(8)]
    record("RiskEpochs.postEpoch (n=8, S=15)", env.post_epoch(5, marks=marks8, pnl=pnl8, addons=[7] * 8))
    d.epochs.setDigestCheck(True, sender=env.owner)
    record("RiskEpochs.postEpoch (n=8, S=15, digest recomputed on-chain)",
           env.post_epoch(6, marks=marks8, pnl=pnl8, addons=[7] * 8))
    record("CollateralVault.setGuardian", d.vault.setGuardian(accounts[5], sender=env.owner))
    record("CollateralVault.pause", d.vault.pause(sender=accounts[5]))
    record("CollateralVault.unpause", d.vault.unpause(sender=env.owner))
    record("CollateralVault.withdrawFees", d.vault.withdrawFees(int(d.vault.protocolFees()), env.owner, sender=env.owner))
    record("PriceOracle.resetCircuitBreaker", d.oracle.resetCircuitBreaker(BTC, sender=env.owner))
    _batched_submissions(env, keys, accounts, 7)
    _report()


def _batched_submissions(env, keys, accounts, eid):
    """Gas per proof of submitProofs in batches of 1, 4 and 16 (one batched verification each),
    and a batch with one bad proof rejected as a whole."""

    d = env.d
    crowd = []
    env.post_epoch(eid)  # an n = 2, S = 3 epoch to open the accounts in
    for i in range(sum(BATCHES) + 1):
        u = accounts.generate_test_account()
        env.chain.provider.set_balance(u.address, 10**20)
        env.fund(u, 1_000 * UNIT)
        crowd.append((u, _open(env, u, [i % 7 + 1, -(i % 5)], 10 * UNIT, 7_000 + i)))
    eid += 1
    env.post_epoch(eid)
    reqs = [ProofRequest(_epoch(env, eid), acc, KIND_MM, int(str(u.address), 16), int(d.vault.balanceOf(u)),
                         env.settled_funding(u)) for u, acc in crowd]
    entries = [(u.address, KIND_MM, r.collateral, acc.commitment(), sp.evm()[0])
               for (u, acc), r, sp in zip(crowd, reqs, prove_many(keys, reqs))]
    bad = [list(e) for e in entries[-4:]]
    bad[2][2] -= 1  # another collateral: its proof is of a different statement
    with reverts(d.accounts.Accounts_InvalidProof):
        d.accounts.submitProofs(eid, [tuple(e) for e in bad], sender=env.owner)
    start = 0
    for k in BATCHES:
        receipt = d.accounts.submitProofs(eid, entries[start : start + k], sender=env.owner)
        GAS[f"MarginAccounts.submitProofs (MM, real verifier, batch of {k}: per proof)"] = int(receipt.gas_used) // k
        assert all(d.accounts.accountState(u).provenEpoch == eid for u, _ in crowd[start : start + k])
        start += k


def _report():
    if os.environ.get("ZKMARGIN_UPDATE_GAS") == "1":  # this test's part of the report (the rest is kept)
        write_section("gas", dict(sorted(GAS.items())), targets=TARGETS,
                      note="gas used per transaction (21k base and calldata included), anvil, solc 0.8.28 optimizer 200 runs")
        return
    check_section("gas", GAS)
