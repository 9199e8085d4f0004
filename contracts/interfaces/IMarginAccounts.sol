// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMarginAccounts
/// @notice Events, errors and the external surface of the proof-gated margin accounts.
/// @dev A commitment changes only by a proven transition (`applyTransition`, called by the
///      settlement module for trades and by the liquidation module for takeovers) or by a
///      liquidation closing it (docs/ARCHITECTURE.md, "State transitions").
interface IMarginAccounts {
    /// @notice Per-account state next to the commitment.
    /// @param provenEpoch The latest epoch with an accepted MM or IM proof (or a fresh transition).
    /// @param insolventEpoch The latest epoch with an accepted insolvency proof.
    /// @param inLiquidation Whether the account is frozen by a liquidation.
    /// @param settledEpoch The epoch whose funding index the account's cash includes.
    struct AccountState {
        uint64 provenEpoch;
        uint64 insolventEpoch;
        bool inLiquidation;
        uint64 settledEpoch;
    }

    /// @notice One account's proven transition `C_old -> C_new` (public inputs of the transition
    ///         circuit, in the order of `prover.transitions.public_input_names`).
    /// @param account The account.
    /// @param commitmentOld The commitment the transition starts from (0: a new account).
    /// @param commitmentNew The commitment after it, nonzero, `< r`.
    /// @param collateral The public balance the post-state is margined with, `<=` the balance after `cashOut`.
    /// @param cashOut Private cash moved to the public balance (negative: the other way), `|cashOut| < 2^128`.
    /// @param fresh Whether the post-state meets initial margin (else it only reduced positions).
    /// @param fillTable T, the batch's fill table digest.
    /// @param index The account's position in the batch.
    /// @param count The number of accounts in the batch.
    /// @param feeBps The fee rate, bps of notional per side.
    /// @param feeTotal Both sides' fees of every fill of the batch, in collateral base units.
    /// @param orders `(O, S_old, S_new)` of the account's two order slots (zeros when unused).
    /// @param publicDelta `dq_pub[0..n) ++ [dc_pub]` (a liquidation takeover) or empty (zeros).
    /// @param proof The Groth16 proof (`IGroth16Verifier.verifyProof` layout).
    struct Transition {
        address account;
        uint256 commitmentOld;
        uint256 commitmentNew;
        uint256 collateral;
        int256 cashOut;
        bool fresh;
        uint256 fillTable;
        uint256 index;
        uint256 count;
        uint256 feeBps;
        uint256 feeTotal;
        uint256[6] orders;
        int256[] publicDelta;
        uint256[8] proof;
    }

    /// @notice One proof of a batch (`submitProofs`).
    /// @param account The account the proof is about.
    /// @param kind 0 = MM, 1 = IM, 2 = insolvency (`Constants.KIND_*`).
    /// @param collateral The collateral b of the statement, in collateral base units.
    /// @param commitment The commitment the proof is about (the entry is skipped if it changed).
    /// @param proof The Groth16 proof (`IGroth16Verifier.verifyProof` layout).
    struct ProofSubmission {
        address account;
        uint8 kind;
        uint256 collateral;
        uint256 commitment;
        uint256[8] proof;
    }

    /// @notice Emitted for a batch entry that the account's state no longer admits (the batch goes on).
    /// @param account The account of the entry.
    /// @param epochId The current epoch.
    /// @param kind The entry's kind.
    /// @param reason `Constants.SKIP_*`: 1 already proven, 2 commitment changed, 3 in liquidation,
    ///        4 the balance moved past the proof's collateral.
    event ProofSkipped(address indexed account, uint64 indexed epochId, uint8 kind, uint8 reason);

