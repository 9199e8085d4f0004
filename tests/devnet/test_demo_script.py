"""The README's main job, run as users run it: ``ape run demo`` on a devnet it starts itself.

A short scenario (two accounts, 18-20 May 2021) keeps it to a few proofs; the full scenario is
``config/devnet-demo.json`` (``make demo``). Also: a malformed scenario file fails with a clear
error naming the field, a non-zero exit, and no report written.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APE = str(Path(sys.executable).parent / "ape")


def _run_demo(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ZKMARGIN_PROVER_PROCESSES"}  # a normal user run
    return subprocess.run([APE, "run", "demo", "--network", "ethereum:local:foundry", *args], cwd=ROOT, env=env,
                          check=False, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_demo_runs_end_to_end_and_writes_the_report(tmp_path):
    out = tmp_path / "report"
    proc = _run_demo("--scenario", str(ROOT / "config" / "devnet-smoke.json"), "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "exact" in proc.stdout
    assert re.search(r"demo total [\d.]+ s, of which proving [\d.]+ s \(\d+%: \d+ proofs, [\d.]+ accounts/s, "
                     r"backend native\)", proc.stdout), proc.stdout[-2000:]
    for name in ("manifest.json", "summary.json", "accounts.csv", "steps.csv", "actions.csv", "price.png",
                 "account_health.png", "liquidations.png", "insurance_fund.png", "pnl.csv", "trades.csv", "funding.csv",
                 "pnl.png"):
        assert (out / name).stat().st_size > 0, name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 19 and len(manifest["config_hash"]) == 64
    assert set(manifest["contracts"]) >= {"vault", "oracle", "epochs", "accounts", "liquidation", "verifier"}
    assert manifest["packages"]["eth-ape"] == "0.8.51"
    # labels carry the leverage computed from the positions: 1 BTC (1000 lots of 0.001) at the
    # 18 May 2021 close over an 11,000 USD deposit; 0.3 BTC perp + 0.3 BTC of puts over 6,000
    close = {r["date"]: float(r["BTC"]) for r in csv.DictReader((ROOT / "examples" / "history_btc_eth_2021.csv").open())}
    naked = f"naked long BTC perp ({close['2021-05-18'] / 11_000:.1f}x)"
    hedged = f"long BTC perp + put ({0.6 * close['2021-05-18'] / 6_000:.1f}x)"
    rows = {r["label"]: r for r in csv.DictReader((out / "accounts.csv").open())}
    writer, buyer = "short BTC perp, writes ETH-EVCALL", "long BTC perp + ETH-EVCALL"
    by_name = {k.rsplit(" (", 1)[0]: v for k, v in rows.items()}
    assert set(rows) >= {naked, hedged} and set(by_name) == {"naked long BTC perp", "long BTC perp + put", writer, buyer}
    assert rows[naked]["status"] == "liquidated"
    assert rows[hedged]["status"] == "open"
    summary = json.loads((out / "summary.json").read_text())
    # the trading phase: fills between scenario accounts (not the house), the everlasting call among them
    fills = summary["trading"]["fills"]
    house = summary["trading"]["house"]
    assert len(fills) == 4 and all(house not in (x["buyer_address"], x["seller_address"]) for x in fills)
    assert {x["kind"] for x in fills} == {"perp", "everlasting"}
    assert "traded 2 fill(s) between accounts" in proc.stdout
    # funding: the perp's 10 bps premium and the everlasting call's mark - payoff; zero-sum to the base unit
    # over every holder (accounts, house, liquidator), each account's share non-zero
    assert summary["funding_total_base_units"] == 0
    assert sum(x["funding_usd"] for x in summary["pnl"]) == pytest.approx(0, abs=1e-6)
    acc = {r["label"].rsplit(" (", 1)[0]: r for r in summary["accounts"]}
    assert acc[writer]["funding_usd"] > 0 > acc[buyer]["funding_usd"]  # the shorts receive, the longs pay
    assert acc["naked long BTC perp"]["funding_usd"] < 0
    # the winner closed its book and withdrew more than it deposited; its realized profit is mostly the BTC perp it
    # sold before the crash
    w = acc[writer]
    assert w["withdrawn_usd"] > w["deposit_usd"] == 6000 and w["realized_pnl_usd"] > 1000
    assert w["unrealized_pnl_usd"] == 0 and w["status"] == "open"
    assert f"{writer} moved" in proc.stdout and "withdrew" in proc.stdout
    # PnL identity of every account that was not liquidated (no trading fees in the demo):
    # final equity + withdrawn - deposit = realized + unrealized + funding
    for r in summary["pnl"]:
        if r["account"] in {x["account"] for x in summary["liquidations"]} or r["label"] == "liquidator":
            continue
        assert r["final_equity_usd"] + r["withdrawn_usd"] - r["deposit_usd"] == pytest.approx(
            r["realized_pnl_usd"] + r["unrealized_pnl_usd"] + r["funding_usd"], abs=1e-5), r["label"]
    # the vault's books, to the base unit: tokens held = balances (incl. house and liquidator) + private cash
    # + insurance fund + protocol fees
    c = summary["conservation"]
    assert c["residual"] == 0 and c["private_cash"] != 0
    assert c["vault_token_balance"] == c["balances"] + c["private_cash"] + c["insurance_fund"] + c["protocol_fees"]
    # liquidations are printed as they happen, with the account's loss; the liquidator's result is reported
    (liq,) = summary["liquidations_usd"]
    assert proc.stdout.index(f"liquidated {naked} at step") < proc.stdout.index("[4/5]")
    assert float(rows[naked]["loss_usd"]) == pytest.approx(11_000 - float(rows[naked]["final_balance_usd"]))
    assert liq["account_loss_usd"] == pytest.approx(liq["market_loss_usd"] + liq["discount_to_liquidator_usd"]
                                                    + liq["fee_usd"] - liq["shortfall_usd"], abs=1e-6)
    lr = summary["liquidator"]
    assert lr["vault_balance_change_usd"] == pytest.approx(-lr["paid_usd"])
    assert "liquidator 0x" in proc.stdout and "result at the marks" in proc.stdout
    # every step has its market time and both health views; the fund's change is at the liquidation's step
    steps = list(csv.DictReader((out / "steps.csv").open()))
    assert steps[0]["market_time_utc"] == "2021-05-18T00:00:00+00:00"
    assert all(s[f"health_engine_{hedged}"] for s in steps)
    k = int(liq["step"])
    assert int(steps[k]["insurance_fund"]) != int(steps[k - 1]["insurance_fund"])
    assert all(steps[j]["insurance_fund"] == steps[k]["insurance_fund"] for j in range(k, len(steps)))


def test_malformed_scenario_fails_cleanly(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"accounts": [{"label": "x", "holdings": {"DOGE-PERP": 1}, "deposit_usd": 1}]}))
    out = tmp_path / "report"
    proc = _run_demo("--scenario", str(bad), "--out", str(out))
    assert proc.returncode != 0
    assert "scenario.accounts.0.holdings" in proc.stdout + proc.stderr
    assert "DOGE-PERP" in proc.stdout + proc.stderr
    assert not out.exists()


def test_scripts_name_a_missing_deployment(tmp_path):
    env = dict(os.environ)
    proc = subprocess.run([APE, "run", "keeper", "--state-dir", str(tmp_path / "none"), "--network", "ethereum:local:foundry"],
                          cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "deployment.json: no deployment here" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "none").exists()
