"""The funding keeper's window in the operator database: premium samples and index steps that
survive a restart.

:func:`record_samples` takes one sampling round: for every perpetual the impact bid and ask of
the book for its impact notional and the premium against the oracle's index, exactly as
:meth:`offchain.trading.funding.FundingKeeper.sample` computes them, written to
``funding_samples`` in one transaction.

:func:`take_step` advances the index for a new epoch. It starts from the funding index of the
latest epoch the database holds (``base``), takes every sample no step has used, in the order
they were taken, over the window since the previous step (the first step: since its first
sample), runs :meth:`~offchain.trading.funding.FundingKeeper.advance` and records the step with
its samples marked used. A step taken from ``base`` that no epoch carried yet (the process died
before the epoch was posted, or the caller takes the step again) is superseded first and its
samples released, so taking a step is idempotent until an epoch carries it. A process that
stops and restarts anywhere between samples gives the same index as one that never stopped.
"""

from __future__ import annotations

from collections.abc import Sequence

from offchain.operator.store import NewFundingSample, OperatorStore
from offchain.trading.book import OrderBook
from offchain.trading.funding import FundingError, FundingKeeper, FundingParams, FundingStep
from offchain.trading.listing import ListingSpec


def record_samples(store: OperatorStore, book: OrderBook, listing: ListingSpec, params: FundingParams,
                   index_prices: Sequence[int], now: int) -> list[int | None]:
    """Record one premium sample per perpetual of ``book`` at ``now`` (unix seconds) against the
    oracle's ``index_prices`` (base units per lot, one per instrument); returns the premiums in
    ``10^-18`` (None for the instruments that take no sample)."""
    keeper = FundingKeeper(listing, params)
    bids, asks = keeper.impact_prices(book)
    premiums = keeper.sample_prices(index_prices, bids, asks)
    rows: list[NewFundingSample] = [(i, bids[i], asks[i], int(index_prices[i]), p)
                                    for i, p in enumerate(premiums) if p is not None]
    if rows:
        store.add_funding_samples(now, rows)
    return premiums


def take_step(store: OperatorStore, listing: ListingSpec, params: FundingParams, marks: Sequence[int],
              index_prices: Sequence[int], now: int) -> FundingStep:
    """The next cumulative index (see the module docstring); ``marks`` and ``index_prices`` per
    lot as :meth:`FundingKeeper.advance` takes them."""
    base = store.latest_epoch()
    base_id = 0 if base is None else base.epoch_id
    start = list(base.fund) if base is not None else [0] * listing.n
    if len(start) != listing.n:
        raise FundingError("funding", f"epoch {base_id} has {len(start)} instruments, the listing {listing.n}")
    store.reopen_funding_steps(base_id)
    samples = store.funding_samples(unused=True)
    windows: list[list[int]] = [[] for _ in range(listing.n)]
    for s in samples:
        if not 0 <= s.instrument < listing.n:
            raise FundingError(f"funding_samples[{s.id}].instrument", f"{s.instrument} is not listed")
        windows[s.instrument].append(s.premium)
    taken = store.funding_steps(taken=True)
    since = taken[-1].at if taken else (samples[0].at if samples else now)
    if now < since:
        raise FundingError("now", f"{now} is before the start of the funding window ({since})")
    step = FundingKeeper(listing, params, index=start, samples=windows).advance(marks, index_prices, now - since)
    store.record_funding_step(base_id, now, now - since, start, step.index, step.delta, [s.id for s in samples])
    return step
