"""Happy paths of every external function of the margin protocol, checked against the Python mirror."""

from __future__ import annotations

from ape import reverts
from conftest import ADDONS, AUCTION, BTC, ETH, GRACE, IM_BPS, MARKS, NO_PROOF, PNL, UNIT, Opening

from offchain.mirror.auction import WAD, book_value, discount_bps, discount_cap, fill_terms, take_slice
from offchain.mirror.oracle import PriceReport, report_digest, sign_report, to_price_units
from offchain.mirror.vault import VaultModel
from prover.statement import epoch_digest

# ---------------------------------------------------------------- oracle



def _report(env, feed=BTC, usd=30_100, rnd=None, ts=None):
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 1
    last = env.d.oracle.latestRound(feed).roundId if rnd is None else rnd - 1
    return PriceReport(feed, int(last) + 1, to_price_units(usd), int(env.chain.pending_timestamp) if ts is None else ts)


def _sign(env, report, signer_accounts):
    return sign_report(report, [a.private_key for a in signer_accounts], env.d.chain_id, str(env.d.oracle.address))


def test_report_digest_matches_python(env):
    rep = PriceReport(BTC, 9, 123, 456)
    assert bytes(env.d.oracle.reportDigest(rep.as_tuple())) == report_digest(rep, env.d.chain_id, str(env.d.oracle.address))


def test_submit_signed_report_threshold_2(env, signers):
    g0 = int(env.d.oracle.globalRound())
    rep = _report(env)
    receipt = env.d.oracle.submitReport(rep.as_tuple(), _sign(env, rep, signers[:2]), sender=env.accounts[5])
    latest = env.d.oracle.latestPrice(BTC)
    assert (latest.roundId, latest.answer, latest.updatedAt) == (rep.round, rep.price, rep.observed_at)
    assert int(env.d.oracle.globalRound()) == g0 + 1
    [ev] = list(receipt.decode_logs(env.d.oracle.PriceUpdated))
    assert ev.globalRound == g0 + 1 and ev.roundId == rep.round and ev.answer == rep.price
    hist = env.d.oracle.getRound(BTC, rep.round)
    assert hist.answer == rep.price


def test_round_gaps_allowed_and_history_kept(env, signers):
    first = _report(env)
    env.d.oracle.submitReport(first.as_tuple(), _sign(env, first, signers), sender=env.owner)
    env.chain.pending_timestamp += 10
    later = _report(env, usd=30_200, rnd=first.round + 5)
    env.d.oracle.submitReport(later.as_tuple(), _sign(env, later, signers[1:]), sender=env.owner)
    assert env.d.oracle.latestRound(BTC).roundId == first.round + 5
    assert env.d.oracle.getRound(BTC, first.round).answer == first.price


def test_chainlink_adapter(env, project):
    adapter = project.OracleFeedAdapter.deploy(env.d.oracle.address, BTC, "BTC / USD", sender=env.owner)
    env.push(BTC, 31_000)
    rid, answer, started, updated, answered = adapter.latestRoundData()
    latest = env.d.oracle.latestRound(BTC)
    assert (rid, answer, updated, answered) == (latest.roundId, 31_000 * 10**8, latest.updatedAt, latest.roundId)
    assert started == updated and adapter.decimals() == 8 and adapter.description() == "BTC / USD"
    assert adapter.version() == 1
    assert adapter.getRoundData(rid)[1] == answer


