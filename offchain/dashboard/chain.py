"""A read-only view of a running deployment for the dashboard: web3 straight to the node, no ape.

It attaches through the saved deployment (``<state-dir>/deployment.json``: addresses, listing,
grace window; ``book.json`` and ``epochs/`` when the operator's state is at hand) and the
contracts' ABIs from the project's build (``.build/__local__.json``, written by ``ape compile``).
:meth:`ChainView.snapshot` reads everything at **one block**, so the numbers on a page are
consistent with each other and can be checked against the chain at that block.

Money stays in integer base units here (6 decimals; prices 8 decimals); :func:`fmt_units`
turns them into exact decimal strings for display.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.devnet.tiers import AccountHealth, TierPolicy, classify
from offchain.mirror.oracle import feed_id
from zkmargin.errors import DevnetError, InputError

VALUE_DECIMALS = 6
PRICE_DECIMALS = 8
CONTRACTS = {"token": "MockStablecoin", "vault": "CollateralVault", "oracle": "PriceOracle", "epochs": "RiskEpochs",
             "accounts": "MarginAccounts", "liquidation": "Liquidation", "topups": "TopUpAuthorizations"}


def fmt_units(units: int, decimals: int = VALUE_DECIMALS) -> str:
    """An exact decimal string of an integer amount: ``fmt_units(-1234500000) == "-1,234.500000"``."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(int(units)), 10**decimals)
    return f"{sign}{whole:,}.{frac:0{decimals}d}"


def parse_units(text: str, decimals: int = VALUE_DECIMALS) -> int:
    """The inverse of :func:`fmt_units` (for tests reading a page back)."""
    t = text.strip().replace(",", "")
    neg = t.startswith("-")
    whole, _, frac = t.lstrip("-").partition(".")
    if len(frac) != decimals or not (whole + frac).isdigit():
        raise ValueError(f"not an amount with {decimals} decimals: {text!r}")
    value: int = int(whole) * 10**decimals + int(frac)
    return -value if neg else value


