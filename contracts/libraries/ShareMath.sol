// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ShareMath
/// @notice Integer conversions between pool units and pool shares (mirrored by
///         `offchain.mirror.vault`). Rounding always favours the pool.
library ShareMath {
    /// @notice Shares minted for `amount` units added to a pool of `assets` units and `shares` shares (floor).
    /// @param amount Units added.
    /// @param assets Pool units before.
    /// @param shares Pool shares before.
    /// @return Shares minted (`amount` for an empty pool).
    function sharesForDeposit(uint256 amount, uint256 assets, uint256 shares) internal pure returns (uint256) {
        if (shares == 0 || assets == 0) return amount;
        return amount * shares / assets;
    }

    /// @notice Shares burned to remove `amount` units (ceil).
    /// @param amount Units removed.
    /// @param assets Pool units before.
    /// @param shares Pool shares before.
    /// @return Shares burned (`amount` for an empty pool).
    function sharesForWithdrawal(uint256 amount, uint256 assets, uint256 shares) internal pure returns (uint256) {
        if (shares == 0 || assets == 0) return amount;
        return (amount * shares + assets - 1) / assets;
    }

    /// @notice Units that `s` shares are worth (floor).
    /// @param s Shares.
    /// @param assets Pool units.
    /// @param shares Pool shares.
    /// @return Units (0 for an empty pool).
    function unitsOf(uint256 s, uint256 assets, uint256 shares) internal pure returns (uint256) {
        if (shares == 0) return 0;
        return s * assets / shares;
    }
}
