"""The statement epochs as the chain holds them (``RiskEpochs.EpochData`` and ``getEpoch``).

A keeper or settler that only has a node can rebuild any posted epoch's statement data
(``prover.statement.Epoch``: marks, scenario PnL, add-ons, funding index, IM factor) from the
public logs, checked against the digest stored on-chain, so it needs no file from the risk keeper.
"""

from __future__ import annotations

from typing import Any

from prover.statement import Epoch
from zkmargin.errors import DevnetError


class ChainEpochs:
    """Posted epochs of one deployment, read from the chain once each (cached)."""

    def __init__(self, deployment: Any) -> None:
        self.d = deployment
        self._cache: dict[int, Epoch] = {}

    def current_id(self) -> int:
        return int(self.d.epochs.currentEpochId())

    def statement(self, epoch_id: int | None = None) -> Epoch:
        """The statement data of ``epoch_id`` (default: the current epoch); raises
        :class:`DevnetError` if it is not posted or its logged data does not hash to its digest."""
        from ape import chain

        eid = self.current_id() if epoch_id is None else int(epoch_id)
        if eid == 0:
            raise DevnetError("no epoch posted yet")
        info = self.d.epochs.getEpoch(eid)
        cached = self._cache.get(eid)
        if cached is not None and cached.digest() == int(info.digest):  # (a reverted chain may re-post an id)
            return cached
        logs = list(self.d.epochs.EpochData.range(0, int(chain.blocks.head.number) + 1, search_topics={"epochId": eid}))
        if not logs:
            raise DevnetError(f"no EpochData event for epoch {eid}")
        ev = logs[-1]
        n, s = int(info.numInstruments), int(info.numScenarios)
        flat = [int(x) for x in ev.scenarioPnl]
        pnl = [flat[i * s : (i + 1) * s] for i in range(n)]
        epoch = Epoch.create(eid, int(info.imFactorBps), [int(x) for x in ev.marks], pnl, [int(x) for x in ev.addons],
                             [int(x) for x in ev.funding])
        if epoch.digest() != int(info.digest):
            raise DevnetError(f"epoch {eid}: the logged data does not hash to the digest on-chain")
        self._cache[eid] = epoch
        return epoch

    def funding(self, epoch_id: int) -> tuple[int, ...]:
        """The funding index of ``epoch_id``."""
        return self.statement(epoch_id).fund

    def settled_funding(self, account: str) -> tuple[int, ...]:
        """The funding index ``account`` last settled at (the current epoch's for a new account)."""
        if int(self.d.accounts.commitmentOf(account)) == 0:
            return self.statement().fund
        return self.funding(int(self.d.accounts.accountState(account).settledEpoch))
