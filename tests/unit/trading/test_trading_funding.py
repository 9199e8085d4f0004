"""The integer funding index (offchain/trading/funding.py) and the listing's instrument kinds.

* The integer steps against the float Binance formula of ``offchain.risk.funding`` (itself
  tested against Binance's published examples) and the everlasting ``mark - payoff`` funding.
* Rounding: each step within 1/2 base unit per lot of the exact rational step, so k steps within
  k/2; halves away from zero.
* Zero-sum: accounts trading with each other (every fill zero-sum) and settling at random epochs
  pay and receive exactly the same total, to the base unit; the statement's unsettled funding
  (``prover.statement.Epoch.figures``) is the keeper's ``funding_owed``.
* Bounds and bad input name the field.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
from _trading_testlib import NOW, A, B, C, Orders
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.risk.funding import (
    BinanceFundingConfig,
    binance_average_premium,
    binance_funding_rate,
    binance_impact_price,
    binance_premium_samples,
)
from offchain.risk.instruments import EverlastingOption, Future, Option, Perp
from offchain.trading.book import OrderBook
from offchain.trading.funding import (
    FUNDING_LIMIT,
    RATE_ONE,
    FundingError,
    FundingKeeper,
    FundingParams,
    PerpFundingParams,
    average_premium,
    div_round,
    funding_owed,
    impact_price,
    perp_rate,
    premium_sample,
)
from offchain.trading.listing import ListingSpec, listing_from_instruments, tick_per_unit
from prover.statement import KIND_MM, Epoch
from zkmargin.errors import InputError

#: derandomized (fixed seed), no deadline
FIXED = settings(derandomize=True, deadline=None, max_examples=80)

WEEK = 7 * 86_400
#: perp, dated future, dated option, everlasting call, everlasting put (prices per lot, 6 decimals)
LISTING = ListingSpec.parse({"instruments": [
    {"symbol": "BTC-PERP", "tick_size": 100, "kind": "perp"},
    {"symbol": "BTC-29MAR24", "tick_size": 100, "kind": "future"},
    {"symbol": "BTC-26JAN24-45000-C", "tick_size": 100, "kind": "option"},
    {"symbol": "BTC-EVER-45000-C", "tick_size": 100, "kind": "everlasting", "strike": 45_000_000,
     "option_type": "call", "funding_period_seconds": WEEK},
    {"symbol": "BTC-EVER-40000-P", "tick_size": 100, "kind": "everlasting", "strike": 40_000_000,
     "option_type": "put", "funding_period_seconds": 86_400},
]})
N = LISTING.n


def float_params(p: PerpFundingParams) -> BinanceFundingConfig:
    return BinanceFundingConfig(interest_rate=float(p.interest_rate), clamp=float(p.clamp),
                                interval_hours=p.interval_hours, maintenance_margin_rate=float(p.maintenance_margin_rate),
                                cap_multiplier=float(p.cap_multiplier))


# --------------------------------------------------------------------------- rounding primitives
def test_div_round_halves_away_from_zero() -> None:
    assert [div_round(n, 2) for n in (-5, -4, -3, -1, 0, 1, 3, 5)] == [-3, -2, -2, -1, 0, 1, 2, 3]
    assert [div_round(n, 3) for n in (-5, -4, -2, -1, 1, 2, 4, 5)] == [-2, -1, -1, 0, 0, 1, 1, 2]
    for num in range(-50, 51):
        for den in (1, 2, 3, 7, 10):
            assert abs(Fraction(num, den) - div_round(num, den)) <= Fraction(1, 2)


def test_impact_price_is_the_exact_average_fill() -> None:
    asks = [(100, 10), (101, 10), (103, 100)]
    assert impact_price(asks, 1_500) == Fraction(1_500) / (10 + Fraction(500, 101))
    assert float(impact_price(asks, 1_500)) == pytest.approx(binance_impact_price([(100.0, 10.0), (101.0, 10.0),
                                                                                   (103.0, 100.0)], 1_500.0))
    assert impact_price(asks, 1_000) == 100
    assert impact_price(asks, 10**9) is None


# --------------------------------------------------------------------- the integer vs the float formula
@FIXED
@given(
    index=st.integers(1_000_000, 100_000_000),
    spreads=st.lists(st.tuples(st.integers(-300, 300), st.integers(1, 400)), min_size=1, max_size=40),
    mark_bps=st.integers(-200, 200),
    dt=st.integers(0, 3 * 86_400),
    interval=st.sampled_from([1, 2, 4, 8]),
    mmr=st.sampled_from(["0.004", "0.0065", "0.025"]),
)
def test_perp_step_matches_the_float_formula(index: int, spreads: list[tuple[int, int]], mark_bps: int,
                                             dt: int, interval: int, mmr: str) -> None:
    params = PerpFundingParams(interval_hours=interval, maintenance_margin_rate=mmr)
    listing = ListingSpec.parse({"instruments": [{"symbol": "P", "tick_size": 1, "kind": "perp"}]})
    keeper = FundingKeeper(listing, FundingParams(defaults=params))
    bids, asks, idx = [], [], []
    for centre_bps, half_bps in spreads:
        # impact prices around the index: centre +- half spread (in bps of the index), as fractions
        bid = Fraction(index) * (10_000 + centre_bps - half_bps) / 10_000
        ask = Fraction(index) * (10_000 + centre_bps + half_bps) / 10_000
        keeper.sample_prices([index], [bid], [ask])
        bids.append(float(bid))
        asks.append(float(ask))
        idx.append(float(index))
    mark = index * (10_000 + mark_bps) // 10_000
    step = keeper.advance([mark], [index], dt)
    cfg = float_params(params)
    prem = binance_average_premium(binance_premium_samples(idx, bids, asks))
    rate = binance_funding_rate(prem, cfg)
    want = mark * rate * dt / cfg.interval_seconds
    assert step.premiums[0] is not None and step.rates[0] is not None
    assert abs(step.premiums[0] / RATE_ONE - prem) < 1e-15
    assert abs(step.rates[0] / RATE_ONE - rate) < 1e-15
    assert abs(step.delta[0] - want) <= 0.5 + 1e-9 * abs(want)


def test_clamp_and_cap_in_integers() -> None:
    p = PerpFundingParams()  # I = 0.01%, clamp 0.05%, cap 0.75 * 0.40% = 0.30%
    assert p.cap_wad == 3 * RATE_ONE // 1000
    for prem in (0, 3 * 10**14, -3 * 10**14, 6 * 10**14, -4 * 10**14):
        assert perp_rate(prem, p) == 10**14  # F = I
    assert perp_rate(2 * 10**15, p) == 2 * 10**15 - 5 * 10**14
    assert perp_rate(10**17, p) == p.cap_wad and perp_rate(-10**17, p) == -p.cap_wad
    assert perp_rate(2 * 10**15, PerpFundingParams(interval_hours=4)) == (2 * 10**15 - 5 * 10**14) // 2
    assert average_premium([1, 2, 4]) == div_round(1 + 4 + 12, 6)
    assert premium_sample(100, Fraction(1002, 10), Fraction(1003, 10)) == 2 * 10**15
    assert premium_sample(100, None, Fraction(995, 10)) == -5 * 10**15


def test_every_kind_pays_its_funding() -> None:
    keeper = FundingKeeper(LISTING)
    index = [42_000_000] * N  # 42,000 USD per unit, lot 0.001
    keeper.sample_prices(index, [42_020_000, None, None, None, None], [42_030_000, None, None, None, None])
    marks = [42_030_000, 42_300_000, 700_000, 900_000, 1_500_000]
    step = keeper.advance(marks, index, 3_600)
    # perp: P = 20/42000, F = P + clamp(I - P) = I = 0.01%: 42,030,000 * 0.0001 / 8 = 525.375 -> 525
    assert step.rates[0] == 10**14 and step.delta[0] == 525
    assert step.delta[1] == step.delta[2] == 0  # dated future and option: no funding
    # everlasting call out of the money: (900,000 - 0) * 3600 / 604800 = 5357.14 -> 5357
    assert step.delta[3] == 5357
    # everlasting put out of the money (index 42,000 > strike 40,000): 1,500,000 / 24 = 62,500
    assert step.delta[4] == 62_500
    assert step.index == step.delta and keeper.index == step.index and step.samples == (1, 0, 0, 0, 0)
    # in the money: payoff = strike - index; a mark below it makes the short pay (negative step)
    step2 = keeper.advance(marks[:4] + [1_900_000], [39_000_000] * N, 86_400)
    assert step2.delta[4] == 1_900_000 - 1_000_000
    assert step2.delta[3] == div_round(900_000 * 86_400, WEEK)
    # no sample in the window: the premium is the mark's, (m - I) / I
    assert step2.premiums[0] == premium_sample(39_000_000, 42_030_000, 42_030_000)
    assert step2.index == tuple(a + b for a, b in zip(step.index, step2.delta))


def test_everlasting_step_matches_mark_minus_payoff() -> None:
    from offchain.risk.funding import everlasting_funding

    rng = random.Random(7)
    keeper = FundingKeeper(LISTING)
    for _ in range(200):
        index = rng.randrange(20_000_000, 70_000_000)
        marks = [index, index, 1, rng.randrange(0, 30_000_000), rng.randrange(0, 30_000_000)]
        dt = rng.randrange(0, 200_000)
        step = keeper.advance(marks, [index] * N, dt)
        for i, strike, call, period in ((3, 45_000_000, True, WEEK), (4, 40_000_000, False, 86_400)):
            payoff = max(index - strike, 0) if call else max(strike - index, 0)
            want = float(everlasting_funding(marks[i], payoff, dt, period))
            assert abs(step.delta[i] - want) <= 0.5 + 1e-9 * abs(want)


def test_rounding_bound_over_many_steps() -> None:
    """After k epochs each index is within k/2 of the exact sum of the rational steps."""
    rng = random.Random(11)
    keeper = FundingKeeper(LISTING)
    exact = [Fraction(0)] * N
    k = 500
    for _ in range(k):
        index = rng.randrange(30_000_000, 60_000_000)
        bid = Fraction(index) * rng.randrange(9_990, 10_010) / 10_000
        keeper.sample_prices([index] * N, [bid, None, None, None, None], [bid + 1_000, None, None, None, None])
        marks = [index + rng.randrange(-50_000, 50_000), 0, 0, rng.randrange(0, 2_000_000), rng.randrange(0, 2_000_000)]
        dt = rng.randrange(1, 7_200)
        step = keeper.advance(marks, [index] * N, dt)
        rate = step.rates[0]
        assert rate is not None
        exact[0] += Fraction(marks[0] * rate * dt, RATE_ONE * 8 * 3600)
        exact[3] += Fraction((marks[3] - max(index - 45_000_000, 0)) * dt, WEEK)
        exact[4] += Fraction((marks[4] - max(40_000_000 - index, 0)) * dt, 86_400)
    for i in (0, 3, 4):
        assert abs(keeper.index[i] - exact[i]) <= Fraction(k, 2)
        assert keeper.index[i] != 0
    assert keeper.index[1] == keeper.index[2] == 0


# ---------------------------------------------------------------------------------- zero-sum
@FIXED
@given(seed=st.integers(0, 2**32 - 1))
def test_funding_is_zero_sum_to_the_base_unit(seed: int) -> None:
    rng = random.Random(seed)
    keeper = FundingKeeper(LISTING)
    accounts = 6
    q = [[0] * N for _ in range(accounts)]
    settled = [list(keeper.index) for _ in range(accounts)]
    cash = [0] * accounts
    paid_any = False
    for _ in range(30):
        for _ in range(rng.randrange(0, 6)):  # zero-sum fills between two accounts
            i = rng.randrange(N)
            a, b = rng.sample(range(accounts), 2)
            lots = rng.randrange(1, 50)
            for who, sign in ((a, 1), (b, -1)):  # funding is settled before a position changes
                cash[who] -= funding_owed(q[who], keeper.index, settled[who])
                settled[who] = list(keeper.index)
                q[who][i] += sign * lots
        index = rng.randrange(30_000_000, 60_000_000)
        keeper.sample_prices([index] * N, [index + rng.randrange(-90_000, 90_000), None, None, None, None],
                             [index + rng.randrange(-90_000, 90_000) + 100_000, None, None, None, None])
        keeper.advance([index + rng.randrange(-100_000, 100_000), index, 10, rng.randrange(0, 3_000_000),
                        rng.randrange(0, 3_000_000)], [index] * N, rng.randrange(60, 30_000))
        for who in range(accounts):  # some accounts settle now, others later
            if rng.random() < 0.3:
                owed = funding_owed(q[who], keeper.index, settled[who])
                paid_any = paid_any or owed != 0
                cash[who] -= owed
                settled[who] = list(keeper.index)
    for who in range(accounts):
        cash[who] -= funding_owed(q[who], keeper.index, settled[who])
    assert all(sum(q[w][i] for w in range(accounts)) == 0 for i in range(N))
    assert sum(cash) == 0
    assert paid_any or all(c == 0 for c in cash)


def test_statement_counts_the_keepers_funding() -> None:
    """prover.statement: an account's equity is lowered by exactly funding_owed."""
    keeper = FundingKeeper(LISTING)
    keeper.advance([42_030_000, 1, 1, 900_000, 1_500_000], [42_000_000] * N, 3_600)
    settled = keeper.index
    step = keeper.advance([42_100_000, 1, 1, 950_000, 1_400_000], [42_500_000] * N, 7_200)
    q = [3, -2, 1, -4, 5]
    epoch = Epoch.create(2, 15_000, [42_100_000, 42_000_000, 1, 950_000, 1_400_000], [[0]] * N, [0] * N, step.index)
    fig = epoch.figures(KIND_MM, q, cash=10**9, collateral=0, settled=settled)
    assert fig.unsettled_funding == funding_owed(q, step.index, settled) == sum(a * d for a, d in zip(q, step.delta))


