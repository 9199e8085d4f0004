"""The committed generated files are exactly what the generators produce now."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from offchain.protocol.vectors import build_all

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


def test_poseidon_library_is_up_to_date():
    gen = _gen()
    assert (ROOT / "contracts/libraries/PoseidonSponge.sol").read_text() == gen.render_sponge()
    assert (ROOT / "contracts/libraries/PoseidonT17Data.sol").read_text() == gen.render_data_contracts()


def test_poseidon_data_holds_the_circomlib_constants():
    from prover.poseidon_params import load_parameters

    gen = _gen()
    c, _m, _rp = load_parameters(17)
    blob = b"".join(gen._data_chunks())
    words = [int.from_bytes(blob[i : i + 32], "big") for i in range(0, len(blob), 32)]
    assert words == list(c)
