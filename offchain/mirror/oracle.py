"""EIP-712 price reports for ``contracts/feeds/PriceOracle.sol`` (the oracle keeper's signing side).

A report ``(feedId, round, price, observedAt)`` is signed under the domain
``{name: "zkmargin PriceOracle", version: "1", chainId, verifyingContract}``; ``submitReport``
needs at least ``threshold`` signatures from distinct reporters, **sorted by signer address**
(ascending), which is how duplicates are rejected cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from zkmargin.errors import InputError

DOMAIN_NAME = "zkmargin PriceOracle"
DOMAIN_VERSION = "1"
PRICE_DECIMALS = 8
REPORT_TYPE = "PriceReport(bytes32 feedId,uint64 round,int256 price,uint64 observedAt)"
REPORT_TYPEHASH = keccak(text=REPORT_TYPE)
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


def feed_id(symbol: str) -> bytes:
    """``keccak256(symbol)``, e.g. ``feed_id("BTC/USD")``."""
    if not isinstance(symbol, str) or "/" not in symbol:
        raise InputError("symbol", f"expected a pair like 'BTC/USD', got {symbol!r}")
    return keccak(text=symbol)


def to_price_units(price_usd: float | str) -> int:
    """A USD price as the oracle's 8-decimals integer (half-even)."""
    try:
        value = Decimal(str(price_usd))
    except InvalidOperation as exc:
        raise InputError("price", f"not a number: {price_usd!r}") from exc
    if not value.is_finite() or value <= 0:
        raise InputError("price", f"must be a positive finite number, got {price_usd!r}")
    return int((value * 10**PRICE_DECIMALS).to_integral_value(rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class PriceReport:
    """``IPriceOracle.PriceReport``."""

    feed_id: bytes
    round: int
    price: int
    observed_at: int

    def __post_init__(self) -> None:
        if not isinstance(self.feed_id, bytes) or len(self.feed_id) != 32:
            raise InputError("feed_id", "must be 32 bytes")
        if not 0 <= self.round < 2**64:
            raise InputError("round", f"must fit uint64, got {self.round}")
        if not -(2**255) <= self.price < 2**255:
            raise InputError("price", f"must fit int256, got {self.price}")
        if not 0 <= self.observed_at < 2**64:
            raise InputError("observed_at", f"must fit uint64, got {self.observed_at}")

    def as_tuple(self) -> tuple[bytes, int, int, int]:
        return (self.feed_id, self.round, self.price, self.observed_at)


def typed_data(report: PriceReport, chain_id: int, oracle_address: str) -> dict[str, Any]:
    """The EIP-712 typed-data document of ``report`` (for wallets and ``encode_typed_data``)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "PriceReport": [
                {"name": "feedId", "type": "bytes32"},
                {"name": "round", "type": "uint64"},
                {"name": "price", "type": "int256"},
                {"name": "observedAt", "type": "uint64"},
            ],
        },
        "primaryType": "PriceReport",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": int(chain_id),
            "verifyingContract": to_checksum_address(oracle_address),
        },
        "message": {
            "feedId": report.feed_id,
            "round": report.round,
            "price": report.price,
            "observedAt": report.observed_at,
        },
    }


def report_digest(report: PriceReport, chain_id: int, oracle_address: str) -> bytes:
    """The 32-byte digest the reporters sign (``PriceOracle.reportDigest``), computed by hand."""
    domain = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), int(chain_id),
             to_checksum_address(oracle_address)],
        )
    )
    struct = keccak(
        encode(["bytes32", "bytes32", "uint64", "int256", "uint64"], [REPORT_TYPEHASH, *report.as_tuple()])
    )
    return keccak(b"\x19\x01" + domain + struct)


def sign_report(
    report: PriceReport, private_keys: Sequence[str | bytes], chain_id: int, oracle_address: str
) -> list[tuple[int, bytes, bytes]]:
    """Sign ``report`` with every key; return ``(v, r, s)`` tuples sorted by signer address."""
    if not private_keys:
        raise InputError("private_keys", "need at least one key")
    message = encode_typed_data(full_message=typed_data(report, chain_id, oracle_address))
    signed: list[tuple[int, int, bytes, bytes]] = []
    for key in private_keys:
        sig = Account.sign_message(message, key)
        signer = Account.from_key(key).address
        signed.append((int(signer, 16), sig.v, sig.r.to_bytes(32, "big"), sig.s.to_bytes(32, "big")))
    signed.sort(key=lambda t: t[0])
    return [(v, r, s) for _addr, v, r, s in signed]


@dataclass
class FeedModel:
    """One feed's state in :class:`OracleModel` (``FeedConfig``, the latest round, the breaker floor)."""

    min_price: int
    max_price: int
    max_deviation_bps: int
    max_report_age: int
    tripped: bool = False
    skip_deviation_once: bool = False
    round: int = 0
    updated_at: int = 0
    answer: int = 0
    refused_round: int = 0
    refused_observed_at: int = 0
    reset_at: int = 0


class OracleReject(InputError):
    """The oracle reverts with custom error ``error`` (the model changes nothing)."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__("report", error)


@dataclass
class OracleModel:
    """The acceptance rules of ``PriceOracle`` (signatures aside): rounds and times strictly
    increase, bounds, report age, the deviation breaker and what a reset lets through.

    ``submit`` returns ``"accepted"`` or ``"tripped"`` (the report tripped the breaker: the
    transaction succeeds, the price is not stored) or raises :class:`OracleReject`.
    """

    feeds: dict[bytes, FeedModel]
    global_round: int = 0

    def submit(self, fid: bytes, rnd: int, price: int, observed_at: int, now: int) -> str:
        f = self.feeds.get(fid)
        if f is None:
            raise OracleReject("Oracle_UnknownFeed")
        if f.tripped:
            raise OracleReject("Oracle_CircuitBreakerActive")
        if rnd == 0:  # pushPrice: the next round, past a refused one (a refused report burns its round)
            rnd = max(f.round, f.refused_round) + 1
        if rnd <= f.round:
            raise OracleReject("Oracle_RoundNotIncreasing")
        if observed_at <= f.updated_at:
            raise OracleReject("Oracle_StaleTimestamp")
        if observed_at > now:
            raise OracleReject("Oracle_FutureTimestamp")
        if now - observed_at > f.max_report_age:
            raise OracleReject("Oracle_StaleReport")
        if price <= 0:
            raise OracleReject("Oracle_InvalidPrice")
        if not f.min_price <= price <= f.max_price:
            raise OracleReject("Oracle_PriceOutOfBounds")
        if f.skip_deviation_once:
            if observed_at <= f.reset_at:
                raise OracleReject("Oracle_ReportBeforeReset")
            if rnd <= f.refused_round:
                raise OracleReject("Oracle_RoundNotIncreasing")
            f.skip_deviation_once = False
        elif f.round != 0 and f.max_deviation_bps != 0 and abs(price - f.answer) * 10_000 > f.max_deviation_bps * f.answer:
            f.tripped = True
            f.refused_round, f.refused_observed_at = rnd, observed_at
            return "tripped"
        f.round, f.updated_at, f.answer = rnd, observed_at, price
        self.global_round += 1
        return "accepted"

    def reset(self, fid: bytes, now: int) -> None:
        f = self.feeds[fid]
        f.tripped, f.skip_deviation_once, f.reset_at = False, True, now

    def halt(self, fid: bytes) -> None:
        self.feeds[fid].tripped = True
