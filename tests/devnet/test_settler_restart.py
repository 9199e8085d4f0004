"""The settler survives SIGKILL anywhere: 20 seeded trials, 0 fills lost, 0 settled twice.

In each trial signed orders of depositors are matched by the order book and recorded in a fresh
operator database; then the settler runs as a real process (``zkmargin operator settle`` over
this session's anvil) and is killed with SIGKILL at seeded points: at a persisted stage of a
batch (``ZKMARGIN_SETTLER_CRASH_AT``: after "prepared", "proved", after the transaction is mined
but before its hash is persisted ("sent"), "submitted", "confirmed") or after a seeded delay,
and in some trials a new epoch with funding is posted while it is down. It is restarted until a
run ends idle. Then every fill is settled or rejected, each settled fill is in exactly one
confirmed batch, each confirmed batch is settled on chain exactly once (``BatchSettled``), the
orders' fill states, every account's commitment and its replayed history are the store's, no
transaction of the settler reverted, and the vault's fees and private cash moved as the store's
batches say.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _settler_devnet import check_chain_matches_store, random_orders, write_deployment
from conftest import UNIT

from offchain.operator import OperatorStore
from offchain.operator.runner import CRASH_ENV
from offchain.operator.settler import STAGES

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240614
TRIALS = 20
SEEDS = np.random.SeedSequence(SEED).spawn(TRIALS)
FEE_BPS = 5
MAX_RUNS = 3  # killed runs per trial: 1 or 2, then one to the end
KILLS: Counter[str] = Counter()  # across trials: where the processes died


@pytest.fixture(scope="module")
def traders(env, accounts):  # type: ignore[no-untyped-def]
    """Five depositors (one thin), trading at a 5 bps fee (the module's chain state)."""
    users = [accounts[i] for i in range(1, 6)]
    for u in users[:4]:
        env.fund(u, 2_000 * UNIT)
    env.fund(users[4], 12 * UNIT)  # about two lots of initial margin: some of its fills are refused
    env.d.settlement.setFeeBps(FEE_BPS, sender=env.owner)
    return users


def _spawn(state: Path, uri: str, key: str, crash: str | None) -> subprocess.Popen[str]:
    env = {**os.environ, "ZKMARGIN_SETTLER_KEY": key}
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    return subprocess.Popen(  # `zkmargin operator settle` without the other packages' commands: a faster start
        [sys.executable, "-m", "offchain.operator.cli", "settle", "--state-dir", str(state), "--rpc", uri,
         "--build-dir", str(ROOT / ".build"), "--poll-seconds", "0.05"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(TRIALS))
def test_settler_killed_at_seeded_points_settles_every_fill_exactly_once(trial, env, traders, chain, tmp_path):
    rng = np.random.default_rng(SEEDS[trial])
    d, owner = env.d, env.owner
    state = tmp_path / "state"
    write_deployment(state, d)
    with OperatorStore(state / "operator.sqlite", seed=int(SEEDS[trial].generate_state(1)[0])) as store:
        random_orders(store, d, traders, rng, int(rng.integers(8, 15)), int(chain.blocks.head.timestamp))
        n_fills = len(store.fills())
    first = int(chain.blocks.head.number) + 1
    fees0, private0 = int(d.vault.protocolFees()), int(d.vault.totalPrivateCash())
    uri, key = chain.provider.uri, owner.private_key

    kills, logs = 0, []
    first_stage = STAGES[trial % len(STAGES)]  # the first run dies at each stage in four trials
    # in some trials the epoch moves on (with funding) while a batch is prepared or proved: on restart
    # that batch can never settle, so it is abandoned and its fills are batched again in the new epoch
    new_epoch = first_stage in ("prepared", "proved") and rng.random() < 0.6
    for run in range(int(rng.integers(1, MAX_RUNS))):
        if run == 0:
            crash, delay = f"{first_stage}:1", None
        elif rng.random() < 0.7:  # die at a seeded stage of the first or second batch it reaches
            crash, delay = f"{STAGES[int(rng.integers(0, len(STAGES)))]}:{1 + int(rng.random() < 0.3)}", None
        else:  # or at a seeded moment
            crash, delay = None, float(rng.uniform(0.5, 4.0))
        proc = _spawn(state, uri, key, crash)
        if delay is not None:
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=180)
        logs.append(out)
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            KILLS[crash.split(":")[0] if crash else "timer"] += 1
        else:  # it got to the end before the crash point: nothing is left to interrupt
            assert proc.returncode == 0, out
            break
        if run == 0 and new_epoch:
            env.post_epoch(int(d.epochs.currentEpochId()) + 1, funding=[int(x) for x in rng.integers(-9_000, 9_000, 2)])
    final = _spawn(state, uri, key, None)
    out, _ = final.communicate(timeout=300)
    assert final.returncode == 0 and out.rstrip().endswith("idle"), "\n---\n".join([*logs, out])

    head = int(chain.blocks.head.number)
    with OperatorStore(state / "operator.sqlite") as store:
        counts = check_chain_matches_store(store, d, first, head)
        assert counts["settled"] + counts["rejected"] == n_fills
        fee_total = sum(b.payload.results[0].public[11] for b in store.batches("confirmed"))
        funding = sum(h.dc for h in store.history() if h.kind == "funding")
        cash = sum(a.cash for a in store.openings())
    assert int(d.vault.protocolFees()) - fees0 == fee_total
    # fills are zero-sum, so the private cash claims are the store's cash less the funding settled
    assert int(d.vault.totalPrivateCash()) - private0 == cash - funding == -fee_total
    w3 = chain.provider.web3
    for n in range(first, head + 1):  # no duplicate or refused transaction of the settler
        for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["from"] == owner.address:
                assert w3.eth.get_transaction_receipt(tx["hash"])["status"] == 1
    assert kills >= 1
    assert not new_epoch or counts["abandoned"] >= 1
    print(f"trial {trial}: {counts}, {kills} kills, {len(logs) + 1} runs")


def test_the_trials_killed_the_settler_at_every_stage():
    """Runs after the trials (same module, in order): the seeded kills covered every stage."""
    if sum(KILLS.values()) == 0:
        pytest.skip("the trials did not run in this session")
    assert set(STAGES) <= set(KILLS), KILLS
    assert sum(KILLS.values()) >= TRIALS
    print(f"kills by point: {dict(sorted(KILLS.items()))}")