def test_circuit_breaker_trips_and_resets(env):
    env.push(BTC, 30_000)
    env.chain.pending_timestamp += 5
    ts = env.chain.pending_timestamp
    receipt = env.d.oracle.pushPrice(BTC, to_price_units(60_000), ts, sender=env.owner)  # +100% > 50% bound
    [ev] = list(receipt.decode_logs(env.d.oracle.CircuitBreakerTripped))
    assert ev.price == to_price_units(60_000) and ev.lastPrice == to_price_units(30_000)
    assert env.d.oracle.latestRound(BTC).answer == to_price_units(30_000)  # not stored
    with reverts(env.d.oracle.Oracle_CircuitBreakerActive):
        env.d.oracle.latestPrice(BTC)
    env.d.oracle.resetCircuitBreaker(BTC, sender=env.owner)
    with reverts(env.d.oracle.Oracle_ReportBeforeReset):  # the refused observation never comes back
        env.d.oracle.pushPrice(BTC, to_price_units(60_000), ts, sender=env.owner)
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 5
    env.d.oracle.pushPrice(BTC, to_price_units(60_000), env.chain.pending_timestamp, sender=env.owner)  # re-based
    assert env.d.oracle.latestPrice(BTC).answer == to_price_units(60_000)


def test_configure_feed_and_heartbeat(env):
    cfg = (True, False, False, 60, 30, 1_000, 1, 10**15)
    receipt = env.d.oracle.configureFeed(ETH, cfg, sender=env.owner)
    assert len(list(receipt.decode_logs(env.d.oracle.FeedConfigured))) == 1
    env.push(ETH, 2_000)
    assert env.d.oracle.latestPrice(ETH).answer == 2_000 * 10**8
    env.chain.pending_timestamp += 120
    env.chain.mine()
    with reverts(env.d.oracle.Oracle_StalePrice):
        env.d.oracle.latestPrice(ETH)


def test_guardian_halts_a_feed_and_owner_resets(env, accounts):
    g = accounts[6]
    env.d.oracle.setGuardian(g, sender=env.owner)
    env.d.oracle.haltFeed(BTC, sender=g)
    with reverts(env.d.oracle.Oracle_CircuitBreakerActive):
        env.push()
    with reverts():
        env.d.oracle.resetCircuitBreaker(BTC, sender=g)  # OwnableUnauthorizedAccount
    env.d.oracle.resetCircuitBreaker(BTC, sender=env.owner)
    env.push()


def test_guardian_pauses_and_owner_unpauses_the_vault(env, accounts, users):
    g = accounts[6]
    env.d.vault.setGuardian(g, sender=env.owner)
    env.d.vault.pause(sender=g)
    env.d.token.mint(users[0], 10, sender=env.owner)
    env.d.token.approve(env.d.vault.address, 10, sender=users[0])
    with reverts(env.d.vault.Guard_Paused):
        env.d.vault.deposit(10, sender=users[0])
    with reverts():
        env.d.vault.unpause(sender=g)
    env.d.vault.unpause(sender=env.owner)
    env.d.vault.deposit(10, sender=users[0])


# ---------------------------------------------------------------- epochs


def test_epoch_posted_with_data_and_digest(env):
    e = env.d.epochs.getEpoch(1)
    assert e.digest == epoch_digest(1, IM_BPS, MARKS, PNL, ADDONS)
    assert (e.numInstruments, e.numScenarios, e.imFactorBps) == (2, 3, IM_BPS)
    assert env.d.epochs.currentEpoch()[0] == 1
    assert env.d.epochs.computeDigest(env.epoch_input(1)) == e.digest


def test_post_next_epoch_emits_data(env):
    marks = [31_000_000, 19_000_000]
    receipt = env.post_epoch(2, marks=marks)
    [data] = list(receipt.decode_logs(env.d.epochs.EpochData))
    assert list(data.marks) == marks and list(data.scenarioPnl) == [x for r in PNL for x in r]
    [posted] = list(receipt.decode_logs(env.d.epochs.EpochPosted))
    assert posted.epochId == 2 and not posted.digestCheckedOnChain


def test_post_epoch_with_onchain_digest_check(env):
    env.d.epochs.setDigestCheck(True, sender=env.owner)
    receipt = env.post_epoch(2)
    [posted] = list(receipt.decode_logs(env.d.epochs.EpochPosted))
    assert posted.digestCheckedOnChain
    with reverts(env.d.epochs.Epochs_DigestMismatch):
        env.d.epochs.postEpoch(env.epoch_input(3, digest=12345), sender=env.owner)


