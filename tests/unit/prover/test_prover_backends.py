"""The prover backends against each other: the native one (mcl MSMs, python-flint quotient) and
the optional groth16py one against the python reference, py_ecc-style (reference beside
optimized), snarkjs as the independent verifier, and the key cache and backend selection.

The groth16py cases run where its optional extra (GPL-3.0) is installed and are skipped
otherwise; the native backend is a default dependency and always runs here.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from _prover_testlib import snarkjs

import prover.backend as pb
from prover import formats
from prover.api import devnet_setup, witness_for
from prover.backend import mcl
from prover.backend.quotient import coset_values
from prover.backend.quotient import quotient_odd as flint_quotient_odd
from prover.circuit import margin_circuit
from prover.curve import G1_GEN, G2_GEN, g1_mul, g2_mul
from prover.errors import ArtefactError, BackendUnavailable, ProverInputError
from prover.evm import proof_from_evm, proof_to_evm
from prover.field import Q, R, root_of_unity
from prover.groth16 import QAP, Toxic, evaluate_abc, quotient_odd, setup
from prover.keys import Proof
from prover.msm_affine import msm_g1_affine, msm_g2_affine
from prover.mutations import mutations
from prover.ntt import intt, ntt, scale_powers
from prover.r1cs import ConstraintSystem
from prover.statement import Account, Epoch

N, S = 2, 3
BACKENDS = [b for b in pb.NAMES if pb.available_backends()[b] is None]
OPTIONAL = {"groth16py"}


def _param(name: str) -> object:
    reason = pb.available_backends()[name]
    return pytest.param(name, marks=pytest.mark.skipif(reason is not None, reason=f"{name}: {reason}"))


ALL = [_param(b) for b in pb.NAMES]


def _case(seed: int, kind: int = 0) -> tuple[Epoch, Account]:
    rng = random.Random(seed)
    ep = Epoch.create(
        6, 15000, [rng.randrange(-(10**8), 10**8) for _ in range(N)],
        [[rng.randrange(-(10**6), 10**6) for _ in range(S)] for _ in range(N)], [rng.randrange(10**4) for _ in range(N)],
    )
    return ep, Account.create([rng.randrange(-99, 99) for _ in range(N)], 10**12, rng.randrange(R))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return devnet_setup(N, S, tmp_path_factory.mktemp("backends"), seed="backend-tests")


@pytest.fixture(scope="module")
def witness(keys) -> list[int]:  # type: ignore[no-untyped-def]
    ep, acc = _case(3)
    return witness_for(keys, ep, acc, 0, 0xC0FFEE, 5 * 10**11)


@pytest.fixture(scope="module")
def proofs(keys, witness) -> dict[str, tuple[Proof, list[int]]]:  # type: ignore[no-untyped-def]
    """One proof per available backend (fixed r, s where the backend takes them)."""
    out = {}
    for name in BACKENDS:
        b = pb.get_backend(name)
        key = pb.load_key(keys.zkey_path, name)
        out[name] = b.prove(key, witness, r=1234, s=5678) if b.deterministic else b.prove(key, witness)
    return out


# ------------------------------------------------------------------ reference vs optimized ---
def test_mcl_msms_equal_the_python_msms() -> None:
    rng = random.Random(5)
    pts1 = [g1_mul(G1_GEN, rng.randrange(1, R)) for _ in range(40)] + [None]
    pts2 = [g2_mul(G2_GEN, rng.randrange(1, R)) for _ in range(12)] + [None]
    edge = [0, 1, R - 1, 2**64, 2**128 + 7]
    sc1 = edge + [rng.randrange(R) for _ in range(len(pts1) - len(edge))]
    sc2 = edge + [rng.randrange(R) for _ in range(len(pts2) - len(edge))]
    raw1 = b"".join(bytes(64) if p is None else formats._g1_lem(p) for p in pts1)
    raw2 = b"".join(bytes(128) if p is None else formats._g2_lem(p) for p in pts2)
    arr1, arr2 = mcl.g1_array_from_zkey(raw1, len(pts1)), mcl.g2_array_from_zkey(raw2, len(pts2))
    f1, f2 = mcl.fr_array(sc1), mcl.fr_array(sc2)
    assert mcl.g1_to_affine(mcl.msm_g1(arr1, f1, len(pts1))) == msm_g1_affine(pts1, sc1)
    assert mcl.g2_to_affine(mcl.msm_g2(arr2, f2, len(pts2))) == msm_g2_affine(pts2, sc2)
    # offsets into both arrays (the prover's C query uses the witness past the public inputs)
    assert mcl.g1_to_affine(mcl.msm_g1(arr1, f1, 10, 3, 7)) == msm_g1_affine(pts1[3:13], sc1[7:17])
    assert mcl.g1_to_affine(mcl.msm_g1(arr1, f1, 0)) is None
    assert mcl.g1_batch_mul(G1_GEN, sc1[:8]) == [g1_mul(G1_GEN, k) for k in sc1[:8]]
    assert mcl.g2_batch_mul(G2_GEN, sc2[:4]) == [g2_mul(G2_GEN, k) for k in sc2[:4]]


@pytest.mark.parametrize("log_n", [1, 3, 6])
def test_flint_coset_values_equal_the_ntt_reference(log_n: int) -> None:
    rng = random.Random(log_n)
    n = 1 << log_n
    vals = [rng.randrange(R) for _ in range(n)]
    shift = root_of_unity(log_n + 1)
    assert coset_values(vals, n) == ntt(scale_powers(intt(vals), shift))


def test_flint_quotient_equals_the_reference_on_the_margin_circuit(keys, witness) -> None:  # type: ignore[no-untyped-def]
    qap = QAP.from_cs(margin_circuit(N, S).cs)
    assert flint_quotient_odd(qap, witness) == quotient_odd(qap, witness)
    assert any(evaluate_abc(qap, witness)[0])


def test_native_proof_is_bit_identical_to_the_reference_for_the_same_r_s(keys, witness, proofs) -> None:  # type: ignore[no-untyped-def]
    native = pb.get_backend("native").prove(pb.load_key(keys.zkey_path, "native"), witness, r=1234, s=5678)
    assert native == proofs["python"]
    assert pb.get_backend("native").prove(pb.load_key(keys.zkey_path, "native"), witness)[0] != native[0]  # random r, s


def test_native_setup_writes_the_reference_keys_byte_for_byte(tmp_path: Path) -> None:
    cs = ConstraintSystem()
    out = cs.public("out")
    x = cs.private_input("x")
    y = x
    for i in range(20):
        y = cs.mul(y, y + i, f"y{i}")
    cs.assert_equal(y, out, "out")
    qap, toxic = QAP.from_cs(cs), Toxic.from_seed(b"native-setup")
    native = pb.get_backend("native")
    formats.write_zkey(tmp_path / "ref.zkey", setup(qap, toxic))
    formats.write_zkey(tmp_path / "nat.zkey", setup(qap, toxic, g1_batch=native.fixed_base_g1, g2_batch=native.fixed_base_g2))
    assert (tmp_path / "ref.zkey").read_bytes() == (tmp_path / "nat.zkey").read_bytes()


# ------------------------------------------------------------------ interoperability -------
@pytest.mark.parametrize("verifier", ALL)
def test_every_backends_proof_verifies_with_every_verifier(keys, proofs, verifier: str) -> None:  # type: ignore[no-untyped-def]
    v = pb.get_backend(verifier)
    publics = {tuple(pub) for _, pub in proofs.values()}
    assert len(publics) == 1  # identical public inputs from every backend
    for maker, (proof, public) in proofs.items():
        assert v.verify(keys.vk, proof, public), (maker, verifier)
        assert not v.verify(keys.vk, proof, [public[0], public[1], 1, *public[3:]]), (maker, verifier)


@pytest.mark.parametrize("maker", ALL)
def test_snarkjs_verifies_each_backends_proof(keys, proofs, maker: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proof, public = proofs[maker]
    formats.write_proof(tmp_path / "proof.json", proof)
    formats.write_public(tmp_path / "public.json", public)
    out = snarkjs("groth16", "verify", str(keys.vk_path), str(tmp_path / "public.json"), str(tmp_path / "proof.json"))
    assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr


def test_snarkjs_proof_verifies_with_every_backend(keys, witness, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    formats.write_wtns(tmp_path / "w.wtns", witness)
    out = snarkjs("groth16", "prove", str(keys.zkey_path), str(tmp_path / "w.wtns"), str(tmp_path / "p.json"), str(tmp_path / "pub.json"))
    assert out.returncode == 0, out.stderr
    proof, public = formats.read_proof(tmp_path / "p.json"), formats.read_public(tmp_path / "pub.json")
    for name in BACKENDS:
        assert pb.get_backend(name).verify(keys.vk, proof, public), name


def _rejected(backend: str, vk: object, words: list[int], public: list[int]) -> bool:
    try:
        return not pb.get_backend(backend).verify(vk, proof_from_evm(words), public)  # type: ignore[arg-type]
    except ProverInputError:
        return True


@pytest.mark.parametrize("verifier", [b for b in ALL if b.values[0] != "python"])  # type: ignore[attr-defined]
def test_1000_mutated_proofs_rejected_by_the_native_verifiers(keys, proofs, verifier: str) -> None:  # type: ignore[no-untyped-def]
    """The python verifier's run of this suite is test_prover_groth16.test_1000_mutations_rejected_in_python."""
    for maker, (proof, public) in proofs.items():
        muts = mutations(proof_to_evm(proof), public, 1000 if maker == "native" else 150, seed=17)
        assert [label for label, w, p in muts if not _rejected(verifier, keys.vk, w, p)] == [], maker


