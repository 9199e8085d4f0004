"""Report of a devnet demo run: CSV/JSON tables, PNG plots and the run manifest.

Everything is written to a temporary folder next to ``out_dir`` and moved into place at the end,
so an interrupted run never leaves a half-written report.

What the plots show (for a risk reader):

* times on the x axes are the market times of the price path (UTC): the devnet replays each
  price step in ``step_seconds`` of chain time, so chain time is compressed;
* an account's health is its **MM coverage** ``equity / maintenance requirement`` (the inverse
  of the CLI's ``margin_ratio = MM / equity``): below 1 the account cannot prove and is
  liquidated after the grace window, below 0 its equity is negative (it owes more than its
  collateral). Two views per account: the engine's at every price step (an epoch built from the
  step's prices, not posted) and the chain's (the latest posted epoch, which is what proofs and
  liquidations use);
* the insurance fund and the fees are sampled after the keeper acted within a step, so a
  liquidation's effect appears at the liquidation;
* a liquidated account's loss is ``deposit - collateral left``: the book's loss at the epoch's
  marks, plus the auction discount the liquidator earned, plus the liquidation fee, minus the
  shortfall the insurance fund (or socialization) covered;
* each account's PnL (``pnl.csv``, ``pnl.png``, the account rows of ``accounts.csv`` and
  ``summary.json``): realized (cash moved by closing fills, average-cost method), unrealized
  (open positions at the last epoch's marks against their average entry) and funding received
  (settled + unsettled; negative: paid), and the USD withdrawn; definitions in
  :mod:`offchain.devnet.demo_trading`. ``trades.csv`` lists the fills between accounts and
  ``funding.csv`` each epoch's funding step; ``summary.json``'s ``conservation`` is the vault's
  books to the base unit (``residual`` must be 0).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from offchain.devnet.demo import UNIT, DemoRecord
from offchain.devnet.manifest import build_manifest, write_json_atomic
from offchain.devnet.margin_call_report import twin_rows, write_margin_call_outputs

PLOTS = ("price.png", "account_health.png", "liquidations.png", "insurance_fund.png", "pnl.png")
#: beyond this many accounts the health plot is one panel (clipped) instead of one panel each
MAX_HEALTH_PANELS = 12
HEALTH_CLIP = (-1.0, 5.0)


def _utc(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(ts), tz=dt.UTC)


def _when(rec: DemoRecord, step: int) -> str:
    """Market time of ``step`` as ``2021-05-19 12:00 UTC``."""
    for s in rec.steps:
        if s["step"] == step and "market_time" in s:
            return _utc(s["market_time"]).strftime("%Y-%m-%d %H:%M UTC")
    return f"step {step}"


def liquidation_rows(rec: DemoRecord) -> list[dict[str, Any]]:
    """One row per liquidated account: when, fills, the book's value at the marks and what the
    liquidator paid for it, the discount it earned, fee, shortfall and the account's loss (USD)."""
    rows = []
    for x in rec.liquidations:
        fills = [f for f in rec.fills if f["account"] == x["account"]]
        value = sum(f["value"] for f in fills)
        cost = sum(f["cost"] for f in fills)
        deposit = rec.deposits.get(x["account"], 0)
        rows.append({
            "label": x["label"],
            "account": x["account"],
            "step": x["step"],
            "market_time": _when(rec, x["step"]),
            "epoch": x["epoch"],
            "fills": len(fills),
            "book_value_at_marks_usd": value / UNIT,
            "liquidator_paid_usd": cost / UNIT,
            "discount_to_liquidator_usd": (value - cost) / UNIT,
            "fee_usd": x["fee"] / UNIT,
            "shortfall_usd": x["shortfall"] / UNIT,
            "market_loss_usd": -value / UNIT,
            "account_loss_usd": (deposit - x["remaining_collateral"]) / UNIT,
        })
    return rows


def liquidator_result(rec: DemoRecord) -> dict[str, Any]:
    """The liquidator's outcome (USD): its vault balance change (cash received for the books it
    took, net of what it paid) and its result at the epoch marks (the books' value at the marks
    minus what it paid: the auction discounts it earned)."""
    value = sum(f["value"] for f in rec.fills)
    cost = sum(f["cost"] for f in rec.fills)
    out: dict[str, Any] = {"address": rec.liquidator, "fills": len(rec.fills),
                           "books_value_at_marks_usd": value / UNIT, "paid_usd": cost / UNIT,
                           "result_at_marks_usd": (value - cost) / UNIT}
    if "liquidator_balance" in rec.final:
        out["capital_usd"] = rec.final["liquidator_capital"] / UNIT
        out["final_balance_usd"] = rec.final["liquidator_balance"] / UNIT
        out["vault_balance_change_usd"] = (rec.final["liquidator_balance"] - rec.final["liquidator_capital"]) / UNIT
    return out