# ---------------------------------------------------------------- accounts


def test_open_account_and_prove_mm(env, users):
    alice = users[0]
    env.fund(alice, 1_000 * UNIT)
    op = Opening([10, -5], -200 * UNIT, 42)
    receipt = env.open(alice, op)
    [ev] = list(receipt.decode_logs(env.d.accounts.CommitmentUpdated))
    assert ev.newCommitment == op.commitment and env.d.accounts.commitmentOf(alice) == op.commitment
    env.post_epoch(2)
    assert env.d.accounts.accountState(alice).provenEpoch == 1
    receipt = env.prove_mm(alice, op)
    [acc] = list(receipt.decode_logs(env.d.accounts.ProofAccepted))
    assert (acc.account, acc.epochId, acc.kind) == (alice.address, 2, 0)
    assert env.d.accounts.accountState(alice).provenEpoch == 2
    env.pass_grace()
    assert env.d.accounts.liquidationReason(alice) == 0


def test_withdraw_with_im_proof(env, users):
    bob = users[1]
    env.fund(bob, 1_000 * UNIT)
    op = Opening([1, 0], -30 * UNIT, 7)
    env.open(bob, op)
    bal = int(env.d.vault.balanceOf(bob))
    env.allow(op.commitment, 1, bob, bal - 400 * UNIT)
    before = env.d.token.balanceOf(bob)
    receipt = env.d.accounts.withdraw(400 * UNIT, bob, 1, bal - 400 * UNIT, NO_PROOF, sender=bob)
    assert env.d.token.balanceOf(bob) - before == 400 * UNIT
    assert env.d.vault.balanceOf(bob) == bal - 400 * UNIT
    [w] = list(receipt.decode_logs(env.d.accounts.MarginWithdrawal))
    assert (w.amount, w.collateral) == (400 * UNIT, bal - 400 * UNIT)


def test_flat_account_withdraws_from_vault_directly(env, users):
    carol = users[2]
    env.fund(carol, 100 * UNIT)
    bal = int(env.d.vault.balanceOf(carol))
    env.d.vault.withdraw(bal, carol, sender=carol)
    assert env.d.vault.balanceOf(carol) == 0


def test_missing_proof_after_grace_makes_liquidatable(env, users):
    dave = users[3]
    env.fund(dave, 500 * UNIT)
    env.open(dave, Opening([3, 1], -50 * UNIT, 9))
    env.post_epoch(2)
    assert env.d.accounts.liquidationReason(dave) == 0  # inside the grace window
    env.pass_grace()
    assert env.d.accounts.liquidationReason(dave) == 1


def test_insolvency_proof_makes_liquidatable_at_once(env, users):
    erin = users[4]
    env.fund(erin, 100 * UNIT)
    op = Opening([-20, 0], 500 * UNIT, 11)
    env.open(erin, op)
    env.post_epoch(2)
    bal = int(env.d.vault.balanceOf(erin))
    env.allow(op.commitment, 2, erin, bal)
    env.d.accounts.submitProof(erin, 2, 2, bal, NO_PROOF, sender=env.owner)
    assert env.d.accounts.liquidationReason(erin) == 2
    env.fund(erin, 1)  # more collateral than the insolvency proof covers: no longer proven
    assert env.d.accounts.liquidationReason(erin) == 0


# ---------------------------------------------------------------- vault extras


def test_insurance_and_protocol_fees(env, users):
    f = users[5]
    env.d.token.mint(f, 50 * UNIT, sender=env.owner)
    env.d.token.approve(env.d.vault.address, 50 * UNIT, sender=f)
    before = int(env.d.vault.insuranceFund())
    receipt = env.d.vault.fundInsurance(50 * UNIT, sender=f)
    assert [e.insuranceFund for e in receipt.decode_logs(env.d.vault.InsuranceFunded)] == [before + 50 * UNIT]
    assert env.d.vault.insuranceFund() == before + 50 * UNIT
    with reverts(env.d.vault.Vault_InsufficientFees):
        env.d.vault.withdrawFees(int(env.d.vault.protocolFees()) + 1, f, sender=env.owner)


