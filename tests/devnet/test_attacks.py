"""Issue 10: six attacks that succeeded against the deployed protocol and its keeper, replayed
as an attacker would. Each test reproduces the attack as described and passes only if it
reverts, or leaves the attacker with nothing and the insurance fund untouched.

The contract-level attacks use the shared deployment with the mock verifier (it accepts exactly
the statements a test allows, so only true statements are "proven"); the keeper and
hedged-book attacks run on a deployment with the real Groth16 verifier and real proofs.
"""

from __future__ import annotations

from ape import reverts
from conftest import BTC, GRACE, MARKS, NO_PROOF, UNIT, Opening

from offchain.mirror.auction import WAD
from offchain.mirror.model import SKIP_ALREADY_PROVEN, SKIP_COMMITMENT_CHANGED
from offchain.mirror.oracle import PriceReport, sign_report, to_price_units


def _fund_insurance(env, amount):
    env.d.token.mint(env.owner, amount, sender=env.owner)
    env.d.token.approve(env.d.vault.address, amount, sender=env.owner)
    env.d.vault.fundInsurance(amount, sender=env.owner)


# ---------------------------------------------------------------- 1. oracle




def _report(env, who, usd, rnd, ts):
    rep = PriceReport(BTC, rnd, to_price_units(usd), ts)
    return rep, sign_report(rep, [a.private_key for a in who], env.d.chain_id, str(env.d.oracle.address))


def test_a_refused_report_never_comes_back_after_a_breaker_reset(env, signers):
    """A 3x glitch signed by 2 of 3 trips the breaker; the owner resets ten minutes later; the
    same signed report is resubmitted (it was still within its one-hour report age)."""
    o = env.d.oracle
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 1
    last = int(o.latestRound(BTC).roundId)
    good, sigs = _report(env, signers[:2], 30_000, last + 1, int(env.chain.pending_timestamp))
    o.submitReport(good.as_tuple(), sigs, sender=env.owner)
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 60
    glitch, gsigs = _report(env, signers[:2], 90_000, last + 2, int(env.chain.pending_timestamp))
    receipt = o.submitReport(glitch.as_tuple(), gsigs, sender=env.owner)  # trips; not stored
    assert len(list(receipt.decode_logs(o.CircuitBreakerTripped))) == 1
    assert o.feedConfig(BTC).tripped and int(o.latestRound(BTC).answer) == to_price_units(30_000)
    floor = o.breakerFloor(BTC)
    assert (floor.refusedRound, floor.refusedObservedAt) == (glitch.round, glitch.observed_at)
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 600
    o.resetCircuitBreaker(BTC, sender=env.owner)
    # the attack: anyone resubmits the refused report (still younger than maxReportAgeSeconds)
    with reverts(o.Oracle_ReportBeforeReset):
        o.submitReport(glitch.as_tuple(), gsigs, sender=env.owner)
    # a report signed before the reset, with a later round, cannot re-base the price either
    early, esigs = _report(env, signers[1:], 90_000, last + 3, glitch.observed_at + 1)
    with reverts(o.Oracle_ReportBeforeReset):
        o.submitReport(early.as_tuple(), esigs, sender=env.owner)
    assert int(o.latestRound(BTC).answer) == to_price_units(30_000)
    # a fresh observation after the reset re-bases; its round must pass the refused one
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 5
    reused, rsigs = _report(env, signers[:2], 31_000, glitch.round, int(env.chain.pending_timestamp))
    with reverts(o.Oracle_RoundNotIncreasing, round=glitch.round, latestRound=glitch.round):
        o.submitReport(reused.as_tuple(), rsigs, sender=env.owner)
    fresh, fsigs = _report(env, signers[:2], 31_000, glitch.round + 1, int(env.chain.pending_timestamp))
    o.submitReport(fresh.as_tuple(), fsigs, sender=env.owner)
    assert int(o.latestRound(BTC).answer) == to_price_units(31_000)
    # and the refused report is now out of date for good
    with reverts(o.Oracle_RoundNotIncreasing):
        o.submitReport(glitch.as_tuple(), gsigs, sender=env.owner)


# ---------------------------------------------------------------- 2. stale insolvency marker


def test_an_old_insolvency_proof_cannot_liquidate_a_new_healthy_book(env, users):
    """Proven insolvent and liquidated in epoch 2, the account opens a new book in the same
    epoch with a valid IM proof; the old marker must not make it liquidatable."""
    acct, bidder = users[0], users[6]
    env.fund(acct, 100 * UNIT)
    env.fund(bidder, 10_000 * UNIT)
    old = Opening([10, 0], -350 * UNIT, 11)  # 10 lots of 30 USD against 350 USD of debt
    env.open(acct, old)
    env.post_epoch(2)
    b = int(env.d.vault.balanceOf(acct))
    env.allow(old.commitment, 2, acct, b)
    env.d.accounts.submitProof(acct, 2, 2, b, NO_PROOF, sender=env.owner)  # insolvency proof
    liq = env.d.liquidation
    liq.startLiquidation(acct, old.q, old.cash, old.salt, MARKS, sender=bidder)
    liq.bid(acct, WAD, 10**30, sender=bidder)  # takes the whole book; the auction closes
    assert env.d.accounts.commitmentOf(acct) == 0
    state = env.d.accounts.accountState(acct)
    assert state.insolventEpoch == 0  # the marker went with the commitment
    env.fund(acct, 100 * UNIT)
    new = Opening([1, 0], -30 * UNIT, 12)
    env.open(acct, new)
    assert env.d.accounts.liquidationReason(acct) == 0
    with reverts(liq.Liquidation_AccountHealthy):
        liq.startLiquidation(acct, new.q, new.cash, new.salt, MARKS, sender=bidder)


