"""The exchange's scripts on the devnet: ``ape run trader place`` twice (a resting order, then one
that crosses it) records the orders and the fill in the operator database, signed by the test
accounts' keys and priced in USD per unit of the underlying; an order below initial margin is
recorded as rejected with the reason and exits 1; bad input exits 2 and writes nothing; ``ape run
trader book`` shows the depth, ``cancel`` records a cancel and ``orders`` shows it; ``ape run
funding`` records one premium sample per perpetual against the oracle's index; ``ape run settler``
settles the recorded fill on chain."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from _settler_devnet import write_deployment
from conftest import BTC, ETH, UNIT

from offchain.operator import OperatorStore
from offchain.risk.epoch import instrument_json
from offchain.risk.instruments import Perp
from offchain.trading.signing import recover_signer

ROOT = Path(__file__).resolve().parents[2]
# the devnet fixture's two instruments: marks 30 USD per lot of 0.001 BTC, 20 USD per lot of 0.01 ETH
INSTRUMENTS = [Perp(symbol="BTC-PERP", underlying="BTC", lot_size=0.001),
               Perp(symbol="ETH-PERP", underlying="ETH", lot_size=0.01)]


def _ape(network: str, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    ape = Path(sys.executable).parent / "ape"
    return subprocess.run([str(ape), "run", *args, "--state-dir", str(state), "--network", network], cwd=ROOT,
                          check=False, capture_output=True, text=True, timeout=180)


def test_ape_run_trader_and_funding(env, accounts, chain, tmp_path):
    d = env.d
    env.push(BTC, 30_000)
    env.push(ETH, 2_000)
    maker, taker = accounts[1], accounts[2]
    for u in (maker, taker):
        env.fund(u, 5_000 * UNIT)
    state = tmp_path / "state"
    write_deployment(state, d)
    saved = json.loads((state / "deployment.json").read_text())
    (state / "deployment.json").write_text(json.dumps({**saved, "listing": [instrument_json(i) for i in INSTRUMENTS]}))
    net = chain.provider.uri
    started = time.perf_counter()

    rest = _ape(net, state, "trader", "place", "--account", "1", "--symbol", "BTC-PERP", "--side", "sell",
                "--size", "3", "--price", "30000.5")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    print(rest.stdout)
    assert "resting: book id 0, filled 0, resting 3, cancelled 0 lots" in rest.stdout
    cross = _ape(net, state, "trader", "place", "--account", "2", "--symbol", "BTC-PERP", "--side", "buy",
                 "--size", "2", "--price", "30001", "--kind", "ioc")
    assert cross.returncode == 0, cross.stdout + cross.stderr
    print(cross.stdout)
    assert "filled 2 lots (0.002 BTC) at 30000.5 USD against book order 0" in cross.stdout

    broke = _ape(net, state, "trader", "place", "--account", "3", "--symbol", "BTC-PERP", "--side", "buy",
                 "--size", "1", "--price", "30000.5")  # account 3 deposited nothing: below IM
    print(broke.stdout)
    assert broke.returncode == 1, broke.stdout + broke.stderr
    assert "  rejected: risk: " in broke.stdout and "collateral 0" in broke.stdout

    bad = _ape(net, state, "trader", "place", "--account", "2", "--symbol", "BTC-PERP", "--side", "buy",
               "--size", "1", "--price", "30000.55")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "Error: --price: 30000.55 USD is not on the tick grid" in bad.stderr

    with OperatorStore(state / "operator.sqlite", create=False) as store:
        orders = store.orders()
        fills = store.fills()
        listing = json.loads(store.setting("listing") or "{}")
    assert [(o.order.size, o.status) for o in orders] == [(3, "open"), (2, "open"), (1, "rejected")]  # "filled"
    # once settled; the price off the grid wrote nothing
    for rec, who in zip(orders, (maker, taker, accounts[3])):
        assert rec.order.trader == str(who.address).lower()
        assert recover_signer(rec.commitment, rec.signature, d.chain_id, str(d.settlement.address)).lower() == \
            rec.order.trader
    assert [(f.instrument, f.price, f.size, f.buyer.lower(), f.seller.lower(), f.status) for f in fills] == [
        (0, 30_000_500, 2, str(taker.address).lower(), str(maker.address).lower(), "pending")]
    assert listing["instruments"][0]["symbol"] == "BTC-PERP"

    book = _ape(net, state, "trader", "book", "--symbol", "BTC-PERP")
    assert book.returncode == 0, book.stdout + book.stderr
    print(book.stdout)
    assert [ln.split() for ln in book.stdout.splitlines()[-2:]] == [["side", "USD", "lots"], ["ask", "30000.5", "1"]]

    cancel = _ape(net, state, "trader", "cancel", "--account", "1", "--order", f"0x{orders[0].commitment:064x}")
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert "cancelled book order 0: 1 lot (0.001 BTC) BTC-PERP" in cancel.stdout

    mine = _ape(net, state, "trader", "orders", "--account", "1")
    assert mine.returncode == 0, mine.stdout + mine.stderr
    print(mine.stdout)
    assert mine.stdout.splitlines()[-1].split()[1:] == ["book", "id", "0", "sell", "3", "BTC-PERP", "limit", "at", "30000.5", "USD",
                                       "cancelled:", "settled", "0,", "matched", "2,", "resting", "0", "(cancelled)"]

    funding = _ape(net, state, "funding")
    assert funding.returncode == 0, funding.stdout + funding.stderr
    print(funding.stdout)
    assert "BTC-PERP premium +0.0000% (index 30000.0 USD); ETH-PERP premium +0.0000% (index 2000.00 USD)" in \
        funding.stdout
    with OperatorStore(state / "operator.sqlite", create=False) as store:
        samples = store.funding_samples()
        cancelled = store.order(orders[0].commitment)
    assert [(s.instrument, s.index_price, s.premium) for s in samples] == [(0, 30_000_000, 0), (1, 20_000_000, 0)]
    assert (cancelled.status, cancelled.reason) == ("cancelled", "cancelled")

    settle = _ape(net, state, "settler")  # the fill the trader script recorded settles on chain (mock prover)
    assert settle.returncode == 0, settle.stdout + settle.stderr
    print(settle.stdout.splitlines()[-3:])
    with OperatorStore(state / "operator.sqlite", create=False) as store:
        assert [f.status for f in store.fills()] == ["settled"]
        for who, lots in ((maker, -2), (taker, 2)):
            rec = store.account(str(who.address))
            assert rec is not None and rec.opening is not None and rec.opening.q[0] == lots
            assert int(d.accounts.commitmentOf(str(who.address))) == rec.commitment != 0
    print(f"nine ape runs in {time.perf_counter() - started:.1f} s")
