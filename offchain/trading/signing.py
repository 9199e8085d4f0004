"""EIP-712 signatures over order commitments: the trader's authorization of an order.

The trader signs the typed-data struct ``Order(uint256 commitment)`` under the domain
``{name: "zkmargin Settlement", version: "1", chainId, verifyingContract}`` (the settlement
contract), where ``commitment`` is :func:`offchain.trading.orders.order_commitment`. The chain
can then check (``ecrecover``) that a fill's order was authorized by its trader without learning
the order's size or price: the settlement proof opens the commitment privately.

Signatures are ``(v, r, s)`` with ``v`` in {27, 28} and low ``s`` (``s <= n/2``, EIP-2), as
OpenZeppelin's ``ECDSA.recover`` requires; :func:`recover_signer` rejects anything else.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils import keccak, to_checksum_address

from offchain.trading.orders import Order, normalize_address, order_commitment
from prover.field import R
from zkmargin.errors import InputError

DOMAIN_NAME = "zkmargin Settlement"
DOMAIN_VERSION = "1"
ORDER_TYPE = "Order(uint256 commitment)"
ORDER_TYPEHASH = keccak(text=ORDER_TYPE)
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
#: secp256k1 group order
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: the largest accepted ``s`` (EIP-2 low-s)
MAX_S = SECP256K1_N // 2


class OrderSignature(NamedTuple):
    """An ECDSA signature ``(v, r, s)``; ``to_bytes`` gives the 65-byte ``r || s || v`` form."""

    v: int
    r: int
    s: int

    def to_bytes(self) -> bytes:
        return self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.v])

    @classmethod
    def from_bytes(cls, data: bytes) -> OrderSignature:
        if len(data) != 65:
            raise InputError("signature", f"must be 65 bytes (r || s || v), got {len(data)}")
        return cls(data[64], int.from_bytes(data[:32], "big"), int.from_bytes(data[32:64], "big"))


def _check_commitment(commitment: int) -> int:
    if isinstance(commitment, bool) or not isinstance(commitment, int) or not 0 <= commitment < R:
        raise InputError("commitment", f"must be an integer in [0, r), got {commitment!r}")
    return commitment


def _check_domain(chain_id: int, settlement_address: str) -> tuple[int, str]:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**256:
        raise InputError("chain_id", f"must be a positive uint256, got {chain_id!r}")
    return chain_id, to_checksum_address(normalize_address("verifying_contract", settlement_address))


def order_typed_data(commitment: int, chain_id: int, settlement_address: str) -> dict[str, Any]:
    """The EIP-712 typed-data document (for wallets and ``eth_account``'s ``encode_typed_data``)."""
    c = _check_commitment(commitment)
    cid, addr = _check_domain(chain_id, settlement_address)
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": [{"name": "commitment", "type": "uint256"}],
        },
        "primaryType": "Order",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": cid, "verifyingContract": addr},
        "message": {"commitment": c},
    }


def domain_separator(chain_id: int, settlement_address: str) -> bytes:
    """``keccak256(abi.encode(DOMAIN_TYPEHASH, keccak(name), keccak(version), chainId, contract))``."""
    cid, addr = _check_domain(chain_id, settlement_address)
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), cid, addr],
        )
    )


def order_digest(commitment: int, chain_id: int, settlement_address: str) -> bytes:
    """The 32-byte digest the trader signs: ``keccak256(0x1901 || domainSeparator ||
    keccak256(abi.encode(ORDER_TYPEHASH, commitment)))``, computed by hand."""
    struct = keccak(encode(["bytes32", "uint256"], [ORDER_TYPEHASH, _check_commitment(commitment)]))
    return keccak(b"\x19\x01" + domain_separator(chain_id, settlement_address) + struct)


def sign_commitment(
    commitment: int, private_key: str | bytes, chain_id: int, settlement_address: str
) -> OrderSignature:
    """Sign the commitment with ``private_key`` (eth_account: low ``s``, ``v`` in {27, 28})."""
    message = encode_typed_data(full_message=order_typed_data(commitment, chain_id, settlement_address))
    sig = Account.sign_message(message, private_key)
    return OrderSignature(int(sig.v), int(sig.r), int(sig.s))


def sign_order(order: Order, private_key: str | bytes, chain_id: int, settlement_address: str) -> OrderSignature:
    """Sign ``order``'s commitment; the key must be the order's trader's."""
    signer = Account.from_key(private_key).address.lower()
    if signer != order.trader.lower():
        raise InputError("private_key", f"belongs to {signer}, not to the order's trader {order.trader}")
    return sign_commitment(order_commitment(order), private_key, chain_id, settlement_address)


def recover_signer(commitment: int, signature: OrderSignature, chain_id: int, settlement_address: str) -> str:
    """The checksummed address that signed ``commitment``; raises :class:`InputError` for a
    malformed signature (``v`` not 27/28, ``r`` or ``s`` out of range, high ``s``)."""
    v, r, s = signature
    if v not in (27, 28):
        raise InputError("signature.v", f"must be 27 or 28, got {v}")
    if not 0 < r < SECP256K1_N:
        raise InputError("signature.r", "must be in (0, n)")
    if not 0 < s <= MAX_S:
        raise InputError("signature.s", "must be in (0, n/2] (low-s, EIP-2)")
    digest = order_digest(commitment, chain_id, settlement_address)
    try:
        key = Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except BadSignature as exc:
        raise InputError("signature", f"does not recover a public key: {exc}") from None
    return str(key.to_checksum_address())


def verify_order(order: Order, signature: OrderSignature, chain_id: int, settlement_address: str) -> bool:
    """True iff ``signature`` is ``order.trader``'s signature of the order's commitment; a
    malformed signature or a different signer gives False."""
    try:
        signer = recover_signer(order_commitment(order), signature, chain_id, settlement_address)
    except InputError:
        return False
    return signer.lower() == order.trader.lower()
