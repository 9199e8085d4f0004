"""Shared fixtures of the protocol devnet tests (the foundation tests keep their own).

One protocol deployment per session (ape's isolation snapshots the chain around every test, so
tests start from the same state). ``Env`` wraps the common moves: post an epoch built with the
prover's digest, allow a statement on the mock verifier, open an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from offchain.devnet.batches import Party, Trade, prepare_batch, prepare_takeover
from offchain.devnet.deploy import deploy_protocol, feed_id, to_price_units
from offchain.mirror.auction import AuctionParams
from offchain.trading.signing import sign_commitment
from prover.statement import Account, Epoch
from prover.statement import commitment as commit
from prover.transitions import DEFAULT_FILL_SLOTS, SIDE_BUY, SIDE_SELL, Order, OrderSlot

UNIT = 10**6
BTC = feed_id("BTC/USD")
ETH = feed_id("ETH/USD")
NO_PROOF = [0] * 8
AUCTION = AuctionParams(
    start_discount_bps=200, max_discount_bps=2_000, duration_seconds=3_600, liquidation_fee_bps=50,
    protocol_fee_share_bps=1_000,
)
GRACE = 3_600

# a small epoch: n = 2 instruments (BTC perp lot 0.001 BTC, ETH perp lot 0.01 ETH), S = 3 scenarios
MARKS = [30_000_000, 20_000_000]  # 30 USD and 20 USD per lot, in 6-decimals units
PNL = [[-3_000_000, 0, 3_000_000], [-2_500_000, 0, 2_500_000]]
ADDONS = [300_001, 200_001]
IM_BPS = 15_000


@dataclass
class Opening:
    q: list[int]
    cash: int
    salt: int

    @property
    def commitment(self) -> int:
        return commit(self.q, self.cash, self.salt)

    @property
    def account(self) -> Account:
        return Account.create(self.q, self.cash, self.salt)


class Env:
    """Helpers over one deployment (mock verifier: a statement is "proven" when the test allows
    it, and the tests only allow statements the integer reference says are true)."""

    HOUSE_DEPOSIT = 10**12  # the counterparty of every opening trade
    SLOTS = DEFAULT_FILL_SLOTS  # fill slots of the batches' tables (the transition circuit's K)

    def __init__(self, d: Any, chain: Any, accounts: Any) -> None:
        self.d = d
        self.chain = chain
        self.owner = d.owner
        self.accounts = accounts
        self.house = accounts[8]
        # off-chain state keyed by what the chain holds, so that ape's per-test chain snapshots
        # (which roll the chain back under this session-wide object) cannot desynchronize it
        self.openings: dict[int, Opening] = {}  # commitment -> its opening
        self.epochs: dict[int, Epoch] = {}  # digest -> the statement's epoch
        self._nonce = 0

    # --- oracle and epochs -------------------------------------------------------------
    def push(self, feed: bytes = BTC, usd: int | str = 30_000) -> None:
        """Push a price one second after the latest block (observations must strictly increase)."""
        self.chain.pending_timestamp = int(self.chain.blocks.head.timestamp) + 1
        self.d.oracle.pushPrice(feed, to_price_units(usd), self.chain.pending_timestamp, sender=self.owner)

    def statement_epoch(self, epoch_id: int, marks=MARKS, pnl=PNL, addons=ADDONS, im_bps=IM_BPS,
                        funding=None) -> Epoch:
        return Epoch.create(epoch_id, im_bps, marks, pnl, addons, funding)

    def epoch_input(self, epoch_id: int, marks=MARKS, pnl=PNL, addons=ADDONS, im_bps=IM_BPS, digest=None,
                    oracle_round=None, timestamp=None, funding=None) -> tuple:
        fund = list(funding) if funding is not None else [0] * len(marks)
        if digest is None:  # a valid epoch: the statement's digests (else the test's own digest)
            ep = self.statement_epoch(epoch_id, marks, pnl, addons, im_bps, fund)
            self.epochs[ep.digest()] = ep
            d, fd = ep.digest(), ep.funding_digest()
        else:
            d, fd = digest, 1
        flat = [x for row in pnl for x in row]
        rnd = int(self.d.oracle.globalRound()) if oracle_round is None else oracle_round
        ts = int(self.chain.blocks.head.timestamp) if timestamp is None else timestamp
        return (epoch_id, rnd, ts, im_bps, len(pnl[0]), list(marks), flat, list(addons), fund, d, fd)

    def post_epoch(self, epoch_id: int, **kw: Any) -> Any:
        if int(self.d.oracle.globalRound()) == 0:
            self.push()
        return self.d.epochs.postEpoch(self.epoch_input(epoch_id, **kw), sender=self.owner)

    @property
    def epoch(self) -> Epoch:
        """The current epoch on chain (as posted through this object)."""
        return self.epochs[self.digest()]

    def book(self, user: Any) -> Opening | None:
        """The opening of ``user``'s commitment on chain now (None: no commitment)."""
        c = int(self.d.accounts.commitmentOf(user))
        return self.openings[c] if c else None

    def settled_funding(self, user: Any) -> tuple[int, ...]:
        """The funding index ``user`` last settled at (the current epoch's for a new account)."""
        if not int(self.d.accounts.commitmentOf(user)):
            return self.epoch.fund
        e = int(self.d.accounts.accountState(user).settledEpoch)
        return self.epochs[int(self.d.epochs.getEpoch(e).digest)].fund

    def digest(self, epoch_id: int | None = None) -> int:
        eid = int(self.d.epochs.currentEpochId()) if epoch_id is None else epoch_id
        return int(self.d.epochs.getEpoch(eid).digest)

    # --- proofs --------------------------------------------------------------------------
    def allow(self, commitment: int, kind: int, account: Any, collateral: int, digest: int | None = None) -> list[int]:
        fd = int(self.d.accounts.fundingDigestOf(account))
        inputs = [commitment, self.digest() if digest is None else digest, kind, int(str(account.address), 16), collateral, fd]
        self.d.verifier.setStatement(inputs, True, sender=self.owner)
        return inputs

    def allow_inputs(self, inputs: list[int]) -> None:
        self.d.verifier.setStatement([int(x) for x in inputs], True, sender=self.owner)

    def fund(self, user: Any, amount: int) -> None:
        self.d.token.mint(user, amount, sender=self.owner)
        self.d.token.approve(self.d.vault.address, amount, sender=user)
        self.d.vault.deposit(amount, sender=user)

    # --- trades: every commitment change is a settled batch --------------------------------
    def party(self, user: Any, orders=(), collateral: int | None = None, cash_out: int = 0, salt: int | None = None) -> Party:
        addr = str(user.address)
        book = self.book(user)
        b = int(self.d.vault.balanceOf(user)) + cash_out if collateral is None else collateral
        self._nonce += 1
        sigs = tuple(_sig(sign_commitment(o.commitment, user.private_key, self.d.chain_id, str(self.d.settlement.address)))
                     for o in orders)
        settled = self.settled_funding(user) if book is not None else None
        return Party(addr, book.account if book else None, settled, b, salt if salt is not None else 10_000 + self._nonce,
                     tuple(orders), sigs, cash_out)

    def order(self, user: Any, instrument: int, side: int, limit: int, size: int) -> OrderSlot:
        self._nonce += 1
        return OrderSlot(Order(int(str(user.address), 16), instrument, side, limit, size, 2**40, self._nonce, 77 + self._nonce),
                         r_after=self._nonce)

    def settle(self, parties: list[Party], trades: list[Trade], allow: bool = True, sender: Any = None) -> Any:
        """Build, allow and settle a batch."""
        return self.send(prepare_batch(self.epoch, int(self.d.settlement.feeBps()), parties, trades, self.SLOTS), allow,
                         sender)

    def prepare_open(self, user: Any, opening: Opening, collateral: int | None = None) -> Any:
        """The batch that gives ``user`` the book ``opening.q`` by trading with the house (one fill
        per instrument; not sent): the prices are chosen so that the cash comes out at
        ``opening.cash`` where an integer price does it (else at the marks, the rest moved between
        private cash and the public balance)."""
        q = list(opening.q)
        marks = list(self.epoch.marks)
        prices = list(marks)
        nz = [i for i, x in enumerate(q) if x]
        cash_out = -opening.cash - sum(q[i] * marks[i] for i in nz)
        for k in nz:
            rest = -opening.cash - sum(q[i] * marks[i] for i in nz if i != k)
            if rest % q[k] == 0 and 0 <= rest // q[k] < 2**64:
                prices[k], cash_out = rest // q[k], 0
                break
        if int(self.d.vault.balanceOf(self.house)) < self.HOUSE_DEPOSIT // 2:
            self.fund(self.house, self.HOUSE_DEPOSIT)
        trades, mine, theirs = [], [], []
        for i in nz:
            size = abs(q[i])
            side = SIDE_BUY if q[i] > 0 else SIDE_SELL
            o_me = self.order(user, i, side, prices[i], size)
            o_house = self.order(self.house, i, 1 - side, prices[i], size)
            mine.append(o_me)
            theirs.append(o_house)
            buyer, bo, seller, so = ((user, o_me, self.house, o_house) if side == SIDE_BUY else
                                     (self.house, o_house, user, o_me))
            trades.append(Trade(i, prices[i], size, str(buyer.address), bo.commitment, str(seller.address), so.commitment))
        b = int(self.d.vault.balanceOf(user)) + cash_out if collateral is None else collateral
        me = self.party(user, mine, collateral=b, cash_out=cash_out, salt=opening.salt)
        house = self.party(self.house, theirs, collateral=int(self.d.vault.balanceOf(self.house)))
        return prepare_batch(self.epoch, int(self.d.settlement.feeBps()), [me, house], trades, self.SLOTS)

    def send(self, batch: Any, allow: bool = True, sender: Any = None) -> Any:
        """Allow (the reference says each transition is valid) and settle a prepared batch."""
        if allow:
            for res in batch.results:
                self.allow_inputs(res.public)
        receipt = self.d.settlement.settle(batch.contract_batch([NO_PROOF] * len(batch.parties)),
                                           sender=sender or self.owner)
        for res in batch.results:
            self.openings[res.new.commitment()] = Opening(list(res.new.q), res.new.cash, res.new.salt)
        return receipt

    def open(self, user: Any, opening: Opening, collateral: int | None = None) -> Opening:
        """Give ``user`` the book ``opening.q`` (see :meth:`prepare_open`); returns its opening."""
        self.send(self.prepare_open(user, opening, collateral))
        book = self.book(user)
        assert book is not None
        return book

    def prove_mm(self, user: Any, opening: Opening, collateral: int | None = None) -> Any:
        b = int(self.d.vault.balanceOf(user)) if collateral is None else collateral
        self.allow(opening.commitment, 0, user, b)
        eid = int(self.d.epochs.currentEpochId())
        return self.d.accounts.submitProof(user, eid, 0, b, NO_PROOF, sender=self.owner)

    def pass_grace(self) -> None:
        self.chain.pending_timestamp = int(self.chain.blocks.head.timestamp) + GRACE + 1
        self.chain.mine()

    def opening_of(self, user: Any) -> tuple:
        """``ILiquidation.Opening`` of ``user``'s book in the current epoch."""
        book = self.book(user)
        assert book is not None, f"{user} has no commitment"
        settled = self.settled_funding(user)
        return (book.q, book.cash, book.salt, list(self.epoch.marks), list(self.epoch.fund), list(settled))

    def start(self, account: Any, sender: Any) -> Any:
        """``startLiquidation`` with ``account``'s opening (its book as the chain holds it)."""
        return self.d.liquidation.startLiquidation(account, self.opening_of(account), sender=sender)

    def bid(self, account: Any, bidder: Any, fraction: int, max_cost: int = 10**30, allow: bool = True) -> Any:
        """``bid`` with the bidder's takeover of the slice (computed from the chain's book)."""
        from offchain.mirror.auction import take_slice

        positions, marks = (list(map(int, x)) for x in self.d.liquidation.getBook(account))
        cash = int(self.d.liquidation.getAuction(account).cash)
        try:
            sl = take_slice(positions, cash, marks, fraction)
            lots, cash_taken = sl.lots, sl.cash_taken
        except Exception:  # noqa: BLE001 - an empty fill: the contract reverts before the takeover
            lots, cash_taken = [0] * len(self.epoch.marks), 0
        bal = int(self.d.vault.balanceOf(bidder))
        worst = max(0, min(max_cost, bal)) if max_cost < 10**30 else max(0, sl_value_bound(lots, cash_taken, marks))
        # the bid lands at the block time the test asked for: the takeover's allowance goes in the
        # block before it
        target, head = int(self.chain.pending_timestamp), int(self.chain.blocks.head.timestamp)
        if target - 1 > head:
            self.chain.pending_timestamp = target - 1
        tk = self.takeover(bidder, lots, cash_taken, collateral=max(0, bal - worst), allow=allow)
        if target - 1 > head:
            self.chain.pending_timestamp = target
        return self.d.liquidation.bid(account, fraction, max_cost, tk, sender=bidder)

    def takeover(self, bidder: Any, lots, cash_taken: int, collateral: int | None = None, allow: bool = True) -> tuple:
        """A bidder's takeover transition for a slice (allowed on the mock verifier)."""
        party = self.party(bidder, collateral=collateral)
        req, res = prepare_takeover(self.epoch, party, lots, cash_taken, self.SLOTS)
        if allow:
            self.allow_inputs(res.public)
        self.openings[res.new.commitment()] = Opening(list(res.new.q), res.new.cash, res.new.salt)
        old = party.old.commitment() if party.old else 0
        return (old, res.new.commitment(), party.collateral, req.table.digest(), NO_PROOF)


