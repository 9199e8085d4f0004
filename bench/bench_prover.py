"""Benchmark: each prover backend vs ``snarkjs groth16 prove`` on the same .zkey and witness.

Two circuits, measured side by side in one run:
  * the margin solvency circuit at n=16 instruments x S=33 scenarios;
  * a synthetic circuit of 2^14 - 8 constraints (x_{i+1} = x_i * x_i + x_i), domain 2^14.
For each circuit and each installed backend (native, python, and groth16py where its optional
GPL-3.0 extra is installed): the key load (once per process, cached), the proving seconds (key
loaded, witness given; median of ``--repeats``), and the ratio to snarkjs's seconds (the node
process ``snarkjs groth16 prove`` on the same files, start-up and key reading included; median
of the same number of runs, interleaved with ours). The ratio ``cold`` adds our key load to our
proving time (what one ``zkmargin prove`` costs). Every proof is checked with our verifier.

Keys are made once (INSECURE devnet setup) and cached in ``$ZKMARGIN_BENCH_CACHE`` (default: a
folder under the system temp dir). The goal for the native backend is a ratio <= 0.33.

Run: ``python bench/bench_prover.py`` (``--quick``: n=4 x S=7 and 2^12; ``--backends native,python``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover import formats
from prover.backend import available_backends, clear_key_cache, get_backend, load_key
from prover.circuit import margin_circuit
from prover.field import R
from prover.groth16 import QAP, Toxic, setup
from prover.parallel import cores_per_proof
from prover.r1cs import ConstraintSystem
from prover.statement import Account, Epoch

SNARKJS = ROOT / "node_modules" / "snarkjs" / "cli.js"
CACHE = Path(os.environ.get("ZKMARGIN_BENCH_CACHE", Path(tempfile.gettempdir()) / "zkmargin-bench-cache"))
GOAL = 0.33


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


def _snarkjs(d: Path) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(
        ["node", str(SNARKJS), "groth16", "prove", str(d / "circuit.zkey"), str(d / "witness.wtns"), str(d / "sj_proof.json"),
         str(d / "sj_public.json")],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"snarkjs failed: {out.stderr}")
    return time.perf_counter() - t0


def bench(name: str, cs: ConstraintSystem, w: list[int], backends: list[str], repeats: int) -> list[dict[str, object]]:
    d = CACHE / name
    d.mkdir(parents=True, exist_ok=True)
    zkey = d / "circuit.zkey"
    if not zkey.exists():
        t0 = time.perf_counter()
        native = get_backend("native") if available_backends()["native"] is None else None
        pk = setup(QAP.from_cs(cs), Toxic.from_seed(b"bench|" + name.encode()),
                   g1_batch=native.fixed_base_g1 if native else None, g2_batch=native.fixed_base_g2 if native else None)
        formats.write_zkey(zkey, pk)
        print(f"  [{name}] setup {time.perf_counter() - t0:.1f} s (cached for next runs)", flush=True)
    formats.write_wtns(d / "witness.wtns", w)
    assert cs.first_violation(w) is None, "benchmark witness must satisfy the circuit"
    checker = get_backend("native" if "native" in backends else "python")

    snark: list[float] = []
    ours: dict[str, list[float]] = {b: [] for b in backends}
    loads: dict[str, float] = {}
    for b in backends:  # key loads first (cold, once per process)
        clear_key_cache()
        t0 = time.perf_counter()
        load_key(zkey, b)
        loads[b] = time.perf_counter() - t0
    for rep in range(repeats):
        snark.append(_snarkjs(d))
        for b in backends:
            if b == "python" and rep > 0:
                continue  # the reference takes tens of seconds: one run
            key = load_key(zkey, b)
            t0 = time.perf_counter()
            proof, public = get_backend(b).prove(key, w)
            ours[b].append(time.perf_counter() - t0)
            assert checker.verify(key.vk, proof, public), f"{b} proof does not verify"
    assert checker.verify(load_key(zkey, "native" if "native" in backends else "python").vk,
                          formats.read_proof(d / "sj_proof.json"), formats.read_public(d / "sj_public.json"))
    sj = statistics.median(snark)
    rows: list[dict[str, object]] = []
    for b in backends:
        t = statistics.median(ours[b])
        rows.append({"circuit": name, "constraints": len(cs.constraints), "backend": b, "load_s": loads[b], "prove_s": t,
                     "snarkjs_s": sj, "ratio": t / sj, "cold_ratio": (t + loads[b]) / sj})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (n=4 x S=7, 2^12)")
    ap.add_argument("--backends", default="", help="comma-separated backends (default: every installed one)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of snarkjs and of the fast backends (median)")
    args = ap.parse_args()
    installed = [b for b, problem in available_backends().items() if problem is None]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()] or installed
    for b in backends:
        if b not in installed:
            raise SystemExit(f"backend {b} is not available here: {available_backends().get(b, 'unknown backend')}")
    n, s, log_n = (4, 7, 12) if args.quick else (16, 33, 14)
    print(f"prover benchmark (backends {', '.join(backends)}; {cores_per_proof()} core(s) per proof; "
          f"load average {os.getloadavg()[0]:.1f}; cache {CACHE})", flush=True)
    rows = []
    cs, w = margin(n, s)
    rows += bench(f"margin_n{n}_s{s}", cs, w, backends, args.repeats)
    cs, w = synthetic(log_n)
    rows += bench(f"synthetic_2^{log_n}", cs, w, backends, args.repeats)
    print(f"{'circuit':<20}{'constraints':>12}{'backend':>11}{'key load s':>12}{'prove s':>10}{'snarkjs s':>11}"
          f"{'ratio':>8}{'cold':>7}")
    for r in rows:
        print(f"{r['circuit']:<20}{r['constraints']:>12}{r['backend']:>11}{r['load_s']:>12.2f}{r['prove_s']:>10.2f}"
              f"{r['snarkjs_s']:>11.2f}{r['ratio']:>8.2f}{r['cold_ratio']:>7.2f}")
    native = [r for r in rows if r["backend"] == "native"]
    if native:
        worst = max(float(r["ratio"]) for r in native)  # type: ignore[arg-type]
        print(f"native backend: worst ratio {worst:.2f} (goal <= {GOAL}): {'met' if worst <= GOAL else 'MISSED'}")


if __name__ == "__main__":
    main()
