"""The operator package's errors (all derive from :class:`zkmargin.errors.ZkMarginError`)."""

from __future__ import annotations

from zkmargin.errors import ZkMarginError


class OperatorError(ZkMarginError):
    """Root of the operator's errors."""


class StoreError(OperatorError):
    """The operator database would become inconsistent (nothing was written)."""


class SettlerError(OperatorError):
    """The settler cannot go on (a broken invariant, a prover that answered wrongly)."""


class ProverUnavailable(OperatorError):
    """The selected prover cannot be loaded."""


class SubmitReverted(OperatorError):
    """The chain refused a batch (the transaction reverted, or its gas estimate did)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"settle reverted: {reason}")
