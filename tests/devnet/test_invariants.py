"""Invariants over 1,000 seeded random operation sequences, on the contracts.

Every sequence starts from the same chain snapshot (a funded deployment whose accounts opened
their books by trading with each other, one auction running) and applies 6 random operations --
deposits, withdrawals with and without proofs, MM / IM / insolvency proofs (the mock verifier
accepts exactly the statements that are true for the account's private book, checked with
``prover.statement``), trades settled in batches (two accounts' signed orders, each transition
built by the ``prover.transitions`` reference: valid ones are allowed on the mock verifier,
refused ones are sent with forged commitments, some with an order signed by the wrong key or a
collateral above the balance), new epochs with price shocks and funding steps, time passing,
liquidation starts (with the owed funding), bids whose takeover transition moves the slice into
the bidder's book (the emptying fill finishes the auction) and finishes -- to the contracts and
to the Python model ``offchain.mirror.model``. Operations the model rejects are replayed with
``eth_call`` and must revert with the same custom error; the others are sent as transactions
(raw RPC, fixed block timestamps) and must succeed. Checked:

- after every operation: ``token.balanceOf(vault) == totalDeposits + totalPrivateCash +
  insuranceFund + protocolFees`` exactly, equal to the model's figures, and ``sum(balances) <= totalDeposits`` with less than one
  unit of dust per account;
- only unhealthy accounts are liquidated (a start succeeds iff the model says liquidatable);
- no non-price operation turns a healthy, solvent account liquidatable (model, and an on-chain start on a
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

from offchain.devnet.batches import Party, Trade, prepare_batch, prepare_takeover
from offchain.mirror.auction import WAD
from offchain.mirror.model import ProtocolModel, Reject, TransitionEntry
from offchain.mirror.vault import VaultModel
from offchain.operator.journal import StoreJournal
from offchain.operator.store import OperatorStore
from offchain.trading.signing import sign_commitment
from prover.errors import ProverInputError, UnsatisfiedError
from prover.field import R
from prover.statement import KIND_IM, KIND_INSOLVENCY, KIND_MM, Account, Epoch, commitment, funding_digest
from prover.transitions import SIDE_BUY, SIDE_SELL, Order, OrderSlot

SEQUENCES = int(os.environ.get("ZKMARGIN_INVARIANT_SEQUENCES", "1000"))
#: the first sequence's seed offset (replay one failing sequence: ..._FIRST=965 ..._SEQUENCES=1)
FIRST = int(os.environ.get("ZKMARGIN_INVARIANT_FIRST", "0"))
OPS_PER_SEQUENCE = 6
#: every how many sequences the operator database's replay is checked against the books
JOURNAL_EVERY = 5
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
        self.errors = _selectors(d.vault, d.oracle, d.epochs, d.accounts, d.liquidation, d.settlement, d.verifier,
                                 d.poseidon)
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
        # evaluated at the time the next transaction would have (the model's): the state of the
        # latest block, the block time overridden (an auction's price moves every second)
        resp = self.w3.provider.make_request(
            "eth_call", [{"from": str(sender.address), "to": str(contract.address), "data": "0x" + bytes(data).hex(),
                          "gas": hex(GAS)}, "latest", {}, {"time": hex(self.now + 1)}])
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
    """The accounts' private books (openings and the funding index each last settled at), the
    epochs, and the model."""

    def __init__(self, env, users, rng):
        self.env, self.d = env, env.d
        self.users = users[:5]
        self.bidder = users[5]
        self.keys = {u.address: u.private_key for u in [*users]}
        self.books: dict[str, Account] = {}
        self.settled: dict[str, tuple[int, ...]] = {}
        self.ep = Epoch.create(1, IM_BPS, MARKS, PNL, ADDONS)
        self.rng = rng
        self.fills = 0
        self.trades = 0
        self.nonce = 0
        self.history: list[tuple] = []  # every transition and close, for the operator's journal

    def clone(self):
        """A copy of the mutable data (the contract handles are shared, never copied)."""
        other = copy.copy(self)
        other.books, other.settled, other.history = dict(self.books), dict(self.settled), list(self.history)
        return other

    def truth(self, kind, a, collateral):
        """Whether the statement of ``kind`` holds for ``a``'s book (its unsettled funding included)."""
        book = self.books.get(a)
        if book is None:
            return False
        try:
            return self.ep.figures(kind, book.q, book.cash, collateral, self.settled[a]).holds
        except ProverInputError:
            return False

    def owed(self, a):
        book = self.books[a]
        return sum(q * (f - s) for q, f, s in zip(book.q, self.ep.fund, self.settled[a]))

    def opening(self, a):
        """``ILiquidation.Opening`` of ``a``'s book (an empty one for an account without one)."""
        book = self.books.get(a)
        if book is None:
            return ([0, 0], 0, 0, list(self.ep.marks), list(self.ep.fund), list(self.ep.fund))
        return (list(book.q), book.cash, book.salt, list(self.ep.marks), list(self.ep.fund), list(self.settled[a]))

    def party(self, user, bal, orders=(), cash_out=0, collateral=None, signer=None):
        a = user.address
        sigs = tuple(_sig(sign_commitment(o.commitment, self.keys[signer or a], self.d.chain_id,
                                          str(self.d.settlement.address))) for o in orders)
        return Party(a, self.books.get(a), self.settled.get(a), bal + cash_out if collateral is None else collateral,
                     self.rng.randrange(1, R), tuple(orders), sigs, cash_out)

    def order(self, user, instrument, side, limit, size):
        self.nonce += 1
        return OrderSlot(Order(int(user.address, 16), instrument, side, limit, size, 2**40, self.nonce,
                               self.rng.randrange(R)), r_after=self.rng.randrange(1, R))

    def adopt(self, res, a, req):
        self.books[a] = res.new
        self.settled[a] = self.ep.fund
        self.history.append(("transition", a, self.ep.epoch_id, req, res))

    def close(self, a):
        self.books.pop(a, None)
        self.settled.pop(a, None)
        self.history.append(("close", a, self.ep.epoch_id, None, None))

    def check_journal(self, tmp):
        """Every account's opening equals its history replayed from an operator database that
        journaled every transition of the sequence (offchain.operator.journal)."""
        with OperatorStore(tmp, seed=0, instruments=["BTC-PERP", "ETH-PERP"]) as store:
            journal = StoreJournal(store)
            for kind, a, epoch_id, req, res in self.history:
                if kind == "close":
                    journal.close(a, epoch_id)
                else:
                    journal.transitions(epoch_id, [req], [res], [a])
            for a in {h[1] for h in self.history}:
                replayed = store.replay(a)
                book = self.books.get(a)
                assert (replayed.commitment() if replayed else 0) == (book.commitment() if book else 0), a


