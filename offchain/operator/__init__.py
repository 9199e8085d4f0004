"""The operator's private book in SQLite, and the settler that turns its fills into settled batches.

* :mod:`offchain.operator.schema`: the tables, the version table and the ordered migrations;
* :mod:`offchain.operator.store`: :class:`OperatorStore` (WAL, one transaction per settled batch,
  history and replay, JSON export);
* :mod:`offchain.operator.records`, :mod:`offchain.operator.payload`: the rows and a batch's
  persisted payload;
* :mod:`offchain.operator.intake`: :class:`BookRecorder`, the order book's orders and fills into
  the store;
* :mod:`offchain.operator.exchange`: :class:`Exchange`, the order book as a persistent service over
  the store (rebuilt on start, pre-trade risk on the unsettled state, funding samples), with
  :mod:`offchain.operator.exposure` (a trader's unsettled state) and
  :mod:`offchain.operator.funding_window` (the funding keeper's window in the store),
  :mod:`offchain.operator.quoting` (command-line prices: USD per unit <-> base units per lot)
  and :mod:`offchain.operator.ape_exchange` (the exchange of a saved deployment, inside ape);
* :mod:`offchain.operator.batching`: the batch limits and the fill-by-fill reference check;
* :mod:`offchain.operator.settler`: :class:`Settler` (prepare, prove, submit, confirm; recovery);
* :mod:`offchain.operator.chain`: the chain interface, with :mod:`offchain.operator.ape_chain`
  and :mod:`offchain.operator.web3_chain`; :mod:`offchain.operator.deployment` reads the
  addresses;
* :mod:`offchain.operator.provers`: the mock and the real prover;
* :mod:`offchain.operator.runner`: the loop (SIGTERM, fault injection); :mod:`offchain.operator.cli`.

See docs/trading.md, "The operator's book" and "The exchange service".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offchain.operator.exchange import Exchange, OrderView
    from offchain.operator.exposure import TraderState
    from offchain.operator.intake import BookRecorder
    from offchain.operator.settler import Settler, StepReport
    from offchain.operator.store import OperatorStore, Rejection

#: the public names, imported on first use (``zkmargin --help`` does not pay for numpy and web3)
_EXPORTS = {"BookRecorder": "offchain.operator.intake", "Exchange": "offchain.operator.exchange",
            "OrderView": "offchain.operator.exchange", "TraderState": "offchain.operator.exposure",
            "Settler": "offchain.operator.settler",
            "StepReport": "offchain.operator.settler", "OperatorStore": "offchain.operator.store",
            "Rejection": "offchain.operator.store"}

__all__ = ["BookRecorder", "Exchange", "OperatorStore", "OrderView", "Rejection", "Settler", "StepReport",
           "TraderState"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
