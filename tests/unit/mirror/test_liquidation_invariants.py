"""The liquidation invariants of issue 10, on the Python mirror, over seeded random books:

* splitting a liquidation into fills never changes what the account, the insurance fund and the
  bidders get in total by more than one unit per fill, and only in the protocol's favour;
* liquidating an account whose equity at mark is non-negative never draws on the insurance fund
  (not even for one fill: no fill takes the debt without the assets);
* an auction's discounts never exceed the account's equity at mark;
* the attack of the issue (a fill of 1e18 - 1 on a one-lot book that takes only the cash debt,
  then the lot alone) leaves the pair of attackers with nothing and the fund untouched.

The same formulas run on the contracts (golden vectors, tests/devnet/test_vectors_replay.py) and
the same model drives the on-chain invariant sequences (tests/devnet/test_invariants.py).
"""

from __future__ import annotations

import random

import pytest

from offchain.mirror.auction import WAD, AuctionParams
from offchain.mirror.model import ProtocolModel, Reject

PARAMS = AuctionParams(start_discount_bps=200, max_discount_bps=2_000, duration_seconds=3_600,
                       liquidation_fee_bps=50, protocol_fee_share_bps=1_000)
SEEDS = range(400)


def _world(rng: random.Random, balance: int, q: list[int], cash: int, marks: list[int]) -> ProtocolModel:
    m = ProtocolModel(grace_seconds=100, params=PARAMS)
    m.post_epoch(1, 1_000)
    m.deposit("acct", balance) if balance else None
    m.update_commitment("acct", 7, 1, balance, True)
    for b in ("b1", "b2", "b3"):
        m.deposit(b, 10**15)
    m.vault.fund_insurance(10**12)
    m.post_epoch(2, 2_000)
    m.start_liquidation("acct", 2_101, q, cash, marks)
    return m


def _random_book(rng: random.Random) -> tuple[int, list[int], int, list[int]]:
    n = rng.randrange(1, 5)
    marks = [rng.choice([rng.randrange(1, 10**8), -rng.randrange(1, 10**7)]) for _ in range(n)]
    q = [rng.choice([0, rng.randrange(-200, 201), rng.randrange(-5, 6)]) for _ in range(n)]
    if not any(q):
        q[0] = rng.choice([1, -1, 3])
    value = sum(x * y for x, y in zip(q, marks))
    cash = -value + rng.randrange(-3 * 10**8, 3 * 10**8)  # near-flat books, both signs of equity
    balance = rng.choice([0, rng.randrange(1, 10**9), rng.randrange(1, 10**6)])
    return balance, q, cash, marks


def _totals(m: ProtocolModel) -> tuple[int, int, int]:
    bidders = sum(m.vault.balance_of(b) for b in ("b1", "b2", "b3"))
    return m.vault.balance_of("acct"), m.vault.insurance, bidders


@pytest.mark.parametrize("seed", SEEDS)
def test_splitting_fills_moves_at_most_one_unit_per_fill_in_the_protocols_favour(seed: int) -> None:
    rng = random.Random(seed)
    balance, q, cash, marks = _random_book(rng)
    now = 2_101 + rng.choice([0, 60, 1_800, 7_200])
    one = _world(rng, balance, q, cash, marks)
    one.bid("acct", "b1", WAD, 2**255, now)
    assert "acct" not in one.auctions
    split = _world(rng, balance, q, cash, marks)
    fills = 0
    while "acct" in split.auctions:
        frac = WAD if fills >= 6 else rng.choice([WAD // 2, WAD // 3, WAD - 1, 1, rng.randrange(1, WAD)])
        try:
            split.bid("acct", rng.choice(["b1", "b2", "b3"]), frac, 2**255, now)
        except Reject as rej:  # a fill that takes nothing: take the rest
            assert rej.error == "Liquidation_EmptyFill"
            split.bid("acct", "b1", WAD, 2**255, now)
        fills += 1
    acct1, fund1, bidders1 = _totals(one)
    acct2, fund2, bidders2 = _totals(split)
    protocol1, protocol2 = fund1 + one.vault.fees, fund2 + split.vault.fees
    # the bidders never get more, and at most one unit per fill less (discounts round down)
    assert bidders1 - fills <= bidders2 <= bidders1
    # the insurance fund and the protocol fees never lose; fees round up by under a unit per fill
    assert protocol1 <= protocol2 <= protocol1 + fills
    # the account: within one unit per fill either way (its discount rounds down, its fee up)
    assert abs(acct2 - acct1) <= fills
    assert acct1 + protocol1 + bidders1 == acct2 + protocol2 + bidders2  # nothing created or lost


@pytest.mark.parametrize("seed", SEEDS)
def test_a_solvent_account_never_draws_on_the_insurance_fund(seed: int) -> None:
    rng = random.Random(10_000 + seed)
    balance, q, cash, marks = _random_book(rng)
    m = _world(rng, balance, q, cash, marks)
    au = m.auctions["acct"]
    fund0 = m.vault.insurance
    now = 2_101
    for k in range(8):
        now += rng.choice([0, 30, 900])
        frac = WAD if k == 7 else rng.choice([WAD, WAD // 2, WAD - 1, rng.randrange(1, WAD)])
        try:
            m.bid("acct", rng.choice(["b1", "b2"]), frac, 2**255, now)
        except Reject as rej:
            assert rej.error == "Liquidation_EmptyFill"
            continue
        if au.equity_at_start >= 0:
            assert m.vault.insurance >= fund0, "a solvent account's fill drew on the fund"
            assert au.shortfall == 0
        if "acct" not in m.auctions:
            break
    if au.equity_at_start >= 0:
        assert m.vault.insurance >= fund0  # only fees flow in


def test_the_issue_attack_leaves_the_pair_with_nothing_and_the_fund_untouched() -> None:
    # one lot worth 30 USD against 24.9 USD of cash debt and a 5 USD stake (6-decimals units)
    q, cash, marks, stake = [1], -24_900_000, [30_000_000], 5_000_000
    m = _world(random.Random(0), stake, q, cash, marks)
    fund0, bidder0 = m.vault.insurance, m.vault.balance_of("b1")
    acct_equity = stake + cash + q[0] * marks[0]
    m.bid("acct", "b1", WAD - 1, 2**255, 2_101)  # the "debt only" fill
    assert m.vault.insurance == fund0
    m.bid("acct", "b1", WAD, 2**255, 2_101)  # then the lot
    assert "acct" not in m.auctions and m.vault.insurance >= fund0
    pair = (m.vault.balance_of("b1") - bidder0) + m.vault.balance_of("acct")
    # the pair (bidder + account owner) ends with at most the account's own equity at mark
    assert pair <= acct_equity
