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

from offchain.devnet.demo_scenario import DevnetScenario, TradingSpec
from offchain.devnet.demo_trading import TradingPhase
from offchain.devnet.deploy import COLLATERAL_DECIMALS, FeedParams
from offchain.devnet.keepers.liquidation import Action, KeeperPolicy
from offchain.devnet.listing import devnet_listing, devnet_risk_config
from offchain.devnet.margin_call_demo import MarginCallDemo
from offchain.devnet.onboarding import Opening, check_openings, expand, leverage
from offchain.devnet.session import Protocol
from offchain.mirror.auction import AuctionParams
from offchain.risk.epoch import build_epoch
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
    fills: list[dict[str, Any]] = field(default_factory=list)  # per auction fill: value at marks and cost (base units)
    deposits: dict[str, int] = field(default_factory=dict)  # base units, per account
    leverage: dict[str, float] = field(default_factory=dict)  # gross notional at opening / deposit, per account
    liquidator: str = ""
    final: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    margin_calls: dict[str, Any] = field(default_factory=dict)  # alerts and top-ups (scenario's margin_calls)
    proofs: int = 0  # Groth16 proofs made (opening IM proofs and every epoch's)
    trading: dict[str, Any] = field(default_factory=dict)  # fills between accounts, funding steps, withdrawals
    pnl: dict[str, dict[str, Any]] = field(default_factory=dict)  # per account of the book (demo_trading.results)
    conservation: dict[str, Any] = field(default_factory=dict)  # the vault's books to the base unit


def _health(p: Protocol, epoch: Any = None) -> dict[str, float | None]:
    """MM coverage, equity / MM requirement, per account (None once closed): in the latest posted
    epoch (what the chain knew), or in ``epoch``."""
    out: dict[str, float | None] = {}
    epoch = epoch if epoch is not None else p.epoch
    assert epoch is not None
    for acct in p.book:
        if int(p.d.accounts.commitmentOf(acct.address)) == 0:
            out[acct.address] = None
            continue
        f = epoch.figures(acct.q, acct.cash, int(p.d.vault.balanceOf(acct.address)), KIND_MM)
        out[acct.address] = f.equity / f.requirement if f.requirement else float("inf")
    return out


def _engine_health(p: Protocol, vols: dict[str, float]) -> dict[str, float | None]:
    """The MM coverage the risk engine sees at the latest prices (an epoch built, not posted)."""
    now = build_epoch(p.market(vols), p.listing, p.risk_config, epoch_id=1, timestamp=p.now(), linearize=True)
    return _health(p, now)


