"""A prepared batch as the operator database keeps it (JSON), and back.

The payload holds the batch's inputs (the parties with their old openings, settled funding,
collateral, new salts and order slots; the trades; the store's fill ids) and what the integer
reference derived from them (each party's new opening and commitment, the orders' new fill
states, the funding, fill cash and fees it settles, the public inputs). With it a restarted
settler can rebuild the :class:`~offchain.devnet.batches.PreparedBatch` exactly
(:func:`parties_and_trades`), confirm a batch the chain settled without recomputing anything, and
resubmit the persisted contract tuple (:func:`contract_to_json`, :func:`contract_from_json`).
Large integers are decimal strings; bytes are 0x hex.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from offchain.devnet.batches import Party, PreparedBatch, Trade
from prover.statement import Account
from prover.transitions import Order, OrderSlot, fee_of
from zkmargin.errors import InputError

PAYLOAD_VERSION = 2


def _s(x: int) -> str:
    return str(int(x))


def _account_json(a: Account | None) -> dict[str, Any] | None:
    return None if a is None else {"q": [_s(x) for x in a.q], "cash": _s(a.cash), "salt": _s(a.salt)}


def _account(obj: dict[str, Any] | None) -> Account | None:
    return None if obj is None else Account.create([int(x) for x in obj["q"]], int(obj["cash"]), int(obj["salt"]))


def _slot_json(s: OrderSlot) -> dict[str, Any]:
    return {"order": [_s(x) for x in s.order.fields()], "filled_before": _s(s.filled_before),
            "r_before": _s(s.r_before), "r_after": _s(s.r_after)}


def _slot(obj: dict[str, Any]) -> OrderSlot:
    return OrderSlot(Order(*[int(x) for x in obj["order"]]), int(obj["filled_before"]), int(obj["r_before"]),
                     int(obj["r_after"]))


@dataclass(frozen=True)
class PartyResult:
    """What settling the batch does to one party (from the integer reference)."""

    address: str
    commitment_old: int
    commitment_new: int
    new: Account
    fresh: bool
    funding_paid: int
    cash_flow: int
    own_fees: int
    cash_out: int
    orders: tuple[tuple[int, int, int, int], ...]  # per used slot: (O, filled_after, r_after, S_new)
    public: tuple[int, ...]


@dataclass(frozen=True)
class BatchPayload:
    """A batch's inputs and results, as persisted."""

    epoch_id: int
    fee_bps: int
    slots: int
    fill_ids: tuple[int, ...]
    parties: tuple[Party, ...]
    trades: tuple[Trade, ...]
    results: tuple[PartyResult, ...]
    nonce: int = 0  # the batch nonce hashed into the fill table T

    def fills_of(self, address: str) -> list[tuple[int, Trade]]:
        """``(fill id, trade)`` of every fill ``address`` takes part in, in batch order."""
        return [(fid, t) for fid, t in zip(self.fill_ids, self.trades) if address in (t.buyer, t.seller)]

    def fee(self, trade: Trade) -> int:
        return fee_of(trade.price, trade.size, self.fee_bps)


def payload_of(batch: PreparedBatch, fill_ids: Sequence[int]) -> BatchPayload:
    """The persisted form of a prepared batch whose trades are the store's fills ``fill_ids``."""
    if len(fill_ids) != len(batch.trades):
        raise InputError("fill_ids", f"{len(fill_ids)} ids for {len(batch.trades)} trades")
    results = []
    for party, res in zip(batch.parties, batch.results):
        added: dict[int, int] = {}
        for t in batch.trades:
            if t.buyer == party.address:
                added[t.buy_order] = added.get(t.buy_order, 0) + t.size
            if t.seller == party.address:
                added[t.sell_order] = added.get(t.sell_order, 0) + t.size
        orders = []
        for slot, (o, _s_old, s_new) in zip(party.orders, res.orders_after):
            orders.append((o, slot.filled_before + added.get(o, 0), slot.r_after, s_new))
        # the public inputs open with [C_old, C_new] (prover.transitions.public_input_names)
        results.append(PartyResult(party.address, res.public[0], res.public[1], res.new, res.fresh, res.funding_paid, res.cash_flow,
                                   res.own_fees, party.cash_out, tuple(orders), tuple(res.public)))
    return BatchPayload(batch.epoch.epoch_id, batch.fee_bps, batch.table.slots, tuple(int(x) for x in fill_ids),
                        tuple(batch.parties), tuple(batch.trades), tuple(results), batch.table.nonce)