    /// @notice Emitted for every accepted proof.
    /// @param account The account the proof is about.
    /// @param epochId The epoch proven.
    /// @param kind 0 = MM, 1 = IM, 2 = insolvency.
    /// @param commitment The commitment proven about.
    /// @param collateral The collateral b of the statement, in collateral base units.
    /// @param submitter The sender of the proof.
    event ProofAccepted(
        address indexed account, uint64 indexed epochId, uint8 kind, uint256 commitment, uint256 collateral, address submitter
    );
    /// @notice Emitted when an account's commitment changes by a proven transition.
    /// @param account The account.
    /// @param epochId The epoch of the transition.
    /// @param oldCommitment The previous commitment (0: a new account).
    /// @param newCommitment The new commitment.
    event CommitmentUpdated(address indexed account, uint64 indexed epochId, uint256 oldCommitment, uint256 newCommitment);
    /// @notice Emitted for every applied transition, next to `CommitmentUpdated`.
    /// @param account The account.
    /// @param epochId The epoch (the account's funding is settled up to it).
    /// @param cashOut Private cash moved to the public balance (negative: the other way).
    /// @param fresh Whether the post-state meets initial margin (the account is then fresh for the epoch).
    /// @param module The module that applied it (settlement or liquidation).
    event TransitionApplied(address indexed account, uint64 indexed epochId, int256 cashOut, bool fresh, address module);
    /// @notice Emitted for a proof-gated withdrawal.
    /// @param account The account debited.
    /// @param to The receiver of the tokens.
    /// @param amount Collateral base units withdrawn.
    /// @param collateral The post-withdrawal collateral the IM proof is about, in collateral base units.
    /// @param epochId The epoch of the IM proof.
    event MarginWithdrawal(address indexed account, address indexed to, uint256 amount, uint256 collateral, uint64 epochId);
    /// @notice Emitted when the liquidation module freezes an account.
    /// @param account The account.
    /// @param epochId The current epoch.
    /// @param reason 1 = no fresh proof, 2 = proven insolvent.
    event AccountFrozen(address indexed account, uint64 indexed epochId, uint8 reason);
    /// @notice Emitted when a liquidation closes an account (its commitment is cleared).
    /// @param account The account.
    event AccountClosed(address indexed account);
    /// @notice Emitted when the grace window changes.
    /// @param seconds_ The new grace window, in seconds.
    event GracePeriodSet(uint64 seconds_);
    /// @notice Emitted once, when the modules are wired.
    /// @param liquidation The liquidation module.
    /// @param settlement The settlement module.
    event ModulesSet(address liquidation, address settlement);

    /// @notice A public input is not a field element.
    /// @param index Its position in `[C, D, kind, account, collateral]`.
    error Accounts_InputNotInField(uint256 index);
    /// @notice The proof is for another epoch than the current one.
    /// @param epochId The epoch passed.
    /// @param currentEpochId The current epoch.
    error Accounts_WrongEpoch(uint64 epochId, uint64 currentEpochId);
    /// @notice The verifier rejected the proof.
    error Accounts_InvalidProof();
    /// @notice A proof of this statement was already accepted.
    /// @param account The account.
    /// @param epochId The current epoch.
    /// @param kind The proof kind.
    error Accounts_ProofReplayed(address account, uint64 epochId, uint8 kind);
    /// @notice The kind is not 0, 1 or 2 (or not allowed here).
    /// @param kind The kind passed.
    error Accounts_BadKind(uint8 kind);
    /// @notice The account has no commitment.
    /// @param account The account.
    error Accounts_NoCommitment(address account);
    /// @notice The account is being liquidated.
    /// @param account The account.
    error Accounts_InLiquidation(address account);
    /// @notice A solvency proof claims more collateral than the account holds.
    /// @param collateral The collateral of the statement, in collateral base units.
    /// @param balance The account's vault balance, in collateral base units.
    error Accounts_CollateralAboveBalance(uint256 collateral, uint256 balance);
    /// @notice An insolvency proof claims less collateral than the account holds.
    /// @param collateral The collateral of the statement, in collateral base units.
    /// @param balance The account's vault balance, in collateral base units.
    error Accounts_CollateralBelowBalance(uint256 collateral, uint256 balance);
    /// @notice The withdrawal exceeds the collateral the IM proof leaves free.
    /// @param account The account.
    /// @param amount The amount asked for, in collateral base units.
    /// @param free `balance - collateral` (0 if negative), in collateral base units.
    error Accounts_InsufficientFreeCollateral(address account, uint256 amount, uint256 free);
    /// @notice The commitment is zero (reserved for "no positions").
    error Accounts_ZeroCommitment();
    /// @notice Only the liquidation module may call this.
    /// @param caller The caller.
    error Accounts_Unauthorized(address caller);
    /// @notice The account is not liquidatable.
    /// @param account The account.
    error Accounts_NotLiquidatable(address account);
    /// @notice The modules are already wired, or an address is zero.
    /// @param module The address passed.
    error Accounts_BadModule(address module);
    /// @notice The transition starts from another commitment than the account's.
    /// @param account The account.
    /// @param expected The commitment the transition starts from.
    /// @param actual The account's commitment.
    error Accounts_StaleCommitment(address account, uint256 expected, uint256 actual);
    /// @notice `cashOut` or the public delta is out of its bound, or the delta has the wrong length.
    /// @param account The account.
    error Accounts_BadTransition(address account);

