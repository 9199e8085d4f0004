"""Shared helpers for the trading tests: a small listing, traders, an order factory, node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from offchain.trading.listing import InstrumentSpec, ListingSpec
from offchain.trading.orders import Order, OrderKind, Side

ROOT = Path(__file__).resolve().parents[3]
NOW = 1_700_000_000
LATER = NOW + 86_400
#: two instruments: prices in base units per lot on a tick of 10, sizes 1..100 lots
LISTING = ListingSpec(instruments=[
    InstrumentSpec(symbol="BTC-PERP", tick_size=10, min_size=1, max_size=100),
    InstrumentSpec(symbol="ETH-PERP", tick_size=5, min_size=2, max_size=100),
])
KEYS = [bytes([k + 1]) * 32 for k in range(4)]
A, B, C, D = (Account.from_key(k).address.lower() for k in KEYS)


class Orders:
    """Builds orders with increasing nonces per trader and a fixed salt."""

    def __init__(self) -> None:
        self.nonces: dict[str, int] = {}

    def __call__(
        self, trader: str, side: Side | str, price: int, size: int, *, kind: OrderKind | str = OrderKind.LIMIT,
        instrument: int = 0, reduce_only: bool = False, expiry: int = LATER, nonce: int | None = None,
    ) -> Order:
        if nonce is None:
            nonce = self.nonces.get(trader, 0) + 1
            self.nonces[trader] = nonce
        return Order.create(trader=trader, instrument=instrument, side=side, limit_price=price, size=size,
                            expiry=expiry, nonce=nonce, salt=12345, kind=kind, reduce_only=reduce_only)


def run_node(script: str, payload: Any) -> Any:
    """Run an ES-module ``script`` in the repository root with ``payload`` as JSON on stdin."""
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("node is not on PATH (source .toolchain/env)")
    tmp = ROOT / f".trading_test_{os.getpid()}.mjs"
    tmp.write_text(script)
    try:
        out = subprocess.run([exe, str(tmp)], input=json.dumps(payload), capture_output=True, text=True, cwd=ROOT,
                             timeout=120, check=False)
    finally:
        tmp.unlink()
    if out.returncode != 0:
        raise AssertionError(f"node failed: {out.stderr}")
    return json.loads(out.stdout)
