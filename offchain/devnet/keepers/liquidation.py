"""The liquidation keeper: finds liquidatable accounts, opens them, bids, finishes.

Restart safety and idempotence come from one rule: **every decision is derived from on-chain
state, and no decision is taken while one of the keeper's own transactions is still pending.**

* accounts are discovered from ``MarginAccounts.CommitmentUpdated`` events (the scan position is
  checkpointed to a state file, written atomically, but a lost or stale checkpoint only makes the
  keeper re-scan: it never changes a decision);
* before each pass the keeper waits until its pending nonce equals its mined nonce, so a
  transaction sent just before a crash is either mined (and its effect visible) or gone;
* within a pass each account gets at most one action, chosen from its on-chain state:
  ``liquidationReason != 0`` and no active auction -> ``startLiquidation`` (with the opening from
  the operator's book, the epoch's marks and the funding indices from ``RiskEpochs.EpochData``);
  active auction with a non-empty book -> ``bid`` (the fill that empties the book also finishes
  the auction on-chain) with the liquidator's takeover transition, proven, that moves the slice
  into the liquidator's own book (:mod:`offchain.devnet.keepers.takeover`: the opening a bid
  would create is checkpointed before the bid is sent, and adopted when the chain shows it);
  active auction with an empty book (opened empty) -> ``finishLiquidation``.

So a keeper killed with SIGKILL at any point and restarted misses no liquidation and never sends
a transaction that the chain would reject as a duplicate.

A second rule: **no single account can stop the keeper.** Each account's decision and
transaction is isolated: an account the operator's book does not know (it registered a
commitment of its own), a transaction that reverts (another bidder was faster), or any other
failure about one account is recorded as a :class:`Skip` (``on_skip`` is told, once per account
and reason) and the pass goes on to the next account.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offchain.devnet.chain_epochs import ChainEpochs
from offchain.devnet.keepers.takeover import OpeningBook, Takeovers, TransitionProver
from offchain.devnet.clock import GraceWindow, grace_window, utc
from offchain.devnet.manifest import write_json_atomic
from offchain.devnet.operator import PrivateAccount
from offchain.mirror.auction import WAD, take_slice
from prover.errors import UnsatisfiedError
from prover.statement import BPS
from zkmargin.errors import DevnetError, InputError

#: the event that announces a new (or updated) account; ``account`` is its first indexed topic
COMMITMENT_UPDATED = "CommitmentUpdated(address,uint64,uint256,uint256)"
LOG_PAGE_BLOCKS = 5_000
#: a keeper transaction of kind k gets ``estimate * pct / 100 + flat`` gas, ``(pct, flat) =
#: GAS_BUFFER[k]``. A bid's gas depends on the block it lands in (the auction price moves with
#: time and can take a dearer branch, e.g. shortfall cover); opening a commitment and closing an
#: empty book do not, so they get a small margin (a large one would leave block space unused:
#: a block takes a transaction only while its gas *limit* fits what is left).
GAS_BUFFER = {"start": (110, 20_000), "bid": (150, 50_000), "finish": (110, 20_000)}
STATE_VERSION = 2
#: a slice the liquidator's margin cannot take whole is halved, at most this many times
MAX_HALVINGS = 6


@dataclass
class KeeperPolicy:
    """How the keeper bids: the largest gross mark notional it takes in one fill (larger books are
    sold in partial fills), the smallest discount to mark it accepts, and the most it pays for
    one fill (collateral base units)."""

    max_fill_notional_units: int = 2**255 - 1
    min_discount_bps: int = 0
    max_cost_units: int = 2**255 - 1

    def fraction_wad(self, book_notional_units: int) -> int:
        """The fraction of the remaining book to take: all of it if it fits in one fill."""
        if book_notional_units <= self.max_fill_notional_units:
            return WAD
        return max(1, self.max_fill_notional_units * WAD // book_notional_units)

    def __post_init__(self) -> None:
        if self.max_fill_notional_units <= 0:
            raise InputError("max_fill_notional_units", f"must be positive, got {self.max_fill_notional_units}")
        if not 0 <= self.min_discount_bps <= BPS:
            raise InputError("min_discount_bps", f"must be in [0, 10000], got {self.min_discount_bps}")


@dataclass
class Action:
    """One transaction the keeper sent."""

    kind: str  # "start" | "bid" | "finish"
    account: str
    block: int
    gas_used: int
    tx: str
    finished: bool = False  # the auction closed in this transaction (the emptying bid, or "finish")


@dataclass(frozen=True)
class Skip:
    """An account the keeper could not act on in a pass, and why (it goes on with the others)."""

    account: str
    reason: str


@dataclass(frozen=True)
class AccountWatch:
    """What the keeper sees of one account: ``state`` is ``"in auction"``, ``"liquidatable"``,
    ``"in grace"`` (no proof for the current epoch yet), ``"proven"`` or ``"closed"``."""

    account: str
    label: str
    state: str
    detail: str

    def line(self) -> str:
        name = f"{self.account} ({self.label})" if self.label else self.account
        return f"{name}: {self.detail}"


@dataclass
class KeeperState:
    """What the keeper checkpoints between runs (a cache: the chain is the truth)."""

    chain_id: int
    accounts_address: str
    scanned_to_block: int = -1
    accounts: list[str] = field(default_factory=list)
    #: openings of the liquidator's takeovers sent (or about to be), by commitment
    pending: dict[int, PrivateAccount] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "chain_id": self.chain_id,
            "accounts_address": self.accounts_address,
            "scanned_to_block": self.scanned_to_block,
            "accounts": self.accounts,
            "pending": {str(c): a.to_json() for c, a in self.pending.items()},
        }

    @classmethod
    def load_or_new(cls, path: Path | None, chain_id: int, accounts_address: str) -> KeeperState:
        fresh = cls(chain_id=chain_id, accounts_address=accounts_address)
        if path is None or not path.exists():
            return fresh
        try:
            obj = json.loads(path.read_text())
        except json.JSONDecodeError:
            return fresh  # a corrupt cache is rebuilt from the chain
        if obj.get("version") != STATE_VERSION or obj.get("chain_id") != chain_id or obj.get("accounts_address") != accounts_address:
            return fresh  # another deployment or chain: start over
        pending = {int(c): PrivateAccount.from_json(a, f"{path}.pending") for c, a in obj.get("pending", {}).items()}
        return cls(chain_id, accounts_address, int(obj["scanned_to_block"]), [str(a) for a in obj["accounts"]], pending)


class UnknownAccount(DevnetError):
    """A liquidatable account whose opening the operator's book does not have."""

    def __init__(self, account: str) -> None:
        self.account = account
        super().__init__(f"{account} is liquidatable but the operator's book has no opening for it "
                         "(a commitment registered outside this operator): skipped")


