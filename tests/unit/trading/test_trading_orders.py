"""Orders: field validation, the listing checks, the JSON request, and the Poseidon commitment
(against circomlibjs)."""

from __future__ import annotations

import pytest
from _trading_testlib import LISTING, A, run_node

from offchain.trading.listing import InstrumentSpec, ListingSpec
from offchain.trading.orders import (
    Order,
    OrderKind,
    Side,
    admission_reason,
    check_listing,
    listing_reason,
    market_bound,
    order_commitment,
    parse_order,
)
from prover.field import R
from prover.poseidon import poseidon
from prover.statement import TAG_ORDER
from zkmargin.errors import InputError

BASE = {"trader": A, "instrument": 0, "side": "buy", "limit_price": 1000, "size": 3, "expiry": 2_000_000_000,
        "nonce": 7, "salt": 99}


def make(**kw: object) -> Order:
    return Order.create(**{**BASE, **kw})  # type: ignore[arg-type]


def test_create_normalizes_and_keeps_fields() -> None:
    o = make(trader=A.upper().replace("0X", "0x"), side="SELL", kind="post_only", reduce_only=True)
    assert o.trader == A and o.side is Side.SELL and o.kind is OrderKind.POST_ONLY and o.reduce_only
    assert o.commitment_inputs() == [int(A, 16), 0, 1, 1000, 3, 2_000_000_000, 7, 99]


def test_salt_is_drawn_in_the_field() -> None:
    salts = {Order.create(**{**BASE, "salt": None}).salt for _ in range(20)}  # type: ignore[arg-type]
    assert len(salts) == 20 and all(0 <= s < R for s in salts)


@pytest.mark.parametrize(("field", "value"), [
    ("trader", "0x1234"), ("trader", 5), ("instrument", 256), ("instrument", -1), ("side", "hold"),
    ("side", 2), ("kind", "fok"), ("limit_price", -1), ("limit_price", 2**64), ("limit_price", 1.5),
    ("size", 0), ("size", 2**64), ("expiry", 2**64), ("nonce", -1), ("nonce", 2**64), ("salt", R),
    ("reduce_only", 1), ("limit_price", True),
])
def test_each_bad_field_is_named(field: str, value: object) -> None:
    with pytest.raises(InputError) as exc:
        make(**{field: value})
    assert exc.value.field == field


def test_commitment_is_the_tagged_sponge_and_matches_circomlibjs() -> None:
    assert TAG_ORDER == 3
    orders = [make(), make(side="sell", limit_price=0, size=2**64 - 1, expiry=2**64 - 1, nonce=2**64 - 1,
                           salt=R - 1, instrument=255, trader="0x" + "ff" * 20)]
    inputs = [o.commitment_inputs() for o in orders]
    # the sponge of 8 inputs is one permutation of [tag, x_1..x_8, 0 x 7] (docs/ARCHITECTURE.md)
    for o, xs in zip(orders, inputs):
        assert order_commitment(o) == poseidon([TAG_ORDER, *xs, *[0] * 7])
    script = """
import { buildPoseidonReference } from "circomlibjs";
import fs from "fs";
const p = await buildPoseidonReference();
const vs = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify(vs.map(v => p.F.toString(p(v.map(x => BigInt(x)))))));
"""
    expected = run_node(script, [[str(x) for x in [TAG_ORDER, *xs, *[0] * 7]] for xs in inputs])
    assert [str(o.commitment()) for o in orders] == expected


def test_commitment_binds_every_field() -> None:
    base = order_commitment(make())
    changes = {"trader": "0x" + "11" * 20, "instrument": 1, "side": "sell", "limit_price": 1010, "size": 4,
               "expiry": 2_000_000_001, "nonce": 8, "salt": 100}
    for field, value in changes.items():
        assert order_commitment(make(**{field: value})) != base, field
    # kind and reduce_only restrict execution only; they are not committed
    assert order_commitment(make(kind="ioc", reduce_only=True)) == base


