// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICollateralVault
/// @notice Events, errors and the external surface of the collateral vault.
/// @dev Account balances are pro-rata claims on the account pool (`totalDeposits` units backed
///      by `totalShares` shares), so that a socialized loss is one O(1) haircut of every balance.
///      Until the first socialized loss one share is one unit and every balance is exact.
///      Private cash (the accounts' committed cash, net of unsettled funding) is a claim on the
///      vault too, tracked in total from public amounts only (`totalPrivateCash`: fees charged,
///      cash moved to or from public balances). Exact invariant:
///      `token.balanceOf(vault) == totalDeposits + totalPrivateCash + insuranceFund + protocolFees`;
///      `sum(balanceOf) <= totalDeposits` with the difference (rounding dust, less than one unit
///      per account) belonging pro rata to the pool.
interface ICollateralVault {
    /// @notice Emitted when `account` deposits `amount` collateral units.
    /// @param account The depositor, credited.
    /// @param amount Collateral base units deposited.
    /// @param newBalance The account's balance after the deposit, in collateral base units.
    event Deposited(address indexed account, uint256 amount, uint256 newBalance);
    /// @notice Emitted when `account` withdraws `amount` collateral units to `to`.
    /// @param account The account debited.
    /// @param to The receiver of the tokens.
    /// @param amount Collateral base units withdrawn.
    /// @param newBalance The account's balance after the withdrawal, in collateral base units.
    event Withdrawn(address indexed account, address indexed to, uint256 amount, uint256 newBalance);
    /// @notice Emitted once, when the margin, liquidation and settlement modules are wired.
    /// @param marginAccounts The margin accounts module.
    /// @param liquidation The liquidation module.
    /// @param settlement The settlement module.
    event ModulesSet(address marginAccounts, address liquidation, address settlement);
    /// @notice Emitted when private cash moves to (positive `amount`) or from an account's balance.
    /// @param account The account.
    /// @param amount Collateral base units moved to the public balance (negative: to private cash).
    /// @param totalPrivateCash The total private cash afterwards.
    event PrivateCashMoved(address indexed account, int256 amount, int256 totalPrivateCash);
    /// @notice Emitted when a settled batch's fees move from private cash to protocol fees.
    /// @param amount Collateral base units.
    /// @param totalPrivateCash The total private cash afterwards.
    event TradingFeesCollected(uint256 amount, int256 totalPrivateCash);
    /// @notice Emitted when the owner names the top-up module (the only caller of `depositFor`).
    /// @param topUpModule The module (zero: none, `depositFor` disabled).
    event TopUpModuleSet(address topUpModule);
    /// @notice Emitted when `from` adds `amount` to the insurance fund.
    /// @param from The funder.
    /// @param amount Collateral base units added.
    /// @param insuranceFund The insurance fund after the addition, in collateral base units.
    event InsuranceFunded(address indexed from, uint256 amount, uint256 insuranceFund);
    /// @notice Emitted when the owner withdraws protocol fees.
    /// @param to The receiver of the tokens.
    /// @param amount Collateral base units withdrawn.
    event FeesWithdrawn(address indexed to, uint256 amount);
    /// @notice Emitted when the liquidation module moves `amount` units from `from` to `to`.
    /// @param from The account debited.
    /// @param to The account credited.
    /// @param amount Collateral base units moved.
    event BalanceTransferred(address indexed from, address indexed to, uint256 amount);
    /// @notice Emitted when a liquidation fee is taken from `account`.
    /// @param account The liquidated account that paid the fee.
    /// @param toInsurance The part added to the insurance fund, in collateral base units.
    /// @param toProtocol The part added to the protocol fees, in collateral base units.
    event FeeCollected(address indexed account, uint256 toInsurance, uint256 toProtocol);
    /// @notice Emitted when `account` owes `to` `amount`: paid from the account, then the
    ///         insurance fund, then socialized over all balances; `uncovered` is what is left unpaid.
    /// @param account The account that owes.
    /// @param to The payee (the bidder).
    /// @param amount The amount owed, in collateral base units.
    /// @param fromAccount The part paid from the account's balance.
    /// @param fromInsurance The part paid from the insurance fund.
    /// @param socialized The part paid by a haircut of every balance.
    /// @param uncovered The part left unpaid.
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
    /// @param field The name of the parameter.
    error Vault_ZeroAddress(string field);
    /// @notice `account` asked for `requested` but holds only `available`.
    /// @param account The account debited.
    /// @param requested The amount asked for, in collateral base units.
    /// @param available The account's balance, in collateral base units.
    error Vault_InsufficientBalance(address account, uint256 requested, uint256 available);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are not supported).
    /// @param expected The amount asked for, in token base units.
    /// @param received The amount the vault's token balance changed by.
    error Vault_TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice Only the margin, liquidation or top-up module may call this.
    /// @param caller The caller.
    error Vault_Unauthorized(address caller);
    /// @notice The account has a margin commitment: withdraw through `MarginAccounts.withdraw` with a proof.
    /// @param account The account.
    error Vault_AccountHasPositions(address account);
    /// @notice The modules are already wired.
    error Vault_ModulesAlreadySet();
    /// @notice The owner asked for more fees than accrued.
    /// @param requested The amount asked for, in collateral base units.
    /// @param available The accrued protocol fees, in collateral base units.
    error Vault_InsufficientFees(uint256 requested, uint256 available);

    /// @notice The ERC20 collateral token.
    /// @return The token's address.
    function collateral() external view returns (address);
    /// @notice Collateral units credited to `account` (floor of its pool share).
    /// @param account The account.
    /// @return The balance, in collateral base units.
    function balanceOf(address account) external view returns (uint256);
    /// @notice Units held for accounts (the pool), >= the sum of all balances.
    /// @return The pool, in collateral base units.
    function totalDeposits() external view returns (uint256);
    /// @notice Pool shares of `account`.
    /// @param account The account.
    /// @return The account's shares.
    function sharesOf(address account) external view returns (uint256);
    /// @notice Sum of all pool shares.
    /// @return The total shares.
    function totalShares() external view returns (uint256);
    /// @notice The insurance fund.
    /// @return The fund, in collateral base units.
    function insuranceFund() external view returns (uint256);
    /// @notice Accrued protocol fees.
    /// @return The fees, in collateral base units.
    function protocolFees() external view returns (uint256);
    /// @notice Wire the margin, liquidation and settlement modules (owner, once).
    /// @param marginAccounts The margin accounts module (proof-gated withdrawals, private cash moves).
    /// @param liquidation The liquidation module (balance transfers, fees, shortfalls).
    /// @param settlement The settlement module (trading fees).
    function setModules(address marginAccounts, address liquidation, address settlement) external;
    /// @notice The accounts' total private cash (net of unsettled funding), in collateral base units.
    /// @return The total; negative when the accounts owe more private cash than they are owed.
    function totalPrivateCash() external view returns (int256);
    /// @notice Move `amount` of `account`'s private cash to its public balance (negative: from the
    ///         balance to private cash; margin accounts module only, after the transition's proof).
    /// @param account The account.
    /// @param amount Collateral base units, `|amount| < 2^128`.
    function movePrivateCash(address account, int256 amount) external;
    /// @notice Move a settled batch's fees from private cash to protocol fees (settlement module only).
    /// @param amount Collateral base units.
    function collectTradingFees(uint256 amount) external;
    /// @notice Pull `amount` collateral from the caller and credit it to the caller.
    /// @param amount Collateral base units (the caller must have approved the vault).
    function deposit(uint256 amount) external;
    /// @notice Debit `amount` from the caller (an account without positions) and send it to `to`.
    /// @param amount Collateral base units.
    /// @param to The receiver of the tokens.
    function withdraw(uint256 amount, address to) external;
    /// @notice The top-up module, the only caller of `depositFor` (zero: none).
    /// @return The module's address.
    function topUpModule() external view returns (address);
    /// @notice Name the top-up module (owner only; zero disables `depositFor`).
    /// @param topUpModule The module (`TopUpAuthorizations`).
    function setTopUpModule(address topUpModule) external;
    /// @notice Pull `amount` collateral from the caller (the top-up module) and credit it to `account`.
    /// @param account The account credited.
    /// @param amount Collateral base units (the caller must have approved the vault).
    /// @return newBalance The account's balance after the deposit, in collateral base units.
    function depositFor(address account, uint256 amount) external returns (uint256 newBalance);
    /// @notice Pull `amount` collateral from the caller into the insurance fund.
    /// @param amount Collateral base units.
    function fundInsurance(uint256 amount) external;
    /// @notice Send `amount` of accrued protocol fees to `to` (owner only).
    /// @param amount Collateral base units.
    /// @param to The receiver of the tokens.
    function withdrawFees(uint256 amount, address to) external;
    /// @notice Debit `account` and send `amount` to `to` (margin module, after its proof check).
    /// @param account The account debited.
    /// @param amount Collateral base units.
    /// @param to The receiver of the tokens.
    /// @return newBalance The account's balance after the withdrawal, in collateral base units.
    function withdrawFor(address account, uint256 amount, address to) external returns (uint256 newBalance);
    /// @notice Move `amount` units from `from` to `to` (liquidation module).
    /// @param from The account debited.
    /// @param to The account credited.
    /// @param amount Collateral base units.
    function transferBalance(address from, address to, uint256 amount) external;
    /// @notice Take `min(amount, balance)` from `account` as a fee; `protocolShareBps` of it to protocol fees,
    ///         the rest to the insurance fund (liquidation module).
    /// @param account The account charged.
    /// @param amount The fee due, in collateral base units.
    /// @param protocolShareBps The protocol's share of the fee, in bps.
    /// @return fee The fee taken, in collateral base units.
    function collectFee(address account, uint256 amount, uint256 protocolShareBps) external returns (uint256 fee);
    /// @notice Pay `amount` owed by `account` to `to`: from the account, then the insurance fund, then
    ///         socialized over all balances (liquidation module).
    /// @param account The account that owes.
    /// @param to The payee.
    /// @param amount The amount owed, in collateral base units.
    /// @return fromAccount The part paid from the account's balance.
    /// @return fromInsurance The part paid from the insurance fund.
    /// @return socialized The part paid by a haircut of every balance.
    /// @return uncovered The part left unpaid.
    function coverShortfall(address account, address to, uint256 amount)
        external
        returns (uint256 fromAccount, uint256 fromInsurance, uint256 socialized, uint256 uncovered);
}
