"""The settler on the devnet: book fills between depositors settled through ``Settlement.settle``
(the mock verifier allows exactly the statements the integer reference holds), in-process over
ape, and as the ``ape run settler`` script, which stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _settler_devnet import check_chain_matches_store, random_orders, write_deployment
from conftest import UNIT

from offchain.operator import OperatorStore, Settler
from offchain.operator.ape_chain import ApeChain, attach_deployment
from offchain.operator.provers import MockProver

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240613
FEE_BPS = 5


def _deposit(env, users, units):  # type: ignore[no-untyped-def]
    for u in users:
        env.fund(u, units)


def test_settler_settles_book_fills_and_the_chain_matches_the_store(env, accounts, chain, tmp_path):
    d = env.d
    d.settlement.setFeeBps(FEE_BPS, sender=env.owner)
    users = [accounts[i] for i in range(1, 5)]
    _deposit(env, users[:3], 5_000 * UNIT)  # users[3] deposits nothing: its fills break initial margin
    store = OperatorStore(tmp_path / "op.sqlite", seed=SEED)
    random_orders(store, d, users, np.random.default_rng(SEED), 24, int(chain.blocks.head.timestamp))
    assert len(store.fills()) >= 8
    first = int(chain.blocks.head.number) + 1
    fees0, private0 = int(d.vault.protocolFees()), int(d.vault.totalPrivateCash())
    started = time.perf_counter()
    reports = Settler(store, ApeChain(d, env.owner), MockProver(ApeChain(d, env.owner).allow_statement),
                      FEE_BPS).run_until_idle()
    elapsed = time.perf_counter() - started
    counts = check_chain_matches_store(store, d, first, int(chain.blocks.head.number))
    print(f"in-process settler: {counts} in {elapsed:.1f} s")
    assert counts["batches"] >= 2 and counts["rejected"] >= 1
    rejected = [r for rep in reports for r in rep.rejected]
    assert {r.account for r in rejected} == {str(users[3].address)}
    assert all("below initial margin" in r.reason for r in rejected)
    fee_total = sum(b.payload.results[0].public[11] for b in store.batches("confirmed"))  # public input fee_total
    assert int(d.vault.protocolFees()) - fees0 == fee_total > 0
    # the private cash claims move only by the fees: fills are zero-sum across accounts
    assert int(d.vault.totalPrivateCash()) - private0 == -fee_total == sum(a.cash for a in store.openings())


def test_ape_run_settler_settles_and_stops_cleanly_on_sigterm(env, accounts, chain, tmp_path):
    d = env.d
    users = [accounts[i] for i in range(1, 4)]
    _deposit(env, users, 5_000 * UNIT)
    state = tmp_path / "state"
    write_deployment(state, d)
    assert attach_deployment(state, env.owner).settlement.address == d.settlement.address
    with OperatorStore(state / "operator.sqlite", seed=SEED) as store:
        random_orders(store, d, users, np.random.default_rng(SEED + 1), 12, int(chain.blocks.head.timestamp))
        n_fills = len(store.fills())
    assert n_fills >= 2
    first = int(chain.blocks.head.number) + 1
    ape = Path(sys.executable).parent / "ape"
    proc = subprocess.Popen(
        [str(ape), "run", "settler", "--state-dir", str(state), "--network", chain.provider.uri, "--follow",
         "--poll-seconds", "0.2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            with OperatorStore(state / "operator.sqlite") as store:
                if all(f.status in ("settled", "rejected") for f in store.fills()):
                    break
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()[0]
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert "confirmed batch 1" in out and out.rstrip().endswith("stopped"), out
    with OperatorStore(state / "operator.sqlite") as store:
        counts = check_chain_matches_store(store, d, first, int(chain.blocks.head.number))
    assert counts["settled"] + counts["rejected"] == n_fills
