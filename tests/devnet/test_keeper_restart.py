"""The liquidation keeper survives SIGKILL at random points: restarted, it misses no liquidation
and sends no duplicate (every keeper transaction succeeds; each account is started and closed
exactly once).

The keeper runs as the real ``ape run keeper`` process against this session's anvil, attached
through the saved deployment state, and is killed after seeded random delays.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from offchain.devnet.defaults import deploy_default

UNIT = 10**6
ROOT = Path(__file__).resolve().parents[2]
SEED = 20210519
N_ACCOUNTS = 4
MAX_KILLS = 6


def _spawn_keeper(state_dir: Path, uri: str) -> subprocess.Popen:
    ape = Path(sys.executable).parent / "ape"
    return subprocess.Popen(
        [str(ape), "run", "keeper", "--state-dir", str(state_dir), "--network", uri, "--poll-seconds", "0.1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True,
    )


@pytest.mark.slow
def test_keeper_killed_at_random_points_liquidates_each_account_exactly_once(accounts, chain, tmp_path, zkm_vols):
    owner, liquidator = accounts[0], accounts[9]
    p = deploy_default(owner, grace_period_seconds=60)
    users = [accounts[i] for i in range(1, 1 + N_ACCOUNTS)]
    p.open_accounts([(u, {"BTC-PERP": 800 + 100 * k}, 12_000 * UNIT, f"levered {k}") for k, u in enumerate(users)])
    p.fund_insurance(100_000 * UNIT)
    p.fund_liquidator(liquidator, 1_000_000 * UNIT)
    p.advance(30)
    p.report_prices({"BTC": p.spots["BTC"] * 0.6, "ETH": p.spots["ETH"] * 0.6})
    p.post_epoch(vols=zkm_vols)
    p.advance(p.grace_period_seconds + 1)
    assert all(p.d.accounts.liquidationReason(u) == 1 for u in users)
    state_dir = tmp_path / "state"
    p.save(state_dir)
    first_block = int(chain.blocks.head.number) + 1
    uri = chain.provider.uri

    rng = np.random.default_rng(SEED)
    kills = 0
    for _ in range(MAX_KILLS):
        proc = _spawn_keeper(state_dir, uri)
        time.sleep(float(rng.uniform(2.0, 7.0)))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        if all(int(p.d.accounts.commitmentOf(u)) == 0 for u in users):
            break
    # a final, uninterrupted run finishes whatever is left and then finds nothing to do
    proc = _spawn_keeper(state_dir, uri)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert kills >= 1

    head = int(chain.blocks.head.number)
    started = Counter(str(e.account) for e in p.d.liquidation.LiquidationStarted.range(first_block, head + 1))
    finished = Counter(str(e.account) for e in p.d.liquidation.LiquidationFinished.range(first_block, head + 1))
    assert started == finished == Counter({str(u.address): 1 for u in users})
    # no duplicate: every transaction the keeper sent succeeded
    w3 = chain.provider.web3
    sent, failed = 0, []
    for n in range(first_block, head + 1):
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["from"] == liquidator.address:
                sent += 1
                if w3.eth.get_transaction_receipt(tx["hash"])["status"] == 0:
                    try:  # replay at the previous block for the revert reason
                        w3.eth.call({"from": tx["from"], "to": tx["to"], "data": tx["input"]}, n - 1)
                        reason = "no revert on replay"
                    except Exception as exc:  # noqa: BLE001
                        reason = repr(exc)[:300]
                    rcpt = w3.eth.get_transaction_receipt(tx["hash"])
                    failed.append((n, tx["input"][:4].hex(), reason, tx["gas"], rcpt["gasUsed"]))
    assert sent >= 2 * N_ACCOUNTS  # a start and at least one (closing) fill each
    assert failed == [], (failed, out)
    assert all(int(p.d.accounts.commitmentOf(u)) == 0 for u in users)
