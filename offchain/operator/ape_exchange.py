"""The exchange of a saved deployment inside ape: what ``ape run trader`` and ``ape run funding`` open.

:func:`open_exchange` attaches to the contracts saved in ``<state-dir>/deployment.json``
(:func:`~offchain.operator.ape_chain.attach_deployment`), opens (or creates) the operator
database, and starts an :class:`~offchain.operator.exchange.Exchange` over it at the chain's
time: the current epoch and its data from ``RiskEpochs``, the vault balances, the settlement's
fee rate and EIP-712 domain. The listing is the one recorded in the database; on the first start
it is made from the deployment's instruments with ticks from the oracle's latest prices.

Needs a connected ape provider; ape is imported only inside the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.operator.ape_chain import ApeChain, attach_deployment
from offchain.operator.exchange import Exchange
from offchain.operator.quoting import (
    ORACLE_SCALE,
    Quoting,
    listing_for,
    next_nonce,
    read_instruments,
    recorded_listing,
)
from offchain.operator.store import OperatorStore
from offchain.risk.instruments import AnyInstrument
from prover.statement import Epoch
from zkmargin.errors import InputError


@dataclass
class AttachedExchange:
    """An exchange over a deployment's operator database (close :attr:`store` when done)."""

    exchange: Exchange
    quoting: Quoting
    chain: ApeChain
    store: OperatorStore

    def close(self) -> None:
        self.store.close()


def chain_now() -> int:
    """The chain's time: the latest block's timestamp (unix seconds)."""
    from ape import chain

    return int(chain.blocks.head.timestamp)


def oracle_answers(d: Any, underlyings: Sequence[str]) -> dict[str, int]:
    """The oracle's latest answer (USD per unit, 8 decimals) per underlying; an underlying with
    no reported price is an ``InputError`` naming the oracle."""
    from offchain.devnet.deploy import feed_id

    out: dict[str, int] = {}
    for u in sorted(set(underlyings)):
        answer = int(d.oracle.latestRound(feed_id(f"{u}/USD")).answer)
        if answer <= 0:
            raise InputError("oracle", f"no {u}/USD price has been reported yet (ape run oracle)")
        out[u] = answer
    return out


def database_path(state_dir: Path, db: Path | None) -> Path:
    """``--db``, or ``<state-dir>/operator.sqlite``."""
    return Path(db) if db is not None else Path(state_dir) / "operator.sqlite"


def open_store(state_dir: Path, db: Path | None, *, create: bool) -> OperatorStore:
    """The operator database (``create=False``: an existing one, else ``InputError`` naming ``--db``)."""
    path = database_path(state_dir, db)
    try:
        return OperatorStore(path, create=create)
    except InputError as exc:
        where = "" if exc.field == str(path) else f"{exc.field}: "
        raise InputError("--db", f"{path}: {where}{exc.problem}") from None


def quoting_for(store: OperatorStore, instruments: Sequence[AnyInstrument], d: Any) -> Quoting:
    """The quoting of the listing recorded in ``store`` (or made from the oracle's prices)."""
    listing = recorded_listing(store, instruments, lambda: {
        u: a / ORACLE_SCALE for u, a in oracle_answers(d, [i.underlying for i in instruments]).items()})
    return Quoting(listing, instruments)


def preview(state_dir: Path, db: Path | None, d: Any, instruments: Sequence[AnyInstrument],
            trader: str) -> tuple[Quoting, int]:
    """The quoting an exchange will use and ``trader``'s next nonce, read without writing
    anything (no database yet: the listing from the oracle's prices, nonce 1), so that every
    option can be checked before the database is touched."""
    if not database_path(state_dir, db).is_file():
        spots = {u: a / ORACLE_SCALE for u, a in oracle_answers(d, [i.underlying for i in instruments]).items()}
        return Quoting(listing_for(instruments, spots), instruments), 1
    with open_store(state_dir, db, create=False) as store:
        return quoting_for(store, instruments, d), next_nonce(store, trader)


def open_exchange(state_dir: Path, db: Path | None, owner: Any, *, create: bool = True) -> AttachedExchange:
    """Start the exchange of the deployment in ``state_dir`` over its operator database (see
    the module docstring); ``owner`` is the account that reads the contracts."""
    d = attach_deployment(state_dir, owner)
    instruments = read_instruments(state_dir)
    chain = ApeChain(d, owner)
    store = open_store(state_dir, db, create=create)
    try:
        quoting = quoting_for(store, instruments, d)
        epochs: dict[int, Epoch] = {}

        def current() -> Epoch | None:
            eid = chain.epoch_id()
            if eid == 0:
                return None
            if eid not in epochs:
                epochs[eid] = chain.epoch(eid)
            return epochs[eid]

        ex = Exchange(store, quoting.listing, current, chain.balance_of, fee_bps=chain.fee_bps(), chain_id=d.chain_id,
                      settlement=str(d.settlement.address), now=chain_now())
    except BaseException:
        store.close()
        raise
    return AttachedExchange(ex, quoting, chain, store)
