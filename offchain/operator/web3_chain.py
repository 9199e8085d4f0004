"""The settler's chain through plain web3: an RPC URL, the deployment's addresses, a private key.

This is what ``zkmargin operator settle`` runs on: no ape, so a process starts in about a second
(the crash tests kill and restart it many times). The contract ABIs come from the compiled
project (``.build/__local__.json``, written by ``ape compile``); transactions are signed locally
with the sender's key and sent raw. A refused ``settle`` raises
:class:`~offchain.operator.errors.SubmitReverted` with the custom error's name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_account import Account as EthAccount
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

from offchain.operator.chain import Receipt, epoch_from_data
from offchain.operator.deployment import DeploymentInfo
from offchain.operator.errors import SubmitReverted
from prover.statement import Epoch
from zkmargin.errors import DevnetError, InputError

#: contracts whose custom errors a ``settle`` can revert with
_ERROR_SOURCES = ("Settlement", "MarginAccounts", "CollateralVault", "MockVerifier", "RiskEpochs")


def load_abis(build_dir: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Contract name -> ABI from ape's compiled manifest ``<build_dir>/__local__.json``."""
    path = Path(build_dir) / "__local__.json"
    if not path.is_file():
        raise InputError(str(path), "no compiled contracts here (run `ape compile` in the project first)")
    try:
        types = json.loads(path.read_text(encoding="utf-8"))["contractTypes"]
        return {str(name): list(ct["abi"]) for name, ct in types.items()}
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"not a compiled ape manifest: {exc!r}") from None


def _signature(entry: dict[str, Any]) -> str:
    def kind(inp: dict[str, Any]) -> str:
        t = str(inp["type"])
        if t.startswith("tuple"):
            return "(" + ",".join(kind(c) for c in inp["components"]) + ")" + t[len("tuple"):]
        return t

    return f"{entry['name']}({','.join(kind(i) for i in entry.get('inputs', []))})"


class Web3Chain:
    """:class:`~offchain.operator.chain.SettlementChain` over an RPC endpoint."""

    def __init__(self, rpc_url: str, deployment: DeploymentInfo, private_key: str, build_dir: str | Path,
                 pending_timeout_s: float = 60.0) -> None:
        from web3 import Web3

        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
        try:
            chain_id = int(self.w3.eth.chain_id)
        except Exception as exc:  # noqa: BLE001 - connection refused, bad URL, HTTP errors: all mean unreachable
            raise DevnetError(f"cannot reach the node at {rpc_url}: {exc}") from None
        if chain_id != deployment.chain_id:
            raise DevnetError(f"the deployment is on chain {deployment.chain_id}, {rpc_url} is chain {chain_id}")
        try:
            self.account = EthAccount.from_key(private_key)
        except Exception:  # noqa: BLE001 - eth_keys raises several types for a malformed key
            raise InputError("key", "not a valid secp256k1 private key") from None
        abis = load_abis(build_dir)
        c = deployment.contracts

        def at(name: str, address: str) -> Any:
            return self.w3.eth.contract(address=to_checksum_address(address), abi=abis[name])

        self.settlement = at("Settlement", c["settlement"])
        self.accounts = at("MarginAccounts", c["accounts"])
        self.vault = at("CollateralVault", c["vault"])
        self.epochs = at("RiskEpochs", c["epochs"])
        self.verifier = at("MockVerifier", deployment.transition_verifier)
        self.chain_id = chain_id
        self.pending_timeout_s = pending_timeout_s
        self._errors = {keccak(text=_signature(e))[:4].hex(): e["name"]
                        for name in _ERROR_SOURCES for e in abis.get(name, []) if e.get("type") == "error"}

    @property
    def sender(self) -> ChecksumAddress:
        return to_checksum_address(self.account.address)

    # --- reads ---------------------------------------------------------------------------------
    def epoch_id(self) -> int:
        return int(self.epochs.functions.currentEpochId().call())

    def epoch(self, epoch_id: int) -> Epoch:
        info = self.epochs.functions.getEpoch(int(epoch_id)).call()
        logs = self.epochs.events.EpochData.get_logs(from_block=0, to_block="latest",
                                                     argument_filters={"epochId": int(epoch_id)})
        if not logs:
            raise DevnetError(f"no EpochData event for epoch {epoch_id}")
        a = logs[-1]["args"]
        # IRiskEpochs.Epoch: digest, fundingDigest, marksHash, fundingHash, oracleRound, timestamp, postedAt,
        # imFactorBps, numInstruments, numScenarios
        return epoch_from_data(epoch_id, int(info[7]), int(info[9]), list(a["marks"]), list(a["scenarioPnl"]),
                               list(a["addons"]), list(a["funding"]), int(info[0]))

    def commitment_of(self, account: str) -> int:
        return int(self.accounts.functions.commitmentOf(to_checksum_address(account)).call())

    def balance_of(self, account: str) -> int:
        return int(self.vault.functions.balanceOf(to_checksum_address(account)).call())

    def in_liquidation(self, account: str) -> bool:
        state = self.accounts.functions.accountState(to_checksum_address(account)).call()
        names = [o["name"] for o in self._output_components(self.accounts, "accountState")]
        return bool(state[names.index("inLiquidation")])

    @staticmethod
    def _output_components(contract: Any, fn: str) -> list[dict[str, Any]]:
        for e in contract.abi:
            if e.get("type") == "function" and e.get("name") == fn:
                return list(e["outputs"][0]["components"])
        raise DevnetError(f"no {fn} in the ABI")

    def batch_settled(self, fill_table: int) -> bool:
        return bool(self.settlement.functions.batchSettled(int(fill_table)).call())

    def order_state(self, order: int) -> int:
        return int(self.settlement.functions.orderState(int(order)).call())

    def fee_bps(self) -> int:
        return int(self.settlement.functions.feeBps().call())

    # --- writes --------------------------------------------------------------------------------
    def _reason(self, exc: Exception) -> str:
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            name = self._errors.get(data[2:10])
            if name is not None:
                return f"{name} ({data})"
        return str(exc)

    def _send(self, fn: Any) -> Receipt:
        from web3.exceptions import ContractCustomError, ContractLogicError

        try:
            tx = fn.build_transaction({"from": self.sender, "chainId": self.chain_id,
                                       "nonce": self.w3.eth.get_transaction_count(self.sender, "pending")})
        except (ContractCustomError, ContractLogicError) as exc:
            raise SubmitReverted(self._reason(exc)) from None
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.pending_timeout_s)
        if int(receipt["status"]) != 1:
            raise SubmitReverted(f"transaction 0x{bytes(tx_hash).hex()} failed")
        return Receipt("0x" + bytes(tx_hash).hex(), int(receipt["blockNumber"]), int(receipt["gasUsed"]))

    def submit(self, batch: tuple[Any, ...]) -> Receipt:
        epoch_id, fill_table, fee_total, entries = batch
        rows = [(to_checksum_address(e[0]), *e[1:]) for e in entries]
        return self._send(self.settlement.functions.settle((epoch_id, fill_table, fee_total, rows)))

    def wait_idle(self) -> None:
        deadline = time.monotonic() + self.pending_timeout_s
        while (self.w3.eth.get_transaction_count(self.sender, "pending")
               != self.w3.eth.get_transaction_count(self.sender, "latest")):
            if time.monotonic() > deadline:
                raise DevnetError(f"transactions from {self.sender} still pending after {self.pending_timeout_s} s")
            time.sleep(0.2)

    def allow_statement(self, inputs: Sequence[int]) -> None:
        self._send(self.verifier.functions.setStatement([int(x) for x in inputs], True))