# ------------------------------------------------------------------------------ the order book
def test_sample_reads_the_books_impact_prices() -> None:
    listing = ListingSpec.parse({"instruments": [
        {"symbol": "BTC-PERP", "tick_size": 10, "kind": "perp"},
        {"symbol": "BTC-F", "tick_size": 10, "kind": "future"},
    ]})
    book = OrderBook(listing)
    mk = Orders()
    for trader, side, price, size in ((A, "buy", 41_990_000, 1), (B, "buy", 41_980_000, 5), (C, "sell", 42_050_000, 2),
                                      (C, "sell", 42_060_000, 4), (A, "buy", 41_000_000, 1)):
        assert book.submit(mk(trader, side, price, size), NOW).status.value == "resting"
    notional = 100_000_000  # 100 USD
    params = FundingParams(defaults=PerpFundingParams(impact_notional=notional))
    keeper = FundingKeeper(listing, params)
    got = keeper.sample(book, [42_000_000, 42_000_000])
    bid = impact_price([(41_990_000, 1), (41_980_000, 5)], notional)
    ask = impact_price([(42_050_000, 2), (42_060_000, 4)], notional)
    assert bid == Fraction(notional) / (1 + Fraction(notional - 41_990_000, 41_980_000))
    assert got == [premium_sample(42_000_000, bid, ask), None]
    # impact bid below and impact ask above the index: no premium
    assert got[0] == 0
    # a thin book (IMN beyond its depth): that side adds nothing
    thin = FundingKeeper(listing, FundingParams(defaults=PerpFundingParams(impact_notional=10**15)))
    assert thin.sample(book, [42_100_000, 1]) == [0, None]
    # the ask side 1% below the index: a negative premium from the impact ask only
    assert keeper.sample(book, [42_500_000, 1])[0] == premium_sample(42_500_000, bid, ask) < 0
    assert len(keeper.pending_samples(0)) == 2
    assert keeper.impact_prices(book) == ([bid, None], [ask, None])
    # a keeper restarted from its window's samples goes on exactly
    again = FundingKeeper(listing, params, index=[7, 0], samples=[keeper.pending_samples(0), []])
    keeper2 = FundingKeeper(listing, params, index=[7, 0])
    keeper2.sample_prices([42_000_000, 1], [bid, None], [ask, None])
    keeper2.sample_prices([42_500_000, 1], [bid, None], [ask, None])
    for k in (again, keeper2):
        k.sample(book, [42_300_000, 1])
    assert again.advance([42_000_000, 1], [42_000_000, 1], 3_600) == keeper2.advance([42_000_000, 1], [42_000_000, 1], 3_600)
    for bad, field in (([[1], [2]], "samples[1]"), ([[1]], "samples"), ([["x"], []], "samples[0]")):
        with pytest.raises(FundingError) as err:
            FundingKeeper(listing, params, samples=bad)  # type: ignore[arg-type]
        assert err.value.field == field


