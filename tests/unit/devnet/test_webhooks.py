"""Webhook alerts against a local HTTP server written here (independent of the receiver in
offchain.devnet.webhook_receiver): HMAC-SHA256 signatures over the timestamp and the body,
retries with exponential backoff, per-account order, and idempotency across restarts."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from offchain.devnet.webhooks import (
    Dispatcher,
    Endpoint,
    Outbox,
    RetryPolicy,
    WebhookConfig,
    http_post,
    verify_signature,
)
from zkmargin.errors import InputError

SECRET = b"s3cr3t-for-tests"
ENV = {"HOOK_SECRET": SECRET.decode()}


class Server:
    """Records every request; answers with the next scripted status of the alert's id (200 once
    its script is done; a list scripts every alert)."""

    def __init__(self, statuses: list[int] | dict[str, list[int]] | None = None) -> None:
        self.statuses = statuses if isinstance(statuses, dict) else {"*": list(statuses or [])}
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                return

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                script = outer.statuses.get(json.loads(body)["id"], outer.statuses.get("*", []))
                status = script.pop(0) if script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def ids(self) -> list[str]:
        return [json.loads(b)["id"] for _, b in self.requests]


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def sleep(self, dt: float) -> None:
        self.t += dt


def _config(url: str, **retry) -> WebhookConfig:
    return WebhookConfig(endpoints=(Endpoint(name="ops", url=url, secret_env="HOOK_SECRET"),), retry=RetryPolicy(**retry))


def _outbox(tmp_path) -> Outbox:
    return Outbox(tmp_path / "alerts.sqlite", ["ops"])


def _expected_signature(ts: str, body: bytes) -> str:
    return "v1=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()


def test_alerts_are_signed_over_timestamp_and_body(tmp_path, server):
    box = _outbox(tmp_path)
    clock = Clock()
    box.enqueue("k1", "0xA", "tier_changed", {"data": {"from": "healthy", "to": "warning"}}, now=clock())
    report = Dispatcher(box, _config(server.url), clock=clock, environ=ENV).deliver_due()
    assert report.delivered == [("ops", "k1")]
    (headers, body), = server.requests
    assert headers["x-zkmargin-timestamp"] == str(int(clock()))
    assert headers["x-zkmargin-signature"] == _expected_signature(headers["x-zkmargin-timestamp"], body)
    assert headers["idempotency-key"] == "k1" and headers["x-zkmargin-event"] == "tier_changed"
    assert json.loads(body) == {"id": "k1", "seq": 1, "type": "tier_changed", "account": "0xA",
                                "data": {"from": "healthy", "to": "warning"}}
    assert box.delivery("k1", "ops")["status"] == "delivered"
    # the library's own check agrees, and rejects tampering and stale timestamps
    ts = headers["x-zkmargin-timestamp"]
    assert verify_signature(SECRET, ts, body, headers["x-zkmargin-signature"], now=clock())
    assert not verify_signature(SECRET, ts, body + b" ", headers["x-zkmargin-signature"], now=clock())
    assert not verify_signature(b"other", ts, body, headers["x-zkmargin-signature"], now=clock())
    assert not verify_signature(SECRET, ts, body, headers["x-zkmargin-signature"], now=clock() + 301)


def test_retries_with_exponential_backoff_then_delivers(tmp_path):
    server = Server([500, 503, 429])
    try:
        box, clock = _outbox(tmp_path), Clock()
        box.enqueue("k1", "0xA", "top_up", {}, now=clock())
        d = Dispatcher(box, _config(server.url, base_delay_s=2.0, multiplier=3.0, max_delay_s=10.0), clock=clock, environ=ENV)
        times = []
        d.on_attempt = lambda ep, alert, status, outcome: times.append((clock(), status, outcome))
        d.drain(timeout_s=100, sleep=clock.sleep)
        t0 = times[0][0]
        # waits 2, 6, then 10 (capped): attempts at +0, +2, +8, +18
        assert [(round(t - t0, 2), s, o) for t, s, o in times] == [
            (0.0, 500, "retrying"), (2.05, 503, "retrying"), (8.1, 429, "retrying"), (18.15, 200, "delivered")]
        assert box.delivery("k1", "ops")["attempts"] == 4
        assert server.ids() == ["k1"] * 4  # the same idempotency key every time
        assert {h["idempotency-key"] for h, _ in server.requests} == {"k1"}
        # each retry is signed afresh with its own timestamp
        assert len({h["x-zkmargin-timestamp"] for h, _ in server.requests}) == 4
        for h, b in server.requests:
            assert h["x-zkmargin-signature"] == _expected_signature(h["x-zkmargin-timestamp"], b)
    finally:
        server.close()


def test_gives_up_after_max_attempts_and_fails_fast_on_client_errors(tmp_path):
    server = Server({"k1": [500, 500, 500], "k2": [401]})
    try:
        box, clock = _outbox(tmp_path), Clock()
        box.enqueue("k1", "0xA", "t", {}, now=clock())
        box.enqueue("k2", "0xB", "t", {}, now=clock())
        d = Dispatcher(box, _config(server.url, max_attempts=3, base_delay_s=1.0), clock=clock, environ=ENV)
        report = d.drain(timeout_s=60, sleep=clock.sleep)
        assert box.delivery("k1", "ops")["status"] == "failed" and box.delivery("k1", "ops")["attempts"] == 3
        assert box.delivery("k1", "ops")["last_error"] == "HTTP 500"
        assert box.delivery("k2", "ops")["status"] == "failed" and box.delivery("k2", "ops")["attempts"] == 1  # 401
        assert [k for _, k, _ in report.failed] == ["k2", "k1"]  # k2 fails at once, while k1 backs off
        assert box.counts() == {"pending": 0, "delivered": 0, "failed": 2}
    finally:
        server.close()


def test_an_accounts_alerts_keep_their_order_while_one_is_retried(tmp_path):
    server = Server([503])  # the first request fails once
    try:
        box, clock = _outbox(tmp_path), Clock()
        for key, account in (("a1", "0xA"), ("b1", "0xB"), ("a2", "0xA"), ("a3", "0xA")):
            box.enqueue(key, account, "t", {}, now=clock())
        d = Dispatcher(box, _config(server.url, base_delay_s=5.0), clock=clock, environ=ENV)
        d.deliver_due()
        assert server.ids() == ["a1"]  # failed: the endpoint is left for this call
        d.deliver_due()
        assert server.ids() == ["a1", "b1"]  # a2 waits behind a1's backoff, b1 does not
        clock.sleep(5.0)
        d.drain(timeout_s=10, sleep=clock.sleep)
        assert server.ids() == ["a1", "b1", "a1", "a2", "a3"]
        assert [json.loads(b)["seq"] for _, b in server.requests] == [1, 2, 1, 3, 4]
    finally:
        server.close()


def test_a_restart_never_sends_an_acknowledged_alert_again(tmp_path, server):
    box, clock = _outbox(tmp_path), Clock()
    assert box.enqueue("k1", "0xA", "t", {"n": 1}, now=clock())
    Dispatcher(box, _config(server.url), clock=clock, environ=ENV).drain(sleep=clock.sleep)
    box.close()
    box2 = _outbox(tmp_path)  # a new process on the same file
    assert not box2.enqueue("k1", "0xA", "t", {"n": 1}, now=clock())  # the same alert is not created again
    Dispatcher(box2, _config(server.url), clock=clock, environ=ENV).drain(sleep=clock.sleep)
    assert server.ids() == ["k1"]


def test_a_crash_after_sending_resends_with_the_same_key(tmp_path, server):
    box, clock = _outbox(tmp_path), Clock()
    box.enqueue("k1", "0xA", "t", {}, now=clock())

    def post_then_die(url, body, headers, timeout_s):
        http_post(url, body, headers, timeout_s)  # the receiver gets it ...
        raise KeyboardInterrupt  # ... and the process dies before recording the 2xx

    with pytest.raises(KeyboardInterrupt):
        Dispatcher(box, _config(server.url), post=post_then_die, clock=clock, environ=ENV).deliver_due()
    box.close()
    box2 = _outbox(tmp_path)
    assert box2.delivery("k1", "ops")["status"] == "pending"
    Dispatcher(box2, _config(server.url), clock=clock, environ=ENV).drain(sleep=clock.sleep)
    assert server.ids() == ["k1", "k1"]
    assert {h["idempotency-key"] for h, _ in server.requests} == {"k1"}  # so the receiver drops the copy
    assert box2.delivery("k1", "ops")["status"] == "delivered"


def test_config_errors_name_the_field(tmp_path):
    from offchain.devnet.margin_calls import load_config

    with pytest.raises(InputError) as e:
        load_config({"webhooks": [{"name": "x", "url": "ftp://host/x"}]})
    assert e.value.field == "margin_calls.webhooks[0].url" and "http" in e.value.problem
    with pytest.raises(InputError) as e:
        load_config({"retry": {"max_attempts": 3, "backoff": 2}})
    assert e.value.field == "margin_calls.retry.backoff"
    with pytest.raises(InputError) as e:
        Dispatcher(_outbox(tmp_path), _config("http://127.0.0.1:9/x"), environ={})
    assert e.value.field == "webhooks.ops.secret_env" and "HOOK_SECRET" in e.value.problem


def test_one_call_delivers_everything_due_in_creation_order(tmp_path, server):
    box, clock = _outbox(tmp_path), Clock()
    for key, account in (("a1", "0xA"), ("b1", "0xB"), ("a2", "0xA"), ("a3", "0xA"), ("b2", "0xB")):
        box.enqueue(key, account, "t", {}, now=clock())
    report = Dispatcher(box, _config(server.url), clock=clock, environ=ENV).deliver_due()
    assert server.ids() == ["a1", "b1", "a2", "a3", "b2"] == [k for _, k in report.delivered]
