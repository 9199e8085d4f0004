"""Throughput: accounts proved per minute at n=8 x S=15 (the devnet circuit), keys warm.

Side by side in one run, on the same requests (``--accounts``, default 1,000 solvent accounts
with random positions, MM statements of one epoch):
  * sequential: one proof at a time in this process (``SequentialExecutor``; each proof may
    use ``cores_per_proof()`` threads for its MSMs);
  * local pool: ``prove_many`` on a ``LocalPoolExecutor`` with one single-core worker per CPU,
    workers kept warm (keys loaded and circuit built once per worker, before the clock starts).
Each run proves every request; its rate is accounts / wall seconds * 60. Every proof is
verified. The backend is the default one (``--backend`` to choose).

Run: ``python bench/bench_prove_many.py [--accounts 1000] [--sequential-accounts N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.api import ProofRequest, SolvencyKeys, devnet_setup, prove_many
from prover.backend import get_backend
from prover.field import R
from prover.progress import proof_bar
from prover.statement import KIND_MM, Account, Epoch
from zkmargin.executor import LocalPoolExecutor, SequentialExecutor, default_workers

N, S = 8, 15
CACHE = Path(os.environ.get("ZKMARGIN_BENCH_CACHE", Path(tempfile.gettempdir()) / "zkmargin-bench-cache"))


def requests(count: int, seed: int = 11) -> list[ProofRequest]:
    rng = random.Random(seed)
    ep = Epoch.create(
        7, 15000, [rng.randrange(10**6, 10**8) for _ in range(N)],
        [[rng.randrange(-(10**6), 10**6) for _ in range(S)] for _ in range(N)], [rng.randrange(10**4) for _ in range(N)],
    )
    out = []
    while len(out) < count:
        q = [rng.randrange(-500, 500) for _ in range(N)]
        acc = Account.create(q, rng.randrange(10**9, 10**12), rng.randrange(R))
        collateral = rng.randrange(10**9, 10**11)
        if ep.figures(KIND_MM, acc.q, acc.cash, collateral).holds:
            out.append(ProofRequest(ep, acc, KIND_MM, rng.randrange(1, 1 << 160), collateral))
    return out


def run(keys: SolvencyKeys, reqs: list[ProofRequest], executor: object, label: str, backend: str) -> float:
    bar = proof_bar(len(reqs), label)
    t0 = time.perf_counter()
    proofs = prove_many(keys, reqs, executor, backend=backend, progress=lambda done, total: bar.update(1))
    wall = time.perf_counter() - t0
    bar.close()
    impl = get_backend(backend)
    assert len(proofs) == len(reqs) and all(impl.verify(keys.vk, p.proof, p.public) for p in proofs)
    return len(reqs) / wall * 60


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--sequential-accounts", type=int, default=None, help="fewer accounts for the sequential run")
    ap.add_argument("--workers", type=int, default=None, help=f"pool workers (default: {default_workers()})")
    ap.add_argument("--backend", default=None)
    args = ap.parse_args()
    backend = get_backend(args.backend).name
    keys = devnet_setup(N, S, CACHE)
    reqs = requests(args.accounts)
    seq_reqs = reqs[: args.sequential_accounts or args.accounts]
    workers = args.workers or default_workers()
    print(f"prove_many throughput: n={N} x S={S}, backend {backend}, {len(reqs)} accounts "
          f"({len(seq_reqs)} sequential), {workers} pool workers, load average {os.getloadavg()[0]:.1f}", flush=True)

    seq = SequentialExecutor()
    prove_many(keys, reqs[:1], seq, backend=backend)  # warm: key parsed, circuit built
    seq_rate = run(keys, seq_reqs, seq, "sequential", backend)

    with LocalPoolExecutor(workers, keep_workers=True) as pool:
        prove_many(keys, reqs[:workers], pool, backend=backend)  # warm the workers
        pool_rate = run(keys, reqs, pool, f"local pool ({workers})", backend)

    print(f"{'executor':<20}{'accounts':>10}{'accounts/min':>14}")
    print(f"{'sequential':<20}{len(seq_reqs):>10}{seq_rate:>14.1f}")
    print(f"{'local pool':<20}{len(reqs):>10}{pool_rate:>14.1f}")
    print(f"pool / sequential: {pool_rate / seq_rate:.2f}x; 10,000 accounts take {10_000 / pool_rate:.0f} min on the pool")


if __name__ == "__main__":
    main()
