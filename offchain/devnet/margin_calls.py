"""Margin-call automation: health tiers, signed webhook alerts on tier changes, automated top-ups.

The :class:`MarginCallKeeper` runs with the operator (it reads the private book to know each
account's margin ratio in the current epoch, :mod:`offchain.devnet.tiers`). Each pass:

1. waits until none of its own transactions is pending (as the liquidation keeper);
2. turns every ``ToppedUp`` event it sent since the last pass into a ``top_up`` alert (from the
   chain, so a top-up mined just before a crash is still announced after the restart);
3. classifies every account; a tier change is recorded and its ``tier_changed`` alert stored in
   one SQLite transaction (:class:`~offchain.devnet.webhooks.Outbox`);
4. tops up every account in the trigger tier or worse (default ``margin_call``) that authorized
   this keeper on ``TopUpAuthorizations``: the amount brings the ratio back to
   ``target_ratio``, bounded by what is left of the on-chain allowance, the wallet balance and
   the token approval; an authorization that was revoked or is spent (or a wallet that cannot
   pay) gives one ``top_up_failed`` alert per epoch and reason, and nothing is sent (the
   contract would revert); accounts that never authorized this keeper are left alone;
5. delivers the due alerts (signed, retried with backoff, idempotency keys).

A top-up raises the vault balance, so the account's next MM proof (``ape run prover``) holds
again; accounts without top-up fall through to liquidation as before.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from offchain.devnet.tiers import (
    CLOSED,
    DEFAULT_TIERS,
    UNKNOWN,
    AccountHealth,
    Tier,
    TierPolicy,
    account_health,
)
from offchain.devnet.webhooks import (
    Dispatcher,
    Endpoint,
    Outbox,
    RetryPolicy,
    WebhookConfig,
    http_post,
    idempotency_key,
)
from zkmargin.errors import DevnetError, InputError

#: gas for a top-up: the estimate times 1.2 plus this (the path does not depend on the block)
TOPUP_GAS_FLAT = 20_000
FAILURE_REASONS = ("revoked", "allowance_exhausted", "wallet_insufficient", "token_approval_insufficient", "reverted")


class TopUpPolicy(BaseModel):
    """When and how much a keeper tops up: accounts in ``trigger_tier`` or worse, back to ``target_ratio``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    trigger_tier: str = "margin_call"
    target_ratio: float = Field(default=1.5, gt=1, le=100)


class MarginCallConfig(BaseModel):
    """The margin-call keeper's configuration file (``config/margin-calls.json``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    webhooks: tuple[Endpoint, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    top_up: TopUpPolicy = TopUpPolicy()

    @model_validator(mode="after")
    def _consistent(self) -> MarginCallConfig:
        policy = TierPolicy(tiers=self.tiers)  # raises on bad tiers
        WebhookConfig(endpoints=self.webhooks, retry=self.retry)
        trig = self.top_up.trigger_tier
        if trig not in policy.names:
            raise ValueError(f"top_up.trigger_tier {trig!r} is not a tier; tiers: {policy.names}")
        k = policy.names.index(trig)
        if k == 0:
            raise ValueError("top_up.trigger_tier cannot be the best tier")
        leave = self.tiers[k - 1].min_ratio
        assert leave is not None
        if self.top_up.target_ratio < leave:
            raise ValueError(f"top_up.target_ratio ({self.top_up.target_ratio}) must reach the tier above {trig} "
                             f"(min_ratio {leave}), or a top-up would leave the account where it was")
        return self

    @property
    def policy(self) -> TierPolicy:
        return TierPolicy(tiers=self.tiers)

    @property
    def webhook_config(self) -> WebhookConfig:
        return WebhookConfig(endpoints=self.webhooks, retry=self.retry)


def load_config(source: str | Path | dict[str, Any], field: str = "margin_calls") -> MarginCallConfig:
    """A config from a JSON file or a dict; errors name the field (``margin_calls.top_up.target_ratio``)."""
    from offchain.validation import load_json, parse_model

    data = source if isinstance(source, dict) else load_json(str(source), field=field)
    return parse_model(MarginCallConfig, data, prefix=field)


# --- on-chain set-up (the account's side) -------------------------------------------------------
def authorize_topups(p: Any, user: Any, keeper: Any, allowance_units: int, wallet_units: int = 0) -> None:
    """``user`` lets ``keeper`` top it up by up to ``allowance_units``: approves the top-up module on
    the token for that much and authorizes the keeper; on the devnet it first gets
    ``wallet_units`` of the mock token in its wallet (minted by the owner)."""
    d = p.d
    if d.topups is None:
        raise DevnetError("this deployment has no TopUpAuthorizations module")
    if allowance_units <= 0:
        raise InputError("allowance_units", f"must be positive, got {allowance_units}")
    if wallet_units < 0:
        raise InputError("wallet_units", f"must be >= 0, got {wallet_units}")
    if wallet_units:
        d.token.mint(user, wallet_units, sender=d.owner)
    d.token.approve(d.topups.address, allowance_units, sender=user)
    d.topups.authorize(_address(keeper), allowance_units, sender=user)


def revoke_topups(p: Any, user: Any, keeper: Any) -> None:
    """``user`` withdraws ``keeper``'s authorization."""
    p.d.topups.revoke(_address(keeper), sender=user)


