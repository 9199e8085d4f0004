// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";

/// @title CollateralVault
/// @notice Holds the protocol's ERC20 collateral and the per-account balances.
/// @dev Accounting is exact: `token.balanceOf(this) == totalDeposits` at all times
///      (a token that moves a different amount than asked is rejected).
contract CollateralVault is ICollateralVault, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @inheritdoc ICollateralVault
    address public immutable collateral;
    /// @inheritdoc ICollateralVault
    uint256 public totalDeposits;

    mapping(address account => uint256 units) private _balances;

    /// @param collateral_ The ERC20 collateral token (e.g. a 6-decimals USD stablecoin).
    constructor(address collateral_) {
        if (collateral_ == address(0)) revert Vault_ZeroAddress("collateral");
        collateral = collateral_;
    }

    /// @inheritdoc ICollateralVault
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @inheritdoc ICollateralVault
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert Vault_ZeroAmount();
        IERC20 token = IERC20(collateral);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert Vault_TransferAmountMismatch(amount, received);
        uint256 newBalance = _balances[msg.sender] + amount;
        _balances[msg.sender] = newBalance;
        totalDeposits += amount;
        emit Deposited(msg.sender, amount, newBalance);
    }

    /// @inheritdoc ICollateralVault
    function withdraw(uint256 amount, address to) external nonReentrant {
        if (amount == 0) revert Vault_ZeroAmount();
        if (to == address(0)) revert Vault_ZeroAddress("to");
        uint256 available = _balances[msg.sender];
        if (amount > available) revert Vault_InsufficientBalance(msg.sender, amount, available);
        uint256 newBalance = available - amount;
        _balances[msg.sender] = newBalance;
        totalDeposits -= amount;
        IERC20(collateral).safeTransfer(to, amount);
        emit Withdrawn(msg.sender, to, amount, newBalance);
    }
}
