"""Watching a devnet: the liquidation keeper's Prometheus metrics scraped while it runs, and the
dashboard in a real headless Chromium (Debian's chromium + chromedriver through Selenium) and
through Streamlit's AppTest, every number on the live page checked against the chain.

One deployment for the module: X (1 BTC long, 12k) opens; BTC falls 30% (epoch 2) and Y (0.6
BTC long, 14k) opens; X has no fresh proof and is liquidatable after the grace window. The keeper test runs ``ape run keeper --metrics-port 0 --log-json`` on it. The dashboard
test liquidates X (underwater: the insurance fund pays, the rest is socialized), lets BTC fall to
55% (epoch 3), opens a hedged account Z, starts Y's auction, and then reads every page.
Screenshots go to ``out/test-artifacts/dashboard/``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from offchain.dashboard.chain import parse_units
from offchain.devnet.defaults import deploy_default
from offchain.devnet.deploy import feed_id
from offchain.devnet.keepers.liquidation import KeeperPolicy
from offchain.devnet.operator import AccountBook
from offchain.devnet.tiers import TierPolicy
from offchain.risk.margin import get_model
from offchain.risk.margin.risk_matrix import PRESETS

UNIT = 10**6
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "out" / "test-artifacts" / "dashboard"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1500,2400"]


# --------------------------------------------------------------------------------- the devnet
@pytest.fixture(scope="module")
def world(accounts, chain, tmp_path_factory):
    owner, liquidator = accounts[0], accounts[9]
    p = deploy_default(owner, grace_period_seconds=600)
    x, y, z = accounts[1], accounts[2], accounts[3]
    p.open_accounts([(x, {"BTC-PERP": 1000}, 12_000 * UNIT, "X: 1 BTC long")])
    p.fund_insurance(100 * UNIT)
    p.fund_liquidator(liquidator, 500_000 * UNIT)
    p.advance(60)
    p.report_prices({"BTC": p.spots["BTC"] * 0.7, "ETH": p.spots["ETH"] * 0.7})
    p.post_epoch(vols={"BTC": 1.2, "ETH": 1.4})
    p.open_accounts([(y, {"BTC-PERP": 600}, 14_000 * UNIT, "Y: 0.6 BTC long")])  # its IM proof is fresh for epoch 2
    p.advance(p.grace_period_seconds + 1)
    assert p.d.accounts.liquidationReason(x) == 1 and p.d.accounts.liquidationReason(y) == 0
    state = tmp_path_factory.mktemp("state")
    p.save(state)
    return {"p": p, "x": x, "y": y, "z": z, "liquidator": liquidator, "state": state}


def _scrape(url: str) -> dict[str, dict[tuple, float]]:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    out: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted((k, v) for k, v in s.labels.items() if k != "role"))] = s.value
    return out


def _wait(cond, timeout: float, what: str, every: float = 0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


# ------------------------------------------------------------------------------ keeper metrics
def test_a_running_keeper_serves_its_metrics(world, chain):
    p, x, y, liquidator = world["p"], world["x"], world["y"], world["liquidator"]
    first = int(chain.blocks.head.number) + 1
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "ape"), "run", "keeper", "--state-dir", str(world["state"]), "--network",
         chain.provider.uri, "--follow", "--poll-seconds", "0.2", "--metrics-port", "0", "--log-json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        def listening():
            line = proc.stdout.readline()
            lines.append(line)
            return json.loads(line)["url"] if '"metrics_listening"' in line else None

        url = _wait(listening, 120, "the keeper's metrics endpoint", every=0)
        _wait(lambda: int(p.d.accounts.commitmentOf(x)) == 0, 120, "X to be liquidated")
        w3 = chain.provider.web3
        head = int(chain.blocks.head.number)
        sent = [w3.eth.get_transaction_receipt(tx["hash"]) for n in range(first, head + 1)
                for tx in w3.eth.get_block(n, full_transactions=True)["transactions"] if tx["from"] == liquidator.address]
        gas = sum(int(r["gasUsed"]) for r in sent)
        spent = sum(int(r["gasUsed"]) * int(r["effectiveGasPrice"]) for r in sent)
        policy = TierPolicy()
        # X closed; Y; the house X and Y bought from; the liquidator, which now holds what it bought
        # (the keeper wrote its opening into the state's book.json)
        _wait(lambda: str(liquidator.address) in AccountBook.load(world["state"] / "book.json"), 60,
              "the liquidator's opening in book.json")
        p.book.put(AccountBook.load(world["state"] / "book.json").get(str(liquidator.address)))
        tiers = Counter({"closed": 1})
        for who in (y.address, p.house.address, liquidator.address):
            f = p.figures(str(who))
            tiers[policy.classify(f.equity / f.requirement)] += 1

        def settled():
            m = _scrape(url)
            done = m.get("zkmargin_transactions_total", {}).get((("contract", "Liquidation"), ("status", "success")))
            return m if done == len(sent) and m["zkmargin_accounts"][(("tier", "closed"),)] == 1 else None

        m = _wait(settled, 60, "the metrics to count every keeper transaction")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    lines += out.splitlines()
    assert len(sent) >= 2 and all(int(r["status"]) == 1 for r in sent)  # a start and the closing bid
    assert m["zkmargin_gas_used_total"][(("contract", "Liquidation"),)] == gas
    assert m["zkmargin_gas_spent_wei_total"][()] == spent
    for tier, n in tiers.items():
        assert m["zkmargin_accounts"][(("tier", tier),)] == n
    assert sum(m["zkmargin_accounts"].values()) == 4
    assert m["zkmargin_pending_transactions"][()] == 0
    assert m["zkmargin_processed_block"][()] >= max(int(r["blockNumber"]) for r in sent)
    assert 0 <= m["zkmargin_lag_blocks"][()] <= 2
    assert m["zkmargin_epoch_id"][()] == 2 and m["zkmargin_lag_rounds"][()] == 0
    assert m["zkmargin_passes_total"][()] >= 2
    assert "zkmargin_errors_total" not in m or sum(m["zkmargin_errors_total"].values()) == 0
    info = next(iter(m["zkmargin_role_info"]))
    assert dict(info)["sender"] == liquidator.address and dict(info)["chain_id"] == str(chain.chain_id)
    # structured logs: one JSON object per line, one "action" per keeper transaction
    events = [json.loads(line) for line in lines if line.startswith("{")]
    actions = [e for e in events if e["event"] == "action"]
    assert [e["tx"] for e in actions] == ["0x" + bytes(r["transactionHash"]).hex().removeprefix("0x") for r in sent]
    assert {e["role"] for e in events} == {"keeper"} and actions[0]["kind"] == "start"


# ------------------------------------------------------------------------------- the dashboard
def _tiny_simulation(out: Path) -> dict:
    """A small ``zkmargin simulate`` run (two models, 60 traders, one day) written as the CLI does."""
    from offchain.sim.report import write_outputs
    from offchain.sim.runner import compare_models
    from offchain.sim.scenario import parse_scenario

    doc = json.loads((ROOT / "scenarios" / "gbm_jump_crash.json").read_text())
    doc["path"].update(days=1, steps_per_day=24, forced_jumps=[{"day": 0.5, "log_return": {"BTC": -0.15, "ETH": -0.2}}])
    doc["traders"]["n"] = 60
    doc["models"] = [m for m in doc["models"] if m["name"] in ("isolated", "cross")]
    write_outputs(compare_models(parse_scenario(doc), 5, no_impact_runs=False), out, plots=True)
    summary: dict = json.loads((out / "summary.json").read_text())
    return summary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tables(driver) -> list[list[dict[str, str]]]:
    """Every st.table on the page as rows of {header: text} (the index column included)."""
    from selenium.webdriver.common.by import By

    out = []
    for t in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stTable'] table"):
        heads = [h.text.strip() for h in t.find_elements(By.CSS_SELECTOR, "thead th")]
        rows = []
        for tr in t.find_elements(By.CSS_SELECTOR, "tbody tr"):
            cells = [c.text.strip() for c in tr.find_elements(By.CSS_SELECTOR, "th, td")]
            rows.append(dict(zip(heads, cells)))
        out.append(rows)
    return out


def _metrics(driver) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    return {m.find_element(By.CSS_SELECTOR, "[data-testid='stMetricLabel']").text.strip():
            m.find_element(By.CSS_SELECTOR, "[data-testid='stMetricValue']").text.strip()
            for m in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stMetric']")}


def _table_with(tables, column: str) -> list[dict[str, str]]:
    found = [t for t in tables if t and column in t[0]]
    assert len(found) == 1, f"one table with a {column!r} column expected, got {len(found)}"
    return found[0]


def chain_facts(p, accounts) -> dict[str, int | str]:
    """What the live page must show, read from the chain through ape (independently of the dashboard)."""
    d = p.d
    head = p.chain.blocks.head
    out: dict[str, int | str] = {"block": int(head.number), "global round": int(d.oracle.globalRound())}
    current = int(d.epochs.currentEpochId())
    out["epoch"] = current
    out["epoch oracle round"] = int(d.epochs.getEpoch(current).oracleRound)
    for u in ("BTC", "ETH"):
        r = d.oracle.latestRound(feed_id(f"{u}/USD"))
        out[f"{u} price"], out[f"{u} round"] = int(r.answer), int(r.roundId)
    shortfalls = list(d.vault.ShortfallCovered.range(0, int(head.number) + 1))
    out["socialized"] = sum(int(e.socialized) for e in shortfalls)
    out["paid by insurance"] = sum(int(e.fromInsurance) for e in shortfalls)
    out["uncovered"] = sum(int(e.uncovered) for e in shortfalls)
    out["insurance fund"] = int(d.vault.insuranceFund())
    out["protocol fees"] = int(d.vault.protocolFees())
    out["deposits"] = int(d.vault.totalDeposits())
    policy = TierPolicy()
    for a in accounts:
        addr = str(a.address)
        out[f"{addr} balance"] = int(d.vault.balanceOf(addr))
        out[f"{addr} proven epoch"] = int(d.accounts.accountState(addr).provenEpoch)
        auction = d.liquidation.getAuction(addr)
        if int(d.accounts.commitmentOf(addr)) == 0:
            out[f"{addr} tier"] = "closed"
        elif auction.active:
            out[f"{addr} tier"] = "in_liquidation"
            positions, marks = d.liquidation.getBook(addr)
            out[f"{addr} auction cash"] = int(auction.cash)
            out[f"{addr} auction fee due"] = int(auction.feeDue)
            out[f"{addr} auction shortfall"] = int(auction.shortfall)
            out[f"{addr} auction notional"] = sum(abs(int(q) * int(m)) for q, m in zip(positions, marks))
            out[f"{addr} auction discount"] = int(d.liquidation.discountBpsAt(addr, int(head.timestamp)))
        else:
            f = p.figures(addr)
            out[f"{addr} tier"] = policy.classify(f.equity / f.requirement)
            out[f"{addr} equity"], out[f"{addr} requirement"] = int(f.equity), int(f.requirement)
    out["auctions"] = sum(1 for a in accounts if d.liquidation.getAuction(a).active)
    return out


def page_facts(metrics: dict[str, str], tables) -> dict[str, int | str]:
    """The same facts as the live page shows them, parsed back to integers."""
    out: dict[str, int | str] = {"block": int(metrics["Block"]), "global round": int(metrics["Oracle global round"]),
                                 "epoch": int(metrics["Risk epoch"]), "auctions": int(metrics["Auctions in progress"]),
                                 "insurance fund": parse_units(metrics["Insurance fund (USD)"]),
                                 "socialized": parse_units(metrics["Socialized losses (USD)"])}
    for row in _table_with(tables, "price (USD)"):
        u = row["feed"].split("/")[0]
        out[f"{u} price"], out[f"{u} round"] = parse_units(row["price (USD)"], 8), int(row["round"])
    (epoch,) = _table_with(tables, "oracle round")
    assert int(epoch["epoch"]) == out["epoch"]
    out["epoch oracle round"] = int(epoch["oracle round"])
    for row in _table_with(tables, "tier"):
        a = row["account"]
        out[f"{a} tier"] = row["tier"]
        out[f"{a} balance"] = parse_units(row["vault balance (USD)"])
        out[f"{a} proven epoch"] = int(row["proven epoch"])
        if row["equity (USD)"]:
            out[f"{a} equity"] = parse_units(row["equity (USD)"])
            out[f"{a} requirement"] = parse_units(row["MM requirement (USD)"])
    for row in _table_with(tables, "book cash (USD)"):
        a = row["account"]
        out[f"{a} auction cash"] = parse_units(row["book cash (USD)"])
        out[f"{a} auction fee due"] = parse_units(row["fee due (USD)"])
        out[f"{a} auction shortfall"] = parse_units(row["shortfall (USD)"])
        out[f"{a} auction notional"] = parse_units(row["book notional (USD)"])
        out[f"{a} auction discount"] = int(row["discount (bps)"])
    vault = {row["item"]: parse_units(row["USD"]) for row in _table_with(tables, "item")}
    assert vault["socialized losses"] == out["socialized"] and vault["insurance fund"] == out["insurance fund"]
    out["paid by insurance"] = vault["shortfall paid by the insurance fund"]
    out["uncovered"] = vault["uncovered shortfall"]
    out["protocol fees"] = vault["protocol fees"]
    out["deposits"] = vault["account deposits (pool)"]
    return out


def mismatches(shown: dict, chain: dict) -> list[str]:
    """Every fact whose shown value differs from the chain's (or is missing from the page)."""
    return [f"{k}: page {shown.get(k, '(missing)')!r}, chain {v!r}" for k, v in chain.items() if shown.get(k) != v]


