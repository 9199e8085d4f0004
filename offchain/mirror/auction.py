"""Integer mirror of ``contracts/libraries/AuctionMath.sol`` and the fill logic of ``Liquidation.bid``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prover.statement import BPS
from zkmargin.errors import InputError

#: Fixed-point one of fill fractions (``Constants.WAD`` in Solidity).
WAD = 10**18
INT256_MAX = 2**255 - 1
INT256_MIN = -(2**255)


def _check_uint(field: str, value: int, bits: int = 256) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"expected an integer, got {type(value).__name__}")
    if not 0 <= value < 2**bits:
        raise InputError(field, f"must be in [0, 2^{bits}), got {value}")
    return value


def _check_int(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"expected an integer, got {type(value).__name__}")
    if not INT256_MIN <= value <= INT256_MAX:
        raise InputError(field, f"does not fit int256: {value}")
    return value


def trunc_div(a: int, b: int) -> int:
    """Solidity's signed division: the quotient truncated toward zero."""
    if b == 0:
        raise InputError("divisor", "division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@dataclass(frozen=True)
class AuctionParams:
    """``ILiquidation.AuctionParams``."""

    start_discount_bps: int = 200
    max_discount_bps: int = 2_000
    duration_seconds: int = 3_600
    liquidation_fee_bps: int = 50
    protocol_fee_share_bps: int = 1_000

    def __post_init__(self) -> None:
        if not (0 <= self.start_discount_bps <= self.max_discount_bps < BPS):
            raise InputError("auction.discounts", "need 0 <= start <= max < 10000 bps")
        if self.duration_seconds <= 0 or self.duration_seconds >= 2**32:
            raise InputError("auction.duration_seconds", "must be in (0, 2^32)")
        if not (0 <= self.liquidation_fee_bps <= BPS and 0 <= self.protocol_fee_share_bps <= BPS):
            raise InputError("auction.fees", "fee and share must be in [0, 10000] bps")

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        """The Solidity struct, in field order."""
        return (
            self.start_discount_bps,
            self.max_discount_bps,
            self.duration_seconds,
            self.liquidation_fee_bps,
            self.protocol_fee_share_bps,
        )


def discount_bps(start_time: int, now: int, duration: int, start_bps: int, max_bps: int) -> int:
    """``AuctionMath.discountBps``: linear from ``start_bps`` to ``max_bps`` over ``duration``, floor."""
    for name, v in (("start_time", start_time), ("now", now), ("start_bps", start_bps), ("max_bps", max_bps)):
        _check_uint(name, v)
    if duration <= 0:
        raise InputError("duration", "must be positive")
    if max_bps < start_bps:
        raise InputError("max_bps", "must be >= start_bps")
    if now <= start_time:
        return start_bps
    elapsed = now - start_time
    if elapsed >= duration:
        return max_bps
    return start_bps + (max_bps - start_bps) * elapsed // duration


def slice_amount(amount: int, fraction_wad: int) -> int:
    """``AuctionMath.slice``: all of a position at ``WAD``, else ``amount * f / WAD`` toward zero."""
    _check_int("amount", amount)
    _check_uint("fraction_wad", fraction_wad)
    if not 0 < fraction_wad <= WAD:
        raise InputError("fraction_wad", f"must be in (0, 1e18], got {fraction_wad}")
    if fraction_wad == WAD:
        return amount
    return trunc_div(amount * fraction_wad, WAD)


def slice_value(book_value: int, fraction_wad: int) -> int:
    """``AuctionMath.sliceValue``: all of the book's value at ``WAD``, else ``ceil(W * f / WAD)``."""
    _check_int("book_value", book_value)
    if not 0 < fraction_wad <= WAD:
        raise InputError("fraction_wad", f"must be in (0, 1e18], got {fraction_wad}")
    if fraction_wad == WAD:
        return book_value
    return -((-book_value * fraction_wad) // WAD)


def book_value(positions: Sequence[int], cash: int, marks: Sequence[int]) -> tuple[int, int]:
    """``AuctionMath.bookValue`` -> ``(cash + sum q_i m_i, sum |q_i| |m_i|)``."""
    if len(positions) != len(marks):
        raise InputError("marks", f"expected {len(positions)} marks, got {len(marks)}")
    value = cash + sum(q * m for q, m in zip(positions, marks))
    gross = sum(abs(q) * abs(m) for q, m in zip(positions, marks))
    return value, gross


def discount_cap(equity: int, gross: int) -> tuple[int, bool]:
    """``AuctionMath.discountCap`` -> ``(rate_wad, underwater)``: ``min(|equity| * WAD // gross, WAD)``."""
    underwater = equity < 0
    if gross == 0:
        return 0, underwater
    return min(abs(equity) * WAD // gross, WAD), underwater


def fill_terms(value: int, gross: int, d_bps: int, fee_bps: int, rate_wad: int = WAD,
               underwater: bool = False) -> tuple[int, int, int]:
    """``AuctionMath.fillTerms`` -> ``(cost, discount, fee)``: the scheduled discount capped by the
    auction's discount cap; the fee rounded up."""
    _check_int("value", value)
    _check_uint("gross", gross)
    discount = gross * d_bps // BPS
    if underwater:
        discount = discount * rate_wad // WAD
    else:
        discount = min(discount, gross * rate_wad // WAD)
    fee = -((-gross * fee_bps) // BPS)
    return value - discount, discount, fee


@dataclass(frozen=True)
class Slice:
    """What one fill takes from the book, valued at the marks."""

    lots: tuple[int, ...]
    cash_taken: int
    value: int  # ceil(f * (cash + sum q_i m_i)); the cash taken absorbs the rounding of the lots
    gross: int  # sum |lots_i| * |marks_i|
    positions_after: tuple[int, ...]
    cash_after: int
    empty: bool  # the book is empty after the fill


def take_slice(positions: Sequence[int], cash: int, marks: Sequence[int], fraction_wad: int) -> Slice:
    """Mirror of ``AuctionMath.takeSlice``; raises if the fill would be empty (``Liquidation_EmptyFill``)."""
    if len(positions) != len(marks):
        raise InputError("marks", f"expected {len(positions)} marks, got {len(marks)}")
    _check_int("cash", cash)
    total = cash
    lots_value = gross = 0
    empty = True
    nonzero = False
    lots: list[int] = []
    after: list[int] = []
    for i, (q, m) in enumerate(zip(positions, marks)):
        _check_int(f"positions[{i}]", q)
        _check_int(f"marks[{i}]", m)
        x = slice_amount(q, fraction_wad) if q != 0 else 0
        total += q * m
        if x != 0:
            nonzero = True
            lots_value += x * m
            gross += abs(x) * abs(m)
        lots.append(x)
        after.append(q - x)
        if q != 0 and q != x:
            empty = False
    value = slice_value(total, fraction_wad)
    cash_taken = value - lots_value
    if cash != cash_taken:
        empty = False
    if value != 0 or cash_taken != 0:
        nonzero = True
    if not nonzero:
        raise InputError("fraction_wad", "the fill is empty (Liquidation_EmptyFill)")
    return Slice(tuple(lots), cash_taken, value, gross, tuple(after), cash - cash_taken, empty)


def fee_split(fee_due: int, balance: int, protocol_share_bps: int) -> tuple[int, int, int]:
    """``CollateralVault.collectFee`` -> ``(fee, to_insurance, to_protocol)``: the fee is capped by the balance."""
    fee = min(fee_due, balance)
    to_protocol = fee * protocol_share_bps // BPS
    return fee, fee - to_protocol, to_protocol
