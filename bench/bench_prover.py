"""Benchmark: our Groth16 prover vs ``snarkjs groth16 prove`` on the same .zkey and witness.

Two circuits, measured side by side in one run:
  * the margin solvency circuit at n=16 instruments x S=33 scenarios;
  * a synthetic circuit of 2^14 - 8 constraints (x_{i+1} = x_i * x_i + x_i), domain 2^14.
For each: constraints, our proving seconds (witness given), snarkjs's seconds (node process,
including its start-up), and the ratio ours / snarkjs.  Both proofs are checked with our
verifier.  Keys are made once (INSECURE devnet setup) and cached in ``$ZKMARGIN_BENCH_CACHE``
(default: a folder under the system temp dir).

Run: ``python bench/bench_prover.py`` (add ``--quick`` for n=4 x S=7 and 2^12 only).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover import formats
from prover.circuit import margin_circuit
from prover.field import R
from prover.groth16 import QAP, Toxic, prove, setup, verify
from prover.r1cs import ConstraintSystem
from prover.statement import Account, Epoch

SNARKJS = ROOT / "node_modules" / "snarkjs" / "cli.js"
CACHE = Path(os.environ.get("ZKMARGIN_BENCH_CACHE", Path(tempfile.gettempdir()) / "zkmargin-bench-cache"))


def synthetic(log_n: int) -> tuple[ConstraintSystem, list[int]]:
    cs = ConstraintSystem()
    out = cs.public("out")
    x = cs.private_input("x0")
    m = (1 << log_n) - 8
    for i in range(m - 1):
        x = cs.mul(x, x + 1, f"x{i + 1}")
    cs.assert_equal(x, out, "out")
    # the public output: run the chain natively
    v = 3
    for _ in range(m - 1):
        v = v * (v + 1) % R
    return cs, cs.witness([v], {"x0": 3}, check=False)


def margin(n: int, s: int) -> tuple[ConstraintSystem, list[int]]:
    rng = random.Random(2024)
    mc = margin_circuit(n, s)
    ep = Epoch.create(
        9, 15000, [rng.randrange(-(10**10), 10**10) for _ in range(n)],
        [[rng.randrange(-(10**8), 10**8) for _ in range(s)] for _ in range(n)], [rng.randrange(10**6) for _ in range(n)],
    )
    acc = Account.create([rng.randrange(-1000, 1000) for _ in range(n)], 10**14, rng.randrange(R))
    return mc.cs, mc.witness(ep, acc, 1, 0xB0B, 10**13, check=False)


def bench(name: str, cs: ConstraintSystem, w: list[int]) -> tuple[str, int, float, float]:
    d = CACHE / name
    d.mkdir(parents=True, exist_ok=True)
    zkey = d / "circuit.zkey"
    if not zkey.exists():
        t0 = time.perf_counter()
        pk = setup(QAP.from_cs(cs), Toxic.from_seed(b"bench|" + name.encode()))
        formats.write_zkey(zkey, pk)
        print(f"  [{name}] setup {time.perf_counter() - t0:.1f} s (cached for next runs)", flush=True)
    pk = formats.read_zkey(zkey)
    formats.write_wtns(d / "witness.wtns", w)
    formats.write_verification_key(d / "vk.json", pk.vk)
    assert cs.first_violation(w) is None, "benchmark witness must satisfy the circuit"

    t0 = time.perf_counter()
    proof, public = prove(pk, w)
    ours = time.perf_counter() - t0
    assert verify(pk.vk, proof, public)

    t0 = time.perf_counter()
    out = subprocess.run(
        ["node", str(SNARKJS), "groth16", "prove", str(zkey), str(d / "witness.wtns"), str(d / "sj_proof.json"), str(d / "sj_public.json")],
        capture_output=True, text=True, check=False,
    )
    theirs = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"snarkjs failed: {out.stderr}")
    assert verify(pk.vk, formats.read_proof(d / "sj_proof.json"), formats.read_public(d / "sj_public.json"))
    return name, len(cs.constraints), ours, theirs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (n=4 x S=7, 2^12)")
    args = ap.parse_args()
    n, s, log_n = (4, 7, 12) if args.quick else (16, 33, 14)
    print(f"prover benchmark (processes: {os.environ.get('ZKMARGIN_PROVER_PROCESSES', 'default')}, cache {CACHE})", flush=True)
    rows = []
    cs, w = margin(n, s)
    rows.append(bench(f"margin_n{n}_s{s}", cs, w))
    cs, w = synthetic(log_n)
    rows.append(bench(f"synthetic_2^{log_n}", cs, w))
    print(f"{'circuit':<22}{'constraints':>12}{'ours s':>10}{'snarkjs s':>11}{'ratio':>8}")
    for name, m, ours, theirs in rows:
        print(f"{name:<22}{m:>12}{ours:>10.2f}{theirs:>11.2f}{ours / theirs:>8.1f}")


if __name__ == "__main__":
    main()
