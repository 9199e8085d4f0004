"""Invariants over 1,000 seeded random operation sequences, on the contracts.

Every sequence starts from the same chain snapshot (a funded deployment with open accounts) and
applies 6 random operations -- deposits, withdrawals with and without proofs, MM / IM /
insolvency proofs (the mock verifier accepts exactly the statements that are true for the
account's private book, checked with ``prover.statement``), new trades, new epochs with price
shocks, time passing, liquidation starts, bids (the emptying fill finishes the auction) and
finishes -- to the contracts and to the Python
model ``offchain.mirror.model``. Operations the model rejects are replayed with ``eth_call``
and must revert with the same custom error; the others are sent as transactions (raw RPC, fixed
block timestamps) and must succeed. Checked:

- after every operation: ``token.balanceOf(vault) == totalDeposits + insuranceFund + protocolFees``
  exactly, equal to the model's figures, and ``sum(balances) <= totalDeposits`` with less than one
  unit of dust per account;
- only unhealthy accounts are liquidated (a start succeeds iff the model says liquidatable);
- no non-price operation turns a healthy account liquidatable (model, and an on-chain start on a
  healthy account reverts with ``Liquidation_AccountHealthy``);
- at the end of every sequence: every share balance, pool figure and account state equals the model;
- issue 10's invariants, with pauses and unpauses of the accounts and liquidation modules and
  batched proofs among the operations: time spent paused is not counted against the grace
  window nor the auction clock (the model says so and the contract must agree on every start and
  fill), an insolvency marker never outlives its commitment, a batch skips what its accounts
  changed first, and no liquidation of an account with non-negative equity at mark draws on the
  insurance fund (checked after every operation).

A second test runs sequences with a reentrant collateral token that calls back into the vault
from inside every transfer: the calls are refused and the accounting stays exact.
"""

from __future__ import annotations

import copy
import os
import random
import time

import pytest
from conftest import ADDONS, AUCTION, GRACE, IM_BPS, MARKS, PNL, UNIT
from eth_utils import keccak

from offchain.mirror.auction import WAD
from offchain.mirror.model import ProtocolModel, Reject
from offchain.mirror.vault import VaultModel
from prover.field import R
from prover.statement import KIND_IM, KIND_INSOLVENCY, KIND_MM, check_solvency, commitment, epoch_digest

SEQUENCES = int(os.environ.get("ZKMARGIN_INVARIANT_SEQUENCES", "1000"))
OPS_PER_SEQUENCE = 6
START_PROBABILITY = 0.1
GAS = 8_000_000
NO_PROOF = [0] * 8
PROFILE: dict = {}


def _selectors(*contracts):
    out = {}
    for c in contracts:
        for err in c.contract_type.errors:
            out[keccak(text=err.selector)[:4]] = err.name
    return out


