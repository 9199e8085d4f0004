"""The generated Solidity Groth16 verifiers on anvil, and the BN254 precompiles vs our curve code.

Fixtures (all in this file): deterministic devnet keys for n=2, S=3 (and n=8, S=15 for the
committed demo-size verifier), a valid solvency proof, and the deployed verifiers.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from prover import formats
from prover.api import devnet_setup, prove_solvency, verify_solvency, witness_for
from prover.curve import G1_GEN, G2_GEN, g1_add_affine, g1_mul, g2_mul
from prover.evm import g1_words, g2_words, proof_to_evm
from prover.field import Q, R
from prover.mutations import mutations
from prover.solidity import generate_verifier
from prover.statement import Account, Epoch

ROOT = Path(__file__).resolve().parents[2]
SELECTOR = keccak(text="verifyProof(uint256[8],uint256[])")[:4]
N_PUBLIC = 5
GAS_TARGET = int((181_000 + 6_200 * N_PUBLIC) * 1.10)


def _error_selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


ERRORS = {
    _error_selector(sig): sig
    for sig in (
        "Verifier_InvalidInputLength(uint256,uint256)",
        "Verifier_InputNotInField(uint256)",
        "Verifier_ProofNotInField(uint256)",
        "Verifier_PointNotOnCurve(uint256)",
        "Verifier_PointAtInfinity(uint256)",
        "Verifier_PrecompileFailed(uint256)",
    )
}


def _epoch_account(n: int, s: int, seed: int) -> tuple[Epoch, Account]:
    rng = random.Random(seed)
    ep = Epoch.create(
        11, 15000, [rng.randrange(-(10**9), 10**9) for _ in range(n)],
        [[rng.randrange(-(10**7), 10**7) for _ in range(s)] for _ in range(n)], [rng.randrange(10**5) for _ in range(n)],
    )
    return ep, Account.create([rng.randrange(-100, 100) for _ in range(n)], 10**12, rng.randrange(R))


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zkkeys")


@pytest.fixture(scope="module")
def keys_small(keys_dir: Path):  # type: ignore[no-untyped-def]
    return devnet_setup(2, 3, keys_dir)


@pytest.fixture(scope="module")
def owner(accounts):  # type: ignore[no-untyped-def]
    return accounts[0]


@pytest.fixture(scope="module")
def verifier_small(project, owner):  # type: ignore[no-untyped-def]
    return project.SolvencyVerifierN2S3.deploy(sender=owner)


@pytest.fixture(scope="module")
def valid_small(keys_small):  # type: ignore[no-untyped-def]
    ep, acc = _epoch_account(2, 3, 1)
    sp = prove_solvency(keys_small, ep, acc, kind=0, address=0x70997970C51812DC3A010C7D01B50E0D17DC79C8, collateral=10**9)
    assert verify_solvency(keys_small.vk, sp.proof, sp.public)
    return sp


def _call(web3, address: str, words: list[int], public: list[int]) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """eth_call verifyProof; returns ("ok", bool) or ("revert", error signature + args)."""
    data = SELECTOR + abi_encode(["uint256[8]", "uint256[]"], [words, public])
    try:
        out = web3.eth.call({"to": address, "data": "0x" + data.hex()})
    except Exception as exc:  # noqa: BLE001 - web3 raises ContractLogicError/ContractCustomError with the revert data
        raw = getattr(exc, "data", None)
        if isinstance(raw, str) and raw.startswith("0x") and len(raw) >= 10:
            b = bytes.fromhex(raw[2:])
            return ("revert", (ERRORS.get(b[:4], b[:4].hex()), b[4:]))
        return ("revert", (str(exc), b""))
    return ("ok", abi_decode(["bool"], bytes(out))[0])


def test_committed_verifiers_match_the_devnet_keys(keys_small, keys_dir: Path) -> None:  # type: ignore[no-untyped-def]
    committed = (ROOT / "contracts/verifiers/SolvencyVerifierN2S3.sol").read_text()
    assert committed == generate_verifier(keys_small.vk, "SolvencyVerifierN2S3")


@pytest.mark.slow
def test_demo_size_verifier_matches_and_accepts_a_proof(keys_dir: Path, project, owner, chain) -> None:  # type: ignore[no-untyped-def]
    keys = devnet_setup(8, 15, keys_dir)
    committed = (ROOT / "contracts/verifiers/SolvencyVerifierN8S15.sol").read_text()
    assert committed == generate_verifier(keys.vk, "SolvencyVerifierN8S15")
    v = project.SolvencyVerifierN8S15.deploy(sender=owner)
    ep, acc = _epoch_account(8, 15, 2)
    sp = prove_solvency(keys, ep, acc, kind=1, address=0xABCDEF, collateral=10**10)
    words, public = sp.evm()
    assert v.verifyProof(words, public) is True
    public[1] = (public[1] + 1) % R  # another epoch digest
    assert v.verifyProof(words, public) is False


def test_valid_proof_accepted_and_gas_within_target(verifier_small, valid_small, chain, owner) -> None:  # type: ignore[no-untyped-def]
    words, public = valid_small.evm()
    assert verifier_small.verifyProof(words, public) is True
    web3 = chain.provider.web3
    data = "0x" + (SELECTOR + abi_encode(["uint256[8]", "uint256[]"], [words, public])).hex()
    gas = web3.eth.estimate_gas({"to": verifier_small.address, "data": data, "from": owner.address})
    raw = bytes.fromhex(data[2:])
    intrinsic = 21_000 + sum(4 if b == 0 else 16 for b in raw)
    execution = gas - intrinsic
    print(f"\nverifyProof gas: transaction {gas} (intrinsic {intrinsic}), execution {execution}; target {GAS_TARGET}")
    assert execution <= GAS_TARGET
    # a non-zero kind costs one more ecMul
    words1, public1 = words, [*public[:2], 1, *public[3:]]
    data1 = "0x" + (SELECTOR + abi_encode(["uint256[8]", "uint256[]"], [words1, public1])).hex()
    gas1 = web3.eth.estimate_gas({"to": verifier_small.address, "data": data1, "from": owner.address})
    execution1 = gas1 - 21_000 - sum(4 if b == 0 else 16 for b in bytes.fromhex(data1[2:]))
    print(f"verifyProof gas with all 5 inputs non-zero: transaction {gas1}, execution {execution1}")
    assert execution1 <= GAS_TARGET


def test_malformed_inputs_revert_with_named_errors(verifier_small, valid_small, chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    words, public = valid_small.evm()
    addr = verifier_small.address

    def expect(ws: list[int], ps: list[int], sig: str, args: list[int]) -> None:
        kind, res = _call(web3, addr, ws, ps)
        assert kind == "revert", (sig, res)
        name, payload = res  # type: ignore[misc]
        assert name == sig
        assert list(abi_decode(["uint256"] * len(args), payload)) == args

    n = len(public)  # six: [C, D, kind, account, collateral, FD_s]
    expect(words, public[:4], "Verifier_InvalidInputLength(uint256,uint256)", [n, 4])
    expect(words, [*public, 1], "Verifier_InvalidInputLength(uint256,uint256)", [n, n + 1])
    expect(words, [*public[:3], R, *public[4:]], "Verifier_InputNotInField(uint256)", [3])
    expect([*words[:6], Q, words[7]], public, "Verifier_ProofNotInField(uint256)", [6])
    expect([words[0], (words[1] + 1) % Q, *words[2:]], public, "Verifier_PointNotOnCurve(uint256)", [0])
    expect([*words[:2], words[3], words[2], *words[4:]], public, "Verifier_PointNotOnCurve(uint256)", [1])
    expect([*words[:6], 0, 0], public, "Verifier_PointAtInfinity(uint256)", [2])
    expect([*words[:2], 0, 0, 0, 0, *words[6:]], public, "Verifier_PointAtInfinity(uint256)", [1])


@pytest.mark.slow
def test_1000_mutated_proofs_rejected_onchain(verifier_small, valid_small, chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    words, public = valid_small.evm()
    muts = mutations(words, public, 1000, seed=9)
    assert len(muts) >= 1000
    accepted = []
    reverts = 0
    for label, w, p in muts:
        kind, res = _call(web3, verifier_small.address, w, p)
        if kind == "ok" and res is True:
            accepted.append(label)
        reverts += kind == "revert"
    assert accepted == []
    assert 0 < reverts < len(muts)  # both paths exercised: reverts (malformed) and false (pairing)


def test_snarkjs_proof_verifies_onchain_and_in_python(keys_small, verifier_small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    ep, acc = _epoch_account(2, 3, 5)
    w = witness_for(keys_small, ep, acc, 0, 0xDEAD, 10**9)
    formats.write_wtns(tmp_path / "w.wtns", w)
    out = subprocess.run(
        ["node", str(ROOT / "node_modules/snarkjs/cli.js"), "groth16", "prove", str(keys_small.zkey_path),
         str(tmp_path / "w.wtns"), str(tmp_path / "proof.json"), str(tmp_path / "public.json")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert out.returncode == 0, out.stderr
    proof = formats.read_proof(tmp_path / "proof.json")
    public = formats.read_public(tmp_path / "public.json")
    assert verify_solvency(keys_small.vk, proof, public)
    assert verifier_small.verifyProof(proof_to_evm(proof), public) is True


# ------------------------------------------------------------------ precompiles -------
def _precompile(web3, address: int, data: bytes) -> bytes:  # type: ignore[no-untyped-def]
    return bytes(web3.eth.call({"to": "0x" + address.to_bytes(20, "big").hex(), "data": "0x" + data.hex()}))


def test_ecadd_ecmul_match_anvil(chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    rng = random.Random(31)
    for _ in range(12):
        k1, k2, s = rng.randrange(R), rng.randrange(R), rng.randrange(2**256)
        p1, p2 = g1_mul(G1_GEN, k1), g1_mul(G1_GEN, k2)
        out = _precompile(web3, 6, abi_encode(["uint256"] * 4, [*g1_words(p1), *g1_words(p2)]))
        assert list(abi_decode(["uint256", "uint256"], out)) == g1_words(g1_add_affine(p1, p2))
        out = _precompile(web3, 7, abi_encode(["uint256"] * 3, [*g1_words(p1), s]))
        assert list(abi_decode(["uint256", "uint256"], out)) == g1_words(g1_mul(p1, s))


def test_pairing_precompile_matches(chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    rng = random.Random(32)
    for _ in range(3):
        a, b = rng.randrange(1, R), rng.randrange(1, R)
        # e(aG1, bG2) * e(-abG1, G2) == 1
        p = g1_mul(G1_GEN, a)
        q = g2_mul(G2_GEN, b)
        neg = g1_mul(G1_GEN, (-a * b) % R)
        data = abi_encode(["uint256"] * 12, [*g1_words(p), *g2_words(q), *g1_words(neg), *g2_words(G2_GEN)])
        assert abi_decode(["uint256"], _precompile(web3, 8, data))[0] == 1
        neg2 = g1_mul(G1_GEN, (-a * b + 1) % R)
        data = abi_encode(["uint256"] * 12, [*g1_words(p), *g2_words(q), *g1_words(neg2), *g2_words(G2_GEN)])
        assert abi_decode(["uint256"], _precompile(web3, 8, data))[0] == 0