def payload_to_json(p: BatchPayload) -> dict[str, Any]:
    return {
        "version": PAYLOAD_VERSION,
        "epoch_id": p.epoch_id,
        "fee_bps": p.fee_bps,
        "slots": p.slots,
        "nonce": _s(p.nonce),
        "fill_ids": list(p.fill_ids),
        "parties": [{
            "address": x.address, "old": _account_json(x.old),
            "settled": None if x.settled is None else [_s(v) for v in x.settled],
            "collateral": _s(x.collateral), "new_salt": _s(x.new_salt), "cash_out": _s(x.cash_out),
            "orders": [_slot_json(s) for s in x.orders],
            "signatures": [[v, "0x" + r.hex(), "0x" + s.hex()] for v, r, s in x.signatures],
        } for x in p.parties],
        "trades": [{"instrument": t.instrument, "price": _s(t.price), "size": _s(t.size), "buyer": t.buyer,
                    "buy_order": _s(t.buy_order), "seller": t.seller, "sell_order": _s(t.sell_order)} for t in p.trades],
        "results": [{
            "address": r.address, "commitment_old": _s(r.commitment_old), "commitment_new": _s(r.commitment_new),
            "new": _account_json(r.new), "fresh": r.fresh, "funding_paid": _s(r.funding_paid),
            "cash_flow": _s(r.cash_flow), "own_fees": _s(r.own_fees), "cash_out": _s(r.cash_out),
            "orders": [[_s(o), _s(f), _s(ra), _s(sn)] for o, f, ra, sn in r.orders],
            "public": [_s(x) for x in r.public],
        } for r in p.results],
    }


def payload_from_json(obj: dict[str, Any], where: str = "payload") -> BatchPayload:
    if obj.get("version") != PAYLOAD_VERSION:
        raise InputError(f"{where}.version", f"expected {PAYLOAD_VERSION}, got {obj.get('version')!r}")
    try:
        parties = tuple(Party(
            address=x["address"], old=_account(x["old"]),
            settled=None if x["settled"] is None else tuple(int(v) for v in x["settled"]),
            collateral=int(x["collateral"]), new_salt=int(x["new_salt"]),
            orders=tuple(_slot(s) for s in x["orders"]),
            signatures=tuple((int(v), bytes.fromhex(r[2:]), bytes.fromhex(s[2:])) for v, r, s in x["signatures"]),
            cash_out=int(x["cash_out"]),
        ) for x in obj["parties"])
        trades = tuple(Trade(int(t["instrument"]), int(t["price"]), int(t["size"]), t["buyer"], int(t["buy_order"]),
                             t["seller"], int(t["sell_order"])) for t in obj["trades"])
        results = []
        for r in obj["results"]:
            new = _account(r["new"])
            assert new is not None
            results.append(PartyResult(
                r["address"], int(r["commitment_old"]), int(r["commitment_new"]), new, bool(r["fresh"]), int(r["funding_paid"]),
                int(r["cash_flow"]), int(r["own_fees"]), int(r["cash_out"]),
                tuple((int(o), int(f), int(ra), int(sn)) for o, f, ra, sn in r["orders"]),
                tuple(int(x) for x in r["public"])))
        return BatchPayload(int(obj["epoch_id"]), int(obj["fee_bps"]), int(obj["slots"]),
                            tuple(int(x) for x in obj["fill_ids"]), parties, trades, tuple(results), int(obj["nonce"]))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(where, f"malformed batch payload: {exc!r}") from None


def parties_and_trades(p: BatchPayload) -> tuple[list[Party], list[Trade]]:
    """The inputs :func:`offchain.devnet.batches.prepare_batch` rebuilds the batch from."""
    return list(p.parties), list(p.trades)


# --- the ISettlement.Batch tuple ------------------------------------------------------------------
def contract_to_json(batch: tuple[Any, ...]) -> dict[str, Any]:
    """``(epochId, fillTable, feeTotal, entries)`` as JSON (bytes in 0x hex)."""
    epoch_id, fill_table, fee_total, entries = batch
    out = []
    for account, old, new, collateral, cash_out, fresh, orders, proof in entries:
        out.append({
            "account": str(account), "commitment_old": _s(old), "commitment_new": _s(new),
            "collateral": _s(collateral), "cash_out": _s(cash_out), "fresh": bool(fresh),
            "orders": [[_s(o), _s(s_new), [int(sig[0]), "0x" + bytes(sig[1]).hex(), "0x" + bytes(sig[2]).hex()]]
                       for o, s_new, sig in orders],
            "proof": [_s(w) for w in proof],
        })
    return {"epoch_id": int(epoch_id), "fill_table": _s(fill_table), "fee_total": _s(fee_total), "entries": out}


def contract_from_json(obj: dict[str, Any]) -> tuple[Any, ...]:
    entries = []
    for e in obj["entries"]:
        orders = [(int(o), int(s_new), (int(sig[0]), bytes.fromhex(sig[1][2:]), bytes.fromhex(sig[2][2:])))
                  for o, s_new, sig in e["orders"]]
        entries.append((e["account"], int(e["commitment_old"]), int(e["commitment_new"]), int(e["collateral"]),
                        int(e["cash_out"]), bool(e["fresh"]), orders, [int(w) for w in e["proof"]]))
    return (int(obj["epoch_id"]), int(obj["fill_table"]), int(obj["fee_total"]), entries)
