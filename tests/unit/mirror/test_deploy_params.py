"""The pure parts of the deploy API (no chain needed)."""

from __future__ import annotations

import pytest

from offchain.devnet.deploy import DEFAULT_FEEDS, Deployment, FeedParams
from offchain.mirror.auction import AuctionParams
from zkmargin.errors import InputError


def test_feed_params_are_the_solidity_struct():
    t = FeedParams().as_tuple()
    assert t[:3] == (True, False, False)  # enabled, not tripped, no re-basing pending
    assert t[6] == 1 and t[7] == 10_000_000 * 10**8  # 8-decimals bounds
    assert t[7] < 2**63  # fits the int64 of the packed config slot
    assert DEFAULT_FEEDS == ("BTC/USD", "ETH/USD")
    with pytest.raises(InputError):
        FeedParams(min_price_usd="-1").as_tuple()


def test_auction_params_tuple_order():
    assert AuctionParams().as_tuple() == (200, 2_000, 3_600, 50, 1_000)


def test_deployment_addresses_lists_the_protocol_contracts():
    class C:
        def __init__(self, a):
            self.address = a

    d = Deployment(1, None, C("0x1"), C("0x2"), C("0x3"), epochs=C("0x4"), accounts=C("0x5"))
    assert d.addresses() == {"token": "0x1", "vault": "0x2", "oracle": "0x3", "epochs": "0x4", "accounts": "0x5"}
