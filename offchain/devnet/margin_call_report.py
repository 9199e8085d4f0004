"""The margin-call part of the demo report: ``alerts.csv`` (every signed alert the inbox accepted,
in arrival order), ``margin_calls.csv`` (each opted-in account next to its twin without top-up)
and ``margin_calls.png`` (their margin ratios through the run over the tier bands, with the
alerts, the top-up and the liquidation marked)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

UNIT = 10**6
OUTPUTS = ("alerts.csv", "margin_calls.csv", "margin_calls.png")


def twin_rows(rec: Any, account_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per opted-in account and per twin: alerts, top-ups and the final outcome."""
    mc = rec.margin_calls
    # account rows carry the leverage in their label ("... (4.1x)"); the margin-call spec names the
    # scenario's label, so the two are joined on the label the account row starts with
    def row_for(label: str) -> dict[str, Any]:
        (r,) = [r for r in account_rows if r["label"] == label or r["label"].startswith(label + " (")]
        return r

    rows = []
    for t in mc["top_up_accounts"]:
        for label, role in ((t["label"], "top-up"), (t.get("twin"), "twin, no top-up")):
            if label is None:
                continue
            r = row_for(label)
            alerts = [a for a in mc["alerts"] if a["label"] == label]
            tops = [x for x in mc["top_ups"] if x["label"] == label]
            rows.append({
                "label": label, "role": role,
                "allowance_usd": t["allowance_usd"] if role == "top-up" else 0.0,
                "alerts": " | ".join(_describe(a) for a in alerts),
                "top_ups": len(tops), "topped_up_usd": sum(x["amount"] for x in tops) / UNIT,
                "status": r["status"], "liquidated_at_step": r["liquidated_at_step"],
                "final_balance_usd": r["final_balance_usd"],
            })
    return rows


def _describe(a: dict[str, Any]) -> str:
    if a["type"] == "tier_changed":
        return f"{a['from']} -> {a['to']}"
    if a["type"] == "top_up":
        return f"top-up {a['amount_usd']:,.2f} USD"
    return f"{a['type']} ({a['reason']})"


def _write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


ALERT_FIELDS = ["seq", "step", "label", "account", "type", "from", "to", "ratio", "amount_usd", "reason", "epoch",
                "block", "key", "signature"]
TWIN_FIELDS = ["label", "role", "allowance_usd", "alerts", "top_ups", "topped_up_usd", "status", "liquidated_at_step",
               "final_balance_usd"]


def write_margin_call_outputs(rec: Any, folder: Path, account_rows: list[dict[str, Any]]) -> list[str]:
    """Write the three outputs into ``folder``; return their names."""
    mc = rec.margin_calls
    _write_csv(folder / "alerts.csv", mc["alerts"], ALERT_FIELDS)
    _write_csv(folder / "margin_calls.csv", twin_rows(rec, account_rows), TWIN_FIELDS)
    _plot(rec, folder / "margin_calls.png")
    return list(OUTPUTS)


def _plot(rec: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mc = rec.margin_calls
    # the demo's labels carry the leverage ("label (4.1x)"): keyed by the scenario's label
    labels_to_addr = {label.rsplit(" (", 1)[0]: addr for addr, label in rec.labels.items()}
    steps = [s["step"] for s in rec.steps]
    tiers = mc["tiers"]
    fig, ax = plt.subplots(figsize=(10, 5.2))
    # tier bands, best at the top
    colours = ["#d9f2d9", "#fff3c4", "#ffd9b3", "#f8c6c6", "#eeeeee"]
    top = 3.0
    for k, t in enumerate(tiers):
        lo = t["min_ratio"] if t["min_ratio"] is not None else -1.0
        hi = top if k == 0 else tiers[k - 1]["min_ratio"]
        ax.axhspan(lo, hi, color=colours[min(k, len(colours) - 1)], zorder=0)
        ax.text(steps[-1] + 0.15, (max(lo, 0.0) + hi) / 2, t["name"], fontsize=8, va="center", color="#555555")
    pairs = [(t["label"], t.get("twin")) for t in mc["top_up_accounts"]]
    for label, twin in pairs:
        for name, style in ((label, "-"), (twin, "--")):
            if name is None:
                continue
            addr = labels_to_addr[name]
            ys = [s["health"].get(addr) for s in rec.steps]
            ax.plot(steps, [min(y, top) if y is not None and math.isfinite(y) else float("nan") for y in ys],
                    style, marker="o", lw=1.8, label=f"{name} (ratio after the step's proofs)")
    # tier changes: one marker per (step, ratio) with the alerts' numbers; top-ups: an arrow from
    # the ratio before to the ratio after
    points: dict[tuple[Any, float], list[str]] = {}
    last_ratio: dict[str, float] = {}
    for a in mc["alerts"]:
        if a["step"] == "":
            continue
        y = a["ratio"] if isinstance(a["ratio"], (int, float)) else None
        if a["type"] == "tier_changed":
            ypos = min(y, top) if y is not None else 0.03
            points.setdefault((a["step"], round(ypos, 4)), []).append(f"#{a['seq']} {a['to']}")
            if y is not None:
                last_ratio[a["account"]] = y
        elif a["type"] == "top_up":
            after = next((b["ratio"] for b in mc["alerts"] if b["account"] == a["account"] and b["seq"] > a["seq"]
                          and b["type"] == "tier_changed" and isinstance(b["ratio"], (int, float))), None)
            before = last_ratio.get(a["account"])
            if before is not None and after is not None:
                ax.annotate("", xy=(a["step"], min(after, top)), xytext=(a["step"], before),
                            arrowprops={"arrowstyle": "-|>", "color": "green", "lw": 2})
                ax.text(a["step"] + 0.06, (before + min(after, top)) / 2, f"#{a['seq']} top-up\n+{a['amount_usd']:,.0f} USD",
                        color="green", fontsize=8, va="center")
    for (x, yv), names in points.items():
        ax.scatter([x], [yv], marker="D", s=36, zorder=5, color="black")
        ax.annotate(", ".join(names), (x, yv), xytext=(-8, 0), textcoords="offset points", fontsize=7, ha="right",
                    va="center")
    for x in rec.liquidations:
        ax.axvline(x["step"], color="red", lw=1.2, alpha=0.7)
        ax.text(x["step"], top * 0.97, f" liquidated: {x['label']}", color="red", fontsize=8, va="top")
    ax.axhline(1.0, color="red", ls=":", lw=1)
    ax.set_xlim(steps[0] - 0.3, steps[-1] + 0.8)
    ax.set_xticks(steps)
    ax.set_ylim(-0.5 if any(s < 0 for s in _ratios(rec)) else 0.0, top)
    ax.set(title=f"Margin calls ({rec.scenario.name}, seed {rec.seed}): the account with top-up vs its twin",
           xlabel="price step", ylabel="margin ratio (equity / MM)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _ratios(rec: Any) -> list[float]:
    return [y for s in rec.steps for y in s["health"].values() if y is not None and math.isfinite(y)]