def run_demo(s: DevnetScenario, zk_dir: Path, log: Any = print, users: list[Any] | None = None) -> DemoRecord:
    """Run the scenario on the connected chain; ``log`` receives progress lines."""
    from ape import accounts, chain

    t0 = time.monotonic()
    ss = np.random.SeedSequence(s.seed)
    path_seed, salt_seed = (int(c.generate_state(1)[0]) for c in ss.spawn(2))
    rec = DemoRecord(seed=s.seed, scenario=s)
    path = price_path(s, path_seed)
    if s.trading is not None:
        TradingPhase.check_steps(s.trading, len(path.prices) - 1)  # before any transaction
    spots0 = {a: float(path.prices[0, k]) for k, a in enumerate(path.assets)}
    owner, liquidator = accounts.test_accounts[0], accounts.test_accounts[9]
    rec.liquidator = str(liquidator.address)
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

    log(f"[2/5] opening {s.n_accounts} accounts: each buys its book from the house at the marks (settled batches, "
        "a transition proof per account, initial margin checked)")
    t1 = time.monotonic()
    openings = expand(s.accounts, [i.symbol for i in p.listing], users, field="scenario.accounts")
    check_openings(p, openings)  # a deposit below its initial margin names the label and the USD it needs
    for o in openings:
        addr = str(o.user.address)
        rec.deposits[addr] = o.deposit_units
        rec.leverage[addr] = leverage(p, o.holdings, o.deposit_units)
        rec.labels[addr] = f"{o.label} ({rec.leverage[addr]:.1f}x)"
    opened = _open_accounts(p, openings)
    trading = TradingPhase(s.trading or TradingSpec(), p, {o.label: o.user for o in openings}, log)
    trading.opened([o.spec() for o in openings])
    trading.start(int(path.timestamps[0]))
    funded = s.trading is not None  # epochs carry the keeper's funding index only with a trading phase
    rec.timings["open_s"] = time.monotonic() - t1
    proofs, proving_s = opened
    mcd = None
    if s.margin_calls is not None:  # margin-call automation: its keeper gets an account of its own
        mcd = MarginCallDemo(s.margin_calls, s.seed, log)
        mc_keeper = accounts.test_accounts.generate_test_account()
        chain.provider.set_balance(mc_keeper.address, 10**20)
        mcd.opened(p, {o.label: o.user for o in openings}, mc_keeper)
    rec.epochs.append({"epoch": epoch.epoch_id, "step": 0, "proofs": {a.address: "opened (IM)" for a in p.book}})
    trading.run(0)  # the trading phase's first round, right after the openings

    step = 0
    keeper = p.keeper(liquidator, policy=KeeperPolicy(max_fill_notional_units=LIQUIDATOR_FILL_NOTIONAL_USD * UNIT))

    def on_action(act: Action) -> None:
        _on_action(rec, p, act, step, log)  # the step at the time of the action
        if act.finished:
            trading.liquidated(act.account)

    keeper.on_action = on_action
    last_epoch_spots = dict(spots0)
    n_steps = len(path.prices) - 1
    log(f"[3/5] replaying {n_steps} price steps ({s.path.kind}) with epochs, proofs and liquidations")
    t2 = time.monotonic()
    _record_step(rec, p, 0, path, epoch_posted=True, vols=s.vols)
    for step in range(1, n_steps + 1):
        failing: list[str] = []
        p.advance(s.step_seconds)
        row = {a: float(path.prices[step, k]) for k, a in enumerate(path.assets)}
        p.report_prices(row)
        move = max(abs(row[u] / last_epoch_spots[u] - 1) for u in row)
        posted = step % s.epoch_every_rounds == 0 or move >= s.epoch_on_move or step == n_steps
        drawdown = max(1 - row[u] / spots0[u] for u in row)
        vols = s.crash_vols if drawdown >= s.crash_threshold else s.vols
        if posted:
            funding = None
            if funded:  # the keeper's index at this epoch's marks, over the market time since the last epoch
                marks = build_epoch(p.market(vols), p.listing, p.risk_config, epoch_id=1, timestamp=p.now(),
                                    linearize=True).marks
                funding = list(trading.funding_index(marks, row, int(path.timestamps[step])).index)
            e = p.post_epoch(vols=vols, funding=funding)
            last_epoch_spots = dict(row)
            if mcd is not None:
                mcd.run(step)  # alerts and top-ups while the grace window is open, before the proofs
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
        _record_step(rec, p, step, path, epoch_posted=posted, vols=vols)  # health as proven, before liquidation
        if posted and failing:
            p.advance(s.grace_period_seconds + 1)
            keeper.run(until_idle=True, poll_seconds=0)
            _record_settlement(rec, p)  # the fund and fees after this step's liquidations, at this step
        if mcd is not None:
            mcd.run(step)
        if step:
            trading.run(step)
    rec.timings["replay_s"] = time.monotonic() - t2
    rec.timings["proving_s"] = proving_s  # proofs of the opening IM statements and of every epoch
    rec.proofs = proofs

    if mcd is not None:
        rec.margin_calls = mcd.finish()
    log("[4/5] final balances")
    v, token = p.d.vault, p.d.token
    rec.final = {
        "vault_token_balance": int(token.balanceOf(v.address)),
        "account_balances": int(v.totalDeposits()),
        "insurance_fund": int(v.insuranceFund()),
        "protocol_fees": int(v.protocolFees()),
        "insurance_fund_initial": int(s.insurance_fund_usd * UNIT),
        "balances": {addr: int(v.balanceOf(addr)) for addr in rec.labels},
        "liquidator_balance": int(v.balanceOf(rec.liquidator)),
        "liquidator_capital": int(s.liquidator_capital_usd * UNIT),
        "open": {addr: int(p.d.accounts.commitmentOf(addr)) != 0 for addr in rec.labels},
    }
    liquidated = {x["account"] for x in rec.liquidations}
    fees = {x["account"]: x["fee"] for x in rec.liquidations}
    deposits = {**rec.deposits, str(p.house.address): _house_deposits(p)}
    rec.pnl = trading.results(deposits, fees, liquidated)
    rec.trading = {"fills": trading.fills, "funding_steps": trading.steps, "withdrawals": trading.withdrawals,
                   "house": str(p.house.address), "instruments": list(p.book.instruments),
                   "kinds": [i.kind for i in p.listing], "funded": funded}
    rec.conservation = conservation(p, [*rec.labels, str(p.house.address), rec.liquidator])
    rec.timings["total_s"] = time.monotonic() - t0
    return rec


def _house_deposits(p: Protocol) -> int:
    """What the house deposited (its Deposit events)."""
    house = str(p.house.address)
    return sum(int(ev.amount) for ev in p.d.vault.Deposited.range(0, int(p.chain.blocks.head.number) + 1)
               if str(ev.account) == house)


