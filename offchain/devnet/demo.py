"""The end-to-end devnet scenario behind ``make demo`` (``ape run demo``).

On a connected devnet: deploy everything with the real Groth16 verifier, open the scenario's
accounts with IM proofs, replay the price path through signed oracle reports, post a risk epoch
every few rounds (and on large moves), prove every account (accounts whose margin check fails
cannot prove), let the grace window pass, run the liquidation keeper (Dutch auction, fee to the
insurance fund, shortfall from the fund, then socialized), and record everything for the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from offchain.devnet.demo_scenario import DevnetScenario, resolve_holdings
from offchain.devnet.deploy import COLLATERAL_DECIMALS, FeedParams
from offchain.devnet.keepers.liquidation import Action, KeeperPolicy
from offchain.devnet.listing import devnet_listing, devnet_risk_config
from offchain.devnet.session import Protocol
from offchain.mirror.auction import AuctionParams
from offchain.sim.paths import PricePath, make_path
from prover.statement import KIND_MM
from zkmargin.errors import InputError

UNIT = 10**COLLATERAL_DECIMALS
LIQUIDATOR_FILL_NOTIONAL_USD = 30_000  # the keeper's largest fill: bigger books go in partial fills


def price_path(s: DevnetScenario, seed: int) -> PricePath:
    """The scenario's price path (``offchain.sim.paths.make_path``); errors name ``scenario.path.*``."""
    try:
        return make_path(s.path, seed)
    except InputError as exc:
        raise InputError(f"scenario.path.{exc.field}", exc.problem) from None


@dataclass
class DemoRecord:
    """Everything the report needs (all money in USD floats for plotting; integers on-chain)."""

    seed: int
    scenario: DevnetScenario
    addresses: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)  # per price step
    epochs: list[dict[str, Any]] = field(default_factory=list)  # per epoch: proofs outcome
    actions: list[dict[str, Any]] = field(default_factory=list)  # keeper transactions
    liquidations: list[dict[str, Any]] = field(default_factory=list)  # per finished liquidation
    final: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    proofs: int = 0  # Groth16 proofs made (opening IM proofs and every epoch's)


def _health(p: Protocol) -> dict[str, float | None]:
    """Margin ratio equity / MM requirement per account in the latest epoch (None once closed)."""
    out: dict[str, float | None] = {}
    assert p.epoch is not None
    for acct in p.book:
        if int(p.d.accounts.commitmentOf(acct.address)) == 0:
            out[acct.address] = None
            continue
        f = p.epoch.figures(acct.q, acct.cash, int(p.d.vault.balanceOf(acct.address)), KIND_MM)
        out[acct.address] = f.equity / f.requirement if f.requirement else float("inf")
    return out


