"""The committed generated files are exactly what the generators produce now."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from offchain.mirror.vectors import build_all

ROOT = Path(__file__).resolve().parents[3]


def _gen():
    spec = importlib.util.spec_from_file_location("gen_contracts", ROOT / "tools" / "gen_contracts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_golden_vectors_are_reproducible():
    for name, payload in build_all().items():
        committed = json.loads((ROOT / "tests" / "vectors" / f"{name}.json").read_text())
        assert committed == json.loads(json.dumps(payload)), f"tests/vectors/{name}.json is stale: run tools/gen_contracts.py vectors"


def test_poseidon_contracts_are_up_to_date():
    gen = _gen()
    assert (ROOT / "contracts/hashing/PoseidonSponge.sol").read_text() == gen.render_sponge()
    assert (ROOT / "contracts/hashing/PoseidonT17Data.sol").read_text() == gen.render_data_contracts()


def test_poseidon_stores_fit_eip170_and_replay_the_reference_permutation():
    """Read the stores exactly as the generated contract does (offsets, layout) and permute in
    Python: the result must equal the reference (dense, unoptimized) circomlib permutation."""
    import random

    from prover.field import R
    from prover.poseidon import permute

    gen = _gen()
    codes = [b"\x00" + ch for ch in gen._data_chunks()]
    assert len(codes) == 5 and all(len(code) <= 24_576 for code in codes)

    def words(store: int, offset: int, count: int) -> list[int]:
        raw = codes[store][offset : offset + 32 * count]
        return [int.from_bytes(raw[i : i + 32], "big") for i in range(0, len(raw), 32)]

    t = 17
    m = [words(0, gen.OFF_M + 544 * i, t) for i in range(t)]
    p = [words(0, gen.OFF_P + 544 * i, t) for i in range(t)]

    def full(s: list[int], row: int, mat: list[list[int]]) -> list[int]:
        k = words(0, gen.OFF_FULL + 544 * row, t)
        s = [pow((x + c) % R, 5, R) for x, c in zip(s, k)]
        return [sum(a * b for a, b in zip(r, s)) % R for r in mat]

    rng = random.Random(17)
    for _ in range(3):
        state = [0] + [rng.randrange(R) for _ in range(16)]
        s = list(state)
        for row in range(4):
            s = full(s, row, p if row == 3 else m)
        for j in range(68):
            k = words(1 + j // 17, 1 + (j % 17) * 1088, 34)
            x0 = pow((s[0] + k[0]) % R, 5, R)
            s0 = (k[1] * x0 + sum(k[1 + i] * s[i] for i in range(1, t))) % R
            s = [s0] + [(s[i] + k[17 + i] * x0) % R for i in range(1, t)]
        for row in range(4, 8):
            s = full(s, row, m)
        assert s == permute(state)
