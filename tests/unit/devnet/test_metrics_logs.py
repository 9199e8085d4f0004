"""The metrics registry of a role, served on loopback and parsed back with prometheus-client's
own parser, and the structured JSON log lines."""

from __future__ import annotations

import io
import json
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from offchain.devnet.logs import RoleLog
from offchain.devnet.metrics import RoleMetrics


def _scrape(port: int) -> dict[str, dict[tuple, float]]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_role_metrics_served_on_loopback():
    m = RoleMetrics("keeper")
    port = m.serve(0)
    try:
        m.set_info(31337, "0xabc")
        m.set_tiers({"healthy": 3, "liquidatable": 1})
        m.proofs_done("mm", {"proved": 4, "not_provable": 1}, seconds=2.0, made=4)
        m.error("skip_unknown_account")
        m.error("skip_unknown_account")
        m.gas_used.labels("keeper", "Liquidation").inc(451_234)
        m.pass_done(0.3)
        got = _scrape(port)
    finally:
        m.stop()
    k = (("role", "keeper"),)
    assert got["zkmargin_accounts"][(("role", "keeper"), ("tier", "healthy"))] == 3
    assert got["zkmargin_accounts"][(("role", "keeper"), ("tier", "liquidatable"))] == 1
    assert got["zkmargin_proofs_total"][(("kind", "mm"), ("result", "proved"), ("role", "keeper"))] == 4
    assert got["zkmargin_proofs_per_second"][k] == 2.0
    assert got["zkmargin_errors_total"][(("kind", "skip_unknown_account"), ("role", "keeper"))] == 2
    assert got["zkmargin_gas_used_total"][(("contract", "Liquidation"), ("role", "keeper"))] == 451_234
    assert got["zkmargin_passes_total"][k] == 1 and got["zkmargin_lag_blocks"][k] == 0
    assert got["zkmargin_role_info"][(("chain_id", "31337"), ("role", "keeper"), ("sender", "0xabc"),
                                      ("version", __import__("zkmargin").__version__))] == 1


def test_metrics_only_on_loopback():
    with pytest.raises(ValueError, match="127.0.0.1"):
        RoleMetrics("x").serve(0, host="0.0.0.0")


def test_json_logs_are_one_object_per_line():
    out = io.StringIO()
    log = RoleLog("epochs", json_mode=True, stream=out)
    log.event("epoch_posted", "epoch 3 posted", epoch=3, digest="123")
    log.warn_event("skip", "skip 0xA: why", account="0xA")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["event"], x["level"], x["role"], x["msg"]) for x in lines] == [
        ("epoch_posted", "info", "epochs", "epoch 3 posted"), ("skip", "warning", "epochs", "skip 0xA: why")]
    assert lines[0]["epoch"] == 3 and lines[0]["digest"] == "123" and lines[0]["ts"].endswith("Z")
    with pytest.raises(ValueError, match="reserved"):
        log.event("x", "y", lineno=3)  # a LogRecord attribute


def test_text_logs_keep_the_plain_lines():
    out, err = io.StringIO(), io.StringIO()
    log = RoleLog("keeper", stream=out, err_stream=err)
    log.event("action", "start  0xA block 3", kind="start")
    log.warn_event("skip", "skip   0xB: reason")
    assert out.getvalue() == "start  0xA block 3\n" and err.getvalue() == "skip   0xB: reason\n"