def _sig(s):
    return (int(s.v), int(s.r).to_bytes(32, "big"), int(s.s).to_bytes(32, "big"))


def _entries(batch, valid):
    """The model's view of a prepared batch's entries (``valid``: the proofs verify)."""
    out = []
    for e in batch[3]:
        out.append(TransitionEntry(e[0], e[1], e[2], e[3], e[4], e[5], valid,
                                   tuple((u[0], u[1]) for u in e[6])))
    return out


def _forged(batch_args, rng):
    """The same batch with new commitments no valid proof exists for."""
    epoch_id, table, fee, entries = batch_args
    return (epoch_id, table, fee, [(e[0], e[1], rng.randrange(1, R), *e[3:]) for e in entries])


def _allow_batch(drv, env, prepared):
    for res in prepared.results:
        drv.send(env.d.verifier, "setStatement", [list(res.public), True], env.owner)


def _trade_pair(w, model, u, v, rng, instruments=None, sizes=None):
    """A batch where ``u`` buys from ``v`` (one fill per instrument) near the marks; returns the
    prepared batch (None when the reference says a transition is invalid) and the contract tuple."""
    fills, ou, ov = [], [], []
    for i in instruments if instruments is not None else [rng.randrange(2)]:
        size = sizes[i] if sizes is not None else rng.randrange(1, 11)
        if size == 0:
            continue
        buyer, seller = (u, v) if size > 0 else (v, u)
        size = abs(size)
        price = max(1, w.ep.marks[i] + rng.randrange(-UNIT, UNIT + 1))
        ob = w.order(buyer, i, SIDE_BUY, price + rng.choice([0, UNIT // 10]), size + rng.choice([0, 0, 3]))
        os_ = w.order(seller, i, SIDE_SELL, max(1, price - rng.choice([0, UNIT // 10])), size)
        (ou if buyer is u else ov).append(ob if buyer is u else os_)
        (ov if buyer is u else ou).append(os_ if buyer is u else ob)
        fills.append(Trade(i, price, size, buyer.address, ob.commitment, seller.address, os_.commitment))
    pu = w.party(u, model.vault.balance_of(u.address), ou)
    pv = w.party(v, model.vault.balance_of(v.address), ov)
    try:
        prepared = prepare_batch(w.ep, 0, [pu, pv], fills)
    except UnsatisfiedError:
        prepared = None
    return prepared, pu, pv, fills


def _setup(env, users, drv):
    d = env.d
    rng = random.Random(20261124)
    w = World(env, users, rng)
    everyone = [*w.users, w.bidder]
    # start the model from the chain's state (robust to whatever earlier tests left behind)
    vault = VaultModel(pool_units=int(d.vault.totalDeposits()), pool_shares=int(d.vault.totalShares()),
                       insurance=int(d.vault.insuranceFund()), fees=int(d.vault.protocolFees()),
                       shares={u.address: int(d.vault.sharesOf(u)) for u in everyone},
                       private_cash=int(d.vault.totalPrivateCash()))
    assert int(d.epochs.currentEpochId()) == 1 and not any(int(d.accounts.commitmentOf(u)) for u in everyone)
    assert env.digest(1) == w.ep.digest()
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
    # four accounts open books by trading in pairs (zero-sum), each side within initial margin
    for u, v in ((w.users[0], w.users[1]), (w.users[2], w.users[3])):
        while True:
            sizes = [rng.randrange(-30, 31), rng.randrange(-30, 31)]
            prepared, *_ = _trade_pair(w, model, u, v, rng, instruments=[0, 1], sizes=sizes)
            if prepared is not None and any(sizes):
                break
        args = prepared.contract_batch([NO_PROOF] * 2)
        _allow_batch(drv, env, prepared)
        model.settle(1, args[1], args[2], _entries(args, True))
        drv.send(d.settlement, "settle", [args], env.owner)
        for party, req, res in zip(prepared.parties, prepared.requests, prepared.results):
            w.adopt(res, party.address, req)
    # epoch 2 with a price shock and funding; two accounts prove it, then the grace window
    # passes, so the sequences start with both fresh and liquidatable accounts
    _post(drv, env, w, model, 2, 1.3, [40_000, -25_000])
    for u in w.users[:2]:
        b = model.vault.balance_of(u.address)
        if w.truth(KIND_MM, u.address, b):
            _allow(drv, env, model.acct(u.address).commitment, KIND_MM, u, b, w)
            drv.send(d.accounts, "submitProof", [u.address, 2, KIND_MM, b, NO_PROOF], env.owner)
            model.submit_proof(u.address, 2, KIND_MM, b, True)
    drv.advance(GRACE + 10)
    # one auction already running in the base state, so every sequence can bid and finish
    u = w.users[2]
    book = w.books[u.address]
    drv.send(d.liquidation, "startLiquidation", [u.address, w.opening(u.address)], w.bidder)
    model.start_liquidation(u.address, drv.now, book.q, book.cash, w.ep.marks, w.owed(u.address))
    return w, model


def _post(drv, env, w, model, epoch_id, shock, funding_step):
    marks = [int(m * shock) for m in MARKS]
    pnl = [[int(x * shock) for x in row] for row in PNL]
    fund = [f + s for f, s in zip(w.ep.fund, funding_step)]
    w.ep = Epoch.create(epoch_id, IM_BPS, marks, pnl, ADDONS, fund)
    drv.send(env.d.epochs, "postEpoch", [env.epoch_input(epoch_id, marks=marks, pnl=pnl, funding=fund,
                                                          timestamp=drv.now)], env.owner)
    model.post_epoch(epoch_id, drv.now)


def _allow(drv, env, c, kind, user, collateral, w):
    settled = w.settled.get(user.address, w.ep.fund)
    inputs = [c, w.ep.digest(), kind, int(str(user.address), 16), collateral, funding_digest(settled)]
    drv.send(env.d.verifier, "setStatement", [inputs, True], env.owner)


def _op(name, drv, env, w, model, rng):
    """One random operation; returns whether it is a price (or time) action."""
    d, users = env.d, w.users
    u = rng.choice(users)
    a = u.address
    st = model.acct(a)
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
        ok = w.truth(KIND_IM, a, collateral)
        if ok and st.commitment and not st.in_liquidation and amount:
            _allow(drv, env, st.commitment, KIND_IM, u, collateral, w)
        _try(drv, d.accounts, "withdraw", [amount, a, model.epoch_id, collateral, NO_PROOF], u,
             lambda: model.withdraw_margin(a, amount, model.epoch_id, collateral, ok))
    elif name in ("mm_proof", "insolvency_proof"):
        bal = model.vault.balance_of(a)
        kind = KIND_MM if name == "mm_proof" else KIND_INSOLVENCY
        collateral = bal if kind == KIND_MM else bal + rng.randrange(3)
        ok = w.truth(kind, a, collateral)
        if ok and st.commitment and not st.in_liquidation:
            _allow(drv, env, st.commitment, kind, u, collateral, w)
        _try(drv, d.accounts, "submitProof", [a, model.epoch_id, kind, collateral, NO_PROOF], drv_sender(env),
             lambda: model.submit_proof(a, model.epoch_id, kind, collateral, ok))
    elif name == "trade":
        free = [x for x in users if x.address not in model.auctions]
        if free and rng.random() < 0.85:  # mostly accounts that can trade
            u = rng.choice(free)
        v = rng.choice([x for x in [*users, w.bidder] if x is not u])
        prepared, _, _, fills = _trade_pair(w, model, u, v, rng)
        flaw = rng.choice([None] * 6 + ["signature", "collateral"])
        if prepared is None:  # the reference refuses it: no valid proof exists, forge the commitments
            forced = [w.party(x, model.vault.balance_of(x.address)) for x in (u, v)]
            stub = prepare_batch(w.ep, 0, forced, [])
            args = _forged(stub.contract_batch([NO_PROOF] * 2), rng)
            valid, flaw = False, None
        else:
            args = prepared.contract_batch([NO_PROOF] * 2)
            valid = True
            if flaw == "signature" and fills:  # one order signed by someone else
                k = next(i for i, e in enumerate(args[3]) if e[6][0][0])
                e = args[3][k]
                forged_by = e[0]
                other = v if e[0] == u.address else u
                bad = _sig(sign_commitment(e[6][0][0], w.keys[other.address], d.chain_id, str(d.settlement.address)))
                orders = [(e[6][0][0], e[6][0][1], bad), e[6][1]]
                args = (*args[:3], [*args[3][:k], (*e[:6], orders, e[7]), *args[3][k + 1:]])
            elif flaw == "collateral":  # a claimed collateral above the balance
                e = args[3][0]
                args = (*args[:3], [(*e[:3], model.vault.balance_of(e[0]) + e[4] + 1, *e[4:]), *args[3][1:]])
            else:
                flaw = None
            _allow_batch(drv, env, prepared)
        entries = _entries(args, valid)
        if flaw == "signature":
            entries = [TransitionEntry(**{**x.__dict__, "signed": (x.account != forged_by, True)}) for x in entries]
        if _try(drv, d.settlement, "settle", [args], drv_sender(env),
                lambda: model.settle(model.epoch_id, args[1], args[2], entries)):
            assert prepared is not None
            for party, req, res in zip(prepared.parties, prepared.requests, prepared.results):
                w.adopt(res, party.address, req)
            w.trades += 1
    elif name == "epoch":
        shock = rng.choice([0.7, 0.85, 0.95, 1.0, 1.05, 1.2, 1.5])
        step = [rng.randrange(-200_000, 200_001), rng.randrange(-200_000, 200_001)]
        _post(drv, env, w, model, model.epoch_id + 1, shock, step)
        return True
    elif name == "advance":
        drv.advance(rng.choice([60, 600, GRACE + 600]))
        return True
    elif name == "start":
        ts = drv.now + 1
        reason = model.liquidation_reason(a, ts)
        if reason and a not in model.auctions and rng.random() > START_PROBABILITY:
            return False  # a successful start is slow on anvil: sample them
        book = w.books.get(a) or Account.create([0, 0], 0, 0)
        owed = w.owed(a) if a in w.books else 0
        if _try(drv, d.liquidation, "startLiquidation", [a, w.opening(a)], w.bidder,
                lambda: model.start_liquidation(a, ts, book.q, book.cash, w.ep.marks, owed)):
            assert reason != 0  # only unhealthy accounts are liquidated
    elif name == "bid":
        active = [x for x in users if x.address in model.auctions]
        if not active:
            return False
        target = rng.choice(active)
        bidder = w.bidder if rng.random() < 0.85 else rng.choice(users)
        frac = rng.choice([WAD // 4, WAD // 3, WAD // 2, WAD, WAD, rng.randrange(1, WAD)])
        ts = drv.now + 2  # one block for the takeover's statement (or an empty second), then the bid
        # what the bidder's takeover has to carry: a dry run of the fill on a copy of the model
        probe, seen = copy.deepcopy(model), {}

        def look(lots, cash_taken):
            seen.update(lots=list(lots), cash=cash_taken, bal=probe.vault.balance_of(bidder.address))
            raise Reject("probe")

        try:
            probe.bid(target.address, bidder.address, frac, 10**40, ts, look)
        except Reject:
            pass
        old = model.acct(bidder.address).commitment
        if seen:
            party = w.party(bidder, seen["bal"], collateral=seen["bal"] - rng.choice([0, 0, 0, UNIT]))
            try:
                req, res = prepare_takeover(w.ep, party, seen["lots"], seen["cash"])
                takeover = (old, res.new.commitment(), party.collateral, req.table.digest(), NO_PROOF)
                drv.send(d.verifier, "setStatement", [list(res.public), True], env.owner)
                valid = True
            except UnsatisfiedError:  # the slice would leave the bidder below IM: no valid proof
                res, takeover, valid = None, (old, rng.randrange(1, R), party.collateral, 1, NO_PROOF), False
        else:
            res, takeover, valid = None, (old, 1, 0, 0, NO_PROOF), False
        if not valid:
            drv.advance(1)
        entry = TransitionEntry(bidder.address, takeover[0], takeover[1], takeover[2], 0, True, valid)
        if _try(drv, d.liquidation, "bid", [target.address, frac, 10**40, takeover], bidder,
                lambda: model.bid(target.address, bidder.address, frac, 10**40, ts, lambda _l, _c: entry)):
            w.fills += 1
            w.adopt(res, bidder.address, req)
            if target.address not in model.auctions:  # the emptying fill finished the auction
                w.close(target.address)
    elif name == "finish":
        active = [x for x in users if x.address in model.auctions]
        if not active:
            return False
        target = rng.choice(active)
        if _try(drv, d.liquidation, "finishLiquidation", [target.address], w.bidder, lambda: model.finish(target.address)):
            w.close(target.address)
    elif name == "insurance":
        amount = rng.randrange(1, 100) * UNIT
        drv.send(d.vault, "fundInsurance", [amount], env.owner)
        model.vault.fund_insurance(amount)
    elif name in ("pause", "unpause"):
        contract, log = rng.choice([(d.accounts, model.accounts_pause), (d.liquidation, model.liquidation_pause),
                                    (d.settlement, model.settlement_pause)])
        ts = drv.now + 1
        drv.send(contract, name, [], env.owner)
        log.pause(ts) if name == "pause" else log.unpause(ts)
        return True  # time that stops (or restarts) may change who is liquidatable
    elif name == "batch":
        entries, truths = [], []
        for x in rng.sample(users, 2):
            stx = model.acct(x.address)
            kind = rng.choice([KIND_MM, KIND_MM, KIND_INSOLVENCY])
            bal = model.vault.balance_of(x.address)
            collateral = bal if kind == KIND_MM else bal + rng.randrange(3)
            expected = stx.commitment if rng.random() < 0.85 else commitment([1, 1], 0, rng.randrange(R))
            ok = stx.commitment == expected and w.truth(kind, x.address, collateral)
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


OPS = ["deposit", "withdraw_flat", "withdraw_margin", "mm_proof", "insolvency_proof", "trade", "trade", "epoch", "advance",
       "start", "start", "bid", "bid", "finish", "insurance", "pause", "unpause", "batch"]


def _check_exact(drv, d, model):
    units, ins, fees = (drv.view(d.vault, f) for f in ("totalDeposits", "insuranceFund", "protocolFees"))
    private = drv.view(d.vault, "totalPrivateCash")
    private -= (private >> 255) << 256  # int256
    assert drv.view(d.token, "balanceOf", d.vault.address) == units + private + ins + fees == model.vault.token_balance()
    assert (units, private, ins, fees) == (model.vault.pool_units, model.vault.private_cash, model.vault.insurance,
                                           model.vault.fees)
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
        proven, insolvent, frozen, settled = drv.words(d.accounts, "accountState", u.address)
        ms = model.acct(u.address)
        assert (drv.view(d.accounts, "commitmentOf", u.address), proven, insolvent, bool(frozen), settled) == (
            ms.commitment, ms.proven_epoch, ms.insolvent_epoch, ms.in_liquidation, ms.settled_epoch)


def test_random_sequences_keep_the_invariants(env, users, chain, tmp_path):
    drv = Driver(chain, env.d)
    w0, model0 = _setup(env, users, drv)
    base = drv.rpc("evm_snapshot", [])
    now0 = drv.now
    stats = {"ops": 0, "liquidations": 0, "fills": 0, "finished": 0, "trades": 0}
    t0 = time.time()
    for i in range(FIRST, FIRST + SEQUENCES):
        rng = random.Random(10_000 + i)
        w, model = w0.clone(), copy.deepcopy(model0)
        drv.now = now0
        for _ in range(OPS_PER_SEQUENCE):
            name = rng.choice(OPS)
            # healthy: not liquidatable now, and not insolvent at the marks (a true insolvency proof
            # may make an insolvent account liquidatable at once)
            healthy = {u.address for u in w.users if model.liquidation_reason(u.address, drv.now + 1) == 0
                       and u.address not in model.auctions
                       and not w.truth(KIND_INSOLVENCY, u.address, model.vault.balance_of(u.address))}
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
                        drv.expect_revert(env.d.liquidation, "startLiquidation", [a, w.opening(a)],
                                          w.bidder, "Liquidation_AccountHealthy")
        _check_full(drv, env.d, w, model)
        if i % JOURNAL_EVERY == 0:
            w.check_journal(tmp_path / f"operator-{i}.sqlite")
        stats["fills"] += w.fills
        stats["trades"] += w.trades
        assert drv.rpc("evm_revert", [base]) is True
        base = drv.rpc("evm_snapshot", [])
    elapsed = time.time() - t0
    print(f"\n{SEQUENCES} sequences, {stats} in {elapsed:.1f}s")
    print({k: round(v, 2) for k, v in PROFILE.items()})
    # the random operations do reach the interesting states
    assert stats["liquidations"] >= SEQUENCES // 100 and stats["fills"] >= SEQUENCES // 5
    assert stats["finished"] >= SEQUENCES // 100 and stats["trades"] >= SEQUENCES // 6


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
