"""EIP-712 report signing: hand-computed digest, eth-account's encoder and signer recovery agree."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data

from offchain.mirror.oracle import (
    PriceReport,
    feed_id,
    report_digest,
    sign_report,
    to_price_units,
    typed_data,
)
from zkmargin.errors import InputError

ORACLE = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
KEYS = [bytes([i]) * 32 for i in (1, 2, 3)]


def test_digest_matches_eth_account_encoder():
    rep = PriceReport(feed_id("BTC/USD"), 7, to_price_units("36684.93"), 1_700_000_000)
    assert report_digest(rep, 31337, ORACLE) == _hash_eip191_message(encode_typed_data(full_message=typed_data(rep, 31337, ORACLE)))
    other_chain = report_digest(rep, 1, ORACLE)
    assert other_chain != report_digest(rep, 31337, ORACLE)  # bound to the chain


def test_signatures_recover_and_are_sorted():
    rep = PriceReport(feed_id("ETH/USD"), 1, -5, 0)
    sigs = sign_report(rep, KEYS, 31337, ORACLE)
    digest = report_digest(rep, 31337, ORACLE)
    signers = [Account._recover_hash(digest, vrs=(v, int.from_bytes(r, "big"), int.from_bytes(s, "big"))) for v, r, s in sigs]
    assert sorted(signers, key=lambda a: int(a, 16)) == signers
    assert set(signers) == {Account.from_key(k).address for k in KEYS}
    for _v, _r, s in sigs:
        assert int.from_bytes(s, "big") <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def test_bad_reports_raise():
    with pytest.raises(InputError):
        PriceReport(b"\x00" * 31, 1, 1, 1)
    with pytest.raises(InputError):
        PriceReport(b"\x00" * 32, -1, 1, 1)
    with pytest.raises(InputError):
        sign_report(PriceReport(b"\x00" * 32, 1, 1, 1), [], 1, ORACLE)
    with pytest.raises(InputError):
        to_price_units("-3")
    with pytest.raises(InputError):
        feed_id("BTC")
