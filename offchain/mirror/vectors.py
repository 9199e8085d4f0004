"""Golden vectors of every on-chain integer formula, produced by this Python mirror.

``tools/gen_contracts.py vectors`` writes them to ``tests/vectors/*.json``;
``tests/devnet/test_vectors_replay.py`` replays them against the contracts (the libraries through
``ProtocolMathHarness``, the vault through a vault wired to test-controlled modules) and requires
equality to the last unit; ``tests/unit/mirror`` checks the files are what this module produces.
Fixed seeds: the files are byte-for-byte reproducible.
"""

from __future__ import annotations

import random
from typing import Any

from offchain.mirror.auction import (
    WAD,
    discount_bps,
    discount_cap,
    fee_split,
    fill_terms,
    slice_value,
    take_slice,
)
from offchain.mirror.vault import VaultModel, shares_for_deposit, shares_for_withdrawal, units_of
from zkmargin.errors import InputError

VERSION = 1
GENERATOR = "tools/gen_contracts.py vectors"
SEED = 20261124


def _header(what: str) -> dict[str, Any]:
    return {"version": VERSION, "generator": GENERATOR, "seed": SEED, "what": what}


def auction_vectors(rng: random.Random) -> dict[str, Any]:
    discounts = []
    for _ in range(60):
        start = rng.randrange(1_600_000_000, 1_900_000_000)
        duration = rng.choice([1, 60, 600, 3_600, 86_400, rng.randrange(1, 100_000)])
        sb = rng.randrange(0, 5_000)
        mb = rng.randrange(sb, 10_000)
        now = start + rng.choice([-100, 0, 1, duration // 3, duration - 1, duration, duration + 5, rng.randrange(2 * duration + 1)])
        now = max(now, 0)
        discounts.append({"start": start, "now": now, "duration": duration, "start_bps": sb, "max_bps": mb,
                          "expected": discount_bps(start, now, duration, sb, mb)})
    slices = []
    for _ in range(60):
        amount = rng.choice([rng.randrange(-(2**64), 2**64), rng.randrange(-(2**128), 2**128), rng.randrange(-50, 50)])
        frac = rng.choice([WAD, 1, WAD - 1, WAD // 2, WAD // 3, rng.randrange(1, WAD + 1)])
        from offchain.mirror.auction import slice_amount

        slices.append({"amount": str(amount), "fraction_wad": str(frac), "expected": str(slice_amount(amount, frac))})
    values = []
    for _ in range(60):
        book = rng.choice([rng.randrange(-(2**130), 2**130), rng.randrange(-1000, 1000), 0])
        frac = rng.choice([WAD, 1, WAD - 1, WAD // 2, WAD // 3, rng.randrange(1, WAD + 1)])
        values.append({"book_value": str(book), "fraction_wad": str(frac), "expected": str(slice_value(book, frac))})
    caps = []
    for _ in range(40):
        equity = rng.choice([rng.randrange(-(2**130), 2**130), rng.randrange(-10**9, 10**9), 0])
        gross = rng.choice([0, rng.randrange(1, 2**131), rng.randrange(1, 10**9)])
        rate, under = discount_cap(equity, gross)
        caps.append({"equity": str(equity), "gross": str(gross), "rate_wad": str(rate), "underwater": under})
    terms = []
    for _ in range(60):
        value = rng.randrange(-(2**130), 2**130)
        gross = rng.randrange(0, 2**131)
        d = rng.randrange(0, 10_000)
        fee = rng.randrange(0, 10_001)
        rate, under = rng.choice([WAD, 0, rng.randrange(0, WAD + 1)]), rng.random() < 0.3
        cost, disc, f = fill_terms(value, gross, d, fee, rate, under)
        terms.append({"value": str(value), "gross": str(gross), "d_bps": d, "fee_bps": fee, "rate_wad": str(rate),
                      "underwater": under, "cost": str(cost), "discount": str(disc), "fee": str(f)})
    fills: list[dict[str, Any]] = []
    while len(fills) < 40:
        n = rng.randrange(1, 6)
        q = [rng.choice([0, rng.randrange(-(2**63), 2**63), rng.randrange(-1000, 1000)]) for _ in range(n)]
        m = [rng.choice([rng.randrange(-(2**63), 2**63), rng.randrange(1, 10**9)]) for _ in range(n)]
        cash = rng.choice([0, rng.randrange(-(2**127), 2**127), rng.randrange(-(10**12), 10**12)])
        frac = rng.choice([WAD, WAD // 4, WAD // 2, 1, rng.randrange(1, WAD + 1)])
        try:
            sl = take_slice(q, cash, m, frac)
        except InputError:  # an empty fill: the contract reverts (Liquidation_EmptyFill), tested elsewhere
            sl = None
        if sl is None:
            continue
        d = rng.randrange(0, 10_000)
        rate, under = rng.choice([WAD, rng.randrange(0, WAD + 1)]), rng.random() < 0.3
        cost, disc, fee = fill_terms(sl.value, sl.gross, d, 50, rate, under)
        fills.append({
            "positions": [str(x) for x in q], "cash": str(cash), "marks": [str(x) for x in m], "fraction_wad": str(frac),
            "lots": [str(x) for x in sl.lots], "cash_taken": str(sl.cash_taken), "value": str(sl.value),
            "gross": str(sl.gross), "empty": sl.empty, "remaining": [str(x) for x in sl.positions_after],
            "d_bps": d, "fee_bps": 50, "rate_wad": str(rate), "underwater": under,
            "cost": str(cost), "discount": str(disc), "fee": str(fee),
        })
    fees = []
    for _ in range(30):
        due, bal, share = rng.randrange(0, 10**12), rng.randrange(0, 10**12), rng.randrange(0, 10_001)
        fee, ins, prot = fee_split(due, bal, share)
        fees.append({"fee_due": due, "balance": bal, "share_bps": share, "fee": fee, "to_insurance": ins, "to_protocol": prot})
    return {**_header("AuctionMath: discountBps, slice, sliceValue, discountCap, fillTerms, takeSlice; vault fee split"),
            "discount_bps": discounts, "slice": slices, "slice_value": values, "discount_cap": caps, "fill_terms": terms,
            "take_slice": fills, "fee_split": fees}


def share_vectors(rng: random.Random) -> dict[str, Any]:
    cases = []
    for _ in range(60):
        units = rng.choice([0, rng.randrange(1, 10**15)])
        shares = rng.choice([0, units, rng.randrange(1, 10**16)])
        amount = rng.randrange(0, 10**13)
        s = rng.randrange(0, shares + 1) if shares else 0
        cases.append({"amount": amount, "units": units, "shares": shares, "s": s,
                      "deposit": shares_for_deposit(amount, units, shares),
                      "withdrawal": shares_for_withdrawal(amount, units, shares),
                      "units_of": units_of(s, units, shares)})
    return {**_header("ShareMath: sharesForDeposit, sharesForWithdrawal, unitsOf"), "cases": cases}


ACTORS = ["a0", "a1", "a2", "a3"]


def vault_vectors(rng: random.Random) -> dict[str, Any]:
    """Sequences of vault operations (actors a0..a3) and the state after each step."""
    sequences = []
    for _ in range(8):
        v = VaultModel()
        steps = []
        for _ in range(14):
            op = rng.choice(["deposit", "deposit", "withdraw", "insurance", "transfer", "fee", "shortfall", "shortfall"])
            a, b = rng.sample(ACTORS, 2)
            if op == "deposit":
                amt = rng.randrange(1, 5_000_000_000)
                v.deposit(a, amt)
                step = {"op": op, "account": a, "amount": amt}
            elif op == "withdraw":
                bal = v.balance_of(a)
                if bal == 0:
                    continue
                amt = rng.randrange(1, bal + 1)
                v.withdraw(a, amt)
                step = {"op": op, "account": a, "amount": amt}
            elif op == "insurance":
                amt = rng.randrange(1, 1_000_000_000)
                v.fund_insurance(amt)
                step = {"op": op, "amount": amt}
            elif op == "transfer":
                bal = v.balance_of(a)
                if bal == 0:
                    continue
                amt = rng.randrange(1, bal + 1)
                v.transfer(a, b, amt)
                step = {"op": op, "from": a, "to": b, "amount": amt}
            elif op == "fee":
                amt, share = rng.randrange(0, 2_000_000_000), rng.randrange(0, 10_001)
                fee, _ins, _prot = v.collect_fee(a, amt, share)
                step = {"op": op, "account": a, "amount": amt, "share_bps": share, "fee": fee}
            else:
                amt = rng.randrange(1, v.pool_units + v.insurance + 2)
                split = v.cover_shortfall(a, b, amt)
                step = {"op": op, "account": a, "to": b, "amount": amt, "from_account": split.from_account,
                        "from_insurance": split.from_insurance, "socialized": split.socialized, "uncovered": split.uncovered}
            step["after"] = {"pool_units": v.pool_units, "pool_shares": v.pool_shares, "insurance": v.insurance,
                             "fees": v.fees, "shares": {x: v.shares.get(x, 0) for x in ACTORS},
                             "balances": {x: v.balance_of(x) for x in ACTORS}}
            steps.append(step)
        sequences.append(steps)
    return {**_header("CollateralVault: deposits, withdrawals, transfers, fees, shortfall split (account, insurance, socialized)"),
            "actors": ACTORS, "sequences": sequences}


def build_all() -> dict[str, dict[str, Any]]:
    """Every vector file: name -> JSON payload (deterministic)."""
    return {
        "auction": auction_vectors(random.Random(SEED)),
        "shares": share_vectors(random.Random(SEED + 1)),
        "vault": vault_vectors(random.Random(SEED + 2)),
    }