def conservation(p: Protocol, holders: list[str]) -> dict[str, Any]:
    """The vault's books to the base unit: tokens the vault holds minus (every holder's balance +
    the private cash claims + insurance fund + protocol fees); ``residual`` must be 0."""
    v = p.d.vault
    held = int(p.d.token.balanceOf(v.address))
    balances = sum(int(v.balanceOf(a)) for a in dict.fromkeys(holders))
    private, fund, fees = int(v.totalPrivateCash()), int(v.insuranceFund()), int(v.protocolFees())
    return {"vault_token_balance": held, "balances": balances, "total_deposits": int(v.totalDeposits()),
            "private_cash": private, "insurance_fund": fund, "protocol_fees": fees,
            "residual": held - (balances + private + fund + fees), "holders": len(dict.fromkeys(holders))}


def _open_accounts(p: Protocol, openings: list[Opening]) -> tuple[int, float]:
    """Open the accounts so that no book is split across settlement batches in a way that leaves a
    hedged account unhedged in between: a batch holds at most two orders per account (the house
    included), so the one-instrument books open together and each other book in its own call,
    its legs in listing order (a basis book opens its BTC pair, then its ETH pair). Returns the
    transition proofs made and their seconds."""
    singles = [o for o in openings if sum(1 for v in o.holdings.values() if v) <= 1]
    groups = ([singles] if singles else []) + [[o] for o in openings if o not in singles]
    count, secs = 0, 0.0
    for group in groups:
        p.open_accounts([o.spec() for o in group])
        count, secs = count + p.last_proving[0], secs + p.last_proving[1]
    return count, secs


def _on_action(rec: DemoRecord, p: Protocol, act: Action, step: int, log: Any = print) -> None:
    rec.actions.append({"step": step, "kind": act.kind, "account": act.account, "block": act.block, "gas": act.gas_used})
    if act.kind == "bid":
        for ev in p.d.liquidation.AuctionFill.range(act.block, act.block + 1):
            if str(ev.account) == act.account:
                rec.fills.append({"step": step, "account": act.account, "value": int(ev.value), "cost": int(ev.cost),
                                  "discount_bps": int(ev.discountBps), "block": act.block})
    if act.finished:
        logs = list(p.d.liquidation.LiquidationFinished.range(act.block, act.block + 1))
        for ev in logs:
            if str(ev.account) == act.account:
                x: dict[str, Any] = {
                    "step": step, "account": act.account, "label": rec.labels.get(act.account, ""),
                    "epoch": int(ev.epochId), "fee": int(ev.fee), "shortfall": int(ev.shortfall),
                    "remaining_collateral": int(ev.remainingCollateral), "block": act.block,
                }
                rec.liquidations.append(x)
                deposit = rec.deposits.get(act.account, 0)
                fills = [f for f in rec.fills if f["account"] == act.account]
                cost = sum(f["cost"] for f in fills)
                paid = (f"the liquidator paid {cost / UNIT:,.2f} USD for it" if cost >= 0 else
                        f"the liquidator was paid {-cost / UNIT:,.2f} USD to take it over")
                log(f"    liquidated {x['label']} at step {step}: book worth {sum(f['value'] for f in fills) / UNIT:,.2f} USD "
                    f"at the epoch marks, {paid} ({len(fills)} fill(s)); fee {x['fee'] / UNIT:,.2f} USD, shortfall "
                    f"{x['shortfall'] / UNIT:,.2f} USD; the account lost {(deposit - x['remaining_collateral']) / UNIT:,.2f} "
                    f"USD of its {deposit / UNIT:,.2f} USD deposit")


def _record_settlement(rec: DemoRecord, p: Protocol) -> None:
    """After the keeper acted within a step: the insurance fund and fees at that step include
    its liquidations (the plots then show each change at its liquidation, not one step later)."""
    v = p.d.vault
    rec.steps[-1]["insurance_fund"] = int(v.insuranceFund())
    rec.steps[-1]["protocol_fees"] = int(v.protocolFees())


def _record_step(rec: DemoRecord, p: Protocol, step: int, path: PricePath, epoch_posted: bool,
                 vols: dict[str, float]) -> None:
    v = p.d.vault
    rec.steps.append({
        "step": step,
        "market_time": int(path.timestamps[step]),
        "chain_time": p.now(),
        "BTC": float(path.prices[step, 0]),
        "ETH": float(path.prices[step, 1]),
        "epoch": p.epoch.epoch_id if p.epoch else 0,
        "epoch_posted": epoch_posted,
        "insurance_fund": int(v.insuranceFund()),
        "protocol_fees": int(v.protocolFees()),
        "health": _health(p),
        "health_engine": _engine_health(p, vols),
    })
