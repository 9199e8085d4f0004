"""``make demo`` / ``ape run demo``: the whole protocol through a May-2021-style crash on a devnet.

Deploys every contract with the real Groth16 verifier, opens mixed portfolios (perps, futures,
options; hedged and naked) with initial-margin proofs, replays the price path through signed
oracle reports, posts risk epochs, proves every account each epoch (under-margined accounts
cannot), liquidates them through the keeper's Dutch-auction fills after the grace window, and
writes a report (tables, PNG plots, run manifest) to ``--out``.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from offchain.devnet.scripting import friendly_errors

ROOT = Path(__file__).resolve().parents[1]


@click.command(cls=ConnectedProviderCommand)
@click.option("--scenario", "scenario_path", default=str(ROOT / "config" / "devnet-demo.json"), show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Devnet scenario file.")
@click.option("--out", "out_dir", default=str(ROOT / "out" / "demo"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Report folder (replaced atomically).")
@click.option("--seed", default=None, type=int, help="Override the scenario's root seed.")
@friendly_errors
def cli(scenario_path, out_dir, seed):
    """Run the crash-and-liquidation scenario and write the report."""
    from ape import chain
    from ape.logging import logger
    from rich.console import Console
    from rich.table import Table

    from offchain.devnet.defaults import zk_cache_dir
    from offchain.devnet.demo import UNIT, run_demo
    from offchain.devnet.demo_scenario import load_scenario
    from offchain.devnet.report import account_rows, liquidator_result, pnl_rows, write_report
    from prover.backend import backend_name as prover_backend

    console = Console(width=max(120, Console().width))
    logger.set_level("WARNING")  # no per-transaction INFO lines
    scenario = load_scenario(scenario_path)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    console.rule(f"zkmargin demo: {scenario.name} (seed {scenario.seed}) on chain {chain.chain_id}")
    rec = run_demo(scenario, zk_cache_dir(), log=console.print)

    console.print("[5/5] writing the report")
    manifest = write_report(rec, out_dir, ROOT, int(chain.chain_id))
    table = Table(title="Accounts after the crash (USD; leverage = gross notional at opening / deposit)")
    for col in ("account", "deposit", "final balance", "loss", "status", "liquidated at", "fee", "shortfall"):
        table.add_column(col, justify="left" if col in ("account", "status", "liquidated at") else "right")
    for r in account_rows(rec):
        table.add_row(r["label"], f"{r['deposit_usd']:,.0f}", f"{r['final_balance_usd']:,.2f}", f"{r['loss_usd']:,.2f}",
                      r["status"], r["liquidated_at"], f"{r['fee_usd']:,.2f}", f"{r['shortfall_usd']:,.2f}")
    console.print(table)
    if rec.trading.get("fills"):
        pt = Table(title="PnL per account (USD): realized = closing fills, unrealized = open positions at the last marks, "
                         "funding received (- paid)")
        for col in ("account", "deposit", "withdrawn", "realized", "unrealized", "funding", "final equity"):
            pt.add_column(col, justify="left" if col == "account" else "right")
        for r in pnl_rows(rec):
            pt.add_row(r["label"], f"{r['deposit_usd']:,.2f}", f"{r['withdrawn_usd']:,.2f}", f"{r['realized_pnl_usd']:+,.2f}",
                       f"{r['unrealized_pnl_usd']:+,.2f}", f"{r['funding_usd']:+,.2f}", f"{r['final_equity_usd']:,.2f}")
        console.print(pt)
        total = sum(x["funding"] for x in rec.pnl.values())
        console.print(f"funding over all holders sums to {total} base units (zero-sum); "
                      f"{len(rec.trading['fills'])} fills between accounts")
    lr = liquidator_result(rec)
    console.print(f"liquidator {lr['address']}: {lr['fills']} fills, books worth {lr['books_value_at_marks_usd']:,.2f} USD "
                  f"at the epoch marks bought for {lr['paid_usd']:,.2f} USD: result at the marks "
                  f"{lr['result_at_marks_usd']:+,.2f} USD; vault balance {lr['capital_usd']:,.2f} -> "
                  f"{lr['final_balance_usd']:,.2f} USD ({lr['vault_balance_change_usd']:+,.2f})")
    if rec.margin_calls:
        mc = rec.margin_calls
        at = Table(title=f"Margin-call alerts (signed webhooks, {mc['inbox']['accepted']} accepted, "
                         f"{mc['inbox']['rejected']} rejected)")
        for col in ("#", "step", "account", "alert"):
            at.add_column(col, justify="right" if col in ("#", "step") else "left")
        for a in mc["alerts"]:
            if a["type"] == "tier_changed":
                what = f"{a['from']} -> {a['to']}"
            elif a["type"] == "top_up":
                what = f"top-up +{a['amount_usd']:,.2f} USD"
            else:
                what = f"{a['type']} ({a['reason']})"
            at.add_row(str(a["seq"]), str(a["step"]), a["label"], what)
        console.print(at)
    f, c = rec.final, rec.conservation
    console.print(
        f"insurance fund {f['insurance_fund_initial'] / UNIT:,.2f} -> {f['insurance_fund'] / UNIT:,.2f} USD, "
        f"protocol fees {f['protocol_fees'] / UNIT:,.2f} USD; vault holds {c['vault_token_balance'] / UNIT:,.2f} = "
        f"balances {c['balances'] / UNIT:,.2f} + private cash {c['private_cash'] / UNIT:,.2f} + fund + fees: "
        + ("[green]exact[/green]" if c["residual"] == 0 else f"[red]MISMATCH {c['residual']} base units[/red]")
    )
    t = rec.timings
    console.print(f"report: {out_dir} (manifest config hash {manifest['config_hash'][:12]})")
    console.print(f"demo total {t['total_s']:.1f} s, of which proving {t['proving_s']:.1f} s "
                  f"({100 * t['proving_s'] / t['total_s']:.0f}%: {rec.proofs} proofs, "
                  f"{rec.proofs / max(t['proving_s'], 1e-9):.2f} accounts/s, backend {prover_backend()})")
