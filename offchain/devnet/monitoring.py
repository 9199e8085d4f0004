"""What every long-running role script shares: ``--metrics-port``, ``--log-json``, ``--tiers-config``
and the :class:`RoleMonitor` that serves the metrics and writes the logs.

In a script::

    @monitoring_options
    def cli(state_dir, follow, metrics_port, log_json, tiers_config):
        mon = RoleMonitor("epochs", metrics_port=metrics_port, log_json=log_json, tiers_config=tiers_config)
        while True:
            with mon.pass_(swallow=follow) as run:
                p = attach(state_dir)
                mon.watch(p.d.owner, [p.d.epochs])       # once: gas, lag, pending of this sender
                ...
                run.protocol = p                          # accounts by tier after the pass
            ...

With ``--follow`` a failing pass is logged (``event: error``), counted in
``zkmargin_errors_total{kind=<exception class>}`` and the role goes on with the next pass;
bad input (:class:`~zkmargin.errors.InputError`) always stops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from offchain.devnet.logs import RoleLog
from offchain.devnet.metrics import LOOPBACK, ChainMonitor, RoleMetrics
from offchain.devnet.tiers import TierPolicy, account_health, tier_counts
from zkmargin.errors import InputError


def monitoring_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--metrics-port``, ``--log-json`` and ``--tiers-config`` to a role's click command."""
    fn = click.option("--tiers-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help="Margin-call config (JSON) whose health tiers the metrics use (default: built-in tiers).")(fn)
    fn = click.option("--log-json", is_flag=True, help="Write structured JSON logs (one object per line) to stdout.")(fn)
    fn = click.option("--metrics-port", type=click.IntRange(0, 65_535), default=None,
                      help=f"Serve Prometheus metrics on http://{LOOPBACK}:PORT/metrics (0: any free port, printed).")(fn)
    return fn


@dataclass
class PassRun:
    """Set ``protocol`` inside a pass to have the accounts per tier refreshed after it."""

    protocol: Any = None


class RoleMonitor:
    """Metrics and logs of one role process."""

    def __init__(self, role: str, *, metrics_port: int | None = None, log_json: bool = False,
                 tiers_config: Path | None = None, tiers_every_s: float = 5.0) -> None:
        self.role = role
        self.log = RoleLog(role, log_json)
        self.metrics = RoleMetrics(role)
        self.policy = TierPolicy()
        if tiers_config is not None:
            from offchain.devnet.margin_calls import load_config

            self.policy = load_config(tiers_config, field=str(tiers_config)).policy
        self.tiers_every_s = tiers_every_s
        self._tiers_at = -float("inf")
        self.chain_monitor: ChainMonitor | None = None
        self.port: int | None = None
        if metrics_port is not None:
            self.port = self.metrics.serve(metrics_port)
            url = f"http://{LOOPBACK}:{self.port}/metrics"
            self.log.event("metrics_listening", f"metrics on {url}", port=self.port, url=url)

    @property
    def enabled(self) -> bool:
        return self.port is not None

    def watch(self, sender: Any, contracts: Sequence[Any]) -> None:
        """Start following the chain for ``sender``'s transactions to ``contracts`` (once)."""
        if not self.enabled or self.chain_monitor is not None:
            return
        from ape import chain

        names = {str(c.address): str(c.contract_type.name) for c in contracts if c is not None}
        self.chain_monitor = ChainMonitor(self.metrics, str(chain.provider.uri), str(sender.address), names).start()

    def error(self, kind: str, msg: str, **fields: Any) -> None:
        self.metrics.error(kind)
        self.log.error_event("error", msg, kind=kind, **fields)

    @contextmanager
    def pass_(self, swallow: bool = False) -> Iterator[PassRun]:
        """One pass of the role: timed and counted; an exception is counted by its class and, with
        ``swallow``, logged and dropped (bad input always propagates)."""
        run = PassRun()
        t0 = time.monotonic()
        try:
            yield run
        except InputError:
            raise
        except Exception as exc:
            self.error(type(exc).__name__, f"{type(exc).__name__}: {exc}")
            if not swallow:
                raise
            return
        self.metrics.pass_done(time.monotonic() - t0)
        if self.chain_monitor is not None:
            self.chain_monitor.pass_completed()
        if run.protocol is not None and self.enabled:
            self.refresh_protocol(run.protocol)
            self.refresh_tiers(run.protocol)

    def refresh_protocol(self, p: Any) -> None:
        """The oracle's global round, the current epoch and the rounds it does not cover yet."""
        m, role = self.metrics, self.role
        rnd = int(p.d.oracle.globalRound())
        current = int(p.d.epochs.currentEpochId())
        covered = int(p.d.epochs.getEpoch(current).oracleRound) if current else 0
        m.oracle_round.labels(role).set(rnd)
        m.epoch.labels(role).set(current)
        m.lag_rounds.labels(role).set(max(0, rnd - covered))

    def refresh_tiers(self, p: Any, force: bool = False) -> None:
        """Accounts per tier from ``p`` (at most every ``tiers_every_s`` unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._tiers_at < self.tiers_every_s:
            return
        if p.epoch is None or len(p.book) == 0:
            return
        self._tiers_at = now
        self.metrics.set_tiers(tier_counts(self.policy, account_health(p, self.policy)))

    def close(self) -> None:
        if self.chain_monitor is not None:
            self.chain_monitor.stop()
        self.metrics.stop()


def refresh_state(p: Any, state_dir: Path) -> None:
    """Re-read what other role processes may have changed in ``state_dir``: the operator's book,
    and the current epoch's file once the chain has moved to a new epoch."""
    from offchain.devnet.operator import AccountBook
    from offchain.risk.epoch import load_epoch

    book = Path(state_dir) / "book.json"
    if book.exists():
        p.book = AccountBook.load(book)
    current = int(p.d.epochs.currentEpochId())
    epoch_file = Path(state_dir) / "epochs" / f"epoch-{current}.json"
    if current and (p.epoch is None or p.epoch.epoch_id != current) and epoch_file.exists():
        p.epoch = load_epoch(str(epoch_file))