# ------------------------------------------------------------------------- bounds and bad input
def test_bounds_and_bad_input_name_the_field() -> None:
    def err(fn: object, *args: object) -> str:
        with pytest.raises(InputError) as exc:
            fn(*args)  # type: ignore[operator]
        return exc.value.field

    near = [FUNDING_LIMIT - 10, 0, 0, 0, 0]
    keeper = FundingKeeper(LISTING, index=near)
    marks = [42_000_000, 1, 1, 1, 1]
    assert err(keeper.advance, marks, [42_000_000] * N, 86_400) == "funding[0]"
    assert keeper.index == tuple(near)  # nothing changed
    assert err(FundingKeeper, LISTING, None, [FUNDING_LIMIT, 0, 0, 0, 0]) == "index[0]"
    assert err(FundingKeeper, LISTING, None, [0, 0]) == "index"
    k = FundingKeeper(LISTING)
    assert err(k.advance, [1 << 64, 1, 1, 1, 1], [1] * N, 1) == "marks[0]"
    assert err(k.advance, [True, 1, 1, 1, 1], [1] * N, 1) == "marks[0]"
    assert err(k.advance, [1] * N, [1, 1, 1, 0, 1], 1) == "index_prices[3]"
    assert err(k.advance, [1] * N, [1] * N, -1) == "elapsed_seconds"
    assert err(k.advance, [1] * 4, [1] * N, 1) == "marks"
    assert err(k.sample_prices, [1] * N, [None] * 3, [None] * N) == "impact_bids"
    old = ListingSpec.parse({"instruments": [{"symbol": "BTC-PERP", "tick_size": 10}]})  # written before kinds
    assert err(FundingKeeper, old) == "listing.instruments[0].kind"
    assert err(FundingKeeper, LISTING, FundingParams(overrides={"NOPE": PerpFundingParams()})) == "funding.overrides.NOPE"
    assert err(FundingKeeper, LISTING, FundingParams(overrides={"BTC-29MAR24": PerpFundingParams()})) == \
        "funding.overrides.BTC-29MAR24"
    assert err(FundingParams.parse, {"defaults": {"clamp": "0.0005", "cap": 1}}) == "funding.defaults.cap"
    assert err(FundingParams.parse, {"defaults": {"interest_rate": "1e-19"}}) == "funding.defaults.interest_rate"
    assert err(FundingParams.parse, {"overrides": {"X": {"interval_hours": 9}}}) == "funding.overrides.X.interval_hours"
    assert isinstance(FundingError("x", "y"), InputError)