def run_demo(s: DevnetScenario, zk_dir: Path, log: Any = print, users: list[Any] | None = None) -> DemoRecord:
    """Run the scenario on the connected chain; ``log`` receives progress lines."""
    from ape import accounts, chain

    t0 = time.monotonic()
    ss = np.random.SeedSequence(s.seed)
    path_seed, salt_seed = (int(c.generate_state(1)[0]) for c in ss.spawn(2))
    rec = DemoRecord(seed=s.seed, scenario=s)
    path = price_path(s, path_seed)
    spots0 = {a: float(path.prices[0, k]) for k, a in enumerate(path.assets)}
    owner, liquidator = accounts.test_accounts[0], accounts.test_accounts[9]
    if users is None:
        users = [accounts.test_accounts[i] for i in range(1, 9)]
        while len(users) < s.n_accounts:
            extra = accounts.test_accounts.generate_test_account()
            chain.provider.set_balance(extra.address, 10**20)
            users.append(extra)

    log(f"[1/5] deploying the protocol with the Groth16 verifier (n=8, S=15) on chain {chain.chain_id}")
    a = s.auction
    p = Protocol.deploy(
        owner, devnet_listing(int(chain.blocks.head.timestamp), spots0), zk_dir=zk_dir,
        risk_config=devnet_risk_config(), grace_period_seconds=s.grace_period_seconds, seed=salt_seed,
        auction=AuctionParams(a.start_discount_bps, a.max_discount_bps, a.duration_seconds, a.liquidation_fee_bps,
                              a.protocol_fee_share_bps),
        feed_params=FeedParams(max_deviation_bps=s.max_deviation_bps),
    )
    rec.addresses = p.d.addresses()
    rec.timings["deploy_s"] = time.monotonic() - t0
    p.report_prices(spots0)
    epoch = p.post_epoch(vols=s.vols)
    p.fund_insurance(int(s.insurance_fund_usd * UNIT))
    p.fund_liquidator(liquidator, int(s.liquidator_capital_usd * UNIT))

    log(f"[2/5] opening {s.n_accounts} accounts with initial-margin proofs")
    t1 = time.monotonic()
    specs = []
    symbols = [i.symbol for i in p.listing]
    k = 0
    for tmpl in s.accounts:
        for j in range(tmpl.count):
            label = tmpl.label if tmpl.count == 1 else f"{tmpl.label} #{j + 1}"
            specs.append((users[k], resolve_holdings(tmpl.holdings, symbols), int(tmpl.deposit_usd * UNIT), label))
            rec.labels[str(users[k].address)] = label
            k += 1
    p.open_accounts(specs)
    rec.timings["open_s"] = time.monotonic() - t1
    proofs, proving_s = p.last_proving
    rec.epochs.append({"epoch": epoch.epoch_id, "step": 0, "proofs": {a.address: "opened (IM)" for a in p.book}})

    step = 0
    keeper = p.keeper(liquidator, policy=KeeperPolicy(max_fill_notional_units=LIQUIDATOR_FILL_NOTIONAL_USD * UNIT))
    keeper.on_action = lambda act: _on_action(rec, p, act, step)  # the step at the time of the action
    last_epoch_spots = dict(spots0)
    n_steps = len(path.prices) - 1
    log(f"[3/5] replaying {n_steps} price steps ({s.path.kind}) with epochs, proofs and liquidations")
    t2 = time.monotonic()
    _record_step(rec, p, 0, path, epoch_posted=True)
    for step in range(1, n_steps + 1):
        failing: list[str] = []
        p.advance(s.step_seconds)
        row = {a: float(path.prices[step, k]) for k, a in enumerate(path.assets)}
        p.report_prices(row)
        move = max(abs(row[u] / last_epoch_spots[u] - 1) for u in row)
        posted = step % s.epoch_every_rounds == 0 or move >= s.epoch_on_move or step == n_steps
        if posted:
            drawdown = max(1 - row[u] / spots0[u] for u in row)
            vols = s.crash_vols if drawdown >= s.crash_threshold else s.vols
            e = p.post_epoch(vols=vols)
            last_epoch_spots = dict(row)
            tp = time.monotonic()
            outcome = p.prove_all()
            proving_s += time.monotonic() - tp  # the proofs and their submitProofs batches
            proofs += p.last_proving[0]
            rec.epochs.append({"epoch": e.epoch_id, "step": step, "proofs": outcome})
            failing = [rec.labels.get(addr, addr) for addr, r in outcome.items() if r == "not provable"]
            count, secs = p.last_proving
            log(f"  step {step:3d}: BTC {row['BTC']:>10,.0f} ETH {row['ETH']:>8,.0f}  epoch {e.epoch_id}: "
                f"{sum(r == 'proved' for r in outcome.values())} proved"
                + (f" ({count / secs:.1f} accounts/s)" if count and secs else "") + f", {len(failing)} cannot prove"
                + (f" ({'; '.join(failing)})" if failing else ""))
        _record_step(rec, p, step, path, epoch_posted=posted)  # health as proven, before liquidation
        if posted and failing:
            p.advance(s.grace_period_seconds + 1)
            keeper.run(until_idle=True, poll_seconds=0)
    rec.timings["replay_s"] = time.monotonic() - t2
    rec.timings["proving_s"] = proving_s  # proofs of the opening IM statements and of every epoch
    rec.proofs = proofs

    log("[4/5] final balances")
    v, token = p.d.vault, p.d.token
    rec.final = {
        "vault_token_balance": int(token.balanceOf(v.address)),
        "account_balances": int(v.totalDeposits()),
        "insurance_fund": int(v.insuranceFund()),
        "protocol_fees": int(v.protocolFees()),
        "insurance_fund_initial": int(s.insurance_fund_usd * UNIT),
        "balances": {addr: int(v.balanceOf(addr)) for addr in rec.labels},
        "open": {addr: int(p.d.accounts.commitmentOf(addr)) != 0 for addr in rec.labels},
    }
    rec.timings["total_s"] = time.monotonic() - t0
    return rec


def _on_action(rec: DemoRecord, p: Protocol, act: Action, step: int) -> None:
    rec.actions.append({"step": step, "kind": act.kind, "account": act.account, "block": act.block, "gas": act.gas_used})
    if act.finished:
        logs = list(p.d.liquidation.LiquidationFinished.range(act.block, act.block + 1))
        for ev in logs:
            if str(ev.account) == act.account:
                rec.liquidations.append({
                    "step": step, "account": act.account, "label": rec.labels.get(act.account, ""),
                    "epoch": int(ev.epochId), "fee": int(ev.fee), "shortfall": int(ev.shortfall),
                    "remaining_collateral": int(ev.remainingCollateral), "block": act.block,
                })


def _record_step(rec: DemoRecord, p: Protocol, step: int, path: PricePath, epoch_posted: bool) -> None:
    v = p.d.vault
    rec.steps.append({
        "step": step,
        "chain_time": p.now(),
        "BTC": float(path.prices[step, 0]),
        "ETH": float(path.prices[step, 1]),
        "epoch": p.epoch.epoch_id if p.epoch else 0,
        "epoch_posted": epoch_posted,
        "insurance_fund": int(v.insuranceFund()),
        "protocol_fees": int(v.protocolFees()),
        "health": _health(p),
    })
