"""Groth16 key and proof types, and their snarkjs JSON layouts.

snarkjs JSON (``verification_key.json``, ``proof.json``): numbers are decimal strings, G1 is
``[x, y, "1"]`` and G2 ``[[x0, x1], [y0, y1], ["1", "0"]]`` (projective with z = 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prover.curve import G1Affine, G2Affine, g1_is_on_curve, g2_is_on_curve
from prover.errors import ArtefactError
from prover.field import Q, R


@dataclass(frozen=True)
class Proof:
    a: G1Affine
    b: G2Affine
    c: G1Affine

    def to_snarkjs(self) -> dict[str, Any]:
        return {
            "pi_a": g1_to_json(self.a),
            "pi_b": g2_to_json(self.b),
            "pi_c": g1_to_json(self.c),
            "protocol": "groth16",
            "curve": "bn128",
        }

    @classmethod
    def from_snarkjs(cls, data: Any, source: str = "proof") -> Proof:
        if not isinstance(data, dict):
            raise ArtefactError(source, "must be a JSON object with pi_a, pi_b, pi_c")
        for key in ("pi_a", "pi_b", "pi_c"):
            if key not in data:
                raise ArtefactError(source, f"missing field {key!r}")
        if data.get("protocol", "groth16") != "groth16":
            raise ArtefactError(f"{source}.protocol", f"expected 'groth16', got {data.get('protocol')!r}")
        return cls(
            g1_from_json(data["pi_a"], f"{source}.pi_a"),
            g2_from_json(data["pi_b"], f"{source}.pi_b"),
            g1_from_json(data["pi_c"], f"{source}.pi_c"),
        )


@dataclass(frozen=True)
class VerifyingKey:
    alpha1: G1Affine
    beta2: G2Affine
    gamma2: G2Affine
    delta2: G2Affine
    ic: tuple[G1Affine, ...]  # ic[0] + sum_i input_i * ic[i + 1]

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1

    def to_snarkjs(self, alphabeta_12: Sequence[Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol": "groth16",
            "curve": "bn128",
            "nPublic": self.n_public,
            "vk_alpha_1": g1_to_json(self.alpha1),
            "vk_beta_2": g2_to_json(self.beta2),
            "vk_gamma_2": g2_to_json(self.gamma2),
            "vk_delta_2": g2_to_json(self.delta2),
        }
        if alphabeta_12 is not None:
            out["vk_alphabeta_12"] = alphabeta_12
        out["IC"] = [g1_to_json(p) for p in self.ic]
        return out

    @classmethod
    def from_snarkjs(cls, data: Any, source: str = "verification_key") -> VerifyingKey:
        if not isinstance(data, dict):
            raise ArtefactError(source, "must be a JSON object")
        for key in ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"):
            if key not in data:
                raise ArtefactError(source, f"missing field {key!r}")
        if data.get("protocol", "groth16") != "groth16" or data.get("curve", "bn128") != "bn128":
            raise ArtefactError(source, "only groth16 keys on bn128 are supported")
        ic = data["IC"]
        if not isinstance(ic, list) or not ic:
            raise ArtefactError(f"{source}.IC", "must be a non-empty list of G1 points")
        vk = cls(
            g1_from_json(data["vk_alpha_1"], f"{source}.vk_alpha_1"),
            g2_from_json(data["vk_beta_2"], f"{source}.vk_beta_2"),
            g2_from_json(data["vk_gamma_2"], f"{source}.vk_gamma_2"),
            g2_from_json(data["vk_delta_2"], f"{source}.vk_delta_2"),
            tuple(g1_from_json(p, f"{source}.IC[{i}]") for i, p in enumerate(ic)),
        )
        if "nPublic" in data and int(data["nPublic"]) != vk.n_public:
            raise ArtefactError(f"{source}.nPublic", f"is {data['nPublic']} but IC has {len(ic)} points")
        return vk


def g1_to_json(p: G1Affine) -> list[str]:
    return ["0", "1", "0"] if p is None else [str(p[0]), str(p[1]), "1"]


def g2_to_json(p: G2Affine) -> list[list[str]]:
    if p is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    return [[str(p[0][0]), str(p[0][1])], [str(p[1][0]), str(p[1][1])], ["1", "0"]]


def _int(value: Any, field: str, modulus: int) -> int:
    try:
        v = int(value, 10) if isinstance(value, str) else value
    except ValueError:
        raise ArtefactError(field, f"not a decimal integer: {value!r}") from None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ArtefactError(field, f"not an integer: {value!r}")
    if not 0 <= v < modulus:
        raise ArtefactError(field, f"{v} is not in [0, {'q' if modulus == Q else 'r'})")
    return v


def g1_from_json(data: Any, field: str) -> G1Affine:
    if not isinstance(data, list) or len(data) not in (2, 3):
        raise ArtefactError(field, "G1 point must be [x, y, z]")
    x, y = _int(data[0], f"{field}[0]", Q), _int(data[1], f"{field}[1]", Q)
    z = _int(data[2], f"{field}[2]", Q) if len(data) == 3 else 1
    if z == 0:
        return None
    if z != 1:
        zi = pow(z, -1, Q)
        x, y = x * zi * zi % Q, y * zi * zi * zi % Q
    p = (x, y)
    if not g1_is_on_curve(p):
        raise ArtefactError(field, "G1 point is not on the curve")
    return p


def g2_from_json(data: Any, field: str) -> G2Affine:
    if not isinstance(data, list) or len(data) not in (2, 3) or not all(
        isinstance(c, list) and len(c) == 2 for c in data
    ):
        raise ArtefactError(field, "G2 point must be [[x0, x1], [y0, y1], [z0, z1]]")
    x = (_int(data[0][0], f"{field}[0][0]", Q), _int(data[0][1], f"{field}[0][1]", Q))
    y = (_int(data[1][0], f"{field}[1][0]", Q), _int(data[1][1], f"{field}[1][1]", Q))
    if len(data) == 3:
        z = (_int(data[2][0], f"{field}[2][0]", Q), _int(data[2][1], f"{field}[2][1]", Q))
        if z == (0, 0):
            return None
        if z != (1, 0):
            raise ArtefactError(field, "G2 point must be affine (z = [1, 0])")
    p = (x, y)
    if not g2_is_on_curve(p):
        raise ArtefactError(field, "G2 point is not on the curve")
    return p


def parse_public(data: Any, source: str = "public") -> list[int]:
    """snarkjs ``public.json``: a list of decimal strings, each < r."""
    if not isinstance(data, list):
        raise ArtefactError(source, "must be a JSON list of decimal strings")
    return [_int(v, f"{source}[{i}]", R) for i, v in enumerate(data)]