def project_root() -> Path:
    """Where the contracts were compiled: ``$ZKMARGIN_ROOT``, else the checkout this package is in."""
    env = os.environ.get("ZKMARGIN_ROOT")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def load_abis(root: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """Contract name -> ABI from ape's build manifest."""
    path = (root or project_root()) / ".build" / "__local__.json"
    if not path.exists():
        raise InputError(str(path), "no compiled contracts here (run `ape compile` in the project)")
    types = json.loads(path.read_text())["contractTypes"]
    return {name: types[name]["abi"] for name in CONTRACTS.values() if name in types}


@dataclass(frozen=True)
class FeedView:
    underlying: str
    answer: int  # 8 decimals
    round_id: int
    updated_at: int


@dataclass(frozen=True)
class EpochView:
    epoch_id: int
    digest: int
    oracle_round: int
    timestamp: int
    posted_at: int
    im_factor_bps: int
    grace_ends_at: int


@dataclass(frozen=True)
class AuctionView:
    account: str
    label: str
    epoch_id: int
    reason: int
    start_time: int
    discount_bps: int
    cash: int
    notional: int  # gross mark notional of the remaining positions, base units
    fee_due: int
    shortfall: int
    underwater: bool


@dataclass(frozen=True)
class Snapshot:
    block: int
    block_time: int
    chain_id: int
    global_round: int
    feeds: list[FeedView]
    epoch: EpochView | None
    accounts: list[AccountHealth]
    auctions: list[AuctionView]
    insurance_fund: int
    protocol_fees: int
    total_deposits: int
    socialized: int
    paid_by_insurance: int
    uncovered: int
    liquidations_finished: int
    book_known: bool
    tier_counts: dict[str, int] = field(default_factory=dict)


class ChainView:
    """The deployment saved in ``state_dir``, read over JSON-RPC at ``rpc_url``."""

    def __init__(self, state_dir: Path | str, rpc_url: str, *, policy: TierPolicy | None = None,
                 root: Path | None = None) -> None:
        from web3 import HTTPProvider, Web3

        self.state_dir = Path(state_dir)
        dep_path = self.state_dir / "deployment.json"
        if not dep_path.exists():
            raise InputError(str(dep_path), "no deployment here (run `ape run deploy` first)")
        self.deployment = json.loads(dep_path.read_text())
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        try:
            chain_id = int(self.w3.eth.chain_id)
        except Exception as exc:
            raise DevnetError(f"no node answers at {rpc_url}: {exc}") from exc
        if chain_id != int(self.deployment["chain_id"]):
            raise DevnetError(f"{dep_path} is for chain {self.deployment['chain_id']}, the node at {rpc_url} is chain {chain_id}")
        self.chain_id = chain_id
        abis = load_abis(root)
        addrs = self.deployment["contracts"]
        self.c = {k: self.w3.eth.contract(address=Web3.to_checksum_address(addrs[k]), abi=abis[name])
                  for k, name in CONTRACTS.items() if k in addrs and name in abis}
        self.policy = policy or TierPolicy()
        self.grace = int(self.deployment["grace_period_seconds"])
        self.underlyings = sorted({str(i["underlying"]) for i in self.deployment["listing"]})
        # the event logs the page sums, scanned incrementally (one view serves every browser session)
        self._lock = threading.Lock()
        self._scanned = -1
        self._opened: list[tuple[int, str]] = []  # (block, account) of CommitmentUpdated
        self._shortfalls: list[tuple[int, int, int, int]] = []  # (block, socialized, fromInsurance, uncovered)
        self._finished: list[int] = []  # blocks of LiquidationFinished

    def _scan(self, block: int) -> None:
        with self._lock:
            if block <= self._scanned:
                return
            lo, c = self._scanned + 1, self.c
            for ev in c["accounts"].events.CommitmentUpdated.get_logs(from_block=lo, to_block=block):
                self._opened.append((int(ev["blockNumber"]), str(ev["args"]["account"])))
            for ev in c["vault"].events.ShortfallCovered.get_logs(from_block=lo, to_block=block):
                a = ev["args"]
                self._shortfalls.append((int(ev["blockNumber"]), int(a["socialized"]), int(a["fromInsurance"]),
                                         int(a["uncovered"])))
            for ev in c["liquidation"].events.LiquidationFinished.get_logs(from_block=lo, to_block=block):
                self._finished.append(int(ev["blockNumber"]))
            self._scanned = block

    # --- the operator's side (optional) -------------------------------------------------------
    def _book(self) -> Any:
        from offchain.devnet.operator import AccountBook

        path = self.state_dir / "book.json"
        return AccountBook.load(path) if path.exists() else None

    def _epoch_file(self, epoch_id: int) -> Any:
        from offchain.risk.epoch import load_epoch

        path = self.state_dir / "epochs" / f"epoch-{epoch_id}.json"
        return load_epoch(str(path)) if epoch_id and path.exists() else None

    # --- one consistent read ------------------------------------------------------------------------
    def snapshot(self, block: int | None = None) -> Snapshot:
        """Everything the live page shows, read at ``block`` (default: the latest)."""
        from prover.statement import KIND_MM

        b = int(self.w3.eth.block_number) if block is None else int(block)
        blk = self.w3.eth.get_block(b)
        c = self.c
        feeds = []
        for u in self.underlyings:
            r = c["oracle"].functions.latestRound(feed_id(f"{u}/USD")).call(block_identifier=b)
            feeds.append(FeedView(u, int(r[0]), int(r[2]), int(r[1])))
        global_round = int(c["oracle"].functions.globalRound().call(block_identifier=b))
        current = int(c["epochs"].functions.currentEpochId().call(block_identifier=b))
        epoch = None
        if current:
            e = c["epochs"].functions.getEpoch(current).call(block_identifier=b)
            # Epoch(digest, fundingDigest, marksHash, fundingHash, oracleRound, timestamp, postedAt,
            #       imFactorBps, n, s)
            epoch = EpochView(current, int(e[0]), int(e[4]), int(e[5]), int(e[6]), int(e[7]), int(e[6]) + self.grace)

        book = self._book()
        epoch_data = self._epoch_file(current)
        labels = {a.address: a.label for a in book} if book is not None else {}
        addresses = list(labels)
        self._scan(b)
        for n, a in self._opened:
            if n <= b and a not in addresses:
                addresses.append(a)
        accounts = []
        for addr in addresses:
            commitment = int(c["accounts"].functions.commitmentOf(addr).call(block_identifier=b))
            # (provenEpoch, insolventEpoch, inLiquidation, settledEpoch)
            st = c["accounts"].functions.accountState(addr).call(block_identifier=b)
            reason = int(c["accounts"].functions.liquidationReason(addr).call(block_identifier=b))
            balance = int(c["vault"].functions.balanceOf(addr).call(block_identifier=b))
            equity = requirement = None
            if book is not None and epoch_data is not None and addr in book:
                acct = book.get(addr)
                if acct.commitment() == commitment:
                    # the funding it has not settled counts, from the epoch it last settled at (when
                    # that epoch's file is in the state folder; else none is counted)
                    settled_at = self._epoch_file(int(st[3])) if int(st[3]) else None
                    settled = settled_at.fund if settled_at is not None else None
                    f = epoch_data.figures(acct.q, acct.cash, balance, KIND_MM, settled=settled)
                    equity, requirement = int(f.equity), int(f.requirement)
            tier, ratio = classify(self.policy, commitment=commitment, in_liquidation=bool(st[2]),
                                   liquidation_reason=reason, equity=equity, requirement=requirement)
            accounts.append(AccountHealth(addr, labels.get(addr, ""), tier, ratio, equity, requirement, balance,
                                          commitment, int(st[0]), current, reason, bool(st[2])))

        auctions = []
        for h in accounts:
            a = c["liquidation"].functions.getAuction(h.address).call(block_identifier=b)
            # Auction(epochId, startTime, n, reason, active, discountRateWad, underwater, cash, feeDue, shortfall)
            if not a[4]:
                continue
            positions, marks = c["liquidation"].functions.getBook(h.address).call(block_identifier=b)
            discount = int(c["liquidation"].functions.discountBpsAt(h.address, int(blk["timestamp"])).call(block_identifier=b))
            auctions.append(AuctionView(h.address, h.label, int(a[0]), int(a[3]), int(a[1]), discount, int(a[7]),
                                        sum(abs(int(q) * int(m)) for q, m in zip(positions, marks)), int(a[8]), int(a[9]),
                                        bool(a[6])))

        shortfalls = [x for x in self._shortfalls if x[0] <= b]
        socialized, paid, uncovered = (sum(x[k] for x in shortfalls) for k in (1, 2, 3))
        finished = sum(1 for n in self._finished if n <= b)
        from offchain.devnet.tiers import tier_counts

        return Snapshot(
            block=b, block_time=int(blk["timestamp"]), chain_id=self.chain_id, global_round=global_round, feeds=feeds,
            epoch=epoch, accounts=accounts, auctions=auctions,
            insurance_fund=int(c["vault"].functions.insuranceFund().call(block_identifier=b)),
            protocol_fees=int(c["vault"].functions.protocolFees().call(block_identifier=b)),
            total_deposits=int(c["vault"].functions.totalDeposits().call(block_identifier=b)),
            socialized=socialized, paid_by_insurance=paid, uncovered=uncovered, liquidations_finished=finished,
            book_known=book is not None, tier_counts=tier_counts(self.policy, accounts),
        )