def account_rows(rec: DemoRecord) -> list[dict[str, Any]]:
    """One row per account: label (with its leverage), deposit, final balance, liquidation
    outcome and loss, withdrawals, realized and unrealized PnL and funding received (USD)."""
    liq = {r["account"]: r for r in liquidation_rows(rec)}
    rows = []
    for addr, label in rec.labels.items():
        x = liq.get(addr)
        deposit = rec.deposits.get(addr, 0) / UNIT
        final = rec.final["balances"][addr] / UNIT
        pnl = rec.pnl.get(addr, {})
        withdrawn = pnl.get("withdrawn", 0) / UNIT
        rows.append({
            "label": label,
            "account": addr,
            "leverage": round(rec.leverage.get(addr, 0.0), 2),
            "deposit_usd": deposit,
            "final_balance_usd": final,
            "status": "liquidated" if x else ("open" if rec.final["open"][addr] else "closed"),
            "liquidated_at_step": x["step"] if x else "",
            "liquidated_at": x["market_time"] if x else "",
            "fee_usd": x["fee_usd"] if x else 0.0,
            "shortfall_usd": x["shortfall_usd"] if x else 0.0,
            "loss_usd": x["account_loss_usd"] if x else deposit - final - withdrawn,
            "withdrawn_usd": withdrawn,
            "realized_pnl_usd": pnl.get("realized_pnl", 0.0) / UNIT,
            "unrealized_pnl_usd": pnl.get("unrealized_pnl", 0.0) / UNIT,
            "funding_usd": pnl.get("funding", 0) / UNIT,
        })
    return rows


def _holder_label(rec: DemoRecord, addr: str) -> str:
    if addr in rec.labels:
        return rec.labels[addr]
    if addr == rec.liquidator:
        return "liquidator"
    return str(rec.pnl.get(addr, {}).get("label") or addr)


def pnl_rows(rec: DemoRecord) -> list[dict[str, Any]]:
    """``pnl.csv``: one row per holder of the operator's book (the scenario's accounts, the house,
    the liquidator once it took a book over): deposit, cashed out, withdrawn, realized and
    unrealized PnL, funding received (negative: paid), final equity and open positions (USD)."""
    order = [*rec.labels, *[a for a in rec.pnl if a not in rec.labels]]
    rows = []
    for addr in order:
        x = rec.pnl.get(addr)
        if x is None:
            continue
        rows.append({
            "label": _holder_label(rec, addr), "account": addr, "deposit_usd": x["deposit"] / UNIT,
            "cashed_out_usd": x["cashed_out"] / UNIT, "withdrawn_usd": x["withdrawn"] / UNIT,
            "realized_pnl_usd": x["realized_pnl"] / UNIT, "unrealized_pnl_usd": x["unrealized_pnl"] / UNIT,
            "funding_usd": x["funding"] / UNIT, "final_balance_usd": x["balance"] / UNIT,
            "final_equity_usd": x["equity"] / UNIT, "fills": x["fills"],
            "positions": " ".join(f"{k}:{v:+d}" for k, v in x["positions"].items()),
        })
    return rows


def funding_rows(rec: DemoRecord) -> list[dict[str, Any]]:
    """``funding.csv``: one row per epoch that advanced the funding index: its step per funded
    instrument (base units per lot) and the perpetuals' premium and rate."""
    names = rec.trading.get("instruments", [])
    kinds = rec.trading.get("kinds", [])
    rows = []
    for st in rec.trading.get("funding_steps", []):
        row: dict[str, Any] = {"market_time_utc": _utc(st["market_time"]).isoformat(), "elapsed_seconds": st["elapsed_seconds"]}
        for i, name in enumerate(names):
            if kinds[i] in ("perp", "everlasting"):
                row[f"dF_{name}"] = st["delta"][i]
                row[f"F_{name}"] = st["index"][i]
            if kinds[i] == "perp":
                row[f"premium_{name}"] = st["premiums"][i]
                row[f"rate_{name}"] = st["rates"][i]
        rows.append(row)
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as fh:
        if not rows:
            fh.write("")
            return
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def step_rows(rec: DemoRecord) -> list[dict[str, Any]]:
    """``steps.csv``: one row per price step, with both health views per account."""
    rows = []
    for s in rec.steps:
        row = {k: v for k, v in s.items() if k not in ("health", "health_engine")}
        if "market_time" in s:
            row["market_time_utc"] = _utc(s["market_time"]).isoformat()
        for addr, label in rec.labels.items():
            row[f"health_chain_{label}"] = s["health"].get(addr)
            row[f"health_engine_{label}"] = s.get("health_engine", {}).get(addr)
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------- plots
def _times(rec: DemoRecord) -> list[Any]:
    return [_utc(s["market_time"]) if "market_time" in s else s["step"] for s in rec.steps]


