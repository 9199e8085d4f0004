"""The operator database: schema and migrations, WAL, validation, atomic confirm, history, export."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from _operator_fakes import CHAIN_ID, KEYS, SETTLEMENT, TRADERS, UNIT, Crash, FakeChain, Orders, epoch, trade

from offchain.devnet.operator import AccountBook, salt_from_seed
from offchain.operator import OperatorStore, Settler
from offchain.operator.errors import StoreError
from offchain.operator.provers import MockProver
from offchain.operator.records import statement_order
from offchain.operator.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from offchain.trading.orders import Order, OrderKind, Side
from offchain.trading.signing import sign_order
from prover.statement import Account
from zkmargin.cli import main
from zkmargin.errors import InputError

TABLES = {"schema_version", "settings", "accounts", "epochs", "orders", "fills", "batches", "history", "funding_samples",
          "funding_steps"}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}


def test_a_new_store_is_in_wal_mode_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "op.sqlite"
    with OperatorStore(path, seed=1) as store:
        assert store.journal_mode == "wal"
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS) == 3
        store.add_account(TRADERS[0], "alice")
        assert (tmp_path / "op.sqlite-wal").exists()  # the write went to the write-ahead log
    assert TABLES <= _tables(path)
    with sqlite3.connect(path) as conn:  # WAL is a property of the file: another connection sees it
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [1, 2, 3]


def test_a_version_1_database_migrates_to_the_latest_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == 0
    conn.execute("INSERT INTO settings (key, value) VALUES ('seed', '42'), ('salts_drawn', '3')")
    conn.execute("INSERT INTO accounts (address, label, q, cash, salt, commitment, settled_epoch, status, updated_at) "
                 "VALUES (?, 'alice', '[2, -1]', '-5', '9', ?, 1, 'open', 0)",
                 (TRADERS[0], str(Account.create([2, -1], -5, 9).commitment())))
    conn.close()
    assert _indexes(path) == set()
    with OperatorStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert (store.seed, store.salts_drawn) == (42, 3)
        rec = store.account(TRADERS[0])
        assert rec is not None and rec.label == "alice" and rec.opening == Account.create([2, -1], -5, 9)
        assert [a.q for a in store.openings()] == [[2, -1]]
    assert {"fills_by_status", "batches_by_status", "history_by_address", "orders_by_trader"} <= _indexes(path)


def test_a_database_from_a_newer_version_or_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    OperatorStore(path, seed=1).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', 0)")
    with pytest.raises(InputError) as err:
        OperatorStore(path)
    assert err.value.field == f"{path}.schema_version"
    assert "version 99 was written by a newer zkmargin (this one reads up to 3)" in err.value.problem
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database, it is a text file of some length" * 40)
    with pytest.raises(InputError, match="not an SQLite database"):
        OperatorStore(junk)
    with pytest.raises(InputError, match="no operator database here"):
        OperatorStore(tmp_path / "missing.sqlite", create=False)


def test_the_seed_is_recorded_and_the_salts_are_its_children(tmp_path: Path) -> None:
    path = tmp_path / "op.sqlite"
    with OperatorStore(path, seed=2021) as store:
        start, salts = store.next_salts(3)
    children = np.random.SeedSequence(2021).spawn(3)
    assert (start, salts) == (0, [salt_from_seed(c) for c in children])
    with OperatorStore(path) as again:
        assert again.seed == 2021 and again.next_salts(3) == (0, salts)
    with pytest.raises(InputError) as err:
        OperatorStore(path, seed=7)
    assert err.value.field == "seed"
    with OperatorStore(tmp_path / "fresh.sqlite") as fresh:  # no seed: a random one, recorded
        assert fresh.seed > 0 and OperatorStore(fresh.path).seed == fresh.seed


def test_the_book_order_and_the_statement_order_have_one_commitment() -> None:
    rng = np.random.default_rng(12)
    for k in range(20):
        o = Order.create(trader=TRADERS[k % len(TRADERS)], instrument=int(rng.integers(0, 256)),
                         side=Side(int(rng.integers(0, 2))), limit_price=int(rng.integers(0, 2**63)),
                         size=int(rng.integers(1, 2**63)), expiry=int(rng.integers(0, 2**63)),
                         nonce=int(rng.integers(0, 2**63)), kind=list(OrderKind)[k % 4], reduce_only=bool(k % 2),
                         symbol="X")
        assert statement_order(o).commitment() == o.commitment()
        assert statement_order(o).fields() == o.commitment_inputs()


def test_orders_and_fills_are_validated_and_a_refused_fill_writes_nothing(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    orders = Orders(store)
    buy = orders(0, 0, Side.BUY, 30_000_000, 5)
    sell = orders(1, 0, Side.SELL, 29_000_000, 5)
    other = orders(2, 1, Side.SELL, 20_000_000, 5)
    mine = orders(0, 0, Side.SELL, 1, 5)
    cases = [
        ((0, 30_000_000, 1, buy, 123), "sell_order", "is not in the operator's book"),
        ((0, 30_000_000, 1, sell, buy), "buy_order", "is a sell order"),
        ((0, 30_000_000, 1, buy, other), "sell_order", "is for instrument 1"),
        ((0, 30_000_001, 1, buy, sell), "price", "beyond the buy_order's limit"),
        ((0, 28_000_000, 1, buy, sell), "price", "beyond the sell_order's limit"),
        ((0, 30_000_000, 6, buy, sell), "size", "would overfill"),
        ((0, 30_000_000, 1, buy, mine), "fill", "the same account"),
    ]
    for args, field, problem in cases:
        with pytest.raises(InputError) as err:
            store.add_fill(*args)
        assert err.value.field == field and problem in err.value.problem, (args, err.value)
    assert store.fills() == []
    assert store.add_fill(0, 29_500_000, 3, buy, sell) == 1
    with pytest.raises(InputError, match="3 lots after 3 would overfill"):
        store.add_fill(0, 29_500_000, 3, buy, sell)
    store.set_order_status(sell, "rejected", "post_only: would take liquidity")
    with pytest.raises(InputError, match="was rejected"):
        store.add_fill(0, 29_500_000, 1, buy, sell)
    rec = store.order(buy)
    assert rec.trader == TRADERS[0] and rec.order.limit_price == 30_000_000 and rec.state == 0
    assert rec.signature == sign_order(rec.order, KEYS[0], CHAIN_ID, SETTLEMENT)
    assert [f.status for f in store.fills()] == ["pending"]
    store.close()


def _submitted_batch(tmp_path: Path) -> tuple[OperatorStore, FakeChain, int]:
    """A store with one batch persisted as submitted (the process 'died' before confirming)."""
    store = OperatorStore(tmp_path / "op.sqlite", seed=3)
    chain = FakeChain()
    chain.post(epoch(1))
    for t in TRADERS:
        chain.balances[t] = 10_000 * UNIT
    orders = Orders(store)
    trade(store, orders, 0, 1, 0, 30_000_000, 3)
    trade(store, orders, 2, 0, 1, 20_000_000, 2)

    def die(stage: str, batch_id: int) -> None:
        if stage == "submitted":
            raise Crash(stage)

    with pytest.raises(Crash):
        Settler(store, chain, MockProver(chain.allow_statement), slots=4, on_stage=die).step()
    (batch,) = store.live_batches()
    return store, chain, batch.id


def test_confirm_writes_everything_in_one_transaction_or_nothing(tmp_path: Path) -> None:
    store, chain, bid = _submitted_batch(tmp_path)
    before = (store.accounts(), store.orders(), store.fills(), store.history())
    # an SQLite failure on the last write of the confirmation (the fills) must undo the openings,
    # the order states and the history written before it in the same transaction
    store._conn.execute("CREATE TEMP TRIGGER fail_fills BEFORE UPDATE ON fills BEGIN "
                        "SELECT RAISE(ABORT, 'injected failure'); END")
    with pytest.raises(sqlite3.IntegrityError, match="injected failure"):
        store.confirm(bid)
    assert (store.accounts(), store.orders(), store.fills(), store.history()) == before
    assert store.batch(bid).status == "submitted"
    store._conn.execute("DROP TRIGGER fail_fills")
    assert store.confirm(bid) is True and store.confirm(bid) is False
    assert store.batch(bid).status == "confirmed"
    assert {f.status for f in store.fills()} == {"settled"}
    for acct in store.openings():
        assert chain.commitments[acct.address] == acct.commitment()
        assert store.replay(acct.address) == acct
    with pytest.raises(StoreError, match="not live"):
        store.abandon(bid, "too late")


def test_transitions_outside_batches_keep_the_history_exact(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "op.sqlite", seed=1)
    bidder, loser = TRADERS[3], TRADERS[4]
    first = Account.create([4, 0], -120_000_000, 11)
    store.record_takeover(bidder, 1, [4, 0], -120_000_000, 0, first)  # a new account takes a slice
    assert store.replay(bidder) is not None and store.replay(bidder).commitment() == first.commitment()
    second = Account.create([6, -1], -120_000_000 - 55_000_000 - 400, 12)
    store.record_takeover(bidder, 2, [2, -1], -55_000_000, 400, second)  # settles 400 of funding first
    got = store.replay(bidder)
    assert got is not None and (got.q, got.cash, got.salt) == ([6, -1], second.cash, 12)
    assert [h.kind for h in store.history(bidder)] == ["takeover", "commit", "funding", "takeover", "commit"]
    with pytest.raises(InputError, match="is not the new opening"):
        store.record_takeover(bidder, 2, [1, 0], 0, 0, second)
    with pytest.raises(InputError) as err:
        store.record_transition(bidder, 2, [("commit", [0, 0], 0)], second)  # the store writes commit rows itself
    assert err.value.field == "entries[0].kind"
    store.record_transition(loser, 1, [("takeover", [-3, 0], 90_000_000)], Account.create([-3, 0], 90_000_000, 5))
    store.record_close(loser, 3)
    assert store.replay(loser) is None and store.account(loser).opening is None  # type: ignore[union-attr]
    assert store.account(loser).status == "closed"  # type: ignore[union-attr]
    with pytest.raises(InputError, match="no opening to close"):
        store.record_close(loser, 3)
    assert [a.address for a in store.openings()] == [bidder]
    store.close()


def test_export_writes_a_keeper_book_and_every_table(tmp_path: Path) -> None:
    store, _chain, bid = _submitted_batch(tmp_path)
    store.confirm(bid)
    store.close()
    out = tmp_path / "export" / "book.json"
    assert main(["operator", "export", "--db", str(tmp_path / "op.sqlite"), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert sorted(data) == ["accounts", "instruments", "operator", "version"]
    op = data["operator"]
    assert op["schema_version"] == SCHEMA_VERSION and len(op["fills"]) == 2 and op["batches"][0]["status"] == "confirmed"
    assert {f["status"] for f in op["fills"]} == {"settled"} and len(op["orders"]) == 4
    assert [e["epoch_id"] for e in op["epochs"]] == [1]
    book = AccountBook.load(out)  # the export is a book the liquidation keeper can load
    with OperatorStore(tmp_path / "op.sqlite") as again:
        assert {a.address: (a.q, a.cash, a.salt) for a in book} == {
            a.address: (a.q, a.cash, a.salt) for a in again.openings()}
        assert book.instruments == ["instrument-0", "instrument-1"]
    assert [p.name for p in out.parent.iterdir()] == ["book.json"]  # written atomically, no temp file left


def test_export_cli_errors_name_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["operator", "export", "--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "x.json")]) == 2
    assert "error: --db: " in capsys.readouterr().err
    OperatorStore(tmp_path / "op.sqlite", seed=1).close()
    assert main(["operator", "export", "--db", str(tmp_path / "op.sqlite"), "--out", str(tmp_path)]) == 2
    assert "error: --out: " in capsys.readouterr().err
    assert main(["operator", "export", "--db", str(tmp_path / "op.sqlite")]) == 2
    assert "--out" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
