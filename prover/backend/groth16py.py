"""The optional ``groth16py`` backend: arkworks through the ``groth16py`` package (GPL-3.0).

zkmargin is MIT; ``groth16py`` is GPL-3.0, so it is never installed with zkmargin nor chosen
automatically: it runs only after ``pip install 'zkmargin[gpl-prover]'`` and an explicit
``--backend groth16py`` (or ``set_backend("groth16py")``). Whoever distributes a program that
loads it takes on the GPL's terms for that program.

It imports our snarkjs ``.zkey`` (``import_zkey``) and proves from a ``.wtns`` file
(``prove_wtns`` takes only a path, so the witness goes through a temporary file). It draws its
own blinding scalars: fixed ``r``, ``s`` are refused. Its Rust core can panic on a malformed key
or witness (``pyo3_runtime.PanicException``, a ``BaseException``); that becomes a
:class:`~prover.errors.ProverError` naming the key.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover import formats
from prover.backend.base import Backend, LoadedKey, check_public, check_witness
from prover.errors import ArtefactError, BackendUnavailable, ProverError, ProverInputError
from prover.evm import proof_from_evm, proof_to_evm
from prover.field import R
from prover.keys import Proof, VerifyingKey


def _module() -> Any:
    try:
        import groth16py
    except ImportError:
        raise BackendUnavailable(
            "groth16py", "not installed; it is GPL-3.0 and optional: pip install 'zkmargin[gpl-prover]' "
            "(in a checkout: pip install -e '.[gpl-prover]')"
        ) from None
    return groth16py


def _guard(what: str, where: str, call: Any, *args: Any) -> Any:
    """Run a groth16py call; its errors (and Rust panics) become ProverError/ArtefactError."""
    g = _module()
    try:
        return call(*args)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except (g.EncodingError, g.WitnessError) as exc:
        raise ArtefactError(where, f"groth16py cannot {what}: {exc}") from None
    except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException derives from BaseException
        raise ProverError(f"groth16py failed to {what} ({where}): {type(exc).__name__}: {exc}") from None


class Groth16pyBackend(Backend):
    name = "groth16py"
    license = "GPL-3.0 (groth16py; optional extra, never selected automatically)"
    deterministic = False

    def __init__(self) -> None:
        self._g = _module()

    def load(self, path: Path, sha256: str) -> LoadedKey:
        d = formats.read_zkey_data(path)  # our checks and the sizes first
        pk, _ = _guard("import the key", str(path), self._g.import_zkey, str(path))
        return LoadedKey(self.name, sha256, str(path), d.qap.n_vars, d.qap.n_public, d.vk, pk)

    def prove(self, key: LoadedKey, witness: Sequence[int], r: int | None = None, s: int | None = None) -> tuple[Proof, list[int]]:
        if r is not None or s is not None:
            raise ProverInputError("r/s", "the groth16py backend draws its own blinding scalars; fixed r, s need another backend")
        check_witness(key, witness)
        with tempfile.TemporaryDirectory(prefix="zkmargin-g16-") as tmp:
            wtns = Path(tmp) / "witness.wtns"
            formats.write_wtns(wtns, witness)
            blob = _guard("prove", key.path, self._g.prove_wtns, key.inner, str(wtns))
        if not isinstance(blob, bytes) or len(blob) != 256:
            raise ProverError(f"groth16py returned a proof of {len(blob)} bytes, expected 256")
        words = [int.from_bytes(blob[32 * i : 32 * i + 32], "big") for i in range(8)]
        return proof_from_evm(words), [x % R for x in witness[1 : key.n_public + 1]]

    def verify(self, vk: VerifyingKey, proof: Proof, public: Sequence[int]) -> bool:
        check_public(vk, public)
        if proof.a is None or proof.b is None or proof.c is None:
            return False
        blob = b"".join(x.to_bytes(32, "big") for x in proof_to_evm(proof))
        verifier = self._g.Verifier(self._g.VerifyingKey.from_snarkjs(json.dumps(vk.to_snarkjs())))
        try:
            return bool(verifier.verify(blob, list(public)))
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:  # noqa: BLE001 - a malformed point: not a valid proof
            return False