class Driver:
    """Raw-RPC transactions with fixed timestamps; reverts decoded to custom-error names."""

    def __init__(self, chain, d):
        self.w3 = chain.provider.web3
        self.d = d
        self.errors = _selectors(d.vault, d.oracle, d.epochs, d.accounts, d.liquidation, d.verifier, d.poseidon)
        self.now = 0

    def rpc(self, method, params):
        resp = self.w3.provider.make_request(method, params)
        if "error" in resp:
            raise RuntimeError(f"{method}: {resp['error']}")
        return resp["result"]

    def send(self, contract, fn, args, sender):
        t0 = time.time()
        try:
            return self._send(contract, fn, args, sender)
        finally:
            PROFILE[fn] = PROFILE.get(fn, 0.0) + time.time() - t0
            PROFILE["#" + fn] = PROFILE.get("#" + fn, 0) + 1

    def _send(self, contract, fn, args, sender):
        self.now += 1
        self.rpc("evm_setNextBlockTimestamp", [self.now])
        data = getattr(contract, fn).encode_input(*args)
        tx = {"from": str(sender.address), "to": str(contract.address), "data": data.hex() if isinstance(data, bytes) else data,
              "gas": hex(GAS)}
        txh = self.rpc("eth_sendTransaction", [{**tx, "data": "0x" + bytes(data).hex()}])
        receipt = self.rpc("eth_getTransactionReceipt", [txh])
        for i in range(2_000):  # anvil mines at once; a heavy transaction may take a moment to show
            if receipt is not None:
                break
            time.sleep(0.002 if i < 50 else 0.05)
            receipt = self.rpc("eth_getTransactionReceipt", [txh])
        assert receipt is not None, f"{fn}: no receipt"
        assert int(receipt["status"], 16) == 1, f"{fn}{tuple(args)} reverted; the model accepted it"
        return receipt

    def expect_revert(self, contract, fn, args, sender, error):
        data = getattr(contract, fn).encode_input(*args)
        resp = self.w3.provider.make_request(
            "eth_call", [{"from": str(sender.address), "to": str(contract.address), "data": "0x" + bytes(data).hex(),
                          "gas": hex(GAS)}, "latest"])
        assert "error" in resp, f"{fn}{tuple(args)} succeeded; the model rejected it with {error}"
        raw = resp["error"].get("data") or ""
        raw = raw if isinstance(raw, str) else raw.get("data", "")
        sel = bytes.fromhex(raw[2:10]) if raw.startswith("0x") and len(raw) >= 10 else b""
        got = self.errors.get(sel, raw)
        assert got == error, f"{fn}{tuple(args)} reverted with {got}, expected {error}"

    def view(self, contract, fn, *args):
        """A raw eth_call returning the first 32-byte word as an unsigned integer."""
        data = getattr(contract, fn).encode_input(*args)
        out = self.rpc("eth_call", [{"to": str(contract.address), "data": "0x" + bytes(data).hex()}, "latest"])
        return int(out[2:66], 16)

    def words(self, contract, fn, *args):
        """A raw eth_call returning the output as 32-byte words (unsigned integers)."""
        data = getattr(contract, fn).encode_input(*args)
        out = self.rpc("eth_call", [{"to": str(contract.address), "data": "0x" + bytes(data).hex()}, "latest"])[2:]
        return [int(out[i : i + 64], 16) for i in range(0, len(out), 64)]

    def advance(self, seconds):
        self.now += seconds


class World:
    """The accounts' private books, the epoch data, and the model."""

    def __init__(self, env, users, rng):
        self.env, self.d = env, env.d
        self.users = users[:5]
        self.bidder = users[5]
        self.books = {}
        self.marks, self.pnl, self.addons, self.im = list(MARKS), [list(r) for r in PNL], list(ADDONS), IM_BPS
        self.epoch = 1
        self.rng = rng
        self.fills = 0

    def clone(self):
        """A copy of the mutable data (the contract handles are shared, never copied)."""
        other = copy.copy(self)
        other.books = {k: (list(v[0]), v[1], v[2]) for k, v in self.books.items()}
        other.marks, other.pnl, other.addons = list(self.marks), [list(r) for r in self.pnl], list(self.addons)
        return other

    def truth(self, kind, book, collateral):
        q, cash, _salt = book
        return check_solvency(kind, q=q, cash=cash, collateral=collateral, marks=self.marks,
                              scenario_pnl=self.pnl, addons=self.addons, im_factor_bps=self.im)