class LiquidationKeeper:
    """Drives liquidations for one deployment (see the module docstring for the safety rule)."""

    def __init__(
        self,
        deployment: Any,
        book: OpeningBook,
        sender: Any,
        *,
        prover: TransitionProver | None = None,
        state_path: Path | None = None,
        policy: KeeperPolicy | None = None,
        on_action: Callable[[Action], None] | None = None,
        on_skip: Callable[[Skip], None] | None = None,
    ) -> None:
        from ape import chain

        self.d = deployment
        self.book = book
        self.sender = sender
        self.policy = policy or KeeperPolicy()
        self.state_path = state_path
        self.on_action = on_action
        self.on_skip = on_skip
        #: the last reason each account was skipped for (reported once per account and reason)
        self.skipped: dict[str, str] = {}
        self.chain = chain
        self.state = KeeperState.load_or_new(state_path, int(chain.chain_id), str(deployment.accounts.address))
        self.epochs = ChainEpochs(deployment)
        #: the liquidator's takeovers (None: no transition prover, so the keeper cannot bid)
        self.takeovers = (Takeovers(deployment, book, str(sender.address), prover, self.epochs, self.state.pending)
                          if prover is not None else None)
        self._last_takeover: tuple[PrivateAccount, int] | None = None

    # --- discovery -------------------------------------------------------------------------
    def scan(self) -> list[str]:
        """Add accounts that got a commitment since the last scan; return all known accounts."""
        head = int(self.chain.blocks.head.number)
        if self.state.scanned_to_block > head:  # a checkpoint from a longer, other chain: re-scan
            self.state = KeeperState(self.state.chain_id, self.state.accounts_address)
        start = self.state.scanned_to_block + 1
        if start <= head:
            from eth_utils import keccak, to_checksum_address

            w3 = self.chain.provider.web3
            topic = "0x" + keccak(text=COMMITMENT_UPDATED).hex()
            known = set(self.state.accounts)
            for lo in range(start, head + 1, LOG_PAGE_BLOCKS):
                logs = w3.eth.get_logs({"address": str(self.d.accounts.address), "topics": [topic],
                                        "fromBlock": lo, "toBlock": min(head, lo + LOG_PAGE_BLOCKS - 1)})
                for log in logs:
                    addr = to_checksum_address(bytes(log["topics"][1])[-20:])
                    if addr not in known:
                        known.add(addr)
                        self.state.accounts.append(addr)
            self.state.scanned_to_block = head
            self._save()
        return list(self.state.accounts)

    def _save(self) -> None:
        if self.state_path is not None:
            write_json_atomic(self.state_path, self.state.to_json())

    def epoch_marks(self, epoch_id: int) -> list[int]:
        """The marks of ``epoch_id`` from its ``EpochData`` event (public data, checked by hash on-chain)."""
        return list(self.epochs.statement(epoch_id).marks)

    # --- safety ------------------------------------------------------------------------------
    def wait_until_settled(self, timeout_s: float = 60.0) -> None:
        """Block until none of the keeper's transactions is pending."""
        w3 = self.chain.provider.web3
        addr = str(self.sender.address)
        deadline = time.monotonic() + timeout_s
        while w3.eth.get_transaction_count(addr, "pending") != w3.eth.get_transaction_count(addr, "latest"):
            if time.monotonic() > deadline:
                raise DevnetError(f"keeper transactions from {addr} still pending after {timeout_s} s")
            time.sleep(0.2)

    # --- what it watches and waits for -------------------------------------------------------
    def watch(self) -> tuple[list[AccountWatch], GraceWindow | None]:
        """Every known account's state from the chain, and the current epoch's grace window."""
        window = grace_window(self.d)
        epoch = window.epoch_id if window else 0
        out = []
        for account in self.scan():
            label = self.book.get(account).label if account in self.book else ""
            if self.d.liquidation.getAuction(account).active:
                out.append(AccountWatch(account, label, "in auction", "in auction: the keeper bids until the book is sold"))
                continue
            if int(self.d.accounts.commitmentOf(account)) == 0:
                out.append(AccountWatch(account, label, "closed", "closed (no commitment)"))
                continue
            reason = int(self.d.accounts.liquidationReason(account))
            proven = int(self.d.accounts.accountState(account).provenEpoch)
            if reason:
                why = "proven insolvent" if reason == 2 else f"no proof for epoch {epoch} within its grace window"
                out.append(AccountWatch(account, label, "liquidatable", f"liquidatable ({why})"))
            elif proven >= epoch:
                out.append(AccountWatch(account, label, "proven", f"proven for epoch {epoch}"))
            else:
                ends = f" after {utc(window.ends_at)}" if window else ""
                out.append(AccountWatch(account, label, "in grace",
                                        f"no proof for epoch {epoch} yet (last proven: epoch {proven}): liquidatable{ends} unless proven"))
        return out, window

    def waiting_for(self) -> str:
        """One line: what the keeper watches and what it is waiting for (after an idle pass)."""
        watches, window = self.watch()
        if not watches:
            return "no margin accounts yet: waiting for accounts to open (ape run accounts)"
        counts: dict[str, int] = {}
        for w in watches:
            counts[w.state] = counts.get(w.state, 0) + 1
        epoch = window.epoch_id if window else 0
        words = {"proven": f"proven for epoch {epoch}", "in grace": f"without a proof for epoch {epoch}",
                 "liquidatable": "liquidatable", "in auction": "in auction", "closed": "closed"}
        parts = [f"{counts[state]} {words[state]}" for state in words if state in counts]
        head = f"watching {len(watches)} accounts ({', '.join(parts)})"
        pending = [w for w in watches if w.state == "in grace"]
        stuck = [w for w in watches if w.state in ("liquidatable", "in auction")]
        if stuck:
            names = ", ".join(w.label or w.account for w in stuck)
            return f"{head}: cannot act on {names} (see the skips above); retrying"
        if pending and window is not None:
            names = ", ".join(w.label or w.account for w in pending)
            return (f"{head}: waiting for the grace window of epoch {window.epoch_id} to end at {window.when()}; "
                    f"then {names} can be liquidated unless proven")
        return f"{head}: nothing to liquidate; waiting for a new epoch (epoch {epoch} is the latest)"

    # --- one pass ------------------------------------------------------------------------------
    def decide(self, account: str, chain_from: tuple[PrivateAccount, int] | None = None) -> tuple[str, tuple[Any, ...]] | None:
        """The one action ``account`` needs now, from its on-chain state, or None. ``chain_from``
        (a pipelined pass): the liquidator's opening after its earlier bids of the pass and the
        balance those bids may have spent at most."""
        auction = self.d.liquidation.getAuction(account)
        if auction.active:
            positions, marks = (list(map(int, x)) for x in self.d.liquidation.getBook(account))
            if int(auction.cash) == 0 and not any(positions):
                return ("finish", (account,))
            if account == str(self.sender.address):
                return None  # the liquidator's own book is left to other bidders
            discount = int(self.d.liquidation.discountBpsAt(account, int(self.chain.blocks.head.timestamp)))
            if discount < self.policy.min_discount_bps:
                return None
            notional = sum(abs(q * m) for q, m in zip(positions, marks))
            return ("bid", self._bid_args(account, positions, int(auction.cash), marks,
                                          self.policy.fraction_wad(notional), chain_from))
        if int(self.d.accounts.liquidationReason(account)) == 0:
            return None
        if account not in self.book:
            raise UnknownAccount(account)
        opening = self.book.get(account)
        epoch = self.epochs.statement()
        settled = self.epochs.settled_funding(account)
        return ("start", (account, (opening.q, opening.cash, opening.salt, list(epoch.marks), list(epoch.fund),
                                    list(settled))))

    def _bid_args(self, account: str, positions: list[int], cash: int, marks: list[int], fraction: int,
                  chain_from: tuple[PrivateAccount, int] | None) -> tuple[Any, ...]:
        """``(account, fraction, maxCost, takeover)``: the largest fraction (halving from the
        policy's) whose slice the liquidator's margin can take, with its proven takeover."""
        if self.takeovers is None:
            raise DevnetError("the keeper has no transition prover: it cannot take a slice over (pass prover=)")
        spent = chain_from[1] if chain_from is not None else 0
        balance = int(self.d.vault.balanceOf(self.sender)) - spent
        problem: Exception | None = None
        for _ in range(MAX_HALVINGS + 1):
            sl = take_slice(positions, cash, marks, fraction)
            # the cost is at most the slice's value at mark (discounts are >= 0): claim the balance left then
            worst = max(0, min(sl.value, self.policy.max_cost_units))
            try:
                prepared = self.takeovers.prepare(sl.lots, sl.cash_taken, max(0, balance - worst),
                                                  old=chain_from[0] if chain_from else None, chained=chain_from is not None)
            except UnsatisfiedError as exc:  # the liquidator's margin cannot take this slice: try half
                problem = exc
                if fraction == 1:
                    break
                fraction = max(1, fraction // 2)
                continue
            self._last_takeover = (prepared.opening, spent + worst)
            return (account, fraction, self.policy.max_cost_units, prepared.takeover)
        raise DevnetError(f"the liquidator's margin cannot take a slice of {account}: {problem}")

    def _method(self, kind: str) -> Any:
        return {"start": self.d.liquidation.startLiquidation, "bid": self.d.liquidation.bid,
                "finish": self.d.liquidation.finishLiquidation}[kind]

    def _gas(self, kind: str, method: Any, args: tuple[Any, ...]) -> int:
        estimate = int(method.estimate_gas_cost(*args, sender=self.sender))
        pct, flat = GAS_BUFFER[kind]
        return estimate * pct // 100 + flat

    def _send(self, kind: str, args: tuple[Any, ...]) -> Action:
        method = self._method(kind)
        if kind == "bid":
            self._save()  # the takeover's opening is checkpointed before the bid can land
        receipt = method(*args, sender=self.sender, gas=self._gas(kind, method, args))
        if kind == "bid" and self.takeovers is not None:
            self.takeovers.sync()
            self._save()
        finished = any(str(ev.account) == str(args[0]) for ev in self.d.liquidation.LiquidationFinished.from_receipt(receipt))
        action = Action(kind, str(args[0]), int(receipt.block_number), int(receipt.gas_used), str(receipt.txn_hash), finished)
        if self.on_action is not None:
            self.on_action(action)
        return action

    def _skip(self, account: str, exc: BaseException) -> None:
        reason = str(exc) if isinstance(exc, UnknownAccount) else f"{type(exc).__name__}: {exc}"
        if self.skipped.get(account) != reason:
            self.skipped[account] = reason
            if self.on_skip is not None:
                self.on_skip(Skip(account, reason))

    def _decide_safely(self, account: str) -> tuple[str, tuple[Any, ...]] | None:
        try:
            return self.decide(account)
        except Exception as exc:  # noqa: BLE001 - no single account can stop the keeper
            self._skip(account, exc)
            return None

    def _sync_liquidator(self) -> None:
        """Adopt the liquidator's opening the chain holds (a takeover sent before a restart)."""
        if self.takeovers is not None and self.takeovers.pending:
            self.takeovers.sync()
            self._save()

    def step(self) -> list[Action]:
        """One pass over every known account; returns the transactions sent (accounts it could
        not act on are reported through ``on_skip`` and left for the next pass)."""
        self.wait_until_settled()
        self._sync_liquidator()
        actions = []
        for account in self.scan():
            decision = self._decide_safely(account)
            if decision is None:
                continue
            try:
                actions.append(self._send(*decision))
            except Exception as exc:  # noqa: BLE001 - e.g. another bidder was faster: go on
                self._skip(account, exc)
        return actions

    def send_pass(self) -> list[tuple[str, str, str]]:
        """Pipelined pass for throughput: decide every account's action from the mined state, then
        sign and broadcast all of them with consecutive nonces without waiting for receipts
        (several liquidations per block). Returns ``(kind, account, tx hash)``; the caller waits
        for them to be mined (the next pass waits too, so the safety rule still holds)."""
        self.wait_until_settled()
        self._sync_liquidator()
        w3 = self.chain.provider.web3
        nonce = w3.eth.get_transaction_count(str(self.sender.address), "latest")
        sent = []
        chained: tuple[PrivateAccount, int] | None = None  # the liquidator after this pass's bids
        for account in self.scan():
            try:
                decision = self.decide(account, chained)
            except Exception as exc:  # noqa: BLE001 - no single account can stop the keeper
                self._skip(account, exc)
                continue
            if decision is None:
                continue
            kind, args = decision
            if kind == "bid":
                chained = self._last_takeover
                self._save()
            method = self._method(kind)
            try:
                txn = method.as_transaction(*args, sender=self.sender, gas=self._gas(kind, method, args), nonce=nonce)
            except Exception as exc:  # noqa: BLE001 - the estimate reverts: skip this account only
                self._skip(account, exc)
                continue
            signed = self.sender.sign_transaction(txn)
            tx_hash = w3.eth.send_raw_transaction(signed.serialize_transaction())
            sent.append((kind, account, tx_hash.hex()))
            nonce += 1
        return sent

    def run(self, *, max_passes: int | None = None, until_idle: bool = False, poll_seconds: float = 1.0) -> list[Action]:
        """Repeat :meth:`step`; stop after ``max_passes``, or at the first idle pass if ``until_idle``."""
        done: list[Action] = []
        passes = 0
        while max_passes is None or passes < max_passes:
            actions = self.step()
            done.extend(actions)
            passes += 1
            if until_idle and not actions:
                break
            if not actions:
                time.sleep(poll_seconds)
        return done
