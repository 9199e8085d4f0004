"""The vectorized step loop of the agent-based liquidation-cascade simulator.

Agents and ledgers (USD cash and units of each asset; every transfer is between two of them,
so cash and positions are conserved exactly, which the tests check):

* **traders' accounts** (``Accounts``): positions ``q``, cash ``c`` (holding the entry
  price), a wallet reserve; equity ``E = c + q . P`` at the venue price ``P``.
* **margin policies** (:mod:`offchain.sim.policies`): MM and IM of every account each step;
  stateful ones (EWMA, VaR history) get the venue close at every simulated day end.
* **market makers**: the linear depth curve of :mod:`offchain.sim.liquidity`; they take the
  other side of every trade on the venue and hold the inventory.
* **liquidators** (capital, latency): an account with ``E < MM`` first seen at step ``f``
  can be taken by a liquidator with latency ``L`` from step ``f + L``; faster liquidators
  pick first, oldest flags first, up to their cash. The liquidator buys the fraction ``phi``
  of every position at the mark less the auction ``discount``, the account pays the ``fee``
  (on the notional ``phi N``, ``N = sum_a |q_a| P_a``) to the insurance fund, and the
  liquidator sells the inventory into the book in the same step.
  ``phi = (R - E) / (R - N (discount + fee))`` restores ``E >= R`` (``R`` = IM or MM, the
  scenario's ``target``, times ``1 + target_buffer``) for requirements homogeneous in ``q``;
  ``phi = 1`` (close-out) when ``E <= N (discount + fee)``.
* **insurance fund**: receives fees, pays the shortfall ``-E`` of closed-out accounts
  (bad debt); what it cannot pay is socialised pro rata to the accounts with positive equity.
* **arbitrageurs**: buy (sell) on the venue when it is below (above) the exogenous price and
  trade the other way on the external market at the exogenous price.
* **external market**: the rest of the world, trading at the exogenous price.

The venue price is ``P_t = X_t exp(i_t)``: the exogenous path ``X`` times the impact factor
of liquidation sales and arbitrage. With ``impact=False`` liquidations fill at the venue
price without moving it (``i_t = 0``): the same seeded path without the cascade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offchain.sim.liquidity import arbitrage_quantity, depth_at_vol, trade_through_book
from offchain.sim.population import Accounts

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
NOT_FLAGGED = -1


@dataclass(frozen=True)
class EngineConfig:
    """Numbers of one run, resolved from the scenario (per-asset arrays are ``(A,)``)."""

    dt_days: float
    steps_per_day: int
    depth_usd_per_pct: FloatArray
    depth_vol_elasticity: float
    reference_vol_daily: FloatArray
    market_ewma_lambda_daily: float
    max_move: float
    arb_recovery: float
    arb_capacity_usd: float
    liquidator_latency: IntArray
    liquidator_capital: FloatArray
    discount: float
    fee: float
    target_im: bool
    target_buffer: float
    insurance_fund_usd: float
    topup_probability: float
    market_maker_capital_usd: float
    impact: bool = True


@dataclass
class Ledgers:
    """Everything that is not a trader's account."""

    liq_q: FloatArray  # (K, A)
    liq_cash: FloatArray  # (K,)
    mm_q: FloatArray  # (A,)
    mm_cash: float
    arb_cash: float
    ext_q: FloatArray  # (A,)
    ext_cash: float
    insurance: float


@dataclass
class Series:
    """Per-step time series (index 0 is the initial state)."""

    price: FloatArray  # (T+1, A) venue price at the end of the step
    exo: FloatArray  # (T+1, A) exogenous price
    depth: FloatArray  # (T+1, A)
    liq_volume: FloatArray  # (T+1,) USD notional liquidated in the step
    liq_count: IntArray  # (T+1,)
    insurance: FloatArray  # (T+1,)
    bad_debt: FloatArray  # (T+1,) cumulative shortfall of closed-out accounts
    socialized: FloatArray  # (T+1,) cumulative loss beyond the insurance fund
    open_interest: FloatArray  # (T+1,) USD gross notional of traders
    topups: FloatArray  # (T+1,) USD posted from wallets in the step
    margin_rate: FloatArray  # (T+1,) sum of MM / gross notional of traders, before liquidations


