"""The funding keeper's window in the operator database: the exchange's premium samples are the
keeper's, a step is the keeper's step over the samples since the previous one, and a process
killed and restarted between samples (or between a step and the epoch that carries it) gives the
same index as one that never stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from _exchange_testlib import LISTING, NOW, Signer, World, exchange
from _operator_fakes import epoch

from offchain.operator import Exchange
from offchain.trading.funding import FundingKeeper, FundingParams, FundingStep
from offchain.trading.listing import ListingSpec
from zkmargin.errors import InputError

PARAMS = FundingParams.parse({"defaults": {"impact_notional": 100_000_000}})  # 100 USD: a few lots
MARKS = [30_004_000, 19_998_000]
#: (seconds after NOW, index prices per lot) of each sampling round
ROUNDS = [(10 * k, [30_000_000 - 2_000 * k, 20_000_000 + 1_000 * k]) for k in range(1, 7)]


def _quotes(ex: Exchange, signer: Signer) -> None:
    for who, inst, side, price, size in ((0, 0, "buy", 29_998_000, 2), (0, 0, "buy", 29_990_000, 5),
                                         (1, 0, "sell", 30_010_000, 1), (1, 0, "sell", 30_020_000, 6),
                                         (2, 1, "buy", 19_995_000, 8), (3, 1, "sell", 20_001_000, 8)):
        ex.place(*signer(who, side, price, size, instrument=inst), NOW)


def _trade(ex: Exchange, signer: Signer, k: int) -> None:
    """Between rounds the book moves: a taker eats into a side."""
    side, inst, price = (("sell", 0, 29_990_000), ("buy", 1, 20_001_000), ("buy", 0, 30_020_000))[k % 3]
    ex.place(*signer(2 + k % 2, side, price, 1, instrument=inst, kind="ioc"), NOW + 10 * k + 5)


def _run(tmp: Path, kill_after: int | None, keeper: FundingKeeper | None = None) -> tuple[FundingStep, Exchange]:
    world = World()
    signer = Signer()
    ex = exchange(tmp, world, funding=PARAMS)
    _quotes(ex, signer)
    for k, (dt, index) in enumerate(ROUNDS, start=1):
        if keeper is not None:
            keeper.sample(ex.book, index)
        got = ex.sample_funding(index, NOW + dt)
        if keeper is not None:
            assert got == list(keeper.pending_samples(0)[-1:] + keeper.pending_samples(1)[-1:])
        _trade(ex, signer, k)
        if k == kill_after:  # the process dies; a new one starts from the database
            ex.store.close()
            ex = exchange(tmp, world, now=NOW + dt + 6)
    return ex.funding_step(MARKS, ROUNDS[-1][1], NOW + 100), ex


def test_a_restarted_keeper_gives_the_same_index_as_one_that_never_stopped(tmp_path: Path) -> None:
    keeper = FundingKeeper(LISTING, PARAMS)
    straight, ex = _run(tmp_path / "a.sqlite", None, keeper)
    assert straight == keeper.advance(MARKS, ROUNDS[-1][1], 100 - 10)  # the first window starts at its first sample
    assert straight.samples == (6, 6) and straight.delta != (0, 0)
    for kill in (1, 3, 6):
        again, _ = _run(tmp_path / f"kill{kill}.sqlite", kill)
        assert again == straight, kill
    samples = ex.store.funding_samples()
    assert len(samples) == 12 and {s.step_id for s in samples} == {1}
    assert samples[0].impact_bid is not None and samples[0].index_price == ROUNDS[0][1][0]

    # taken again before an epoch carries it (the keeper died before posting): the same step
    assert ex.funding_step(MARKS, ROUNDS[-1][1], NOW + 100) == straight
    assert [s.status for s in ex.store.funding_steps()] == ["superseded", "taken"]

    # the epoch carrying it is posted; the next window starts at the step and from its index
    world = World(epoch=epoch(2, funding=straight.index))
    ex.store.close()
    ex = exchange(tmp_path / "a.sqlite", world, now=NOW + 101)
    follow = FundingKeeper(LISTING, PARAMS, index=straight.index)
    for dt in (120, 150):
        follow.sample(ex.book, ROUNDS[0][1])
        ex.sample_funding(ROUNDS[0][1], NOW + dt)
    step = ex.funding_step(MARKS, ROUNDS[0][1], NOW + 160)
    assert step == follow.advance(MARKS, ROUNDS[0][1], 60) and step.elapsed_seconds == 60
    assert [s.base_epoch for s in ex.store.funding_steps(taken=True)] == [1, 2]


def test_a_step_without_samples_and_bad_input(tmp_path: Path) -> None:
    world = World(epoch=None)
    ex = exchange(tmp_path / "op.sqlite", world, funding=PARAMS)
    empty = ex.funding_step(MARKS, [30_000_000, 20_000_000], NOW)
    assert empty.index == (0, 0) and empty.elapsed_seconds == 0 and empty.samples == (0, 0)
    later = ex.funding_step(MARKS, [30_000_000, 20_000_000], NOW)  # no epoch carried it: taken again
    assert later == empty and len(ex.store.funding_steps(taken=True)) == 1
    with pytest.raises(InputError) as err:
        ex.sample_funding([30_000_000, 0], NOW)
    assert err.value.field == "index_prices[1]" and ex.store.funding_samples() == []
    assert ex.sample_funding([30_000_000, 20_000_000], NOW + 5) == [0, 0]  # an empty book: no premium
    with pytest.raises(InputError) as err:
        ex.funding_step(MARKS, [30_000_000, 20_000_000], NOW)  # the window cannot end before it starts
    assert err.value.field == "now"
    ex.store.close()
    with pytest.raises(InputError) as err:
        exchange(tmp_path / "op.sqlite", world, funding=FundingParams.parse({"defaults": {"impact_notional": 1}}))
    assert err.value.field == "funding_params"
    other = ListingSpec.parse({"instruments": [{"symbol": "BTC-PERP", "tick_size": 10, "kind": "perp"}]})
    with pytest.raises(InputError) as err:
        exchange(tmp_path / "op.sqlite", world, listing=other)
    assert err.value.field == "listing"
    ex = exchange(tmp_path / "op.sqlite", world)  # the recorded parameters are the default on a restart
    assert ex.funding_params == PARAMS
