"""The settler's provers: ``list[TransitionRequest] -> list[list[int]]`` (8 EVM words each).

* ``mock``: for a deployment with the ``MockVerifier``. Each transition is checked with the
  integer reference and its public inputs are allowed on the mock verifier (by its controller);
  the proof words are zeros. The chain then accepts exactly the statements the reference holds
  true, as the devnet tests do.
* ``real``: Groth16 proofs of the transition circuit from
  ``prover.transition_api.prove_transitions`` (loaded when selected).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from offchain.operator.errors import ProverUnavailable
from prover.transitions import TransitionRequest, TransitionResult, apply_transition
from zkmargin.errors import InputError

PROVERS = ("mock", "real")
ZERO_PROOF = [0] * 8


class MockProver:
    """Allows each request's public inputs through ``allow`` (the mock verifier's
    ``setStatement(inputs, true)``) and returns zero words."""

    def __init__(self, allow: Callable[[Sequence[int]], None]) -> None:
        self.allow = allow

    def __call__(self, requests: list[TransitionRequest]) -> list[list[int]]:
        return self.prove_results([apply_transition(r) for r in requests])  # all checked before any is allowed

    def prove_results(self, results: Sequence[TransitionResult]) -> list[list[int]]:
        """The same for transitions the reference already applied (the settler's prepared batch
        holds them: no need to compute them twice)."""
        for res in results:
            self.allow(res.public)
        return [list(ZERO_PROOF) for _ in results]


def real_prover() -> Callable[[list[TransitionRequest]], list[list[int]]]:
    """``prover.transition_api.prove_transitions``; :class:`ProverUnavailable` when it is missing."""
    try:
        module = importlib.import_module("prover.transition_api")
    except ImportError as exc:
        raise ProverUnavailable(f"the real prover needs prover.transition_api.prove_transitions, which cannot be "
                                f"imported: {exc}") from None
    fn = getattr(module, "prove_transitions", None)
    if not callable(fn):
        raise ProverUnavailable("prover.transition_api has no prove_transitions(requests) function")
    out: Callable[[list[TransitionRequest]], list[list[int]]] = fn
    return out


def select_prover(name: str, allow: Callable[[Sequence[int]], None]) -> Callable[[list[TransitionRequest]], list[list[int]]]:
    """The prover called ``name`` (``mock`` allows statements through ``allow``)."""
    if name == "mock":
        return MockProver(allow)
    if name == "real":
        return real_prover()
    raise InputError("prover", f"must be one of {list(PROVERS)}, got {name!r}")