def sl_value_bound(lots, cash_taken: int, marks) -> int:
    """What a fill of ``lots`` and ``cash_taken`` can cost at most (its value at mark, no discount)."""
    return cash_taken + sum(int(x) * int(m) for x, m in zip(lots, marks))


def _sig(s: Any) -> tuple:
    return (int(s.v), int(s.r).to_bytes(32, "big"), int(s.s).to_bytes(32, "big"))


@pytest.fixture(scope="session")
def proto_owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def users(accounts):
    return [accounts[i] for i in range(1, 8)]


@pytest.fixture(scope="session")
def deployed(proto_owner):
    return deploy_protocol(proto_owner, grace_period_seconds=GRACE, auction=AUCTION, fee_bps=0)


@pytest.fixture(scope="session")
def env(deployed, chain, accounts):
    e = Env(deployed, chain, accounts)
    e.post_epoch(1)
    return e


@pytest.fixture
def signers(env, accounts):
    """Three oracle reporters (test accounts 7-9), threshold 2, sorted by address."""
    keys = [accounts[i] for i in (7, 8, 9)]
    for a in keys:
        env.d.oracle.setReporter(a, True, sender=env.owner)
    env.d.oracle.setThreshold(2, sender=env.owner)
    return sorted(keys, key=lambda a: int(str(a.address), 16))
