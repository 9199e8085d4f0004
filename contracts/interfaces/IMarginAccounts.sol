// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IMarginAccounts
/// @notice Events, errors and the external surface of the proof-gated margin accounts.
interface IMarginAccounts {
    /// @notice Per-account state next to the commitment.
    struct AccountState {
        uint64 provenEpoch; // the latest epoch with an accepted MM or IM proof
        uint64 insolventEpoch; // the latest epoch with an accepted insolvency proof
        bool inLiquidation;
    }

    /// @notice One proof of a batch (`submitProofs`); kinds: 0 = MM, 1 = IM, 2 = insolvency.
    struct ProofSubmission {
        address account;
        uint8 kind;
        uint256 collateral;
        uint256[8] proof;
    }

    /// @notice Emitted for every accepted proof.
    event ProofAccepted(
        address indexed account, uint64 indexed epochId, uint8 kind, uint256 commitment, uint256 collateral, address submitter
    );
    /// @notice Emitted when an account sets or changes its commitment (with an IM proof).
    event CommitmentUpdated(address indexed account, uint64 indexed epochId, uint256 oldCommitment, uint256 newCommitment);
    /// @notice Emitted for a proof-gated withdrawal.
    event MarginWithdrawal(address indexed account, address indexed to, uint256 amount, uint256 collateral, uint64 epochId);
    /// @notice Emitted when the liquidation module freezes an account.
    event AccountFrozen(address indexed account, uint64 indexed epochId, uint8 reason);
    /// @notice Emitted when a liquidation closes an account (its commitment is cleared).
    event AccountClosed(address indexed account);
    /// @notice Emitted when the grace window changes.
    event GracePeriodSet(uint64 seconds_);
    /// @notice Emitted once, when the liquidation module is wired.
    event LiquidationModuleSet(address liquidation);

    /// @notice A public input is not a field element; `index` is its position in `[C, D, kind, account, collateral]`.
    error Accounts_InputNotInField(uint256 index);
    /// @notice The proof is for another epoch than the current one.
    error Accounts_WrongEpoch(uint64 epochId, uint64 currentEpochId);
    /// @notice The verifier rejected the proof.
    error Accounts_InvalidProof();
    /// @notice A proof of this statement was already accepted.
    error Accounts_ProofReplayed(address account, uint64 epochId, uint8 kind);
    /// @notice The kind is not 0, 1 or 2 (or not allowed here).
    error Accounts_BadKind(uint8 kind);
    /// @notice The account has no commitment.
    error Accounts_NoCommitment(address account);
    /// @notice The account is being liquidated.
    error Accounts_InLiquidation(address account);
    /// @notice A solvency proof claims more collateral than the account holds.
    error Accounts_CollateralAboveBalance(uint256 collateral, uint256 balance);
    /// @notice An insolvency proof claims less collateral than the account holds.
    error Accounts_CollateralBelowBalance(uint256 collateral, uint256 balance);
    /// @notice The withdrawal exceeds the collateral the IM proof leaves free.
    error Accounts_InsufficientFreeCollateral(address account, uint256 amount, uint256 free);
    /// @notice The commitment is zero (reserved for "no positions").
    error Accounts_ZeroCommitment();
    /// @notice Only the liquidation module may call this.
    error Accounts_Unauthorized(address caller);
    /// @notice The account is not liquidatable.
    error Accounts_NotLiquidatable(address account);
    /// @notice The liquidation module is already wired, or the address is zero.
    error Accounts_BadLiquidationModule(address liquidation);

    /// @notice The commitment of `account` (0 = no positions).
    function commitmentOf(address account) external view returns (uint256);
    /// @notice Whether `account` has a commitment.
    function hasCommitment(address account) external view returns (bool);
    /// @notice Proof markers and the liquidation flag of `account`.
    function accountState(address account) external view returns (AccountState memory);
    /// @notice Set or replace the caller's commitment, with an IM proof of it for the current epoch.
    function updateCommitment(uint256 newCommitment, uint64 epochId, uint256 collateral, uint256[8] calldata proof) external;
    /// @notice Submit an MM (0), IM (1) or insolvency (2) proof for `account` and the current epoch.
    function submitProof(address account, uint64 epochId, uint8 kind, uint256 collateral, uint256[8] calldata proof) external;
    /// @notice Submit many proofs for the current epoch in one transaction (the keeper's per-epoch round);
    ///         reverts as a whole if any of them is rejected.
    function submitProofs(uint64 epochId, ProofSubmission[] calldata batch) external;
    /// @notice Withdraw with an IM proof of the post-withdrawal collateral `collateral`.
    function withdraw(uint256 amount, address to, uint64 epochId, uint256 collateral, uint256[8] calldata proof) external;
    /// @notice Whether `account` can be liquidated now; reason 1 = no fresh proof after the grace window,
    ///         2 = proven insolvent, 0 = healthy.
    function liquidationReason(address account) external view returns (uint8 reason);
    /// @notice Freeze a liquidatable account (liquidation module).
    function beginLiquidation(address account) external returns (uint256 commitment, uint64 epochId, uint8 reason);
    /// @notice Clear the commitment of a liquidated account (liquidation module).
    function endLiquidation(address account) external;
}