@dataclass
class PerAccount:
    """Totals per account over the run (for per-model breakdowns of a mixed venue)."""

    liq_volume: FloatArray  # (M,) USD notional liquidated
    liquidations: IntArray  # (M,) number of (partial) liquidations
    bad_debt: FloatArray  # (M,) USD shortfall at close-out


@dataclass
class RunResult:
    """The final state and series of one run."""

    accounts: Accounts
    ledgers: Ledgers
    series: Series
    initial_cash_total: float
    per_account: PerAccount

    def cash_total(self) -> float:
        """Sum of all USD cash in the system (conserved)."""
        lg = self.ledgers
        return float(
            self.accounts.cash.sum()
            + self.accounts.wallet.sum()
            + lg.liq_cash.sum()
            + lg.mm_cash
            + lg.arb_cash
            + lg.ext_cash
            + lg.insurance
        )

    def position_totals(self) -> FloatArray:
        """Net units of each asset over all ledgers (conserved at zero)."""
        lg = self.ledgers
        return np.asarray(self.accounts.q.sum(axis=0) + lg.liq_q.sum(axis=0) + lg.mm_q + lg.ext_q)


def initial_ledgers(cfg: EngineConfig, accounts: Accounts, prices0: FloatArray) -> Ledgers:
    """Market makers hold the other side of the traders' opening trades."""
    n_assets = prices0.size
    net = accounts.q.sum(axis=0)
    return Ledgers(
        liq_q=np.zeros((cfg.liquidator_latency.size, n_assets)),
        liq_cash=cfg.liquidator_capital.astype(np.float64).copy(),
        mm_q=-net,
        mm_cash=cfg.market_maker_capital_usd + float(net @ prices0),
        arb_cash=0.0,
        ext_q=np.zeros(n_assets),
        ext_cash=0.0,
        insurance=cfg.insurance_fund_usd,
    )


def _rate(requirement: float, notional: float) -> float:
    """Aggregate margin rate (0 when nothing is open)."""
    return requirement / notional if notional > 0.0 else 0.0


def liquidation_fraction(
    equity: FloatArray, requirement: FloatArray, notional: FloatArray, discount: float, fee: float
) -> FloatArray:
    """``phi = (R - E) / (R - N (discount + fee))`` clipped to ``(0, 1]``; 1 when not restorable."""
    need = requirement - equity
    den = requirement - notional * (discount + fee)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(den > need, need / np.where(den > need, den, 1.0), 1.0)
    return np.clip(phi, 0.0, 1.0)