def test_b_outside_the_subgroup_is_rejected_by_every_backend(keys, proofs) -> None:  # type: ignore[no-untyped-def]
    from test_prover_arithmetic import _f2_sqrt

    from prover import curve as c

    x = (1, 0)
    while (y := _f2_sqrt(c.f2_add(c.f2_mul(c.f2_sqr(x), x), c.B2))) is None:
        x = (x[0] + 1, 0)
    proof, public = proofs["python"]
    bad = Proof(proof.a, (x, y), proof.c)
    assert c.g2_is_on_curve(bad.b) and not c.g2_in_subgroup(bad.b)
    for name in BACKENDS:
        assert not pb.get_backend(name).verify(keys.vk, bad, public), name


@pytest.mark.parametrize("backend", ALL)
def test_a_witness_of_the_wrong_size_is_named(keys, witness, backend: str) -> None:  # type: ignore[no-untyped-def]
    key = pb.load_key(keys.zkey_path, backend)
    with pytest.raises(ProverInputError, match="witness: has 3 values, the circuit has"):
        pb.get_backend(backend).prove(key, [1, 2, 3])
    with pytest.raises(ProverInputError, match=r"witness\[0\]: must be 1"):
        pb.get_backend(backend).prove(key, [2, *witness[1:]])


def test_unsatisfying_witness_gives_a_rejected_proof_on_every_backend(keys, witness) -> None:  # type: ignore[no-untyped-def]
    w = list(witness)
    w[-1] = (w[-1] + 1) % R
    for name in BACKENDS:
        proof, public = pb.get_backend(name).prove(pb.load_key(keys.zkey_path, name), w)
        assert not pb.get_backend("native").verify(keys.vk, proof, public), name


