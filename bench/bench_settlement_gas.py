"""Gas of ``Settlement.settle`` per settled fill, in batches of 1, 8 and 32 fills, with real
transition proofs.

On its own anvil (no step tracing): the protocol with the committed real verifiers
(``SolvencyVerifierN2S3`` and the K = 32 transition verifier ``TransitionVerifierN2S3K32``, from
the deterministic devnet keys of ``offchain.devnet.defaults.zk_cache_dir()``), fee 5 bps, the
tests' small epoch (n = 2, S = 3). Two batch shapes (``offchain/devnet/settlement_gas.py``):

  * ``maker``: one resting sell order filled by N takers (N fills, N + 1 accounts);
  * ``pairs``: N disjoint maker/taker pairs (N fills, 2N accounts);

first on new accounts (a 32-fill maker batch that opens the accounts), then on open accounts
(the steady state; the pairs run among the 32 open takers, so at most 16 pairs: 1 and 8 here). Printed side by side: gas per batch, per fill, per account ("party"), and
per account against the EIP-1108 floor of one ``verifyProof`` with 22 public inputs (4 pairings,
181,000, plus 6,150 per input: 316,300). Proofs are made on a local process pool.

Run: ``python bench/bench_settlement_gas.py`` (95 proofs, about 4 minutes on 2 busy cores;
``--sizes 1 8`` for fewer). Measured (committed figures, one run)::

     shape accounts fills parties    gas/batch  gas/fill gas/party party/floor
     maker      new    32      33    6,262,873   195,714   189,784        0.60
     maker     open     1       2      632,138   632,138   316,069        1.00
     maker     open     8       9    1,618,297   202,287   179,810        0.57
     maker     open    32      33    5,028,340   157,135   152,373        0.48
     pairs     open     1       2      632,296   632,296   316,148        1.00
     pairs     open     8      16    2,608,136   326,017   163,008        0.52
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_liquidation_load import own_anvil

N_PUBLIC = 22
FLOOR = 181_000 + 6_150 * N_PUBLIC
UNIT = 10**6
MARKS = [30_000_000, 20_000_000]
PNL = [[-3_000_000, 0, 3_000_000], [-2_500_000, 0, 2_500_000]]
ADDONS = [300_001, 200_001]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 32], help="fills per batch (at most 32)")
    ap.add_argument("--workers", type=int, default=None, help="prover processes (default: the pool's)")
    args = ap.parse_args()
    sizes = sorted(set(args.sizes))
    if not sizes or sizes[0] < 1 or sizes[-1] > 32:
        raise SystemExit("--sizes: each in [1, 32]")

    from ape import accounts, chain, networks, project
    from ape.logging import logger

    from offchain.devnet.defaults import zk_cache_dir
    from offchain.devnet.deploy import deploy_protocol, fund_and_deposit, push_price
    from offchain.devnet.settlement_gas import GasRow, SettlementGasRun, executor_prover, post_statement_epoch
    from prover.api import devnet_setup
    from prover.solidity import generate_verifier
    from prover.statement import Epoch
    from prover.transition_api import transition_setup
    from zkmargin.executor import LocalPoolExecutor

    logger.set_level("ERROR")
    t0 = time.monotonic()
    skeys = devnet_setup(2, 3, zk_cache_dir())
    tkeys = transition_setup(2, 3, 32, zk_cache_dir())
    print(f"keys ready in {time.monotonic() - t0:.0f} s", flush=True)
    for name, vk in (("SolvencyVerifierN2S3", skeys.vk), (tkeys.verifier_name, tkeys.vk)):
        if (ROOT / "contracts" / "verifiers" / f"{name}.sol").read_text() != generate_verifier(vk, name):
            raise SystemExit(f"contracts/verifiers/{name}.sol does not match the devnet keys")
    with own_anvil() as url, networks.parse_network_choice(url) as provider, \
            LocalPoolExecutor(args.workers, keep_workers=True) as pool:
        owner = accounts.test_accounts[0]
        d = deploy_protocol(owner, verifier=project.SolvencyVerifierN2S3.deploy(sender=owner),
                            transition_verifier=getattr(project, tkeys.verifier_name).deploy(sender=owner), fee_bps=5)
        push_price(d, "BTC/USD", 30_000, int(chain.blocks.head.timestamp))
        epoch = Epoch.create(1, 15_000, MARKS, PNL, ADDONS, [0, 0])
        post_statement_epoch(d, owner, epoch, int(chain.blocks.head.timestamp))
        run = SettlementGasRun(d, epoch, tkeys, owner, prove=executor_prover(pool, tkeys))
        people = []
        for _ in range(sizes[-1] + 1):
            u = accounts.test_accounts.generate_test_account()
            provider.make_request("anvil_setBalance", [str(u.address), hex(10**20)])
            people.append(u)
        fund_and_deposit(d, people[:1], 100_000 * UNIT)
        fund_and_deposit(d, people[1:], 1_000 * UNIT)
        maker, takers = people[0], people[1:]
        t0 = time.monotonic()
        rows: list[GasRow] = [run.measure("maker", [maker], takers)]
        rows += [run.measure("maker", [maker], takers[:k]) for k in sizes]
        # pairs among the open takers: takers[2i] sells one lot to takers[2i + 1]
        rows += [run.measure("pairs", takers[0 : 2 * k : 2], takers[1 : 2 * k : 2]) for k in sizes if 2 * k <= len(takers)]
        elapsed = time.monotonic() - t0
    print(f"{run.proofs_made} transition proofs and {len(rows)} batches in {elapsed:.0f} s")
    print(f"{'shape':>6}{'accounts':>9}{'fills':>6}{'parties':>8}{'gas/batch':>13}{'gas/fill':>10}{'gas/party':>10}"
          f"{'party/floor':>12}")
    for r in rows:
        print(f"{r.shape:>6}{r.accounts:>9}{r.fills:>6}{r.parties:>8}{r.batch_gas:>13,}{r.per_fill:>10,}"
              f"{r.per_party:>10,}{r.per_party / FLOOR:>12.2f}")
    print(f"floor: one verifyProof with {N_PUBLIC} public inputs >= {FLOOR:,} gas (EIP-1108)")


if __name__ == "__main__":
    main()