def _address(x: Any) -> str:
    return str(x.address if hasattr(x, "address") else x)


# --- the keeper ------------------------------------------------------------------------------------
_TIERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS opted_in (account TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS tiers (
    account TEXT PRIMARY KEY,
    tier TEXT NOT NULL,
    ratio REAL,
    transitions INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class TopUpResult:
    account: str
    amount: int
    needed: int
    tx: str
    gas_used: int


def _json_ratio(r: float | None) -> float | None:
    return None if r is None or not math.isfinite(r) else round(r, 6)


class MarginCallKeeper:
    """One deployment's margin-call keeper (see the module docstring)."""

    def __init__(
        self,
        p: Any,
        config: MarginCallConfig,
        sender: Any,
        outbox_path: Path | str,
        *,
        post: Callable[..., Any] = http_post,
        clock: Callable[[], float] = time.time,
        environ: dict[str, str] | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        from ape import chain

        self.p = p
        self.config = config
        self.policy = config.policy
        self.sender = sender
        self.chain = chain
        self.on_event = on_event
        self.clock = clock
        if p.d.topups is None and config.top_up.enabled:
            raise DevnetError("this deployment has no TopUpAuthorizations module: set top_up.enabled false")
        self.outbox = Outbox(outbox_path, [e.name for e in config.webhooks])
        self.outbox.db.executescript(_TIERS_SCHEMA)
        self.deployment = f"{int(chain.chain_id)}:{p.d.accounts.address}"
        known = self.outbox.get_meta("deployment")
        if known is None:
            self.outbox.set_meta("deployment", self.deployment)
        elif known != self.deployment:
            raise InputError(str(outbox_path), f"belongs to deployment {known}, not {self.deployment}: use another file")
        self.dispatcher = Dispatcher(self.outbox, config.webhook_config, post=post, clock=clock, environ=environ)
        self.topups: list[TopUpResult] = []

    # --- events (logs, metrics) -----------------------------------------------------------------
    def _emit(self, event_kind: str, **fields: Any) -> None:
        if self.on_event is not None:
            self.on_event(event_kind, fields)

    # --- safety -------------------------------------------------------------------------------------
    def wait_until_settled(self, timeout_s: float = 60.0) -> None:
        w3 = self.chain.provider.web3
        addr = _address(self.sender)
        deadline = time.monotonic() + timeout_s
        while w3.eth.get_transaction_count(addr, "pending") != w3.eth.get_transaction_count(addr, "latest"):
            if time.monotonic() > deadline:
                raise DevnetError(f"margin-call keeper transactions from {addr} still pending after {timeout_s} s")
            time.sleep(0.2)

    # --- alerts ----------------------------------------------------------------------------------------
    def _common(self, account: str, label: str) -> dict[str, Any]:
        head = self.chain.blocks.head
        return {"chain_id": int(self.chain.chain_id), "accounts_contract": str(self.p.d.accounts.address),
                "label": label, "epoch": int(self.p.d.epochs.currentEpochId()), "block": int(head.number),
                "chain_time": int(head.timestamp)}

    def _enqueue(self, key: str, account: str, type_: str, label: str, data: dict[str, Any]) -> bool:
        new = self.outbox.enqueue(key, account, type_, {**self._common(account, label), "data": data}, now=self.clock())
        if new:
            self._emit("alert", account=account, label=label, type=type_, key=key, **data)
        return new

    def observe(self, h: AccountHealth) -> bool:
        """Record ``h``'s tier; a change stores a ``tier_changed`` alert in the same transaction.
        The first observation of an account is silent unless it is already below the best tier;
        an account whose tier is ``unknown`` is not recorded."""
        if h.tier == UNKNOWN:
            return False  # no figures (yet): nothing to compare
        row = self.outbox.db.execute("SELECT tier, transitions FROM tiers WHERE account = ?", (h.address,)).fetchone()
        prev, n = (None, 0) if row is None else (str(row[0]), int(row[1]))
        if prev == h.tier:
            return False
        silent = prev is None and h.tier in (self.policy.names[0], CLOSED)
        with self.outbox.transaction() as db:
            db.execute("INSERT INTO tiers (account, tier, ratio, transitions) VALUES (?, ?, ?, ?) ON CONFLICT(account) "
                       "DO UPDATE SET tier = excluded.tier, ratio = excluded.ratio, transitions = excluded.transitions",
                       (h.address, h.tier, _json_ratio(h.ratio), n + (0 if silent else 1)))
            if not silent:
                key = idempotency_key(self.deployment, h.address, "tier_changed", n + 1, prev, h.tier)
                self._enqueue(key, h.address, "tier_changed", h.label, {
                    "from": prev, "to": h.tier, "ratio": _json_ratio(h.ratio), "equity": h.equity,
                    "requirement": h.requirement, "balance": h.balance, "proof_fresh": h.proof_fresh,
                    "liquidation_reason": h.liquidation_reason})
        return not silent

    def tier_of(self, account: str) -> str | None:
        row = self.outbox.db.execute("SELECT tier FROM tiers WHERE account = ?", (str(account),)).fetchone()
        return None if row is None else str(row[0])

    def _ingest_topups(self, to_block: int) -> None:
        """A ``top_up`` alert for every ``ToppedUp`` this keeper sent up to ``to_block``, and the
        accounts that ever authorized this keeper (``TopUpAuthorized``)."""
        topups = self.p.d.topups
        if topups is None:
            return
        start = int(self.outbox.get_meta("topups_scanned_to") or -1) + 1
        if start > to_block:
            return
        me = _address(self.sender)
        for ev in topups.TopUpAuthorized.range(start, to_block + 1, search_topics={"keeper": me}):
            self.outbox.db.execute("INSERT OR IGNORE INTO opted_in (account) VALUES (?)", (str(ev.account),))
        labels = {a.address: a.label for a in self.p.book}
        for ev in topups.ToppedUp.range(start, to_block + 1, search_topics={"keeper": me}):
            account = str(ev.account)
            tx = str(ev.transaction_hash)
            key = idempotency_key(self.deployment, "top_up", tx, int(ev.log_index))
            with self.outbox.transaction():
                self._enqueue(key, account, "top_up", labels.get(account, ""), {
                    "amount": int(ev.amount), "remaining_allowance": int(ev.remaining),
                    "new_balance": int(ev.newBalance), "tx": tx, "tx_block": int(ev.block_number)})
        self.outbox.set_meta("topups_scanned_to", str(to_block))

    def opted_in(self, account: str) -> bool:
        """Whether ``account`` ever authorized this keeper (so a missing authorization was revoked)."""
        return self.outbox.db.execute("SELECT 1 FROM opted_in WHERE account = ?", (str(account),)).fetchone() is not None

    def _failed(self, h: AccountHealth, reason: str, needed: int, detail: str = "") -> None:
        key = idempotency_key(self.deployment, h.address, "top_up_failed", reason, h.current_epoch)
        with self.outbox.transaction():
            self._enqueue(key, h.address, "top_up_failed", h.label,
                          {"reason": reason, "needed": needed, "detail": detail, "balance": h.balance})

    # --- top-ups -----------------------------------------------------------------------------------------
    def needed(self, h: AccountHealth) -> int:
        """Units that bring ``h``'s ratio to the target (at least 1)."""
        assert h.equity is not None and h.requirement is not None
        return max(1, math.ceil(self.config.top_up.target_ratio * h.requirement) - h.equity)

    def top_up(self, h: AccountHealth) -> TopUpResult | None:
        """Top ``h`` up if it authorized this keeper; None if not (with a ``top_up_failed`` alert if
        it had authorized it once, or its allowance or wallet falls short)."""
        d = self.p.d
        if h.equity is None or h.requirement is None:
            return None
        needed = self.needed(h)
        auth = d.topups.authorization(h.address, _address(self.sender))
        if not auth.active:
            if self.opted_in(h.address):
                self._failed(h, "revoked", needed)
            return None
        remaining = int(auth.remaining)
        if remaining == 0:
            self._failed(h, "allowance_exhausted", needed)
            return None
        wallet = int(d.token.balanceOf(h.address))
        approved = int(d.token.allowance(h.address, d.topups.address))
        amount = min(needed, remaining, wallet, approved)
        if amount <= 0:
            self._failed(h, "wallet_insufficient" if wallet == 0 else "token_approval_insufficient", needed,
                         f"wallet {wallet}, approved {approved}")
            return None
        try:
            gas = int(d.topups.topUp.estimate_gas_cost(h.address, amount, sender=self.sender)) * 12 // 10 + TOPUP_GAS_FLAT
            receipt = d.topups.topUp(h.address, amount, sender=self.sender, gas=gas)
        except Exception as exc:  # noqa: BLE001 - one account never stops the keeper
            self._failed(h, "reverted", needed, f"{type(exc).__name__}: {exc}"[:300])
            self._emit("error", kind="top_up_reverted", account=h.address, detail=str(exc)[:300])
            return None
        result = TopUpResult(h.address, amount, needed, str(receipt.txn_hash), int(receipt.gas_used))
        self.topups.append(result)
        self._emit("top_up", account=h.address, label=h.label, amount=amount, needed=needed, tx=result.tx,
                   gas_used=result.gas_used, partial=amount < needed)
        self._ingest_topups(int(receipt.block_number))
        return result

    # --- one pass ----------------------------------------------------------------------------------------
    def step(self) -> list[AccountHealth]:
        """One pass (see the module docstring); returns every account's health after it."""
        self.wait_until_settled()
        self._ingest_topups(int(self.chain.blocks.head.number))
        health = account_health(self.p, self.policy)
        for h in health:
            self.observe(h)
        if self.config.top_up.enabled:
            trigger = self.config.top_up.trigger_tier
            refreshed = False
            for h in health:
                if self.policy.at_or_below(h.tier, trigger) and self.top_up(h) is not None:
                    refreshed = True
            if refreshed:
                health = account_health(self.p, self.policy)
                for h in health:
                    self.observe(h)
        report = self.dispatcher.deliver_due()
        for ep, key in report.delivered:
            self._emit("delivered", endpoint=ep, key=key)
        for ep, key, err in report.retrying:
            self._emit("delivery_retry", endpoint=ep, key=key, error=err)
        for ep, key, err in report.failed:
            self._emit("delivery_failed", endpoint=ep, key=key, error=err)
        return health

    def run(self, *, max_passes: int | None = None, poll_seconds: float = 2.0) -> None:
        """Repeat :meth:`step` every ``poll_seconds`` (forever unless ``max_passes``)."""
        passes = 0
        while max_passes is None or passes < max_passes:
            self.step()
            passes += 1
            if max_passes is None or passes < max_passes:
                time.sleep(poll_seconds)

    def close(self) -> None:
        self.outbox.close()