def page_mismatches(driver, facts: dict, timeout: float = 30.0) -> tuple[list[str], dict]:
    """The live page's mismatches with ``facts`` once it has caught up (Streamlit replaces a
    page's elements one by one as a refresh runs, so a read can see two runs side by side): the
    page gets ``timeout`` seconds to show exactly the chain's numbers; what still differs then is
    returned, with the facts the page showed last."""
    state: dict = {"bad": ["(the page never rendered)"], "shown": {}}

    def agrees() -> bool:
        state["shown"] = page_facts(_metrics(driver), _tables(driver))
        state["bad"] = mismatches(state["shown"], facts)
        return not state["bad"]

    try:
        _wait(agrees, timeout, "the page to show the chain's numbers")
    except AssertionError:
        pass
    return state["bad"], state["shown"]


def _screenshot(driver, name: str) -> None:
    """Save the page once no element is faded by a refresh in progress (best effort: 10 s)."""
    try:
        _wait(lambda: not driver.execute_script("return document.querySelector('[data-stale=\"true\"]') !== null"),
              10, "a settled page", every=0.1)
    except AssertionError:
        pass
    driver.save_screenshot(str(ARTIFACTS / name))


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("the browser test needs Debian's chromium and chromium-driver: apt-get install -y chromium "
                    "chromium-driver (.ci/run installs them)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in [*CHROME_FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='zkm-chrome-')}"]:
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)