def run(
    cfg: EngineConfig,
    accounts: Accounts,
    exo_prices: FloatArray,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run the simulation over ``exo_prices`` (``(T+1, A)``); mutates and returns ``accounts``."""
    n_steps = exo_prices.shape[0] - 1
    n_assets = exo_prices.shape[1]
    q, cash, wallet = accounts.q, accounts.cash, accounts.wallet
    m = accounts.m
    ledgers = initial_ledgers(cfg, accounts, exo_prices[0])
    init_total = float(
        cash.sum() + wallet.sum() + ledgers.liq_cash.sum() + ledgers.mm_cash + ledgers.insurance
    )
    for policy, _ in accounts.groups:
        policy.reset(exo_prices[0])

    ser = Series(
        price=np.empty((n_steps + 1, n_assets)),
        exo=exo_prices.copy(),
        depth=np.empty((n_steps + 1, n_assets)),
        liq_volume=np.zeros(n_steps + 1),
        liq_count=np.zeros(n_steps + 1, dtype=np.int64),
        insurance=np.empty(n_steps + 1),
        bad_debt=np.zeros(n_steps + 1),
        socialized=np.zeros(n_steps + 1),
        open_interest=np.empty(n_steps + 1),
        topups=np.zeros(n_steps + 1),
        margin_rate=np.zeros(n_steps + 1),
    )
    ser.price[0] = exo_prices[0]
    ser.depth[0] = cfg.depth_usd_per_pct
    ser.insurance[0] = ledgers.insurance
    ser.open_interest[0] = float(np.abs(q).sum(axis=0) @ exo_prices[0])

    lat_order = np.argsort(cfg.liquidator_latency, kind="stable")
    flag = np.full(m, NOT_FLAGGED, dtype=np.int64)
    flagged = np.empty(0, dtype=np.int64)
    per = PerAccount(np.zeros(m), np.zeros(m, dtype=np.int64), np.zeros(m))
    abs_q_total = np.abs(q).sum(axis=0)  # gross units per asset, refreshed after liquidations
    mm_req = np.empty(m)
    im_req = np.empty(m)
    for policy, sl in accounts.groups:
        mm_req[sl], im_req[sl] = policy.requirements(q[sl], exo_prices[0])
    ser.margin_rate[0] = _rate(float(mm_req.sum()), float(abs_q_total @ exo_prices[0]))
    log_impact = np.zeros(n_assets)
    market_var = cfg.reference_vol_daily**2
    decay = cfg.market_ewma_lambda_daily**cfg.dt_days
    prev_price = exo_prices[0].copy()
    bad_debt_total = 0.0
    socialized_total = 0.0

    for t in range(1, n_steps + 1):
        exo = exo_prices[t]
        price = exo * np.exp(log_impact) if cfg.impact else exo.copy()
        ret = np.log(price / prev_price)
        market_var = decay * market_var + (1.0 - decay) * ret * ret / cfg.dt_days
        depth = depth_at_vol(
            cfg.depth_usd_per_pct, np.sqrt(market_var), cfg.reference_vol_daily, cfg.depth_vol_elasticity
        )

        day_end = t % cfg.steps_per_day == 0
        equity = cash + q @ price
        for policy, sl in accounts.groups:
            if day_end:
                policy.observe_close(price)
            mm_req[sl], im_req[sl] = policy.requirements(q[sl], price)
        ser.margin_rate[t] = _rate(float(mm_req.sum()), float(abs_q_total @ price))

        # traders answer margin calls from their wallets
        if cfg.topup_probability > 0.0:
            called = np.flatnonzero(equity < im_req)
            called = called[(wallet[called] > 0.0) & (equity[called] > 0.0)]
            if called.size:
                answer = called[rng.random(called.size) < cfg.topup_probability]
                amount = np.minimum(wallet[answer], im_req[answer] - equity[answer])
                cash[answer] += amount
                wallet[answer] -= amount
                equity[answer] += amount
                ser.topups[t] = float(amount.sum())

        # flags: the step an account was first seen below MM (sparse updates: few are flagged)
        cand = np.flatnonzero(equity < mm_req)
        first_seen = np.where(flag[cand] == NOT_FLAGGED, t, flag[cand])
        flag[flagged] = NOT_FLAGGED
        flag[cand] = first_seen
        flagged = cand

        if cand.size:
            cand = cand[np.argsort(flag[cand], kind="stable")]  # oldest flag first, then index
            taken = np.zeros(cand.size, dtype=bool)
            closed: list[IntArray] = []
            volume, count = 0.0, 0
            for k in lat_order:
                elig = np.flatnonzero(~taken & (flag[cand] <= t - cfg.liquidator_latency[k]))
                capacity = float(ledgers.liq_cash[k])
                if elig.size == 0 or capacity <= 0.0:
                    continue
                idx = cand[elig]
                notional = np.abs(q[idx]) @ price
                req = (im_req[idx] if cfg.target_im else mm_req[idx]) * (1.0 + cfg.target_buffer)
                phi = liquidation_fraction(equity[idx], req, notional, cfg.discount, cfg.fee)
                take = phi * notional
                before = np.cumsum(take) - take
                fits = before < capacity
                phi = np.where(
                    fits, np.minimum(phi, (capacity - before) / np.where(notional > 0, notional, 1.0)), 0.0
                )
                sel = phi > 0.0
                if not np.any(sel):
                    continue
                idx, phi, notional = idx[sel], phi[sel], notional[sel]
                taken[elig[sel]] = True
                full = phi >= 1.0
                dq = q[idx] * phi[:, None]
                dq[full] = q[idx[full]]
                value = dq @ price
                disc = cfg.discount * phi * notional
                fee = cfg.fee * phi * notional
                q[idx] -= dq
                q[idx[full]] = 0.0
                cash[idx] += value - disc - fee
                ledgers.liq_q[k] += dq.sum(axis=0)
                ledgers.liq_cash[k] -= float((value - disc).sum())
                ledgers.insurance += float(fee.sum())
                volume += float((phi * notional).sum())
                count += int(idx.size)
                closed.append(idx[full])
                per.liq_volume[idx] += phi * notional  # an account is taken once per step
                per.liquidations[idx] += 1

            if count:
                # liquidators unwind everything they bought this step through the book
                sold = ledgers.liq_q.sum(axis=0)
                if cfg.impact:
                    new_price, avg = trade_through_book(sold, price, depth, cfg.max_move)
                else:
                    new_price, avg = price, price
                ledgers.liq_cash += ledgers.liq_q @ avg
                ledgers.mm_q += sold
                ledgers.mm_cash -= float(sold @ avg)
                ledgers.liq_q[:] = 0.0
                price = new_price
                abs_q_total = np.abs(q).sum(axis=0)
                ser.liq_volume[t] = volume
                ser.liq_count[t] = count

                # bad debt of closed-out accounts: insurance fund first, then socialised
                gone = np.concatenate(closed) if closed else np.empty(0, dtype=np.int64)
                short_idx = gone[cash[gone] < 0.0]
                if short_idx.size:
                    shortfall = float(-cash[short_idx].sum())
                    per.bad_debt[short_idx] -= cash[short_idx]
                    cash[short_idx] = 0.0
                    bad_debt_total += shortfall
                    paid = min(max(ledgers.insurance, 0.0), shortfall)
                    ledgers.insurance -= paid
                    rest = shortfall - paid
                    if rest > 0.0:
                        eq_now = cash + q @ price
                        pos = eq_now > 0.0
                        pos_total = float(eq_now[pos].sum())
                        if pos_total > rest:
                            cash[pos] -= rest * eq_now[pos] / pos_total
                        else:  # nobody left to share it: the fund goes negative
                            ledgers.insurance -= rest
                        socialized_total += rest

        if cfg.impact:
            arb = arbitrage_quantity(price, exo, depth, cfg.arb_recovery, cfg.arb_capacity_usd)
            if np.any(arb != 0.0):
                new_price, avg = trade_through_book(-arb, price, depth, cfg.max_move)
                ledgers.arb_cash += float(arb @ (exo - avg))
                ledgers.mm_q -= arb
                ledgers.mm_cash += float(arb @ avg)
                ledgers.ext_q += arb
                ledgers.ext_cash -= float(arb @ exo)
                price = new_price
            log_impact = np.log(price / exo)

        prev_price = price
        ser.price[t] = price
        ser.depth[t] = depth
        ser.insurance[t] = ledgers.insurance
        ser.bad_debt[t] = bad_debt_total
        ser.socialized[t] = socialized_total
        ser.open_interest[t] = float(abs_q_total @ price)
        if progress is not None:
            progress(t)

    return RunResult(
        accounts=accounts, ledgers=ledgers, series=ser, initial_cash_total=init_total, per_account=per
    )
