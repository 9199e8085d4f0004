"""A webhook receiver that checks what :mod:`offchain.devnet.webhooks` sends (the demo's inbox,
and a reference for people writing their own).

It binds 127.0.0.1 only, rejects a bad or stale signature with 401, answers 200 to a known
``Idempotency-Key`` without recording it again, and keeps the alerts it accepted in arrival
order (``received``), with every request it saw (``requests``: accepted, duplicate, rejected).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from offchain.devnet.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

LOOPBACK = "127.0.0.1"


@dataclass
class ReceivedRequest:
    key: str
    outcome: str  # accepted | duplicate | rejected
    payload: dict[str, Any] | None


@dataclass
class Inbox:
    received: list[dict[str, Any]] = field(default_factory=list)
    requests: list[ReceivedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class WebhookReceiver:
    """``with WebhookReceiver(secret) as r: ... r.url ... r.inbox.received``."""

    def __init__(self, secret: bytes, *, path: str = "/alerts", port: int = 0, tolerance_s: float = 300.0) -> None:
        self.secret = secret
        self.path = path
        self.inbox = Inbox()
        inbox, want_path = self.inbox, path

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get(IDEMPOTENCY_HEADER, "")
                ok = self.path == want_path and bool(key) and verify_signature(
                    secret, self.headers.get(TIMESTAMP_HEADER, ""), body, self.headers.get(SIGNATURE_HEADER, ""),
                    tolerance_s=tolerance_s)
                with inbox.lock:
                    if not ok:
                        inbox.requests.append(ReceivedRequest(key, "rejected", None))
                        status = 401
                    elif any(r["id"] == key for r in inbox.received):
                        inbox.requests.append(ReceivedRequest(key, "duplicate", None))
                        status = 200
                    else:
                        payload = json.loads(body)
                        inbox.received.append(payload)
                        inbox.requests.append(ReceivedRequest(key, "accepted", payload))
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((LOOPBACK, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        port = int(self.server.server_address[1])
        return f"http://{LOOPBACK}:{port}{self.path}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m offchain.devnet.webhook_receiver --port 8787``: print every verified alert as
    one JSON line (the secret from ``$ZKMARGIN_WEBHOOK_SECRET`` or ``--secret-env``)."""
    import argparse
    import os
    import sys
    import time

    ap = argparse.ArgumentParser(prog="python -m offchain.devnet.webhook_receiver", description=main.__doc__)
    ap.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (default 8787)")
    ap.add_argument("--path", default="/alerts")
    ap.add_argument("--secret-env", default="ZKMARGIN_WEBHOOK_SECRET")
    args = ap.parse_args(argv)
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        print(f"error: --secret-env: environment variable {args.secret_env} is not set", file=sys.stderr)
        return 2
    r = WebhookReceiver(secret.encode(), path=args.path, port=args.port).start()
    print(f"listening on {r.url}", file=sys.stderr, flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            with r.inbox.lock:
                new = r.inbox.requests[seen:]
                seen = len(r.inbox.requests)
            for req in new:
                print(json.dumps({"outcome": req.outcome, "key": req.key, "alert": req.payload}), flush=True)
    except KeyboardInterrupt:
        return 0
    finally:
        r.stop()


if __name__ == "__main__":
    raise SystemExit(main())
