"""Report of a devnet demo run: CSV/JSON tables, PNG plots and the run manifest.

Everything is written to a temporary folder next to ``out_dir`` and moved into place at the end,
so an interrupted run never leaves a half-written report.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from offchain.devnet.demo import UNIT, DemoRecord
from offchain.devnet.manifest import build_manifest, write_json_atomic
from offchain.devnet.margin_call_report import twin_rows, write_margin_call_outputs

PLOTS = ("price.png", "account_health.png", "liquidations.png", "insurance_fund.png")


def account_rows(rec: DemoRecord) -> list[dict[str, Any]]:
    """One row per account: label, deposit, final balance, liquidation outcome (USD)."""
    deposits = {}
    k = 0
    for tmpl in rec.scenario.accounts:
        for _ in range(tmpl.count):
            deposits[list(rec.labels)[k]] = tmpl.deposit_usd
            k += 1
    liq = {x["account"]: x for x in rec.liquidations}
    rows = []
    for addr, label in rec.labels.items():
        x = liq.get(addr)
        rows.append({
            "label": label,
            "account": addr,
            "deposit_usd": deposits[addr],
            "final_balance_usd": rec.final["balances"][addr] / UNIT,
            "status": "liquidated" if x else ("open" if rec.final["open"][addr] else "closed"),
            "liquidated_at_step": x["step"] if x else "",
            "fee_usd": x["fee"] / UNIT if x else 0.0,
            "shortfall_usd": x["shortfall"] / UNIT if x else 0.0,
        })
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        if not rows:
            fh.write("")
            return
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _plots(rec: DemoRecord, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [s["step"] for s in rec.steps]
    liq_steps = [x["step"] for x in rec.liquidations]

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for asset in ("BTC", "ETH"):
        base = rec.steps[0][asset]
        ax.plot(steps, [100 * s[asset] / base for s in rec.steps], label=f"{asset} (start {base:,.0f} USD)")
    for st in [s["step"] for s in rec.steps if s["epoch_posted"]]:
        ax.axvline(st, color="grey", lw=0.5, alpha=0.4)
    for st in liq_steps:
        ax.axvline(st, color="red", lw=1.2, alpha=0.7)
    ax.set(title=f"Oracle prices ({rec.scenario.name}, seed {rec.seed}); grey: epochs, red: liquidations",
           xlabel="price step", ylabel="price, % of start")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "price.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for addr, label in rec.labels.items():
        ys = [s["health"].get(addr) for s in rec.steps]
        ax.plot(steps, [y if y is not None else float("nan") for y in ys], label=label)
    ax.axhline(1.0, color="red", ls="--", lw=1, label="maintenance (equity = MM)")
    ax.set(title="Account health: equity / maintenance requirement (latest epoch)", xlabel="price step",
           ylabel="margin ratio")
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(folder / "account_health.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    labels = [x["label"] for x in rec.liquidations] or ["(none)"]
    fees = [x["fee"] / UNIT for x in rec.liquidations] or [0.0]
    shortfalls = [x["shortfall"] / UNIT for x in rec.liquidations] or [0.0]
    pos = range(len(labels))
    ax.bar([i - 0.2 for i in pos], fees, width=0.4, label="liquidation fee (USD)")
    ax.bar([i + 0.2 for i in pos], shortfalls, width=0.4, label="shortfall (USD)")
    ax.set_xticks(list(pos), labels, rotation=15, fontsize=7)
    ax.set(title=f"Liquidations: {len(rec.liquidations)} accounts", ylabel="USD")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "liquidations.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(steps, [s["insurance_fund"] / UNIT for s in rec.steps], label="insurance fund")
    ax.plot(steps, [s["protocol_fees"] / UNIT for s in rec.steps], label="protocol fees")
    for st in liq_steps:
        ax.axvline(st, color="red", lw=1, alpha=0.6)
    ax.set(title="Insurance fund and protocol fees", xlabel="price step", ylabel="USD")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "insurance_fund.png", dpi=110)
    plt.close(fig)


def write_report(rec: DemoRecord, out_dir: Path, root: Path, chain_id: int) -> dict[str, Any]:
    """Write the report folder; return the manifest."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        rows = account_rows(rec)
        _write_csv(tmp / "accounts.csv", rows)
        _write_csv(tmp / "actions.csv", rec.actions)
        step_rows = [{k: v for k, v in s.items() if k != "health"} | {f"health_{rec.labels[a]}": h for a, h in s["health"].items()}
                     for s in rec.steps]
        _write_csv(tmp / "steps.csv", step_rows)
        _plots(rec, tmp)
        extra = write_margin_call_outputs(rec, tmp, rows) if rec.margin_calls else []
        manifest = build_manifest(
            seed=rec.seed, config=rec.scenario, chain_id=chain_id, addresses=rec.addresses, root=root,
            extra={"scenario": rec.scenario.name, "timings_s": {k: round(v, 2) for k, v in rec.timings.items()},
                   "outputs": ["summary.json", "accounts.csv", "actions.csv", "steps.csv", *PLOTS, *extra]},
        )
        write_json_atomic(tmp / "manifest.json", manifest)
        summary = {"seed": rec.seed, "scenario": rec.scenario.model_dump(mode="json"), "accounts": rows,
                   "epochs": rec.epochs, "liquidations": rec.liquidations, "final": rec.final}
        if rec.margin_calls:
            summary["margin_calls"] = {**rec.margin_calls, "twins": twin_rows(rec, rows)}
        write_json_atomic(tmp / "summary.json", summary)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
