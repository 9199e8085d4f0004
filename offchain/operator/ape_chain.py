"""The settler's chain through ape: the contracts of a :class:`~offchain.devnet.deploy.Deployment`.

Needs a connected ape provider (``ape run``, ``ape test``); ape is imported only inside the
calls, so the rest of the package runs without it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from offchain.devnet.deploy import Deployment
from offchain.operator.chain import Receipt, epoch_from_data
from offchain.operator.deployment import read_deployment
from offchain.operator.errors import SubmitReverted
from prover.statement import Epoch
from zkmargin.errors import DevnetError


class ApeChain:
    """:class:`~offchain.operator.chain.SettlementChain` over ape contracts; ``sender`` sends
    ``settle`` (anyone may) and, with the mock verifier, allows statements (its controller)."""

    def __init__(self, d: Deployment, sender: Any, pending_timeout_s: float = 60.0) -> None:
        if d.settlement is None or d.accounts is None or d.epochs is None:
            raise DevnetError("the deployment has no settlement, margin accounts or epochs contract")
        self.d = d
        self.sender = sender
        self.pending_timeout_s = pending_timeout_s

    @property
    def _chain(self) -> Any:
        from ape import chain

        return chain

    def epoch_id(self) -> int:
        return int(self.d.epochs.currentEpochId())

    def epoch(self, epoch_id: int) -> Epoch:
        info = self.d.epochs.getEpoch(epoch_id)
        head = int(self._chain.blocks.head.number)
        logs = list(self.d.epochs.EpochData.range(0, head + 1, search_topics={"epochId": int(epoch_id)}))
        if not logs:
            raise DevnetError(f"no EpochData event for epoch {epoch_id}")
        ev = logs[-1]
        return epoch_from_data(epoch_id, int(info.imFactorBps), int(info.numScenarios), [int(x) for x in ev.marks],
                               [int(x) for x in ev.scenarioPnl], [int(x) for x in ev.addons],
                               [int(x) for x in ev.funding], int(info.digest))

    def commitment_of(self, account: str) -> int:
        return int(self.d.accounts.commitmentOf(account))

    def balance_of(self, account: str) -> int:
        return int(self.d.vault.balanceOf(account))

    def in_liquidation(self, account: str) -> bool:
        return bool(self.d.accounts.accountState(account).inLiquidation)

    def batch_settled(self, fill_table: int) -> bool:
        return bool(self.d.settlement.batchSettled(int(fill_table)))

    def order_state(self, order: int) -> int:
        return int(self.d.settlement.orderState(int(order)))

    def fee_bps(self) -> int:
        return int(self.d.settlement.feeBps())

    def submit(self, batch: tuple[Any, ...]) -> Receipt:
        from ape.exceptions import ContractLogicError

        try:
            receipt = self.d.settlement.settle(batch, sender=self.sender)
        except ContractLogicError as exc:
            raise SubmitReverted(str(exc)) from None
        if receipt.failed:
            raise SubmitReverted(f"transaction {receipt.txn_hash} failed")
        return Receipt(str(receipt.txn_hash), int(receipt.block_number), int(receipt.gas_used))

    def wait_idle(self) -> None:
        w3 = self._chain.provider.web3
        addr = str(self.sender.address)
        deadline = time.monotonic() + self.pending_timeout_s
        while w3.eth.get_transaction_count(addr, "pending") != w3.eth.get_transaction_count(addr, "latest"):
            if time.monotonic() > deadline:
                raise DevnetError(f"transactions from {addr} still pending after {self.pending_timeout_s} s")
            time.sleep(0.2)

    def allow_statement(self, inputs: Sequence[int]) -> None:
        verifier = self.d.transition_verifier or self.d.verifier
        verifier.setStatement([int(x) for x in inputs], True, sender=self.sender)


def attach_deployment(state_dir: str | Path, owner: Any) -> Deployment:
    """The contracts saved in ``<state_dir>/deployment.json`` on the connected chain (the
    verifiers as ``MockVerifier`` when the deployment says so, else as ``IGroth16Verifier``)."""
    from ape import chain, project

    info = read_deployment(state_dir)
    if info.chain_id != int(chain.chain_id):
        raise DevnetError(f"{state_dir}/deployment.json is for chain {info.chain_id}, connected to {chain.chain_id}")
    names = {"token": "MockStablecoin", "vault": "CollateralVault", "oracle": "PriceOracle", "epochs": "RiskEpochs",
             "accounts": "MarginAccounts", "liquidation": "Liquidation", "settlement": "Settlement",
             "poseidon": "PoseidonSponge"}
    verifier = "MockVerifier" if info.mock_verifier else "IGroth16Verifier"
    try:
        found = {k: getattr(project, v).at(info.contracts[k]) for k, v in names.items() if k in info.contracts}
        v = getattr(project, verifier).at(info.contracts["verifier"])
        tv = getattr(project, verifier).at(info.transition_verifier)
    except Exception as exc:  # ape raises ContractNotFoundError & co for a wrong chain or address
        raise DevnetError(f"cannot attach to the contracts in {state_dir}/deployment.json: {exc}") from exc
    return Deployment(chain_id=info.chain_id, owner=owner, token=found.get("token"), vault=found["vault"],
                      oracle=found.get("oracle"), epochs=found["epochs"], accounts=found["accounts"],
                      liquidation=found.get("liquidation"), verifier=v, poseidon=found.get("poseidon"),
                      settlement=found["settlement"], transition_verifier=tv)
