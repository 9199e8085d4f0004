"""A custom-error revert for every bad input, with nothing half-written."""

from __future__ import annotations

import pytest
from ape import reverts
from conftest import ADDONS, BTC, MARKS, NO_PROOF, PNL, UNIT, Opening

from offchain.mirror.auction import WAD
from offchain.mirror.oracle import PriceReport, sign_report, to_price_units
from prover.field import R

SECP_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# ---------------------------------------------------------------- oracle: prices




def _next(env, usd=30_000, dt=1, rnd=None, ts=None):
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + dt
    last = int(env.d.oracle.latestRound(BTC).roundId)
    return PriceReport(BTC, last + 1 if rnd is None else rnd, to_price_units(usd) if isinstance(usd, (int, str)) and not (
        isinstance(usd, int) and usd <= 0) else usd, int(env.chain.pending_timestamp) if ts is None else ts)


def _sign(env, rep, who):
    return sign_report(rep, [a.private_key for a in who], env.d.chain_id, str(env.d.oracle.address))


def _submit(env, rep, sigs):
    return env.d.oracle.submitReport(rep.as_tuple(), sigs, sender=env.owner)


@pytest.mark.parametrize("price", [0, -1, -(10**18)])
def test_zero_and_negative_prices(env, signers, price):
    rep = _next(env)
    rep = PriceReport(rep.feed_id, rep.round, price, rep.observed_at)
    with reverts(env.d.oracle.Oracle_InvalidPrice, answer=price):
        _submit(env, rep, _sign(env, rep, signers[:2]))


def test_out_of_bound_price(env, signers):
    rep = _next(env)
    rep = PriceReport(rep.feed_id, rep.round, to_price_units("10000000") + 1, rep.observed_at)
    with reverts(env.d.oracle.Oracle_PriceOutOfBounds):
        _submit(env, rep, _sign(env, rep, signers[:2]))


def test_future_dated_report(env, signers):
    rep = _next(env, ts=int(env.chain.blocks.head.timestamp) + 3_600)
    with reverts(env.d.oracle.Oracle_FutureTimestamp):
        _submit(env, rep, _sign(env, rep, signers[:2]))


def test_stale_report(env, signers):
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 7_200
    env.chain.mine()
    last = env.d.oracle.latestRound(BTC)
    rep = PriceReport(BTC, int(last.roundId) + 1, to_price_units(30_000), int(last.updatedAt) + 1)  # 2h old, max 1h
    with reverts(env.d.oracle.Oracle_StaleReport):
        _submit(env, rep, _sign(env, rep, signers[:2]))


def test_stale_price_on_checked_read(env):
    env.chain.pending_timestamp = int(env.chain.blocks.head.timestamp) + 3 * 86_400
    env.chain.mine()
    with reverts(env.d.oracle.Oracle_StalePrice):
        env.d.oracle.latestPrice(BTC)


def test_replayed_report(env, signers):
    rep = _next(env)
    sigs = _sign(env, rep, signers[:2])
    _submit(env, rep, sigs)
    env.chain.pending_timestamp += 5
    with reverts(env.d.oracle.Oracle_RoundNotIncreasing, round=rep.round, latestRound=rep.round):
        _submit(env, rep, sigs)


def test_not_newer_observation(env, signers):
    first = _next(env)
    _submit(env, first, _sign(env, first, signers[:2]))
    rep = PriceReport(BTC, first.round + 1, first.price, first.observed_at)
    with reverts(env.d.oracle.Oracle_StaleTimestamp):
        _submit(env, rep, _sign(env, rep, signers[:2]))


# ---------------------------------------------------------------- oracle: signatures


def test_too_few_signatures(env, signers):
    rep = _next(env)
    with reverts(env.d.oracle.Oracle_NotEnoughSignatures, got=1, threshold=2):
        _submit(env, rep, _sign(env, rep, signers[:1]))


