"""EIP-712 order signatures: the hand-computed digest against eth_account's encoder and ethers.js,
round trips, and every way a signature must be refused."""

from __future__ import annotations

import pytest
from _trading_testlib import KEYS, A, B, run_node
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data

from offchain.trading.orders import Order
from offchain.trading.signing import (
    MAX_S,
    SECP256K1_N,
    OrderSignature,
    domain_separator,
    order_digest,
    order_typed_data,
    recover_signer,
    sign_commitment,
    sign_order,
    verify_order,
)
from prover.field import R
from zkmargin.errors import InputError

SETTLEMENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
CHAIN = 31337


def order(**kw: object) -> Order:
    base = {"trader": A, "instrument": 1, "side": "sell", "limit_price": 42_000_000, "size": 5,
            "expiry": 1_800_000_000, "nonce": 3, "salt": 2**200 + 17}
    return Order.create(**{**base, **kw})  # type: ignore[arg-type]


def test_digest_matches_eth_account_encoder() -> None:
    for c in (0, 1, R - 1, order().commitment()):
        typed = encode_typed_data(full_message=order_typed_data(c, CHAIN, SETTLEMENT))
        assert order_digest(c, CHAIN, SETTLEMENT) == _hash_eip191_message(typed)
    assert order_digest(5, 1, SETTLEMENT) != order_digest(5, CHAIN, SETTLEMENT)  # bound to the chain
    assert order_digest(5, CHAIN, "0x" + "11" * 20) != order_digest(5, CHAIN, SETTLEMENT)  # and the contract


def test_digest_and_signature_match_ethers() -> None:
    commitments = [order().commitment(), 1, R - 1]
    script = """
import { ethers } from "ethers";
import fs from "fs";
const { key, chainId, contract, commitments } = JSON.parse(fs.readFileSync(0, "utf8"));
const domain = { name: "zkmargin Settlement", version: "1", chainId, verifyingContract: contract };
const types = { Order: [{ name: "commitment", type: "uint256" }] };
const wallet = new ethers.Wallet(key);
const out = { separator: ethers.utils._TypedDataEncoder.hashDomain(domain), digests: [], sigs: [] };
for (const c of commitments) {
  out.digests.push(ethers.utils._TypedDataEncoder.hash(domain, types, { commitment: c }));
  const sig = ethers.utils.splitSignature(await wallet._signTypedData(domain, types, { commitment: c }));
  out.sigs.push([sig.v, sig.r, sig.s]);
}
console.log(JSON.stringify(out));
"""
    res = run_node(script, {"key": "0x" + KEYS[0].hex(), "chainId": CHAIN, "contract": SETTLEMENT,
                            "commitments": [str(c) for c in commitments]})
    assert res["separator"] == "0x" + domain_separator(CHAIN, SETTLEMENT).hex()
    for c, digest, (v, r, s) in zip(commitments, res["digests"], res["sigs"]):
        assert "0x" + order_digest(c, CHAIN, SETTLEMENT).hex() == digest
        # RFC 6979 signatures are deterministic: ethers and eth_account agree to the bit
        assert sign_commitment(c, KEYS[0], CHAIN, SETTLEMENT) == OrderSignature(v, int(r, 16), int(s, 16))


def test_sign_recover_round_trip() -> None:
    o = order()
    sig = sign_order(o, KEYS[0], CHAIN, SETTLEMENT)
    assert sig.v in (27, 28) and 0 < sig.s <= MAX_S
    assert recover_signer(o.commitment(), sig, CHAIN, SETTLEMENT) == Account.from_key(KEYS[0]).address
    assert verify_order(o, sig, CHAIN, SETTLEMENT)
    assert OrderSignature.from_bytes(sig.to_bytes()) == sig
    # eth_account's own recovery agrees
    typed = encode_typed_data(full_message=order_typed_data(o.commitment(), CHAIN, SETTLEMENT))
    assert Account.recover_message(typed, vrs=(sig.v, sig.r, sig.s)).lower() == A


def test_tampered_order_or_other_signer_is_refused() -> None:
    o = order()
    sig = sign_order(o, KEYS[0], CHAIN, SETTLEMENT)
    for tampered in (order(size=6), order(limit_price=41_999_990), order(nonce=4), order(salt=1)):
        assert not verify_order(tampered, sig, CHAIN, SETTLEMENT)
    assert not verify_order(o, sig, CHAIN + 1, SETTLEMENT)  # other chain
    assert not verify_order(o, sig, CHAIN, "0x" + "22" * 20)  # other settlement contract
    # B's signature over A's order: valid ECDSA, wrong signer
    forged = sign_commitment(o.commitment(), KEYS[1], CHAIN, SETTLEMENT)
    assert recover_signer(o.commitment(), forged, CHAIN, SETTLEMENT).lower() == B
    assert not verify_order(o, forged, CHAIN, SETTLEMENT)
    with pytest.raises(InputError, match="private_key"):
        sign_order(o, KEYS[1], CHAIN, SETTLEMENT)


def test_malformed_signatures_are_refused() -> None:
    o = order()
    c = o.commitment()
    v, r, s = sign_order(o, KEYS[0], CHAIN, SETTLEMENT)
    # the high-s twin recovers the same key in plain ECDSA but is refused (EIP-2 malleability)
    high = OrderSignature(55 - v, r, SECP256K1_N - s)
    with pytest.raises(InputError) as exc:
        recover_signer(c, high, CHAIN, SETTLEMENT)
    assert exc.value.field == "signature.s"
    assert not verify_order(o, high, CHAIN, SETTLEMENT)
    for bad, field in [(OrderSignature(v - 27, r, s), "signature.v"), (OrderSignature(v, 0, s), "signature.r"),
                       (OrderSignature(v, SECP256K1_N, s), "signature.r"), (OrderSignature(v, r, 0), "signature.s")]:
        with pytest.raises(InputError) as exc:
            recover_signer(c, bad, CHAIN, SETTLEMENT)
        assert exc.value.field == field
    with pytest.raises(InputError, match="65 bytes"):
        OrderSignature.from_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="commitment"):
        order_digest(R, CHAIN, SETTLEMENT)
    with pytest.raises(InputError, match="chain_id"):
        order_digest(1, 0, SETTLEMENT)
    with pytest.raises(InputError, match="verifying_contract"):
        order_digest(1, CHAIN, "0x1234")
