"""The generated verifier's ``verifyBatch`` on anvil: k proofs with one random linear combination.

Real proofs for the deterministic n = 2, S = 3 devnet keys (the committed
``SolvencyVerifierN2S3``). Checked: valid batches pass; one bad proof anywhere (a tampered
input, a changed point, a forged pair whose errors cancel for any fixed coefficients) rejects
the batch; malformed batches revert with the single path's errors at batch positions; a batch
of one answers exactly what ``verifyProof`` answers, for hundreds of mutated proofs; the Python
twin (``prover.backend.native.verify_batch``, ``prover.solidity.batch_coefficients``) agrees;
and the gas per proof is measured against the EIP-1108 floor.
"""

from __future__ import annotations

import random

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from prover.api import ProofRequest, devnet_setup, prove_many
from prover.backend.native import verify_batch
from prover.curve import G1_GEN, g1_add_affine, g1_mul, g1_neg
from prover.evm import proof_from_evm, proof_to_evm
from prover.field import Q, R
from prover.keys import Proof
from prover.mutations import mutations
from prover.solidity import batch_coefficients
from prover.statement import PUBLIC_INPUT_NAMES, Account, Epoch
from zkmargin.executor import SequentialExecutor

N_PUBLIC = len(PUBLIC_INPUT_NAMES)  # six: [C, D, kind, account, collateral, FD_s]
SINGLE = keccak(text="verifyProof(uint256[8],uint256[])")[:4]
BATCH = keccak(text="verifyBatch(uint256[8][],uint256[])")[:4]
ERRORS = {
    keccak(text=sig)[:4]: sig
    for sig in (
        "Verifier_InvalidInputLength(uint256,uint256)",
        "Verifier_InputNotInField(uint256)",
        "Verifier_ProofNotInField(uint256)",
        "Verifier_PointNotOnCurve(uint256)",
        "Verifier_PointAtInfinity(uint256)",
        "Verifier_PrecompileFailed(uint256)",
        "Verifier_EmptyBatch()",
    )
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):  # type: ignore[no-untyped-def]
    return devnet_setup(2, 3, tmp_path_factory.mktemp("zkbatch"))


@pytest.fixture(scope="module")
def batch(keys) -> list[tuple[list[int], list[int]]]:  # type: ignore[no-untyped-def]
    """Six valid proofs (EVM words, public inputs) for different accounts and kinds."""
    rng = random.Random(13)
    ep = Epoch.create(
        12, 15000, [rng.randrange(-(10**9), 10**9) for _ in range(2)],
        [[rng.randrange(-(10**7), 10**7) for _ in range(3)] for _ in range(2)], [rng.randrange(10**5) for _ in range(2)],
    )
    reqs = [ProofRequest(ep, Account.create([rng.randrange(-100, 100) for _ in range(2)], 10**12, rng.randrange(R)), i % 2,
                         0x1000 + i, 10**9 + i) for i in range(6)]
    return [(proof_to_evm(sp.proof), list(sp.public)) for sp in prove_many(keys, reqs, SequentialExecutor())]


@pytest.fixture(scope="module")
def verifier(project, accounts):  # type: ignore[no-untyped-def]
    return project.SolvencyVerifierN2S3.deploy(sender=accounts[0])


def _eth_call(web3, address: str, data: bytes) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    try:
        out = web3.eth.call({"to": address, "data": "0x" + data.hex()})
    except Exception as exc:  # noqa: BLE001 - web3 raises ContractLogicError/ContractCustomError with the revert data
        raw = getattr(exc, "data", None)
        if isinstance(raw, str) and raw.startswith("0x") and len(raw) >= 10:
            b = bytes.fromhex(raw[2:])
            return "revert", (ERRORS.get(b[:4], b[:4].hex()), b[4:])
        return "revert", (str(exc), b"")
    return "ok", abi_decode(["bool"], bytes(out))[0]


