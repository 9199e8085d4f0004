// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IMarginAccounts} from "../interfaces/IMarginAccounts.sol";
import {GuardianPausable} from "../access/GuardianPausable.sol";
import {Constants} from "../libraries/Constants.sol";
import {ShareMath} from "../libraries/ShareMath.sol";

/// @title CollateralVault
/// @notice Holds the protocol's ERC20 collateral: account balances (a share pool), the insurance
///         fund and protocol fees.
/// @dev Exact accounting: `token.balanceOf(this) == totalDeposits + totalPrivateCash + insuranceFund + protocolFees`
///      after every call (a token that moves a different amount than asked is rejected; every
///      entry point is non-reentrant).
contract CollateralVault is ICollateralVault, GuardianPausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc ICollateralVault
    address public immutable collateral;
    /// @dev Pool units and shares packed in one slot (both < 2^128 for any real token supply).
    uint128 private _poolUnits;
    uint128 private _poolShares;
    /// @inheritdoc ICollateralVault
    uint256 public insuranceFund;
    /// @inheritdoc ICollateralVault
    uint256 public protocolFees;
    /// @notice The margin accounts module (proof-gated withdrawals).
    address public marginAccounts;
    /// @notice The liquidation module.
    address public liquidation;
    /// @notice The settlement module.
    address public settlement;
    /// @inheritdoc ICollateralVault
    int256 public totalPrivateCash;
    /// @inheritdoc ICollateralVault
    address public topUpModule;

    mapping(address account => uint256 shares) private _shares;

    /// @param collateral_ The ERC20 collateral token (e.g. a 6-decimals USD stablecoin).
    /// @dev The deployer becomes the owner (wires the modules, withdraws protocol fees).
    constructor(address collateral_) GuardianPausable(msg.sender) {
        if (collateral_ == address(0)) revert Vault_ZeroAddress("collateral");
        collateral = collateral_;
    }

    modifier onlyLiquidation() {
        if (msg.sender != liquidation) revert Vault_Unauthorized(msg.sender);
        _;
    }

    /// @inheritdoc ICollateralVault
    function setModules(address marginAccounts_, address liquidation_, address settlement_) external onlyOwner {
        if (marginAccounts != address(0)) revert Vault_ModulesAlreadySet();
        if (marginAccounts_ == address(0)) revert Vault_ZeroAddress("marginAccounts");
        if (liquidation_ == address(0)) revert Vault_ZeroAddress("liquidation");
        if (settlement_ == address(0)) revert Vault_ZeroAddress("settlement");
        marginAccounts = marginAccounts_;
        liquidation = liquidation_;
        settlement = settlement_;
        emit ModulesSet(marginAccounts_, liquidation_, settlement_);
    }

    /// @inheritdoc ICollateralVault
    function movePrivateCash(address account, int256 amount) external {
        if (msg.sender != marginAccounts) revert Vault_Unauthorized(msg.sender);
        if (amount > 0) {
            _credit(account, uint256(amount));
        } else if (amount < 0) {
            uint256 debit = uint256(-amount);
            uint256 available = balanceOf(account);
            if (debit > available) revert Vault_InsufficientBalance(account, debit, available);
            _debit(account, debit);
        }
        int256 total = totalPrivateCash - amount;
        totalPrivateCash = total;
        emit PrivateCashMoved(account, amount, total);
    }

    /// @inheritdoc ICollateralVault
    function collectTradingFees(uint256 amount) external {
        if (msg.sender != settlement) revert Vault_Unauthorized(msg.sender);
        if (amount == 0) return;
        int256 total = totalPrivateCash - SafeCast.toInt256(amount);
        totalPrivateCash = total;
        protocolFees += amount;
        emit TradingFeesCollected(amount, total);
    }

    /// @inheritdoc ICollateralVault
    function setTopUpModule(address topUpModule_) external onlyOwner {
        topUpModule = topUpModule_;
        emit TopUpModuleSet(topUpModule_);
    }

    /// @inheritdoc ICollateralVault
    function balanceOf(address account) public view returns (uint256) {
        return ShareMath.unitsOf(_shares[account], _poolUnits, _poolShares);
    }

    /// @inheritdoc ICollateralVault
    function totalDeposits() external view returns (uint256) {
        return _poolUnits;
    }

    /// @inheritdoc ICollateralVault
    function totalShares() external view returns (uint256) {
        return _poolShares;
    }

    /// @inheritdoc ICollateralVault
    function sharesOf(address account) external view returns (uint256) {
        return _shares[account];
    }

    /// @inheritdoc ICollateralVault
    function deposit(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert Vault_ZeroAmount();
        _pull(amount);
        _credit(msg.sender, amount);
        emit Deposited(msg.sender, amount, balanceOf(msg.sender));
    }

    /// @inheritdoc ICollateralVault
    function depositFor(address account, uint256 amount) external nonReentrant whenNotPaused returns (uint256 newBalance) {
        if (msg.sender != topUpModule) revert Vault_Unauthorized(msg.sender);
        if (account == address(0)) revert Vault_ZeroAddress("account");
        if (amount == 0) revert Vault_ZeroAmount();
        _pull(amount);
        _credit(account, amount);
        newBalance = balanceOf(account);
        emit Deposited(account, amount, newBalance);
    }

    /// @inheritdoc ICollateralVault
    function withdraw(uint256 amount, address to) external nonReentrant whenNotPaused {
        address m = marginAccounts;
        if (m != address(0) && IMarginAccounts(m).hasCommitment(msg.sender)) revert Vault_AccountHasPositions(msg.sender);
        _withdraw(msg.sender, amount, to);
    }

    /// @inheritdoc ICollateralVault
    function withdrawFor(address account, uint256 amount, address to)
        external
        nonReentrant
        whenNotPaused
        returns (uint256)
    {
        if (msg.sender != marginAccounts) revert Vault_Unauthorized(msg.sender);
        return _withdraw(account, amount, to);
    }

    /// @inheritdoc ICollateralVault
    function fundInsurance(uint256 amount) external nonReentrant {
        if (amount == 0) revert Vault_ZeroAmount();
        _pull(amount);
        uint256 f = insuranceFund + amount;
        insuranceFund = f;
        emit InsuranceFunded(msg.sender, amount, f);
    }

    /// @inheritdoc ICollateralVault
    function withdrawFees(uint256 amount, address to) external onlyOwner nonReentrant {
        if (amount == 0) revert Vault_ZeroAmount();
        if (to == address(0)) revert Vault_ZeroAddress("to");
        if (amount > protocolFees) revert Vault_InsufficientFees(amount, protocolFees);
        protocolFees -= amount;
        IERC20(collateral).safeTransfer(to, amount);
        emit FeesWithdrawn(to, amount);
    }

    /// @inheritdoc ICollateralVault
    function transferBalance(address from, address to, uint256 amount) external onlyLiquidation {
        uint256 available = balanceOf(from);
        if (amount > available) revert Vault_InsufficientBalance(from, amount, available);
        uint256 s = ShareMath.sharesForWithdrawal(amount, _poolUnits, _poolShares);
        _shares[from] -= s;
        _shares[to] += s;
        emit BalanceTransferred(from, to, amount);
    }

    /// @inheritdoc ICollateralVault
    function collectFee(address account, uint256 amount, uint256 protocolShareBps)
        external
        onlyLiquidation
        returns (uint256 fee)
    {
        uint256 available = balanceOf(account);
        fee = amount < available ? amount : available;
        if (fee == 0) return 0;
        _debit(account, fee);
        uint256 toProtocol = fee * protocolShareBps / Constants.BPS;
        protocolFees += toProtocol;
        insuranceFund += fee - toProtocol;
        emit FeeCollected(account, fee - toProtocol, toProtocol);
    }

    /// @inheritdoc ICollateralVault
    function coverShortfall(address account, address to, uint256 amount)
        external
        onlyLiquidation
        returns (uint256 fromAccount, uint256 fromInsurance, uint256 socialized, uint256 uncovered)
    {
        uint256 available = balanceOf(account);
        fromAccount = amount < available ? amount : available;
        if (fromAccount != 0) {
            uint256 s = ShareMath.sharesForWithdrawal(fromAccount, _poolUnits, _poolShares);
            _shares[account] -= s;
            _shares[to] += s;
        }
        uint256 rest = amount - fromAccount;
        uint256 fund = insuranceFund;
        fromInsurance = rest < fund ? rest : fund;
        if (fromInsurance != 0) {
            insuranceFund = fund - fromInsurance;
            _credit(to, fromInsurance);
        }
        rest -= fromInsurance;
        if (rest != 0) {
            // haircut every balance pro rata, keeping at least one unit in the pool
            uint256 pool = _poolUnits;
            uint256 cap = (_poolShares == 0 || pool == 0) ? 0 : pool - 1;
            socialized = rest < cap ? rest : cap;
            if (socialized != 0) {
                _poolUnits = uint128(pool - socialized);
                _credit(to, socialized);
            }
            uncovered = rest - socialized;
        }
        emit ShortfallCovered(account, to, amount, fromAccount, fromInsurance, socialized, uncovered);
    }

    function _pull(uint256 amount) private {
        IERC20 token = IERC20(collateral);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert Vault_TransferAmountMismatch(amount, received);
    }

    function _credit(address account, uint256 amount) private {
        uint256 units = _poolUnits;
        uint256 shares = _poolShares;
        uint256 s = ShareMath.sharesForDeposit(amount, units, shares);
        _shares[account] += s;
        _poolUnits = SafeCast.toUint128(units + amount);
        _poolShares = SafeCast.toUint128(shares + s);
    }

    function _debit(address account, uint256 amount) private {
        uint256 units = _poolUnits;
        uint256 shares = _poolShares;
        uint256 s = ShareMath.sharesForWithdrawal(amount, units, shares);
        _shares[account] -= s;
        _poolUnits = uint128(units - amount);
        _poolShares = uint128(shares - s);
    }

    function _withdraw(address account, uint256 amount, address to) private returns (uint256 newBalance) {
        if (amount == 0) revert Vault_ZeroAmount();
        if (to == address(0)) revert Vault_ZeroAddress("to");
        uint256 available = balanceOf(account);
        if (amount > available) revert Vault_InsufficientBalance(account, amount, available);
        _debit(account, amount);
        newBalance = balanceOf(account);
        IERC20 token = IERC20(collateral);
        uint256 before = token.balanceOf(address(this));
        token.safeTransfer(to, amount);
        uint256 sent = before - token.balanceOf(address(this));
        if (sent != amount) revert Vault_TransferAmountMismatch(amount, sent);
        emit Withdrawn(account, to, amount, newBalance);
    }
}
