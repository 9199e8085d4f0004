// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICollateralVault
/// @notice Events, errors and the external surface of the collateral vault.
interface ICollateralVault {
    /// @notice Emitted when `account` deposits `amount` collateral units.
    event Deposited(address indexed account, uint256 amount, uint256 newBalance);
    /// @notice Emitted when `account` withdraws `amount` collateral units to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount, uint256 newBalance);

    /// @notice A zero amount was passed where a positive one is required.
    error Vault_ZeroAmount();
    /// @notice The zero address was passed as `field`.
    error Vault_ZeroAddress(string field);
    /// @notice `account` asked for `requested` but holds only `available`.
    error Vault_InsufficientBalance(address account, uint256 requested, uint256 available);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are not supported).
    error Vault_TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice The ERC20 collateral token.
    function collateral() external view returns (address);
    /// @notice Collateral units credited to `account`.
    function balanceOf(address account) external view returns (uint256);
    /// @notice Sum of all account balances.
    function totalDeposits() external view returns (uint256);
    /// @notice Pull `amount` collateral from the caller and credit it to the caller.
    function deposit(uint256 amount) external;
    /// @notice Debit `amount` from the caller and send it to `to`.
    function withdraw(uint256 amount, address to) external;
}