def _rendered(driver, selector: str, n: int = 1):
    from selenium.webdriver.common.by import By

    def ready():
        running = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
        return len(driver.find_elements(By.CSS_SELECTOR, selector)) >= n and not running

    _wait(ready, 90, f"{n} x {selector}")


@pytest.mark.slow
def test_dashboard_pages_show_the_chain(world, chain, tmp_path, monkeypatch):
    p, x, y, z, liquidator = world["p"], world["x"], world["y"], world["z"], world["liquidator"]
    keeper = p.keeper(liquidator, policy=KeeperPolicy(max_fill_notional_units=5_000 * UNIT))
    keeper.run(until_idle=True, poll_seconds=0)  # X: underwater, the fund pays, the rest is socialized
    assert int(p.d.accounts.commitmentOf(x)) == 0
    p.advance(60)
    p.report_prices({"BTC": p.spots["BTC"] * 0.8, "ETH": p.spots["ETH"]})
    p.post_epoch(vols={"BTC": 1.2, "ETH": 1.4})
    keeper.takeovers.sync()  # the liquidator holds what it bought from X: it proves its own MM (Y does not)
    p.prove(liquidator)
    hedged = {"BTC-PERP": 200, p.listing[3].symbol: 200}  # long perp + protective put
    p.open_accounts([(z, hedged, 8_000 * UNIT, "Z: perp + put")])
    p.advance(p.grace_period_seconds + 1)
    keeper.step()  # Y: no proof for epoch 3: its auction starts
    assert p.d.liquidation.getAuction(y).active
    p.advance(120)  # the auction has been running for a while
    state = tmp_path / "state"
    p.save(state)
    facts = chain_facts(p, [x, y, z])
    assert facts["socialized"] > 0 and facts["paid by insurance"] > 0 and facts["auctions"] == 1
    assert {facts[f"{a.address} tier"] for a in (x, y, z)} == {"closed", "in_liquidation", "healthy"}

    # Streamlit's AppTest on the live page, against this chain
    from streamlit.testing.v1 import AppTest

    from offchain.dashboard.settings import ENV_RESULTS, ENV_RPC, ENV_STATE

    monkeypatch.setenv(ENV_STATE, str(state))
    monkeypatch.setenv(ENV_RPC, chain.provider.uri)
    at = AppTest.from_file(str(ROOT / "offchain" / "dashboard" / "views" / "live.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    app_metrics = {m.label: m.value for m in at.metric}
    app_tables = [[{t.value.index.name: str(i), **{str(c): str(v) for c, v in row.items()}} for i, row in t.value.iterrows()]
                  for t in at.table]
    assert mismatches(page_facts(app_metrics, app_tables), facts) == []

    # the real thing: the dashboard served by `zkmargin dashboard`, read by headless Chromium
    results = tmp_path / "results"
    sim = _tiny_simulation(results / "gbm-tiny")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, ENV_RESULTS: str(results)}
    server = subprocess.Popen(
        [sys.executable, "-m", "zkmargin.cli", "dashboard", "--state-dir", str(state), "--rpc", chain.provider.uri,
         "--port", str(port), "--refresh", "1", "--results", str(results)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: urllib.request.urlopen(base, timeout=2).status == 200, 90, "the dashboard server")
        driver = _driver()
        driver.get(base + "/")
        _rendered(driver, "[data-testid='stTable'] table", 5)
        bad, shown = page_mismatches(driver, facts)
        _screenshot(driver, "live.png")
        assert bad == []
        # the check bites: one digit off anywhere is reported
        tampered = dict(shown)
        tampered[f"{y.address} auction cash"] = int(tampered[f"{y.address} auction cash"]) + 1
        want = (f"{y.address} auction cash: page {tampered[f'{y.address} auction cash']!r}, "
                f"chain {facts[f'{y.address} auction cash']!r}")
        assert mismatches(tampered, facts) == [want]

        # it refreshes by itself: a new oracle report shows up without reloading the page
        p.advance(30)
        p.report_prices({"BTC": p.spots["BTC"] * 1.01})
        facts = chain_facts(p, [x, y, z])
        assert page_mismatches(driver, facts)[0] == []
        _screenshot(driver, "live-refreshed.png")

        # the margin calculator: every preset as the risk engine computes it
        from offchain.risk.io import load_portfolio

        driver.get(base + "/calculator")
        _rendered(driver, "[data-testid='stTable'] table", 2)
        rows = {r["preset"]: r for r in _table_with(_tables(driver), "binding scenario")}
        portfolio, market = load_portfolio(ROOT / "examples" / "portfolio_hedged.json")
        for preset in PRESETS:
            res = get_model("risk_matrix", {"preset": preset}).requirement(portfolio, market)
            assert (rows[preset]["IM"], rows[preset]["MM"]) == (f"{res.im:,.2f}", f"{res.mm:,.2f}")
            worst = min(range(len(res.scenario_pnl)), key=res.scenario_pnl.__getitem__)
            assert rows[preset]["binding scenario"] == f"#{worst} of {len(res.scenario_pnl)}"
        _screenshot(driver, "calculator.png")
        # upload another portfolio: the table follows
        from selenium.webdriver.common.by import By

        upload = driver.find_elements(By.CSS_SELECTOR, "input[type='file']")[0]
        upload.send_keys(str(ROOT / "examples" / "portfolio_perps.json"))
        portfolio, market = load_portfolio(ROOT / "examples" / "portfolio_perps.json")
        want = {pr: f"{get_model('risk_matrix', {'preset': pr}).requirement(portfolio, market).mm:,.2f}" for pr in PRESETS}

        def uploaded():
            t = [r for r in _table_with(_tables(driver), "binding scenario")]
            return {r["preset"]: r["MM"] for r in t} == want

        _wait(uploaded, 60, "the uploaded portfolio's margins")
        _screenshot(driver, "calculator-uploaded.png")

        # the results explorer on a simulator run: its summary as the run wrote it, and its charts
        driver.get(base + "/results")
        _rendered(driver, "[data-testid='stTable'] table", 1)
        shown_runs = {r["model"]: r for r in _table_with(_tables(driver), "bad_debt_usd")}
        assert {m: r["bad_debt_usd"] for m, r in shown_runs.items()} == {
            row["model"]: f"{row['bad_debt_usd']:,.2f}" for row in sim["summary"]}
        _rendered(driver, "[data-testid='stVegaLiteChart']", 5)
        _screenshot(driver, "results.png")
    finally:
        if driver is not None:
            driver.quit()
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)
