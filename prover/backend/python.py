"""The ``python`` backend: the readable reference prover of :mod:`prover.groth16`.

Pure Python (Pippenger MSMs on plain ints in :mod:`prover.msm_affine`, radix-2 NTTs in
:mod:`prover.ntt`); the five MSMs of one proof run in forked processes when that is safe
(:mod:`prover.parallel`). Every other backend is tested against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prover import formats
from prover.backend.base import Backend, LoadedKey, check_witness
from prover.groth16 import prove, verify
from prover.keys import Proof, VerifyingKey


class PythonBackend(Backend):
    name = "python"
    license = "MIT (zkmargin's own code; py-ecc, MIT, for the pairing)"

    def load(self, path: Path, sha256: str) -> LoadedKey:
        pk = formats.read_zkey(path)
        return LoadedKey(self.name, sha256, str(path), pk.qap.n_vars, pk.qap.n_public, pk.vk, pk)

    def prove(self, key: LoadedKey, witness: Sequence[int], r: int | None = None, s: int | None = None) -> tuple[Proof, list[int]]:
        check_witness(key, witness)
        return prove(key.inner, witness, r=r, s=s)

    def verify(self, vk: VerifyingKey, proof: Proof, public: Sequence[int]) -> bool:
        return verify(vk, proof, public)
