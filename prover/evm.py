"""Proof and key encodings for the EVM (the BN254 precompiles 0x06/0x07/0x08, EIP-196/197).

The precompiles take G2 as ``(x1, x0, y1, y0)``: the imaginary limb first.
"""

from __future__ import annotations

from prover.curve import G1Affine, G2Affine
from prover.keys import Proof


def g1_words(p: G1Affine) -> list[int]:
    """``[x, y]``; the point at infinity is ``[0, 0]``."""
    return [0, 0] if p is None else [p[0], p[1]]


def g2_words(p: G2Affine) -> list[int]:
    """``[x1, x0, y1, y0]``; the point at infinity is four zeros."""
    if p is None:
        return [0, 0, 0, 0]
    (x0, x1), (y0, y1) = p
    return [x1, x0, y1, y0]


def proof_to_evm(proof: Proof) -> list[int]:
    """``[A.x, A.y, B.x1, B.x0, B.y1, B.y0, C.x, C.y]`` for ``IGroth16Verifier.verifyProof``."""
    return [*g1_words(proof.a), *g2_words(proof.b), *g1_words(proof.c)]


def proof_from_evm(words: list[int]) -> Proof:
    """Inverse of :func:`proof_to_evm` (no curve checks; ``[0, 0]`` becomes infinity)."""
    if len(words) != 8:
        raise ValueError(f"an EVM proof has 8 words, got {len(words)}")
    a = None if words[0] == 0 and words[1] == 0 else (words[0], words[1])
    b = None if not any(words[2:6]) else ((words[3], words[2]), (words[5], words[4]))
    c = None if words[6] == 0 and words[7] == 0 else (words[6], words[7])
    return Proof(a, b, c)
