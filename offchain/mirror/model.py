"""A whole-protocol integer model (vault + margin accounts + settlement + liquidation), step by step.

It mirrors the state machine of ``MarginAccounts``, ``Settlement``, ``Liquidation`` and
``CollateralVault``: commitments change only by transitions (a settled batch's entries, a
liquidation takeover), whose truth (does the proof verify?) the caller supplies from
:func:`prover.transitions.apply_transition`, as the mock verifier of the tests does.
the invariant tests drive the contracts and this model with the same random operations and
require identical state after every step. Methods raise :class:`Reject` (with the custom error
name the contract must revert with) where the contract reverts, and change nothing then.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from offchain.mirror.auction import (
    AuctionParams,
    book_value,
    discount_bps,
    discount_cap,
    fill_terms,
    take_slice,
)
from offchain.mirror.vault import InsufficientBalance, VaultModel
from prover.statement import KIND_INSOLVENCY
from zkmargin.errors import InputError, ZkMarginError

REASON_NONE, REASON_NO_FRESH_PROOF, REASON_INSOLVENT = 0, 1, 2
#: ``Constants.SKIP_*``: why a batch entry of ``submitProofs`` is skipped
SKIP_ALREADY_PROVEN, SKIP_COMMITMENT_CHANGED, SKIP_IN_LIQUIDATION, SKIP_COLLATERAL_STALE = 1, 2, 3, 4
SKIP_REASONS = {SKIP_ALREADY_PROVEN: "already proven", SKIP_COMMITMENT_CHANGED: "commitment changed",
                SKIP_IN_LIQUIDATION: "in liquidation", SKIP_COLLATERAL_STALE: "balance moved past the proof"}


class Reject(ZkMarginError):
    """The contract reverts with custom error ``error``."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(error)


T = TypeVar("T")
CASH_BOUND = 2**128


@dataclass
class AccountState:
    commitment: int = 0
    proven_epoch: int = 0
    insolvent_epoch: int = 0
    insolvent_collateral: int = 0
    in_liquidation: bool = False
    settled_epoch: int = 0


@dataclass(frozen=True)
class TransitionEntry:
    """One account's transition as a contract receives it (``IMarginAccounts.Transition`` /
    ``ISettlement.Entry``); ``true`` says whether its proof verifies."""

    account: str
    commitment_old: int
    commitment_new: int
    collateral: int
    cash_out: int
    fresh: bool
    true: bool
    orders: tuple[tuple[int, int], ...] = ((0, 0), (0, 0))  # per slot (O, S_new); (0, 0) unused
    signed: tuple[bool, ...] = (True, True)  # whether each used order's signature is the account's


@dataclass
class AuctionState:
    epoch_id: int
    start_time: int
    positions: list[int]
    cash: int
    marks: list[int]
    rate_wad: int = 0  # the discount cap, fixed at the start
    underwater: bool = False
    equity_at_start: int = 0  # balance + book value at mark (for invariant checks)
    fee_due: int = 0
    shortfall: int = 0


@dataclass
class PauseLog:
    """``GuardianPausable``'s record: the current pause and the completed ones."""

    paused_at: int | None = None
    pauses: list[tuple[int, int]] = field(default_factory=list)

    def pause(self, now: int) -> None:
        if self.paused_at is None:
            self.paused_at = now

    def unpause(self, now: int) -> None:
        if self.paused_at is not None:
            self.pauses.append((self.paused_at, now))
            self.paused_at = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def paused_seconds_since(self, start: int, now: int) -> int:
        """``pausedSecondsSince``: paused seconds in ``[start, now]``."""
        total = now - max(self.paused_at, start) if self.paused_at is not None else 0
        for a, b in reversed(self.pauses):
            if b <= start:
                break
            total += b - max(a, start)
        return total


