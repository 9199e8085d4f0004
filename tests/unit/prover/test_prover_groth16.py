"""Groth16 end to end, the zkey round trip, snarkjs interoperability and 1,000+ mutated proofs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from _prover_testlib import snarkjs

from prover import formats
from prover.circuit import margin_circuit
from prover.errors import ArtefactError, ProverInputError
from prover.evm import proof_from_evm, proof_to_evm
from prover.field import R
from prover.groth16 import QAP, Toxic, prove, setup, verify
from prover.keys import Proof
from prover.mutations import mutations
from prover.statement import Account, Epoch

N, S = 2, 3


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    rng = random.Random(77)
    mc = margin_circuit(N, S)
    pk = setup(QAP.from_cs(mc.cs), Toxic.from_seed(b"unit-groth16"))
    ep = Epoch.create(
        4, 13000, [rng.randrange(-(10**8), 10**8) for _ in range(N)],
        [[rng.randrange(-(10**6), 10**6) for _ in range(S)] for _ in range(N)], [rng.randrange(10**4) for _ in range(N)],
    )
    acc = Account.create([rng.randrange(-99, 99) for _ in range(N)], 10**12, rng.randrange(R))
    w = mc.witness(ep, acc, 0, 0xC0FFEE, 5 * 10**11)
    proof, public = prove(pk, w, r=12345, s=67890)
    d = tmp_path_factory.mktemp("groth16")
    formats.write_r1cs(d / "c.r1cs", mc.cs.n_signals, mc.cs.n_public, mc.cs.r1cs_constraints(), mc.cs.n_private_inputs)
    formats.write_wtns(d / "w.wtns", w)
    formats.write_zkey(d / "k.zkey", pk)
    formats.write_verification_key(d / "vk.json", pk.vk)
    formats.write_proof(d / "proof.json", proof)
    formats.write_public(d / "public.json", public)
    return {"pk": pk, "w": w, "proof": proof, "public": public, "dir": d, "mc": mc}


def test_prove_verify_and_public_layout(case: dict) -> None:
    pk, proof, public = case["pk"], case["proof"], case["public"]
    assert verify(pk.vk, proof, public)
    assert public[2:5] == [0, 0xC0FFEE, 5 * 10**11] and len(public) == 6  # then FD_s
    assert not verify(pk.vk, proof, [public[0], public[1], 1, *public[3:]])  # other kind


def test_unsatisfying_witness_gives_a_rejected_proof(case: dict) -> None:
    pk, w = case["pk"], list(case["w"])
    w[-1] = (w[-1] + 1) % R
    proof, public = prove(pk, w)
    assert not verify(pk.vk, proof, public)


def test_proof_is_randomized_and_deterministic_given_r_s(case: dict) -> None:
    pk, w = case["pk"], case["w"]
    p1, _ = prove(pk, w, r=12345, s=67890, parallel=False)
    assert p1 == case["proof"]
    p2, _ = prove(pk, w)
    assert p2 != p1 and verify(pk.vk, p2, case["public"])


def test_zkey_round_trip(case: dict) -> None:
    pk2 = formats.read_zkey(case["dir"] / "k.zkey", check_points=True)
    pk = case["pk"]
    assert pk2.vk == pk.vk
    assert (pk2.a_query, pk2.b2_query, pk2.c_query, pk2.h_query) == (pk.a_query, pk.b2_query, pk.c_query, pk.h_query)
    proof, public = prove(pk2, case["w"])
    assert verify(pk.vk, proof, public)


def test_r1cs_and_wtns_round_trip(case: dict) -> None:
    r = formats.read_r1cs(case["dir"] / "c.r1cs")
    cs = case["mc"].cs
    assert r["n_vars"] == cs.n_signals and r["n_public"] == 6 and r["n_constraints"] == len(cs.constraints)
    assert [tuple(map(list, k)) for k in r["constraints"][:50]] == [tuple(map(list, k)) for k in cs.r1cs_constraints()[:50]]
    assert formats.read_wtns(case["dir"] / "w.wtns") == case["w"]


def test_snarkjs_accepts_our_artefacts(case: dict) -> None:
    d: Path = case["dir"]
    info = snarkjs("r1cs", "info", "c.r1cs", cwd=d)
    assert info.returncode == 0 and f"# of Constraints: {len(case['mc'].cs.constraints)}" in info.stdout
    assert "# of Public Inputs: 6" in info.stdout
    chk = snarkjs("wtns", "check", "c.r1cs", "w.wtns", cwd=d)
    assert chk.returncode == 0 and "WITNESS IS CORRECT" in chk.stdout
    ver = snarkjs("groth16", "verify", "vk.json", "public.json", "proof.json", cwd=d)
    assert ver.returncode == 0 and "OK!" in ver.stdout


def test_snarkjs_rejects_a_tampered_public_input(case: dict) -> None:
    d: Path = case["dir"]
    pub = [str(x) for x in case["public"]]
    pub[3] = str(int(pub[3]) + 1)
    (d / "public_bad.json").write_text(json.dumps(pub))
    ver = snarkjs("groth16", "verify", "vk.json", "public_bad.json", "proof.json", cwd=d)
    assert "OK!" not in ver.stdout


def test_snarkjs_proof_from_our_zkey_and_wtns_verifies_with_ours(case: dict) -> None:
    d: Path = case["dir"]
    out = snarkjs("groth16", "prove", "k.zkey", "w.wtns", "sj_proof.json", "sj_public.json", cwd=d)
    assert out.returncode == 0, out.stderr
    proof = formats.read_proof(d / "sj_proof.json")
    public = formats.read_public(d / "sj_public.json")
    assert public == case["public"]
    assert verify(case["pk"].vk, proof, public)
    # and our verification key exported by snarkjs from our zkey equals ours
    exp = snarkjs("zkey", "export", "verificationkey", "k.zkey", "sj_vk.json", cwd=d)
    assert exp.returncode == 0, exp.stderr
    assert formats.read_verification_key(d / "sj_vk.json") == case["pk"].vk


def test_evm_encoding_round_trip(case: dict) -> None:
    proof: Proof = case["proof"]
    words = proof_to_evm(proof)
    assert words[2:6] == [proof.b[0][1], proof.b[0][0], proof.b[1][1], proof.b[1][0]]  # type: ignore[index]
    assert proof_from_evm(words) == proof


def _rejected(vk: object, words: list[int], public: list[int]) -> bool:
    try:
        return not verify(vk, proof_from_evm(words), public)  # type: ignore[arg-type]
    except ProverInputError:
        return True


@pytest.mark.slow
def test_1000_mutations_rejected_in_python(case: dict) -> None:
    words, public = proof_to_evm(case["proof"]), case["public"]
    muts = mutations(words, public, 1000, seed=4)
    assert len(muts) >= 1000
    accepted = [label for label, w, p in muts if not _rejected(case["pk"].vk, w, p)]
    assert accepted == []


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.zkey", None, "not found"),
        ("empty.zkey", b"", "bad magic"),
        ("text.zkey", b"hello world, not a key", "bad magic"),
        ("trunc.zkey", b"zkey" + (1).to_bytes(4, "little") + (10).to_bytes(4, "little") + (1).to_bytes(4, "little") + (99).to_bytes(8, "little"), "truncated"),
    ],
)
def test_corrupt_key_files_are_named(tmp_path: Path, name: str, content: bytes | None, problem: str) -> None:
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ArtefactError) as exc:
        formats.read_zkey(p)
    assert exc.value.field == str(p) and problem in exc.value.problem


def test_corrupt_proof_and_witness_files(tmp_path: Path, case: dict) -> None:
    (tmp_path / "p.json").write_text('{"pi_a": ["1", "3", "1"], "pi_b": [["0","0"],["0","0"]], "pi_c": ["1","2","1"]}')
    with pytest.raises(ArtefactError, match="not on the curve"):
        formats.read_proof(tmp_path / "p.json")
    (tmp_path / "w.wtns").write_bytes((case["dir"] / "w.wtns").read_bytes()[:-5])
    with pytest.raises(ArtefactError, match="truncated"):
        formats.read_wtns(tmp_path / "w.wtns")
    (tmp_path / "pub.json").write_text(json.dumps([str(R)]))
    with pytest.raises(ArtefactError, match=r"pub.json\[0\]: .* is not in \[0, r\)"):
        formats.read_public(tmp_path / "pub.json")
