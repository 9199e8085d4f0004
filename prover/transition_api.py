"""Keys, proofs and verification of the transition statement (docs/ARCHITECTURE.md, "State
transitions"), with the same on-disk artefacts as the solvency keys of :mod:`prover.api`::

    from prover.transition_api import transition_setup, prove_transition, prove_transitions
    keys = transition_setup(8, 15, 16, ".build/zk")   # cached under .build/zk/transition_n8_s15_k16/
    tp = prove_transition(keys, request)               # a prover.transitions.TransitionRequest
    words = prove_transitions([req_a, req_b], keys)    # 8 EVM proof words per request

The setup is the same single-party devnet ceremony as the solvency keys (a trapdoor derived
from a public seed): INSECURE for production, meant for devnets and tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover import formats
from prover.api import KeyFiles
from prover.backend import get_backend
from prover.errors import ArtefactError, ProverInputError
from prover.groth16 import INSECURE_LABEL, QAP, ProvingKey, Toxic, setup
from prover.keys import Proof, VerifyingKey
from prover.transition_circuit import TransitionCircuit, transition_circuit
from prover.transitions import TransitionRequest

DEFAULT_SEED = "zkmargin-devnet-transitions"
SETUP_VERSION = 1
#: where :func:`prove_transitions` finds keys when none are given (the devnet's zk folder)
DEFAULT_ROOT = Path(".build") / "zk"


@dataclass
class TransitionKeys(KeyFiles):
    """The keys of the transition circuit for ``(n, S, K)`` and where they live (the files and
    the loaded key as :class:`prover.api.KeyFiles` has them)."""

    n: int
    s: int
    k: int
    directory: Path
    vk: VerifyingKey
    _pk: ProvingKey | None = field(default=None, repr=False)

    @property
    def circuit(self) -> TransitionCircuit:
        return transition_circuit(self.n, self.s, self.k)

    @property
    def verifier_name(self) -> str:
        """The Solidity verifier's contract name (``TransitionVerifierN{n}S{s}K{k}``)."""
        return f"TransitionVerifierN{self.n}S{self.s}K{self.k}"


def transition_dir(root: str | Path, n: int, s: int, k: int) -> Path:
    return Path(root) / f"transition_n{n}_s{s}_k{k}"


def transition_setup(n: int, s: int, k: int, root: str | Path, seed: str | bytes = DEFAULT_SEED,
                     force: bool = False, backend: str | None = None) -> TransitionKeys:
    """Create (or load, when present and made from the same seed) the keys for ``(n, S, K)``.

    INSECURE for production: the trapdoor is a hash of ``seed``. The fixed-base products run on
    ``backend`` (the same keys, byte for byte, on every backend).
    """
    directory = transition_dir(root, n, s, k)
    seed_b = seed.encode() if isinstance(seed, str) else seed
    meta_path = directory / "setup.json"
    if not force and meta_path.exists():
        try:
            meta = formats.read_json(meta_path, "setup metadata")
            same = (meta.get("version") == SETUP_VERSION and (meta.get("n"), meta.get("S"), meta.get("K")) == (n, s, k)
                    and meta.get("seed_sha256") == hashlib.sha256(seed_b).hexdigest())
        except ArtefactError:
            same = False
        if same and (directory / "circuit.zkey").exists() and (directory / "verification_key.json").exists():
            return load_transition_keys(root, n, s, k)
    tc = transition_circuit(n, s, k)
    qap = QAP.from_cs(tc.cs)
    impl = get_backend(backend)
    pk = setup(qap, Toxic.from_seed(seed_b), g1_batch=impl.fixed_base_g1, g2_batch=impl.fixed_base_g2)
    directory.mkdir(parents=True, exist_ok=True)
    formats.write_r1cs(directory / "circuit.r1cs", tc.cs.n_signals, tc.cs.n_public, tc.cs.r1cs_constraints(),
                       tc.cs.n_private_inputs)
    formats.write_zkey(directory / "circuit.zkey", pk)
    formats.write_verification_key(directory / "verification_key.json", pk.vk)
    formats.write_json(meta_path, {
        "version": SETUP_VERSION, "warning": INSECURE_LABEL, "circuit": tc.name, "n": n, "S": s, "K": k,
        "seed": seed_b.decode("utf-8", "replace"), "seed_sha256": hashlib.sha256(seed_b).hexdigest(),
        "constraints": qap.n_constraints, "signals": qap.n_vars, "public_inputs": qap.n_public,
        "domain_size": qap.domain_size,
    })
    return TransitionKeys(n, s, k, directory, pk.vk, pk)