def _time_axis(ax: Any, rec: DemoRecord) -> None:
    import matplotlib.dates

    mdates: Any = matplotlib.dates  # untyped module
    if rec.steps and "market_time" in rec.steps[0]:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlabel("market time (UTC)")
    else:
        ax.set_xlabel("price step")


def _liquidation_times(rec: DemoRecord) -> list[tuple[Any, str]]:
    times = dict(zip([s["step"] for s in rec.steps], _times(rec)))
    return [(times[x["step"]], x["label"]) for x in rec.liquidations]


def _price_plot(rec: DemoRecord, plt: Any) -> Any:
    xs = _times(rec)
    fig, ax = plt.subplots(figsize=(10, 5))
    for asset in ("BTC", "ETH"):
        base = rec.steps[0][asset]
        ax.plot(xs, [100 * s[asset] / base for s in rec.steps], marker=".", label=f"{asset} (start {base:,.0f} USD)")
    for k, (x, s) in enumerate(zip(xs, rec.steps)):
        if s["epoch_posted"]:
            ax.axvline(x, color="0.45", lw=0.9, alpha=0.6, ls=":", label="risk epoch posted" if k == 0 else None)
    names: dict[Any, list[str]] = {}
    for x, label in _liquidation_times(rec):
        names.setdefault(x, []).append(label)
    for x, labels in names.items():
        when = x.strftime("%d %b %H:%M") if isinstance(x, dt.datetime) else f"step {x}"
        ax.axvline(x, color="red", lw=1.2, alpha=0.7, label=f"liquidated {when}: {', '.join(labels)}")
    ax.set(title=f"Oracle prices, {rec.scenario.name} (seed {rec.seed}); each price step is replayed in "
                 f"{rec.scenario.step_seconds:,} s of chain time", ylabel="price, % of the first price")
    _time_axis(ax, rec)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _health_series(rec: DemoRecord, addr: str, key: str) -> list[float]:
    out = []
    for s in rec.steps:
        y = s.get(key, {}).get(addr)
        out.append(float("nan") if y is None else float(y))
    return out


