"""Signed webhook alerts with retries, backoff and idempotency keys, from a durable outbox.

Delivery contract (what a receiver sees; docs/operations.md has a verification example):

* ``POST`` to the endpoint's URL, body = the alert as canonical JSON (UTF-8, sorted keys);
* ``X-Zkmargin-Timestamp: <unix seconds of this attempt>``;
* ``X-Zkmargin-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``: the receiver
  recomputes it and rejects a mismatch or a timestamp outside its tolerance (replays);
* ``Idempotency-Key: <key>``: the same for every attempt of one alert; a receiver that has seen
  the key already answers 2xx and does nothing;
* any 2xx (or 409, "already have it") is a delivery; 408, 429, 5xx and network errors are
  retried after ``base_delay_s * multiplier ** (attempt - 1)`` (capped at ``max_delay_s``) up to
  ``max_attempts``; other 4xx fail at once (a wrong secret or URL will not heal by itself).

The outbox is a SQLite database in WAL mode. An alert is written (with its key) in the same
transaction as the state change that caused it, and marked delivered only after a 2xx, so:
a process killed at any point and restarted never *creates* an alert twice (the key is unique),
never re-sends one that was acknowledged, and re-sends an unacknowledged one with the same key
(the receiver drops it if the first attempt did arrive). Alerts of one account reach each
endpoint in the order they were created: a later alert waits while an earlier one is being
retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zkmargin.errors import InputError, ZkMarginError

SIGNATURE_HEADER = "X-Zkmargin-Signature"
TIMESTAMP_HEADER = "X-Zkmargin-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Zkmargin-Event"
SCHEMA_VERSION = 1


class WebhookError(ZkMarginError):
    """A webhook could not be configured or an alert could not be stored."""


# --- signing ------------------------------------------------------------------------------------
def canonical_body(alert: dict[str, Any]) -> bytes:
    """The alert as the bytes that are signed and sent (sorted keys, no whitespace)."""
    return json.dumps(alert, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    mac = hmac.new(secret, str(int(timestamp)).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def verify_signature(secret: bytes, timestamp: str | int, body: bytes, header: str, *,
                     tolerance_s: float = 300.0, now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` with ``secret`` and the timestamp is
    within ``tolerance_s`` of ``now`` (constant-time comparison)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header.strip())


def idempotency_key(*parts: Any) -> str:
    """A key derived from what identifies an alert (deterministic: a restart derives the same)."""
    return hashlib.sha256(json.dumps([str(p) for p in parts], separators=(",", ":")).encode()).hexdigest()[:32]


# --- configuration ----------------------------------------------------------------------------------
class RetryPolicy(BaseModel):
    """Attempts and exponential backoff of one alert to one endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=6, ge=1, le=100)
    base_delay_s: float = Field(default=1.0, ge=0, le=3_600)
    multiplier: float = Field(default=2.0, ge=1, le=10)
    max_delay_s: float = Field(default=60.0, ge=0, le=86_400)
    timeout_s: float = Field(default=5.0, gt=0, le=120)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_delay_s, self.base_delay_s * self.multiplier ** (attempt - 1)))


class Endpoint(BaseModel):
    """A webhook receiver; the HMAC secret is read from the environment variable ``secret_env``
    (secrets never live in config files)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    url: str
    secret_env: str = Field(default="ZKMARGIN_WEBHOOK_SECRET", pattern=r"^[A-Z_][A-Z0-9_]*$")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {v!r}")
        return v

    def secret(self, environ: dict[str, str] | None = None) -> bytes:
        env = os.environ if environ is None else environ
        value = env.get(self.secret_env, "")
        if not value:
            raise InputError(f"webhooks.{self.name}.secret_env", f"environment variable {self.secret_env} is not set")
        return value.encode()


class WebhookConfig(BaseModel):
    """Endpoints and the retry policy they share."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoints: tuple[Endpoint, ...] = ()
    retry: RetryPolicy = RetryPolicy()

    @model_validator(mode="after")
    def _unique(self) -> WebhookConfig:
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError(f"endpoint names must be unique, got {names}")
        return self


