"""Health tiers of margin accounts (configurable), and each account's health on the devnet.

An account's *margin ratio* is ``equity / requirement`` of the maintenance (MM) statement in the
current risk epoch, in the integers the circuit uses (``RiskEpoch.figures``: the operator's
private opening plus the public vault balance). A :class:`TierPolicy` cuts the ratio into tiers,
best first; the default is::

    healthy       ratio >= 1.5
    warning       1.2 <= ratio < 1.5
    margin_call   1.0 <= ratio < 1.2
    liquidatable  ratio < 1.0        (no MM proof can be made: liquidated after the grace window)

Three statuses override the ratio: ``in_liquidation`` (the account's auction is running) and
``closed`` (no commitment: liquidated, or never opened) come from the chain; ``unknown`` is an
open account whose figures cannot be computed (no opening in the book for its commitment, or
the current epoch's data not at hand) and that the chain does not call liquidatable. They are
not configurable and no tier may take their names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zkmargin.errors import InputError

IN_LIQUIDATION = "in_liquidation"
CLOSED = "closed"
UNKNOWN = "unknown"
STATUSES = (UNKNOWN, IN_LIQUIDATION, CLOSED)


class Tier(BaseModel):
    """One tier: accounts whose ratio is at least ``min_ratio`` (``None``: the catch-all last tier)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    min_ratio: float | None = Field(default=None, ge=0, le=1e6)


DEFAULT_TIERS = (
    Tier(name="healthy", min_ratio=1.5),
    Tier(name="warning", min_ratio=1.2),
    Tier(name="margin_call", min_ratio=1.0),
    Tier(name="liquidatable", min_ratio=None),
)


class TierPolicy(BaseModel):
    """The tiers, best first: strictly decreasing ``min_ratio``, the last one without."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[Tier, ...] = DEFAULT_TIERS

    @model_validator(mode="after")
    def _ordered(self) -> TierPolicy:
        if len(self.tiers) < 2:
            raise ValueError("at least two tiers")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique, got {names}")
        reserved = sorted(set(names) & set(STATUSES))
        if reserved:
            raise ValueError(f"{reserved} are account statuses, not tier names")
        *upper, last = self.tiers
        if last.min_ratio is not None:
            raise ValueError(f"the last tier ({last.name}) takes every ratio below the others: no min_ratio")
        for k, t in enumerate(upper):
            if t.min_ratio is None:
                raise ValueError(f"tier {t.name} needs a min_ratio (only the last tier has none)")
            if k and not t.min_ratio < upper[k - 1].min_ratio:  # type: ignore[operator]
                raise ValueError(f"min_ratio must decrease from tier to tier: {t.name} ({t.min_ratio}) "
                                 f"after {upper[k - 1].name} ({upper[k - 1].min_ratio})")
        return self

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tiers]

    def classify(self, ratio: float) -> str:
        """The tier of a margin ratio (``inf`` for an account without requirement)."""
        for t in self.tiers:
            if t.min_ratio is None or ratio >= t.min_ratio:
                return t.name
        raise AssertionError("unreachable: the last tier has no min_ratio")

    def rank(self, tier: str) -> int:
        """0 for the best tier, growing as health worsens; the statuses rank below every tier."""
        if tier in self.names:
            return self.names.index(tier)
        if tier in STATUSES:
            return len(self.tiers) + STATUSES.index(tier)
        raise InputError("tier", f"unknown tier {tier!r}; known: {self.names + list(STATUSES)}")

    def at_or_below(self, tier: str, threshold: str) -> bool:
        """Whether ``tier`` is ``threshold`` or a worse *tier* (statuses excluded)."""
        return tier in self.names and self.rank(tier) >= self.rank(threshold)


def load_tier_policy(obj: Any, field: str = "margin_calls") -> TierPolicy:
    """Validate ``{"tiers": [...]}``; errors name the field (``margin_calls.tiers[1].min_ratio``)."""
    from offchain.validation import parse_model

    return parse_model(TierPolicy, obj, prefix=field)


def margin_ratio(equity: int, requirement: int) -> float:
    """``equity / requirement`` (``inf`` without requirement and with non-negative equity)."""
    if requirement <= 0:
        return math.inf if equity >= 0 else -math.inf
    return equity / requirement


@dataclass(frozen=True)
class AccountHealth:
    """One account's health in the current epoch, with the on-chain facts it comes from.

    Money in collateral base units. ``ratio``/``equity``/``requirement`` are ``None`` for an
    account whose opening the operator's book does not have, or before any epoch."""

    address: str
    label: str
    tier: str
    ratio: float | None
    equity: int | None
    requirement: int | None
    balance: int
    commitment: int
    proven_epoch: int
    current_epoch: int
    liquidation_reason: int
    in_liquidation: bool

    @property
    def proof_fresh(self) -> bool:
        """Whether the account has an MM/IM proof for the current epoch."""
        return self.commitment != 0 and self.proven_epoch >= self.current_epoch


def classify(policy: TierPolicy, *, commitment: int, in_liquidation: bool, liquidation_reason: int,
             equity: int | None, requirement: int | None) -> tuple[str, float | None]:
    """The tier (or status) and ratio of one account from its figures and on-chain state.

    An account that is liquidatable on-chain (``liquidation_reason != 0``) is in the last tier
    whatever its figures say."""
    if commitment == 0:
        return CLOSED, None
    if in_liquidation:
        return IN_LIQUIDATION, None
    ratio = None if equity is None or requirement is None else margin_ratio(equity, requirement)
    if liquidation_reason != 0:
        return policy.names[-1], ratio
    if ratio is None:
        return UNKNOWN, None
    return policy.classify(ratio), ratio


def account_health(p: Any, policy: TierPolicy) -> list[AccountHealth]:
    """Health of every account in the operator's book of the :class:`~offchain.devnet.session.Protocol`
    ``p``, from the chain (vault balance, commitment, proof freshness, liquidation state) and
    the current epoch's integer figures."""
    from prover.statement import KIND_MM

    d = p.d
    current = int(d.epochs.currentEpochId())
    epoch = p.epoch if p.epoch is not None and p.epoch.epoch_id == current else None
    out = []
    for acct in p.book:
        addr = acct.address
        balance = int(d.vault.balanceOf(addr))
        commitment = int(d.accounts.commitmentOf(addr))
        state = d.accounts.accountState(addr)
        reason = int(d.accounts.liquidationReason(addr))
        equity = requirement = None
        if epoch is not None and commitment == acct.commitment():
            f = epoch.figures(acct.q, acct.cash, balance, KIND_MM)
            equity, requirement = int(f.equity), int(f.requirement)
        tier, ratio = classify(policy, commitment=commitment, in_liquidation=bool(state.inLiquidation),
                               liquidation_reason=reason, equity=equity, requirement=requirement)
        out.append(AccountHealth(addr, acct.label, tier, ratio, equity, requirement, balance, commitment,
                                 int(state.provenEpoch), current, reason, bool(state.inLiquidation)))
    return out


def tier_counts(policy: TierPolicy, health: list[AccountHealth]) -> dict[str, int]:
    """Accounts per tier and status (every tier and status present, zeros included)."""
    counts = dict.fromkeys([*policy.names, *STATUSES], 0)
    for h in health:
        counts[h.tier] += 1
    return counts
