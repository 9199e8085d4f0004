"""Errors raised by the prover package (all derive from :mod:`zkmargin.errors`)."""

from __future__ import annotations

from zkmargin.errors import InputError, ZkMarginError


class ProverError(ZkMarginError):
    """A failure inside the prover that is not the caller's input (e.g. a broken invariant)."""


class ProverInputError(InputError):
    """Bad input to the prover: a value out of range, a wrong length, a corrupt file."""


class ArtefactError(ProverInputError):
    """A key, proof, witness or R1CS file is missing, truncated or corrupt."""


class UnsatisfiedError(ProverInputError):
    """The witness does not satisfy the circuit (e.g. the account is not solvent for the kind)."""


class VerificationFailed(ProverError):
    """A well-formed proof does not verify (the CLI exits with status 1)."""


class BackendUnavailable(ProverInputError):
    """A prover backend was asked for but cannot run here (its package is not installed)."""

    def __init__(self, backend: str, problem: str) -> None:
        self.backend = backend
        super().__init__("backend", f"{backend}: {problem}")
