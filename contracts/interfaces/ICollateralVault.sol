// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICollateralVault
/// @notice Events, errors and the external surface of the collateral vault.
/// @dev Account balances are pro-rata claims on the account pool (`totalDeposits` units backed
///      by `totalShares` shares), so that a socialized loss is one O(1) haircut of every balance.
///      Until the first socialized loss one share is one unit and every balance is exact.
///      Exact invariant: `token.balanceOf(vault) == totalDeposits + insuranceFund + protocolFees`;
///      `sum(balanceOf) <= totalDeposits` with the difference (rounding dust, less than one unit
///      per account) belonging pro rata to the pool.
interface ICollateralVault {
    /// @notice Emitted when `account` deposits `amount` collateral units.
    event Deposited(address indexed account, uint256 amount, uint256 newBalance);
    /// @notice Emitted when `account` withdraws `amount` collateral units to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount, uint256 newBalance);
    /// @notice Emitted once, when the margin and liquidation modules are wired.
    event ModulesSet(address marginAccounts, address liquidation);
    /// @notice Emitted when `from` adds `amount` to the insurance fund.
    event InsuranceFunded(address indexed from, uint256 amount, uint256 insuranceFund);
    /// @notice Emitted when the owner withdraws protocol fees.
    event FeesWithdrawn(address indexed to, uint256 amount);
    /// @notice Emitted when the liquidation module moves `amount` units from `from` to `to`.
    event BalanceTransferred(address indexed from, address indexed to, uint256 amount);
    /// @notice Emitted when a liquidation fee is taken from `account`.
    event FeeCollected(address indexed account, uint256 toInsurance, uint256 toProtocol);
    /// @notice Emitted when `account` owes `to` `amount`: paid from the account, then the
    ///         insurance fund, then socialized over all balances; `uncovered` is what is left unpaid.
    event ShortfallCovered(
        address indexed account,
        address indexed to,
        uint256 amount,
        uint256 fromAccount,
        uint256 fromInsurance,
        uint256 socialized,
        uint256 uncovered
    );

    /// @notice A zero amount was passed where a positive one is required.
    error Vault_ZeroAmount();
    /// @notice The zero address was passed as `field`.
    error Vault_ZeroAddress(string field);
    /// @notice `account` asked for `requested` but holds only `available`.
    error Vault_InsufficientBalance(address account, uint256 requested, uint256 available);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are not supported).
    error Vault_TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Only the margin or liquidation module may call this.
    error Vault_Unauthorized(address caller);
    /// @notice The account has a margin commitment: withdraw through `MarginAccounts.withdraw` with a proof.
    error Vault_AccountHasPositions(address account);
    /// @notice The modules are already wired.
    error Vault_ModulesAlreadySet();
    /// @notice The owner asked for more fees than accrued.
    error Vault_InsufficientFees(uint256 requested, uint256 available);

    /// @notice The ERC20 collateral token.
    function collateral() external view returns (address);
    /// @notice Collateral units credited to `account` (floor of its pool share).
    function balanceOf(address account) external view returns (uint256);
    /// @notice Units held for accounts (the pool), >= the sum of all balances.
    function totalDeposits() external view returns (uint256);
    /// @notice Pool shares of `account`.
    function sharesOf(address account) external view returns (uint256);
    /// @notice Sum of all pool shares.
    function totalShares() external view returns (uint256);
    /// @notice The insurance fund, in units.
    function insuranceFund() external view returns (uint256);
    /// @notice Accrued protocol fees, in units.
    function protocolFees() external view returns (uint256);
    /// @notice Wire the margin and liquidation modules (owner, once).
    function setModules(address marginAccounts, address liquidation) external;
    /// @notice Pull `amount` collateral from the caller and credit it to the caller.
    function deposit(uint256 amount) external;
    /// @notice Debit `amount` from the caller (an account without positions) and send it to `to`.
    function withdraw(uint256 amount, address to) external;
    /// @notice Pull `amount` collateral from the caller into the insurance fund.
    function fundInsurance(uint256 amount) external;
    /// @notice Send `amount` of accrued protocol fees to `to` (owner only).
    function withdrawFees(uint256 amount, address to) external;
    /// @notice Debit `account` and send `amount` to `to` (margin module, after its proof check).
    function withdrawFor(address account, uint256 amount, address to) external returns (uint256 newBalance);
    /// @notice Move `amount` units from `from` to `to` (liquidation module).
    function transferBalance(address from, address to, uint256 amount) external;
    /// @notice Take `min(amount, balance)` from `account` as a fee; `protocolShareBps` of it to protocol fees,
    ///         the rest to the insurance fund (liquidation module). Returns the fee taken.
    function collectFee(address account, uint256 amount, uint256 protocolShareBps) external returns (uint256 fee);
    /// @notice Pay `amount` owed by `account` to `to`: from the account, then the insurance fund, then
    ///         socialized over all balances (liquidation module).
    function coverShortfall(address account, address to, uint256 amount)
        external
        returns (uint256 fromAccount, uint256 fromInsurance, uint256 socialized, uint256 uncovered);
}
