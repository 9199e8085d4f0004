"""The interface every Groth16 prover backend implements, and what they share.

A backend turns a snarkjs ``.zkey`` into its own in-memory key (:meth:`Backend.load`), proves a
witness against it (:meth:`Backend.prove`) and verifies a proof (:meth:`Backend.verify`). All
backends read and write the same files (snarkjs ``.zkey``, ``.wtns``, ``proof.json``,
``public.json``) and return the same :class:`~prover.keys.Proof`, so a proof made by one
verifies with every other, with ``snarkjs groth16 verify`` and with the Solidity verifier.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from prover.curve import G1Affine, G2Affine
from prover.errors import ProverInputError
from prover.field import R
from prover.keys import Proof, VerifyingKey

#: progress callback: ``(stage, done, total)``; ``total`` 0 means "a step without a count"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LoadedKey:
    """A proving key as one backend holds it in memory, with what every caller needs."""

    backend: str
    #: sha256 of the ``.zkey`` file the key was read from (the cache key)
    sha256: str
    path: str
    n_vars: int
    n_public: int
    vk: VerifyingKey
    inner: Any = field(repr=False, compare=False)


class Backend(ABC):
    """A Groth16 prover over BN254 that reads and writes snarkjs-compatible artefacts."""

    #: the name ``--backend`` and ``ZKMARGIN_PROVER_BACKEND`` take
    name: ClassVar[str]
    #: the licence of the code the backend runs (the project itself is MIT)
    license: ClassVar[str]
    #: whether :meth:`prove` accepts fixed blinding scalars ``r``, ``s`` (reproducible proofs)
    deterministic: ClassVar[bool] = True

    @abstractmethod
    def load(self, path: Path, sha256: str) -> LoadedKey:
        """Parse the ``.zkey`` at ``path`` (use :func:`prover.backend.load_key`, which caches)."""

    @abstractmethod
    def prove(self, key: LoadedKey, witness: Sequence[int], r: int | None = None, s: int | None = None) -> tuple[Proof, list[int]]:
        """A proof for ``witness`` and its public inputs ``witness[1 : n_public + 1]``.

        ``r``, ``s`` are the blinding scalars (fresh random ones by default). The witness is not
        checked against the constraints: an unsatisfying witness gives a proof that does not
        verify (as with snarkjs).
        """

    @abstractmethod
    def verify(self, vk: VerifyingKey, proof: Proof, public: Sequence[int]) -> bool:
        """Whether ``proof`` verifies; raises :class:`ProverInputError` for a wrong number of
        public inputs or an input ``>= r``, returns False for malformed points."""

    def fixed_base_g1(self, base: G1Affine, scalars: Sequence[int]) -> list[G1Affine]:
        """``[k * base for k in scalars]`` (the setup's products; pure Python unless overridden)."""
        from prover.groth16 import fixed_base_g1

        return fixed_base_g1(base, scalars)

    def fixed_base_g2(self, base: G2Affine, scalars: Sequence[int]) -> list[G2Affine]:
        from prover.groth16 import fixed_base_g2

        return fixed_base_g2(base, scalars)


def check_witness(key: LoadedKey, w: Sequence[int]) -> None:
    """The checks every backend makes before proving (names the field and the problem)."""
    if len(w) != key.n_vars:
        raise ProverInputError("witness", f"has {len(w)} values, the circuit has {key.n_vars} signals")
    if w[0] % R != 1:
        raise ProverInputError("witness[0]", "must be 1 (the constant-one signal)")


def check_public(vk: VerifyingKey, public: Sequence[int]) -> None:
    """The public-input checks every verifier makes (as the Solidity verifier reverts)."""
    if len(public) != vk.n_public:
        raise ProverInputError("public", f"expected {vk.n_public} public inputs, got {len(public)}")
    for i, x in enumerate(public):
        if not 0 <= x < R:
            raise ProverInputError(f"public[{i}]", "must be in [0, r)")
