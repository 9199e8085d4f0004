"""Gas per proof of batched Groth16 verification, in batches of 1, 4, 16 and 64 accounts.

On its own anvil (no step tracing), the devnet protocol with the real verifier of the
n=8 x S=15 circuit (``SolvencyVerifierN8S15``): 85 accounts are opened with real IM proofs,
an epoch is posted, every account is proved (MM, ``prove_many`` on a local pool) and the proofs
are submitted with ``MarginAccounts.submitProofs`` in batches of 1, 4, 16 and 64. Printed side by
side for each batch size k:

  * ``verifyBatch`` alone: execution gas (``eth_estimateGas`` less the 21,000 base and the
    calldata), per proof;
  * ``submitProofs``: the whole transaction's gas (base, calldata, the account checks and
    state, the batch verification), per proof;
  * the EIP-1108 floor for k separate verifications: 181,000 + 6,150 per public input (5 here),
    for each proof, i.e. the pairing precompile's 45,000 + 4 x 34,000 plus one ecMul and one
    ecAdd per input, before any calldata or contract overhead;
and ``submitProof`` (one proof, the single path) for reference. The goal is <= 100k gas per
proof at k = 16.

Run: ``python bench/bench_batch_verify.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_liquidation_load import own_anvil

BATCHES = (1, 4, 16, 64)
N_PUBLIC = 5
FLOOR = 181_000 + 6_150 * N_PUBLIC
GOAL_AT_16 = 100_000
UNIT = 10**6


def main() -> None:
    from ape import accounts, chain, networks
    from ape.logging import logger
    from eth_abi import encode as abi_encode
    from eth_utils import keccak

    from offchain.devnet.defaults import DEFAULT_SPOTS, DEFAULT_VOLS, zk_cache_dir
    from offchain.devnet.listing import devnet_listing, devnet_risk_config
    from offchain.devnet.session import Protocol
    from prover.api import prove_many
    from prover.statement import KIND_MM
    from zkmargin.executor import LocalPoolExecutor

    logger.set_level("ERROR")
    selector = keccak(text="verifyBatch(uint256[8][],uint256[])")[:4]
    with own_anvil() as url, networks.parse_network_choice(url) as provider, LocalPoolExecutor(keep_workers=True) as pool:
        owner = accounts.test_accounts[0]
        p = Protocol.deploy(owner, devnet_listing(int(chain.blocks.head.timestamp), DEFAULT_SPOTS), zk_dir=zk_cache_dir(),
                            risk_config=devnet_risk_config(), grace_period_seconds=3_600, seed=5)
        p.prover = pool
        p.report_prices(DEFAULT_SPOTS)
        p.post_epoch(vols=DEFAULT_VOLS)
        users = []
        for _ in range(sum(BATCHES) + 1):
            u = accounts.test_accounts.generate_test_account()
            provider.make_request("anvil_setBalance", [str(u.address), hex(10**20)])
            users.append(u)
        t0 = time.monotonic()
        holdings = [{"BTC-PERP": 100 + 7 * i, "ETH-PERP": -50 - 3 * i} for i in range(len(users))]
        p.open_accounts([(u, h, 200_000 * UNIT, f"bench {i}") for i, (u, h) in enumerate(zip(users, holdings))])
        print(f"opened {len(users)} accounts with IM proofs in {time.monotonic() - t0:.0f} s", flush=True)
        epoch = p.post_epoch(vols=DEFAULT_VOLS)
        accts = [p.book.get(str(u.address)) for u in users]
        reqs = [p._request(a, KIND_MM, int(p.d.vault.balanceOf(a.address))) for a in accts]
        t0 = time.monotonic()
        proofs = prove_many(p.keys, reqs, pool)
        print(f"proved {len(reqs)} accounts in {time.monotonic() - t0:.0f} s", flush=True)
        entries = [(a.address, KIND_MM, r.collateral, a.commitment(), sp.evm()[0]) for a, r, sp in zip(accts, reqs, proofs)]
        web3 = provider.web3
        rows = []
        start = 0
        for k in BATCHES:
            chunk = entries[start : start + k]
            words = [e[4] for e in chunk]
            inputs = [x for sp in proofs[start : start + k] for x in sp.public]
            data = selector + abi_encode(["uint256[8][]", "uint256[]"], [words, inputs])
            gas = web3.eth.estimate_gas({"to": str(p.d.verifier.address), "data": "0x" + data.hex(), "from": owner.address})
            verify = (gas - 21_000 - sum(4 if b == 0 else 16 for b in data)) / k
            receipt = p.d.accounts.submitProofs(epoch.epoch_id, chunk, sender=owner)
            assert not list(p.d.accounts.ProofSkipped.from_receipt(receipt))
            rows.append((k, verify, int(receipt.gas_used) / k))
            start += k
        last = entries[start]
        single = int(p.d.accounts.submitProof(last[0], epoch.epoch_id, KIND_MM, last[2], last[4], sender=owner).gas_used)

    print(f"{'batch k':>8}{'verifyBatch/proof':>19}{'submitProofs/proof':>20}{'EIP-1108 floor/proof':>22}{'submitProofs/floor':>20}")
    for k, verify, submit in rows:
        print(f"{k:>8}{verify:>19,.0f}{submit:>20,.0f}{FLOOR:>22,}{submit / FLOOR:>20.2f}")
    print(f"submitProof (single path): {single:,} gas; floor {FLOOR:,}")
    at16 = {k: s for k, _, s in rows}[16]
    print(f"goal <= {GOAL_AT_16:,} gas per proof at k=16: {at16:,.0f} ({'met' if at16 <= GOAL_AT_16 else 'MISSED'})")


if __name__ == "__main__":
    main()
