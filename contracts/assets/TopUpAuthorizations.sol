// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IMarginAccounts} from "../interfaces/IMarginAccounts.sol";
import {ITopUpAuthorizations} from "../interfaces/ITopUpAuthorizations.sol";

/// @title TopUpAuthorizations
/// @notice Automated top-ups bounded on-chain: an account authorizes a keeper with an allowance;
///         the keeper may then move collateral from the account's wallet into the account's vault
///         balance (`CollateralVault.depositFor`, which only this module may call) until the
///         allowance is spent or the account revokes it.
/// @dev Each top-up spends the allowance before any token moves (checks, effects, interactions),
///      pulls exactly `amount` from the account's wallet (the account approves this contract on
///      the token, separately from its vault approval) and deposits it for the account. The
///      module holds no tokens between calls.
contract TopUpAuthorizations is ITopUpAuthorizations, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc ITopUpAuthorizations
    address public immutable vault;
    /// @inheritdoc ITopUpAuthorizations
    address public immutable marginAccounts;
    /// @inheritdoc ITopUpAuthorizations
    address public immutable collateral;

    mapping(address account => mapping(address keeper => Authorization)) private _auth;

    /// @param vault_ The collateral vault (it must name this contract its top-up module).
    /// @param marginAccounts_ The margin accounts module.
    constructor(address vault_, address marginAccounts_) {
        if (vault_ == address(0)) revert TopUp_ZeroAddress("vault");
        if (marginAccounts_ == address(0)) revert TopUp_ZeroAddress("marginAccounts");
        vault = vault_;
        marginAccounts = marginAccounts_;
        collateral = ICollateralVault(vault_).collateral();
    }

    /// @inheritdoc ITopUpAuthorizations
    function authorization(address account, address keeper) external view returns (Authorization memory) {
        return _auth[account][keeper];
    }

    /// @inheritdoc ITopUpAuthorizations
    function authorize(address keeper, uint256 allowance) external {
        if (keeper == address(0)) revert TopUp_ZeroAddress("keeper");
        if (allowance == 0) revert TopUp_ZeroAmount();
        if (allowance > type(uint128).max) revert TopUp_AllowanceTooLarge(allowance);
        _auth[msg.sender][keeper] = Authorization({active: true, remaining: uint128(allowance)});
        emit TopUpAuthorized(msg.sender, keeper, allowance);
    }

    /// @inheritdoc ITopUpAuthorizations
    function revoke(address keeper) external {
        delete _auth[msg.sender][keeper];
        emit TopUpRevoked(msg.sender, keeper);
    }

    /// @inheritdoc ITopUpAuthorizations
    function topUp(address account, uint256 amount) external nonReentrant returns (uint256 newBalance) {
        if (amount == 0) revert TopUp_ZeroAmount();
        Authorization memory a = _auth[account][msg.sender];
        if (!a.active) revert TopUp_NotAuthorized(account, msg.sender);
        if (amount > a.remaining) revert TopUp_AllowanceExceeded(account, msg.sender, amount, a.remaining);
        IMarginAccounts m = IMarginAccounts(marginAccounts);
        if (!m.hasCommitment(account) || m.accountState(account).inLiquidation) revert TopUp_AccountNotOpen(account);
        uint128 remaining = a.remaining - uint128(amount);
        _auth[account][msg.sender].remaining = remaining;

        IERC20 token = IERC20(collateral);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(account, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TopUp_TransferAmountMismatch(amount, received);
        token.forceApprove(vault, amount);
        newBalance = ICollateralVault(vault).depositFor(account, amount);
        emit ToppedUp(account, msg.sender, amount, remaining, newBalance);
    }
}