def test_a_new_commitment_drops_an_insolvency_marker(env, users):
    acct = users[1]
    env.fund(acct, 100 * UNIT)
    bad = Opening([10, 0], -350 * UNIT, 21)
    env.open(acct, bad)
    env.post_epoch(2)
    b = int(env.d.vault.balanceOf(acct))
    env.allow(bad.commitment, 2, acct, b)
    env.d.accounts.submitProof(acct, 2, 2, b, NO_PROOF, sender=env.owner)
    assert env.d.accounts.liquidationReason(acct) == 2
    env.open(acct, Opening([0, 1], -20 * UNIT, 22))  # a new IM-proven book (no insolvency for it)
    assert env.d.accounts.accountState(acct).insolventEpoch == 0
    assert env.d.accounts.liquidationReason(acct) == 0


# ---------------------------------------------------------------- 3. pausing and the grace window


def test_time_spent_paused_does_not_count_against_the_grace_window(env, users, accounts):
    acct, bidder, guardian = users[2], users[6], accounts[5]
    env.fund(acct, 1_000 * UNIT)
    op = Opening([4, -2], -50 * UNIT, 31)
    env.open(acct, op)
    for c in (env.d.accounts, env.d.liquidation):
        c.setGuardian(guardian, sender=env.owner)
    env.post_epoch(2)
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 60
    env.d.accounts.pause(sender=guardian)
    env.d.liquidation.pause(sender=guardian)
    b = int(env.d.vault.balanceOf(acct))
    env.allow(op.commitment, 0, acct, b)
    with reverts(env.d.accounts.Guard_Paused):  # the ready MM proof is refused while paused
        env.d.accounts.submitProof(acct, 2, 0, b, NO_PROOF, sender=env.owner)
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 2 * 3_600  # two hours later
    env.d.accounts.unpause(sender=env.owner)
    env.d.liquidation.unpause(sender=env.owner)
    # the attack: start its liquidation at once (the wall-clock grace window is long over)
    assert env.d.accounts.liquidationReason(acct) == 0
    with reverts(env.d.liquidation.Liquidation_AccountHealthy):
        env.d.liquidation.startLiquidation(acct, op.q, op.cash, op.salt, MARKS, sender=bidder)
    assert env.d.accounts.pausedSecondsSince(int(env.d.epochs.getEpoch(2).postedAt)) >= 2 * 3_600
    env.d.accounts.submitProof(acct, 2, 0, b, NO_PROOF, sender=env.owner)  # and it still proves
    assert env.d.accounts.liquidationReason(acct) == 0


def test_the_grace_window_still_ends_after_enough_unpaused_time(env, users, accounts):
    acct, guardian = users[3], accounts[5]
    env.fund(acct, 1_000 * UNIT)
    env.open(acct, Opening([1, 1], -40 * UNIT, 41))
    env.d.accounts.setGuardian(guardian, sender=env.owner)
    env.post_epoch(2)
    posted = int(env.d.epochs.getEpoch(2).postedAt)
    env.chain.pending_timestamp = posted + GRACE // 2
    env.d.accounts.pause(sender=guardian)
    env.chain.pending_timestamp = posted + GRACE // 2 + 10_000
    env.d.accounts.unpause(sender=env.owner)
    env.chain.pending_timestamp = posted + 10_000 + GRACE - 5
    env.chain.mine()
    assert env.d.accounts.liquidationReason(acct) == 0  # GRACE - 5 unpaused seconds so far
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 20
    env.chain.mine()
    assert env.d.accounts.liquidationReason(acct) == 1


def test_the_auction_clock_stops_while_the_liquidation_module_is_paused(env, users, accounts):
    acct, bidder, guardian = users[4], users[6], accounts[5]
    env.fund(acct, 1_000 * UNIT)
    op = Opening([4, -2], -50 * UNIT, 51)
    env.open(acct, op)
    env.post_epoch(2)
    env.pass_grace()
    liq = env.d.liquidation
    liq.setGuardian(guardian, sender=env.owner)
    liq.startLiquidation(acct, op.q, op.cash, op.salt, MARKS, sender=bidder)
    start = int(liq.getAuction(acct).startTime)
    env.chain.pending_timestamp = start + 100
    liq.pause(sender=guardian)
    env.chain.pending_timestamp = start + 100 + 3_000
    liq.unpause(sender=env.owner)
    now = int(env.chain.blocks.head.timestamp)
    # 100 seconds of auction time, not 3,100: the discount is the schedule's at t0 + 100
    assert liq.discountBpsAt(acct, now) == 200 + (2_000 - 200) * 100 // 3_600


