"""Load: N accounts and a -40% move in one oracle update; how many blocks until every
liquidatable account is liquidated (started, filled, finished), and the gas per liquidation.

    python bench/bench_liquidation_load.py [--accounts 500] [--seed 7]

Starts its own anvil (without ape-foundry's ``--steps-tracing``, which keeps every opcode step
of every transaction in memory: thousands of commitment openings can exhaust 24 GiB) and
connects ape to it. Accounts are opened through the ``MockVerifier`` (one real
Groth16 proof per account would take longer than the liquidations being measured; the
liquidation path never touches the verifier); prices, epochs, the commitment openings (on-chain
Poseidon), auctions and the vault are the real contracts. The keeper runs pipelined (all of a
pass's transactions in one block where gas allows) and the chain mines one block per call, so
latency is counted in blocks. Measured side by side from the same chain snapshot: the default
30M block gas limit and a raised one.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

UNIT = 10**6
BLOCK_GAS_LIMITS = (30_000_000, 300_000_000)
SPOTS = {"BTC": 43_000.0, "ETH": 3_400.0}
VOLS = {"BTC": 0.8, "ETH": 0.9}


@contextmanager
def own_anvil() -> Iterator[str]:
    """An anvil on a free loopback port with the devnet mnemonic; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    anvil = shutil.which("anvil")
    if anvil is None:
        raise SystemExit("anvil not on PATH: run `make bootstrap` and `source .toolchain/env`")
    proc = subprocess.Popen(
        [anvil, "--port", str(port), "--silent", "--hardfork", "cancun", "--accounts", "10", "--balance", "10000",
         "--mnemonic", "test test test test test test test test test test test junk",
         "--gas-price", "0", "--block-base-fee-per-gas", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from ape import accounts, chain, networks
    from ape.logging import logger
    from tqdm import tqdm

    from offchain.devnet.deploy import deploy_protocol
    from offchain.devnet.keepers.liquidation import KeeperPolicy, LiquidationKeeper
    from offchain.devnet.listing import devnet_listing, devnet_risk_config
    from offchain.devnet.operator import AccountBook, PrivateAccount, salt_from_seed
    from offchain.devnet.session import Protocol
    from prover.statement import KIND_IM, KIND_MM

    logger.set_level("ERROR")
    rng = np.random.default_rng(args.seed)
    with own_anvil() as url, networks.parse_network_choice(url) as provider:
        rpc = provider.make_request
        owner, liquidator = accounts.test_accounts[0], accounts.test_accounts[9]
        d = deploy_protocol(owner, grace_period_seconds=60)
        listing = devnet_listing(int(chain.blocks.head.timestamp), SPOTS)
        p = Protocol(d=d, listing=listing, keys=None, book=AccountBook([i.symbol for i in listing]),
                     reporter_keys=[owner.private_key], risk_config=devnet_risk_config(), grace_period_seconds=60,
                     seed=args.seed, _salts=np.random.SeedSequence(args.seed))
        p.report_prices(SPOTS)
        epoch = p.post_epoch(vols=VOLS)
        p.fund_insurance(5_000_000 * UNIT)
        p.fund_liquidator(liquidator, 50_000_000 * UNIT)

        t0 = time.monotonic()
        users = []
        levered = set()
        for k in tqdm(range(args.accounts), desc="opening accounts", unit="acct"):
            user = accounts.test_accounts.generate_test_account()
            rpc("anvil_setBalance", [str(user.address), hex(10**20)])
            lots = int(rng.integers(200, 1_000))
            q = [0] * len(listing)
            q[0] = lots  # BTC-PERP, long
            deposit = int(lots * 43 * UNIT * (0.25 if k % 5 else 0.75))  # 4 in 5 levered 4x, 1 in 5 ~1.3x
            cash = -lots * epoch.marks[0]
            acct = PrivateAccount(str(user.address), q, cash, salt_from_seed(p._salts.spawn(1)[0]))
            assert epoch.figures(q, cash, deposit, KIND_IM).excess >= 0
            d.token.mint(user, deposit, sender=owner)
            d.token.approve(d.vault.address, deposit, sender=user)
            d.vault.deposit(deposit, sender=user)
            c = acct.commitment()
            d.verifier.setStatement([c, epoch.digest, KIND_IM, int(user.address, 16), deposit], True, sender=owner)
            d.accounts.updateCommitment(c, epoch.epoch_id, deposit, [0] * 8, sender=user)
            p.book.put(acct)
            users.append(user)
        setup_s = time.monotonic() - t0

        # the crash: -40% in one oracle update, a new epoch; the healthy accounts prove (mock statements)
        p.advance(30)
        p.report_prices({u: 0.6 * x for u, x in SPOTS.items()})
        crash = p.post_epoch(vols={"BTC": 1.2, "ETH": 1.4})
        for acct in p.book:
            b = int(d.vault.balanceOf(acct.address))
            if crash.figures(acct.q, acct.cash, b, KIND_MM).excess >= 0:
                d.verifier.setStatement([acct.commitment(), crash.digest, KIND_MM, int(acct.address, 16), b], True, sender=owner)
                d.accounts.submitProof(acct.address, crash.epoch_id, KIND_MM, b, [0] * 8, sender=owner)
            else:
                levered.add(acct.address)
        p.advance(p.grace_period_seconds + 1)
        liquidatable = [a for a in p.book if int(d.accounts.liquidationReason(a.address)) != 0]
        assert {a.address for a in liquidatable} == levered
        snapshot = rpc("evm_snapshot", [])

        results = {}
        for gas_limit in BLOCK_GAS_LIMITS:
            rpc("evm_revert", [snapshot])
            snapshot = rpc("evm_snapshot", [])
            rpc("evm_setBlockGasLimit", [hex(gas_limit)])
            rpc("evm_setAutomine", [False])
            b0 = int(chain.blocks.head.number)
            keeper = LiquidationKeeper(d, p.book, liquidator, policy=KeeperPolicy())
            finished_at: dict[str, int] = {}
            gas_by_account: dict[str, int] = {}
            gas_by_kind: dict[str, list[int]] = {}
            t1 = time.monotonic()
            while True:
                sent = keeper.send_pass()
                if not sent:
                    break
                w3 = provider.web3
                who = str(liquidator.address)
                while w3.eth.get_transaction_count(who, "pending") != w3.eth.get_transaction_count(who, "latest"):
                    rpc("evm_mine", [])  # one block; what does not fit the gas limit waits for the next
                    if int(chain.blocks.head.number) - b0 > 500:
                        raise RuntimeError("liquidations did not complete within 500 blocks")
                for kind, account, h in sent:
                    r = w3.eth.get_transaction_receipt(h)
                    assert r["status"] == 1, (kind, account)
                    gas_by_account[account] = gas_by_account.get(account, 0) + int(r["gasUsed"])
                    gas_by_kind.setdefault(kind, []).append(int(r["gasUsed"]))
            wall = time.monotonic() - t1
            rpc("evm_setAutomine", [True])
            # an auction closes in the fill that empties its book (or in finishLiquidation)
            for ev in d.liquidation.LiquidationFinished.range(b0 + 1, int(chain.blocks.head.number) + 1):
                finished_at[str(ev.account)] = int(ev.block_number)
            assert set(finished_at) == levered, (gas_limit, len(finished_at), len(levered), int(chain.blocks.head.number) - b0)
            lat = [finished_at[a] - b0 for a in finished_at]
            results[gas_limit] = {
                "blocks_to_all": max(lat), "median_latency_blocks": statistics.median(lat),
                "gas_per_liquidation": statistics.mean(gas_by_account.values()), "wall_s": wall,
                "gas_by_kind": {k: (len(v), statistics.mean(v)) for k, v in gas_by_kind.items()},
            }

    print(f"\naccounts {args.accounts}, liquidatable after the -40% update {len(levered)}, setup {setup_s:.0f} s")
    print(f"{'block gas limit':>16} {'blocks to all':>14} {'median blocks':>14} {'gas/liquidation':>16} {'wall s':>8}")
    for gas_limit, r in results.items():
        print(f"{gas_limit:>16,} {r['blocks_to_all']:>14} {r['median_latency_blocks']:>14.1f} "
              f"{r['gas_per_liquidation']:>16,.0f} {r['wall_s']:>8.1f}")
    for kind, (count, mean) in results[BLOCK_GAS_LIMITS[0]]["gas_by_kind"].items():
        print(f"  {kind:>6}: {count} transactions, {mean:,.0f} gas each on average")
    a, b = (results[g]["blocks_to_all"] for g in BLOCK_GAS_LIMITS)
    print(f"ratio blocks-to-all at {BLOCK_GAS_LIMITS[0]:,} vs {BLOCK_GAS_LIMITS[1]:,} gas per block: {a / b:.1f}x "
          f"(target: within 10 blocks)")


if __name__ == "__main__":
    main()
