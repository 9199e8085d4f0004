"""The leveraged trader population and its accounts under each margin model.

:func:`draw_traders` draws the traders once per seed (collateral, desired leverage, which
assets, long or short, wallet reserve) so that every margin model faces the *same* traders.
:func:`open_accounts` then opens their accounts under one policy per group of traders:

* a cross-style policy gives each trader one account holding all their positions;
* an isolated policy gives each position its own account, with the trader's collateral and
  wallet split in proportion to the position's share of the desired notional;
* the desired position ``q* = desired_notional / P0`` is scaled down to the largest
  ``s q*`` (``0 <= s <= 1``) whose initial margin fits the collateral,
  ``IM(s q*) <= collateral``: ``s = min(1, collateral / IM(q*))`` for requirements that are
  homogeneous of degree one, refined by bisection where they are not (tiered brackets,
  size-dependent rates, the liquidity add-on).

The account's cash is ``collateral - q . P0`` (entry prices live in the cash, see
``docs/ARCHITECTURE.md``) and the market makers take the other side of every position.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offchain.sim.policies import MarginPolicy
from offchain.sim.scenario import TraderSpec

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: Bisection steps when the initial margin is not homogeneous in the position size.
SIZING_BISECTION_STEPS = 60
#: Relative tolerance for "the initial margin uses all the collateral".
SIZING_RTOL = 1e-12


@dataclass(frozen=True)
class Traders:
    """Trader-level draws shared by every model: USD amounts, ``desired`` is ``(n, A)`` signed USD."""

    collateral: FloatArray
    wallet: FloatArray
    desired: FloatArray

    @property
    def n(self) -> int:
        return int(self.collateral.size)


@dataclass
class Accounts:
    """Margin accounts (the simulator's state for traders); ``groups`` are contiguous slices."""

    q: FloatArray  # (M, A) units
    cash: FloatArray  # (M,) USD
    wallet: FloatArray  # (M,) USD not yet posted
    owner: IntArray  # (M,) trader index
    groups: list[tuple[MarginPolicy, slice]]

    @property
    def m(self) -> int:
        return int(self.cash.size)

    def copy(self) -> Accounts:
        """An independent copy (arrays and the policies' own state), e.g. to run twice from one start."""
        return Accounts(
            q=self.q.copy(),
            cash=self.cash.copy(),
            wallet=self.wallet.copy(),
            owner=self.owner.copy(),
            groups=[(copy.deepcopy(p), sl) for p, sl in self.groups],
        )


def _lognormal(
    rng: np.random.Generator, n: int, median: float, sigma: float, cap: float | None
) -> FloatArray:
    out = median * np.exp(sigma * rng.standard_normal(n))
    return np.asarray(np.minimum(out, cap) if cap is not None else out)


def draw_traders(spec: TraderSpec, assets: Sequence[str], seed_seq: np.random.SeedSequence) -> Traders:
    """Draw the population from ``spec`` with ``seed_seq`` (a child of the run's root seed)."""
    rng = np.random.default_rng(seed_seq)
    n, n_assets = spec.n, len(assets)
    collateral = _lognormal(
        rng, n, spec.collateral_usd.median, spec.collateral_usd.sigma_log, spec.collateral_usd.max
    )
    leverage = _lognormal(rng, n, spec.leverage.median, spec.leverage.sigma_log, spec.leverage.max)
    weights = np.array([float((spec.asset_weights or {}).get(a, 1.0)) for a in assets])
    if spec.asset_weights is None:
        weights = np.ones(n_assets)
    weights = weights / weights.sum()
    main_asset = rng.choice(n_assets, size=n, p=weights)
    multi = rng.random(n) < spec.multi_asset_fraction if n_assets > 1 else np.zeros(n, dtype=bool)
    long_ = rng.random((n, n_assets)) < spec.long_fraction
    sign = np.where(long_, 1.0, -1.0)
    share = np.zeros((n, n_assets))
    share[np.arange(n), main_asset] = 1.0
    share[multi] = weights  # multi-asset traders spread their notional by the asset weights
    desired = (collateral * leverage)[:, None] * share * sign
    wallet = spec.wallet_reserve_fraction * collateral * rng.exponential(1.0, n)
    return Traders(collateral=collateral, wallet=wallet, desired=desired)


def size_positions(
    policy: MarginPolicy, q_star: FloatArray, collateral: FloatArray, prices: FloatArray
) -> FloatArray:
    """Largest ``s q*`` (``0 <= s <= 1`` per row) with ``IM(s q*) <= collateral``.

    ``s0 = min(1, collateral / IM(q*))`` is exact for requirements homogeneous of degree one;
    where ``IM(s0 q*)`` misses the collateral (tiered brackets, size-dependent rates, the
    liquidity add-on) the row is refined by bisection between ``s0`` and 0 or 1.
    """
    _, im = policy.requirements(q_star, prices)
    s = np.ones(q_star.shape[0])
    pos = im > 0
    s[pos] = np.minimum(1.0, collateral[pos] / im[pos])
    _, im_s = policy.requirements(s[:, None] * q_star, prices)
    off = (s < 1.0) & ~np.isclose(im_s, collateral, rtol=SIZING_RTOL, atol=0.0)
    if np.any(off):
        over = im_s[off] > collateral[off]
        lo = np.where(over, 0.0, s[off])
        hi = np.where(over, s[off], 1.0)
        qo, co = q_star[off], collateral[off]
        for _ in range(SIZING_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            _, im_mid = policy.requirements(mid[:, None] * qo, prices)
            fits = im_mid <= co
            lo = np.where(fits, mid, lo)
            hi = np.where(fits, hi, mid)
        s[off] = lo
    return np.asarray(s[:, None] * q_star)


def open_accounts(
    traders: Traders, assignment: Sequence[tuple[MarginPolicy, IntArray]], prices0: FloatArray
) -> Accounts:
    """Open accounts for each ``(policy, trader indices)`` group, in that order (contiguous)."""
    qs, cash, wallet, owner, groups = [], [], [], [], []
    start = 0
    for policy, idx in assignment:
        idx = np.asarray(idx, dtype=np.int64)
        desired = traders.desired[idx]
        coll = traders.collateral[idx]
        wal = traders.wallet[idx]
        if policy.isolated:
            rows, cols = np.nonzero(desired)
            gross = np.abs(desired).sum(axis=1)
            frac = np.abs(desired[rows, cols]) / gross[rows]
            d = np.zeros((rows.size, desired.shape[1]))
            d[np.arange(rows.size), cols] = desired[rows, cols]
            desired, coll, wal, own = d, coll[rows] * frac, wal[rows] * frac, idx[rows]
        else:
            own = idx
        policy.reset(prices0)
        q = size_positions(policy, desired / prices0, coll, prices0)
        qs.append(q)
        cash.append(coll - q @ prices0)
        wallet.append(wal)
        owner.append(own)
        groups.append((policy, slice(start, start + q.shape[0])))
        start += q.shape[0]
    return Accounts(
        q=np.asfortranarray(np.vstack(qs)),  # column per asset: fast per-asset arithmetic
        cash=np.concatenate(cash),
        wallet=np.concatenate(wallet),
        owner=np.concatenate(owner),
        groups=groups,
    )
