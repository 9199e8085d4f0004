"""The oracle's invariant over seeded random report sequences, on the contract and its Python
mirror (``offchain.mirror.oracle.OracleModel``): **a report that was refused can never be
accepted later**.

Each sequence starts from the same snapshot (a fresh ``PriceOracle`` with three reporters,
threshold two, one feed) and applies random operations: ordinary reports, glitches that trip
the deviation breaker, replays of refused and of accepted reports, reports signed long before
they are sent, breaker resets and manual halts, time passing. The model decides each outcome
(accepted, tripped, or the custom error); the contract must agree, and its state (round,
price, breaker) must equal the model's after every step.
"""

from __future__ import annotations

import os
import random
from types import SimpleNamespace

from test_invariants import Driver

from offchain.mirror.oracle import (
    FeedModel,
    OracleModel,
    OracleReject,
    PriceReport,
    feed_id,
    sign_report,
    to_price_units,
)

SEQUENCES = max(20, int(os.environ.get("ZKMARGIN_INVARIANT_SEQUENCES", "1000")) // 8)
OPS_PER_SEQUENCE = 14
FEED = feed_id("BTC/USD")
MAX_AGE = 3_600
CONFIG = (True, False, False, 172_800, MAX_AGE, 5_000, to_price_units("1"), to_price_units("10000000"))


def test_a_refused_report_is_never_accepted_later(project, accounts, chain):
    owner = accounts[0]
    reporters = sorted([accounts[i] for i in (7, 8, 9)], key=lambda a: int(str(a.address), 16))
    oracle = project.PriceOracle.deploy(owner, sender=owner)
    for r in reporters:
        oracle.setReporter(r, True, sender=owner)
    oracle.setThreshold(2, sender=owner)
    oracle.configureFeed(FEED, CONFIG, sender=owner)
    only_oracle = SimpleNamespace(**dict.fromkeys(
        ("vault", "oracle", "epochs", "accounts", "liquidation", "verifier", "poseidon"), oracle))
    drv = Driver(chain, only_oracle)  # raw-RPC transactions, reverts decoded to the oracle's errors
    drv.now = int(chain.blocks.head.timestamp) + 1
    keys = [r.private_key for r in reporters]

    def sign(rep: PriceReport, who: list[str]) -> list:
        return sign_report(rep, who, int(chain.chain_id), str(oracle.address))

    first = PriceReport(FEED, 1, to_price_units(30_000), drv.now)
    drv.send(oracle, "submitReport", [first.as_tuple(), sign(first, keys[:2])], owner)
    base = drv.rpc("evm_snapshot", [])
    now0 = drv.now
    seen = {"accepted": 0, "tripped": 0, "refused_replays": 0, "resets": 0}
    for i in range(SEQUENCES):
        rng = random.Random(70_000 + i)
        drv.now = now0
        model = OracleModel({FEED: FeedModel(min_price=CONFIG[6], max_price=CONFIG[7], max_deviation_bps=CONFIG[5],
                                             max_report_age=MAX_AGE, round=1, updated_at=first.observed_at,
                                             answer=first.price)}, global_round=1)
        refused: list[tuple[PriceReport, list]] = []
        accepted: list[tuple[PriceReport, list]] = []
        presigned: list[tuple[PriceReport, list]] = []
        for _ in range(OPS_PER_SEQUENCE):
            f = model.feeds[FEED]
            op = rng.choice(["report", "report", "glitch", "replay_refused", "replay_accepted", "presigned",
                             "reset", "halt", "advance", "sign_ahead"])
            ts = drv.now + 1
            if op == "advance":
                drv.advance(rng.choice([30, 600, 2_000]))
                continue
            if op in ("reset", "halt"):
                fn = "resetCircuitBreaker" if op == "reset" else "haltFeed"
                if op == "reset" and not f.tripped:
                    continue  # resetting an untripped feed is allowed but uninteresting
                drv.send(oracle, fn, [FEED], owner)
                model.reset(FEED, ts) if op == "reset" else model.halt(FEED)
                seen["resets"] += op == "reset"
                continue
            if op == "replay_refused" and refused:
                rep, sigs = rng.choice(refused)
                seen["refused_replays"] += 1
            elif op == "replay_accepted" and accepted:
                rep, sigs = rng.choice(accepted)
            elif op == "presigned" and presigned:
                rep, sigs = presigned.pop(rng.randrange(len(presigned)))
            else:
                last = f.answer or first.price
                move = rng.choice([3.0, 0.3]) if op == "glitch" else rng.uniform(0.9, 1.1)
                rnd = max(f.round, f.refused_round) + rng.choice([1, 1, 2])
                rep = PriceReport(FEED, rnd, max(1, int(last * move)), ts)
                sigs = sign(rep, rng.sample(keys, 2))
                if op == "sign_ahead":  # signed now, sent later (maybe after a reset)
                    presigned.append((rep, sigs))
                    continue
            try:
                outcome = model.submit(FEED, rep.round, rep.price, rep.observed_at, ts)
            except OracleReject as rej:
                drv.expect_revert(oracle, "submitReport", [rep.as_tuple(), sigs], owner, rej.error)
                outcome = "reverted"
            else:
                drv.send(oracle, "submitReport", [rep.as_tuple(), sigs], owner)
                seen[outcome] += 1
                (accepted if outcome == "accepted" else refused).append((rep, sigs))
            # the invariant, checked on the model and then on the chain's state
            assert not any(r == rep for r, _ in refused) or outcome != "accepted", "a refused report was accepted"
            latest = drv.words(oracle, "latestRound", FEED)
            assert (latest[0], latest[1], latest[2]) == (f.answer, f.updated_at, f.round)
            cfg = drv.words(oracle, "feedConfig", FEED)
            assert (bool(cfg[1]), bool(cfg[2])) == (f.tripped, f.skip_deviation_once)
        assert drv.rpc("evm_revert", [base]) is True
        base = drv.rpc("evm_snapshot", [])
    print(f"\n{SEQUENCES} oracle sequences: {seen}")
    assert seen["tripped"] >= SEQUENCES // 4 and seen["refused_replays"] >= SEQUENCES // 10 and seen["resets"] >= 1