def _batch(web3, address: str, proofs: list[list[int]], inputs: list[int]) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    return _eth_call(web3, address, BATCH + abi_encode(["uint256[8][]", "uint256[]"], [proofs, inputs]))


def _single(web3, address: str, words: list[int], public: list[int]) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    return _eth_call(web3, address, SINGLE + abi_encode(["uint256[8]", "uint256[]"], [words, public]))


def _flat(items: list[tuple[list[int], list[int]]]) -> tuple[list[list[int]], list[int]]:
    return [w for w, _ in items], [x for _, p in items for x in p]


def test_valid_batches_pass_and_match_the_python_twin(verifier, batch, keys, chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    for k in (1, 2, 6):
        proofs, inputs = _flat(batch[:k])
        assert _batch(web3, verifier.address, proofs, inputs) == ("ok", True)
        assert verify_batch(keys.vk, [proof_from_evm(w) for w in proofs], [p for _, p in batch[:k]])
    assert verifier.verifyBatch(*_flat(batch)) is True  # through ape's ABI as well


def test_one_bad_proof_anywhere_rejects_the_batch(verifier, batch, keys, chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    for pos in range(len(batch)):
        items = [(list(w), list(p)) for w, p in batch]
        items[pos][1][3] = (items[pos][1][3] + 1) % R  # another account: a false statement
        assert _batch(web3, verifier.address, *_flat(items)) == ("ok", False), pos
        items = [(list(w), list(p)) for w, p in batch]
        items[pos] = (items[pos][0], list(batch[(pos + 1) % len(batch)][1]))  # proof of a different statement
        assert _batch(web3, verifier.address, *_flat(items)) == ("ok", False), pos
        proofs = [proof_from_evm(w) for w, _ in items]
        assert not verify_batch(keys.vk, proofs, [p for _, p in items])


def test_errors_that_cancel_for_fixed_coefficients_are_caught(verifier, batch, keys, chain) -> None:  # type: ignore[no-untyped-def]
    """C_0 + D and C_1 - D: two invalid proofs whose sum equals that of two valid ones. A batch
    check with coefficients the submitter could predict as (1, 1) would accept them."""
    web3 = chain.provider.web3
    d = g1_mul(G1_GEN, 987654321)
    (w0, p0), (w1, p1) = batch[0], batch[1]
    c0 = g1_add_affine((w0[6], w0[7]), d)
    c1 = g1_add_affine((w1[6], w1[7]), g1_neg(d))
    f0, f1 = [*w0[:6], *c0], [*w1[:6], *c1]  # type: ignore[misc]
    assert _single(web3, verifier.address, f0, p0) == ("ok", False)
    assert _single(web3, verifier.address, f1, p1) == ("ok", False)
    # the sum of the two pairing equations holds: with r = (1, 1) the forgery would pass
    fixed = _naive_sum_check(keys.vk, [proof_from_evm(f0), proof_from_evm(f1)], [p0, p1])
    assert fixed is True
    assert batch_coefficients([f0, f1], [*p0, *p1])[1] != 1
    assert _batch(web3, verifier.address, [f0, f1], [*p0, *p1]) == ("ok", False)


def _naive_sum_check(vk, proofs: list[Proof], publics: list[list[int]]) -> bool:  # type: ignore[no-untyped-def]
    """The batch equation with all coefficients 1 (what a predictable combination gives)."""
    from prover.backend import mcl
    from prover.backend.native import _vk_points

    ic, alpha, beta, gamma, delta = _vk_points(vk)
    k = len(proofs)
    scal = [k] + [sum(pub[j] for pub in publics) % R for j in range(vk.n_public)]
    vk_x = mcl.msm_g1(ic, mcl.fr_array(scal), vk.n_public + 1)
    c_sum = mcl.g1_sum(*(mcl.g1_from_affine(p.c) for p in proofs))
    g1s = [mcl.g1_neg(mcl.g1_from_affine(p.a)) for p in proofs]
    g2s = [mcl.g2_from_affine(p.b) for p in proofs]
    return mcl.pairing_product_is_one([*g1s, mcl.g1_mul(alpha, k), vk_x, c_sum], [*g2s, beta, gamma, delta])


def test_malformed_batches_revert_with_batch_positions(verifier, batch, chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    proofs, inputs = _flat(batch[:3])

    def expect(ps: list[list[int]], xs: list[int], sig: str, args: list[int]) -> None:
        kind, res = _batch(web3, verifier.address, ps, xs)
        assert kind == "revert", (sig, res)
        name, payload = res  # type: ignore[misc]
        assert name == sig
        assert list(abi_decode(["uint256"] * len(args), payload)) == args

    expect([], [], "Verifier_EmptyBatch()", [])
    n = len(proofs) * N_PUBLIC
    expect(proofs, inputs[:-1], "Verifier_InvalidInputLength(uint256,uint256)", [n, n - 1])
    expect(proofs[:2], inputs, "Verifier_InvalidInputLength(uint256,uint256)", [2 * N_PUBLIC, n])
    bad = [list(p) for p in proofs]
    bad[2][6] = Q
    expect(bad, inputs, "Verifier_ProofNotInField(uint256)", [8 * 2 + 6])
    bad = [list(p) for p in proofs]
    bad[1][1] = (bad[1][1] + 1) % Q
    expect(bad, inputs, "Verifier_PointNotOnCurve(uint256)", [3 * 1 + 0])
    bad = [list(p) for p in proofs]
    bad[2][2:6] = [0, 0, 0, 0]
    expect(bad, inputs, "Verifier_PointAtInfinity(uint256)", [3 * 2 + 1])
    xs = list(inputs)
    xs[N_PUBLIC * 1 + 4] = R
    expect(proofs, xs, "Verifier_InputNotInField(uint256)", [N_PUBLIC * 1 + 4])


@pytest.mark.slow
def test_a_batch_of_one_answers_as_the_single_path(verifier, batch, chain) -> None:  # type: ignore[no-untyped-def]
    web3 = chain.provider.web3
    words, public = batch[0]
    cases = [("valid", words, public), *mutations(words, public, 300, seed=21)]
    outcomes = set()
    for label, w, p in cases:
        single = _single(web3, verifier.address, w, p)
        if len(p) != N_PUBLIC:  # a batch of one proof needs N inputs: the same length error
            assert single[0] == "revert" and single[1][0] == "Verifier_InvalidInputLength(uint256,uint256)", label  # type: ignore[index]
            continue
        assert _batch(web3, verifier.address, [w], p) == single, label
        outcomes.add(single[0] if single[0] == "revert" else single[1])
    assert outcomes == {True, False, "revert"}  # every kind of answer was compared


def test_gas_per_proof_beats_the_eip1108_floor(verifier, batch, chain, accounts) -> None:  # type: ignore[no-untyped-def]
    """Execution gas of verifyBatch for k = 1 and 6, per proof, against 181,000 + 6,150 per input
    (the EIP-1108 cost of k separate verifications; bench/bench_batch_verify.py measures more k)."""
    web3 = chain.provider.web3
    floor = 181_000 + 6_150 * N_PUBLIC
    per_proof = {}
    for k in (1, 6):
        proofs, inputs = _flat(batch[:k])
        data = BATCH + abi_encode(["uint256[8][]", "uint256[]"], [proofs, inputs])
        gas = web3.eth.estimate_gas({"to": verifier.address, "data": "0x" + data.hex(), "from": accounts[0].address})
        execution = gas - 21_000 - sum(4 if b == 0 else 16 for b in data)
        per_proof[k] = execution / k
    print(f"\nverifyBatch execution gas per proof: {per_proof} (EIP-1108 floor {floor:,} per proof)")
    assert per_proof[1] <= floor * 1.10
    assert per_proof[6] < floor / 2