def test_commitment_range_checks_a_hand_built_order() -> None:
    bad = Order(A, 0, Side.BUY, 2**64, 1, 1, 1, 1)
    with pytest.raises(InputError, match="limit_price"):
        order_commitment(bad)
    with pytest.raises(InputError, match="trader"):
        order_commitment(Order("0xzz", 0, Side.BUY, 1, 1, 1, 1, 1))


def test_listing_reasons_name_the_field() -> None:
    assert listing_reason(make(), LISTING) is None
    assert listing_reason(make(limit_price=1005), LISTING) == (
        "limit_price: 1005 is not a multiple of the tick size 10 of BTC-PERP")
    assert listing_reason(make(instrument=1, size=1, limit_price=1005), LISTING) == (
        "size: 1 lots is below the minimum size 2 of ETH-PERP")
    assert listing_reason(make(size=101), LISTING) == "size: 101 lots is above the maximum size 100 of BTC-PERP"
    assert listing_reason(make(instrument=2), LISTING) == "instrument: 2 is not listed (the listing has 2 instruments)"
    assert listing_reason(make(symbol="ETH-PERP"), LISTING) == "symbol: 'ETH-PERP' is not instrument 0 ('BTC-PERP')"
    assert admission_reason(make(expiry=10), LISTING, 10, False) == "expiry: 10 is not after now (10)"
    assert admission_reason(make(), LISTING, 10, True) == f"nonce: 7 was already used by {A}"
    with pytest.raises(InputError) as exc:
        check_listing(make(limit_price=1001), LISTING)
    assert exc.value.field == "limit_price"


def test_order_request_json() -> None:
    o = parse_order({**BASE, "kind": "limit", "symbol": "BTC-PERP"}, LISTING)
    assert o == make(symbol="BTC-PERP")
    assert parse_order({**BASE, "instrument": 1, "limit_price": 1005, "size": 2}, LISTING).symbol == "ETH-PERP"
    buy = parse_order({**BASE, "kind": "market", "limit_price": None}, LISTING)
    sell = parse_order({**BASE, "kind": "market", "side": "sell", "limit_price": None}, LISTING)
    assert buy.limit_price == market_bound(Side.BUY, LISTING.instruments[0]) == (2**64 - 1) // 10 * 10
    assert sell.limit_price == 0


@pytest.mark.parametrize(("patch", "field"), [
    ({"colour": "red"}, "order.colour"),
    ({"size": 0}, "order.size"),
    ({"side": "long"}, "order.side"),
    ({"trader": "0xabc"}, "order.trader"),
    ({"limit_price": 1001}, "order.limit_price"),
    ({"limit_price": None}, "order.limit_price"),
    ({"instrument": 9}, "order.instrument"),
    ({"size": 200}, "order.size"),
    ({"symbol": "ETH-PERP"}, "order.symbol"),
])
def test_order_request_errors_name_the_field(patch: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_order({**BASE, **patch}, LISTING)
    assert exc.value.field == field


def test_listing_spec_validation() -> None:
    with pytest.raises(InputError, match="listed twice"):
        ListingSpec.parse({"instruments": [{"symbol": "X", "tick_size": 1}, {"symbol": "X", "tick_size": 2}]})
    with pytest.raises(InputError) as exc:
        ListingSpec.parse({"instruments": [{"symbol": "X", "tick_size": 1, "lot": 3}]}, "listing")
    assert exc.value.field == "listing.instruments[0].lot"
    with pytest.raises(InputError) as exc:
        ListingSpec.parse({"instruments": [{"symbol": "X", "tick_size": 0}]})
    assert exc.value.field == "instruments[0].tick_size"
    with pytest.raises(InputError, match="below min_size"):
        ListingSpec.parse({"instruments": [{"symbol": "X", "tick_size": 1, "min_size": 5, "max_size": 4}]})
    assert LISTING.index("ETH-PERP") == 1
    with pytest.raises(InputError, match="not listed"):
        LISTING.index("SOL-PERP")
    assert InstrumentSpec(symbol="X", tick_size=7).max_price % 7 == 0
