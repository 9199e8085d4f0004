"""Shared fixtures of the protocol devnet tests (the foundation tests keep their own).

One protocol deployment per session (ape's isolation snapshots the chain around every test, so
tests start from the same state). ``Env`` wraps the common moves: post an epoch built with the
prover's digest, allow a statement on the mock verifier, open an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from offchain.devnet.deploy import deploy_protocol, feed_id, to_price_units
from offchain.mirror.auction import AuctionParams
from prover.statement import commitment as commit
from prover.statement import epoch_digest

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


class Env:
    """Helpers over one deployment."""

    def __init__(self, d: Any, chain: Any, accounts: Any) -> None:
        self.d = d
        self.chain = chain
        self.owner = d.owner
        self.accounts = accounts

    # --- oracle and epochs -------------------------------------------------------------
    def push(self, feed: bytes = BTC, usd: int | str = 30_000) -> None:
        """Push a price one second after the latest block (observations must strictly increase)."""
        self.chain.pending_timestamp = int(self.chain.blocks.head.timestamp) + 1
        self.d.oracle.pushPrice(feed, to_price_units(usd), self.chain.pending_timestamp, sender=self.owner)

    def epoch_input(self, epoch_id: int, marks=MARKS, pnl=PNL, addons=ADDONS, im_bps=IM_BPS, digest=None,
                    oracle_round=None, timestamp=None) -> tuple:
        d = epoch_digest(epoch_id, im_bps, marks, pnl, addons) if digest is None else digest
        flat = [x for row in pnl for x in row]
        rnd = int(self.d.oracle.globalRound()) if oracle_round is None else oracle_round
        ts = int(self.chain.blocks.head.timestamp) if timestamp is None else timestamp
        return (epoch_id, rnd, ts, im_bps, len(pnl[0]), list(marks), flat, list(addons), d)

    def post_epoch(self, epoch_id: int, **kw: Any) -> Any:
        if int(self.d.oracle.globalRound()) == 0:
            self.push()
        return self.d.epochs.postEpoch(self.epoch_input(epoch_id, **kw), sender=self.owner)

    def digest(self, epoch_id: int | None = None) -> int:
        eid = int(self.d.epochs.currentEpochId()) if epoch_id is None else epoch_id
        return int(self.d.epochs.getEpoch(eid).digest)

    # --- proofs --------------------------------------------------------------------------
    def allow(self, commitment: int, kind: int, account: Any, collateral: int, digest: int | None = None) -> list[int]:
        inputs = [commitment, self.digest() if digest is None else digest, kind, int(str(account.address), 16), collateral]
        self.d.verifier.setStatement(inputs, True, sender=self.owner)
        return inputs

    def fund(self, user: Any, amount: int) -> None:
        self.d.token.mint(user, amount, sender=self.owner)
        self.d.token.approve(self.d.vault.address, amount, sender=user)
        self.d.vault.deposit(amount, sender=user)

    def open(self, user: Any, opening: Opening, collateral: int | None = None) -> Any:
        b = int(self.d.vault.balanceOf(user)) if collateral is None else collateral
        self.allow(opening.commitment, 1, user, b)
        eid = int(self.d.epochs.currentEpochId())
        return self.d.accounts.updateCommitment(opening.commitment, eid, b, NO_PROOF, sender=user)

    def prove_mm(self, user: Any, opening: Opening, collateral: int | None = None) -> Any:
        b = int(self.d.vault.balanceOf(user)) if collateral is None else collateral
        self.allow(opening.commitment, 0, user, b)
        eid = int(self.d.epochs.currentEpochId())
        return self.d.accounts.submitProof(user, eid, 0, b, NO_PROOF, sender=self.owner)

    def pass_grace(self) -> None:
        self.chain.pending_timestamp = int(self.chain.blocks.head.timestamp) + GRACE + 1
        self.chain.mine()


@pytest.fixture(scope="session")
def proto_owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def users(accounts):
    return [accounts[i] for i in range(1, 8)]


@pytest.fixture(scope="session")
def deployed(proto_owner):
    return deploy_protocol(proto_owner, grace_period_seconds=GRACE, auction=AUCTION)


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
