"""Margin-call automation inside the devnet demo (a scenario with a ``margin_calls`` section,
e.g. ``config/devnet-margin-calls.json``).

The demo calls the hooks of :class:`MarginCallDemo`: after the accounts are opened (the opted-in
accounts authorize the keeper on-chain and get their wallet), after each new epoch *before* the
proofs (the keeper alerts and tops up while the grace window is still open), and at the end of
each step (alerts about liquidations). Alerts go, signed, to a :class:`WebhookReceiver` on
127.0.0.1 that checks every signature; what it accepted, in arrival order, is the report's
``alerts.csv``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offchain.devnet.demo_scenario import MarginCallSpec
from offchain.devnet.margin_calls import MarginCallKeeper, authorize_topups
from offchain.devnet.webhook_receiver import WebhookReceiver
from offchain.devnet.webhooks import Endpoint

SECRET_ENV = "ZKMARGIN_DEMO_WEBHOOK_SECRET"
UNIT = 10**6


class MarginCallDemo:
    """The margin-call keeper, its top-up authorizations and its webhook inbox for one demo run."""

    def __init__(self, spec: MarginCallSpec, seed: int, log: Callable[[str], Any] = print) -> None:
        self.spec = spec
        self.log = log
        # a per-run secret from the seed: the run stays reproducible and nothing is configured by hand
        self.secret = hashlib.sha256(f"zkmargin-demo-webhook-{seed}".encode()).hexdigest().encode()
        self.receiver = WebhookReceiver(self.secret).start()
        self.config = spec.config.model_copy(update={"webhooks": (
            Endpoint(name="demo-inbox", url=self.receiver.url, secret_env=SECRET_ENV),)})
        self.workdir = Path(tempfile.mkdtemp(prefix="zkmargin-margin-calls-"))
        self.keeper: MarginCallKeeper | None = None
        self.step = 0
        self.steps: dict[str, int] = {}  # alert key -> demo step
        self.labels: dict[str, str] = {}
        self.keeper_address = ""

    def _event(self, kind: str, fields: dict[str, Any]) -> None:
        if kind == "alert":
            self.steps[str(fields["key"])] = self.step
            what = {"tier_changed": f"{fields.get('from')} -> {fields.get('to')}",
                    "top_up": f"+{int(fields.get('amount', 0)) / UNIT:,.2f} USD",
                    "top_up_failed": str(fields.get("reason"))}.get(str(fields["type"]), "")
            self.log(f"  margin call: {fields['label']}: {fields['type']} {what}")

    def opened(self, p: Any, users: dict[str, Any], keeper: Any) -> None:
        """The accounts are open: opted-in ones authorize ``keeper``; the keeper records the tiers."""
        self.labels = {str(u.address): label for label, u in users.items()}
        self.keeper_address = str(keeper.address)
        for t in self.spec.top_ups:
            authorize_topups(p, users[t.label], keeper, round(t.allowance_usd * UNIT), round(t.wallet_usd * UNIT))
        self.keeper = MarginCallKeeper(p, self.config, keeper, self.workdir / "margin-calls.sqlite",
                                       environ={SECRET_ENV: self.secret.decode()}, on_event=self._event)
        self.keeper.step()

    def run(self, step: int) -> None:
        """One keeper pass at demo step ``step``."""
        assert self.keeper is not None
        self.step = step
        self.keeper.step()

    def finish(self) -> dict[str, Any]:
        """Deliver what is left, stop the inbox; the record the report shows."""
        assert self.keeper is not None
        self.keeper.dispatcher.drain(timeout_s=30)
        outbox = self.keeper.outbox
        stored = {a.key: a for a in outbox.alerts()}
        counts = outbox.counts()
        self.keeper.close()
        self.receiver.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        alerts = []
        for payload in self.receiver.inbox.received:
            d = payload.get("data", {})
            alerts.append({
                "seq": payload["seq"], "step": self.steps.get(payload["id"], ""), "account": payload["account"],
                "label": payload.get("label", ""), "type": payload["type"], "from": d.get("from", ""), "to": d.get("to", ""),
                "ratio": d.get("ratio", ""), "amount_usd": d["amount"] / UNIT if "amount" in d else "",
                "reason": d.get("reason", ""), "epoch": payload["epoch"], "block": payload["block"],
                "key": payload["id"], "signature": "verified",
            })
        outcomes = [r.outcome for r in self.receiver.inbox.requests]
        policy = self.config.policy
        return {
            "keeper": self.keeper_address,
            "tiers": [t.model_dump() for t in policy.tiers],
            "top_up_policy": self.config.top_up.model_dump(),
            "top_up_accounts": [t.model_dump() for t in self.spec.top_ups],
            "alerts": alerts,
            "stored_alerts": len(stored),
            "deliveries": counts,
            "inbox": {"accepted": outcomes.count("accepted"), "duplicates": outcomes.count("duplicate"),
                      "rejected": outcomes.count("rejected")},
            "top_ups": [{"account": t.account, "label": self.labels.get(t.account, ""), "amount": t.amount,
                         "needed": t.needed, "tx": t.tx, "gas_used": t.gas_used} for t in self.keeper.topups],
        }
