"""A whole-protocol integer model (vault + margin accounts + liquidation), step by step.

It mirrors the state machine of ``MarginAccounts``, ``Liquidation`` and ``CollateralVault``:
the invariant tests drive the contracts and this model with the same random operations and
require identical state after every step. Methods raise :class:`Reject` (with the custom error
name the contract must revert with) where the contract reverts, and change nothing then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from offchain.mirror.auction import AuctionParams, discount_bps, fill_terms, take_slice
from offchain.mirror.vault import InsufficientBalance, VaultModel
from prover.statement import KIND_INSOLVENCY
from zkmargin.errors import ZkMarginError

REASON_NONE, REASON_NO_FRESH_PROOF, REASON_INSOLVENT = 0, 1, 2


class Reject(ZkMarginError):
    """The contract reverts with custom error ``error``."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(error)


@dataclass
class AccountState:
    commitment: int = 0
    proven_epoch: int = 0
    insolvent_epoch: int = 0
    insolvent_collateral: int = 0
    in_liquidation: bool = False


@dataclass
class AuctionState:
    epoch_id: int
    start_time: int
    positions: list[int]
    cash: int
    marks: list[int]
    fee_due: int = 0
    shortfall: int = 0


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

    def acct(self, a: str) -> AccountState:
        return self.accounts.setdefault(a, AccountState())

    # ---------------------------------------------------------------- views
    def liquidation_reason(self, a: str, now: int) -> int:
        st = self.acct(a)
        if st.commitment == 0 or st.in_liquidation or self.epoch_id == 0:
            return REASON_NONE
        if st.insolvent_epoch == self.epoch_id and st.insolvent_collateral >= self.vault.balance_of(a):
            return REASON_INSOLVENT
        if st.proven_epoch < self.epoch_id and now > self.epoch_posted_at + self.grace_seconds:
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
    def submit_proof(self, a: str, epoch_id: int, kind: int, collateral: int, statement_true: bool) -> None:
        st = self.acct(a)
        if st.commitment == 0:
            raise Reject("Accounts_NoCommitment")
        if st.in_liquidation:
            raise Reject("Accounts_InLiquidation")
        if epoch_id != self.epoch_id:
            raise Reject("Accounts_WrongEpoch")
        balance = self.vault.balance_of(a)
        if kind == KIND_INSOLVENCY:
            if st.insolvent_epoch >= self.epoch_id:
                raise Reject("Accounts_ProofReplayed")
            if collateral < balance:
                raise Reject("Accounts_CollateralBelowBalance")
        else:
            if st.proven_epoch >= self.epoch_id:
                raise Reject("Accounts_ProofReplayed")
            if collateral > balance:
                raise Reject("Accounts_CollateralAboveBalance")
        if not statement_true:
            raise Reject("Accounts_InvalidProof")
        if kind == KIND_INSOLVENCY:
            st.insolvent_epoch, st.insolvent_collateral = self.epoch_id, collateral
        else:
            st.proven_epoch = self.epoch_id

    def _use_statement(self, a: str, commitment: int, epoch_id: int, collateral: int) -> tuple[int, int, str, int]:
        if epoch_id != self.epoch_id or self.epoch_id == 0:
            raise Reject("Accounts_WrongEpoch")
        key = (commitment, self.epoch_id, a, collateral)
        if key in self.used_statements:
            raise Reject("Accounts_ProofReplayed")
        return key

    def update_commitment(self, a: str, new_c: int, epoch_id: int, collateral: int, statement_true: bool) -> None:
        st = self.acct(a)
        if new_c == 0:
            raise Reject("Accounts_ZeroCommitment")
        if st.in_liquidation:
            raise Reject("Accounts_InLiquidation")
        key = self._use_statement(a, new_c, epoch_id, collateral)
        if collateral > self.vault.balance_of(a):
            raise Reject("Accounts_CollateralAboveBalance")
        if not statement_true:
            raise Reject("Accounts_InvalidProof")
        self.used_statements.add(key)
        st.commitment, st.proven_epoch = new_c, self.epoch_id

    def withdraw_margin(self, a: str, amount: int, epoch_id: int, collateral: int, statement_true: bool) -> None:
        st = self.acct(a)
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
    def start_liquidation(self, a: str, now: int, q: Sequence[int], cash: int, marks: Sequence[int]) -> int:
        if a in self.auctions:
            raise Reject("Liquidation_AlreadyInLiquidation")
        st = self.acct(a)
        if st.commitment == 0:
            raise Reject("Liquidation_NoCommitment")
        reason = self.liquidation_reason(a, now)
        if reason == REASON_NONE:
            raise Reject("Liquidation_AccountHealthy")
        st.in_liquidation = True
        self.auctions[a] = AuctionState(self.epoch_id, now, list(q), cash, list(marks))
        return reason

    def bid(self, a: str, bidder: str, fraction_wad: int, max_cost: int, now: int) -> int:
        au = self.auctions.get(a)
        if au is None:
            raise Reject("Liquidation_NotInLiquidation")
        if not 0 < fraction_wad <= 10**18:
            raise Reject("Liquidation_BadFraction")
        if bidder == a:
            raise Reject("Liquidation_SelfBid")
        if self.acct(bidder).commitment:
            raise Reject("Liquidation_BidderHasPositions")
        try:
            sl = take_slice(au.positions, au.cash, au.marks, fraction_wad)
        except Exception as exc:  # InputError: empty fill
            raise Reject("Liquidation_EmptyFill") from exc
        p = self.params
        d = discount_bps(au.start_time, now, p.duration_seconds, p.start_discount_bps, p.max_discount_bps)
        cost, _disc, fee = fill_terms(sl.value, sl.gross, d, p.liquidation_fee_bps)
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
        if sl.empty:
            self.finish(a)  # the fill that empties the book finishes the auction
        return cost

    def finish(self, a: str) -> int:
        au = self.auctions.get(a)
        if au is None:
            raise Reject("Liquidation_NotInLiquidation")
        if au.cash != 0 or any(au.positions):
            raise Reject("Liquidation_AuctionNotComplete")
        fee, _ins, _prot = self.vault.collect_fee(a, au.fee_due, self.params.protocol_fee_share_bps)
        del self.auctions[a]
        st = self.acct(a)
        st.commitment, st.in_liquidation = 0, False
        return fee