def load_transition_keys(root: str | Path, n: int, s: int, k: int) -> TransitionKeys:
    """Load existing keys for ``(n, S, K)`` from ``root`` (raises :class:`ArtefactError`)."""
    directory = transition_dir(root, n, s, k)
    vk = formats.read_verification_key(directory / "verification_key.json")
    if not (directory / "circuit.zkey").exists():
        raise ArtefactError(str(directory / "circuit.zkey"), "proving key file not found")
    return TransitionKeys(n, s, k, directory, vk)


@dataclass(frozen=True)
class TransitionProof:
    proof: Proof
    public: list[int]  # prover.transitions.public_input_names(n)

    def evm(self) -> tuple[list[int], list[int]]:
        """``(proof words, public inputs)`` for ``IGroth16Verifier.verifyProof``."""
        from prover.evm import proof_to_evm

        return proof_to_evm(self.proof), list(self.public)


def _check_fits(keys: TransitionKeys, req: TransitionRequest) -> None:
    ep = req.epoch
    if (ep.n, ep.s, req.table.slots) != (keys.n, keys.s, keys.k):
        raise ProverInputError("request", f"is for n={ep.n}, S={ep.s}, K={req.table.slots}; "
                                          f"the keys are for n={keys.n}, S={keys.s}, K={keys.k}")


def prove_transition(keys: TransitionKeys, req: TransitionRequest, backend: str | None = None) -> TransitionProof:
    """Prove one account's transition on ``backend`` (default: the fastest installed; raises
    ``UnsatisfiedError`` naming the broken rule)."""
    _check_fits(keys, req)
    w, _public = keys.circuit.witness(req)
    proof, public = get_backend(backend).prove(keys.loaded(backend), w)
    return TransitionProof(proof, public)


def verify_transition(vk: VerifyingKey, proof: Proof, public: list[int], backend: str | None = None) -> bool:
    """Whether ``proof`` verifies for ``public`` (every backend gives the same answer)."""
    return get_backend(backend).verify(vk, proof, public)


_KEYS: dict[tuple[str, int, int, int], TransitionKeys] = {}


def keys_for(req: TransitionRequest, root: str | Path | None = None) -> TransitionKeys:
    """The keys that fit ``req`` under ``root`` (default :data:`DEFAULT_ROOT`), set up on first use."""
    base = str(Path(root) if root is not None else DEFAULT_ROOT)
    key = (base, req.epoch.n, req.epoch.s, req.table.slots)
    if key not in _KEYS:
        _KEYS[key] = transition_setup(req.epoch.n, req.epoch.s, req.table.slots, base)
    return _KEYS[key]


def prove_transitions(requests: Sequence[TransitionRequest], keys: TransitionKeys | None = None,
                      root: str | Path | None = None, backend: str | None = None) -> list[list[int]]:
    """The EVM proof words (8 per request) of every request, in order, on ``backend``; every
    witness is built (and its statement checked) before the first proof is made."""
    if not requests:
        return []
    ks = keys or keys_for(requests[0], root)
    for r in requests:
        _check_fits(ks, r)
    witnesses = [ks.circuit.witness(r)[0] for r in requests]
    from prover.evm import proof_to_evm

    impl = get_backend(backend)
    key = ks.loaded(impl.name)
    return [proof_to_evm(impl.prove(key, w)[0]) for w in witnesses]


def to_json(tp: TransitionProof) -> dict[str, Any]:
    return {"proof": tp.proof.to_snarkjs(), "public": [str(x) for x in tp.public]}