# --- the outbox ----------------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT NOT NULL REFERENCES alerts(key),
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,            -- pending | delivered | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at REAL,
    PRIMARY KEY (key, endpoint)
);
"""


@dataclass(frozen=True)
class StoredAlert:
    """One alert as stored (``body`` is exactly what is sent)."""

    seq: int
    key: str
    account: str
    type: str
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.body)
        return obj


class Outbox:
    """Alerts and their per-endpoint delivery state in one SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: Path | str, endpoints: Sequence[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(version) != SCHEMA_VERSION:
            raise WebhookError(f"{self.path}: outbox schema {version}, this version reads {SCHEMA_VERSION}")
        self.endpoints = list(endpoints)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get_meta(self, k: str) -> str | None:
        row = self.db.execute("SELECT v FROM meta WHERE k = ?", (k,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, k: str, v: str) -> None:
        self.db.execute("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", (k, v))

    def enqueue(self, key: str, account: str, type_: str, payload: dict[str, Any], now: float | None = None) -> bool:
        """Store an alert for every endpoint unless its key exists; True if it is new. Call inside
        :meth:`transaction` to make it atomic with the state change that caused it."""
        if self.db.execute("SELECT 1 FROM alerts WHERE key = ?", (key,)).fetchone():
            return False
        t = time.time() if now is None else now
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts").fetchone()[0]
        body = canonical_body({**payload, "id": key, "seq": int(seq), "type": type_, "account": account})
        self.db.execute("INSERT INTO alerts (seq, key, account, type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (seq, key, account, type_, body, t))
        for ep in self.endpoints:
            self.db.execute("INSERT INTO deliveries (key, endpoint, status, next_attempt_at) VALUES (?, ?, 'pending', ?)",
                            (key, ep, t))
        return True

    def alerts(self, account: str | None = None) -> list[StoredAlert]:
        """Every stored alert in creation order (optionally one account's)."""
        q = "SELECT seq, key, account, type, body FROM alerts"
        rows = self.db.execute(q + " WHERE account = ? ORDER BY seq", (account,)) if account else self.db.execute(q + " ORDER BY seq")
        return [StoredAlert(int(r[0]), str(r[1]), str(r[2]), str(r[3]), bytes(r[4])) for r in rows]

    def due(self, endpoint: str, now: float) -> list[StoredAlert]:
        """Pending alerts for ``endpoint`` whose next attempt is due, oldest first, keeping
        per-account order: an account's alert waits while an older one of it is backing off.
        (The dispatcher sends them in this order and stops at the first failure, so an alert
        is never delivered before an older one of the same account.)"""
        rows = self.db.execute(
            "SELECT a.seq, a.key, a.account, a.type, a.body, d.next_attempt_at FROM deliveries d "
            "JOIN alerts a ON a.key = d.key WHERE d.endpoint = ? AND d.status = 'pending' ORDER BY a.seq",
            (endpoint,),
        ).fetchall()
        blocked: set[str] = set()
        out = []
        for seq, key, account, type_, body, next_at in rows:
            if account in blocked:
                continue
            if float(next_at) > now:
                blocked.add(str(account))  # backing off: later alerts of this account wait for it
                continue
            out.append(StoredAlert(int(seq), str(key), str(account), str(type_), bytes(body)))
        return out

    def delivery(self, key: str, endpoint: str) -> dict[str, Any]:
        row = self.db.execute("SELECT status, attempts, next_attempt_at, last_error, delivered_at FROM deliveries "
                              "WHERE key = ? AND endpoint = ?", (key, endpoint)).fetchone()
        if row is None:
            raise WebhookError(f"no delivery of {key} to {endpoint}")
        return dict(zip(("status", "attempts", "next_attempt_at", "last_error", "delivered_at"), row))

    def counts(self) -> dict[str, int]:
        """Deliveries per status."""
        rows = self.db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall()
        return {"pending": 0, "delivered": 0, "failed": 0} | {str(s): int(n) for s, n in rows}

    def record_attempt(self, key: str, endpoint: str, ok: bool, error: str, retry: RetryPolicy, now: float,
                   permanent: bool) -> str:
        with self.transaction() as db:
            (attempts,) = db.execute("SELECT attempts FROM deliveries WHERE key = ? AND endpoint = ?", (key, endpoint)).fetchone()
            attempts = int(attempts) + 1
            if ok:
                status, next_at = "delivered", now
            elif permanent or attempts >= retry.max_attempts:
                status, next_at = "failed", now
            else:
                status, next_at = "pending", now + retry.delay(attempts)
            db.execute("UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
                       "delivered_at = ? WHERE key = ? AND endpoint = ?",
                       (status, attempts, next_at, error, now if ok else None, key, endpoint))
        return status


# --- delivery ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Response:
    status: int
    error: str = ""


def http_post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Response:
    """POST with the standard library; a network error is status 0."""
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # http(s) only: checked by Endpoint
            return Response(int(resp.status))
    except urllib.error.HTTPError as exc:
        return Response(int(exc.code), f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return Response(0, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")


def _retryable(status: int) -> bool:
    return status == 0 or status in (408, 429) or status >= 500


@dataclass
class DeliveryReport:
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, key)
    retrying: list[tuple[str, str, str]] = field(default_factory=list)  # (endpoint, key, error)
    failed: list[tuple[str, str, str]] = field(default_factory=list)


class Dispatcher:
    """Sends the outbox's due alerts to every endpoint (one attempt per due alert per call)."""

    def __init__(self, outbox: Outbox, config: WebhookConfig, *, post: Callable[..., Response] = http_post,
                 clock: Callable[[], float] = time.time, environ: dict[str, str] | None = None) -> None:
        self.outbox = outbox
        self.config = config
        self.post = post
        self.clock = clock
        self.secrets = {e.name: e.secret(environ) for e in config.endpoints}  # fail early on a missing secret
        #: observer of each attempt: (endpoint, alert, status, outcome) with outcome delivered|retrying|failed
        self.on_attempt: Callable[[str, StoredAlert, int, str], None] | None = None

    def deliver_due(self) -> DeliveryReport:
        report = DeliveryReport()
        retry = self.config.retry
        for ep in self.config.endpoints:
            for alert in self.outbox.due(ep.name, self.clock()):
                ts = int(self.clock())
                headers = {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature(self.secrets[ep.name], ts, alert.body),
                           IDEMPOTENCY_HEADER: alert.key, EVENT_HEADER: alert.type}
                resp = self.post(ep.url, alert.body, headers, retry.timeout_s)
                ok = 200 <= resp.status < 300 or resp.status == 409
                error = "" if ok else (resp.error or f"HTTP {resp.status}")
                status = self.outbox.record_attempt(alert.key, ep.name, ok, error, retry, self.clock(),
                                                    permanent=not ok and not _retryable(resp.status))
                outcome = "retrying" if status == "pending" else status
                if self.on_attempt is not None:
                    self.on_attempt(ep.name, alert, resp.status, outcome)
                if outcome == "delivered":
                    report.delivered.append((ep.name, alert.key))
                elif outcome == "failed":
                    report.failed.append((ep.name, alert.key, error))
                    break  # the endpoint is failing: the next due alerts wait for the next call
                else:
                    report.retrying.append((ep.name, alert.key, error))
                    break
        return report

    def drain(self, timeout_s: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
        """Deliver until nothing is pending (or ``timeout_s`` passed), sleeping through backoffs."""
        total = DeliveryReport()
        deadline = self.clock() + timeout_s
        while True:
            r = self.deliver_due()
            total.delivered += r.delivered
            total.retrying += r.retrying
            total.failed += r.failed
            if self.outbox.counts()["pending"] == 0 or self.clock() >= deadline:
                return total
            if not r.delivered:
                sleep(min(0.05 + self._next_due_in(), max(0.0, deadline - self.clock())))

    def _next_due_in(self) -> float:
        row = self.outbox.db.execute("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'").fetchone()
        return 0.0 if row[0] is None else max(0.0, float(row[0]) - self.clock())