def _setup(env, users, drv):
    d = env.d
    rng = random.Random(20261124)
    w = World(env, users, rng)
    everyone = [*w.users, w.bidder]
    # start the model from the chain's state (robust to whatever earlier tests left behind)
    vault = VaultModel(pool_units=int(d.vault.totalDeposits()), pool_shares=int(d.vault.totalShares()),
                       insurance=int(d.vault.insuranceFund()), fees=int(d.vault.protocolFees()),
                       shares={u.address: int(d.vault.sharesOf(u)) for u in everyone})
    assert int(d.epochs.currentEpochId()) == 1 and not any(int(d.accounts.commitmentOf(u)) for u in everyone)
    model = ProtocolModel(grace_seconds=GRACE, params=AUCTION, vault=vault)
    model.epoch_id = 1
    model.epoch_posted_at = int(d.epochs.getEpoch(1).postedAt)
    drv.now = int(env.chain.blocks.head.timestamp) + 1
    for u in [*w.users, w.bidder, env.owner]:
        drv.send(d.token, "mint", [u.address, 10**15], env.owner)
        drv.send(d.token, "approve", [d.vault.address, 2**255], u)
    for u in [*w.users, w.bidder]:
        amount = rng.randrange(200, 2_000) * UNIT
        drv.send(d.vault, "deposit", [amount], u)
        model.deposit(u.address, amount)
    drv.send(d.vault, "fundInsurance", [300 * UNIT], env.owner)
    model.vault.fund_insurance(300 * UNIT)
    for u in w.users[:4]:
        b = model.vault.balance_of(u.address)
        while True:
            q = [rng.randrange(-30, 31), rng.randrange(-30, 31)]
            cash = -sum(x * m for x, m in zip(q, w.marks)) + rng.randrange(-50, 50) * UNIT
            book = (q, cash, rng.randrange(R))
            if w.truth(KIND_IM, book, b):
                break
        c = commitment(*book)
        _allow(drv, env, c, KIND_IM, u, b, w)
        drv.send(d.accounts, "updateCommitment", [c, 1, b, NO_PROOF], u)
        model.update_commitment(u.address, c, 1, b, True)
        w.books[u.address] = book
    # epoch 2 with a price shock; two accounts prove it, then the grace window passes, so the
    # sequences start with both fresh and liquidatable accounts
    w.marks = [int(m * 1.3) for m in MARKS]
    w.pnl = [[int(x * 1.3) for x in row] for row in PNL]
    w.epoch = 2
    drv.send(d.epochs, "postEpoch", [env.epoch_input(2, marks=w.marks, pnl=w.pnl, timestamp=drv.now)], env.owner)
    model.post_epoch(2, drv.now)
    for u in w.users[:2]:
        b = model.vault.balance_of(u.address)
        book = w.books[u.address]
        ok = w.truth(KIND_MM, book, b)
        if ok:
            _allow(drv, env, model.acct(u.address).commitment, KIND_MM, u, b, w)
            drv.send(d.accounts, "submitProof", [u.address, 2, KIND_MM, b, NO_PROOF], env.owner)
            model.submit_proof(u.address, 2, KIND_MM, b, True)
    drv.advance(GRACE + 10)
    # one auction already running in the base state, so every sequence can bid and finish
    # (opening a commitment runs ~0.25M gas of Poseidon, slow under anvil's step tracing)
    u = w.users[2]
    book = w.books[u.address]
    drv.send(d.liquidation, "startLiquidation", [u.address, book[0], book[1], book[2], w.marks], w.bidder)
    model.start_liquidation(u.address, drv.now, book[0], book[1], w.marks)
    return w, model


def _digest(w):
    return epoch_digest(w.epoch, w.im, w.marks, w.pnl, w.addons)


def _allow(drv, env, c, kind, user, collateral, w):
    inputs = [c, _digest(w), kind, int(str(user.address), 16), collateral]
    drv.send(env.d.verifier, "setStatement", [inputs, True], env.owner)


