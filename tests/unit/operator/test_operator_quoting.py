"""The trader command line's prices: USD per unit of the underlying <-> base units per lot on the
tick grid (exact decimal arithmetic; off-grid, malformed and unlisted input named), the oracle's
index per lot, the listing kept in the database, and the read-only views of the book and of a
trader's orders that equal what a live exchange shows."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from _exchange_testlib import LISTING, NOW, Signer, World, exchange
from _operator_fakes import TRADERS

from offchain.operator.exchange import order_views
from offchain.operator.quoting import (
    Quoting,
    listing_for,
    next_nonce,
    read_instruments,
    recorded_listing,
    resting_depth,
)
from offchain.risk.epoch import instrument_json
from offchain.risk.instruments import Perp
from offchain.trading.orders import Side
from zkmargin.errors import InputError

INSTRUMENTS = [Perp(symbol="BTC-PERP", underlying="BTC", lot_size=0.001),
               Perp(symbol="ETH-PERP", underlying="ETH", lot_size=0.01)]
Q = Quoting(LISTING, INSTRUMENTS)  # tick 1,000 base units per lot: 1 USD per BTC, 0.1 USD per ETH


def test_prices_convert_exactly_on_the_tick_grid() -> None:
    assert (Q.tick_usd(0), Q.tick_usd(1)) == (Decimal(1), Decimal("0.1"))
    assert Q.price_per_lot(0, "30000") == 30_000_000  # 30,000 USD per BTC = 30 USD per lot of 0.001 BTC
    assert Q.price_per_lot(1, "2000.3") == 20_003_000  # 2,000.3 USD per ETH = 20.003 USD per lot of 0.01 ETH
    assert Q.price_per_lot(1, "2.0003e3") == 20_003_000
    assert str(Q.usd(1, 20_003_000)) == "2000.3" and str(Q.usd(0, 30_000_000)) == "30000"
    assert Q.size_text(0, 5) == "5 lots (0.005 BTC)" and Q.size_text(1, 1) == "1 lot (0.01 ETH)"
    # the oracle's answer (8 decimals per unit) per lot, rounded half to even
    assert Q.index_per_lot(0, 30_000_12345678) == 30_000_123
    assert Q.index_per_lot(0, 30_000_50000000) == 30_000_500
    assert Q.index_per_lot(1, 2_000_00000050) == 20_000_000


@pytest.mark.parametrize(("text", "says"), [
    ("30000.5", ("30000.5 USD is not on the tick grid: the tick of BTC-PERP is 1 USD per BTC "
                "(1000 base units per lot of 0.001 BTC)")),
    ("30000.0001", "not on the tick grid"),
    ("abc", "'abc' is not a decimal number"),
    ("0", "must be a finite price > 0 (USD per BTC)"),
    ("-3", "must be a finite price > 0"),
    ("NaN", "must be a finite price > 0"),
    ("Infinity", "must be a finite price > 0"),
    ("1e30", "above the highest price of BTC-PERP"),
])
def test_bad_prices_name_the_option(text: str, says: str) -> None:
    with pytest.raises(InputError) as err:
        Q.price_per_lot(0, text)
    assert err.value.field == "--price" and says in err.value.problem


def test_symbols_and_the_deployment_listing(tmp_path: Path) -> None:
    assert Q.index("ETH-PERP") == 1
    with pytest.raises(InputError, match="'SOL-PERP' is not listed \\(listed: BTC-PERP, ETH-PERP\\)") as err:
        Q.index("SOL-PERP")
    assert err.value.field == "--symbol"
    with pytest.raises(InputError, match="lists") as err:
        Quoting(LISTING, INSTRUMENTS[::-1])
    with pytest.raises(InputError, match="no deployment in") as err:
        read_instruments(tmp_path)
    assert err.value.field == "--state-dir"
    (tmp_path / "deployment.json").write_text(json.dumps({"listing": [instrument_json(i) for i in INSTRUMENTS]}))
    assert read_instruments(tmp_path) == INSTRUMENTS
    (tmp_path / "deployment.json").write_text(json.dumps({"listing": [{"symbol": "X"}]}))
    with pytest.raises(InputError, match="not a list of instruments") as err:
        read_instruments(tmp_path)
    assert err.value.field.endswith("deployment.json.listing")


def test_the_listing_is_the_one_recorded_on_the_first_start(tmp_path: Path) -> None:
    ex = exchange(tmp_path / "op.sqlite", World())
    calls: list[int] = []

    def spots() -> dict[str, float]:
        calls.append(1)
        return {"BTC": 90_000.0, "ETH": 100.0}  # other ticks than the recorded listing's

    assert recorded_listing(ex.store, INSTRUMENTS, spots) == LISTING and calls == []
    fresh = exchange(tmp_path / "other.sqlite", World(), listing=listing_for(INSTRUMENTS, spots()))
    assert fresh.listing != LISTING
    fresh.store.close()
    ex.store.close()


def test_the_read_only_views_equal_the_live_exchange(tmp_path: Path) -> None:
    ex = exchange(tmp_path / "op.sqlite", World())
    signer = Signer()
    rng = random.Random(11)
    for k in range(40):
        who, inst = rng.randrange(3), rng.randrange(2)
        side = rng.choice(("buy", "sell"))
        mid = (30_000_000, 20_000_000)[inst]
        price = mid + 1_000 * rng.randrange(-3, 5) * (1 if side == "sell" else -1)
        kind = rng.choice(["limit"] * 5 + ["ioc", "post_only"])
        ex.place(*signer(who, side, price, rng.randrange(1, 5), instrument=inst, kind=kind,
                         expiry=NOW + 10 + rng.randrange(0, 60)), NOW + k)
    now = NOW + 45  # some orders expired since: the views leave them out like a restarted exchange
    depth = resting_depth(ex.store, LISTING.n, now)
    ex.expire(now)
    for i in range(LISTING.n):
        assert depth[i] == (ex.book.depth(i, Side.BUY, 10**6), ex.book.depth(i, Side.SELL, 10**6))
    assert any(bids and asks for bids, asks in depth)
    for t in TRADERS[:3]:
        assert order_views(ex.store, t, now) == ex.orders(t)
        assert next_nonce(ex.store, t) == signer.nonces[TRADERS.index(t)] + 1
    assert next_nonce(ex.store, TRADERS[5]) == 1
    lines = Q.depth_lines(0, *depth[0])
    assert lines[0] == "BTC-PERP (perp, lot 0.001 BTC, tick 1 USD)" and lines[1].split() == ["side", "USD", "lots"]
    asks = [ln.split() for ln in lines[2:] if ln.split()[0] == "ask"]
    assert [(Q.price_per_lot(0, p), int(q)) for _, p, q in asks] == list(reversed(depth[0][1]))
    assert Q.depth_lines(0, [], []) == [lines[0], "  (empty)"]
    ex.store.close()
