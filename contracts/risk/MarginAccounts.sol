// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {GuardianPausable} from "../access/GuardianPausable.sol";
import {Constants} from "../libraries/Constants.sol";
import {FieldMath} from "../libraries/FieldMath.sol";
import {IMarginAccounts} from "../interfaces/IMarginAccounts.sol";
import {IRiskEpochs} from "../interfaces/IRiskEpochs.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IGroth16Verifier} from "../interfaces/IGroth16Verifier.sol";

/// @title MarginAccounts
/// @notice Per-account position commitments, their proven transitions and their solvency proofs.
/// @dev Public inputs of every solvency proof: `[C, D_e, kind, account, collateral, FD_s]`
///      (docs/ARCHITECTURE.md); a commitment changes only by a proven transition
///      (`applyTransition` / `applyTransitions`, from the settlement and liquidation modules) or a liquidation's close.
///      An MM (or IM) proof for the current epoch marks the account fresh (`provenEpoch`); this
///      marker is also the per-(account, epoch) nullifier, so `submitProof` stays one
///      verification plus a few slots. IM statements used for withdrawals and commitment updates
///      are nullified by their hash. A solvency proof's `collateral` must not exceed the balance
///      (equity grows with collateral), an insolvency proof's must not be below it.
contract MarginAccounts is IMarginAccounts, GuardianPausable, ReentrancyGuardTransient {
    /// @notice The collateral vault.
    ICollateralVault public immutable vault;
    /// @notice The risk-epoch registry.
    IRiskEpochs public immutable epochs;
    /// @notice The Groth16 verifier of the solvency circuit.
    IGroth16Verifier public immutable verifier;
    /// @notice The Groth16 verifier of the transition circuit.
    IGroth16Verifier public immutable transitionVerifier;
    /// @notice The liquidation module.
    address public liquidation;
    /// @notice The settlement module (trades).
    address public settlement;
    /// @notice Seconds after an epoch is posted during which a missing proof is tolerated.
    uint64 public gracePeriodSeconds;

    /// @inheritdoc IMarginAccounts
    mapping(address account => uint256) public commitmentOf;
    mapping(address account => AccountState) private _state;
    mapping(address account => uint256) private _insolventCollateral;
    /// @notice Hashes of accepted IM statements (withdrawals and commitment updates).
    mapping(bytes32 statement => bool) public statementUsed;

    /// @param owner_ Owner (grace window, liquidation module, guardian).
    /// @param vault_ The collateral vault.
    /// @param epochs_ The risk-epoch registry.
    /// @param verifier_ The solvency verifier.
    /// @param transitionVerifier_ The transition verifier.
    /// @param gracePeriodSeconds_ The initial grace window.
    constructor(
        address owner_,
        ICollateralVault vault_,
        IRiskEpochs epochs_,
        IGroth16Verifier verifier_,
        IGroth16Verifier transitionVerifier_,
        uint64 gracePeriodSeconds_
    ) GuardianPausable(owner_) {
        vault = vault_;
        epochs = epochs_;
        verifier = verifier_;
        transitionVerifier = transitionVerifier_;
        gracePeriodSeconds = gracePeriodSeconds_;
        emit GracePeriodSet(gracePeriodSeconds_);
    }

    /// @notice Wire the liquidation and settlement modules (owner, once).
    /// @param liquidation_ The liquidation module, nonzero.
    /// @param settlement_ The settlement module, nonzero.
    function setModules(address liquidation_, address settlement_) external onlyOwner {
        if (liquidation != address(0) || liquidation_ == address(0)) revert Accounts_BadModule(liquidation_);
        if (settlement_ == address(0)) revert Accounts_BadModule(settlement_);
        liquidation = liquidation_;
        settlement = settlement_;
        emit ModulesSet(liquidation_, settlement_);
    }

    /// @notice Set the grace window (owner only).
    /// @param seconds_ Seconds after an epoch is posted during which a missing proof is tolerated.
    function setGracePeriod(uint64 seconds_) external onlyOwner {
        gracePeriodSeconds = seconds_;
        emit GracePeriodSet(seconds_);
    }

    /// @inheritdoc IMarginAccounts
    function hasCommitment(address account) external view returns (bool) {
        return commitmentOf[account] != 0;
    }

    /// @inheritdoc IMarginAccounts
    function accountState(address account) external view returns (AccountState memory) {
        return _state[account];
    }

    /// @inheritdoc IMarginAccounts
    function submitProof(address account, uint64 epochId, uint8 kind, uint256 collateral, uint256[8] calldata proof)
        external
        whenNotPaused
    {
        (uint64 current, uint256 digest) = epochs.currentDigest();
        _checkSubmission(epochId, current, kind, collateral);
        uint256 c = commitmentOf[account];
        uint8 problem = _stateProblem(account, c, c, current, kind, collateral);
        if (problem != 0) _revertFor(problem, account, current, kind, collateral);
        _accept(account, c, current, digest, kind, collateral, proof);
    }

    /// @inheritdoc IMarginAccounts
    /// @dev Invariant: no account can make a keeper's batch revert. Everything an account can
    ///      change on its own before the batch lands (proving itself, a new commitment, a
    ///      withdrawal or deposit that moves its balance past the proof's collateral, being
    ///      liquidated) makes its entry skipped with `ProofSkipped`; only the submitter's own
    ///      mistakes (wrong epoch, bad kind or input, an invalid proof) revert the batch.
    function submitProofs(uint64 epochId, ProofSubmission[] calldata batch) external whenNotPaused {
        (uint64 current, uint256 digest) = epochs.currentDigest();
        uint256 n = Constants.NUM_PUBLIC_INPUTS;
        uint256[8][] memory proofs = new uint256[8][](batch.length);
        uint256[] memory inputs = new uint256[](batch.length * n);
        uint256 k = 0;
        for (uint256 i = 0; i < batch.length; ++i) {
            ProofSubmission calldata p = batch[i];
            _checkSubmission(epochId, current, p.kind, p.collateral);
            uint8 skip = _stateProblem(p.account, commitmentOf[p.account], p.commitment, current, p.kind, p.collateral);
            if (skip != 0) {
                emit ProofSkipped(p.account, current, p.kind, skip);
                continue;
            }
            // recorded now (a second entry for the account in this batch is then skipped) and
            // undone with everything else if the batch does not verify below
            _record(p.account, p.commitment, current, p.kind, p.collateral);
            uint256[8] memory proof = proofs[k];
            for (uint256 w = 0; w < 8; ++w) {
                proof[w] = p.proof[w];
            }
            uint256 o = k * n;
            inputs[o] = p.commitment;
            inputs[o + 1] = digest;
            inputs[o + 2] = p.kind;
            inputs[o + 3] = uint256(uint160(p.account));
            inputs[o + 4] = p.collateral;
            inputs[o + 5] = fundingDigestOf(p.account);
            ++k;
        }
        if (k == 0) return;
        assembly ("memory-safe") {
            // drop the skipped entries' unused tail
            mstore(proofs, k)
            mstore(inputs, mul(k, n))
        }
        // k proofs, k + 3 pairings: one random linear combination (docs/contracts.md)
        if (!verifier.verifyBatch(proofs, inputs)) revert Accounts_InvalidProof();
    }

    /// @dev The submitter's own mistakes: revert in every path.
    function _checkSubmission(uint64 epochId, uint64 current, uint8 kind, uint256 collateral) private pure {
        if (kind > Constants.KIND_INSOLVENCY) revert Accounts_BadKind(kind);
        if (collateral >= FieldMath.SNARK_SCALAR_FIELD) revert Accounts_InputNotInField(4);
        if (epochId != current) revert Accounts_WrongEpoch(epochId, current);
    }

    /// @dev Why the account's current state no longer admits this proof (a `Constants.SKIP_*`
    ///      reason), or 0. `expected` is the commitment the proof is about.
    function _stateProblem(address account, uint256 c, uint256 expected, uint64 current, uint8 kind, uint256 collateral)
        private
        view
        returns (uint8)
    {
        if (c == 0 || c != expected) return Constants.SKIP_COMMITMENT_CHANGED;
        AccountState memory st = _state[account];
        if (st.inLiquidation) return Constants.SKIP_IN_LIQUIDATION;
        uint256 balance = vault.balanceOf(account);
        if (kind == Constants.KIND_INSOLVENCY) {
            if (st.insolventEpoch >= current) return Constants.SKIP_ALREADY_PROVEN;
            if (collateral < balance) return Constants.SKIP_COLLATERAL_STALE;
        } else {
            if (st.provenEpoch >= current) return Constants.SKIP_ALREADY_PROVEN;
            if (collateral > balance) return Constants.SKIP_COLLATERAL_STALE;
        }
        return 0;
    }

    /// @dev The single-proof path reverts with the specific error for each problem.
    function _revertFor(uint8 problem, address account, uint64 current, uint8 kind, uint256 collateral) private view {
        if (problem == Constants.SKIP_COMMITMENT_CHANGED) revert Accounts_NoCommitment(account);
        if (problem == Constants.SKIP_IN_LIQUIDATION) revert Accounts_InLiquidation(account);
        if (problem == Constants.SKIP_ALREADY_PROVEN) revert Accounts_ProofReplayed(account, current, kind);
        uint256 balance = vault.balanceOf(account);
        if (kind == Constants.KIND_INSOLVENCY) revert Accounts_CollateralBelowBalance(collateral, balance);
        revert Accounts_CollateralAboveBalance(collateral, balance);
    }

    function _accept(
        address account,
        uint256 c,
        uint64 current,
        uint256 digest,
        uint8 kind,
        uint256 collateral,
        uint256[8] calldata proof
    ) private {
        _verify(c, digest, kind, account, collateral, fundingDigestOf(account), proof);
        _record(account, c, current, kind, collateral);
    }

    function _record(address account, uint256 c, uint64 current, uint8 kind, uint256 collateral) private {
        if (kind == Constants.KIND_INSOLVENCY) {
            _state[account].insolventEpoch = current;
            _insolventCollateral[account] = collateral;
        } else {
            _state[account].provenEpoch = current;
        }
        emit ProofAccepted(account, current, kind, c, collateral, msg.sender);
    }

    /// @inheritdoc IMarginAccounts
    function applyTransition(Transition calldata t) external whenNotPaused {
        if (msg.sender != settlement && msg.sender != liquidation) revert Accounts_Unauthorized(msg.sender);
        (uint64 current, uint256 digest) = epochs.currentDigest();
        uint256 n = _numInstruments(current);
        if (!transitionVerifier.verifyProof(t.proof, _checkTransition(t, current, digest, n))) revert Accounts_InvalidProof();
        _commitTransition(t, current);
    }

    /// @inheritdoc IMarginAccounts
    /// @dev Every transition is checked (the same checks and errors as `applyTransition`, in entry
    ///      order) before the proofs are verified together and before any state is written; the
    ///      settlement module guarantees distinct accounts, so the checks read untouched state.
    function applyTransitions(Transition[] calldata ts) external whenNotPaused {
        if (msg.sender != settlement) revert Accounts_Unauthorized(msg.sender);
        uint256 k = ts.length;
        (uint64 current, uint256 digest) = epochs.currentDigest();
        uint256 n = _numInstruments(current);
        uint256 width = Constants.NUM_TRANSITION_INPUTS + n + 1;
        uint256[8][] memory proofs = new uint256[8][](k);
        uint256[] memory inputs = new uint256[](k * width);
        for (uint256 i = 0; i < k; ++i) {
            uint256[] memory in_ = _checkTransition(ts[i], current, digest, n);
            uint256 o = i * width;
            for (uint256 j = 0; j < width; ++j) {
                inputs[o + j] = in_[j];
            }
            proofs[i] = ts[i].proof;
        }
        // k proofs, k + 3 pairings: one random linear combination (docs/contracts.md)
        if (!transitionVerifier.verifyBatch(proofs, inputs)) revert Accounts_InvalidProof();
        for (uint256 i = 0; i < k; ++i) {
            _commitTransition(ts[i], current);
        }
    }

    function _numInstruments(uint64 current) private view returns (uint256) {
        return epochs.getEpoch(current).numInstruments;
    }

    /// @dev Everything but the proof: the starting commitment, the liquidation flag, the bounds and
    ///      the balance. Returns the proof's public inputs.
    function _checkTransition(Transition calldata t, uint64 current, uint256 digest, uint256 n)
        private
        view
        returns (uint256[] memory)
    {
        address account = t.account;
        uint256 old = commitmentOf[account];
        if (t.commitmentOld != old) revert Accounts_StaleCommitment(account, t.commitmentOld, old);
        AccountState memory st = _state[account];
        if (st.inLiquidation) revert Accounts_InLiquidation(account);
        if (t.commitmentNew == 0) revert Accounts_ZeroCommitment();
        if (t.commitmentNew >= FieldMath.SNARK_SCALAR_FIELD) revert Accounts_InputNotInField(1);
        if (t.collateral >= FieldMath.SNARK_SCALAR_FIELD) revert Accounts_InputNotInField(5);
        if (!(t.cashOut > -int256(Constants.CASH_BOUND) && t.cashOut < int256(Constants.CASH_BOUND))) {
            revert Accounts_BadTransition(account);
        }
        uint256 balance = vault.balanceOf(account);
        if (t.cashOut < 0 && uint256(-t.cashOut) > balance) revert Accounts_CollateralAboveBalance(uint256(-t.cashOut), balance);
        uint256 after_ = t.cashOut >= 0 ? balance + uint256(t.cashOut) : balance - uint256(-t.cashOut);
        if (t.collateral > after_) revert Accounts_CollateralAboveBalance(t.collateral, after_);
        uint256 fd = epochs.fundingDigestOf(old == 0 ? current : st.settledEpoch);
        return _transitionInputs(t, digest, fd, n);
    }

    /// @dev Write a checked and verified transition.
    function _commitTransition(Transition calldata t, uint64 current) private {
        address account = t.account;
        uint256 old = commitmentOf[account];
        commitmentOf[account] = t.commitmentNew;
        AccountState storage s_ = _state[account];
        s_.settledEpoch = current;
        if (t.fresh) s_.provenEpoch = current;
        _clearInsolvency(account);
        if (t.cashOut != 0) vault.movePrivateCash(account, t.cashOut);
        emit CommitmentUpdated(account, current, old, t.commitmentNew);
        emit TransitionApplied(account, current, t.cashOut, t.fresh, msg.sender);
    }

    /// @dev The transition circuit's public inputs (`prover.transitions.public_input_names`).
    function _transitionInputs(Transition calldata t, uint256 digest, uint256 fd, uint256 n)
        private
        pure
        returns (uint256[] memory in_)
    {
        if (t.publicDelta.length != 0 && t.publicDelta.length != n + 1) revert Accounts_BadTransition(t.account);
        in_ = new uint256[](Constants.NUM_TRANSITION_INPUTS + n + 1);
        in_[0] = t.commitmentOld;
        in_[1] = t.commitmentNew;
        in_[2] = digest;
        in_[3] = fd;
        in_[4] = uint256(uint160(t.account));
        in_[5] = t.collateral;
        in_[6] = FieldMath.toField(t.cashOut);
        in_[7] = t.fillTable;
        in_[8] = t.index;
        in_[9] = t.count;
        in_[10] = t.feeBps;
        in_[11] = t.feeTotal;
        in_[12] = t.fresh ? 1 : 0;
        for (uint256 j = 0; j < 6; ++j) {
            in_[13 + j] = t.orders[j];
        }
        for (uint256 i = 0; i < t.publicDelta.length; ++i) {
            int256 d = t.publicDelta[i];
            if (!(d > -int256(Constants.CASH_BOUND) && d < int256(Constants.CASH_BOUND))) revert Accounts_BadTransition(t.account);
            in_[Constants.NUM_TRANSITION_INPUTS + i] = FieldMath.toField(d);
        }
    }

    /// @inheritdoc IMarginAccounts
    function fundingDigestOf(address account) public view returns (uint256) {
        if (commitmentOf[account] == 0) return epochs.fundingDigestOf(epochs.currentEpochId());
        return epochs.fundingDigestOf(_state[account].settledEpoch);
    }

    /// @inheritdoc IMarginAccounts
    function withdraw(uint256 amount, address to, uint64 epochId, uint256 collateral, uint256[8] calldata proof)
        external
        whenNotPaused
        nonReentrant
    {
        address account = msg.sender;
        uint256 c = commitmentOf[account];
        if (c == 0) revert Accounts_NoCommitment(account);
        if (_state[account].inLiquidation) revert Accounts_InLiquidation(account);
        uint64 current = _useImStatement(account, c, epochId, collateral);
        uint256 balance = vault.balanceOf(account);
        uint256 free = balance > collateral ? balance - collateral : 0;
        if (amount > free) revert Accounts_InsufficientFreeCollateral(account, amount, free);
        (, uint256 digest) = epochs.currentDigest();
        _verify(c, digest, Constants.KIND_IM, account, collateral, fundingDigestOf(account), proof);
        _state[account].provenEpoch = current;
        vault.withdrawFor(account, amount, to);
        emit ProofAccepted(account, current, Constants.KIND_IM, c, collateral, account);
        emit MarginWithdrawal(account, to, amount, collateral, current);
    }

    /// @inheritdoc IMarginAccounts
    function liquidationReason(address account) public view returns (uint8) {
        if (commitmentOf[account] == 0) return 0;
        AccountState memory st = _state[account];
        if (st.inLiquidation) return 0;
        uint64 current = epochs.currentEpochId();
        if (current == 0) return 0;
        if (st.insolventEpoch == current && _insolventCollateral[account] >= vault.balanceOf(account)) {
            return Constants.REASON_INSOLVENT;
        }
        if (st.provenEpoch < current) {
            // Invariant: time spent paused is not counted against the grace window (proofs are
            // refused while paused), so the window is measured in unpaused seconds.
            (,, uint64 postedAt) = epochs.currentEpoch();
            if (_unpausedSecondsSince(postedAt) > gracePeriodSeconds) return Constants.REASON_NO_FRESH_PROOF;
        }
        return 0;
    }

    /// @inheritdoc IMarginAccounts
    function beginLiquidation(address account) external whenNotPaused returns (uint256 commitment, uint64 epochId, uint8 reason) {
        if (msg.sender != liquidation) revert Accounts_Unauthorized(msg.sender);
        reason = liquidationReason(account);
        if (reason == 0) revert Accounts_NotLiquidatable(account);
        _state[account].inLiquidation = true;
        epochId = epochs.currentEpochId();
        commitment = commitmentOf[account];
        emit AccountFrozen(account, epochId, reason);
    }

    /// @inheritdoc IMarginAccounts
    function endLiquidation(address account) external {
        if (msg.sender != liquidation) revert Accounts_Unauthorized(msg.sender);
        commitmentOf[account] = 0;
        _state[account].inLiquidation = false;
        _clearInsolvency(account);
        emit AccountClosed(account);
    }

    /// @dev Invariant: no account can be liquidated for a state older than its current commitment.
    ///      An insolvency marker is about the commitment it was proven against, so every change
    ///      of the commitment (a new one, or the one a liquidation clears) drops it.
    function _clearInsolvency(address account) private {
        AccountState storage st = _state[account];
        if (st.insolventEpoch != 0) {
            st.insolventEpoch = 0;
            delete _insolventCollateral[account];
        }
    }

    function _useImStatement(address account, uint256 commitment, uint64 epochId, uint256 collateral)
        private
        returns (uint64 current)
    {
        if (collateral >= FieldMath.SNARK_SCALAR_FIELD) revert Accounts_InputNotInField(4);
        current = epochs.currentEpochId();
        if (epochId != current || current == 0) revert Accounts_WrongEpoch(epochId, current);
        bytes32 statement = keccak256(abi.encode(commitment, current, account, collateral));
        if (statementUsed[statement]) revert Accounts_ProofReplayed(account, current, Constants.KIND_IM);
        statementUsed[statement] = true;
    }

    function _verify(
        uint256 c,
        uint256 digest,
        uint8 kind,
        address account,
        uint256 collateral,
        uint256 fundingSettled,
        uint256[8] calldata proof
    ) private view {
        uint256[] memory inputs = new uint256[](Constants.NUM_PUBLIC_INPUTS);
        inputs[0] = c;
        inputs[1] = digest;
        inputs[2] = kind;
        inputs[3] = uint256(uint160(account));
        inputs[4] = collateral;
        inputs[5] = fundingSettled;
        if (!verifier.verifyProof(proof, inputs)) revert Accounts_InvalidProof();
    }
}