def test_duplicate_signer(env, signers):
    rep = _next(env)
    [sig] = _sign(env, rep, signers[:1])
    with reverts(env.d.oracle.Oracle_DuplicateSigner, signer=signers[0].address):
        _submit(env, rep, [sig, sig])


def test_unsorted_signers(env, signers):
    rep = _next(env)
    sigs = _sign(env, rep, signers[:2])
    with reverts(env.d.oracle.Oracle_SignersNotSorted):
        _submit(env, rep, sigs[::-1])


def test_signature_by_non_reporter(env, signers, accounts):
    rep = _next(env)
    stranger = accounts[4]
    with reverts(env.d.oracle.Oracle_UnknownSigner):
        _submit(env, rep, _sign(env, rep, sorted([signers[0], stranger], key=lambda a: int(str(a.address), 16))))


def test_signature_over_other_data(env, signers):
    rep = _next(env)
    other = PriceReport(rep.feed_id, rep.round, rep.price + 1, rep.observed_at)
    with reverts():  # recovers to some unknown address, or out of order
        _submit(env, rep, _sign(env, other, signers[:2]))
    assert env.d.oracle.latestRound(BTC).roundId == rep.round - 1


def test_malleable_and_garbage_signatures(env, signers):
    rep = _next(env)
    sigs = _sign(env, rep, signers[:2])
    v, r, s = sigs[0]
    high_s = (SECP_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    with reverts(env.d.oracle.Oracle_InvalidSignature, index=0):
        _submit(env, rep, [(55 - v, r, high_s), sigs[1]])  # the malleated twin
    with reverts(env.d.oracle.Oracle_InvalidSignature, index=0):
        _submit(env, rep, [(29, r, s), sigs[1]])
    with reverts(env.d.oracle.Oracle_InvalidSignature, index=1):
        _submit(env, rep, [sigs[0], (27, b"\x00" * 32, b"\x00" * 32)])


def test_push_needs_reporter_and_threshold_one(env, signers, accounts):
    with reverts(env.d.oracle.Oracle_Unauthorized):
        env.d.oracle.pushPrice(BTC, 1, env.chain.pending_timestamp, sender=accounts[4])
    with reverts(env.d.oracle.Oracle_NotEnoughSignatures):
        env.d.oracle.pushPrice(BTC, to_price_units(30_000), env.chain.pending_timestamp, sender=signers[0])


def test_oracle_admin_bounds(env, accounts):
    with reverts(env.d.oracle.Oracle_BadThreshold):
        env.d.oracle.setThreshold(5, sender=env.owner)
    with reverts(env.d.oracle.Oracle_BadThreshold):
        env.d.oracle.setReporter(env.owner, False, sender=env.owner)  # the only reporter, threshold 1
    with reverts(env.d.oracle.Oracle_BadFeedConfig):
        env.d.oracle.configureFeed(BTC, (True, False, False, 60, 60, 100, 0, 10), sender=env.owner)
    with reverts(env.d.oracle.Oracle_UnknownFeed):
        env.d.oracle.pushPrice(b"\x01" * 32, 1, env.chain.pending_timestamp, sender=env.owner)
    with reverts(env.d.oracle.Oracle_NotGuardian):
        env.d.oracle.haltFeed(BTC, sender=accounts[4])
    with reverts(env.d.vault.Guard_NotGuardian):
        env.d.vault.pause(sender=accounts[4])


# ---------------------------------------------------------------- epochs


def test_epoch_reverts(env, accounts):
    e = env.d.epochs
    with reverts(e.Epochs_Unauthorized):
        e.postEpoch(env.epoch_input(2), sender=accounts[4])
    with reverts(e.Epochs_EpochNotIncreasing, epochId=1, latest=1):
        e.postEpoch(env.epoch_input(1), sender=env.owner)
    with reverts(e.Epochs_BadDimensions):
        e.postEpoch(env.epoch_input(2, marks=[1], pnl=PNL, addons=ADDONS, digest=1), sender=env.owner)
    with reverts(e.Epochs_ValueOutOfBounds, field=0, index=1):
        e.postEpoch(env.epoch_input(2, marks=[1, 2**64], digest=1), sender=env.owner)
    with reverts(e.Epochs_ValueOutOfBounds, field=1, index=2):
        e.postEpoch(env.epoch_input(2, pnl=[[0, 0, -(2**64)], [0, 0, 0]], digest=1), sender=env.owner)
    with reverts(e.Epochs_ValueOutOfBounds, field=2, index=0):
        e.postEpoch(env.epoch_input(2, addons=[2**64, 0], digest=1), sender=env.owner)
    with reverts(e.Epochs_BadImFactor):
        e.postEpoch(env.epoch_input(2, im_bps=9_999, digest=1), sender=env.owner)
    with reverts(e.Epochs_DigestNotInField):
        e.postEpoch(env.epoch_input(2, digest=R), sender=env.owner)
    with reverts(e.Epochs_BadOracleRound):
        e.postEpoch(env.epoch_input(2, oracle_round=10**6), sender=env.owner)
    with reverts(e.Epochs_BadTimestamp):
        e.postEpoch(env.epoch_input(2, timestamp=int(env.chain.blocks.head.timestamp) + 10_000), sender=env.owner)
    with reverts(e.Epochs_NoEpoch):
        e.getEpoch(99)
    assert e.currentEpochId() == 1


# ---------------------------------------------------------------- accounts


@pytest.fixture
def alice(env, users):
    a = users[0]
    env.fund(a, 1_000 * UNIT)
    return a


@pytest.fixture
def opened(env, alice):
    op = Opening([4, -2], -50 * UNIT, 77)
    op = env.open(alice, op)
    return op


def test_proof_for_wrong_epoch(env, alice, opened):
    env.post_epoch(2)
    env.allow(opened.commitment, 0, alice, 1_000 * UNIT, digest=env.digest(1))
    with reverts(env.d.accounts.Accounts_WrongEpoch, epochId=1, currentEpochId=2):
        env.d.accounts.submitProof(alice, 1, 0, 1_000 * UNIT, NO_PROOF, sender=env.owner)
    with reverts(env.d.accounts.Accounts_InvalidProof):  # a proof against epoch 1's digest, claimed for epoch 2
        env.d.accounts.submitProof(alice, 2, 0, 1_000 * UNIT, NO_PROOF, sender=env.owner)
    assert env.d.accounts.accountState(alice).provenEpoch == 1


def test_proof_for_wrong_account(env, alice, opened, users):
    bob = users[1]
    env.fund(bob, 1_000 * UNIT)
    env.open(bob, Opening([1, 1], 0, 5))
    env.post_epoch(2)
    b = int(env.d.vault.balanceOf(bob))
    env.allow(opened.commitment, 0, alice, b)  # alice's statement
    with reverts(env.d.accounts.Accounts_InvalidProof):
        env.d.accounts.submitProof(bob, 2, 0, b, NO_PROOF, sender=env.owner)


def test_replayed_proofs(env, alice, opened):
    env.post_epoch(2)
    env.prove_mm(alice, opened)
    with reverts(env.d.accounts.Accounts_ProofReplayed, kind=0):
        env.prove_mm(alice, opened)
    env.allow(opened.commitment, 1, alice, 900 * UNIT)
    env.d.accounts.withdraw(10 * UNIT, alice, 2, 900 * UNIT, NO_PROOF, sender=alice)
    env.fund(alice, 10 * UNIT)
    with reverts(env.d.accounts.Accounts_ProofReplayed, kind=1):
        env.d.accounts.withdraw(10 * UNIT, alice, 2, 900 * UNIT, NO_PROOF, sender=alice)


def test_public_inputs_outside_the_field(env, alice, opened):
    with reverts(env.d.accounts.Accounts_InputNotInField, index=4):
        env.d.accounts.submitProof(alice, 1, 0, R, NO_PROOF, sender=env.owner)
    env.fund(env.accounts[9], 100 * UNIT)
    batch = env.prepare_open(env.accounts[9], Opening([1, 0], -30 * UNIT, 3))
    t = batch.contract_batch([NO_PROOF] * 2)
    mine = 0 if t[3][0][0] == env.accounts[9].address else 1
    t[3][mine] = (t[3][mine][0], t[3][mine][1], R + 5, *t[3][mine][3:])
    with reverts(env.d.accounts.Accounts_InputNotInField, index=1):
        env.d.settlement.settle(t, sender=env.owner)
    with reverts(env.d.accounts.Accounts_InputNotInField, index=4):
        env.d.accounts.withdraw(1, alice, 1, R, NO_PROOF, sender=alice)


def test_bad_kind_and_collateral_claims(env, alice, opened):
    env.post_epoch(2)
    bal = int(env.d.vault.balanceOf(alice))
    with reverts(env.d.accounts.Accounts_BadKind, kind=3):
        env.d.accounts.submitProof(alice, 2, 3, 0, NO_PROOF, sender=env.owner)
    with reverts(env.d.accounts.Accounts_CollateralAboveBalance, collateral=bal + 1, balance=bal):
        env.d.accounts.submitProof(alice, 2, 0, bal + 1, NO_PROOF, sender=env.owner)
    with reverts(env.d.accounts.Accounts_CollateralBelowBalance, collateral=bal - 1, balance=bal):
        env.d.accounts.submitProof(alice, 2, 2, bal - 1, NO_PROOF, sender=env.owner)
    with reverts(env.d.accounts.Accounts_NoCommitment):
        env.d.accounts.submitProof(env.accounts[9], 2, 0, 0, NO_PROOF, sender=env.owner)
    env.fund(env.accounts[9], 100 * UNIT)
    batch = env.prepare_open(env.accounts[9], Opening([1, 0], -30 * UNIT, 3))
    t = batch.contract_batch([NO_PROOF] * 2)
    t[3][0] = (t[3][0][0], t[3][0][1], 0, *t[3][0][3:])
    with reverts(env.d.accounts.Accounts_ZeroCommitment):
        env.d.settlement.settle(t, sender=env.owner)


def test_withdrawing_beyond_free_collateral(env, alice, opened):
    bal = int(env.d.vault.balanceOf(alice))
    env.allow(opened.commitment, 1, alice, bal - 300 * UNIT)
    with reverts(env.d.accounts.Accounts_InsufficientFreeCollateral, amount=300 * UNIT + 1, free=300 * UNIT):
        env.d.accounts.withdraw(300 * UNIT + 1, alice, 1, bal - 300 * UNIT, NO_PROOF, sender=alice)
    with reverts(env.d.vault.Vault_AccountHasPositions):
        env.d.vault.withdraw(1, alice, sender=alice)
    assert env.d.vault.balanceOf(alice) == bal


def test_module_only_entry_points(env, alice):
    with reverts(env.d.vault.Vault_Unauthorized):
        env.d.vault.transferBalance(alice, env.owner, 1, sender=alice)
    with reverts(env.d.vault.Vault_Unauthorized):
        env.d.vault.withdrawFor(alice, 1, alice, sender=alice)
    with reverts(env.d.vault.Vault_Unauthorized):
        env.d.vault.coverShortfall(alice, alice, 1, sender=alice)
    with reverts(env.d.vault.Vault_ModulesAlreadySet):
        env.d.vault.setModules(alice, alice, alice, sender=env.owner)
    with reverts(env.d.vault.Vault_Unauthorized):
        env.d.vault.movePrivateCash(alice, 1, sender=alice)
    with reverts(env.d.vault.Vault_Unauthorized):
        env.d.vault.collectTradingFees(1, sender=alice)
    with reverts(env.d.accounts.Accounts_Unauthorized):
        env.d.accounts.beginLiquidation(alice, sender=alice)
    with reverts(env.d.accounts.Accounts_Unauthorized):
        env.d.accounts.endLiquidation(alice, sender=alice)
    with reverts(env.d.accounts.Accounts_BadModule):
        env.d.accounts.setModules(alice, alice, sender=env.owner)
    with reverts(env.d.accounts.Accounts_Unauthorized):  # only the modules apply transitions
        t = env.prepare_open(alice, Opening([1, 0], -30 * UNIT, 3)).contract_batch([NO_PROOF] * 2)[3][0]
        env.d.accounts.applyTransition((t[0], t[1], t[2], t[3], t[4], t[5], 1, 0, 1, 0, 0, [0] * 6, [], NO_PROOF),
                                       sender=alice)


# ---------------------------------------------------------------- liquidation


def test_liquidating_a_healthy_account(env, alice, opened, users):
    with reverts(env.d.liquidation.Liquidation_AccountHealthy, account=alice.address):
        env.start(alice, users[6])
    env.post_epoch(2)  # no proof yet, but inside the grace window
    with reverts(env.d.liquidation.Liquidation_AccountHealthy):
        env.start(alice, users[6])
    with reverts(env.d.liquidation.Liquidation_NoCommitment):
        env.d.liquidation.startLiquidation(users[5], ([0, 0], 0, 0, MARKS, [0, 0], [0, 0]), sender=users[6])


def test_liquidating_twice_and_bad_openings(env, alice, opened, users):
    liq = env.d.liquidation
    env.post_epoch(2)
    env.pass_grace()
    good = env.opening_of(alice)

    def opening(**patch):
        names = ("q", "cash", "salt", "marks", "funding", "settled")
        values = dict(zip(names, good))
        values.update(patch)
        return tuple(values[k] for k in names)

    with reverts(liq.Liquidation_CommitmentMismatch):
        liq.startLiquidation(alice, opening(salt=opened.salt + 1), sender=users[6])
    with reverts(liq.Liquidation_MarksMismatch):
        liq.startLiquidation(alice, opening(marks=[MARKS[0] + 1, MARKS[1]]), sender=users[6])
    with reverts(liq.Liquidation_BadLength):
        liq.startLiquidation(alice, opening(q=[4]), sender=users[6])
    with reverts(liq.Liquidation_OpeningOutOfBounds):
        liq.startLiquidation(alice, opening(q=[2**64, 0]), sender=users[6])
    with reverts(liq.Liquidation_OpeningOutOfBounds):
        liq.startLiquidation(alice, opening(salt=R), sender=users[6])
    with reverts(liq.Liquidation_FundingMismatch):
        liq.startLiquidation(alice, opening(funding=[1, 0]), sender=users[6])
    with reverts(liq.Liquidation_FundingMismatch):
        liq.startLiquidation(alice, opening(settled=[0, 7]), sender=users[6])
    env.start(alice, users[6])
    with reverts(liq.Liquidation_AlreadyInLiquidation, account=alice.address):
        env.start(alice, users[6])
    # the frozen account can neither prove nor withdraw
    with reverts(env.d.accounts.Accounts_InLiquidation):
        env.d.accounts.submitProof(alice, 2, 0, 0, NO_PROOF, sender=env.owner)
    bidder = users[6]
    env.fund(bidder, 1_000 * UNIT)
    with reverts(liq.Liquidation_AuctionNotComplete):
        liq.finishLiquidation(alice, sender=bidder)
    receipt = env.bid(alice, bidder, WAD, 10**30)  # the emptying fill closes the auction
    assert len(list(receipt.decode_logs(liq.LiquidationFinished))) == 1
    with reverts(liq.Liquidation_NoCommitment):  # liquidating again after it is closed
        liq.startLiquidation(alice, good, sender=bidder)
    with reverts(liq.Liquidation_NotInLiquidation):
        liq.finishLiquidation(alice, sender=bidder)


def test_a_book_opened_empty_is_closed_by_finish(env, users):
    liq = env.d.liquidation
    flat, bidder = users[2], users[6]
    env.fund(flat, 100 * UNIT)
    op = Opening([0, 0], 0, 5)
    op = env.open(flat, op)
    env.post_epoch(2)
    env.pass_grace()  # no proof for epoch 2: liquidatable, with nothing to sell
    env.start(flat, bidder)
    with reverts(liq.Liquidation_EmptyFill):
        env.bid(flat, bidder, WAD, 10**30)
    receipt = liq.finishLiquidation(flat, sender=bidder)
    [fin] = list(receipt.decode_logs(liq.LiquidationFinished))
    assert (fin.fee, fin.shortfall, fin.remainingCollateral) == (0, 0, 100 * UNIT)
    assert not liq.getAuction(flat).active and env.d.accounts.commitmentOf(flat) == 0


def test_bid_reverts(env, alice, opened, users):
    liq = env.d.liquidation
    bidder, poor = users[6], users[5]
    env.post_epoch(2)
    env.pass_grace()
    env.start(alice, bidder)
    env.fund(bidder, 1_000 * UNIT)
    with reverts(liq.Liquidation_BadFraction):
        env.bid(alice, bidder, 0, 10**30)
    with reverts(liq.Liquidation_BadFraction):
        env.bid(alice, bidder, WAD + 1, 10**30)
    with reverts(liq.Liquidation_SelfBid):
        env.bid(alice, alice, WAD, 10**30)
    with reverts(liq.Liquidation_PriceAboveLimit):
        env.bid(alice, bidder, WAD, 0)
    # 1e-18 of the book: every position rounds to zero, the value to one unit (rounded up)
    receipt = env.bid(alice, bidder, 1, 10**30)
    [fill] = list(receipt.decode_logs(liq.AuctionFill))
    assert (list(fill.lots), fill.value, fill.cashTaken, fill.cost) == ([0, 0], 1, 1, 1)
    with reverts(env.d.vault.Vault_InsufficientBalance):
        env.bid(alice, poor, WAD, 10**30)
    # a bidder with positions takes the slice over into its own book, but only with a valid
    # takeover proof (the mock verifier has not been told this one is valid)
    hedger = users[4]
    env.fund(hedger, 100 * UNIT)
    env.open(hedger, Opening([0, 1], -20 * UNIT, 3))
    with reverts(env.d.accounts.Accounts_InvalidProof):
        env.bid(alice, hedger, WAD, 10**30, allow=False)
    with reverts(liq.Liquidation_NotInLiquidation):
        env.bid(users[3], bidder, WAD, 10**30)
    with reverts(liq.Liquidation_BadParams):
        liq.setAuctionParams((500, 100, 600, 10, 0), sender=env.owner)
    assert list(liq.getBook(alice)[0]) == opened.q  # nothing half-done


# ---------------------------------------------------------------- adversarial tokens


def test_fee_on_transfer_token_is_refused(project, proto_owner, users):
    tok = project.FeeOnTransferToken.deploy(100, sender=proto_owner)
    vault = project.CollateralVault.deploy(tok.address, sender=proto_owner)
    tok.mint(users[0], 1_000, sender=proto_owner)
    tok.approve(vault.address, 1_000, sender=users[0])
    with reverts(vault.Vault_TransferAmountMismatch, expected=1_000, received=990):
        vault.deposit(1_000, sender=users[0])
    assert vault.totalDeposits() == 0


def test_false_returning_token_is_refused(project, proto_owner, users):
    tok = project.FalseReturningToken.deploy(sender=proto_owner)
    vault = project.CollateralVault.deploy(tok.address, sender=proto_owner)
    tok.mint(users[0], 1_000, sender=proto_owner)
    tok.approve(vault.address, 1_000, sender=users[0])
    vault.deposit(1_000, sender=users[0])
    tok.setFailing(True, sender=proto_owner)
    with reverts():  # SafeERC20FailedOperation from OpenZeppelin
        vault.withdraw(500, users[0], sender=users[0])
    with reverts():
        vault.deposit(10, sender=users[0])
    assert vault.balanceOf(users[0]) == 1_000 == tok.balanceOf(vault.address)


# ------------------------------------------------------------------ settlement (mock verifier)
def _pair_batch(env, buyer, seller, price=MARKS[0], size=3, limit=None):
    """``buyer`` buys ``size`` lots of instrument 0 from ``seller`` (the mock verifier allows each
    transition the reference holds true; nothing is sent)."""
    from offchain.devnet.batches import Trade, prepare_batch
    from prover.transitions import SIDE_BUY, SIDE_SELL

    ob = env.order(buyer, 0, SIDE_BUY, price if limit is None else limit, size)
    os_ = env.order(seller, 0, SIDE_SELL, price, size)
    parties = [env.party(buyer, [ob]), env.party(seller, [os_])]
    trade = Trade(0, price, size, str(buyer.address), ob.commitment, str(seller.address), os_.commitment)
    return prepare_batch(env.epoch, int(env.d.settlement.feeBps()), parties, [trade], env.SLOTS)


def _allowed(env, batch):
    for res in batch.results:
        env.allow_inputs(res.public)
    return batch.contract_batch([NO_PROOF] * len(batch.parties))


def test_settlement_reverts_with_the_mock_verifier(env, alice, opened, users):
    """The settlement's own checks and the statements a dishonest operator would need (the
    real-verifier twins are in test_transitions_real_verifier.py)."""
    from offchain.devnet.batches import NO_SIGNATURE
    from prover.errors import UnsatisfiedError

    bob = users[1]
    env.fund(bob, 1_000 * UNIT)
    st = env.d.settlement
    honest_batch = _pair_batch(env, bob, alice)
    honest = _allowed(env, honest_batch)
    # a fill without its trader's authorization: the buyer's order signed by someone else
    forged = _pair_batch(env, bob, alice)
    entries = [list(e) for e in _allowed(env, forged)[3]]
    i = [str(e[0]) for e in entries].index(str(bob.address))
    orders = [list(o) for o in entries[i][6]]
    sig = env.party(alice, [forged.parties[i].orders[0]]).signatures[0]
    orders[0][2] = sig
    entries[i][6] = [tuple(o) for o in orders]
    with reverts(st.Settlement_BadOrderSignature, index=i, slot=0):
        st.settle((*_allowed(env, forged)[:3], [tuple(e) for e in entries]), sender=env.owner)
    # a fill that breaks its order (a price above the buyer's limit): the reference refuses to make
    # the transition, and the commitments an operator would forge have no true statement
    with pytest.raises(UnsatisfiedError, match="worse than the order's limit"):
        _pair_batch(env, bob, alice, price=MARKS[0] + 1, limit=MARKS[0])
    # not zero-sum: the buyer's side alone (its statement counts two accounts: never allowed for one)
    one = (*honest[:3], [e for e in honest[3] if str(e[0]) == str(bob.address)])
    with reverts(env.d.accounts.Accounts_InvalidProof):
        st.settle(one, sender=env.owner)
    # unused order slots with a state, and an unsigned slot
    bad_slots = [list(e) for e in honest[3]]
    bad_slots[0][6] = [bad_slots[0][6][0], (0, 1, NO_SIGNATURE)]
    with reverts(st.Settlement_BadOrderSlots):
        st.settle((*honest[:3], [tuple(e) for e in bad_slots]), sender=env.owner)
    # the honest batch settles once; replayed, it reverts
    st.settle(honest, sender=env.owner)
    for res in honest_batch.results:
        env.openings[res.new.commitment()] = Opening(list(res.new.q), res.new.cash, res.new.salt)
    with reverts(st.Settlement_BatchReplayed):
        st.settle(honest, sender=env.owner)
    # a batch of an old epoch
    stale = _allowed(env, _pair_batch(env, alice, bob, size=1))
    env.post_epoch(2)
    with reverts(st.Settlement_WrongEpoch):
        st.settle(stale, sender=env.owner)
    # an empty batch
    with reverts(st.Settlement_BadBatch):
        st.settle((2, 1, 0, []), sender=env.owner)
