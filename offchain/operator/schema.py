"""The operator database's schema: ordered migrations and the version table.

The database is SQLite in WAL mode (docs/trading.md, "The operator's book"). Its version is the
highest ``version`` in ``schema_version``; :func:`migrate` applies, in order and each in its own
transaction, every migration above it. A database written by a newer zkmargin (a version above
:data:`SCHEMA_VERSION`) is refused rather than guessed at.

Integers that can exceed SQLite's 64-bit ``INTEGER`` (cash, prices, sizes, salts, commitments)
are stored as decimal ``TEXT``; vectors (positions, deltas) as JSON lists of integers.
"""

from __future__ import annotations

import sqlite3
import time

from zkmargin.errors import InputError

#: migration ``k`` (1-based) takes the database from version ``k - 1`` to ``k``
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "the operator's book: settings, accounts, epochs, orders, fills, batches, history",
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE accounts (
            address TEXT PRIMARY KEY,
            label TEXT NOT NULL DEFAULT '',
            q TEXT,
            cash TEXT,
            salt TEXT,
            commitment TEXT NOT NULL DEFAULT '0',
            settled_epoch INTEGER,
            status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'open', 'closed')),
            updated_at REAL NOT NULL
        );
        CREATE TABLE epochs (
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL,
            funding_digest TEXT NOT NULL,
            data TEXT NOT NULL,
            recorded_at REAL NOT NULL
        );
        CREATE TABLE orders (
            commitment TEXT PRIMARY KEY,
            trader TEXT NOT NULL REFERENCES accounts (address),
            instrument INTEGER NOT NULL,
            side INTEGER NOT NULL CHECK (side IN (0, 1)),
            limit_price TEXT NOT NULL,
            size TEXT NOT NULL,
            expiry TEXT NOT NULL,
            nonce TEXT NOT NULL,
            salt TEXT NOT NULL,
            kind TEXT NOT NULL,
            reduce_only INTEGER NOT NULL,
            symbol TEXT NOT NULL,
            sig_v INTEGER NOT NULL,
            sig_r TEXT NOT NULL,
            sig_s TEXT NOT NULL,
            book_id INTEGER,
            filled TEXT NOT NULL DEFAULT '0',
            state_salt TEXT NOT NULL DEFAULT '0',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'filled', 'cancelled', 'rejected')),
            reason TEXT,
            created_at REAL NOT NULL
        );
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            epoch_id INTEGER NOT NULL,
            fill_table TEXT NOT NULL,
            fee_bps INTEGER NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('prepared', 'proved', 'submitted', 'confirmed', 'abandoned')),
            payload TEXT NOT NULL,
            proofs TEXT,
            contract TEXT,
            tx_hash TEXT,
            block INTEGER,
            reason TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE fills (
            id INTEGER PRIMARY KEY,
            instrument INTEGER NOT NULL,
            price TEXT NOT NULL,
            size TEXT NOT NULL,
            buyer TEXT NOT NULL REFERENCES accounts (address),
            buy_order TEXT NOT NULL REFERENCES orders (commitment),
            seller TEXT NOT NULL REFERENCES accounts (address),
            sell_order TEXT NOT NULL REFERENCES orders (commitment),
            book_seq INTEGER,
            batch_id INTEGER REFERENCES batches (id),
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'in_batch', 'settled', 'rejected')),
            attempts INTEGER NOT NULL DEFAULT 0,
            reason TEXT,
            created_at REAL NOT NULL
        );
        CREATE TABLE history (
            id INTEGER PRIMARY KEY,
            address TEXT NOT NULL REFERENCES accounts (address),
            epoch_id INTEGER,
            kind TEXT NOT NULL
                CHECK (kind IN ('fill', 'fee', 'funding', 'cash_out', 'takeover', 'close', 'commit')),
            batch_id INTEGER REFERENCES batches (id),
            fill_id INTEGER REFERENCES fills (id),
            dq TEXT NOT NULL,
            dc TEXT NOT NULL,
            salt TEXT,
            commitment TEXT,
            note TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        );
        """,
    ),
    (
        "indexes for the settler's queries (fills by status, batches by status, history and orders per account)",
        """
        CREATE INDEX fills_by_status ON fills (status, id);
        CREATE INDEX batches_by_status ON batches (status, id);
        CREATE INDEX history_by_address ON history (address, id);
        CREATE INDEX orders_by_trader ON orders (trader);
        """,
    ),
    (
        ("the exchange: funding premium samples and steps; the lots of an open order the book cancelled (a "
         "reduce-only cap); the book version (bumped by triggers on every change that moves the order book)"),
        """
        CREATE TABLE funding_steps (
            id INTEGER PRIMARY KEY,
            base_epoch INTEGER NOT NULL,
            at INTEGER NOT NULL,
            elapsed INTEGER NOT NULL,
            start_index TEXT NOT NULL,
            funding_index TEXT NOT NULL,
            delta TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'taken' CHECK (status IN ('taken', 'superseded')),
            created_at REAL NOT NULL
        );
        CREATE TABLE funding_samples (
            id INTEGER PRIMARY KEY,
            instrument INTEGER NOT NULL,
            at INTEGER NOT NULL,
            impact_bid TEXT,
            impact_ask TEXT,
            index_price TEXT NOT NULL,
            premium TEXT NOT NULL,
            step_id INTEGER REFERENCES funding_steps (id),
            created_at REAL NOT NULL
        );
        CREATE INDEX funding_samples_by_step ON funding_samples (step_id, id);
        ALTER TABLE orders ADD COLUMN cancelled TEXT NOT NULL DEFAULT '0';
        INSERT OR IGNORE INTO settings (key, value) VALUES ('book_version', '0');
        CREATE TRIGGER book_version_order_added AFTER INSERT ON orders BEGIN
            UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'book_version';
        END;
        CREATE TRIGGER book_version_order_status AFTER UPDATE OF status ON orders
        WHEN OLD.status IS NOT NEW.status BEGIN
            UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'book_version';
        END;
        CREATE TRIGGER book_version_fill_added AFTER INSERT ON fills BEGIN
            UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'book_version';
        END;
        CREATE TRIGGER book_version_fill_rejected AFTER UPDATE OF status ON fills
        WHEN OLD.status IS NOT NEW.status AND 'rejected' IN (OLD.status, NEW.status) BEGIN
            UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'book_version';
        END;
        CREATE TRIGGER book_version_opening AFTER UPDATE OF q ON accounts
        WHEN OLD.q IS NOT NEW.q BEGIN
            UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'book_version';
        END;
        """,
    ),
)
#: the version this code writes
SCHEMA_VERSION = len(MIGRATIONS)


def statements(sql: str) -> list[str]:
    """The complete SQL statements of a migration script, in order (a trigger's body, with its own
    semicolons, stays one statement)."""
    out: list[str] = []
    buf = ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip(" \n;"):
        raise InputError("migration", f"an incomplete SQL statement: {buf.strip()[:80]!r}")
    return out


def current_version(conn: sqlite3.Connection) -> int:
    """The database's version (0 for an empty database)."""
    row = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    return int(got or 0)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION, where: str = "database") -> int:
    """Bring the database to version ``target`` (each migration in its own transaction) and return
    the version found before; a database newer than this code is refused (``InputError``)."""
    if not 1 <= target <= SCHEMA_VERSION:
        raise InputError("target", f"must be in [1, {SCHEMA_VERSION}], got {target}")
    found = current_version(conn)
    if found > SCHEMA_VERSION:
        raise InputError(f"{where}.schema_version",
                         f"version {found} was written by a newer zkmargin (this one reads up to {SCHEMA_VERSION})")
    if found > target:
        raise InputError(f"{where}.schema_version", f"version {found} is above the requested {target}")
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                 "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at REAL NOT NULL)")
    for version in range(found + 1, target + 1):
        description, sql = MIGRATIONS[version - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                         (version, description, time.time()))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return found
