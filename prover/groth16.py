"""Groth16 over BN254 (Groth, "On the Size of Pairing-based Non-interactive Arguments", 2016),
with snarkjs's QAP conventions so that keys, witnesses and proofs interoperate with snarkjs.

QAP (as snarkjs ``zkey new``): the evaluation domain has ``N = 2^k >= m + l + 1`` points
(``m`` constraints, ``l`` public inputs) with ``w = root_of_unity(k)``; constraint ``j`` sits
at ``w^j`` and the extra constraints ``w_i * 0 = 0`` (``i = 0..l``) at ``w^(m+i)`` make the
public inputs' polynomials independent.  ``u_i, v_i, w_i`` are the Lagrange interpolations of
column ``i`` of A, B, C.

Keys: ``A_i = [u_i(t)]_1``, ``B_i = [v_i(t)]_1, [v_i(t)]_2``,
``IC_i = [(b u_i + a v_i + w_i)(t) / g]_1`` (public), ``C_i = [(...)(t) / d]_1`` (private),
and the quotient query ``H_k = [L'_{2k+1}(t) / d]_1`` where ``L'_j`` are the Lagrange
polynomials of the ``2N``-point domain: since ``A B - C`` vanishes on the even points
(the ``N``-domain), ``sum_k P(odd_k) L'_{2k+1}(t) = h(t) Z(t)``, so the prover only needs
``P = A B - C`` on the odd coset ``w_2N * <w>`` (snarkjs ``groth16_prove``).

Proof, with random ``r, s``:
``A = a + sum w_i A_i + r d``, ``B = b + sum w_i B_i + s d`` (G2; the same in G1 gives B1),
``C = sum_priv w_i C_i + sum_k P_k H_k + s A + r B1 - r s d``.
Verify: ``e(A, B) = e(a, b) e(sum x_i IC_i, g) e(C, d)``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from prover.curve import (
    G1_GEN,
    G2_GEN,
    G1Affine,
    G2Affine,
    g1_add_mixed,
    g1_is_on_curve,
    g1_mul,
    g1_neg,
    g1_to_affine,
    g1_to_jac,
    g1_to_pyecc,
    g2_add,
    g2_in_subgroup,
    g2_is_on_curve,
    g2_mul,
    g2_to_affine,
    g2_to_jac,
    g2_to_pyecc,
)
from prover.errors import ProverInputError
from prover.field import R, batch_inverse, root_of_unity
from prover.fixed_base import FixedBaseG1, FixedBaseG2
from prover.keys import Proof, VerifyingKey
from prover.msm import msm_g1
from prover.ntt import intt, ntt, scale_powers
from prover.r1cs import ConstraintSystem

INSECURE_LABEL = "INSECURE single-party devnet setup: the toxic waste is derived from a public seed"


@dataclass(frozen=True)
class QAP:
    """The R1CS matrices in the form the setup and the prover use."""

    n_vars: int
    n_public: int
    n_constraints: int
    domain_size: int
    #: rows of A (per constraint: (signal, coeff)), followed by the n_public + 1 extra rows
    a: list[list[tuple[int, int]]]
    b: list[list[tuple[int, int]]]
    #: rows of C (empty when the QAP was read from a .zkey: the prover does not need them)
    c: list[list[tuple[int, int]]]

    @classmethod
    def from_cs(cls, cs: ConstraintSystem) -> QAP:
        return cls.from_matrices(
            cs.n_signals,
            cs.n_public,
            [k.a for k in cs.constraints],
            [k.b for k in cs.constraints],
            [k.c for k in cs.constraints],
        )

    @classmethod
    def from_matrices(
        cls,
        n_vars: int,
        n_public: int,
        a: list[list[tuple[int, int]]],
        b: list[list[tuple[int, int]]],
        c: list[list[tuple[int, int]]],
    ) -> QAP:
        m = len(a)
        need = m + n_public + 1
        size = 1
        while size < need:
            size <<= 1
        # snarkjs: cirPower = log2(nConstraints + nPublic + 1 - 1) + 1 (so at least 2 points)
        size = max(size, 2)
        extra = [[(i, 1)] for i in range(n_public + 1)]
        return cls(n_vars, n_public, m, size, [*a, *extra], list(b), list(c))


@dataclass
class ProvingKey:
    qap: QAP
    alpha1: G1Affine
    beta1: G1Affine
    beta2: G2Affine
    delta1: G1Affine
    delta2: G2Affine
    a_query: list[G1Affine]  # n_vars
    b1_query: list[G1Affine]  # n_vars
    b2_query: list[G2Affine]  # n_vars
    c_query: list[G1Affine]  # n_vars - n_public - 1 (private signals)
    h_query: list[G1Affine]  # domain_size
    vk: VerifyingKey


@dataclass(frozen=True)
class Toxic:
    tau: int
    alpha: int
    beta: int
    gamma: int
    delta: int

    @classmethod
    def from_seed(cls, seed: bytes | str | int) -> Toxic:
        """Derive the trapdoor deterministically (devnet only: anyone with the seed can forge)."""
        if isinstance(seed, int):
            seed = seed.to_bytes(32, "big", signed=False)
        if isinstance(seed, str):
            seed = seed.encode()

        def draw(label: str) -> int:
            ctr = 0
            while True:
                h = hashlib.sha512(b"zkmargin-groth16-devnet|" + label.encode() + b"|" + seed + bytes([ctr])).digest()
                v = int.from_bytes(h, "big") % R
                if v > 1:
                    return v
                ctr += 1

        return cls(draw("tau"), draw("alpha"), draw("beta"), draw("gamma"), draw("delta"))


def lagrange_at(tau: int, size: int) -> list[int]:
    """``[L_j(tau)]`` for the size-``size`` domain: ``L_j(t) = (t^N - 1)/N * w^j / (t - w^j)``."""
    w = root_of_unity(size.bit_length() - 1)
    zt = (pow(tau, size, R) - 1) % R
    if zt == 0:
        raise ValueError("tau lies in the evaluation domain")
    roots = [1] * size
    for j in range(1, size):
        roots[j] = roots[j - 1] * w % R
    invs = batch_inverse([(tau - x) % R for x in roots])
    k = zt * pow(size, -1, R) % R
    return [k * x % R * i % R for x, i in zip(roots, invs)]


#: ``batch(base, scalars) -> [k * base for k in scalars]`` (affine; fixed-base products)
G1Batch = Callable[[G1Affine, Sequence[int]], list[G1Affine]]
G2Batch = Callable[[G2Affine, Sequence[int]], list[G2Affine]]


@lru_cache(maxsize=2)
def _table_g1(base: G1Affine) -> FixedBaseG1:
    assert base is not None
    return FixedBaseG1(base)


@lru_cache(maxsize=2)
def _table_g2(base: G2Affine) -> FixedBaseG2:
    return FixedBaseG2(base)


def fixed_base_g1(base: G1Affine, scalars: Sequence[int]) -> list[G1Affine]:
    """``[k * base for k in scalars]`` in pure Python (a window table per base, kept)."""
    return _table_g1(base).batch_mul(list(scalars))


def fixed_base_g2(base: G2Affine, scalars: Sequence[int]) -> list[G2Affine]:
    return _table_g2(base).batch_mul(list(scalars))


def setup(
    qap: QAP,
    toxic: Toxic,
    g1_batch: G1Batch | None = None,
    g2_batch: G2Batch | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ProvingKey:
    """Generate the proving and verifying keys from the trapdoor ``toxic``.

    ``g1_batch``/``g2_batch`` compute the fixed-base products (default: the pure-Python
    :class:`FixedBaseG1`/:class:`FixedBaseG2`; a native backend passes its own, and the keys
    are the same either way); ``progress`` receives ``(stage, done, total)``.
    """
    mul1 = g1_batch or fixed_base_g1
    mul2 = g2_batch or fixed_base_g2
    report = progress or (lambda stage, done, total: None)
    tau, alpha, beta, gamma, delta = toxic.tau, toxic.alpha, toxic.beta, toxic.gamma, toxic.delta
    n = qap.domain_size
    report(f"QAP polynomials at tau (domain {n})", 0, 0)
    lag = lagrange_at(tau, n)
    u = [0] * qap.n_vars
    v = [0] * qap.n_vars
    wv = [0] * qap.n_vars
    if len(qap.c) != qap.n_constraints:
        raise ProverInputError("qap", "setup needs the C matrix (build the QAP from the circuit or the .r1cs)")
    for rows, acc in ((qap.a, u), (qap.b, v), (qap.c, wv)):
        for j, row in enumerate(rows):
            lj = lag[j]
            for s, coef in row:
                acc[s] = (acc[s] + coef * lj) % R
    g_inv = pow(gamma, -1, R)
    d_inv = pow(delta, -1, R)
    comb = [(beta * u[i] + alpha * v[i] + wv[i]) % R for i in range(qap.n_vars)]
    ic_scalars = [comb[i] * g_inv % R for i in range(qap.n_public + 1)]
    c_scalars = [comb[i] * d_inv % R for i in range(qap.n_public + 1, qap.n_vars)]
    lag2 = lagrange_at(tau, 2 * n)
    h_scalars = [lag2[2 * k + 1] * d_inv % R for k in range(n)]

    # A, B1, B2 (in G2), C, H queries and IC
    jobs: list[tuple[bool, list[int]]] = [(False, u), (False, v), (True, v), (False, c_scalars), (False, h_scalars),
                                          (False, ic_scalars)]
    total = sum(len(sc) for _, sc in jobs)
    done = 0
    out: list[list[Any]] = []
    chunk = 2048
    for in_g2, scalars in jobs:
        points: list[Any] = []
        for lo in range(0, len(scalars), chunk):
            part = scalars[lo : lo + chunk]
            points += mul2(G2_GEN, part) if in_g2 else mul1(G1_GEN, part)
            done += len(part)
            report("fixed-base products", done, total)
        out.append(points)
    a_query, b1_query, b2_query, c_query, h_query, ic = out
    vk = VerifyingKey(
        alpha1=g1_mul(G1_GEN, alpha),
        beta2=g2_mul(G2_GEN, beta),
        gamma2=g2_mul(G2_GEN, gamma),
        delta2=g2_mul(G2_GEN, delta),
        ic=tuple(ic),
    )
    return ProvingKey(
        qap=qap,
        alpha1=vk.alpha1,
        beta1=g1_mul(G1_GEN, beta),
        beta2=vk.beta2,
        delta1=g1_mul(G1_GEN, delta),
        delta2=vk.delta2,
        a_query=a_query,
        b1_query=b1_query,
        b2_query=b2_query,
        c_query=c_query,
        h_query=h_query,
        vk=vk,
    )


def evaluate_abc(qap: QAP, w: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    """``A_T, B_T, C_T``: the constraint rows applied to the witness, on the N-domain."""
    n = qap.domain_size
    a_t = [0] * n
    b_t = [0] * n
    for j, row in enumerate(qap.a):
        a_t[j] = sum(coef * w[s] for s, coef in row) % R
    for j, row in enumerate(qap.b):
        b_t[j] = sum(coef * w[s] for s, coef in row) % R
    c_t = [x * y % R for x, y in zip(a_t, b_t)]
    return a_t, b_t, c_t


def quotient_odd(qap: QAP, w: Sequence[int]) -> list[int]:
    """``P = A B - C`` on the odd coset of the 2N-domain (the H-query scalars)."""
    n = qap.domain_size
    a_t, b_t, c_t = evaluate_abc(qap, w)
    shift = root_of_unity(n.bit_length())  # primitive 2N-th root
    odd = []
    for vals in (a_t, b_t, c_t):
        odd.append(ntt(scale_powers(intt(vals), shift)))
    return [(x * y - z) % R for x, y, z in zip(*odd)]


def _check_witness(pk: ProvingKey, w: Sequence[int]) -> None:
    if len(w) != pk.qap.n_vars:
        raise ProverInputError("witness", f"has {len(w)} values, the circuit has {pk.qap.n_vars} signals")
    if w[0] % R != 1:
        raise ProverInputError("witness[0]", "must be 1 (the constant-one signal)")


def prove(
    pk: ProvingKey,
    w: Sequence[int],
    r: int | None = None,
    s: int | None = None,
    parallel: bool = True,
) -> tuple[Proof, list[int]]:
    """A Groth16 proof for witness ``w``; returns ``(proof, public_inputs)``.

    ``r``, ``s`` are the blinding scalars (fresh random ones by default).  The witness is not
    checked against the constraints here (see :meth:`ConstraintSystem.first_violation`): an
    unsatisfying witness yields a proof that does not verify.
    """
    _check_witness(pk, w)
    qap = pk.qap
    r = secrets.randbelow(R - 1) + 1 if r is None else r % R
    s = secrets.randbelow(R - 1) + 1 if s is None else s % R
    p_odd = quotient_odd(qap, w)
    priv = list(w[qap.n_public + 1 :])
    from prover.parallel import run_msms

    a_sum, b1_sum, c_sum, h_sum, b2_sum = run_msms(
        [
            ("g1", pk.a_query, list(w)),
            ("g1", pk.b1_query, list(w)),
            ("g1", pk.c_query, priv),
            ("g1", pk.h_query, p_odd),
            ("g2", pk.b2_query, list(w)),
        ],
        parallel=parallel,
    )

    def add1(*pts: G1Affine) -> G1Affine:
        acc = g1_to_jac(None)
        for p in pts:
            if p is not None:
                acc = g1_add_mixed(acc, p[0], p[1])
        return g1_to_affine(acc)

    pi_a = add1(pk.alpha1, a_sum, g1_mul(pk.delta1, r))
    pi_b = g2_to_affine(g2_add(g2_add(g2_to_jac(pk.beta2), g2_to_jac(b2_sum)), g2_to_jac(g2_mul(pk.delta2, s))))
    b1 = add1(pk.beta1, b1_sum, g1_mul(pk.delta1, s))
    pi_c = add1(c_sum, h_sum, g1_mul(pi_a, s), g1_mul(b1, r), g1_mul(pk.delta1, (-r * s) % R))
    public = [x % R for x in w[1 : qap.n_public + 1]]
    return Proof(pi_a, pi_b, pi_c), public


def verify(vk: VerifyingKey, proof: Proof, public: Sequence[int]) -> bool:
    """Check ``e(A, B) = e(alpha, beta) e(vk_x, gamma) e(C, delta)``.

    Returns False for a proof that fails the pairing check or is malformed (a point off its
    curve or at infinity, B outside the order-r subgroup); raises :class:`ProverInputError`
    for a wrong number of public inputs or an input ``>= r`` (as the Solidity verifier
    reverts for these).
    """
    from py_ecc.optimized_bn128 import FQ12, final_exponentiate  # type: ignore[attr-defined]

    if len(public) != vk.n_public:
        raise ProverInputError("public", f"expected {vk.n_public} public inputs, got {len(public)}")
    for i, x in enumerate(public):
        if not 0 <= x < R:
            raise ProverInputError(f"public[{i}]", "must be in [0, r)")
    for p in (proof.a, proof.c):
        if p is None or not g1_is_on_curve(p):
            return False
    if proof.b is None or not g2_is_on_curve(proof.b) or not g2_in_subgroup(proof.b):
        return False
    vk_x = msm_g1(list(vk.ic), [1, *public])
    acc = FQ12.one()
    for g2p, g1p in ((proof.b, g1_neg(proof.a)), (vk.beta2, vk.alpha1), (vk.gamma2, vk_x), (vk.delta2, proof.c)):
        acc = acc * _miller(g2p, g1p)
    return bool(final_exponentiate(acc) == FQ12.one())


@lru_cache(maxsize=256)
def _miller(g2p: G2Affine, g1p: G1Affine) -> Any:
    """The Miller loop of py-ecc's optimal ate pairing, without the final exponentiation
    (cached: ``e(alpha, beta)`` is the same for every proof of a key)."""
    from py_ecc.optimized_bn128.optimized_pairing import pairing

    return pairing(g2_to_pyecc(g2p), g1_to_pyecc(g1p), final_exponentiate=False)
