"""A straightforward per-account loop with the engine's semantics (test oracle and baseline).

:func:`run_reference` walks the accounts one by one in Python at every step: equity, the
policy's requirement for that single account, margin calls, flags, and the liquidators'
queue. It shares only the per-asset market functions (depth curve, arbitrage) with
:mod:`offchain.sim.engine`. The tests check that both produce the same results, and the
benchmark measures the vectorized engine's speed-up against it.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from offchain.sim.engine import EngineConfig, PerAccount, RunResult, Series, initial_ledgers
from offchain.sim.liquidity import arbitrage_quantity, depth_at_vol, trade_through_book
from offchain.sim.policies import MarginPolicy
from offchain.sim.population import Accounts

FloatArray = NDArray[np.float64]


def run_reference(
    cfg: EngineConfig, accounts: Accounts, exo_prices: FloatArray, rng: np.random.Generator
) -> RunResult:
    """The engine's :func:`~offchain.sim.engine.run`, written as plain loops over accounts."""
    n_steps, n_assets = exo_prices.shape[0] - 1, exo_prices.shape[1]
    q, cash, wallet = accounts.q, accounts.cash, accounts.wallet
    m = accounts.m
    ledgers = initial_ledgers(cfg, accounts, exo_prices[0])
    init_total = float(
        cash.sum() + wallet.sum() + ledgers.liq_cash.sum() + ledgers.mm_cash + ledgers.insurance
    )
    policy_of: list[MarginPolicy] = []
    for policy, sl in accounts.groups:
        policy.reset(exo_prices[0])
        policy_of += [policy] * (sl.stop - sl.start)

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
    ser.open_interest[0] = sum(abs(q[i, a]) * exo_prices[0, a] for i in range(m) for a in range(n_assets))

    liquidators = sorted(
        range(cfg.liquidator_latency.size), key=lambda k: (int(cfg.liquidator_latency[k]), k)
    )
    flag = [-1] * m
    mm0 = sum(float(policy_of[i].requirements(q[i : i + 1], exo_prices[0])[0][0]) for i in range(m))
    ser.margin_rate[0] = mm0 / ser.open_interest[0] if ser.open_interest[0] > 0 else 0.0
    per = PerAccount(np.zeros(m), np.zeros(m, dtype=np.int64), np.zeros(m))
    log_impact = np.zeros(n_assets)
    market_var = cfg.reference_vol_daily**2
    decay = cfg.market_ewma_lambda_daily**cfg.dt_days
    prev_price = exo_prices[0].copy()
    bad_debt_total = socialized_total = 0.0

    for t in range(1, n_steps + 1):
        exo = exo_prices[t]
        price = exo * np.exp(log_impact) if cfg.impact else exo.copy()
        ret = np.log(price / prev_price)
        market_var = decay * market_var + (1.0 - decay) * ret * ret / cfg.dt_days
        depth = depth_at_vol(
            cfg.depth_usd_per_pct, np.sqrt(market_var), cfg.reference_vol_daily, cfg.depth_vol_elasticity
        )
        if t % cfg.steps_per_day == 0:
            for policy, _ in accounts.groups:
                policy.observe_close(price)

        equity = [0.0] * m
        mm = [0.0] * m
        im = [0.0] * m
        for i in range(m):
            equity[i] = float(cash[i] + sum(q[i, a] * price[a] for a in range(n_assets)))
            r_mm, r_im = policy_of[i].requirements(q[i : i + 1], price)
            mm[i], im[i] = float(r_mm[0]), float(r_im[0])
        gross = sum(abs(q[i, a]) * price[a] for i in range(m) for a in range(n_assets))
        ser.margin_rate[t] = sum(mm) / gross if gross > 0 else 0.0

        if cfg.topup_probability > 0.0:
            called = [i for i in range(m) if equity[i] < im[i] and wallet[i] > 0.0 and equity[i] > 0.0]
            if called:
                draws = rng.random(len(called))
                total = 0.0
                for i, u in zip(called, draws):
                    if u < cfg.topup_probability:
                        amount = min(wallet[i], im[i] - equity[i])
                        cash[i] += amount
                        wallet[i] -= amount
                        equity[i] += amount
                        total += amount
                ser.topups[t] = total

        queue = []
        for i in range(m):
            if equity[i] < mm[i]:
                if flag[i] == -1:
                    flag[i] = t
                queue.append(i)
            else:
                flag[i] = -1
        queue.sort(key=lambda i: (flag[i], i))

        if queue:
            taken: set[int] = set()
            closed: list[int] = []
            volume, count = 0.0, 0
            for k in liquidators:
                capacity = float(ledgers.liq_cash[k])
                if capacity <= 0.0:
                    continue
                used = 0.0
                for i in queue:
                    if i in taken or flag[i] > t - cfg.liquidator_latency[k]:
                        continue
                    notional = sum(abs(q[i, a]) * price[a] for a in range(n_assets))
                    req = (im[i] if cfg.target_im else mm[i]) * (1.0 + cfg.target_buffer)
                    need = req - equity[i]
                    den = req - notional * (cfg.discount + cfg.fee)
                    phi = need / den if den > need else 1.0
                    phi = min(max(phi, 0.0), 1.0)
                    before = used
                    used += phi * notional
                    if before >= capacity:
                        continue
                    phi = min(phi, (capacity - before) / (notional if notional > 0 else 1.0))
                    if phi <= 0.0:
                        continue
                    taken.add(i)
                    full = phi >= 1.0
                    value = 0.0
                    for a in range(n_assets):
                        dq = q[i, a] if full else q[i, a] * phi
                        value += dq * price[a]
                        q[i, a] = 0.0 if full else q[i, a] - dq
                        ledgers.liq_q[k, a] += dq
                    disc = cfg.discount * phi * notional
                    fee = cfg.fee * phi * notional
                    cash[i] += value - disc - fee
                    ledgers.liq_cash[k] -= value - disc
                    ledgers.insurance += fee
                    volume += phi * notional
                    count += 1
                    per.liq_volume[i] += phi * notional
                    per.liquidations[i] += 1
                    if full:
                        closed.append(i)
            if count:
                sold = ledgers.liq_q.sum(axis=0)
                if cfg.impact:
                    new_price, avg = trade_through_book(sold, price, depth, cfg.max_move)
                else:
                    new_price, avg = price, price
                for k in range(ledgers.liq_cash.size):
                    ledgers.liq_cash[k] += float(ledgers.liq_q[k] @ avg)
                ledgers.mm_q += sold
                ledgers.mm_cash -= float(sold @ avg)
                ledgers.liq_q[:] = 0.0
                price = new_price
                ser.liq_volume[t] = volume
                ser.liq_count[t] = count
                shortfall = 0.0
                for i in closed:
                    if cash[i] < 0.0:
                        shortfall += -cash[i]
                        per.bad_debt[i] += -cash[i]
                        cash[i] = 0.0
                if shortfall > 0.0:
                    bad_debt_total += shortfall
                    paid = min(max(ledgers.insurance, 0.0), shortfall)
                    ledgers.insurance -= paid
                    rest = shortfall - paid
                    if rest > 0.0:
                        eq_now = [float(cash[i] + q[i] @ price) for i in range(m)]
                        pos_total = sum(e for e in eq_now if e > 0.0)
                        if pos_total > rest:
                            for i in range(m):
                                if eq_now[i] > 0.0:
                                    cash[i] -= rest * eq_now[i] / pos_total
                        else:
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
            log_impact = np.array([math.log(price[a] / exo[a]) for a in range(n_assets)])

        prev_price = price
        ser.price[t] = price
        ser.depth[t] = depth
        ser.insurance[t] = ledgers.insurance
        ser.bad_debt[t] = bad_debt_total
        ser.socialized[t] = socialized_total
        ser.open_interest[t] = sum(abs(q[i, a]) * price[a] for i in range(m) for a in range(n_assets))

    return RunResult(
        accounts=accounts, ledgers=ledgers, series=ser, initial_cash_total=init_total, per_account=per
    )
