"""The auction and vault mirrors against independent references (fractions, brute force)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.mirror.auction import (
    WAD,
    AuctionParams,
    discount_bps,
    discount_cap,
    fee_split,
    fill_terms,
    slice_amount,
    slice_value,
    take_slice,
    trunc_div,
)
from offchain.mirror.model import ProtocolModel, Reject
from offchain.mirror.vault import VaultModel
from zkmargin.errors import InputError

I128 = st.integers(-(2**127), 2**127 - 1)
FRAC = st.integers(1, WAD)


@given(I128, FRAC)
def test_slice_is_the_truncated_fraction(amount, frac):
    exact = Fraction(amount) * Fraction(frac, WAD)
    got = slice_amount(amount, frac)
    assert abs(got) <= abs(exact) < abs(got) + 1  # truncated toward zero
    assert got == 0 or (got > 0) == (amount > 0)
    if frac == WAD:
        assert got == amount


def test_trunc_div_matches_solidity_semantics():
    assert [trunc_div(a, 3) for a in (-7, -6, -1, 0, 1, 7)] == [-2, -2, 0, 0, 0, 2]
    assert trunc_div(7, -3) == -2
    with pytest.raises(InputError):
        trunc_div(1, 0)


@given(st.integers(0, 10**10), st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 9_999), st.integers(0, 9_999))
def test_discount_is_linear_clamped_and_monotone(start, dt, duration, a, b):
    lo, hi = min(a, b), max(a, b)
    d = discount_bps(start, start + dt, duration, lo, hi)
    exact = lo + Fraction(hi - lo) * min(Fraction(dt, duration), 1)
    assert d == int(exact)  # floor of the exact linear interpolation
    assert lo <= d <= hi
    assert discount_bps(start, start + dt + 1, duration, lo, hi) >= d
    assert discount_bps(start, max(0, start - 5), duration, lo, hi) == lo


@given(st.integers(-(2**200), 2**200), st.integers(0, 2**200), st.integers(0, 9_999), st.integers(0, 10_000),
       st.integers(0, WAD), st.booleans())
def test_fill_terms(value, gross, d, fee_bps, rate, underwater):
    cost, disc, fee = fill_terms(value, gross, d, fee_bps, rate, underwater)
    scheduled = gross * d // 10_000
    if underwater:
        assert disc == scheduled * rate // WAD
    else:
        assert disc == min(scheduled, gross * rate // WAD)
    assert cost == value - disc and disc <= scheduled
    assert fee == -(-gross * fee_bps // 10_000) and fee * 10_000 >= gross * fee_bps  # rounded up
    assert cost <= value


@given(st.integers(-(2**200), 2**200), FRAC)
def test_slice_value_rounds_up(book, frac):
    exact = Fraction(book) * Fraction(frac, WAD)
    got = slice_value(book, frac)
    assert exact <= got < exact + 1
    if frac == WAD:
        assert got == book


@given(st.integers(-(2**200), 2**200), st.integers(0, 2**200))
def test_discount_cap_is_the_equity_share_of_gross(equity, gross):
    rate, under = discount_cap(equity, gross)
    assert under == (equity < 0) and 0 <= rate <= WAD
    if gross:
        assert rate == min(abs(equity) * WAD // gross, WAD)
        assert gross * rate // WAD <= abs(equity)  # the whole book's discount stays within |equity|


@settings(max_examples=200)
@given(st.lists(st.integers(-(2**63), 2**63), min_size=1, max_size=6), I128, FRAC, st.data())
def test_take_slice_conserves_the_book(q, cash, frac, data):
    marks = data.draw(st.lists(st.integers(-(2**63), 2**63), min_size=len(q), max_size=len(q)))
    total = cash + sum(x * m for x, m in zip(q, marks))
    try:
        sl = take_slice(q, cash, marks, frac)
    except InputError:
        assert all(slice_amount(x, frac) == 0 for x in q) and slice_value(total, frac) == 0
        return
    assert [x + y for x, y in zip(sl.lots, sl.positions_after)] == q
    assert sl.cash_taken + sl.cash_after == cash
    assert sl.value == sl.cash_taken + sum(x * m for x, m in zip(sl.lots, marks))
    assert sl.value == slice_value(total, frac)  # a proportional share of the book's value, rounded up
    assert sl.gross == sum(abs(x) * abs(m) for x, m in zip(sl.lots, marks))
    assert sl.empty == (not any(sl.positions_after) and sl.cash_after == 0)
    if frac == WAD:
        assert sl.empty


def test_fee_split_caps_at_balance():
    assert fee_split(100, 60, 1_000) == (60, 54, 6)
    assert fee_split(100, 1_000, 0) == (100, 100, 0)


def test_bad_inputs_raise_input_errors():
    with pytest.raises(InputError):
        slice_amount(5, 0)
    with pytest.raises(InputError):
        slice_amount(5, WAD + 1)
    with pytest.raises(InputError):
        discount_bps(0, 1, 0, 0, 1)
    with pytest.raises(InputError):
        AuctionParams(start_discount_bps=500, max_discount_bps=100)
    with pytest.raises(InputError):
        take_slice([1, 2], 0, [1], WAD)


ops = st.lists(
    st.tuples(st.sampled_from(["dep", "wd", "ins", "xfer", "fee", "short"]), st.integers(0, 3), st.integers(0, 3),
              st.integers(1, 10**12), st.integers(0, 10_000)),
    max_size=40,
)


@settings(max_examples=300)
@given(ops)
def test_vault_model_accounting_is_exact(seq):
    """tokens in - tokens out == pool + insurance + fees, and balances never exceed the pool."""
    v = VaultModel()
    names = ["a", "b", "c", "d"]
    tokens = 0
    for op, i, j, amount, bps in seq:
        a, b = names[i], names[j]
        if op == "dep":
            v.deposit(a, amount)
            tokens += amount
        elif op == "wd":
            amt = min(amount, v.balance_of(a))
            if amt:
                v.withdraw(a, amt)
                tokens -= amt
        elif op == "ins":
            v.fund_insurance(amount)
            tokens += amount
        elif op == "xfer":
            amt = min(amount, v.balance_of(a))
            v.transfer(a, b, amt)
        elif op == "fee":
            v.collect_fee(a, amount, bps)
        else:
            before = v.balance_of(a)
            split = v.cover_shortfall(a, b if b != a else names[(j + 1) % 4], amount)
            assert split.from_account == min(amount, before)
            assert split.from_account + split.from_insurance + split.socialized + split.uncovered == amount
        assert v.token_balance() == tokens
        total = sum(v.balance_of(x) for x in names)
        assert 0 <= v.pool_units - total < len(names) + 1 or v.pool_shares == 0


def test_model_rejections_match_contract_errors():
    m = ProtocolModel(grace_seconds=100, params=AuctionParams())
    m.post_epoch(1, 1_000)
    m.deposit("a", 500)
    with pytest.raises(Reject, match="Accounts_NoCommitment"):
        m.submit_proof("a", 1, 0, 500, True)
    m.update_commitment("a", 123, 1, 500, True)
    with pytest.raises(Reject, match="Accounts_ProofReplayed"):
        m.update_commitment("a", 123, 1, 500, True)
    with pytest.raises(Reject, match="Liquidation_AccountHealthy"):
        m.start_liquidation("a", 1_050, [1], 0, [10])
    m.post_epoch(2, 1_100)
    assert m.liquidation_reason("a", 1_200) == 0 and m.liquidation_reason("a", 1_201) == 1
    assert m.start_liquidation("a", 1_201, [1], -5, [10]) == 1
    with pytest.raises(Reject, match="Liquidation_AlreadyInLiquidation"):
        m.start_liquidation("a", 1_202, [1], -5, [10])
    m.deposit("bidder", 100)
    # equity at mark 500 + 10 - 5 covers the 2% discount of the gross 10 (floor: 0)
    assert m.bid("a", "bidder", WAD, 10**9, 1_201) == 1 * 10 - 5 - (10 * 200 // 10_000)
    # the emptying fill finished the auction (fee: 10 * 50 bps, rounded up to 1 unit)
    with pytest.raises(Reject, match="Liquidation_NotInLiquidation"):
        m.finish("a")
    assert m.acct("a").commitment == 0
