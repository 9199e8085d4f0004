"""The acceptance scenario of margin-call automation (``config/devnet-margin-calls.json``): two
identical long BTC perp accounts through the 19 May 2021 wick; the one that authorized top-ups
gets its alerts in order, is topped up once and is not liquidated, its twin without top-up is;
the demo report shows it (alerts.csv, margin_calls.csv, margin_calls.png, summary.json)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from offchain.devnet.defaults import zk_cache_dir
from offchain.devnet.demo import run_demo
from offchain.devnet.demo_scenario import load_scenario
from offchain.devnet.report import write_report

ROOT = Path(__file__).resolve().parents[2]
TOP_UP, TWIN = "long BTC perp, top-up on", "long BTC perp, no top-up"


@pytest.mark.slow
def test_the_account_with_top_up_survives_its_twin_is_liquidated(chain, tmp_path):
    scenario = load_scenario(ROOT / "config" / "devnet-margin-calls.json")
    rec = run_demo(scenario, zk_cache_dir(), log=lambda *a: None)
    out = tmp_path / "report"
    manifest = write_report(rec, out, ROOT, int(chain.chain_id))
    mc = rec.margin_calls

    def alerts(label):
        return [(a["type"], a["from"], a["to"], a["reason"]) for a in mc["alerts"] if a["label"] == label]

    assert alerts(TOP_UP) == [("tier_changed", "healthy", "liquidatable", ""), ("top_up", "", "", ""),
                              ("tier_changed", "liquidatable", "healthy", "")]
    # never authorized: tier alerts only, no top-up attempt
    assert alerts(TWIN) == [("tier_changed", "healthy", "liquidatable", ""), ("tier_changed", "liquidatable", "closed", "")]
    seqs = [a["seq"] for a in mc["alerts"]]
    assert seqs == sorted(seqs) == list(range(1, len(seqs) + 1))  # every alert, in the order it was made
    assert mc["inbox"] == {"accepted": len(seqs), "duplicates": 0, "rejected": 0}  # all signatures checked
    assert mc["deliveries"] == {"pending": 0, "delivered": len(seqs), "failed": 0}

    labels = {label.rsplit(" (", 1)[0]: addr for addr, label in rec.labels.items()}  # "label (4.1x)"
    (top,) = mc["top_ups"]  # topped up once
    assert top["label"] == TOP_UP and 0 < top["amount"] == top["needed"] <= 5_000 * 10**6
    assert [x["account"] for x in rec.liquidations] == [labels[TWIN]]
    assert rec.final["open"][labels[TOP_UP]] and not rec.final["open"][labels[TWIN]]
    assert rec.final["balances"][labels[TOP_UP]] == 10_000 * 10**6 + top["amount"]
    crash = next(a["step"] for a in mc["alerts"] if a["type"] == "top_up")
    assert rec.liquidations[0]["step"] == crash  # the same step: one was saved, the other was not

    # the report shows it
    for name in ("alerts.csv", "margin_calls.csv", "margin_calls.png"):
        assert (out / name).stat().st_size > 0 and name in manifest["outputs"]
    rows = {r["label"]: r for r in csv.DictReader((out / "margin_calls.csv").open())}
    assert rows[TOP_UP]["status"] == "open" and rows[TOP_UP]["top_ups"] == "1"
    assert rows[TWIN]["status"] == "liquidated" and rows[TWIN]["top_ups"] == "0"
    assert rows[TOP_UP]["alerts"] == "healthy -> liquidatable | top-up {:,.2f} USD | liquidatable -> healthy".format(
        top["amount"] / 10**6)
    csv_alerts = list(csv.DictReader((out / "alerts.csv").open()))
    assert [int(r["seq"]) for r in csv_alerts] == seqs and {r["signature"] for r in csv_alerts} == {"verified"}
    summary = json.loads((out / "summary.json").read_text())
    assert [t["status"] for t in summary["margin_calls"]["twins"]] == ["open", "liquidated"]
