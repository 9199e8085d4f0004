"""What the settler needs of the chain, as a small interface with two implementations.

:class:`SettlementChain` is everything the settler reads and sends: the current epoch and its
public data, each account's commitment, vault balance and liquidation flag, the settlement
contract's replay set, order fill states and fee rate, and ``settle`` itself. The
implementations are :class:`offchain.operator.ape_chain.ApeChain` (ape contracts of a
:class:`~offchain.devnet.deploy.Deployment`, for scripts and tests inside ape) and
:class:`offchain.operator.web3_chain.Web3Chain` (plain web3 and a private key, for the
standalone ``zkmargin operator settle``); the unit tests use an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prover.statement import Epoch
from zkmargin.errors import DevnetError


@dataclass(frozen=True)
class Receipt:
    """A mined ``settle`` transaction."""

    tx_hash: str
    block: int | None
    gas_used: int | None = None


class SettlementChain(Protocol):
    """The chain as the settler sees it (see the module docstring)."""

    def epoch_id(self) -> int:
        """The current epoch id (0 before the first epoch)."""
        ...

    def epoch(self, epoch_id: int) -> Epoch:
        """The statement's epoch ``epoch_id`` from its posted data, checked against its digest."""
        ...

    def commitment_of(self, account: str) -> int: ...

    def balance_of(self, account: str) -> int: ...

    def in_liquidation(self, account: str) -> bool: ...

    def batch_settled(self, fill_table: int) -> bool: ...

    def order_state(self, order: int) -> int: ...

    def fee_bps(self) -> int: ...

    def submit(self, batch: tuple[Any, ...]) -> Receipt:
        """Send ``Settlement.settle(batch)`` and wait for it; raises
        :class:`~offchain.operator.errors.SubmitReverted` when the chain refuses it."""
        ...

    def wait_idle(self) -> None:
        """Return once none of the sender's transactions is pending (decide nothing before)."""
        ...

    def allow_statement(self, inputs: Sequence[int]) -> None:
        """Allow ``inputs`` on the mock verifier (only meaningful with one)."""
        ...


def epoch_from_data(epoch_id: int, im_factor_bps: int, num_scenarios: int, marks: Sequence[int],
                    scenario_pnl: Sequence[int], addons: Sequence[int], funding: Sequence[int], digest: int) -> Epoch:
    """The statement's epoch from ``RiskEpochs``' posted data (``EpochData``: the PnL matrix flat,
    row-major), checked against the digest the registry holds."""
    n, s = len(marks), int(num_scenarios)
    if s < 1 or len(scenario_pnl) != n * s:
        raise DevnetError(f"epoch {epoch_id}: {len(scenario_pnl)} scenario values for n={n}, S={s}")
    rows = [[int(x) for x in scenario_pnl[i * s:(i + 1) * s]] for i in range(n)]
    epoch = Epoch.create(int(epoch_id), int(im_factor_bps), [int(x) for x in marks], rows, [int(x) for x in addons],
                         [int(x) for x in funding] if len(funding) else None)
    if epoch.digest() != int(digest):
        raise DevnetError(f"epoch {epoch_id}: the posted data does not hash to the registry's digest "
                          "(an epoch posted without the statement's digest cannot be settled in)")
    return epoch
