"""Prometheus metrics of the long-running roles (oracle, epochs, prover, liquidation keeper,
margin-call keeper; any later role reuses :class:`RoleMetrics` and :class:`ChainMonitor`).

Every metric carries a ``role`` label, so one Prometheus can scrape every role of a deployment
(each role serves its own registry on ``127.0.0.1:<--metrics-port>/metrics``):

=========================================== ======= ===============================================
metric                                      type    meaning
=========================================== ======= ===============================================
``zkmargin_role_info``                      gauge   1, labels: chain id, sender, version
``zkmargin_chain_head_block``               gauge   the node's latest block (polled every second)
``zkmargin_processed_block``                gauge   the block the role's last completed pass saw
``zkmargin_lag_blocks``                     gauge   head - processed block (grows while a pass is stuck)
``zkmargin_lag_seconds``                    gauge   chain time of the head - chain time of the processed block
``zkmargin_lag_rounds``                     gauge   oracle rounds not yet covered by a risk epoch
``zkmargin_oracle_global_round``            gauge   the oracle's global round
``zkmargin_epoch_id``                       gauge   the current risk epoch
``zkmargin_pending_transactions``           gauge   the sender's pending nonce - mined nonce
``zkmargin_accounts{tier}``                 gauge   accounts per health tier / status (offchain.devnet.tiers)
``zkmargin_proofs_total{kind,result}``      counter proofs made (result: proved, not_provable, skipped, ...)
``zkmargin_proofs_per_second``              gauge   proofs / proving wall time of the last batch
``zkmargin_proving_seconds_total``          counter wall time spent proving
``zkmargin_transactions_total{contract,status}`` counter the sender's transactions to the role's contracts, by receipt status
``zkmargin_gas_used_total{contract}``       counter gas units of those transactions (from the receipts)
``zkmargin_gas_spent_wei_total``            counter gas used x effective gas price, in wei
``zkmargin_errors_total{kind}``             counter errors by kind (exception class, skip reason, revert)
``zkmargin_passes_total``                   counter completed passes
``zkmargin_pass_duration_seconds``          histogram wall time of a pass
``zkmargin_last_pass_timestamp_seconds``    gauge   unix time of the last completed pass
``zkmargin_alerts_total{type}``             counter margin-call alerts stored (margin-call keeper)
``zkmargin_webhook_deliveries_total{endpoint,outcome}`` counter delivery attempts (margin-call keeper)
``zkmargin_topups_total``, ``zkmargin_topup_units_total`` counter top-ups sent and collateral units moved
=========================================== ======= ===============================================

Gas and transactions are read back from the chain (the blocks mined since the last pass,
filtered by sender and by the role's contracts), so they count what was mined, whoever in the
process sent it. Lag and pending transactions are polled by a daemon thread with its own web3
connection, so a role stuck in a pass still shows its lag growing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from zkmargin import __version__

LOOPBACK = "127.0.0.1"


class RoleMetrics:
    """The metrics of one role, in their own registry."""

    def __init__(self, role: str, registry: CollectorRegistry | None = None) -> None:
        self.role = role
        self.registry = r = registry or CollectorRegistry()
        L = ["role"]
        self.info = Gauge("zkmargin_role_info", "The role, its chain, sender and version (always 1).",
                          ["role", "chain_id", "sender", "version"], registry=r)
        self.head_block = Gauge("zkmargin_chain_head_block", "The node's latest block number.", L, registry=r)
        self.processed_block = Gauge("zkmargin_processed_block", "Block seen by the role's last completed pass.", L, registry=r)
        self.lag_blocks = Gauge("zkmargin_lag_blocks", "Blocks between the head and the last processed block.", L, registry=r)
        self.lag_seconds = Gauge("zkmargin_lag_seconds", "Chain seconds between the head and the last processed block.",
                                 L, registry=r)
        self.lag_rounds = Gauge("zkmargin_lag_rounds", "Oracle rounds not yet covered by a risk epoch.", L, registry=r)
        self.oracle_round = Gauge("zkmargin_oracle_global_round", "The oracle's global round.", L, registry=r)
        self.epoch = Gauge("zkmargin_epoch_id", "The current risk epoch.", L, registry=r)
        self.pending = Gauge("zkmargin_pending_transactions", "The sender's transactions sent but not mined.", L, registry=r)
        self.accounts = Gauge("zkmargin_accounts", "Accounts per health tier or status.", ["role", "tier"], registry=r)
        self.proofs = Counter("zkmargin_proofs", "Proofs by kind and result.", ["role", "kind", "result"], registry=r)
        self.proofs_per_second = Gauge("zkmargin_proofs_per_second", "Proofs per second of the last batch.", L, registry=r)
        self.proving_seconds = Counter("zkmargin_proving_seconds", "Wall time spent proving.", L, registry=r)
        self.transactions = Counter("zkmargin_transactions", "Mined transactions of the sender to the role's contracts.",
                                    ["role", "contract", "status"], registry=r)
        self.gas_used = Counter("zkmargin_gas_used", "Gas used by those transactions.", ["role", "contract"], registry=r)
        self.gas_spent_wei = Counter("zkmargin_gas_spent_wei", "Gas used times effective gas price, wei.", L, registry=r)
        self.errors = Counter("zkmargin_errors", "Errors by kind.", ["role", "kind"], registry=r)
        self.passes = Counter("zkmargin_passes", "Completed passes.", L, registry=r)
        self.pass_seconds = Histogram("zkmargin_pass_duration_seconds", "Wall time of a pass.", L, registry=r,
                                      buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        self.last_pass = Gauge("zkmargin_last_pass_timestamp_seconds", "Unix time of the last completed pass.", L, registry=r)
        self.alerts = Counter("zkmargin_alerts", "Margin-call alerts stored, by type.", ["role", "type"], registry=r)
        self.deliveries = Counter("zkmargin_webhook_deliveries", "Webhook delivery attempts by outcome.",
                                  ["role", "endpoint", "outcome"], registry=r)
        self.topups = Counter("zkmargin_topups", "Top-ups sent.", L, registry=r)
        self.topup_units = Counter("zkmargin_topup_units", "Collateral base units moved by top-ups.", L, registry=r)
        for m in (self.head_block, self.processed_block, self.lag_blocks, self.lag_seconds, self.pending,
                  self.proofs_per_second, self.proving_seconds, self.gas_spent_wei, self.passes, self.last_pass):
            m.labels(role)
        self._server: Any = None

    def serve(self, port: int, host: str = LOOPBACK) -> int:
        """Serve ``/metrics`` on ``host:port`` (port 0: any free port); return the port."""
        if host != LOOPBACK:
            raise ValueError(f"metrics are served on {LOOPBACK} only, not {host}")
        server, _ = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- small helpers the roles call ------------------------------------------------------------
    def set_info(self, chain_id: int, sender: str) -> None:
        self.info.labels(self.role, str(chain_id), sender, __version__).set(1)

    def error(self, kind: str) -> None:
        self.errors.labels(self.role, kind).inc()

    def set_tiers(self, counts: Mapping[str, int]) -> None:
        for tier, n in counts.items():
            self.accounts.labels(self.role, tier).set(n)

    def proofs_done(self, kind: str, results: Mapping[str, int], seconds: float, made: int) -> None:
        """Count a batch: ``results`` maps a result to its count; ``made`` proofs took ``seconds``."""
        for result, n in results.items():
            if n:
                self.proofs.labels(self.role, kind, result).inc(n)
        if made:
            self.proving_seconds.labels(self.role).inc(seconds)
            self.proofs_per_second.labels(self.role).set(made / seconds if seconds > 0 else 0.0)

    def pass_done(self, seconds: float) -> None:
        self.passes.labels(self.role).inc()
        self.pass_seconds.labels(self.role).observe(seconds)
        self.last_pass.labels(self.role).set(time.time())


class ChainMonitor:
    """Feeds a :class:`RoleMetrics` from the node at ``rpc_uri``: head, lag and pending
    transactions from a polling thread; gas and transaction counts of ``sender``'s transactions
    to ``contracts`` (address -> name) from the blocks each completed pass covers."""

    def __init__(self, metrics: RoleMetrics, rpc_uri: str, sender: str, contracts: Mapping[str, str],
                 poll_seconds: float = 1.0) -> None:
        from web3 import HTTPProvider, Web3

        self.metrics = metrics
        self.uri = rpc_uri
        self.sender = Web3.to_checksum_address(sender)
        self.contracts = {Web3.to_checksum_address(a): n for a, n in contracts.items()}
        self.poll_seconds = poll_seconds
        self._w3_pass = Web3(HTTPProvider(rpc_uri, request_kwargs={"timeout": 10}))
        self._w3_poll = Web3(HTTPProvider(rpc_uri, request_kwargs={"timeout": 10}))
        head = self._w3_pass.eth.get_block("latest")
        self._scanned = int(head["number"])
        self._processed = (int(head["number"]), int(head["timestamp"]))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        metrics.set_info(int(self._w3_pass.eth.chain_id), self.sender)
        self._poll_once(self._w3_pass)

    def start(self) -> ChainMonitor:
        self._thread = threading.Thread(target=self._poll, name=f"{self.metrics.role}-chain-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._poll_once()
            except Exception:  # noqa: BLE001 - a node hiccup must not kill the poller
                self.metrics.error("node_unreachable")

    def _poll_once(self, w3: Any = None) -> None:
        w3 = self._w3_poll if w3 is None else w3
        m, role = self.metrics, self.metrics.role
        head = w3.eth.get_block("latest")
        number, ts = int(head["number"]), int(head["timestamp"])
        with self._lock:
            processed, processed_ts = self._processed
        m.head_block.labels(role).set(number)
        m.processed_block.labels(role).set(processed)
        m.lag_blocks.labels(role).set(max(0, number - processed))
        m.lag_seconds.labels(role).set(max(0, ts - processed_ts))
        pending = w3.eth.get_transaction_count(self.sender, "pending") - w3.eth.get_transaction_count(self.sender, "latest")
        m.pending.labels(role).set(max(0, pending))

    def pass_completed(self, block: int | None = None) -> None:
        """The role finished a pass that saw the chain up to ``block`` (default: the head now):
        count the gas of the sender's transactions mined since the last pass, update the lag."""
        w3, m, role = self._w3_pass, self.metrics, self.metrics.role
        head = w3.eth.get_block("latest" if block is None else block)
        number = int(head["number"])
        for n in range(self._scanned + 1, number + 1):
            blk = w3.eth.get_block(n, full_transactions=True)
            for tx_data in blk["transactions"]:
                tx: dict[str, Any] = dict(tx_data)  # type: ignore[arg-type]  # full transactions
                to = tx.get("to")
                if tx["from"] != self.sender or to not in self.contracts:
                    continue
                rcpt = w3.eth.get_transaction_receipt(tx["hash"])
                name = self.contracts[to]
                ok = int(rcpt["status"]) == 1
                m.transactions.labels(role, name, "success" if ok else "reverted").inc()
                m.gas_used.labels(role, name).inc(int(rcpt["gasUsed"]))
                price = int(rcpt.get("effectiveGasPrice", tx.get("gasPrice", 0)) or 0)
                m.gas_spent_wei.labels(role).inc(int(rcpt["gasUsed"]) * price)
                if not ok:
                    m.error("transaction_reverted")
        self._scanned = max(self._scanned, number)
        with self._lock:
            self._processed = (number, int(head["timestamp"]))
        self._poll_once(self._w3_pass)
