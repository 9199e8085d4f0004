"""End-to-end Python API: devnet setup with on-disk artefacts, prove, verify.

    from prover.api import devnet_setup, prove_solvency, verify_solvency
    keys = devnet_setup(8, 15, "build/zk")              # cached under build/zk/margin_n8_s15/
    sp = prove_solvency(keys, epoch, account, kind=0, address=0xAbc..., collateral=10**9)
    assert verify_solvency(keys.vk, sp.proof, sp.public)
    words, inputs = sp.evm()                            # for IGroth16Verifier.verifyProof
    proofs = prove_many(keys, [ProofRequest(...), ...]) # one proof per worker process

Proofs are made by the selected backend (:mod:`prover.backend`: ``native`` when installed,
else the ``python`` reference; ``backend=`` picks one per call). The setup is a single-party
ceremony whose trapdoor is derived from a public seed: it is INSECURE for production (anyone
knowing the seed can forge proofs) and meant for devnets and tests. Artefacts per circuit:
``circuit.r1cs``, ``circuit.zkey`` (snarkjs format), ``verification_key.json`` and
``setup.json`` (n, S, seed, sizes, the insecurity label).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover import formats
from prover.backend import LoadedKey, Progress, get_backend, load_key
from prover.circuit import MarginCircuit, check_statement, margin_circuit
from prover.errors import ArtefactError, ProverError, ProverInputError
from prover.groth16 import INSECURE_LABEL, QAP, ProvingKey, Toxic, setup
from prover.keys import Proof, VerifyingKey
from prover.statement import Account, Epoch
from zkmargin.executor import Executor, LocalPoolExecutor, SequentialExecutor

DEFAULT_SEED = "zkmargin-devnet"
SETUP_VERSION = 1


class KeyFiles:
    """The files of one circuit's keys in ``directory`` (``circuit.zkey``, ``circuit.r1cs``,
    ``verification_key.json``) and the proving key as each backend holds it; shared by the
    solvency keys and the transition keys (``prover.transition_api.TransitionKeys``)."""

    directory: Path
    _pk: ProvingKey | None

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
        """The key as the python reference backend holds it (parsed once per process)."""
        if self._pk is None:
            self._pk = load_key(self.zkey_path, "python").inner
        return self._pk

    def loaded(self, backend: str | None = None) -> LoadedKey:
        """The proving key as ``backend`` holds it (cached per process by the file's sha256)."""
        return load_key(self.zkey_path, backend)


@dataclass
class SolvencyKeys(KeyFiles):
    """The keys of the margin circuit for ``(n, S)`` and where they live."""

    n: int
    s: int
    directory: Path
    vk: VerifyingKey
    _pk: ProvingKey | None = field(default=None, repr=False)

    @property
    def circuit(self) -> MarginCircuit:
        return margin_circuit(self.n, self.s)


def circuit_dir(root: str | Path, n: int, s: int) -> Path:
    return Path(root) / f"margin_n{n}_s{s}"


def _seed_bytes(seed: str | bytes) -> bytes:
    return seed.encode() if isinstance(seed, str) else seed


def devnet_setup(
    n: int,
    s: int,
    root: str | Path,
    seed: str | bytes = DEFAULT_SEED,
    force: bool = False,
    progress: Progress | None = None,
    backend: str | None = None,
) -> SolvencyKeys:
    """Create (or load, when present and made from the same seed) the keys for ``(n, S)``.

    INSECURE for production: the trapdoor is a hash of ``seed``. The fixed-base products run
    on ``backend`` (the same keys, byte for byte, on every backend); ``progress`` receives
    ``(stage, done, total)``.
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
    report = progress or (lambda stage, done, total: None)
    report(f"building the circuit (n={n}, S={s})", 0, 0)
    mc = margin_circuit(n, s)
    qap = QAP.from_cs(mc.cs)
    impl = get_backend(backend)
    pk = setup(qap, Toxic.from_seed(seed_b), g1_batch=impl.fixed_base_g1, g2_batch=impl.fixed_base_g2, progress=report)
    report("writing circuit.r1cs, circuit.zkey, verification_key.json", 0, 0)
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
    backend: str | None = None,
    settled: Sequence[int] | None = None,
) -> SolvencyProof:
    """Prove the statement of ``kind`` for ``account`` in ``epoch`` (on ``backend``); ``settled``
    is the funding index the account last settled at (default: the epoch's)."""
    w = witness_for(keys, epoch, account, kind, address, collateral, settled)
    proof, public = get_backend(backend).prove(keys.loaded(backend), w)
    return SolvencyProof(proof, public)


def verify_solvency(vk: VerifyingKey, proof: Proof, public: list[int], backend: str | None = None) -> bool:
    """Whether ``proof`` verifies for ``public`` (every backend gives the same answer)."""
    return get_backend(backend).verify(vk, proof, public)


@dataclass(frozen=True)
class ProofRequest:
    """One account to prove: the arguments of :func:`prove_solvency`."""

    epoch: Epoch
    account: Account
    kind: int
    address: int
    collateral: int
    settled: tuple[int, ...] | None = None  # the funding index the account last settled at


# ------------------------------------------------------------------ many proofs --------
# The state of one prove_many worker (a pool process, a Ray actor, or this process for the
# sequential executor): set once by _init_worker, then used by every task it runs.
_WORKER: dict[str, Any] = {}


def _init_worker(zkey: str, sha256: str, n: int, s: int, backend: str, pooled: bool) -> None:
    """Load the key and build the circuit once per worker; a pool worker proves on one core."""
    from prover.backend import file_sha256
    from prover.parallel import set_cores_per_proof

    if pooled:
        set_cores_per_proof(1)
    if file_sha256(zkey) != sha256:
        raise ArtefactError(zkey, "differs on this worker from the key the prover was given (sha256 mismatch)")
    _WORKER.update(key=load_key(zkey, backend), backend=backend, circuit=margin_circuit(n, s))


def _prove_task(item: tuple[int, ProofRequest]) -> tuple[int, SolvencyProof]:
    """One proof. The statement was checked by the caller; a proof that does not verify never
    leaves the worker (one bad proof would sink an on-chain batch). With a fast verifier the
    proof itself is checked (about a millisecond); the python backend checks every constraint
    of the witness instead (its verifier takes longer than that)."""
    i, r = item
    impl = get_backend(_WORKER["backend"])
    key: LoadedKey = _WORKER["key"]
    fast = impl.name != "python"
    w = _WORKER["circuit"].witness(r.epoch, r.account, r.kind, r.address, r.collateral, check=not fast, settled=r.settled)
    proof, public = impl.prove(key, w)
    if fast and not impl.verify(key.vk, proof, public):
        raise ProverError(f"the proof of request {i} does not verify: the witness does not satisfy the circuit")
    return i, SolvencyProof(proof, public)


def iter_prove_many(
    keys: SolvencyKeys,
    requests: list[ProofRequest],
    executor: Executor | None = None,
    *,
    processes: int | None = None,
    backend: str | None = None,
    retries: int = 2,
) -> Iterator[tuple[int, SolvencyProof]]:
    """``(index, proof)`` for every request, as the proofs complete (in any order).

    Every statement is checked here first (sizes, bounds, solvency: raises before any proving).
    The proofs are made on ``executor`` (a :class:`zkmargin.executor.Executor`; by default a
    local process pool of ``processes`` workers, or this process when there is one request or
    ``processes`` is 1), one proof per task, the key loaded and the circuit built once per
    worker. A task whose worker died is retried (``retries`` times) by the executor; each
    request yields exactly once: a second result for an index is dropped, a missing or failed
    one raises :class:`ProverError`.
    """
    for r in requests:
        check_statement(keys.n, keys.s, r.epoch, r.account, r.kind, r.address, r.collateral, settled=r.settled)
    if not requests:
        return
    name = get_backend(backend).name
    key = keys.loaded(name)
    own = executor is None
    ex: Executor
    if executor is None:
        ex = SequentialExecutor() if len(requests) <= 1 or processes == 1 else LocalPoolExecutor(processes)
    else:
        ex = executor
    initargs = (key.path, key.sha256, keys.n, keys.s, name, ex.kind != "sequential")
    done: set[int] = set()
    try:
        for res in ex.run(_prove_task, list(enumerate(requests)), initializer=_init_worker, initargs=initargs, retries=retries):
            if res.error is not None:
                raise ProverError(f"proving request {res.index} failed after {res.attempts} attempt(s):\n{res.error}")
            assert res.value is not None
            i, proof = res.value
            if i in done:
                continue
            done.add(i)
            yield i, proof
    finally:
        if own:
            ex.close()
    missing = sorted(set(range(len(requests))) - done)
    if missing:
        raise ProverError(f"no proof came back for requests {missing}")


def prove_many(
    keys: SolvencyKeys,
    requests: list[ProofRequest],
    executor: Executor | None = None,
    *,
    processes: int | None = None,
    backend: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SolvencyProof]:
    """Prove many accounts (see :func:`iter_prove_many`); the proofs in request order.
    ``progress(done, total)`` is called after each proof."""
    out: dict[int, SolvencyProof] = {}
    for i, proof in iter_prove_many(keys, requests, executor, processes=processes, backend=backend):
        out[i] = proof
        if progress is not None:
            progress(len(out), len(requests))
    return [out[i] for i in range(len(requests))]