def _health_plot(rec: DemoRecord, plt: Any) -> Any:
    import math

    xs = _times(rec)
    accounts = list(rec.labels.items())
    liq = {x["account"]: x["step"] for x in rec.liquidations}
    step_x = dict(zip([s["step"] for s in rec.steps], xs))
    title = ("MM coverage = equity / maintenance requirement (x); below 1: cannot prove, liquidated after the grace "
             "window; below 0: equity negative.\nIn the titles: leverage = gross notional at opening / deposit")
    if len(accounts) > MAX_HEALTH_PANELS:
        fig, ax = plt.subplots(figsize=(11, 5.5))
        lo, hi = HEALTH_CLIP
        for addr, label in accounts:
            ys = [min(hi, max(lo, y)) if not math.isnan(y) else y for y in _health_series(rec, addr, "health_engine")]
            ax.plot(xs, ys, lw=0.8, alpha=0.6)
        ax.axhline(1.0, color="red", ls="--", lw=1, label="MM threshold (1.0)")
        ax.axhspan(lo, 0, color="red", alpha=0.08, label="equity < 0")
        ax.set(ylim=HEALTH_CLIP, ylabel="equity / MM (x), clipped",
               title=f"{len(accounts)} accounts, engine view at every price step\n{title}")
        _time_axis(ax, rec)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig
    cols = 2 if len(accounts) > 1 else 1
    rows = math.ceil(len(accounts) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.9 * rows + 1.2), sharex=True, squeeze=False)
    handles: dict[str, Any] = {}
    for k, (addr, label) in enumerate(accounts):
        ax = axes[k // cols][k % cols]
        engine = _health_series(rec, addr, "health_engine")
        chain = _health_series(rec, addr, "health")
        (h1,) = ax.plot(xs, engine, color="tab:blue", marker=".", lw=1.2)
        (h2,) = ax.step(xs, chain, where="post", color="tab:orange", ls="--", lw=1.2)
        handles.setdefault("risk engine at each price step (epoch built from the step's prices)", h1)
        handles.setdefault("chain: latest posted epoch (what proofs and liquidations use)", h2)
        finite = [y for y in engine + chain if math.isfinite(y)]
        top = max([1.5, *finite]) * 1.1
        bottom = min([0.0, *finite])
        bottom = bottom - 0.1 * (top - bottom)
        ax.set_ylim(bottom, top)
        h3 = ax.axhline(1.0, color="red", ls="--", lw=1)
        handles.setdefault("MM threshold (1.0)", h3)
        if bottom < 0:
            h4 = ax.axhspan(bottom, 0, color="red", alpha=0.08)
            handles.setdefault("equity < 0 (owes more than its collateral)", h4)
        if addr in liq:
            h5 = ax.axvline(step_x[liq[addr]], color="red", lw=1.2, alpha=0.7)
            handles.setdefault("liquidated (after the grace window)", h5)
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("equity / MM (x)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for k in range(len(accounts), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    for ax in axes[-1]:
        _time_axis(ax, rec)
        ax.xaxis.label.set_fontsize(8)
    fig.suptitle(f"Account health, {rec.scenario.name}: {title}", fontsize=9)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    return fig


def _liquidations_plot(rec: DemoRecord, plt: Any) -> Any:
    rows = liquidation_rows(rec)
    lr = liquidator_result(rec)
    fig, ax = plt.subplots(figsize=(11, 2.4 + 0.9 * max(1, len(rows))))
    if not rows:
        ax.text(0.5, 0.5, "no liquidations", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    else:
        ys = list(range(len(rows)))
        market = [max(0.0, r["market_loss_usd"]) for r in rows]
        disc = [r["discount_to_liquidator_usd"] for r in rows]
        fee = [r["fee_usd"] for r in rows]
        left = [m + d for m, d in zip(market, disc)]
        ax.barh([y + 0.18 for y in ys], market, height=0.34, color="tab:gray", label="loss of the book at the epoch marks")
        ax.barh([y + 0.18 for y in ys], disc, left=market, height=0.34, color="tab:purple",
                label="auction discount earned by the liquidator")
        ax.barh([y + 0.18 for y in ys], fee, left=left, height=0.34, color="tab:orange", label="liquidation fee")
        ax.barh([y - 0.18 for y in ys], [r["account_loss_usd"] for r in rows], height=0.34, color="tab:red",
                label="account's loss: deposit - collateral left")
        ax.barh([y - 0.18 for y in ys], [-r["shortfall_usd"] for r in rows], height=0.34, color="tab:blue", hatch="//",
                alpha=0.6, label="shortfall covered by the insurance fund (not paid by the account)")
        for y, r in zip(ys, rows):
            ax.text(r["account_loss_usd"], y - 0.18, f" {r['account_loss_usd']:,.0f}", va="center", fontsize=7)
        ax.set_yticks(ys, [f"{r['label']}\n{r['market_time']}, {r['fills']} fill(s)" for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.8)
        fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
    ax.set_xlabel("USD")
    ax.grid(axis="x", alpha=0.3)
    vault = lr.get("vault_balance_change_usd")
    vault_text = f"; its vault balance changed by {vault:+,.0f} USD" if vault is not None else ""
    ax.set_title(f"Liquidations, {rec.scenario.name}: {len(rows)} accounts, their losses (USD) and where they went.\n"
                 f"Liquidator result at the epoch marks {lr['result_at_marks_usd']:+,.0f} USD (books worth "
                 f"{lr['books_value_at_marks_usd']:+,.0f} USD taken for {lr['paid_usd']:+,.0f}){vault_text}", fontsize=9)
    fig.tight_layout(rect=(0, 0.12 if rows else 0, 1, 1))
    return fig


def _fund_plot(rec: DemoRecord, plt: Any) -> Any:
    xs = _times(rec)
    start_fund = rec.steps[0]["insurance_fund"]
    fund = [(s["insurance_fund"] - start_fund) / UNIT for s in rec.steps]
    fees = [s["protocol_fees"] / UNIT for s in rec.steps]
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.step(xs, fund, where="post", marker=".", label=f"insurance fund, change since the start ({start_fund / UNIT:,.0f} USD)")
    ax.step(xs, fees, where="post", marker=".", label="protocol fees (cumulative)")
    step_x = dict(zip([s["step"] for s in rec.steps], xs))
    by_step = {s["step"]: k for k, s in enumerate(rec.steps)}
    for k, x in enumerate(rec.liquidations):
        ax.axvline(step_x[x["step"]], color="red", lw=1, alpha=0.6, label="liquidation" if k == 0 else None)
    for st in sorted({x["step"] for x in rec.liquidations}):
        i = by_step[st]
        delta = fund[i] - (fund[i - 1] if i > 0 else 0.0)
        if delta:
            ax.annotate(f"{delta:+,.0f}", (step_x[st], fund[i]), textcoords="offset points", xytext=(4, 6), fontsize=8,
                        color="tab:blue")
    ax.axhline(0, color="black", lw=0.6)
    ax.set(title=f"Insurance fund and protocol fees, {rec.scenario.name}: fee income (+) and shortfalls covered (-)",
           ylabel="USD")
    _time_axis(ax, rec)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _pnl_plot(rec: DemoRecord, plt: Any) -> Any:
    rows = [r for r in pnl_rows(rec) if r["account"] in rec.labels]
    fig, ax = plt.subplots(figsize=(11, 2.4 + 0.8 * max(1, len(rows))))
    if not rows:
        ax.text(0.5, 0.5, "no accounts", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    else:
        ys = list(range(len(rows)))
        h = 0.2
        for k, (key, color, name) in enumerate((("realized_pnl_usd", "tab:green", "realized PnL (closing fills)"),
                                                 ("unrealized_pnl_usd", "tab:blue", "unrealized PnL at the last marks"),
                                                 ("funding_usd", "tab:orange", "funding received (- paid)"),
                                                 ("withdrawn_usd", "tab:purple", "withdrawn"))):
            ax.barh([y + (k - 1.5) * h for y in ys], [r[key] for r in rows], height=h, color=color, label=name)
        for y, r in zip(ys, rows):
            if r["withdrawn_usd"]:
                ax.text(r["withdrawn_usd"], y + 1.5 * h, f" withdrew {r['withdrawn_usd']:,.0f} (deposit "
                                                          f"{r['deposit_usd']:,.0f})", va="center", fontsize=7)
        ax.set_yticks(ys, [r["label"] for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.8)
        fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=7, frameon=False)
    total = sum(x["funding"] for x in rec.pnl.values()) if rec.pnl else 0
    ax.set_xlabel("USD")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"PnL per account, {rec.scenario.name}: realized, unrealized, funding and withdrawals (USD).\n"
                 f"Funding over every holder (accounts, house, liquidator) sums to {total} base units", fontsize=9)
    fig.tight_layout(rect=(0, 0.1 if rows else 0, 1, 1))
    return fig


def figures(rec: DemoRecord) -> dict[str, Any]:
    """The report's matplotlib figures by file name (the caller saves and closes them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    makers = {"price.png": _price_plot, "account_health.png": _health_plot, "liquidations.png": _liquidations_plot,
              "insurance_fund.png": _fund_plot, "pnl.png": _pnl_plot}
    return {name: make(rec, plt) for name, make in makers.items()}


def _plots(rec: DemoRecord, folder: Path) -> None:
    import matplotlib.pyplot as plt

    for name, fig in figures(rec).items():
        fig.savefig(folder / name, dpi=110)
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
        _write_csv(tmp / "liquidations.csv", liquidation_rows(rec))
        _write_csv(tmp / "steps.csv", step_rows(rec))
        _write_csv(tmp / "pnl.csv", pnl_rows(rec))
        _write_csv(tmp / "trades.csv", rec.trading.get("fills", []))
        _write_csv(tmp / "funding.csv", funding_rows(rec))
        _plots(rec, tmp)
        extra = write_margin_call_outputs(rec, tmp, rows) if rec.margin_calls else []
        manifest = build_manifest(
            seed=rec.seed, config=rec.scenario, chain_id=chain_id, addresses=rec.addresses, root=root,
            extra={"scenario": rec.scenario.name, "timings_s": {k: round(v, 2) for k, v in rec.timings.items()},
                   "outputs": ["summary.json", "accounts.csv", "actions.csv", "liquidations.csv", "steps.csv", "pnl.csv",
                               "trades.csv", "funding.csv", *PLOTS,
                               *extra]},
        )
        write_json_atomic(tmp / "manifest.json", manifest)
        summary = {"seed": rec.seed, "scenario": rec.scenario.model_dump(mode="json"), "accounts": rows,
                   "epochs": rec.epochs, "liquidations": rec.liquidations, "liquidations_usd": liquidation_rows(rec),
                   "fills": rec.fills,
                   "liquidator": liquidator_result(rec), "final": rec.final, "pnl": pnl_rows(rec),
                   "funding_total_base_units": sum(x["funding"] for x in rec.pnl.values()),
                   "trading": rec.trading, "conservation": rec.conservation}
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