# ---------------------------------------------------------------- 4. rounding across fills


def test_a_debt_only_fill_cannot_make_the_insurance_fund_pay(env, users):
    """One lot (30 USD) against 24.9 USD of cash debt and a 5 USD stake: a bid of 1e18 - 1 used to
    round the lot to zero and take only the debt, paid partly by the fund; then the lot alone."""
    acct, attacker = users[5], users[6]
    env.fund(acct, 5 * UNIT)
    op = Opening([1, 0], -24_900_000, 61)
    env.open(acct, op, collateral=0)
    env.post_epoch(2)
    env.pass_grace()
    env.fund(attacker, 1_000 * UNIT)
    _fund_insurance(env, 1_000 * UNIT)
    fund0 = int(env.d.vault.insuranceFund())
    liq = env.d.liquidation
    liq.startLiquidation(acct, op.q, op.cash, op.salt, MARKS, sender=attacker)
    before = int(env.d.vault.balanceOf(attacker)) + int(env.d.vault.balanceOf(acct))
    liq.bid(acct, WAD - 1, 10**30, sender=attacker)  # the "debt only" fill
    assert int(env.d.vault.insuranceFund()) == fund0
    liq.bid(acct, WAD, 10**30, sender=attacker)  # then the rest
    assert env.d.accounts.commitmentOf(acct) == 0
    assert int(env.d.vault.insuranceFund()) >= fund0  # untouched (fees only flow in)
    after = int(env.d.vault.balanceOf(attacker)) + int(env.d.vault.balanceOf(acct))
    assert after <= before  # the pair (bidder + account owner) gains nothing; the fee leaves it


# ---------------------------------------------------------------- 5. discount vs margin (contract level)


def test_the_discount_never_exceeds_the_equity_of_a_solvent_book(env, users):
    """A hedged book: 1,000 lots long of instrument 0 and 1,000 short of instrument 1 at equal marks
    with a small deposit: the 2% discount on the gross notional would be far above the equity."""
    acct, bidder = users[0], users[6]
    env.fund(acct, 10 * UNIT)
    op = Opening([1_000, -1_500], 0, 71)  # 1,000 x 30 - 1,500 x 20 = 0: flat value, gross 60,000 USD
    env.open(acct, op)
    env.post_epoch(2)
    env.pass_grace()
    env.fund(bidder, 1_000 * UNIT)
    _fund_insurance(env, 1_000 * UNIT)
    fund0 = int(env.d.vault.insuranceFund())
    liq = env.d.liquidation
    liq.startLiquidation(acct, op.q, op.cash, op.salt, MARKS, sender=bidder)
    a = liq.getAuction(acct)
    assert not a.underwater and int(a.discountRateWad) > 0
    liq.bid(acct, WAD // 2, 10**30, sender=bidder)
    liq.bid(acct, WAD, 10**30, sender=bidder)
    assert int(env.d.vault.insuranceFund()) >= fund0  # not drawn
    assert int(env.d.vault.balanceOf(acct)) >= 0


# ---------------------------------------------------------------- batch proofs front-run


def test_a_proof_front_run_by_its_own_account_does_not_revert_the_batch(env, users):
    a1, a2 = users[1], users[2]
    ops = {a1: Opening([1, 0], -20 * UNIT, 81), a2: Opening([0, 1], -10 * UNIT, 82)}
    for u, op in ops.items():
        env.fund(u, 100 * UNIT)
        env.open(u, op)
    env.post_epoch(2)
    entries = []
    for u, op in ops.items():
        b = int(env.d.vault.balanceOf(u))
        env.allow(op.commitment, 0, u, b)
        entries.append((u.address, 0, b, op.commitment, NO_PROOF))
    env.d.accounts.submitProof(a1, 2, 0, entries[0][2], NO_PROOF, sender=a1)  # a1 proves itself first
    env.open(a2, Opening([0, 2], -30 * UNIT, 83))  # a2 trades: a new commitment (and an IM proof)
    receipt = env.d.accounts.submitProofs(2, entries, sender=env.owner)
    skipped = {str(ev.account): int(ev.reason) for ev in receipt.decode_logs(env.d.accounts.ProofSkipped)}
    assert skipped == {a1.address: SKIP_ALREADY_PROVEN, a2.address: SKIP_COMMITMENT_CHANGED}
    # the single-proof path still reverts with the specific error
    with reverts(env.d.accounts.Accounts_ProofReplayed):
        env.d.accounts.submitProof(a1, 2, 0, entries[0][2], NO_PROOF, sender=env.owner)