    /// @notice The commitment of `account`.
    /// @param account The account.
    /// @return The commitment C (0 = no positions).
    function commitmentOf(address account) external view returns (uint256);
    /// @notice Whether `account` has a commitment.
    /// @param account The account.
    /// @return True if its commitment is nonzero.
    function hasCommitment(address account) external view returns (bool);
    /// @notice Proof markers and the liquidation flag of `account`.
    /// @param account The account.
    /// @return The account's state.
    function accountState(address account) external view returns (AccountState memory);
    /// @notice Apply a proven transition of `t.account` (settlement and liquidation modules only):
    ///         checks the starting commitment, the balance and the proof, then writes the new
    ///         commitment, settles the funding epoch, marks the account fresh when the post-state
    ///         meets IM, drops an insolvency marker and moves `cashOut` between private cash and
    ///         the public balance.
    /// @param t The transition.
    function applyTransition(Transition calldata t) external;
    /// @notice Apply the proven transitions of a settlement batch (settlement module only): the
    ///         same checks and effects as `applyTransition` for each, with all the proofs verified
    ///         in one `verifyBatch` call (k proofs, k + 3 pairings) before any state is written.
    /// @param ts The transitions, one per account of the batch (distinct accounts).
    function applyTransitions(Transition[] calldata ts) external;
    /// @notice The funding digest FD_s an account's next proof refers to: its settled epoch's (the
    ///         current epoch's for an account without a commitment).
    /// @param account The account.
    /// @return The funding digest.
    function fundingDigestOf(address account) external view returns (uint256);
    /// @notice Submit an MM (0), IM (1) or insolvency (2) proof for `account` and the current epoch.
    /// @param account The account (anyone may submit; the proof is bound to it).
    /// @param epochId The current epoch.
    /// @param kind 0 = MM, 1 = IM, 2 = insolvency.
    /// @param collateral The collateral b of the statement, in collateral base units: `<=` the balance
    ///        for MM and IM, `>=` it for insolvency.
    /// @param proof The Groth16 proof of `[C, D, kind, account, b, FD_s]`.
    function submitProof(address account, uint64 epochId, uint8 kind, uint256 collateral, uint256[8] calldata proof) external;
    /// @notice Submit many proofs for the current epoch in one transaction (the keeper's per-epoch round).
    ///         An entry whose account's state no longer admits it (already proven, commitment
    ///         changed, in liquidation, balance moved past its collateral) is skipped with
    ///         `ProofSkipped`; a wrong epoch, a bad kind or input, or an invalid proof reverts the batch.
    ///         The remaining k proofs are verified together (`IGroth16Verifier.verifyBatch`: one
    ///         random linear combination, k + 3 pairings), so one invalid proof rejects them all.
    /// @param epochId The current epoch.
    /// @param batch The proofs.
    function submitProofs(uint64 epochId, ProofSubmission[] calldata batch) external;
    /// @notice Withdraw with an IM proof of the post-withdrawal collateral `collateral`.
    /// @param amount Collateral base units to withdraw, at most `balance - collateral`.
    /// @param to The receiver of the tokens.
    /// @param epochId The current epoch.
    /// @param collateral The collateral b of the statement, in collateral base units.
    /// @param proof The Groth16 IM proof of `[C, D, 1, caller, b, FD_s]`.
    function withdraw(uint256 amount, address to, uint64 epochId, uint256 collateral, uint256[8] calldata proof) external;
    /// @notice Whether `account` can be liquidated now. The grace window after an epoch is counted
    ///         in seconds this contract was not paused; an insolvency proof counts only for the
    ///         commitment it was made against.
    /// @param account The account.
    /// @return reason 1 = no fresh proof after the grace window, 2 = proven insolvent, 0 = healthy.
    function liquidationReason(address account) external view returns (uint8 reason);
    /// @notice Freeze a liquidatable account (liquidation module; refused while paused).
    /// @param account The account.
    /// @return commitment The account's commitment.
    /// @return epochId The current epoch.
    /// @return reason 1 = no fresh proof, 2 = proven insolvent.
    function beginLiquidation(address account) external returns (uint256 commitment, uint64 epochId, uint8 reason);
    /// @notice Clear the commitment of a liquidated account (liquidation module).
    /// @param account The account.
    function endLiquidation(address account) external;
}
