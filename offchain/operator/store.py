"""The operator's private book in SQLite: accounts, epochs, orders, fills, batches and history.

:class:`OperatorStore` opens (or creates) the database in WAL mode, brings its schema to the
current version (:mod:`offchain.operator.schema`) and is the only code that writes it. Every
change that must be all-or-nothing is one SQLite transaction: recording a prepared batch (its
payload, its fills taken, the salts it drew, the fills the reference refused), and above all
**confirming** a batch the chain settled: the new openings, the orders' fill states, the fills
settled and every account's history rows are written together or not at all.

The history holds every change of every account's opening (a fill's lots and cash, its fee, the
funding a transition settled, cash moved out, a liquidation takeover, a close), each transition
ended by a ``commit`` row with the new salt and commitment, so :meth:`OperatorStore.replay`
rebuilds any account's opening from the history alone.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Self

import numpy as np

from offchain.devnet.manifest import write_json_atomic
from offchain.devnet.operator import BOOK_VERSION, AccountBook, PrivateAccount, salt_from_seed
from offchain.operator.errors import StoreError
from offchain.operator.payload import (
    BatchPayload,
    contract_from_json,
    contract_to_json,
    payload_from_json,
    payload_to_json,
)
from offchain.operator.records import (
    LIVE_BATCH,
    AccountRecord,
    BatchStatus,
    FillRecord,
    FillStatus,
    FundingSampleRecord,
    FundingStepRecord,
    HistoryEntry,
    OrderRecord,
    OrderStatus,
    checksum,
)
from offchain.operator.schema import SCHEMA_VERSION, migrate
from offchain.trading.orders import Order as BookOrder
from offchain.trading.orders import OrderKind, Side
from offchain.trading.signing import OrderSignature
from prover.statement import Account, Epoch
from prover.statement import commitment as commit
from zkmargin.errors import InputError

#: a fill as the exchange records it: ``(instrument, price, size, buy order, sell order, book seq)``
SubmittedFill = tuple[int, int, int, int, int, "int | None"]
#: an order the book closed: ``(commitment, status, reason)``
ClosedOrder = tuple[int, OrderStatus, "str | None"]
#: a premium sample to record: ``(instrument, impact bid, impact ask, index price, premium)``
NewFundingSample = tuple[int, "Fraction | None", "Fraction | None", int, int]

#: history kinds that may appear in a non-batch transition (:meth:`OperatorStore.record_transition`)
#: what :meth:`OperatorStore.record_transition` takes (a settled batch's own rows, ``fill`` and
#: ``fee``, come from the exchange's fills through :meth:`OperatorStore.confirm`; a transition the
#: session API settled outside the exchange is recorded with them too, without fill ids)
TRANSITION_KINDS = ("fill", "fee", "funding", "takeover", "cash_out", "close")


@dataclass(frozen=True)
class Rejection:
    """A fill the transition reference refused: why, and the order to cancel because of it."""

    fill_id: int
    reason: str
    account: str
    order: int | None


@dataclass(frozen=True)
class BatchRecord:
    """A batch row: its payload, and once proved its proofs and contract tuple."""

    id: int
    epoch_id: int
    fill_table: int
    fee_bps: int
    status: str
    payload: BatchPayload
    proofs: list[list[int]] | None
    contract: tuple[Any, ...] | None
    tx_hash: str | None
    block: int | None
    reason: str | None


def _now() -> float:
    return time.time()


def _vec(text: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in json.loads(text)) if text else ()


def _vec_json(xs: Sequence[int]) -> str:
    return json.dumps([int(x) for x in xs])


def _epoch_json(ep: Epoch) -> dict[str, Any]:
    return {"epoch_id": ep.epoch_id, "im_factor_bps": ep.im_factor_bps, "marks": list(ep.marks),
            "scenario_pnl": [list(r) for r in ep.scenario_pnl], "addons": list(ep.addons), "funding": list(ep.fund),
            "digest": str(ep.digest())}


class OperatorStore:
    """The operator database at ``path`` (created when missing unless ``create=False``).

    ``seed`` is the root of the salts the settler draws (:meth:`next_salts`); a new database
    records it (a fresh random one when None), an existing one must be opened with the same seed
    or None. ``instruments`` names the listing's instruments for the JSON export (recorded once).
    """

    def __init__(self, path: str | Path, *, seed: int | None = None, instruments: Sequence[str] | None = None,
                 create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise InputError(str(self.path), "no operator database here")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
            mode = str(self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise InputError(str(self.path), f"not an SQLite database: {exc}") from None
        if mode.lower() != "wal":
            raise StoreError(f"{self.path}: SQLite refused WAL mode (journal_mode is {mode})")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA synchronous=FULL")
        try:
            migrate(self._conn, where=str(self.path))
        except BaseException:
            self._conn.close()
            raise
        self._settle_setting("seed", None if seed is None else str(int(seed)),
                             lambda: str(int(np.random.SeedSequence().entropy)))  # type: ignore[arg-type]
        self._settle_setting("salts_drawn", None, lambda: "0")
        if instruments is not None:
            self._settle_setting("instruments", json.dumps([str(s) for s in instruments]), lambda: "[]")

    # --- plumbing --------------------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One SQLite write transaction (``BEGIN IMMEDIATE``): committed at the end of the block,
        rolled back if it raises."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, tuple(args)).fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return list(self._conn.execute(sql, tuple(args)).fetchall())

    def _setting(self, key: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    def _settle_setting(self, key: str, given: str | None, default: Any) -> None:
        stored = self._setting(key)
        if stored is None:
            with self.transaction() as tx:
                tx.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)",
                           (key, given if given is not None else default()))
        elif given is not None and given != stored:
            raise InputError(key, f"the database at {self.path} was created with {key} {stored}, not {given}")

    def setting(self, key: str) -> str | None:
        """The value recorded under ``key`` in ``settings`` (None when there is none)."""
        return self._setting(key)

    def record_setting(self, key: str, value: str) -> None:
        """Record ``value`` under ``key`` the first time; afterwards the same value is a no-op and
        another one is refused (``InputError`` naming ``key``): a database keeps one listing, one
        funding configuration."""
        self._settle_setting(key, value, lambda: value)

    @property
    def book_version(self) -> int:
        """A counter that every change that moves the order book bumps (triggers on ``orders``
        inserted or changing status, ``fills`` inserted or rejected, openings' positions): a
        process holding a book rebuilds it when the counter moved under it."""
        return int(self._setting("book_version") or 0)

    @property
    def schema_version(self) -> int:
        return int(self._one("SELECT MAX(version) FROM schema_version")[0])

    @property
    def journal_mode(self) -> str:
        return str(self._one("PRAGMA journal_mode")[0])

    @property
    def seed(self) -> int:
        return int(self._setting("seed") or 0)

    @property
    def salts_drawn(self) -> int:
        return int(self._setting("salts_drawn") or 0)

    @property
    def instruments(self) -> list[str]:
        """The listing's symbols (recorded, else ``instrument-<i>`` for the latest epoch's n)."""
        names = json.loads(self._setting("instruments") or "[]")
        if names:
            return [str(s) for s in names]
        row = self._one("SELECT data FROM epochs ORDER BY id DESC LIMIT 1")
        n = len(json.loads(row[0])["marks"]) if row else 0
        return [f"instrument-{i}" for i in range(n)]

    # --- salts -----------------------------------------------------------------------------------
    def salt(self, index: int) -> int:
        """Salt number ``index`` of this database's seed: ``SeedSequence(seed, spawn_key=(index,))``
        (the ``index``-th child of the root), 512 bits reduced mod r."""
        return salt_from_seed(np.random.SeedSequence(self.seed, spawn_key=(int(index),)))

    def next_salts(self, count: int) -> tuple[int, list[int]]:
        """The next ``count`` unused salts and the index of the first (they count as used once a
        batch that uses them is recorded by :meth:`save_prepared`)."""
        start = self.salts_drawn
        return start, [self.salt(start + k) for k in range(count)]

    # --- accounts --------------------------------------------------------------------------------
    def add_account(self, address: str, label: str = "") -> str:
        """Register an account (no commitment yet); returns its checksummed address. Idempotent;
        a non-empty ``label`` replaces the stored one."""
        a = checksum("address", address)
        with self.transaction() as tx:
            self._ensure_account(tx, a)
            if label:
                tx.execute("UPDATE accounts SET label = ? WHERE address = ?", (label, a))
        return a

    @staticmethod
    def _ensure_account(tx: sqlite3.Connection, address: str) -> None:
        tx.execute("INSERT OR IGNORE INTO accounts (address, updated_at) VALUES (?, ?)", (address, _now()))

    @staticmethod
    def _account_of(row: Any) -> AccountRecord:
        address, label, q, cash, salt, c, settled, status = row
        opening = None if q is None else Account.create(list(_vec(q)), int(cash), int(salt))
        return AccountRecord(address, label, opening, int(c), None if settled is None else int(settled), status)

    _ACCOUNT_COLUMNS = "address, label, q, cash, salt, commitment, settled_epoch, status"

    def account(self, address: str) -> AccountRecord | None:
        row = self._one(f"SELECT {self._ACCOUNT_COLUMNS} FROM accounts WHERE address = ?",
                        (checksum("address", address),))
        return None if row is None else self._account_of(row)

    def accounts(self) -> list[AccountRecord]:
        return [self._account_of(r) for r in self._all(f"SELECT {self._ACCOUNT_COLUMNS} FROM accounts ORDER BY address")]

    def openings(self) -> list[PrivateAccount]:
        """Every account with a commitment, as the liquidation keeper reads them."""
        return [PrivateAccount(r.address, list(r.opening.q), r.opening.cash, r.opening.salt, r.label)
                for r in self.accounts() if r.opening is not None]

    def account_book(self) -> AccountBook:
        """The openings as an :class:`~offchain.devnet.operator.AccountBook` (the keeper's book)."""
        book = AccountBook(instruments=self.instruments)
        for acct in self.openings():
            book.put(acct)
        return book

    # --- epochs ----------------------------------------------------------------------------------
    def record_epoch(self, epoch: Epoch) -> None:
        """Keep ``epoch`` (its marks, scenarios, add-ons and funding index). Idempotent; another
        epoch under a recorded id is refused."""
        digest = str(epoch.digest())
        with self.transaction() as tx:
            row = tx.execute("SELECT digest FROM epochs WHERE id = ?", (epoch.epoch_id,)).fetchone()
            if row is not None:
                if row[0] != digest:
                    raise InputError(f"epochs[{epoch.epoch_id}]", "a different epoch is recorded under this id")
                return
            tx.execute("INSERT INTO epochs (id, digest, funding_digest, data, recorded_at) VALUES (?, ?, ?, ?, ?)",
                       (epoch.epoch_id, digest, str(epoch.funding_digest()), json.dumps(_epoch_json(epoch)), _now()))

    def epoch(self, epoch_id: int) -> Epoch | None:
        row = self._one("SELECT data FROM epochs WHERE id = ?", (int(epoch_id),))
        if row is None:
            return None
        return Epoch.from_json(json.loads(row[0]), f"{self.path}:epochs[{epoch_id}]")

    def latest_epoch(self) -> Epoch | None:
        """The recorded epoch with the highest id (None when none is recorded)."""
        row = self._one("SELECT id FROM epochs ORDER BY id DESC LIMIT 1")
        return None if row is None else self.epoch(int(row[0]))

    # --- orders ----------------------------------------------------------------------------------
    _ORDER_COLUMNS = ("commitment, trader, instrument, side, limit_price, size, expiry, nonce, salt, kind, reduce_only, "
                      "symbol, sig_v, sig_r, sig_s, book_id, filled, state_salt, status, reason")

    @staticmethod
    def _order_of(row: Any) -> OrderRecord:
        (c, trader, instrument, side, price, size, expiry, nonce, salt, kind, reduce_only, symbol, v, r, s, book_id,
         filled, state_salt, status, reason) = row
        order = BookOrder(trader.lower(), int(instrument), Side(int(side)), int(price), int(size), int(expiry),
                          int(nonce), int(salt), OrderKind(kind), bool(reduce_only), symbol)
        return OrderRecord(int(c), order, OrderSignature(int(v), int(r), int(s)), book_id, int(filled),
                           int(state_salt), status, reason)

    def add_order(self, order: BookOrder, signature: OrderSignature, book_id: int | None = None) -> int:
        """Record a signed order (its trader's account is registered too); returns its commitment.
        The signature is the gateway's to verify; recording the same order twice is a no-op."""
        c = order.commitment()
        with self.transaction() as tx:
            self._insert_order(tx, c, order, signature, book_id)
        return c

    def _insert_order(self, tx: sqlite3.Connection, c: int, order: BookOrder, signature: OrderSignature,
                      book_id: int | None, status: OrderStatus = OrderStatus.OPEN, reason: str | None = None) -> None:
        trader = checksum("order.trader", order.trader)
        self._ensure_account(tx, trader)
        tx.execute(
            f"INSERT OR IGNORE INTO orders ({self._ORDER_COLUMNS}, created_at) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0', '0', ?, ?, ?)",
            (str(c), trader, order.instrument, int(order.side), str(order.limit_price), str(order.size),
             str(order.expiry), str(order.nonce), str(order.salt), str(order.kind), int(order.reduce_only),
             order.symbol, int(signature.v), str(signature.r), str(signature.s), book_id, str(status), reason, _now()))
        if book_id is not None:
            tx.execute("UPDATE orders SET book_id = ? WHERE commitment = ?", (book_id, str(c)))

    def order(self, commitment: int) -> OrderRecord:
        row = self._one(f"SELECT {self._ORDER_COLUMNS} FROM orders WHERE commitment = ?", (str(commitment),))
        if row is None:
            raise InputError("order", f"{commitment} is not in the operator's book")
        return self._order_of(row)

    def orders(self, trader: str | None = None) -> list[OrderRecord]:
        if trader is None:
            rows = self._all(f"SELECT {self._ORDER_COLUMNS} FROM orders ORDER BY created_at, commitment")
        else:
            rows = self._all(f"SELECT {self._ORDER_COLUMNS} FROM orders WHERE trader = ? ORDER BY created_at, commitment",
                             (checksum("trader", trader),))
        return [self._order_of(r) for r in rows]

    def set_order_status(self, commitment: int, status: OrderStatus | str, reason: str | None = None) -> None:
        """The book's verdict on an order: ``rejected`` (nothing of it may settle), ``cancelled``
        (what is matched still settles), ``filled``, ``open``."""
        st = OrderStatus(status)
        with self.transaction() as tx:
            if tx.execute("UPDATE orders SET status = ?, reason = ? WHERE commitment = ?",
                          (str(st), reason, str(commitment))).rowcount != 1:
                raise InputError("order", f"{commitment} is not in the operator's book")

    # --- the exchange's writes and reads -----------------------------------------------------------
    def record_submission(self, commitment: int, order: BookOrder, signature: OrderSignature, book_id: int, *,
                          accepted: bool, status: OrderStatus = OrderStatus.OPEN, reason: str | None = None,
                          cancelled: int = 0, fills: Sequence[SubmittedFill] = (),
                          closed: Sequence[ClosedOrder] = ()) -> tuple[int, int]:
        """Record what the book did with one signed order, in one transaction: the order (its
        ``status``, ``reason`` and the lots the book ``cancelled`` at once while the rest stays
        open: a reduce-only cap), its ``fills`` (each checked as :meth:`add_fill` checks it)
        and the resting orders the match ``closed``. A rejected order is recorded as rejected,
        unless its commitment is already recorded as accepted (a replay the book refused: the
        order stands as it was); an order accepted after an earlier rejection of the same
        commitment becomes open. Returns :attr:`book_version` before and after the write (a
        difference between the first and the writer's last known version is someone else's change)."""
        with self.transaction() as tx:
            before = self._version(tx)
            row = tx.execute("SELECT status FROM orders WHERE commitment = ?", (str(commitment),)).fetchone()
            if not accepted:
                if row is None:
                    self._insert_order(tx, commitment, order, signature, book_id, OrderStatus.REJECTED, reason)
                elif row[0] == OrderStatus.REJECTED:
                    tx.execute("UPDATE orders SET reason = ?, book_id = ? WHERE commitment = ?",
                               (reason, book_id, str(commitment)))
            else:
                if row is None:
                    self._insert_order(tx, commitment, order, signature, book_id)
                elif row[0] == OrderStatus.REJECTED:
                    tx.execute("UPDATE orders SET status = 'open', reason = NULL, book_id = ? WHERE commitment = ?",
                               (book_id, str(commitment)))
                else:
                    raise StoreError(f"order {commitment} is recorded already ({row[0]}): the book accepted it twice")
                if cancelled:
                    tx.execute("UPDATE orders SET cancelled = ? WHERE commitment = ?", (str(int(cancelled)), str(commitment)))
                for f in fills:
                    self._insert_fill(tx, *f)
                self._close(tx, closed)
                if status != OrderStatus.OPEN:
                    self._close(tx, [(commitment, status, reason)])
            return before, self._version(tx)

    def close_orders(self, closed: Sequence[ClosedOrder]) -> tuple[int, int]:
        """Record the book's cancellations (``(commitment, status, reason)``) in one transaction; an
        order that is no longer open keeps its status. Returns :attr:`book_version` before and after."""
        with self.transaction() as tx:
            before = self._version(tx)
            self._close(tx, closed)
            return before, self._version(tx)

    def set_book_ids(self, ids: Sequence[tuple[int, int]]) -> None:
        """Renumber orders for the book (``(commitment, book id)``), in one transaction."""
        with self.transaction() as tx:
            for c, oid in ids:
                tx.execute("UPDATE orders SET book_id = ? WHERE commitment = ?", (int(oid), str(c)))

    @staticmethod
    def _version(tx: sqlite3.Connection) -> int:
        return int(tx.execute("SELECT value FROM settings WHERE key = 'book_version'").fetchone()[0])

    @staticmethod
    def _close(tx: sqlite3.Connection, closed: Sequence[ClosedOrder]) -> None:
        for c, st, why in closed:
            changed = tx.execute("UPDATE orders SET status = ?, reason = ? WHERE commitment = ? AND status = 'open'",
                                 (str(OrderStatus(st)), why, str(c))).rowcount
            if not changed and tx.execute("SELECT 1 FROM orders WHERE commitment = ?", (str(c),)).fetchone() is None:
                raise StoreError(f"order {c} is not in the operator's book: it cannot be closed")

    def unfilled_orders(self) -> list[tuple[OrderRecord, int]]:
        """Every open order with lots neither settled, matched nor cancelled, and how many: ``size -
        filled - cancelled`` less the lots of its pending and in-batch fills; oldest first (by
        ``book_id``, then by arrival)."""
        matched: dict[int, int] = {}
        for f in self.unsettled_fills():
            for o in (f.buy_order, f.sell_order):
                matched[o] = matched.get(o, 0) + f.size
        rows = self._all(f"SELECT {self._ORDER_COLUMNS}, cancelled FROM orders WHERE status = 'open' "
                         "ORDER BY book_id IS NULL, book_id, created_at, commitment")
        out = []
        for r in rows:
            rec = self._order_of(r[:-1])
            left = rec.order.size - rec.filled - int(r[-1]) - matched.get(rec.commitment, 0)
            if left > 0:
                out.append((rec, left))
        return out

    def used_nonces(self) -> set[tuple[str, int]]:
        """``(trader, nonce)`` (trader lower-case) of every order a book accepted (not rejected)."""
        return {(str(t).lower(), int(n)) for t, n in self._all("SELECT trader, nonce FROM orders WHERE status != 'rejected'")}

    def next_book_numbers(self) -> tuple[int, int]:
        """The next book order id and fill sequence number: one past the highest recorded."""
        oid = self._one("SELECT MAX(book_id) FROM orders")[0]
        seq = self._one("SELECT MAX(book_seq) FROM fills")[0]
        return (0 if oid is None else int(oid) + 1), (0 if seq is None else int(seq) + 1)

    def unsettled_fills(self, trader: str | None = None) -> list[FillRecord]:
        """Fills matched but not settled (``pending`` or ``in_batch``), in order; with ``trader``
        only those it is a side of."""
        sql = f"SELECT {self._FILL_COLUMNS} FROM fills WHERE status IN ('pending', 'in_batch')"
        if trader is None:
            return [self._fill_of(r) for r in self._all(sql + " ORDER BY id")]
        a = checksum("trader", trader)
        return [self._fill_of(r) for r in self._all(sql + " AND (buyer = ? OR seller = ?) ORDER BY id", (a, a))]

    # --- funding samples and steps -----------------------------------------------------------------
    @staticmethod
    def _sample_of(row: Any) -> FundingSampleRecord:
        sid, i, at, bid, ask, index, premium, step = row
        return FundingSampleRecord(int(sid), int(i), int(at), None if bid is None else Fraction(bid),
                                   None if ask is None else Fraction(ask), int(index), int(premium),
                                   None if step is None else int(step))

    def add_funding_samples(self, at: int, samples: Sequence[NewFundingSample]) -> list[int]:
        """Record one sampling round (``(instrument, impact bid, impact ask, index, premium)`` per
        perpetual) taken at ``at`` (unix seconds) in one transaction; returns the ids."""
        ids = []
        with self.transaction() as tx:
            for i, bid, ask, index, premium in samples:
                cur = tx.execute(
                    "INSERT INTO funding_samples (instrument, at, impact_bid, impact_ask, index_price, premium, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (int(i), int(at), None if bid is None else str(Fraction(bid)),
                     None if ask is None else str(Fraction(ask)), str(int(index)), str(int(premium)), _now()))
                ids.append(int(cur.lastrowid or 0))
        return ids

    def funding_samples(self, *, unused: bool = False) -> list[FundingSampleRecord]:
        """The premium samples in the order they were taken (``unused``: only those no step used)."""
        cols = "id, instrument, at, impact_bid, impact_ask, index_price, premium, step_id"
        where = " WHERE step_id IS NULL" if unused else ""
        return [self._sample_of(r) for r in self._all(f"SELECT {cols} FROM funding_samples{where} ORDER BY id")]

    def funding_steps(self, *, taken: bool = False) -> list[FundingStepRecord]:
        """The funding steps in order (``taken``: without the superseded ones)."""
        where = " WHERE status = 'taken'" if taken else ""
        rows = self._all("SELECT id, base_epoch, at, elapsed, start_index, funding_index, delta, status "
                         f"FROM funding_steps{where} ORDER BY id")
        return [FundingStepRecord(int(i), int(b), int(at), int(e), _vec(s0), _vec(f), _vec(d), st)
                for i, b, at, e, s0, f, d, st in rows]

    def reopen_funding_steps(self, base_epoch: int) -> list[int]:
        """Supersede the steps taken from epoch ``base_epoch`` or later (no epoch carried them:
        their window is still open) and release their samples, in one transaction; returns their ids."""
        with self.transaction() as tx:
            ids = [int(r[0]) for r in tx.execute(
                "SELECT id FROM funding_steps WHERE status = 'taken' AND base_epoch >= ? ORDER BY id", (int(base_epoch),))]
            for sid in ids:
                tx.execute("UPDATE funding_steps SET status = 'superseded' WHERE id = ?", (sid,))
                tx.execute("UPDATE funding_samples SET step_id = NULL WHERE step_id = ?", (sid,))
        return ids

    def record_funding_step(self, base_epoch: int, at: int, elapsed: int, start: Sequence[int], index: Sequence[int],
                            delta: Sequence[int], sample_ids: Sequence[int]) -> int:
        """Record a step and mark its samples used, in one transaction; returns the step's id."""
        with self.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO funding_steps (base_epoch, at, elapsed, start_index, funding_index, delta, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (int(base_epoch), int(at), int(elapsed), _vec_json(start), _vec_json(index), _vec_json(delta), _now()))
            sid = int(cur.lastrowid or 0)
            for k in sample_ids:
                if tx.execute("UPDATE funding_samples SET step_id = ? WHERE id = ? AND step_id IS NULL",
                              (sid, int(k))).rowcount != 1:
                    raise StoreError(f"funding sample {k} is used already: it cannot join step {sid}")
        return sid

    # --- fills -----------------------------------------------------------------------------------
    _FILL_COLUMNS = ("id, instrument, price, size, buyer, buy_order, seller, sell_order, book_seq, batch_id, status, "
                     "attempts, reason")

    @staticmethod
    def _fill_of(row: Any) -> FillRecord:
        (fid, instrument, price, size, buyer, bo, seller, so, seq, batch_id, status, attempts, reason) = row
        return FillRecord(int(fid), int(instrument), int(price), int(size), buyer, int(bo), seller, int(so), seq,
                          batch_id, status, int(attempts), reason)

    def add_fill(self, instrument: int, price: int, size: int, buy_order: int, sell_order: int,
                 book_seq: int | None = None) -> int:
        """Record a match between two recorded orders (the buyer's and the seller's); returns the
        fill's id, its place in the settlement order. Refused, naming the field, unless it respects
        both orders (instrument, sides, limit prices, sizes) and the orders are not rejected."""
        with self.transaction() as tx:
            return self._insert_fill(tx, instrument, price, size, buy_order, sell_order, book_seq)

    def _insert_fill(self, tx: sqlite3.Connection, instrument: int, price: int, size: int, buy_order: int,
                     sell_order: int, book_seq: int | None) -> int:
        sides = []
        for name, commitment, side in (("buy_order", buy_order, Side.BUY), ("sell_order", sell_order, Side.SELL)):
            row = tx.execute(f"SELECT {self._ORDER_COLUMNS} FROM orders WHERE commitment = ?",
                             (str(commitment),)).fetchone()
            if row is None:
                raise InputError(name, f"{commitment} is not in the operator's book")
            rec = self._order_of(row)
            if rec.order.side != side:
                raise InputError(name, f"is a {rec.order.side.name.lower()} order")
            if rec.order.instrument != instrument:
                raise InputError(name, f"is for instrument {rec.order.instrument}, the fill for {instrument}")
            if rec.status == OrderStatus.REJECTED:
                raise InputError(name, f"was rejected ({rec.reason})")
            if (side == Side.BUY and price > rec.order.limit_price) or (side == Side.SELL and price < rec.order.limit_price):
                raise InputError("price", f"{price} is beyond the {name}'s limit {rec.order.limit_price}")
            taken = sum(int(r[0]) for r in tx.execute(
                "SELECT size FROM fills WHERE status != 'rejected' AND (buy_order = ? OR sell_order = ?)",
                (str(commitment), str(commitment))).fetchall())
            if size < 1 or taken + size > rec.order.size:
                raise InputError("size", f"{size} lots after {taken} would overfill the {name} of {rec.order.size}")
            sides.append(rec.trader)
        if sides[0] == sides[1]:
            raise InputError("fill", f"buyer and seller are the same account {sides[0]}")
        cur = tx.execute(
            "INSERT INTO fills (instrument, price, size, buyer, buy_order, seller, sell_order, book_seq, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (int(instrument), str(price), str(size), sides[0], str(buy_order), sides[1], str(sell_order), book_seq,
             _now()))
        return int(cur.lastrowid or 0)

    def fill(self, fill_id: int) -> FillRecord:
        row = self._one(f"SELECT {self._FILL_COLUMNS} FROM fills WHERE id = ?", (int(fill_id),))
        if row is None:
            raise InputError("fill", f"no fill {fill_id}")
        return self._fill_of(row)

    def fills(self, status: FillStatus | str | None = None) -> list[FillRecord]:
        if status is None:
            return [self._fill_of(r) for r in self._all(f"SELECT {self._FILL_COLUMNS} FROM fills ORDER BY id")]
        return [self._fill_of(r) for r in self._all(f"SELECT {self._FILL_COLUMNS} FROM fills WHERE status = ? ORDER BY id",
                                                      (str(FillStatus(status)),))]

    def reject_fills(self, rejections: Sequence[Rejection]) -> None:
        """Mark fills refused by the transition reference (and cancel the orders named)."""
        with self.transaction() as tx:
            self._reject(tx, rejections)

    @staticmethod
    def _reject(tx: sqlite3.Connection, rejections: Sequence[Rejection]) -> None:
        for r in rejections:
            if tx.execute("UPDATE fills SET status = 'rejected', batch_id = NULL, reason = ? WHERE id = ? "
                          "AND status IN ('pending', 'in_batch')", (r.reason, r.fill_id)).rowcount != 1:
                raise StoreError(f"fill {r.fill_id} is not pending: it cannot be rejected")
            if r.order is not None:
                tx.execute("UPDATE orders SET status = 'cancelled', reason = ? WHERE commitment = ? AND status = 'open'",
                           (f"settlement refused fill {r.fill_id}: {r.reason}", str(r.order)))

    # --- batches ---------------------------------------------------------------------------------
    _BATCH_COLUMNS = "id, epoch_id, fill_table, fee_bps, status, payload, proofs, contract, tx_hash, block, reason"

    def _batch_of(self, row: Any) -> BatchRecord:
        bid, epoch_id, table, fee_bps, status, payload, proofs, contract, tx_hash, block, reason = row
        return BatchRecord(
            int(bid), int(epoch_id), int(table), int(fee_bps), status,
            payload_from_json(json.loads(payload), f"{self.path}:batches[{bid}].payload"),
            None if proofs is None else [[int(w) for w in p] for p in json.loads(proofs)],
            None if contract is None else contract_from_json(json.loads(contract)), tx_hash, block, reason)

    def batch(self, batch_id: int) -> BatchRecord:
        row = self._one(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE id = ?", (int(batch_id),))
        if row is None:
            raise InputError("batch", f"no batch {batch_id}")
        return self._batch_of(row)

    def batches(self, status: BatchStatus | str | None = None) -> list[BatchRecord]:
        if status is None:
            rows = self._all(f"SELECT {self._BATCH_COLUMNS} FROM batches ORDER BY id")
        else:
            rows = self._all(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE status = ? ORDER BY id",
                             (str(BatchStatus(status)),))
        return [self._batch_of(r) for r in rows]

    def live_batches(self) -> list[BatchRecord]:
        """Batches prepared, proved or submitted but neither confirmed nor abandoned, oldest first."""
        marks = ", ".join("?" * len(LIVE_BATCH))
        rows = self._all(f"SELECT {self._BATCH_COLUMNS} FROM batches WHERE status IN ({marks}) ORDER BY id",
                         [str(s) for s in LIVE_BATCH])
        return [self._batch_of(r) for r in rows]

    def save_prepared(self, payload: BatchPayload, fill_table: int, *, salts_from: int, salts_used: int,
                      rejections: Sequence[Rejection] = ()) -> int:
        """Record a prepared batch, its fills taken, the salts it drew and the fills the reference
        refused on the way, in one transaction; returns the batch id."""
        with self.transaction() as tx:
            drawn = int(tx.execute("SELECT value FROM settings WHERE key = 'salts_drawn'").fetchone()[0])
            if drawn != salts_from:
                raise StoreError(f"salts {salts_from}.. were drawn against a stale counter ({drawn}): another settler?")
            self._reject(tx, rejections)
            now = _now()
            cur = tx.execute(
                "INSERT INTO batches (epoch_id, fill_table, fee_bps, status, payload, created_at, updated_at) "
                "VALUES (?, ?, ?, 'prepared', ?, ?, ?)",
                (payload.epoch_id, str(fill_table), payload.fee_bps, json.dumps(payload_to_json(payload)), now, now))
            bid = int(cur.lastrowid or 0)
            for fid in payload.fill_ids:
                if tx.execute("UPDATE fills SET status = 'in_batch', batch_id = ? WHERE id = ? AND status = 'pending'",
                              (bid, fid)).rowcount != 1:
                    raise StoreError(f"fill {fid} is not pending: it cannot join batch {bid}")
            tx.execute("UPDATE settings SET value = ? WHERE key = 'salts_drawn'", (str(salts_from + salts_used),))
        return bid

    def _advance(self, batch_id: int, frm: Sequence[BatchStatus], to: BatchStatus, sets: str, args: Sequence[Any]) -> None:
        marks = ", ".join("?" * len(frm))
        with self.transaction() as tx:
            n = tx.execute(f"UPDATE batches SET status = ?, {sets}, updated_at = ? WHERE id = ? AND status IN ({marks})",
                           (str(to), *args, _now(), batch_id, *[str(s) for s in frm])).rowcount
            if n != 1:
                raise StoreError(f"batch {batch_id} is not {'/'.join(frm)}: it cannot become {to}")

    def save_proved(self, batch_id: int, proofs: Sequence[Sequence[int]], contract: tuple[Any, ...]) -> None:
        """Record the batch's proofs and the ``ISettlement.Batch`` tuple to submit."""
        self._advance(batch_id, [BatchStatus.PREPARED], BatchStatus.PROVED, "proofs = ?, contract = ?",
                      (json.dumps([[str(int(w)) for w in p] for p in proofs]), json.dumps(contract_to_json(contract))))

    def save_submitted(self, batch_id: int, tx_hash: str, block: int | None) -> None:
        self._advance(batch_id, [BatchStatus.PROVED, BatchStatus.SUBMITTED], BatchStatus.SUBMITTED,
                      "tx_hash = ?, block = ?", (tx_hash, block))

    def abandon(self, batch_id: int, reason: str, *, failed: bool = False, max_attempts: int = 3) -> list[int]:
        """Give a batch up (it can no longer settle, or ``failed``: the chain refused it): its fills
        go back to pending, except those whose batches failed ``max_attempts`` times, which are
        rejected with the reason; returns the rejected fills."""
        rejected: list[int] = []
        with self.transaction() as tx:
            marks = ", ".join("?" * len(LIVE_BATCH))
            if tx.execute(f"UPDATE batches SET status = 'abandoned', reason = ?, updated_at = ? WHERE id = ? "
                          f"AND status IN ({marks})", (reason, _now(), batch_id, *[str(s) for s in LIVE_BATCH])).rowcount != 1:
                raise StoreError(f"batch {batch_id} is not live: it cannot be abandoned")
            rows = tx.execute("SELECT id, attempts FROM fills WHERE batch_id = ? AND status = 'in_batch'",
                              (batch_id,)).fetchall()
            for fid, attempts in rows:
                n = int(attempts) + (1 if failed else 0)
                if n >= max_attempts:
                    tx.execute("UPDATE fills SET status = 'rejected', batch_id = NULL, attempts = ?, reason = ? "
                               "WHERE id = ?", (n, f"its batches failed {n} times; the last: {reason}", fid))
                    rejected.append(int(fid))
                else:
                    tx.execute("UPDATE fills SET status = 'pending', batch_id = NULL, attempts = ? WHERE id = ?", (n, fid))
        return rejected

    def confirm(self, batch_id: int, tx_hash: str | None = None, block: int | None = None) -> bool:
        """The chain settled the batch: write the new openings, the orders' fill states, the fills
        settled and the history, all in one transaction. Returns False if it was confirmed already."""
        rec = self.batch(batch_id)
        if rec.status == BatchStatus.CONFIRMED:
            return False
        if rec.status == BatchStatus.ABANDONED:
            raise StoreError(f"batch {batch_id} was abandoned, yet the chain settled its fill table")
        p = rec.payload
        now = _now()
        with self.transaction() as tx:
            for party, res in zip(p.parties, p.results):
                row = tx.execute("SELECT commitment FROM accounts WHERE address = ?", (res.address,)).fetchone()
                if row is None or int(row[0]) != res.commitment_old:
                    raise StoreError(f"batch {batch_id}: {res.address}'s recorded commitment is not the batch's old one")
                n = len(res.new.q)
                q = list(party.old.q) if party.old is not None else [0] * n
                c = party.old.cash if party.old is not None else 0
                rows: list[tuple[str, int | None, list[int], int]] = []
                if res.funding_paid:
                    rows.append(("funding", None, [0] * n, -res.funding_paid))
                for fid, t in p.fills_of(res.address):
                    for mine, sign in ((t.buyer == res.address, 1), (t.seller == res.address, -1)):
                        if not mine:
                            continue
                        dq = [0] * n
                        dq[t.instrument] = sign * t.size
                        rows.append(("fill", fid, dq, -sign * t.price * t.size))
                        if p.fee(t):
                            rows.append(("fee", fid, [0] * n, -p.fee(t)))
                if res.cash_out:
                    rows.append(("cash_out", None, [0] * n, -res.cash_out))
                for kind, ref, dq, dc in rows:
                    q = [a + b for a, b in zip(q, dq)]
                    c += dc
                    tx.execute("INSERT INTO history (address, epoch_id, kind, batch_id, fill_id, dq, dc, created_at) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (res.address, p.epoch_id, kind, batch_id, ref, _vec_json(dq), str(dc), now))
                if q != list(res.new.q) or c != res.new.cash:
                    raise StoreError(f"batch {batch_id}: {res.address}'s history does not add up to its new opening")
                tx.execute("INSERT INTO history (address, epoch_id, kind, batch_id, dq, dc, salt, commitment, created_at) "
                           "VALUES (?, ?, 'commit', ?, ?, '0', ?, ?, ?)",
                           (res.address, p.epoch_id, batch_id, _vec_json([0] * n), str(res.new.salt),
                            str(res.commitment_new), now))
                tx.execute("UPDATE accounts SET q = ?, cash = ?, salt = ?, commitment = ?, settled_epoch = ?, "
                           "status = 'open', updated_at = ? WHERE address = ?",
                           (_vec_json(res.new.q), str(res.new.cash), str(res.new.salt), str(res.commitment_new),
                            p.epoch_id, now, res.address))
                for o, filled, r_after, _s_new in res.orders:
                    size = int(tx.execute("SELECT size FROM orders WHERE commitment = ?", (str(o),)).fetchone()[0])
                    tx.execute("UPDATE orders SET filled = ?, state_salt = ?, "
                               "status = CASE WHEN ? = size AND status = 'open' THEN 'filled' ELSE status END "
                               "WHERE commitment = ?", (str(filled), str(r_after), str(filled), str(o)))
                    if filled > size:
                        raise StoreError(f"batch {batch_id}: order {o} would be filled {filled} of {size}")
            marks = ", ".join("?" * len(p.fill_ids))
            n_set = tx.execute(f"UPDATE fills SET status = 'settled' WHERE batch_id = ? AND status = 'in_batch' "
                               f"AND id IN ({marks})", (batch_id, *p.fill_ids)).rowcount
            if n_set != len(p.fill_ids):
                raise StoreError(f"batch {batch_id}: {n_set} of its {len(p.fill_ids)} fills were in it")
            tx.execute("UPDATE batches SET status = 'confirmed', tx_hash = COALESCE(?, tx_hash), "
                       "block = COALESCE(?, block), updated_at = ? WHERE id = ?", (tx_hash, block, now, batch_id))
        return True

    # --- transitions outside batches -------------------------------------------------------------
    def record_transition(self, address: str, epoch_id: int | None, entries: Sequence[tuple[str, Sequence[int], int]],
                          new: Account | None, note: str = "") -> None:
        """Record a transition that is not one of the exchange's settled batches (a liquidation
        takeover, a close, a batch the session API settled: :mod:`offchain.operator.journal`) as
        ``entries`` of ``(kind, dq, dc)`` (kinds: fill, fee, funding, takeover, cash_out, close) leading to
        ``new`` (None: the account is closed, commitment 0). Refused unless the old opening plus
        the entries is exactly ``new``; written in one transaction."""
        a = checksum("address", address)
        rec = self.account(a)
        old = rec.opening if rec is not None else None
        n = len(new.q) if new is not None else (len(old.q) if old is not None else 0)
        q = list(old.q) if old is not None else [0] * n
        c = old.cash if old is not None else 0
        for k, (kind, dq, dc) in enumerate(entries):
            if kind not in TRANSITION_KINDS:
                raise InputError(f"entries[{k}].kind", f"must be one of {list(TRANSITION_KINDS)}, got {kind!r}")
            if len(dq) != n:
                raise InputError(f"entries[{k}].dq", f"has {len(dq)} entries, the account has {n} instruments")
            q = [x + int(d) for x, d in zip(q, dq)]
            c += int(dc)
        if new is not None and (q != list(new.q) or c != new.cash):
            raise InputError("new", "the old opening plus the entries is not the new opening")
        if new is None and (any(q) or c != 0):
            raise InputError("entries", "a close must bring the positions and the cash to zero")
        c_new = new.commitment() if new is not None else 0
        now = _now()
        with self.transaction() as tx:
            self._ensure_account(tx, a)
            for kind, dq, dc in entries:
                tx.execute("INSERT INTO history (address, epoch_id, kind, dq, dc, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (a, epoch_id, kind, _vec_json(dq), str(int(dc)), note, now))
            tx.execute("INSERT INTO history (address, epoch_id, kind, dq, dc, salt, commitment, note, created_at) "
                       "VALUES (?, ?, 'commit', ?, '0', ?, ?, ?, ?)",
                       (a, epoch_id, _vec_json([0] * n), None if new is None else str(new.salt), str(c_new), note, now))
            if new is None:
                tx.execute("UPDATE accounts SET q = NULL, cash = NULL, salt = NULL, commitment = '0', "
                           "settled_epoch = NULL, status = 'closed', updated_at = ? WHERE address = ?", (now, a))
            else:
                tx.execute("UPDATE accounts SET q = ?, cash = ?, salt = ?, commitment = ?, settled_epoch = ?, "
                           "status = 'open', updated_at = ? WHERE address = ?",
                           (_vec_json(new.q), str(new.cash), str(new.salt), str(c_new), epoch_id, now, a))

    def record_takeover(self, address: str, epoch_id: int, lots: Sequence[int], cash_taken: int, funding_paid: int,
                        new: Account, note: str = "liquidation takeover") -> None:
        """A liquidation bidder's transition (``offchain.devnet.batches.prepare_takeover``): the
        funding it settled, then the slice it took."""
        n = len(lots)
        entries: list[tuple[str, Sequence[int], int]] = []
        if funding_paid:
            entries.append(("funding", [0] * n, -int(funding_paid)))
        entries.append(("takeover", [int(x) for x in lots], int(cash_taken)))
        self.record_transition(address, epoch_id, entries, new, note)

    def record_close(self, address: str, epoch_id: int | None, note: str = "closed by liquidation") -> None:
        """The account's commitment went to 0 (its book was auctioned off): the opening is cleared."""
        rec = self.account(address)
        if rec is None or rec.opening is None:
            raise InputError("address", f"{address} has no opening to close")
        o = rec.opening
        self.record_transition(address, epoch_id, [("close", [-x for x in o.q], -o.cash)], None, note)

    # --- history ---------------------------------------------------------------------------------
    def history(self, address: str | None = None) -> list[HistoryEntry]:
        cols = "id, address, epoch_id, kind, batch_id, fill_id, dq, dc, salt, commitment, note"
        if address is None:
            rows = self._all(f"SELECT {cols} FROM history ORDER BY id")
        else:
            rows = self._all(f"SELECT {cols} FROM history WHERE address = ? ORDER BY id", (checksum("address", address),))
        return [HistoryEntry(int(i), a, e, k, b, f, _vec(dq), int(dc), None if s is None else int(s),
                             None if cm is None else int(cm), note) for i, a, e, k, b, f, dq, dc, s, cm, note in rows]

    def replay(self, address: str, verify: bool = True) -> PrivateAccount | None:
        """The opening rebuilt from the history alone (None: no commitment). With ``verify`` every
        commit row's commitment is recomputed from the replayed state and must match."""
        a = checksum("address", address)
        rec = self.account(a)
        label = rec.label if rec is not None else ""
        q: list[int] = []
        c = 0
        out: PrivateAccount | None = None
        for h in self.history(a):
            if not q:
                q = [0] * len(h.dq)
            q = [x + d for x, d in zip(q, h.dq)]
            c += h.dc
            if h.kind != "commit":
                continue
            if h.commitment == 0:
                out = None
                continue
            assert h.salt is not None and h.commitment is not None
            if verify and commit(q, c, h.salt) != h.commitment:
                raise StoreError(f"history of {a}: the state replayed to row {h.id} does not open its commitment")
            out = PrivateAccount(a, list(q), c, h.salt, label)
        return out

    # --- export ----------------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """Everything in the database as JSON: ``version``, ``instruments`` and ``accounts`` in the
        format of :class:`~offchain.devnet.operator.AccountBook` (so the export is a book the
        keeper can load), and under ``operator`` every table."""
        def order_json(o: OrderRecord) -> dict[str, Any]:
            x = o.order
            return {"commitment": str(o.commitment), "trader": o.trader, "instrument": x.instrument,
                    "side": x.side.name.lower(), "limit_price": str(x.limit_price), "size": str(x.size),
                    "expiry": x.expiry, "nonce": str(x.nonce), "salt": str(x.salt), "kind": str(x.kind),
                    "reduce_only": x.reduce_only, "symbol": x.symbol,
                    "signature": {"v": o.signature.v, "r": hex(o.signature.r), "s": hex(o.signature.s)},
                    "book_id": o.book_id, "filled": str(o.filled), "state_salt": str(o.state_salt),
                    "status": o.status, "reason": o.reason}

        def fill_json(f: FillRecord) -> dict[str, Any]:
            return {"id": f.id, "instrument": f.instrument, "price": str(f.price), "size": str(f.size),
                    "buyer": f.buyer, "buy_order": str(f.buy_order), "seller": f.seller,
                    "sell_order": str(f.sell_order), "book_seq": f.book_seq, "batch_id": f.batch_id,
                    "status": f.status, "attempts": f.attempts, "reason": f.reason}

        epochs = [json.loads(r[0]) for r in self._all("SELECT data FROM epochs ORDER BY id")]
        batches = [{"id": int(r[0]), "epoch_id": int(r[1]), "fill_table": r[2], "fee_bps": int(r[3]), "status": r[4],
                    "fill_ids": json.loads(r[5])["fill_ids"], "tx_hash": r[6], "block": r[7], "reason": r[8]}
                   for r in self._all("SELECT id, epoch_id, fill_table, fee_bps, status, payload, tx_hash, block, reason "
                                      "FROM batches ORDER BY id")]
        history = [{"id": h.id, "address": h.address, "epoch_id": h.epoch_id, "kind": h.kind, "batch_id": h.batch_id,
                    "fill_id": h.fill_id, "dq": list(h.dq), "dc": str(h.dc),
                    "salt": None if h.salt is None else str(h.salt),
                    "commitment": None if h.commitment is None else str(h.commitment), "note": h.note}
                   for h in self.history()]
        samples = [{"id": x.id, "instrument": x.instrument, "at": x.at,
                    "impact_bid": None if x.impact_bid is None else str(x.impact_bid),
                    "impact_ask": None if x.impact_ask is None else str(x.impact_ask),
                    "index_price": str(x.index_price), "premium": str(x.premium), "step_id": x.step_id}
                   for x in self.funding_samples()]
        steps = [{"id": x.id, "base_epoch": x.base_epoch, "at": x.at, "elapsed": x.elapsed, "start": list(x.start),
                  "index": list(x.index), "delta": list(x.delta), "status": x.status} for x in self.funding_steps()]
        accounts = [{"address": r.address, "label": r.label, "status": r.status, "commitment": str(r.commitment),
                     "settled_epoch": r.settled_epoch} for r in self.accounts()]
        return {
            "version": BOOK_VERSION,
            "instruments": self.instruments,
            "accounts": [a.to_json() for a in self.openings()],
            "operator": {"schema_version": self.schema_version, "seed": str(self.seed), "salts_drawn": self.salts_drawn,
                         "accounts": accounts, "epochs": epochs, "orders": [order_json(o) for o in self.orders()],
                         "fills": [fill_json(f) for f in self.fills()], "batches": batches, "history": history,
                         "funding_samples": samples, "funding_steps": steps},
        }

    def export_json(self, path: str | Path) -> dict[str, Any]:
        """Write :meth:`export` to ``path`` atomically (temp file, then rename); returns what it wrote."""
        out = Path(path)
        if out.is_dir():
            raise InputError("out", f"{out} is a directory")
        data = self.export()
        write_json_atomic(out, data)
        return data


__all__ = ["SCHEMA_VERSION", "BatchRecord", "OperatorStore", "Rejection"]
