// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ITopUpAuthorizations
/// @notice Structs, events, errors and the external surface of the automated top-up module:
///         an account lets a keeper move collateral from the account's wallet into the account's
///         vault balance, up to an allowance the account sets (margin-call automation).
/// @dev The account's positions are private (only their commitment is on-chain), so the contract
///      cannot check that the account is in the margin-call tier: the allowance is the on-chain
///      bound, the tier is the keeper's off-chain decision (offchain/devnet/margin_calls.py).
interface ITopUpAuthorizations {
    /// @notice What an account allows one keeper.
    /// @param active Whether the authorization stands (false: never given, or revoked).
    /// @param remaining Collateral base units the keeper may still move (spent by each top-up).
    struct Authorization {
        bool active;
        uint128 remaining;
    }

    /// @notice Emitted when `account` authorizes `keeper` (or changes the allowance).
    /// @param account The account that gives the authorization.
    /// @param keeper The keeper allowed to top the account up.
    /// @param allowance The allowance, in collateral base units (replaces the previous one).
    event TopUpAuthorized(address indexed account, address indexed keeper, uint256 allowance);
    /// @notice Emitted when `account` revokes `keeper`'s authorization.
    /// @param account The account.
    /// @param keeper The keeper no longer allowed.
    event TopUpRevoked(address indexed account, address indexed keeper);
    /// @notice Emitted for every top-up.
    /// @param account The account topped up (its wallet paid, its vault balance was credited).
    /// @param keeper The keeper that sent it.
    /// @param amount Collateral base units moved.
    /// @param remaining The allowance left, in collateral base units.
    /// @param newBalance The account's vault balance after the top-up, in collateral base units.
    event ToppedUp(address indexed account, address indexed keeper, uint256 amount, uint256 remaining, uint256 newBalance);

    /// @notice `keeper` has no standing authorization from `account` (never given, or revoked).
    /// @param account The account.
    /// @param keeper The caller.
    error TopUp_NotAuthorized(address account, address keeper);
    /// @notice The top-up is larger than what is left of the allowance.
    /// @param account The account.
    /// @param keeper The caller.
    /// @param requested The amount asked for, in collateral base units.
    /// @param remaining What is left of the allowance, in collateral base units.
    error TopUp_AllowanceExceeded(address account, address keeper, uint256 requested, uint256 remaining);
    /// @notice A zero amount was passed where a positive one is required.
    error TopUp_ZeroAmount();
    /// @notice The zero address was passed as `field`.
    /// @param field The name of the parameter.
    error TopUp_ZeroAddress(string field);
    /// @notice The allowance does not fit in 128 bits.
    /// @param allowance The allowance asked for, in collateral base units.
    error TopUp_AllowanceTooLarge(uint256 allowance);
    /// @notice The account has no open margin account (no commitment) or is being liquidated.
    /// @param account The account.
    error TopUp_AccountNotOpen(address account);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are not supported).
    /// @param expected The amount asked for, in token base units.
    /// @param received The amount this contract's token balance changed by.
    error TopUp_TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice The collateral vault credited by top-ups.
    /// @return The vault's address.
    function vault() external view returns (address);
    /// @notice The margin accounts module (only open accounts that are not being liquidated are topped up).
    /// @return The module's address.
    function marginAccounts() external view returns (address);
    /// @notice The ERC20 collateral token (the account approves this contract for it).
    /// @return The token's address.
    function collateral() external view returns (address);
    /// @notice What `account` allows `keeper`.
    /// @param account The account.
    /// @param keeper The keeper.
    /// @return The authorization (inactive and zero if none).
    function authorization(address account, address keeper) external view returns (Authorization memory);
    /// @notice Allow `keeper` to move up to `allowance` collateral units from the caller's wallet
    ///         into the caller's vault balance (replaces any previous allowance for `keeper`).
    ///         The caller must also approve this contract on the collateral token.
    /// @param keeper The keeper, nonzero.
    /// @param allowance The allowance, in collateral base units, nonzero and < 2^128.
    function authorize(address keeper, uint256 allowance) external;
    /// @notice Withdraw `keeper`'s authorization (its remaining allowance is dropped).
    /// @param keeper The keeper.
    function revoke(address keeper) external;
    /// @notice Move `amount` collateral from `account`'s wallet into its vault balance (an
    ///         authorized keeper, within the allowance; the account must be open and not in liquidation).
    /// @param account The account to top up.
    /// @param amount Collateral base units, nonzero.
    /// @return newBalance The account's vault balance after the top-up, in collateral base units.
    function topUp(address account, uint256 amount) external returns (uint256 newBalance);
}