# ---------------------------------------------------------------- liquidation, end to end


def _liquidation_setup(env, users, q, cash, deposit):
    acct, bidder = users[0], users[6]
    env.fund(acct, deposit)
    env.fund(bidder, 10_000 * UNIT)
    op = Opening(q, cash, 1234)
    env.open(acct, op)
    env.post_epoch(2)
    env.pass_grace()
    return acct, bidder, op


def _model(env, accts):
    m = VaultModel(
        pool_units=int(env.d.vault.totalDeposits()), pool_shares=int(env.d.vault.totalShares()),
        insurance=int(env.d.vault.insuranceFund()), fees=int(env.d.vault.protocolFees()),
    )
    for a in accts:
        m.shares[a.address] = int(env.d.vault.sharesOf(a))
    return m


def _check_model(env, m, accts):
    assert int(env.d.vault.totalDeposits()) == m.pool_units and int(env.d.vault.totalShares()) == m.pool_shares
    assert int(env.d.vault.insuranceFund()) == m.insurance and int(env.d.vault.protocolFees()) == m.fees
    for a in accts:
        assert int(env.d.vault.sharesOf(a)) == m.shares.get(a.address, 0)
    assert int(env.d.token.balanceOf(env.d.vault.address)) == m.token_balance()


def test_liquidation_solvent_book_partial_fills(env, users):
    acct, bidder, op = _liquidation_setup(env, users, [10, -4], -250 * UNIT, 100 * UNIT)
    receipt = env.d.liquidation.startLiquidation(acct, op.q, op.cash, op.salt, MARKS, sender=bidder)
    [st] = list(receipt.decode_logs(env.d.liquidation.LiquidationStarted))
    assert (st.account, st.epochId, st.reason, list(st.positions), st.cash) == (acct.address, 2, 1, op.q, op.cash)
    start = int(st.startTime)
    m = _model(env, [acct, bidder])
    book, cash, fee_due = list(op.q), op.cash, 0
    for frac, dt in ((WAD // 3, 600), (WAD // 2, 600), (WAD, 1200)):
        env.chain.pending_timestamp = start + dt if frac == WAD // 3 else env.chain.pending_timestamp + dt
        now = int(env.chain.pending_timestamp)
        sl = take_slice(book, cash, MARKS, frac)
        d_bps = discount_bps(start, now, AUCTION.duration_seconds, AUCTION.start_discount_bps, AUCTION.max_discount_bps)
        cost, _disc, fee = fill_terms(sl.value, sl.gross, d_bps, AUCTION.liquidation_fee_bps)
        receipt = env.d.liquidation.bid(acct, frac, cost, sender=bidder)
        [fill] = list(receipt.decode_logs(env.d.liquidation.AuctionFill))
        assert (list(fill.lots), fill.cashTaken, fill.value, fill.discountBps, fill.cost, fill.bookEmpty) == (
            list(sl.lots), sl.cash_taken, sl.value, d_bps, cost, sl.empty)
        if cost > 0:
            m.transfer(bidder.address, acct.address, cost)
        else:
            m.cover_shortfall(acct.address, bidder.address, -cost)
        book, cash, fee_due = list(sl.positions_after), sl.cash_after, fee_due + fee
        finished = list(receipt.decode_logs(env.d.liquidation.LiquidationFinished))
        if sl.empty:  # the emptying fill finishes the auction in the same transaction
            taken, _ins, _prot = m.collect_fee(acct.address, fee_due, AUCTION.protocol_fee_share_bps)
            [fin] = finished
            assert (fin.fee, fin.shortfall, fin.remainingCollateral) == (taken, 0, m.balance_of(acct.address))
        else:
            assert finished == [] and env.d.liquidation.getAuction(acct).active
        _check_model(env, m, [acct, bidder])
    assert sl.empty
    assert env.d.accounts.commitmentOf(acct) == 0 and not env.d.liquidation.getAuction(acct).active
    assert [list(x) for x in env.d.liquidation.getBook(acct)] == [[], []]
    with reverts(env.d.liquidation.Liquidation_NotInLiquidation, account=acct.address):
        env.d.liquidation.finishLiquidation(acct, sender=bidder)


def test_liquidation_insolvent_book_uses_insurance_then_socializes(env, users):
    # a big short with positive cash: the book's value is negative and exceeds the collateral
    acct, bidder, op = _liquidation_setup(env, users, [-100, 0], 2_000 * UNIT, 500 * UNIT)
    others = users[1:3]
    for o in others:
        env.fund(o, 300 * UNIT)
    env.d.token.mint(env.owner, 200 * UNIT, sender=env.owner)
    env.d.token.approve(env.d.vault.address, 200 * UNIT, sender=env.owner)
    env.d.vault.fundInsurance(200 * UNIT, sender=env.owner)
    env.d.liquidation.startLiquidation(acct, op.q, op.cash, op.salt, MARKS, sender=bidder)
    everyone = [acct, bidder, *others]
    m = _model(env, everyone)
    now = int(env.chain.pending_timestamp)
    a = env.d.liquidation.getAuction(acct)
    d_bps = discount_bps(int(a.startTime), now, AUCTION.duration_seconds, AUCTION.start_discount_bps, AUCTION.max_discount_bps)
    sl = take_slice(op.q, op.cash, MARKS, WAD)
    value, gross = book_value(op.q, op.cash, MARKS)
    rate, underwater = discount_cap(int(env.d.vault.balanceOf(acct)) + value, gross)
    assert underwater and (int(a.discountRateWad), a.underwater) == (rate, True)
    cost, _d, fee = fill_terms(sl.value, sl.gross, d_bps, AUCTION.liquidation_fee_bps, rate, underwater)
    assert cost < -(500 + 200) * UNIT  # needs the insurance fund and socialization
    receipt = env.d.liquidation.bid(acct, WAD, 0, sender=bidder)
    split = m.cover_shortfall(acct.address, bidder.address, -cost)
    m.collect_fee(acct.address, fee, AUCTION.protocol_fee_share_bps)  # the emptying fill finished it
    [ev] = list(receipt.decode_logs(env.d.vault.ShortfallCovered))
    assert (ev.fromAccount, ev.fromInsurance, ev.socialized, ev.uncovered) == (
        split.from_account, split.from_insurance, split.socialized, split.uncovered)
    assert split.socialized > 0 and split.uncovered == 0
    _check_model(env, m, everyone)
    # every other balance took the same haircut ratio (up to one unit of rounding)
    for o in others:
        assert abs(int(env.d.vault.balanceOf(o)) - m.balance_of(o.address)) == 0
        assert int(env.d.vault.balanceOf(o)) < 300 * UNIT
    [fin] = list(receipt.decode_logs(env.d.liquidation.LiquidationFinished))
    assert fin.shortfall == split.from_insurance + split.socialized + split.uncovered
    assert env.d.vault.balanceOf(acct) == 0 and env.d.accounts.commitmentOf(acct) == 0


def test_auction_params_setter(env):
    receipt = env.d.liquidation.setAuctionParams((100, 1_000, 600, 30, 0), sender=env.owner)
    assert len(list(receipt.decode_logs(env.d.liquidation.AuctionParamsSet))) == 1
    assert env.d.liquidation.auctionParams().durationSeconds == 600


def test_grace_period_setter(env):
    receipt = env.d.accounts.setGracePeriod(GRACE * 2, sender=env.owner)
    assert [e.seconds_ for e in receipt.decode_logs(env.d.accounts.GracePeriodSet)] == [GRACE * 2]