# ------------------------------------------------------------------ key cache, selection ---
def test_keys_are_parsed_once_per_file_hash(keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    native = pb.get_backend("native")
    loads: list[str] = []
    real = type(native).load
    monkeypatch.setattr(type(native), "load", lambda self, path, sha: (loads.append(str(path)), real(self, path, sha))[1])
    pb.clear_key_cache()
    first = pb.load_key(keys.zkey_path, "native")
    assert pb.load_key(keys.zkey_path, "native") is first and len(loads) == 1
    copy = tmp_path / "copy.zkey"
    copy.write_bytes(keys.zkey_path.read_bytes())
    assert pb.load_key(copy, "native") is first and len(loads) == 1  # same content, another path
    other = devnet_setup(N, S, tmp_path / "other", seed="another seed")
    copy.write_bytes(other.zkey_path.read_bytes())  # replaced in place: hashed again, parsed again
    replaced = pb.load_key(copy, "native")
    assert replaced is not first and replaced.vk == other.vk and len(loads) == 2
    assert first.sha256 == pb.file_sha256(keys.zkey_path) != replaced.sha256
    with pytest.raises(ArtefactError, match="zkey file not found"):
        pb.load_key(tmp_path / "missing.zkey", "native")


def test_backend_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pb.ENV, raising=False)
    monkeypatch.setattr(pb, "_selected", None)
    assert pb.backend_name() == "native"  # automatic: native where it can run
    monkeypatch.setenv(pb.ENV, "python")
    assert pb.backend_name() == "python" and pb.get_backend().name == "python"
    pb.set_backend("native")
    assert pb.backend_name() == "native" and pb.backend_name("python") == "python"
    pb.set_backend("auto")
    assert pb.backend_name() == "python"  # back to the environment's choice
    monkeypatch.setenv(pb.ENV, "fastest")
    with pytest.raises(ProverInputError, match="ZKMARGIN_PROVER_BACKEND: unknown prover backend 'fastest'"):
        pb.backend_name()
    with pytest.raises(ProverInputError, match="backend: unknown prover backend 'rust'"):
        pb.set_backend("rust")


def test_groth16py_is_never_automatic_and_a_missing_one_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pb.ENV, raising=False)
    monkeypatch.setattr(pb, "_selected", None)
    monkeypatch.setattr(pb, "_instances", {})
    monkeypatch.setattr(pb, "_availability", {"native": "not here (test)"})
    assert pb.backend_name() == "python"  # native unavailable: python, never the GPL backend
    monkeypatch.setattr(pb, "_instances", {})
    monkeypatch.setattr(pb, "_availability", {})
    monkeypatch.setitem(sys.modules, "groth16py", None)  # as if not installed
    assert "pip install 'zkmargin[gpl-prover]'" in (pb.available_backends()["groth16py"] or "")
    with pytest.raises(BackendUnavailable, match=r"backend: groth16py: not installed; it is GPL-3.0 and optional: pip install 'zkmargin\[gpl-prover\]'"):
        pb.get_backend("groth16py")


def test_groth16py_refuses_fixed_blinding_scalars(keys, witness) -> None:  # type: ignore[no-untyped-def]
    if "groth16py" not in BACKENDS:
        pytest.skip("groth16py (optional, GPL-3.0) is not installed")
    with pytest.raises(ProverInputError, match="r/s: the groth16py backend draws its own blinding scalars"):
        pb.get_backend("groth16py").prove(pb.load_key(keys.zkey_path, "groth16py"), witness, r=1, s=2)


def test_field_constants_of_the_mcl_layer() -> None:
    assert mcl.MONT_Q == (1 << 256) % Q and mcl.MONT_R == (1 << 256) % R
    assert mcl.lib() is mcl.lib()  # initialised once, on alt_bn128
