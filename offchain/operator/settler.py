"""The settler: pending fills -> batches -> proofs -> ``Settlement.settle`` -> confirmed, crash-safe.

Each :meth:`Settler.step` first **recovers** every batch the database holds as prepared, proved or
submitted (a previous process may have died anywhere), then settles at most one new batch:

1. **select** pending fills under the batch limits (:mod:`offchain.operator.batching`), skipping
   accounts whose on-chain state is not the store's (a transition the store has not recorded, an
   account in liquidation, an order fill state that differs);
2. **prepare** it with :func:`offchain.devnet.batches.prepare_batch`: each account's old opening
   and settled funding from the store, its vault balance as collateral, fresh salts drawn from
   the store's seed; a fill the reference refuses is rejected with the reason (its order
   cancelled) and the others go on. Persisted as ``prepared`` together with the salts drawn;
3. **prove** every transition with the injected prover; persisted as ``proved`` with the
   proofs and the contract tuple;
4. **submit** ``settle``; persisted as ``submitted`` with the transaction hash;
5. **confirm**: new openings, order states, fills settled and history in one transaction.

Recovery rules, for a batch found prepared, proved or submitted:

* its fill table is settled on chain (``batchSettled(T)``): the chain took exactly this payload,
  so it is confirmed from the persisted payload, whatever the status said;
* it is not, and it can still settle (same epoch and fee, every account's commitment still the
  batch's old one, no account in liquidation, balances still cover the collateral, the orders'
  fill states unchanged): it is finished, proved if it was not, then (re)submitted;
* otherwise it can never settle (the contract would refuse it forever): it is abandoned and its
  fills go back to pending, to be batched again against the new state (a new epoch's funding).

A batch the chain refuses is abandoned the same way; a fill whose batches were refused
``max_attempts`` times is rejected with the last reason. Nothing is decided while one of the
sender's transactions is pending. So a process killed at any point and restarted loses no fill
and settles none twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from offchain.devnet.batches import Party, PreparedBatch, Trade, prepare_batch
from offchain.operator.batching import PartyState, admit, select_fills
from offchain.operator.chain import SettlementChain
from offchain.operator.errors import SettlerError, SubmitReverted
from offchain.operator.payload import BatchPayload, parties_and_trades, payload_of
from offchain.operator.provers import MockProver
from offchain.operator.records import BatchStatus, FillRecord, FillStatus, contract_signature
from offchain.operator.store import BatchRecord, OperatorStore, Rejection
from prover.errors import ProverInputError
from prover.statement import Epoch
from prover.transitions import DEFAULT_FILL_SLOTS, OrderSlot, TransitionRequest, public_input_names

#: the prover: one proof (8 EVM words) per transition request
Prover = Callable[[list[TransitionRequest]], list[list[int]]]
#: called after each persisted step: ``(stage, batch id)`` with stage one of :data:`STAGES`
StageHook = Callable[[str, int], None]
#: the points a batch passes ("sent": the transaction is mined, its hash not yet persisted)
STAGES = ("prepared", "proved", "sent", "submitted", "confirmed")


@dataclass
class StepReport:
    """What one step did."""

    confirmed: list[int] = field(default_factory=list)  # batch ids
    submitted: list[int] = field(default_factory=list)
    abandoned: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)  # fills the reference refused
    failed: list[int] = field(default_factory=list)  # fills rejected after repeated reverts
    deferred: dict[str, str] = field(default_factory=dict)  # account -> why its fills wait

    @property
    def idle(self) -> bool:
        """Nothing happened (no batch moved, no fill was rejected)."""
        return not (self.confirmed or self.submitted or self.abandoned or self.rejected or self.failed)

    def lines(self, deferred: bool = True) -> list[str]:
        """One line per event (and per waiting account with ``deferred``)."""
        out = [f"confirmed batch {b}" for b in self.confirmed]
        out += [f"abandoned batch {b}: {why}" for b, why in self.abandoned]
        out += [f"rejected fill {r.fill_id}: {r.reason}" for r in self.rejected]
        out += [f"rejected fill {f}: its batches kept failing" for f in self.failed]
        if deferred:
            out += [f"waiting {a}: {why}" for a, why in sorted(self.deferred.items())]
        return out


class Settler:
    """Settles ``store``'s pending fills on ``chain`` with proofs from ``prover``.

    ``fee_bps``: the settlement's fee rate (None: read it from the chain; when given it must be
    the chain's). ``max_fills`` fills per batch (at most ``slots``, the fill table's size).
    ``on_stage`` is told of every persisted step (fault injection in the tests uses it).
    """

    def __init__(self, store: OperatorStore, chain: SettlementChain, prover: Prover, fee_bps: int | None = None, *,
                 slots: int = DEFAULT_FILL_SLOTS, max_fills: int | None = None, max_attempts: int = 3,
                 on_stage: StageHook | None = None) -> None:
        if max_fills is not None and not 1 <= max_fills <= slots:
            raise SettlerError(f"max_fills must be in [1, {slots}], got {max_fills}")
        self.store = store
        self.chain = chain
        self.prover = prover
        self.fee_bps = fee_bps
        self.slots = slots
        self.max_fills = max_fills or slots
        self.max_attempts = max_attempts
        self.on_stage = on_stage

    # --- the loop's unit ----------------------------------------------------------------------
    def step(self) -> StepReport:
        """Recover every live batch, then settle at most one new batch (see the module docstring)."""
        rep = StepReport()
        self.chain.wait_idle()
        current = self.chain.epoch_id()
        for rec in self.store.live_batches():
            self._recover(rec, current, rep)
        if current > 0:
            self._settle_next(current, rep)
        return rep

    def run_until_idle(self, max_steps: int = 10_000) -> list[StepReport]:
        """Step until a step does nothing; returns the reports."""
        reports = []
        for _ in range(max_steps):
            reports.append(self.step())
            if reports[-1].idle:
                return reports
        raise SettlerError(f"still busy after {max_steps} steps")

    def _stage(self, stage: str, batch_id: int) -> None:
        if self.on_stage is not None:
            self.on_stage(stage, batch_id)

    def _fee(self) -> int:
        fee = self.chain.fee_bps()
        if self.fee_bps is not None and fee != self.fee_bps:
            raise SettlerError(f"the settlement's fee is {fee} bps, the settler was started with {self.fee_bps}")
        return fee

    def _epoch(self, epoch_id: int) -> Epoch:
        epoch = self.store.epoch(epoch_id)
        if epoch is None:
            epoch = self.chain.epoch(epoch_id)
            self.store.record_epoch(epoch)
        return epoch

    # --- recovery -----------------------------------------------------------------------------
    def _recover(self, rec: BatchRecord, current: int, rep: StepReport) -> None:
        if self.chain.batch_settled(rec.fill_table):
            self._confirm(rec.id, rec.tx_hash, rec.block, rep)
            return
        problem = self.stale(rec.payload, current)
        if problem is not None:
            rep.failed += self.store.abandon(rec.id, problem, max_attempts=self.max_attempts)
            rep.abandoned.append((rec.id, problem))
            return
        contract = rec.contract
        if rec.status == BatchStatus.PREPARED or contract is None:
            contract = self._prove(rec.id, self._rebuild(rec))
        self._submit(rec.id, rec.fill_table, contract, rep)

    def stale(self, p: BatchPayload, current: int) -> str | None:
        """Why the batch ``p`` can never settle now, or None if it still can."""
        if p.epoch_id != current:
            return f"its epoch {p.epoch_id} is no longer the current one ({current})"
        fee = self.chain.fee_bps()
        if fee != p.fee_bps:
            return f"the fee rate changed from {p.fee_bps} to {fee} bps"
        for party, res in zip(p.parties, p.results):
            if self.chain.commitment_of(party.address) != res.commitment_old:
                return f"{party.address}'s commitment moved on chain"
            if self.chain.in_liquidation(party.address):
                return f"{party.address} is in liquidation"
            if self.chain.balance_of(party.address) + party.cash_out < party.collateral:
                return f"{party.address}'s balance fell below the batch's collateral {party.collateral}"
            names = public_input_names(len(res.new.q))
            for j in range(len(party.orders)):
                o = res.public[names.index(f"order[{j}]")]
                if self.chain.order_state(o) != res.public[names.index(f"order_state_old[{j}]")]:
                    return f"order {o}'s fill state moved on chain"
        return None

    def _rebuild(self, rec: BatchRecord) -> PreparedBatch:
        p = rec.payload
        parties, trades = parties_and_trades(p)
        batch = prepare_batch(self._epoch(p.epoch_id), p.fee_bps, parties, trades, p.slots, p.nonce)
        if batch.fill_table != rec.fill_table:
            raise SettlerError(f"batch {rec.id}: its payload rebuilds to another fill table")
        return batch

    # --- a new batch ----------------------------------------------------------------------------
    def _settle_next(self, current: int, rep: StepReport) -> None:
        pending = self.store.fills(FillStatus.PENDING)
        if not pending:
            return
        fee = self._fee()
        epoch = self._epoch(current)
        states: dict[str, PartyState] = {}
        while True:
            chosen = select_fills(pending, self.max_fills, frozenset(rep.deferred))
            fresh = sorted({a for f in chosen for a in (f.buyer, f.seller)} - set(states) - set(rep.deferred))
            if not fresh:
                break
            for a in fresh:
                state = self._party_state(a, pending, rep)
                if state is not None:
                    states[a] = state
        chosen = [f for f in chosen if f.buyer in states and f.seller in states]
        if not chosen:
            return
        salts_from = self.store.salts_drawn
        try:
            batch, used = self._prepare(epoch, fee, chosen, states, salts_from)
            rejections: list[Rejection] = []
        except ProverInputError:
            accepted, rejections = admit(epoch, fee, chosen, states)
            rep.rejected += rejections
            if not accepted:
                self.store.reject_fills(rejections)
                return
            chosen = accepted
            try:
                batch, used = self._prepare(epoch, fee, chosen, states, salts_from)
            except ProverInputError as exc:
                raise SettlerError(f"the fills admitted one by one do not make a valid batch: {exc}") from exc
        while self.chain.batch_settled(batch.fill_table):
            # the same fill table settled before (identical fills): leave the last fill for later
            if len(chosen) == 1:
                rejections.append(Rejection(chosen[0].id, "its fill table was already settled on chain",
                                            chosen[0].buyer, None))
                rep.rejected.append(rejections[-1])
                self.store.reject_fills(rejections)
                return
            chosen = chosen[:-1]
            batch, used = self._prepare(epoch, fee, chosen, states, salts_from)
        bid = self.store.save_prepared(payload_of(batch, [f.id for f in chosen]), batch.fill_table,
                                       salts_from=salts_from, salts_used=used, rejections=rejections)
        self._stage("prepared", bid)
        contract = self._prove(bid, batch)
        self._submit(bid, batch.fill_table, contract, rep)

    def _party_state(self, address: str, pending: Sequence[FillRecord], rep: StepReport) -> PartyState | None:
        """The account's state for the next batch (its orders: those of all its pending fills), or
        None when the chain and the store disagree about it (the reason goes to ``rep.deferred``)."""
        rec = self.store.account(address)
        if rec is None:
            raise SettlerError(f"{address} has fills but no account in the store")
        if self.chain.commitment_of(address) != rec.commitment:
            rep.deferred[address] = "its on-chain commitment is not the store's (a transition the store has not recorded)"
            return None
        if self.chain.in_liquidation(address):
            rep.deferred[address] = "it is in liquidation"
            return None
        orders = {}
        for f in pending:
            for who, o in ((f.buyer, f.buy_order), (f.seller, f.sell_order)):
                if who == address and o not in orders:
                    orders[o] = self.store.order(o)
                    if self.chain.order_state(o) != orders[o].state:
                        rep.deferred[address] = f"order {o}'s on-chain fill state is not the store's"
                        return None
        settled = None
        if rec.opening is not None:
            if rec.settled_epoch is None:
                raise SettlerError(f"{address} has an opening but no settled epoch")
            settled = self._epoch(rec.settled_epoch).fund
        return PartyState(address, rec.opening, settled, self.chain.balance_of(address), orders)

    def _prepare(self, epoch: Epoch, fee: int, fills: Sequence[FillRecord], states: dict[str, PartyState],
                 salts_from: int) -> tuple[PreparedBatch, int]:
        """The batch of ``fills`` with salts drawn in a fixed order from ``salts_from`` (the batch
        nonce, then each account by address: its commitment salt, then its orders' fill-state
        salts in the order they first appear); returns it and the number of salts used."""
        addresses = sorted({a for f in fills for a in (f.buyer, f.seller)}, key=lambda a: int(a, 16))
        own: dict[str, list[int]] = {a: [] for a in addresses}
        for f in fills:
            for who, o in ((f.buyer, f.buy_order), (f.seller, f.sell_order)):
                if o not in own[who]:
                    own[who].append(o)
        k = salts_from
        nonce = self.store.salt(k)
        k += 1
        parties = []
        for a in addresses:
            st = states[a]
            new_salt = self.store.salt(k)
            k += 1
            slots = []
            for o in own[a]:
                rec = st.orders[o]
                slots.append(OrderSlot(rec.statement_order(), rec.filled, rec.state_salt, self.store.salt(k)))
                k += 1
            parties.append(Party(a, st.old, st.settled, st.collateral, new_salt, tuple(slots),
                                 tuple(contract_signature(st.orders[o].signature) for o in own[a])))
        trades = [Trade(f.instrument, f.price, f.size, f.buyer, f.buy_order, f.seller, f.sell_order) for f in fills]
        return prepare_batch(epoch, fee, parties, trades, self.slots, nonce), k - salts_from

    # --- prove, submit, confirm ---------------------------------------------------------------------
    def _prove(self, batch_id: int, batch: PreparedBatch) -> tuple[Any, ...]:
        if isinstance(self.prover, MockProver):  # the batch carries the reference's results already
            proofs = self.prover.prove_results(batch.results)
        else:
            proofs = self.prover(list(batch.requests))
        if len(proofs) != len(batch.requests) or any(
                len(p) != 8 or any(not isinstance(w, int) or not 0 <= w < 2**256 for w in p) for p in proofs):
            raise SettlerError(f"batch {batch_id}: the prover must return 8 uint256 words per request "
                               f"({len(batch.requests)} requests, {len(proofs)} proofs)")
        contract = batch.contract_batch(proofs)
        self.store.save_proved(batch_id, proofs, contract)
        self._stage("proved", batch_id)
        return contract

    def _submit(self, batch_id: int, fill_table: int, contract: tuple[Any, ...], rep: StepReport) -> None:
        try:
            receipt = self.chain.submit(contract)
        except SubmitReverted as exc:
            if self.chain.batch_settled(fill_table):
                self._confirm(batch_id, None, None, rep)
                return
            rep.failed += self.store.abandon(batch_id, exc.reason, failed=True, max_attempts=self.max_attempts)
            rep.abandoned.append((batch_id, exc.reason))
            return
        self._stage("sent", batch_id)
        self.store.save_submitted(batch_id, receipt.tx_hash, receipt.block)
        rep.submitted.append(batch_id)
        self._stage("submitted", batch_id)
        if not self.chain.batch_settled(fill_table):
            raise SettlerError(f"batch {batch_id}: transaction {receipt.tx_hash} was mined but the fill table "
                               "is not settled")
        self._confirm(batch_id, receipt.tx_hash, receipt.block, rep)

    def _confirm(self, batch_id: int, tx_hash: str | None, block: int | None, rep: StepReport) -> None:
        self.store.confirm(batch_id, tx_hash, block)
        rep.confirmed.append(batch_id)
        self._stage("confirmed", batch_id)