# ------------------------------------------------------------------------------- the listing
def test_listing_kinds_keep_old_files_valid_and_check_everlasting_terms() -> None:
    ListingSpec.parse({"instruments": [{"symbol": "BTC-PERP", "tick_size": 1000, "min_size": 1}]})
    spec = LISTING.instruments[3]
    assert spec.pays_funding and LISTING.instruments[0].pays_funding and not LISTING.instruments[1].pays_funding
    for bad, field in (
        ({"symbol": "E", "tick_size": 1, "kind": "everlasting", "strike": 1, "option_type": "call"}, "listing.instruments[0]"),
        ({"symbol": "P", "tick_size": 1, "kind": "perp", "strike": 5}, "listing.instruments[0]"),
        ({"symbol": "P", "tick_size": 1, "kind": "swap"}, "listing.instruments[0].kind"),
    ):
        with pytest.raises(InputError) as exc:
            ListingSpec.parse({"instruments": [bad]}, "listing")
        assert exc.value.field == field
    with pytest.raises(InputError) as exc:
        ListingSpec.parse({"instruments": [{"symbol": "E", "tick_size": 1, "kind": "everlasting", "strike": 1,
                                            "option_type": "call"}]}, "listing")
    assert "funding_period_seconds" in exc.value.problem


def test_listing_from_the_risk_engines_instruments() -> None:
    insts = [
        Perp(symbol="BTC-PERP", underlying="BTC", lot_size=0.001),
        Perp(symbol="ETH-PERP", underlying="ETH", lot_size=0.01),
        Future(symbol="BTC-29MAR24", underlying="BTC", expiry=1711699200, lot_size=0.001),
        Option(symbol="BTC-C", underlying="BTC", expiry=1706256000, strike=45000, option_type="call"),
        EverlastingOption(symbol="BTC-EVER-45000-C", underlying="BTC", strike=45000, option_type="call",
                          funding_period_seconds=WEEK),
        EverlastingOption(symbol="ETH-EVER-2250.5-P", underlying="ETH", strike=2250.5, option_type="put", lot_size=0.01),
    ]
    listing = listing_from_instruments(insts, {"BTC": 42_000.0, "ETH": 2_300.0})
    assert [s.kind for s in listing.instruments] == ["perp", "perp", "future", "option", "everlasting", "everlasting"]
    # BTC: 0.1 USD per unit * 0.001 BTC per lot = 100 base units; ETH: 0.01 USD * 0.01 ETH = 100
    assert [s.tick_size for s in listing.instruments] == [100, 100, 100, 100, 100, 100]
    assert listing.instruments[4].strike == 45_000_000 and listing.instruments[4].funding_period_seconds == WEEK
    assert listing.instruments[5].strike == 22_505_000 and listing.instruments[5].option_type == "put"
    assert listing.instruments[5].funding_period_seconds == 86_400
    assert FundingKeeper(listing).kinds == ("perp", "perp", "future", "option", "everlasting", "everlasting")
    assert [str(tick_per_unit(x)) for x in (42_000.0, 2_300.0, 0.5, 100_000.0)] == ["0.1", "0.01", "0.000001", "1"]
    tiny = listing_from_instruments([Perp(symbol="X", underlying="X", lot_size=0.001)], {"X": 1.0})
    assert tiny.instruments[0].tick_size == 1  # 10^-5 USD * 0.001 = 0.01 base units: at least 1
    with pytest.raises(InputError) as exc:
        listing_from_instruments(insts, {"BTC": 42_000.0})
    assert exc.value.field == "instruments[1].underlying"


def test_keeper_index_enters_the_epoch() -> None:
    """The keeper's index is what build_epoch puts into the digest D."""
    import json
    from pathlib import Path

    from offchain.risk.epoch import build_epoch
    from offchain.risk.market import MarketState

    root = Path(__file__).resolve().parents[3]
    market = MarketState.model_validate(json.loads((root / "examples" / "market.json").read_text()))
    insts = [Perp(symbol="BTC-PERP", underlying="BTC"),
             EverlastingOption(symbol="BTC-EVER-45000-C", underlying="BTC", strike=45000, option_type="call")]
    listing = listing_from_instruments(insts, market.spots)
    first = build_epoch(market, insts, "deribit_pm", epoch_id=1)
    keeper = FundingKeeper(listing)
    keeper.sample_prices([42_000_000, 42_000_000], [42_010_000, None], [42_020_000, None])
    step = keeper.advance(list(first.marks), [42_000_000, 42_000_000], 8 * 3600)
    second = build_epoch(market, insts, "deribit_pm", epoch_id=2, funding=step.index)
    assert second.statement().fund == step.index and all(f > 0 for f in step.index)
    assert np.all(np.array(step.delta) == np.array(step.index))
