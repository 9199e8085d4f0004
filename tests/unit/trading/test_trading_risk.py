"""Pre-trade risk (EpochRiskCheck) on the statement's integer figures: hand-computed examples, the
IM boundary to the unit, the bound against every outcome of the trader's orders (brute force with
prover.statement.Epoch.figures), risk-reducing orders, fees, and the wiring into both books."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from _trading_testlib import LISTING, NOW, A, B, Orders
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.trading.book import OrderBook
from offchain.trading.events import Fill, Status
from offchain.trading.orders import OrderKind, Side
from offchain.trading.reference import ReferenceBook
from offchain.trading.risk import EpochRiskCheck
from prover.statement import KIND_IM, Epoch
from zkmargin.errors import InputError

# two instruments (ticks 10 and 5), two scenarios; IM = 1.5 x MM
EPOCH = Epoch.create(1, 15_000, marks=[1000, 500], scenario_pnl=[[100, -150], [-30, 40]], addons=[5, 3])


def fresh(book_cls: Any = OrderBook, fee_bps: int = 0) -> tuple[Any, EpochRiskCheck]:
    book = book_cls(LISTING)
    return book, EpochRiskCheck(book, EPOCH, fee_bps=fee_bps)


def test_hand_computed_rejection_and_the_im_boundary_to_the_unit() -> None:
    # buy 4 lots of instrument 0 at 1010 from flat, no fee:
    #   equity      = b + c + 4 * (1000 - 1010) = b + c - 40
    #   losses      = (-4*100, -4*-150) = (-400, 600) -> worst 600; add-on 4*5 = 20; MM requirement 620
    #   IM excess   = equity * 10000 - 620 * 15000 >= 0  <=>  equity >= 930
    book, risk = fresh()
    risk.set_account(A, q=[0, 0], cash=0, collateral=970)  # equity after the trade 930: exactly IM
    o = Orders()
    assert risk(A, 0, 4, 1010) is None
    fig = risk.figures(A, [(0, 4, 1010)])
    assert (fig.equity, fig.requirement, fig.excess, fig.im_requirement) == (930, 620, 0, 930)
    risk.set_account(A, q=[0, 0], cash=0, collateral=969)
    assert risk(A, 0, 4, 1010) == (
        "initial margin: equity 929 would be below the requirement 930 (IM factor 15000 bps) if this order "
        "and the trader's 0 other resting orders fill at their limit prices")
    r = book.submit(o(A, BUY, 1010, 4), NOW)
    assert r.status == Status.REJECTED and r.reason.startswith("risk: initial margin: equity 929")
    # the same order for 3 lots fits: requirement 3 * 150 + 15 = 465 -> IM 697.5, equity 939
    assert book.submit(o(A, BUY, 1010, 3), NOW).status == Status.RESTING


BUY, SELL = Side.BUY, Side.SELL


def test_a_single_order_from_flat_is_exactly_the_post_trade_statement() -> None:
    """With no other orders, buying at or above the mark: the bound is Epoch.figures(KIND_IM) of the
    post-trade state, the fee (rounded up, plus one unit per possible fill) in the cash."""
    _book, risk = fresh(fee_bps=7)
    for d, p, q0, cash in [(4, 1010, [0, 0], 2000), (-3, 990, [0, 2], -50), (6, 1000, [0, -4], 10)]:
        risk.set_account(A, q=q0, cash=cash, collateral=300)
        fee = -((-abs(d) * p * 7) // 10_000) + abs(d) - 1
        q1 = list(q0)
        q1[0] += d
        post = EPOCH.figures(KIND_IM, q1, cash - d * p - fee, 300)
        fig = risk.figures(A, [(0, d, p)])
        assert (fig.equity, fig.requirement, fig.excess) == (post.equity, post.requirement, post.excess)


def test_all_orders_filling_is_not_the_worst_case() -> None:
    book, risk = fresh()
    o = Orders()
    risk.set_account(A, q=[0, 0], cash=0, collateral=1500)
    # 10 lots cost 1500 * 10 + 50 = 1550 MM, IM 2325: one side alone is too much for 1500
    assert book.submit(o(A, BUY, 1000, 6), NOW).status == Status.RESTING  # 6 lots: IM 1395
    # the sell would bring the "everything fills" state back to flat ...
    all_fill = EPOCH.figures(KIND_IM, [0, 0], 0, 1500)
    assert all_fill.holds
    # ... but the buy alone may fill, and the sell alone too: the box [-6, 6] needs IM 1395 either way,
    # and a sell of 10 would allow -10
    r = book.submit(o(A, SELL, 1000, 10), NOW)
    assert r.status == Status.REJECTED and "trader's 1 other resting orders" in r.reason
    assert book.submit(o(A, SELL, 1000, 6), NOW).status == Status.RESTING


def test_a_risk_reducing_order_passes_below_im() -> None:
    book, risk = fresh()
    o = Orders()
    # long 10 with 1000 of collateral: MM 1550, IM 2325, equity 1000 -> below IM (and MM)
    risk.set_account(A, q=[10, 0], cash=-10_000, collateral=1000)
    assert not EPOCH.figures(KIND_IM, [10, 0], -10_000, 1000).holds
    assert risk(A, 0, -4, 1000) is None  # sells 4 at the mark: requirement falls, equity unchanged
    assert risk(A, 0, -4, 900) is None  # even 100 under the mark: excess -11.9M -> -4.13M
    assert risk(A, 0, -4, 0) is not None  # giving the lots away lowers the excess
    assert risk(A, 0, -12, 1000) is not None  # flips to short: not reducing
    assert risk(A, 0, 1, 1000) is not None
    assert risk(A, 1, -1, 500) is not None  # a new position elsewhere
    risk.set_account(B, q=[0, 0], cash=0, collateral=10**6)
    assert book.submit(o(B, BUY, 1000, 4), NOW).status == Status.RESTING
    r = book.submit(o(A, SELL, 1000, 4, kind=OrderKind.IOC), NOW)
    assert r.filled == 4 and book.position(A, 0) == 6


def test_fills_move_cash_with_fees_rounded_up_and_positions_in_the_book() -> None:
    book, risk = fresh(fee_bps=5)
    o = Orders()
    risk.set_account(A, q=[0, 0], cash=0, collateral=10**6)
    risk.set_account(B, q=[0, 0], cash=100, collateral=10**6)
    book.submit(o(A, SELL, 1010, 3, nonce=1), NOW)
    r = book.submit(o(B, BUY, 1010, 3, nonce=1), NOW)
    assert r.fills == [Fill(0, 1, 0, 1010, 3, A, B, BUY, 0)]
    # notional 3030, fee ceil(3030 * 5 / 10000) = ceil(1.515) = 2 on each side
    assert risk.account(A).cash == 3030 - 2 and risk.account(B).cash == 100 - 3030 - 2
    assert book.positions(A) == [-3, 0] and book.positions(B) == [3, 0]
    assert risk.fee(0) == 0 and risk.fee(1) == 1 and risk.fee(20_000) == 10
    # the next check of B sees its new position and cash
    assert risk.figures(B).equity == 10**6 + 100 - 3030 - 2 + 3 * 1000


def test_an_existing_fill_listener_is_kept() -> None:
    book = OrderBook(LISTING)
    seen: list[Fill] = []
    book.fill_listener = seen.append
    risk = EpochRiskCheck(book, EPOCH)
    risk.set_account(A, q=[0, 0], cash=0, collateral=10**6)
    risk.set_account(B, q=[0, 0], cash=0, collateral=10**6)
    o = Orders()
    book.submit(o(A, SELL, 1000, 2), NOW)
    r = book.submit(o(B, BUY, 1000, 2), NOW)
    assert seen == r.fills and risk.account(B).cash == -2000 and book.risk_check is risk


def test_both_books_are_wired_alike() -> None:
    outcomes = []
    for cls in (OrderBook, ReferenceBook):
        book, risk = fresh(cls, fee_bps=3)
        o = Orders()
        risk.set_account(A, q=[2, 0], cash=-2000, collateral=900)
        risk.set_account(B, q=[0, 0], cash=0, collateral=5000)
        reps = [book.submit(x, NOW) for x in (
            o(A, SELL, 1020, 2), o(B, BUY, 1020, 5), o(B, BUY, 990, 30), o(A, SELL, 0, 1, kind=OrderKind.MARKET),
            o(B, SELL, 1000, 4, kind=OrderKind.IOC), o(A, SELL, 495, 2, instrument=1))]
        outcomes.append((reps, risk.account(A), risk.account(B), book.positions(A), book.positions(B)))
    assert outcomes[0] == outcomes[1]
    assert {r.status for r in outcomes[0][0]} >= {Status.REJECTED, Status.FILLED}


def test_inputs_are_checked() -> None:
    book = OrderBook(LISTING)
    with pytest.raises(InputError, match="fee_bps"):
        EpochRiskCheck(book, EPOCH, fee_bps=10_000)
    with pytest.raises(InputError, match="epoch"):
        EpochRiskCheck(book, Epoch.create(1, 10_000, [1], [[1]], [1]))
    risk = EpochRiskCheck(book, EPOCH)
    with pytest.raises(InputError) as exc:
        risk.set_account(A, q=[1], cash=0, collateral=0)
    assert exc.value.field == "q"
    with pytest.raises(InputError) as exc:
        risk.set_account(A, q=[0, 0], cash=0, collateral=-1)
    assert exc.value.field == "collateral"
    with pytest.raises(InputError, match="trader"):
        risk.figures(B)
    assert risk(B, 0, 1, 1000) == f"{B} has no account state"
    risk.set_account(A, q=[2**63, 0], cash=0, collateral=0)
    assert risk(A, 0, 2**63, 0) == "a position could reach 2^64 lots"
    with pytest.raises(InputError, match="epoch"):
        risk.set_epoch(Epoch.create(2, 10_000, [1], [[1]], [1]))
    risk.set_epoch(Epoch.create(2, 10_000, [1, 1], [[1], [1]], [1, 1]))
    assert risk.epoch.epoch_id == 2


orders_st = st.lists(
    st.tuples(st.integers(0, 1), st.integers(-6, 6).filter(bool), st.integers(0, 12)), min_size=1, max_size=4)


@settings(derandomize=True, deadline=None, max_examples=120)
@given(
    q=st.lists(st.integers(-8, 8), min_size=2, max_size=2),
    cash=st.integers(-20_000, 20_000),
    pnl=st.lists(st.lists(st.integers(-300, 300), min_size=3, max_size=3), min_size=2, max_size=2),
    addons=st.lists(st.integers(0, 40), min_size=2, max_size=2),
    orders=orders_st,
    fee_bps=st.sampled_from((0, 5, 30)),
)
def test_the_bound_is_below_every_outcome(
    q: list[int], cash: int, pnl: list[list[int]], addons: list[int], orders: list[tuple[int, int, int]],
    fee_bps: int,
) -> None:
    """Every combination of none / part / all of each order, at its limit or one tick better, with
    its fee rounded up: Epoch.figures' IM excess is never below the check's bound."""
    epoch = Epoch.create(1, 12_500, [1000, 500], pnl, addons)
    book = OrderBook(LISTING)
    risk = EpochRiskCheck(book, epoch, fee_bps=fee_bps)
    risk.set_account(A, q=q, cash=cash, collateral=50_000)
    priced = [(i, d, (950 + 10 * k) if i == 0 else (470 + 5 * k)) for i, d, k in orders]
    bound = risk.figures(A, priced).excess
    choices = []
    for i, d, p in priced:
        tick = LISTING.instruments[i].tick_size
        better = p - tick if d > 0 else p + tick
        opts = [(0, p), (d, p), (d, better)]
        if abs(d) > 1:
            opts.append((d // 2 if d > 0 else -((-d) // 2), p))
        choices.append([(i, x, price) for x, price in opts])
    for outcome in itertools.product(*choices):
        q1, c1 = list(q), cash
        for i, x, price in outcome:
            q1[i] += x
            c1 -= x * price + risk.fee(abs(x) * price)
        assert epoch.figures(KIND_IM, q1, c1, 50_000).excess >= bound
