"""The margin-call keeper on a devnet with real proofs: three twins crash into the liquidatable
tier; the one with a sufficient allowance is topped up once and can prove its maintenance margin
again, the one with a small allowance is topped up by what is left and then reported exhausted,
the one that revoked its authorization is reported and never touched (an account that never
authorized the keeper only gets its tier alerts: tests/devnet/test_margin_call_demo.py). Alerts reach a local HTTP
server written here, signed (checked with hmac, independently of the library), in order; a
restarted keeper sends nothing again."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ape import reverts

from offchain.devnet.defaults import deploy_default
from offchain.devnet.margin_calls import MarginCallKeeper, authorize_topups, load_config, revoke_topups
from prover.statement import KIND_MM

UNIT = 10**6
SECRET = b"margin-call-test-secret"


class Inbox:
    def __init__(self) -> None:
        self.alerts: list[dict] = []
        self.bad: list[bytes] = []
        inbox = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                return

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ts = self.headers["X-Zkmargin-Timestamp"]
                want = "v1=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
                if hmac.compare_digest(want, self.headers["X-Zkmargin-Signature"]):
                    alert = json.loads(body)
                    assert alert["id"] == self.headers["Idempotency-Key"]
                    inbox.alerts.append(alert)
                    self.send_response(200)
                else:
                    inbox.bad.append(body)
                    self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/alerts"

    def of(self, account) -> list[tuple]:
        out = []
        for a in self.alerts:
            if a["account"] == str(account.address):
                d = a["data"]
                out.append((a["type"], d.get("from"), d.get("to"), d.get("reason")))
        return out


def _sent_by(chain, sender, first_block):
    w3 = chain.provider.web3
    return [tx for n in range(first_block, int(chain.blocks.head.number) + 1)
            for tx in w3.eth.get_block(n, full_transactions=True)["transactions"] if tx["from"] == sender.address]


def test_margin_call_keeper_alerts_tops_up_and_reports_what_it_cannot_do(accounts, chain, tmp_path, zkm_vols):
    owner, keeper = accounts[0], accounts[8]
    p = deploy_default(owner, grace_period_seconds=600)
    full, small, revoked = accounts[1], accounts[2], accounts[3]
    p.open_accounts([(u, {"BTC-PERP": 600}, 10_000 * UNIT, label)
                     for u, label in ((full, "full allowance"), (small, "small allowance"), (revoked, "revoked"))])
    authorize_topups(p, full, keeper, 10_000 * UNIT, wallet_units=10_000 * UNIT)
    authorize_topups(p, small, keeper, 500 * UNIT, wallet_units=10_000 * UNIT)
    authorize_topups(p, revoked, keeper, 10_000 * UNIT, wallet_units=10_000 * UNIT)
    revoke_topups(p, revoked, keeper)

    inbox = Inbox()
    config = load_config({"webhooks": [{"name": "ops", "url": inbox.url, "secret_env": "MC_SECRET"}],
                          "retry": {"base_delay_s": 0.05, "max_attempts": 3}})
    env = {"MC_SECRET": SECRET.decode()}
    events: list[tuple[str, dict]] = []
    outbox = tmp_path / "mc.sqlite"
    mc = MarginCallKeeper(p, config, keeper, outbox, environ=env, on_event=lambda k, f: events.append((k, f)))
    health = {h.address: h.tier for h in mc.step()}
    assert set(health.values()) == {"healthy"} and inbox.alerts == []  # first sight of healthy accounts is silent

    wallets = {u.address: int(p.d.token.balanceOf(u)) for u in (full, small, revoked)}
    balances = {u.address: int(p.d.vault.balanceOf(u)) for u in (full, small, revoked)}
    p.advance(60)
    p.report_prices({"BTC": p.spots["BTC"] * 0.7, "ETH": p.spots["ETH"] * 0.7})
    p.post_epoch(vols={"BTC": 1.2, "ETH": 1.4})
    before = {u.address: p.figures(u.address) for u in (full, small, revoked)}
    assert all(not f.holds for f in before.values())  # none can prove its maintenance margin
    first_block = int(chain.blocks.head.number) + 1

    after = {h.address: h for h in mc.step()}
    needed = {a: int(1.5 * f.requirement + 0.999999) - f.equity for a, f in before.items()}
    # the full allowance: topped up once, by what brings it back to the target ratio
    assert int(p.d.vault.balanceOf(full)) - balances[full.address] == needed[full.address]
    assert wallets[full.address] - int(p.d.token.balanceOf(full)) == needed[full.address]
    assert after[full.address].tier == "healthy" and abs(after[full.address].ratio - 1.5) < 1e-6
    assert p.figures(full.address, KIND_MM).holds
    # the small allowance: what was left of it, still liquidatable
    assert int(p.d.vault.balanceOf(small)) - balances[small.address] == 500 * UNIT
    assert p.d.topups.authorization(small, keeper).remaining == 0 and after[small.address].tier == "liquidatable"
    # the revoked one: untouched
    assert int(p.d.vault.balanceOf(revoked)) == balances[revoked.address]
    assert int(p.d.token.balanceOf(revoked)) == wallets[revoked.address]
    assert len(_sent_by(chain, keeper, first_block)) == 2  # two top-ups, nothing else

    # a second pass: the spent allowance is reported once, nothing is sent
    mark = int(chain.blocks.head.number) + 1
    mc.step()
    mc.step()
    assert _sent_by(chain, keeper, mark) == []
    assert inbox.of(full) == [("tier_changed", "healthy", "liquidatable", None), ("top_up", None, None, None),
                              ("tier_changed", "liquidatable", "healthy", None)]
    assert inbox.of(small) == [("tier_changed", "healthy", "liquidatable", None), ("top_up", None, None, None),
                               ("top_up_failed", None, None, "allowance_exhausted")]
    assert inbox.of(revoked) == [("tier_changed", "healthy", "liquidatable", None),
                                 ("top_up_failed", None, None, "revoked")]
    assert inbox.bad == []
    seqs = [a["seq"] for a in inbox.alerts]
    assert seqs == sorted(seqs) and len({a["id"] for a in inbox.alerts}) == len(inbox.alerts)
    top = next(a for a in inbox.alerts if a["type"] == "top_up" and a["account"] == full.address)
    assert top["data"]["amount"] == needed[full.address] and top["epoch"] == int(p.d.epochs.currentEpochId())
    assert [k for k, _ in events].count("top_up") == 2

    # (the topped-up account then proves its maintenance margin with a real proof: the demo test)

    # a restart on the same outbox sends nothing again and tops up nothing again
    mc.close()
    received = len(inbox.alerts)
    mark = int(chain.blocks.head.number) + 1
    mc2 = MarginCallKeeper(p, config, keeper, outbox, environ=env)
    mc2.step()
    assert len(inbox.alerts) == received and _sent_by(chain, keeper, mark) == []
    assert mc2.outbox.counts() == {"pending": 0, "delivered": received, "failed": 0}
    mc2.close()
    inbox.httpd.shutdown()

    # and the contract itself refuses what the keeper declined to send
    with reverts(p.d.topups.TopUp_AllowanceExceeded, remaining=0):
        p.d.topups.topUp(small, 1, sender=keeper)
    with reverts(p.d.topups.TopUp_NotAuthorized):
        p.d.topups.topUp(revoked, 1, sender=keeper)