@dataclass
class ProtocolModel:
    grace_seconds: int
    params: AuctionParams
    vault: VaultModel = field(default_factory=VaultModel)
    epoch_id: int = 0
    epoch_posted_at: int = 0
    accounts: dict[str, AccountState] = field(default_factory=dict)
    auctions: dict[str, AuctionState] = field(default_factory=dict)
    used_statements: set[tuple[int, int, str, int]] = field(default_factory=set)
    accounts_pause: PauseLog = field(default_factory=PauseLog)
    liquidation_pause: PauseLog = field(default_factory=PauseLog)
    settlement_pause: PauseLog = field(default_factory=PauseLog)
    order_states: dict[int, int] = field(default_factory=dict)
    settled_batches: set[int] = field(default_factory=set)

    def atomically(self, fn: Callable[[], T]) -> T:
        """Run ``fn``; if it raises :class:`Reject`, restore the state (a reverted transaction)."""
        saved = copy.deepcopy(self.__dict__)
        try:
            return fn()
        except Reject:
            self.__dict__.update(saved)
            raise

    def acct(self, a: str) -> AccountState:
        return self.accounts.setdefault(a, AccountState())

    # ---------------------------------------------------------------- views
    def liquidation_reason(self, a: str, now: int) -> int:
        st = self.acct(a)
        if st.commitment == 0 or st.in_liquidation or self.epoch_id == 0:
            return REASON_NONE
        if st.insolvent_epoch == self.epoch_id and st.insolvent_collateral >= self.vault.balance_of(a):
            return REASON_INSOLVENT
        if st.proven_epoch < self.epoch_id:
            unpaused = now - self.epoch_posted_at - self.accounts_pause.paused_seconds_since(self.epoch_posted_at, now)
            if unpaused > self.grace_seconds:
                return REASON_NO_FRESH_PROOF
        return REASON_NONE

    # ---------------------------------------------------------------- epochs
    def post_epoch(self, epoch_id: int, now: int) -> None:
        if epoch_id <= self.epoch_id:
            raise Reject("Epochs_EpochNotIncreasing")
        self.epoch_id, self.epoch_posted_at = epoch_id, now

    # ---------------------------------------------------------------- vault
    def deposit(self, a: str, amount: int) -> None:
        self.vault.deposit(a, amount)

    def withdraw_flat(self, a: str, amount: int) -> None:
        if self.acct(a).commitment:
            raise Reject("Vault_AccountHasPositions")
        try:
            self.vault.withdraw(a, amount)
        except InsufficientBalance as exc:
            raise Reject("Vault_InsufficientBalance") from exc

    # ---------------------------------------------------------------- proofs
    def _check_submission(self, epoch_id: int, kind: int) -> None:
        if self.accounts_pause.paused:
            raise Reject("Guard_Paused")
        if kind > KIND_INSOLVENCY:
            raise Reject("Accounts_BadKind")
        if epoch_id != self.epoch_id:
            raise Reject("Accounts_WrongEpoch")

    def _state_problem(self, a: str, expected: int, kind: int, collateral: int) -> int:
        st = self.acct(a)
        if st.commitment == 0 or st.commitment != expected:
            return SKIP_COMMITMENT_CHANGED
        if st.in_liquidation:
            return SKIP_IN_LIQUIDATION
        balance = self.vault.balance_of(a)
        if kind == KIND_INSOLVENCY:
            if st.insolvent_epoch >= self.epoch_id:
                return SKIP_ALREADY_PROVEN
            if collateral < balance:
                return SKIP_COLLATERAL_STALE
        else:
            if st.proven_epoch >= self.epoch_id:
                return SKIP_ALREADY_PROVEN
            if collateral > balance:
                return SKIP_COLLATERAL_STALE
        return 0

    def _accept_proof(self, a: str, kind: int, collateral: int) -> None:
        st = self.acct(a)
        if kind == KIND_INSOLVENCY:
            st.insolvent_epoch, st.insolvent_collateral = self.epoch_id, collateral
        else:
            st.proven_epoch = self.epoch_id

    def submit_proof(self, a: str, epoch_id: int, kind: int, collateral: int, statement_true: bool) -> None:
        self._check_submission(epoch_id, kind)
        problem = self._state_problem(a, self.acct(a).commitment, kind, collateral)
        if problem:
            raise Reject({SKIP_COMMITMENT_CHANGED: "Accounts_NoCommitment", SKIP_IN_LIQUIDATION: "Accounts_InLiquidation",
                          SKIP_ALREADY_PROVEN: "Accounts_ProofReplayed"}.get(
                problem, "Accounts_CollateralBelowBalance" if kind == KIND_INSOLVENCY else "Accounts_CollateralAboveBalance"))
        if not statement_true:
            raise Reject("Accounts_InvalidProof")
        self._accept_proof(a, kind, collateral)

    def submit_proofs(self, epoch_id: int, batch: Sequence[tuple[str, int, int, int, bool]]) -> list[tuple[str, int]]:
        """``submitProofs`` over ``(account, kind, collateral, commitment, statement_true)`` entries;
        returns the skipped ``(account, reason)``. The entries that are not skipped are verified
        together after every check (one batch verification): a false one reverts the batch with
        ``Accounts_InvalidProof``. Atomic: a revert changes nothing."""
        accepted: list[tuple[str, int, int]] = []
        skipped: list[tuple[str, int]] = []
        saved = {a: AccountState(**vars(st)) for a, st in self.accounts.items()}
        try:
            all_true = True
            for a, kind, collateral, expected, ok in batch:
                self._check_submission(epoch_id, kind)
                problem = self._state_problem(a, expected, kind, collateral)
                if problem:
                    skipped.append((a, problem))
                    continue
                all_true = all_true and ok
                self._accept_proof(a, kind, collateral)
                accepted.append((a, kind, collateral))
            if not all_true:  # the accepted entries are verified together, after every check
                raise Reject("Accounts_InvalidProof")
        except Reject:
            self.accounts = saved
            raise
        return skipped

    def _clear_insolvency(self, st: AccountState) -> None:
        st.insolvent_epoch, st.insolvent_collateral = 0, 0

    def _use_statement(self, a: str, commitment: int, epoch_id: int, collateral: int) -> tuple[int, int, str, int]:
        if epoch_id != self.epoch_id or self.epoch_id == 0:
            raise Reject("Accounts_WrongEpoch")
        key = (commitment, self.epoch_id, a, collateral)
        if key in self.used_statements:
            raise Reject("Accounts_ProofReplayed")
        return key

    def apply_transition(self, t: TransitionEntry) -> None:
        """``MarginAccounts.applyTransition`` (called by a module; the caller's checks come first)."""
        self.apply_transitions([t])

    def apply_transitions(self, ts: Sequence[TransitionEntry]) -> None:
        """``MarginAccounts.applyTransitions``: every transition checked in order, then all the
        proofs verified together (one ``verifyBatch``), then the writes."""
        if self.accounts_pause.paused:
            raise Reject("Guard_Paused")
        for t in ts:
            self._check_transition(t)
        if not all(t.true for t in ts):
            raise Reject("Accounts_InvalidProof")
        for t in ts:
            st = self.acct(t.account)
            st.commitment = t.commitment_new
            st.settled_epoch = self.epoch_id
            if t.fresh:
                st.proven_epoch = self.epoch_id
            self._clear_insolvency(st)
            if t.cash_out:
                self.vault.move_private_cash(t.account, t.cash_out)

    def _check_transition(self, t: TransitionEntry) -> None:
        st = self.acct(t.account)
        if t.commitment_old != st.commitment:
            raise Reject("Accounts_StaleCommitment")
        if st.in_liquidation:
            raise Reject("Accounts_InLiquidation")
        if t.commitment_new == 0:
            raise Reject("Accounts_ZeroCommitment")
        if not -CASH_BOUND < t.cash_out < CASH_BOUND:
            raise Reject("Accounts_BadTransition")
        balance = self.vault.balance_of(t.account)
        if t.cash_out < 0 and -t.cash_out > balance:
            raise Reject("Accounts_CollateralAboveBalance")
        if t.collateral > balance + t.cash_out:
            raise Reject("Accounts_CollateralAboveBalance")

    def settle(self, epoch_id: int, fill_table: int, fee_total: int, entries: Sequence[TransitionEntry]) -> None:
        """``Settlement.settle`` of a batch (all or nothing)."""
        self.atomically(lambda: self._settle(epoch_id, fill_table, fee_total, entries))

    def _settle(self, epoch_id: int, fill_table: int, fee_total: int, entries: Sequence[TransitionEntry]) -> None:
        if self.settlement_pause.paused:
            raise Reject("Guard_Paused")
        if epoch_id != self.epoch_id:
            raise Reject("Settlement_WrongEpoch")
        if fill_table in self.settled_batches:
            raise Reject("Settlement_BatchReplayed")
        if not 1 <= len(entries) <= 1 << 16:
            raise Reject("Settlement_BadBatch")
        self.settled_batches.add(fill_table)
        previous = -1
        for e in entries:
            if int(e.account, 16) <= previous:
                raise Reject("Settlement_AccountsNotSorted")
            previous = int(e.account, 16)
            used = [o for o, _ in e.orders if o]
            for (o, s_new), ok in zip(e.orders, e.signed):
                if o == 0 and s_new != 0:
                    raise Reject("Settlement_BadOrderSlots")
                if o and not ok:
                    raise Reject("Settlement_BadOrderSignature")
            if len(used) == 2 and used[0] == used[1]:
                raise Reject("Settlement_BadOrderSlots")
        self.apply_transitions(entries)  # checked in order, verified together, then written
        for e in entries:
            for o, s_new in e.orders:
                if o:
                    self.order_states[o] = s_new
        self.vault.collect_trading_fees(fee_total)

    def withdraw_margin(self, a: str, amount: int, epoch_id: int, collateral: int, statement_true: bool) -> None:
        st = self.acct(a)
        if self.accounts_pause.paused:
            raise Reject("Guard_Paused")
        if st.commitment == 0:
            raise Reject("Accounts_NoCommitment")
        if st.in_liquidation:
            raise Reject("Accounts_InLiquidation")
        key = self._use_statement(a, st.commitment, epoch_id, collateral)
        balance = self.vault.balance_of(a)
        free = balance - collateral if balance > collateral else 0
        if amount > free:
            raise Reject("Accounts_InsufficientFreeCollateral")
        if not statement_true:
            raise Reject("Accounts_InvalidProof")
        if amount == 0:
            raise Reject("Vault_ZeroAmount")
        self.used_statements.add(key)
        st.proven_epoch = self.epoch_id
        self.vault.withdraw(a, amount)

    # ---------------------------------------------------------------- liquidation
    def start_liquidation(self, a: str, now: int, q: Sequence[int], cash: int, marks: Sequence[int],
                          owed_funding: int = 0) -> int:
        """``Liquidation.startLiquidation``; the book's cash is ``cash - owed_funding``."""
        return self.atomically(lambda: self._start(a, now, q, cash - owed_funding, marks))

    def _start(self, a: str, now: int, q: Sequence[int], cash: int, marks: Sequence[int]) -> int:
        if self.liquidation_pause.paused:
            raise Reject("Guard_Paused")
        if a in self.auctions:
            raise Reject("Liquidation_AlreadyInLiquidation")
        st = self.acct(a)
        if st.commitment == 0:
            raise Reject("Liquidation_NoCommitment")
        reason = self.liquidation_reason(a, now)
        if reason == REASON_NONE:
            raise Reject("Liquidation_AccountHealthy")
        if self.accounts_pause.paused:
            raise Reject("Guard_Paused")  # beginLiquidation is refused while the accounts are paused
        st.in_liquidation = True
        value, gross = book_value(q, cash, marks)
        equity = self.vault.balance_of(a) + value
        rate, underwater = discount_cap(equity, gross)
        self.auctions[a] = AuctionState(self.epoch_id, now, list(q), cash, list(marks), rate, underwater, equity)
        return reason

    def discount_at(self, a: str, now: int) -> int:
        """``Liquidation.discountBpsAt``: the schedule on the auction clock (paused time taken off)."""
        au = self.auctions[a]
        p = self.params
        paused = self.liquidation_pause.paused_seconds_since(au.start_time, now)
        clock = now - paused if now > au.start_time + paused else au.start_time
        return discount_bps(au.start_time, clock, p.duration_seconds, p.start_discount_bps, p.max_discount_bps)

    def bid(self, a: str, bidder: str, fraction_wad: int, max_cost: int, now: int,
            takeover: Callable[[Sequence[int], int], TransitionEntry] | None = None) -> int:
        """``Liquidation.bid``: ``takeover(lots, cash_taken)`` is the bidder's transition for the slice
        (None: a valid one that leaves the bidder's commitment as the model makes it)."""
        return self.atomically(lambda: self._bid(a, bidder, fraction_wad, max_cost, now, takeover))

    def _bid(self, a: str, bidder: str, fraction_wad: int, max_cost: int, now: int,
             takeover: Callable[[Sequence[int], int], TransitionEntry] | None) -> int:
        if self.liquidation_pause.paused:
            raise Reject("Guard_Paused")
        au = self.auctions.get(a)
        if au is None:
            raise Reject("Liquidation_NotInLiquidation")
        if not 0 < fraction_wad <= 10**18:
            raise Reject("Liquidation_BadFraction")
        if bidder == a:
            raise Reject("Liquidation_SelfBid")
        try:
            sl = take_slice(au.positions, au.cash, au.marks, fraction_wad)
        except InputError as exc:  # the fill is empty
            raise Reject("Liquidation_EmptyFill") from exc
        d = self.discount_at(a, now)
        cost, _disc, fee = fill_terms(sl.value, sl.gross, d, self.params.liquidation_fee_bps, au.rate_wad, au.underwater)
        if cost > max_cost:
            raise Reject("Liquidation_PriceAboveLimit")
        if cost > 0:
            try:
                self.vault.transfer(bidder, a, cost)
            except InsufficientBalance as exc:
                raise Reject("Vault_InsufficientBalance") from exc
        elif cost < 0:
            split = self.vault.cover_shortfall(a, bidder, -cost)
            au.shortfall += split.from_insurance + split.socialized + split.uncovered
        au.positions, au.cash = list(sl.positions_after), sl.cash_after
        au.fee_due += fee
        entry = takeover(sl.lots, sl.cash_taken) if takeover is not None else TransitionEntry(
            bidder, self.acct(bidder).commitment, self.acct(bidder).commitment + 1 or 1, 0, 0, True, True)
        self.apply_transition(entry)
        if sl.empty:
            self.finish(a, by_fill=True)  # the fill that empties the book finishes the auction
        return cost

    def finish(self, a: str, *, by_fill: bool = False) -> int:
        if self.liquidation_pause.paused and not by_fill:
            raise Reject("Guard_Paused")
        au = self.auctions.get(a)
        if au is None:
            raise Reject("Liquidation_NotInLiquidation")
        if au.cash != 0 or any(au.positions):
            raise Reject("Liquidation_AuctionNotComplete")
        fee, _ins, _prot = self.vault.collect_fee(a, au.fee_due, self.params.protocol_fee_share_bps)
        del self.auctions[a]
        st = self.acct(a)
        st.commitment, st.in_liquidation = 0, False
        self._clear_insolvency(st)
        return fee
