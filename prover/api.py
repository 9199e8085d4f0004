"""End-to-end Python API: devnet setup with on-disk artefacts, prove, verify.

    from prover.api import devnet_setup, prove_solvency, verify_solvency
    keys = devnet_setup(8, 15, "build/zk")              # cached under build/zk/margin_n8_s15/
    sp = prove_solvency(keys, epoch, account, kind=0, address=0xAbc..., collateral=10**9)
    assert verify_solvency(keys.vk, sp.proof, sp.public)
    words, inputs = sp.evm()                            # for IGroth16Verifier.verifyProof

The setup is a single-party ceremony whose trapdoor is derived from a public seed: it is
INSECURE for production (anyone knowing the seed can forge proofs) and meant for devnets and
tests.  Artefacts per circuit: ``circuit.r1cs``, ``circuit.zkey`` (snarkjs format),
``verification_key.json`` and ``setup.json`` (n, S, seed, sizes, the insecurity label).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from prover import formats
from prover.circuit import MarginCircuit, margin_circuit
from prover.errors import ArtefactError, ProverInputError
from prover.groth16 import INSECURE_LABEL, QAP, ProvingKey, Toxic, prove, setup, verify
from prover.keys import Proof, VerifyingKey
from prover.statement import Account, Epoch

DEFAULT_SEED = "zkmargin-devnet"
SETUP_VERSION = 1


@dataclass
class SolvencyKeys:
    """The keys of the margin circuit for ``(n, S)`` and where they live."""

    n: int
    s: int
    directory: Path
    vk: VerifyingKey
    _pk: ProvingKey | None = field(default=None, repr=False)

    @property
    def zkey_path(self) -> Path:
        return self.directory / "circuit.zkey"

    @property
    def r1cs_path(self) -> Path:
        return self.directory / "circuit.r1cs"

    @property
    def vk_path(self) -> Path:
        return self.directory / "verification_key.json"

    @property
    def pk(self) -> ProvingKey:
        if self._pk is None:
            self._pk = _load_zkey(str(self.zkey_path), self.zkey_path.stat().st_mtime_ns)
        return self._pk

    @property
    def circuit(self) -> MarginCircuit:
        return margin_circuit(self.n, self.s)


@lru_cache(maxsize=4)
def _load_zkey(path: str, _mtime: int) -> ProvingKey:
    pk: ProvingKey = formats.read_zkey(path)
    return pk


def circuit_dir(root: str | Path, n: int, s: int) -> Path:
    return Path(root) / f"margin_n{n}_s{s}"


def _seed_bytes(seed: str | bytes) -> bytes:
    return seed.encode() if isinstance(seed, str) else seed


def devnet_setup(n: int, s: int, root: str | Path, seed: str | bytes = DEFAULT_SEED, force: bool = False) -> SolvencyKeys:
    """Create (or load, when present and made from the same seed) the keys for ``(n, S)``.

    INSECURE for production: the trapdoor is a hash of ``seed``.
    """
    directory = circuit_dir(root, n, s)
    seed_b = _seed_bytes(seed)
    meta_path = directory / "setup.json"
    if not force and meta_path.exists():
        try:
            meta = formats.read_json(meta_path, "setup metadata")
            same = (
                meta.get("version") == SETUP_VERSION
                and meta.get("n") == n
                and meta.get("S") == s
                and meta.get("seed_sha256") == hashlib.sha256(seed_b).hexdigest()
            )
        except ArtefactError:
            same = False
        if same and (directory / "circuit.zkey").exists() and (directory / "verification_key.json").exists():
            return load_keys(root, n, s)
    mc = margin_circuit(n, s)
    qap = QAP.from_cs(mc.cs)
    pk = setup(qap, Toxic.from_seed(seed_b))
    directory.mkdir(parents=True, exist_ok=True)
    formats.write_r1cs(directory / "circuit.r1cs", mc.cs.n_signals, mc.cs.n_public, mc.cs.r1cs_constraints(), mc.cs.n_private_inputs)
    formats.write_zkey(directory / "circuit.zkey", pk)
    formats.write_verification_key(directory / "verification_key.json", pk.vk)
    formats.write_json(
        meta_path,
        {
            "version": SETUP_VERSION,
            "warning": INSECURE_LABEL,
            "circuit": mc.name,
            "n": n,
            "S": s,
            "seed": seed_b.decode("utf-8", "replace"),
            "seed_sha256": hashlib.sha256(seed_b).hexdigest(),
            "constraints": qap.n_constraints,
            "signals": qap.n_vars,
            "public_inputs": qap.n_public,
            "domain_size": qap.domain_size,
        },
    )
    return SolvencyKeys(n, s, directory, pk.vk, pk)


def load_keys(root: str | Path, n: int, s: int) -> SolvencyKeys:
    """Load existing keys for ``(n, S)`` from ``root`` (raises :class:`ArtefactError`)."""
    directory = circuit_dir(root, n, s)
    vk = formats.read_verification_key(directory / "verification_key.json")
    if not (directory / "circuit.zkey").exists():
        raise ArtefactError(str(directory / "circuit.zkey"), "proving key file not found")
    return SolvencyKeys(n, s, directory, vk)


@dataclass(frozen=True)
class SolvencyProof:
    proof: Proof
    public: list[int]  # [C, D, kind, account, collateral, FD_s]

    def evm(self) -> tuple[list[int], list[int]]:
        """``(proof words, public inputs)`` for ``IGroth16Verifier.verifyProof``."""
        from prover.evm import proof_to_evm

        return proof_to_evm(self.proof), list(self.public)

    def to_json(self) -> dict[str, Any]:
        return {"proof": self.proof.to_snarkjs(), "public": [str(x) for x in self.public]}


def witness_for(
    keys: SolvencyKeys, epoch: Epoch, account: Account, kind: int, address: int, collateral: int,
    settled: Sequence[int] | None = None,
) -> list[int]:
    """The full witness (raises :class:`UnsatisfiedError` if the statement does not hold);
    ``settled`` is the funding index the account last settled at (default: the epoch's)."""
    if (epoch.n, epoch.s) != (keys.n, keys.s):
        raise ProverInputError("epoch", f"has n={epoch.n}, S={epoch.s}; the keys are for n={keys.n}, S={keys.s}")
    return keys.circuit.witness(epoch, account, kind, address, collateral, settled=settled)


def prove_solvency(
    keys: SolvencyKeys,
    epoch: Epoch,
    account: Account,
    kind: int,
    address: int,
    collateral: int,
    parallel: bool = True,
    settled: Sequence[int] | None = None,
) -> SolvencyProof:
    """Prove the statement of ``kind`` for ``account`` in ``epoch``."""
    w = witness_for(keys, epoch, account, kind, address, collateral, settled)
    proof, public = prove(keys.pk, w, parallel=parallel)
    return SolvencyProof(proof, public)


def verify_solvency(vk: VerifyingKey, proof: Proof, public: list[int]) -> bool:
    return verify(vk, proof, public)


@dataclass(frozen=True)
class ProofRequest:
    """One account to prove: the arguments of :func:`prove_solvency`."""

    epoch: Epoch
    account: Account
    kind: int
    address: int
    collateral: int
    settled: tuple[int, ...] | None = None  # the funding index the account last settled at


_BATCH: tuple[ProvingKey, list[list[int]]] | None = None


def _prove_batch_item(i: int) -> tuple[Proof, list[int]]:
    assert _BATCH is not None
    pk, witnesses = _BATCH
    return prove(pk, witnesses[i], parallel=False)


def prove_many(keys: SolvencyKeys, requests: list[ProofRequest], processes: int | None = None) -> list[SolvencyProof]:
    """Prove many accounts: witnesses are computed (and checked) here, then the proofs are
    made one per worker process (``processes`` defaults to ``prover.parallel.processes()``).
    Raises on the first request whose statement does not hold, before any proving."""
    import multiprocessing

    from prover.parallel import processes as default_processes

    global _BATCH
    witnesses = [witness_for(keys, r.epoch, r.account, r.kind, r.address, r.collateral, r.settled) for r in requests]
    pk = keys.pk
    n_proc = default_processes() if processes is None else max(1, processes)
    if n_proc <= 1 or len(requests) <= 1:
        return [SolvencyProof(*prove(pk, w)) for w in witnesses]
    _BATCH = (pk, witnesses)
    try:
        with multiprocessing.get_context("fork").Pool(n_proc) as pool:
            out = pool.map(_prove_batch_item, range(len(witnesses)), chunksize=1)
    finally:
        _BATCH = None
    return [SolvencyProof(proof, public) for proof, public in out]
