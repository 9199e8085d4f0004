"""``ape run margin_calls``: the margin-call keeper (offchain/devnet/margin_calls.py).

Classifies every account of the operator's book into health tiers each pass, stores a signed
webhook alert for every tier change (``--config``: tiers, webhooks, retries, top-up policy),
tops up the accounts in the margin-call tier that authorized this keeper on
``TopUpAuthorizations`` (``ape run topups``), and delivers the alerts. Alerts and tiers live in
``<state-dir>/margin-calls.sqlite``: a restart resumes where it stopped and never sends an alert
twice. Webhook secrets come from the environment (``secret_env`` in the config).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.monitoring import monitoring_options
from offchain.devnet.scripting import friendly_errors, state_dir_option

ROOT = Path(__file__).resolve().parents[1]


@click.command(cls=ConnectedProviderCommand)
@state_dir_option
@click.option("--config", "config_path", default=str(ROOT / "config" / "margin-calls.json"), show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Tiers, webhooks, retries and top-up policy (JSON).")
@click.option("--keeper", "keeper_index", default=8, show_default=True, type=click.IntRange(1, 9),
              help="Test-account index of the keeper (the address accounts authorize for top-ups).")
@click.option("--follow", is_flag=True, help="Keep watching (Ctrl-C to stop); else one pass.")
@click.option("--poll-seconds", default=2.0, show_default=True, type=click.FloatRange(0.05, 600))
@monitoring_options
@friendly_errors
def cli(state_dir, config_path, keeper_index, follow, poll_seconds, metrics_port, log_json, tiers_config):
    """Alert on tier changes and top up authorized accounts in the margin-call tier."""
    from ape import accounts

    from offchain.devnet.margin_calls import MarginCallKeeper, load_config
    from offchain.devnet.monitoring import RoleMonitor, refresh_state
    from offchain.devnet.scripting import attach

    config = load_config(config_path, field=str(config_path))
    mon = RoleMonitor("margin_calls", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config or config_path)
    p = attach(state_dir)
    sender = accounts.test_accounts[keeper_index]
    mon.watch(sender, [p.d.topups])
    m, role = mon.metrics, "margin_calls"

    def on_event(kind, f):
        if kind == "alert":
            m.alerts.labels(role, f["type"]).inc()
            detail = f" {f.get('from') or '(first seen)'} -> {f.get('to')}" if f["type"] == "tier_changed" else (
                f" {f.get('amount')} units" if f["type"] == "top_up" else f" ({f.get('reason')})")
            mon.log.event("alert", f"alert  {f['account']} {f['label'] or ''} {f['type']}{detail}", **f)
        elif kind == "top_up":
            m.topups.labels(role).inc()
            m.topup_units.labels(role).inc(f["amount"])
            mon.log.event("top_up", f"top-up {f['account']} +{f['amount']} units (needed {f['needed']}) tx {f['tx']}", **f)
        elif kind in ("delivered", "delivery_retry", "delivery_failed"):
            m.deliveries.labels(role, f["endpoint"], kind.removeprefix("delivery_")).inc()
            if kind != "delivered":
                m.error(kind)
                mon.log.warn_event(kind, f"{kind} {f['key']} to {f['endpoint']}: {f['error']}", **f)
        elif kind == "error":
            mon.error(f["kind"], f"{f['kind']}: {f.get('detail', '')}", account=f.get("account"))

    keeper = MarginCallKeeper(p, config, sender, state_dir / "margin-calls.sqlite", on_event=on_event)
    mon.log.event("started", f"margin-call keeper {sender.address}: tiers {config.policy.names}, "
                  f"{len(config.webhooks)} webhook(s), top-up {'on' if config.top_up.enabled else 'off'}",
                  keeper=str(sender.address), tiers=config.policy.names, webhooks=[e.name for e in config.webhooks])
    try:
        while True:
            with mon.pass_(swallow=follow) as run:
                refresh_state(p, state_dir)
                keeper.step()
                run.protocol = p
            if not follow:
                return
            time.sleep(poll_seconds)
    finally:
        keeper.close()
