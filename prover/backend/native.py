"""The ``native`` backend: the same Groth16 prover with its heavy steps in C.

* the five multi-scalar multiplications (A, B1, B2 in G2, C, H) run in mcl's ``mulVec``
  (:mod:`prover.backend.mcl`; mclbn256's wheel, MIT wrapper around BSD-3-Clause mcl), in
  threads when more than one core is allowed (:func:`prover.parallel.cores_per_proof`);
* the quotient's coset evaluation is three python-flint polynomial products
  (:mod:`prover.backend.quotient`; MIT bindings around LGPL FLINT/GMP, dynamically linked);
* the key is the ``.zkey``'s point sections copied into mcl arrays, not parsed point by point;
* verification is one mcl multi-pairing.

The witness layout, the QAP, the blinding and the combination of the MSM results are those of
:func:`prover.groth16.prove`, step for step, so with the same ``r`` and ``s`` both backends give
the same proof, bit for bit (tested).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from prover import formats
from prover.backend import mcl
from prover.backend.base import Backend, LoadedKey, check_public, check_witness
from prover.backend.quotient import quotient_odd
from prover.curve import G1Affine, G2Affine, g1_is_on_curve, g2_is_on_curve
from prover.errors import ProverInputError
from prover.field import R
from prover.groth16 import QAP
from prover.keys import Proof, VerifyingKey
from prover.parallel import cores_per_proof


@dataclass(frozen=True)
class NativeKey:
    """A proving key as mcl arrays plus the QAP rows the witness is evaluated on."""

    qap: QAP
    a: Any
    b1: Any
    b2: Any
    c: Any
    h: Any
    alpha1: Any
    beta1: Any
    delta1: Any
    beta2: Any
    delta2: Any


class NativeBackend(Backend):
    name = "native"
    license = "MIT wrapper around BSD-3-Clause mcl (mclbn256); MIT bindings around LGPL-3.0+ FLINT/GMP (python-flint)"

    def __init__(self) -> None:
        mcl.lib()  # fail now, with the reason, if mcl or python-flint cannot run here
        from prover.backend.quotient import _context

        _context()

    def load(self, path: Path, sha256: str) -> LoadedKey:
        d = formats.read_zkey_data(path)
        n = d.point_counts
        key = NativeKey(
            qap=d.qap,
            a=mcl.g1_array_from_zkey(d.sections[5], n[5]),
            b1=mcl.g1_array_from_zkey(d.sections[6], n[6]),
            b2=mcl.g2_array_from_zkey(d.sections[7], n[7]),
            c=mcl.g1_array_from_zkey(d.sections[8], n[8]),
            h=mcl.g1_array_from_zkey(d.sections[9], n[9]),
            alpha1=mcl.g1_from_affine(d.alpha1),
            beta1=mcl.g1_from_affine(d.beta1),
            delta1=mcl.g1_from_affine(d.delta1),
            beta2=mcl.g2_from_affine(d.beta2),
            delta2=mcl.g2_from_affine(d.delta2),
        )
        return LoadedKey(self.name, sha256, str(path), d.qap.n_vars, d.qap.n_public, d.vk, key)

    def prove(self, key: LoadedKey, witness: Sequence[int], r: int | None = None, s: int | None = None) -> tuple[Proof, list[int]]:
        check_witness(key, witness)
        k: NativeKey = key.inner
        qap = k.qap
        n, n_pub, size = qap.n_vars, qap.n_public, qap.domain_size
        r = secrets.randbelow(R - 1) + 1 if r is None else r % R
        s = secrets.randbelow(R - 1) + 1 if s is None else s % R
        h = quotient_odd(qap, witness)
        fw = mcl.fr_array(witness)
        fh = mcl.fr_array(h)
        jobs: list[Callable[[], Any]] = [  # largest first: G2 costs about three G1 of the same size
            lambda: mcl.msm_g2(k.b2, fw, n),
            lambda: mcl.msm_g1(k.h, fh, size),
            lambda: mcl.msm_g1(k.a, fw, n),
            lambda: mcl.msm_g1(k.b1, fw, n),
            lambda: mcl.msm_g1(k.c, fw, n - n_pub - 1, 0, n_pub + 1),
        ]
        threads = cores_per_proof()
        if threads > 1:
            with ThreadPoolExecutor(min(threads, len(jobs))) as pool:
                b2_sum, h_sum, a_sum, b1_sum, c_sum = pool.map(lambda job: job(), jobs)
        else:
            b2_sum, h_sum, a_sum, b1_sum, c_sum = (job() for job in jobs)
        pi_a = mcl.g1_sum(k.alpha1, a_sum, mcl.g1_mul(k.delta1, r))
        pi_b = mcl.g2_sum(k.beta2, b2_sum, mcl.g2_mul(k.delta2, s))
        b1 = mcl.g1_sum(k.beta1, b1_sum, mcl.g1_mul(k.delta1, s))
        pi_c = mcl.g1_sum(c_sum, h_sum, mcl.g1_mul(pi_a, s), mcl.g1_mul(b1, r), mcl.g1_mul(k.delta1, (-r * s) % R))
        public = [x % R for x in witness[1 : n_pub + 1]]
        return Proof(mcl.g1_to_affine(pi_a), mcl.g2_to_affine(pi_b), mcl.g1_to_affine(pi_c)), public

    def fixed_base_g1(self, base: G1Affine, scalars: Sequence[int]) -> list[G1Affine]:
        return mcl.g1_batch_mul(base, scalars)

    def fixed_base_g2(self, base: G2Affine, scalars: Sequence[int]) -> list[G2Affine]:
        return mcl.g2_batch_mul(base, scalars)

    def verify(self, vk: VerifyingKey, proof: Proof, public: Sequence[int]) -> bool:
        check_public(vk, public)
        for p in (proof.a, proof.c):
            if p is None or not g1_is_on_curve(p):
                return False
        if proof.b is None or not g2_is_on_curve(proof.b):
            return False
        b = mcl.g2_from_affine(proof.b)
        if not mcl.g2_is_valid(b):  # outside the order-r subgroup
            return False
        ic, alpha, beta, gamma, delta = _vk_points(vk)
        vk_x = mcl.msm_g1(ic, mcl.fr_array([1, *public]), len(public) + 1)
        return mcl.pairing_product_is_one(
            [mcl.g1_neg(mcl.g1_from_affine(proof.a)), alpha, vk_x, mcl.g1_from_affine(proof.c)],
            [b, beta, gamma, delta],
        )


def verify_batch(vk: VerifyingKey, proofs: Sequence[Proof], publics: Sequence[Sequence[int]]) -> bool:
    """The check of the generated ``verifyBatch``, in Python (the same coefficients, from
    :func:`prover.solidity.batch_coefficients`): ``prod_i e(-r_i A_i, B_i) e(sum r_i alpha, beta)
    e(sum r_i vk_x_i, gamma) e(sum r_i C_i, delta) == 1``. False for a malformed point."""
    from prover.evm import proof_to_evm
    from prover.solidity import batch_coefficients

    if not proofs or len(proofs) != len(publics):
        raise ProverInputError("proofs", f"needs one or more proofs and as many statements, got {len(proofs)} and {len(publics)}")
    for public in publics:
        check_public(vk, public)
    for proof in proofs:
        if proof.a is None or proof.c is None or proof.b is None:
            return False
        if not (g1_is_on_curve(proof.a) and g1_is_on_curve(proof.c) and g2_is_on_curve(proof.b)):
            return False
        if not mcl.g2_is_valid(mcl.g2_from_affine(proof.b)):
            return False
    rs = batch_coefficients([proof_to_evm(p) for p in proofs], [x for pub in publics for x in pub])
    ic, alpha, beta, gamma, delta = _vk_points(vk)
    r_sum = sum(rs) % R
    scalars = [r_sum] + [sum(r * pub[j] for r, pub in zip(rs, publics)) % R for j in range(vk.n_public)]
    vk_x = mcl.msm_g1(ic, mcl.fr_array(scalars), vk.n_public + 1)
    c_sum = mcl.g1_sum(*(mcl.g1_mul(mcl.g1_from_affine(p.c), r) for p, r in zip(proofs, rs)))
    g1s = [mcl.g1_neg(mcl.g1_mul(mcl.g1_from_affine(p.a), r)) for p, r in zip(proofs, rs)]
    g2s = [mcl.g2_from_affine(p.b) for p in proofs]
    return mcl.pairing_product_is_one([*g1s, mcl.g1_mul(alpha, r_sum), vk_x, c_sum], [*g2s, beta, gamma, delta])


@lru_cache(maxsize=16)
def _vk_points(vk: VerifyingKey) -> tuple[Any, Any, Any, Any, Any]:
    ic = (mcl.G1T * len(vk.ic))(*(mcl.g1_from_affine(p) for p in vk.ic))
    return (ic, mcl.g1_from_affine(vk.alpha1), mcl.g2_from_affine(vk.beta2), mcl.g2_from_affine(vk.gamma2),
            mcl.g2_from_affine(vk.delta2))
