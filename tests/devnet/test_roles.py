"""The separate roles on one node: openings checked before any transaction (naming the label and
the USD an account needs), the keeper saying what it watches and waits for (the grace window's end
checked against the contract), devnet time, and a saved deployment that is not on the node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from offchain.devnet.clock import advance, advance_past_grace, grace_window, utc
from offchain.devnet.demo_scenario import AccountTemplate, DevnetScenario
from offchain.devnet.onboarding import UNIT, Opening, check_openings, initial_margin_units
from prover.statement import KIND_IM
from zkmargin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
APE = str(Path(sys.executable).parent / "ape")


def _nonces(chain, *accts):
    return [chain.provider.web3.eth.get_transaction_count(str(a.address)) for a in accts]


def test_a_deposit_below_the_initial_margin_names_the_label_and_the_usd(zkm_protocol, accounts, chain):
    p, user = zkm_protocol, accounts[8]
    holdings = {"BTC-PERP": 1_000}
    need = initial_margin_units(p, holdings)
    before = _nonces(chain, p.d.owner, user), int(p.d.vault.balanceOf(user))
    low = Opening(user, holdings, need - UNIT, "naked long BTC perp", "accounts[0]")
    with pytest.raises(InputError) as err:
        check_openings(p, [low])
    assert err.value.field == "accounts[0].deposit_usd"
    assert err.value.problem.startswith(f"'naked long BTC perp': a deposit of {(need - UNIT) / UNIT:,.2f} USD is below")
    assert f"it needs at least {need / UNIT:,.2f} USD" in err.value.problem
    assert (_nonces(chain, p.d.owner, user), int(p.d.vault.balanceOf(user))) == before  # nothing sent
    # the figure it names is exact: the IM statement holds with that deposit, and not one unit below
    q = [holdings.get(s, 0) for s in p.book.instruments]
    cash = -sum(x * m for x, m in zip(q, p.epoch.marks))
    assert p.epoch.figures(q, cash, need, KIND_IM).holds
    assert not p.epoch.figures(q, cash, need - 1, KIND_IM).holds
    check_openings(p, [Opening(user, holdings, need, "naked long BTC perp", "accounts[0]")])


def test_the_demo_names_the_account_and_usd_of_a_deposit_too_low(accounts):
    from offchain.devnet.defaults import zk_cache_dir
    from offchain.devnet.demo import run_demo

    s = DevnetScenario(accounts=[AccountTemplate(label="thin long", holdings={"BTC-PERP": 2_000}, deposit_usd=100)])
    with pytest.raises(InputError) as err:
        run_demo(s, zk_cache_dir(), log=lambda *_: None, users=[accounts[k] for k in range(1, 9)])
    assert err.value.field == "scenario.accounts[0].deposit_usd"
    assert "'thin long': a deposit of 100.00 USD is below the initial margin" in err.value.problem
    assert "0x" not in err.value.problem  # the label, not an address


def test_keeper_says_what_it_watches_and_waits_for(zkm_fresh_protocol, zkm_users, zkm_liquidator, zkm_vols):
    p = zkm_fresh_protocol
    user = zkm_users[0]
    p.open_account(user, {"BTC-PERP": 1_000}, deposit_units=14_000 * UNIT, label="naked long")
    p.fund_liquidator(zkm_liquidator, 100_000 * UNIT)
    keeper = p.keeper(zkm_liquidator)
    # the account and the house it bought its book from (the operator keeps the house proven)
    assert keeper.waiting_for() == ("watching 2 accounts (2 proven for epoch 1): nothing to liquidate; "
                                    "waiting for a new epoch (epoch 1 is the latest)")
    advance(60)
    p.report_prices({"BTC": 0.75 * p.spots["BTC"], "ETH": p.spots["ETH"]})
    p.post_epoch(vols=zkm_vols)
    window = grace_window(p.d)
    watches, _ = keeper.watch()
    (watch,) = [w for w in watches if w.label == "naked long"]  # (the house is proven with the epoch)
    assert (watch.state, watch.label) == ("in grace", "naked long")
    line = keeper.waiting_for()
    assert f"waiting for the grace window of epoch 2 to end at {utc(window.ends_at)}" in line
    assert line.endswith("then naked long can be liquidated unless proven")
    # the window's end agrees with the contract: not liquidatable one second before, liquidatable at it
    advance(window.seconds_left - 1)
    assert int(p.d.accounts.liquidationReason(user)) == 0
    moved_window, moved = advance_past_grace(p.d)
    assert moved == 1 and moved_window.epoch_id == 2
    assert int(p.d.accounts.liquidationReason(user)) == 1
    assert advance_past_grace(p.d)[1] == 0  # nothing left to move
    actions = keeper.run(until_idle=True, poll_seconds=0)
    assert actions[-1].finished
    line = keeper.waiting_for()  # the account closed; the house proven; the liquidator holds the book it bought
    assert line.startswith("watching 3 accounts") and "1 closed" in line


def test_attach_refuses_a_deployment_that_is_not_on_the_node(zkm_protocol, zkm_owner, tmp_path):
    from offchain.devnet.session import Protocol

    p = zkm_protocol
    good = tmp_path / "good"
    p.save(good)
    assert Protocol.attach(good, zkm_owner).d.addresses() == p.d.addresses()
    path = good / "deployment.json"
    saved = json.loads(path.read_text())

    def attach_with(obj):
        path.write_text(json.dumps(obj))
        with pytest.raises(InputError) as err:
            Protocol.attach(good, zkm_owner)
        assert err.value.field == str(path)
        assert "\n" not in err.value.problem and "ape run deploy --network" in err.value.problem
        return err.value.problem

    assert "saved for chain 1, but the node at" in attach_with(saved | {"chain_id": 1})
    gone = attach_with(saved | {"anchor_block": {"number": saved["anchor_block"]["number"], "hash": "0x" + "12" * 32}})
    assert "the deployment saved here is not on the node" in gone and "restarted" in gone
    no_anchor = {k: v for k, v in saved.items() if k != "anchor_block"}
    no_code = attach_with(no_anchor | {"contracts": saved["contracts"] | {"accounts": "0x" + "77" * 20}})
    assert f"no contract code at the accounts address 0x{'77' * 20}" in no_code


def _ape_run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ZKMARGIN_PROVER_PROCESSES"}
    return subprocess.run([APE, "run", *args, "--network", "ethereum:local:foundry"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_a_saved_state_from_another_node_is_one_line_and_exit_2(zkm_protocol, tmp_path):
    state = tmp_path / "devnet"
    zkm_protocol.save(state)  # saved on this test chain; `ape run` starts a fresh anvil (same chain id)
    proc = _ape_run("keeper", "--state-dir", str(state))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    errors = [ln for ln in out.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1 and "is not on the node" in errors[0] and "ape run deploy --network" in errors[0]
    assert "Traceback" not in out and "etherscan" not in out


def test_deploy_checks_vols_before_any_transaction(tmp_path):
    proc = _ape_run("deploy", "--vol", "BTC=abc", "--state-dir", str(tmp_path / "devnet"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert "--vol" in out and "BTC=abc" in out
    assert "deployed" not in out and "Confirmed" not in out  # no transaction was sent
    assert not (tmp_path / "devnet").exists()