def _op(name, drv, env, w, model, rng):
    """One random operation; returns whether it is a price (or time) action."""
    d, users = env.d, w.users
    u = rng.choice(users)
    a = u.address
    st = model.acct(a)
    book = w.books.get(a)
    if name == "deposit":
        amount = rng.randrange(1, 300) * UNIT + rng.randrange(UNIT)
        drv.send(d.vault, "deposit", [amount], u)
        model.deposit(a, amount)
    elif name == "withdraw_flat":
        amount = rng.randrange(1, model.vault.balance_of(a) + 10 * UNIT + 2)
        _try(drv, d.vault, "withdraw", [amount, a], u, lambda: model.withdraw_flat(a, amount))
    elif name == "withdraw_margin":
        bal = model.vault.balance_of(a)
        amount = rng.randrange(0, bal // 2 + 2)
        collateral = max(0, bal - amount - rng.choice([0, 0, rng.randrange(5 * UNIT)]))
        ok = bool(book) and w.truth(KIND_IM, book, collateral)
        if ok and st.commitment and not st.in_liquidation and amount:
            _allow(drv, env, st.commitment, KIND_IM, u, collateral, w)
        _try(drv, d.accounts, "withdraw", [amount, a, model.epoch_id, collateral, NO_PROOF], u,
             lambda: model.withdraw_margin(a, amount, model.epoch_id, collateral, ok))
    elif name in ("mm_proof", "insolvency_proof"):
        bal = model.vault.balance_of(a)
        kind = KIND_MM if name == "mm_proof" else KIND_INSOLVENCY
        collateral = bal if kind == KIND_MM else bal + rng.randrange(3)
        ok = bool(book) and w.truth(kind, book, collateral)
        if ok and st.commitment and not st.in_liquidation:
            _allow(drv, env, st.commitment, kind, u, collateral, w)
        _try(drv, d.accounts, "submitProof", [a, model.epoch_id, kind, collateral, NO_PROOF], drv_sender(env),
             lambda: model.submit_proof(a, model.epoch_id, kind, collateral, ok))
    elif name == "trade":
        old = book or ([0, 0], 0, 0)
        delta = [rng.randrange(-10, 11), rng.randrange(-10, 11)]
        q = [x + y for x, y in zip(old[0], delta)]
        cash = old[1] - sum(x * m for x, m in zip(delta, w.marks))
        new = (q, cash, rng.randrange(R))
        c = commitment(*new)
        bal = model.vault.balance_of(a)
        ok = w.truth(KIND_IM, new, bal)
        if ok and not st.in_liquidation:
            _allow(drv, env, c, KIND_IM, u, bal, w)
        if _try(drv, d.accounts, "updateCommitment", [c, model.epoch_id, bal, NO_PROOF], u,
                lambda: model.update_commitment(a, c, model.epoch_id, bal, ok)):
            w.books[a] = new
    elif name == "epoch":
        shock = rng.choice([0.7, 0.85, 0.95, 1.0, 1.05, 1.2, 1.5])
        w.marks = [int(m * shock) for m in MARKS]
        w.pnl = [[int(x * shock) for x in row] for row in PNL]
        w.epoch += 1
        drv.send(d.epochs, "postEpoch", [env.epoch_input(w.epoch, marks=w.marks, pnl=w.pnl, addons=w.addons,
                                                         timestamp=drv.now)], env.owner)
        model.post_epoch(w.epoch, drv.now)
        return True
    elif name == "advance":
        drv.advance(rng.choice([60, 600, GRACE + 600]))
        return True
    elif name == "start":
        if book is None:
            book = ([0, 0], 0, 0)
        ts = drv.now + 1
        reason = model.liquidation_reason(a, ts)
        if reason and a not in model.auctions and rng.random() > START_PROBABILITY:
            return False  # a successful start is slow on anvil: sample them
        args = [a, book[0], book[1], book[2], w.marks]
        if _try(drv, d.liquidation, "startLiquidation", args, w.bidder,
                lambda: model.start_liquidation(a, ts, book[0], book[1], w.marks)):
            assert reason != 0  # only unhealthy accounts are liquidated
    elif name == "bid":
        active = [x for x in users if x.address in model.auctions]
        if not active:
            return False
        target = rng.choice(active)
        bidder = w.bidder if rng.random() < 0.85 else rng.choice(users)
        frac = rng.choice([WAD // 4, WAD // 3, WAD // 2, WAD, WAD, rng.randrange(1, WAD)])
        ts = drv.now + 1
        if _try(drv, d.liquidation, "bid", [target.address, frac, 10**40], bidder,
                lambda: model.bid(target.address, bidder.address, frac, 10**40, ts)):
            w.fills += 1
            if target.address not in model.auctions:  # the emptying fill finished the auction
                w.books.pop(target.address, None)
    elif name == "finish":
        active = [x for x in users if x.address in model.auctions]
        if not active:
            return False
        target = rng.choice(active)
        if _try(drv, d.liquidation, "finishLiquidation", [target.address], w.bidder, lambda: model.finish(target.address)):
            w.books.pop(target.address, None)
    elif name == "insurance":
        amount = rng.randrange(1, 100) * UNIT
        drv.send(d.vault, "fundInsurance", [amount], env.owner)
        model.vault.fund_insurance(amount)
    elif name in ("pause", "unpause"):
        contract, log = rng.choice([(d.accounts, model.accounts_pause), (d.liquidation, model.liquidation_pause)])
        ts = drv.now + 1
        drv.send(contract, name, [], env.owner)
        log.pause(ts) if name == "pause" else log.unpause(ts)
        return True  # time that stops (or restarts) may change who is liquidatable
    elif name == "batch":
        entries, truths = [], []
        for x in rng.sample(users, 2):
            stx = model.acct(x.address)
            bk = w.books.get(x.address)
            kind = rng.choice([KIND_MM, KIND_MM, KIND_INSOLVENCY])
            bal = model.vault.balance_of(x.address)
            collateral = bal if kind == KIND_MM else bal + rng.randrange(3)
            expected = stx.commitment if rng.random() < 0.85 else commitment([1, 1], 0, rng.randrange(R))
            ok = bool(bk) and stx.commitment == expected and w.truth(kind, bk, collateral)
            if ok and not stx.in_liquidation:
                _allow(drv, env, expected, kind, x, collateral, w)
            entries.append((x.address, kind, collateral, expected, NO_PROOF))
            truths.append((x.address, kind, collateral, expected, ok))
        _try(drv, d.accounts, "submitProofs", [model.epoch_id, entries], drv_sender(env),
             lambda: model.submit_proofs(model.epoch_id, truths))
    return False


def drv_sender(env):
    return env.owner


def _try(drv, contract, fn, args, sender, apply):
    """Apply to the model; if it rejects, the contract must revert with the same error."""
    try:
        apply()
    except Reject as rej:
        drv.expect_revert(contract, fn, args, sender, rej.error)
        return False
    drv.send(contract, fn, args, sender)
    return True


OPS = ["deposit", "withdraw_flat", "withdraw_margin", "mm_proof", "insolvency_proof", "trade", "epoch", "advance",
       "start", "start", "bid", "bid", "finish", "insurance", "pause", "unpause", "batch"]


def _check_exact(drv, d, model):
    units, ins, fees = (drv.view(d.vault, f) for f in ("totalDeposits", "insuranceFund", "protocolFees"))
    assert drv.view(d.token, "balanceOf", d.vault.address) == units + ins + fees == model.vault.token_balance()
    assert (units, ins, fees) == (model.vault.pool_units, model.vault.insurance, model.vault.fees)
    # a liquidation of an account whose equity at mark was non-negative never draws on the fund
    for au in model.auctions.values():
        if au.equity_at_start >= 0:
            assert au.shortfall == 0, "a solvent account's liquidation drew on the insurance fund"


def _check_full(drv, d, w, model):
    everyone = [*w.users, w.bidder]
    assert drv.view(d.vault, "totalShares") == model.vault.pool_shares
    total = 0
    for u in everyone:
        assert drv.view(d.vault, "sharesOf", u.address) == model.vault.shares.get(u.address, 0)
        total += drv.view(d.vault, "balanceOf", u.address)
    untracked = model.vault.pool_shares - sum(model.vault.shares.values())  # 0 unless earlier tests left balances
    floor_part = untracked * model.vault.pool_units // model.vault.pool_shares if model.vault.pool_shares else 0
    # dust: less than one unit per account
    assert floor_part <= model.vault.pool_units - total < floor_part + len(everyone) + 2
    for u in w.users:
        proven, insolvent, frozen = drv.words(d.accounts, "accountState", u.address)
        ms = model.acct(u.address)
        assert (drv.view(d.accounts, "commitmentOf", u.address), proven, insolvent, bool(frozen)) == (
            ms.commitment, ms.proven_epoch, ms.insolvent_epoch, ms.in_liquidation)


def test_random_sequences_keep_the_invariants(env, users, chain):
    drv = Driver(chain, env.d)
    w0, model0 = _setup(env, users, drv)
    base = drv.rpc("evm_snapshot", [])
    now0 = drv.now
    stats = {"ops": 0, "liquidations": 0, "fills": 0, "finished": 0}
    t0 = time.time()
    for i in range(SEQUENCES):
        rng = random.Random(10_000 + i)
        w, model = w0.clone(), copy.deepcopy(model0)
        drv.now = now0
        for _ in range(OPS_PER_SEQUENCE):
            name = rng.choice(OPS)
            healthy = {u.address for u in w.users if model.liquidation_reason(u.address, drv.now + 1) == 0
                       and u.address not in model.auctions}
            before = (len(model.auctions), model.vault.pool_units)
            price_action = _op(name, drv, env, w, model, rng)
            stats["ops"] += 1
            if name == "start" and len(model.auctions) > before[0]:
                stats["liquidations"] += 1
            if name in ("bid", "finish") and len(model.auctions) < before[0]:
                stats["finished"] += 1
            _check_exact(drv, env.d, model)
            if not price_action:
                for a in healthy:
                    if a in model.auctions:
                        continue
                    assert model.liquidation_reason(a, drv.now + 1) == 0, f"{name} made {a} liquidatable"
                if healthy and rng.random() < 0.2 and not model.liquidation_pause.paused:
                    a = min(healthy)
                    if a not in model.auctions and a in w.books:
                        b = w.books[a]
                        drv.expect_revert(env.d.liquidation, "startLiquidation", [a, b[0], b[1], b[2], w.marks],
                                          w.bidder, "Liquidation_AccountHealthy")
        _check_full(drv, env.d, w, model)
        stats["fills"] += w.fills
        assert drv.rpc("evm_revert", [base]) is True
        base = drv.rpc("evm_snapshot", [])
    elapsed = time.time() - t0
    print(f"\n{SEQUENCES} sequences, {stats} in {elapsed:.1f}s")
    print({k: round(v, 2) for k, v in PROFILE.items()})
    # the random operations do reach the interesting states
    assert stats["liquidations"] >= SEQUENCES // 100 and stats["fills"] >= SEQUENCES // 5
    assert stats["finished"] >= SEQUENCES // 100


REENTRANT_SEQUENCES = 40


@pytest.fixture(scope="module")
def reentrant(project, proto_owner):
    from offchain.devnet.deploy import deploy_protocol

    tok = project.ReentrantToken.deploy(sender=proto_owner)
    d = deploy_protocol(proto_owner, token=tok, grace_period_seconds=GRACE, auction=AUCTION)
    return d


def test_reentrant_token_cannot_break_accounting(reentrant, users, chain, proto_owner):
    d = reentrant
    tok, vault = d.token, d.vault
    drv = Driver(chain, d)
    drv.now = int(chain.blocks.head.timestamp) + 1
    people = users[:4]
    for u in people:
        drv.send(tok, "mint", [u.address, 10**12], u)
        drv.send(tok, "approve", [vault.address, 2**255], u)
    # the token contract itself is a vault account, set up without reentrancy
    drv.send(tok, "mint", [tok.address, 10**12], proto_owner)
    drv.send(tok, "execute", [tok.address, tok.approve.encode_input(vault.address, 2**255)], proto_owner)
    drv.send(tok, "execute", [vault.address, vault.deposit.encode_input(10**9)], proto_owner)
    model = VaultModel()
    model.deposit(tok.address, 10**9)
    base = drv.rpc("evm_snapshot", [])
    now0 = drv.now
    attacks = [
        vault.deposit.encode_input(10**6),
        vault.withdraw.encode_input(10**6, tok.address),
        vault.fundInsurance.encode_input(10**6),
    ]
    attempts = 0
    for i in range(REENTRANT_SEQUENCES):
        rng = random.Random(50_000 + i)
        m = copy.deepcopy(model)
        drv.now = now0
        for _ in range(OPS_PER_SEQUENCE):
            u = rng.choice(people)
            drv.send(tok, "arm", [vault.address, rng.choice(attacks)], u)
            attempts += 1
            kind = rng.choice(["deposit", "withdraw", "insurance"])
            amount = rng.randrange(1, 10**8)
            if kind == "deposit":
                drv.send(vault, "deposit", [amount], u)
                m.deposit(u.address, amount)
            elif kind == "withdraw" and m.balance_of(u.address) >= amount:
                drv.send(vault, "withdraw", [amount, u.address], u)
                m.withdraw(u.address, amount)
            else:
                drv.send(vault, "fundInsurance", [amount], u)
                m.fund_insurance(amount)
            assert int(tok.successes()) == 0  # every reentrant call was refused
            assert int(tok.balanceOf(vault.address)) == int(vault.totalDeposits()) + int(vault.insuranceFund()) + int(
                vault.protocolFees()) == m.token_balance()
        for u in [*people, tok]:
            assert int(vault.balanceOf(u)) == m.balance_of(u.address)
        assert drv.rpc("evm_revert", [base]) is True
        base = drv.rpc("evm_snapshot", [])
    assert attempts == REENTRANT_SEQUENCES * OPS_PER_SEQUENCE
