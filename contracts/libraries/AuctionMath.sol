// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Constants} from "./Constants.sol";

/// @title AuctionMath
/// @notice The integer formulas of the liquidation Dutch auction (mirrored exactly by
///         `offchain.mirror.auction`; golden vectors in tests/vectors/auction.json).
library AuctionMath {
    /// @notice Discount to mark at time `nowTs`: linear from `startBps` at `startTime` to `maxBps`
    ///         at `startTime + duration`, constant after; floor.
    /// @param startTime Auction start (unix seconds).
    /// @param nowTs The time (unix seconds).
    /// @param duration Seconds from `startBps` to `maxBps`, nonzero.
    /// @param startBps Discount at the start, in bps.
    /// @param maxBps Discount after `duration`, in bps, `>= startBps`.
    /// @return The discount, in bps.
    function discountBps(uint256 startTime, uint256 nowTs, uint256 duration, uint256 startBps, uint256 maxBps)
        internal
        pure
        returns (uint256)
    {
        if (nowTs <= startTime) return startBps;
        uint256 elapsed = nowTs - startTime;
        if (elapsed >= duration) return maxBps;
        return startBps + (maxBps - startBps) * elapsed / duration;
    }

    /// @notice The part of `amount` a fill of `fractionWad` of the remaining book takes: the whole
    ///         remainder at `WAD`, else `amount * fraction / WAD` truncated toward zero.
    /// @param amount A remaining position (lots) or the remaining cash (collateral base units).
    /// @param fractionWad The fill fraction, a WAD fraction in (0, 1e18].
    /// @return The part taken, of the sign of `amount`.
    function slice(int256 amount, uint256 fractionWad) internal pure returns (int256) {
        if (fractionWad == Constants.WAD) return amount;
        return amount * int256(fractionWad) / int256(Constants.WAD);
    }

    /// @notice Terms of a fill whose slice has mark value `value` (cash + sum x_i m_i) and gross
    ///         notional `gross` (sum |x_i| |m_i|): the bidder pays `cost = value - discount`
    ///         (receives `-cost` if negative), `discount = gross * dBps / BPS` (floor), and the fill
    ///         adds `fee = gross * feeBps / BPS` (floor) to the liquidation fee due.
    /// @param value The slice's mark value, in collateral base units.
    /// @param gross The slice's gross notional, in collateral base units.
    /// @param dBps The auction discount, in bps.
    /// @param feeBps The liquidation fee rate, in bps.
    /// @return cost Paid by the bidder (negative: received), in collateral base units.
    /// @return discount The discount to mark value, in collateral base units.
    /// @return fee The fee the fill adds, in collateral base units.
    function fillTerms(int256 value, uint256 gross, uint256 dBps, uint256 feeBps)
        internal
        pure
        returns (int256 cost, uint256 discount, uint256 fee)
    {
        discount = gross * dBps / Constants.BPS;
        cost = value - int256(discount);
        fee = gross * feeBps / Constants.BPS;
    }

    /// @notice Take `fractionWad` of the book `(positions, cash)` valued at `marks`: `lots[i]` and
    ///         `cashTaken` are the slices of each amount, `value = cashTaken + sum lots_i * m_i`,
    ///         `gross = sum |lots_i| * |m_i|`; `positions` is updated in place to the remainder;
    ///         `empty` says the book is empty afterwards, `nonzero` that the fill takes anything.
    /// @param positions The remaining positions (lots); updated in place to what is left.
    /// @param cash The remaining cash, in collateral base units.
    /// @param marks The marks (collateral base units per lot), one per position.
    /// @param fractionWad The fill fraction, a WAD fraction in (0, 1e18].
    /// @return lots The positions taken (lots).
    /// @return cashTaken The cash taken, in collateral base units.
    /// @return value `cashTaken + sum lots_i * m_i`, in collateral base units.
    /// @return gross `sum |lots_i| * |m_i|`, in collateral base units.
    /// @return empty Whether the book is empty afterwards.
    /// @return nonzero Whether the fill takes anything.
    function takeSlice(int256[] memory positions, int256 cash, int256[] memory marks, uint256 fractionWad)
        internal
        pure
        returns (int256[] memory lots, int256 cashTaken, int256 value, uint256 gross, bool empty, bool nonzero)
    {
        uint256 n = positions.length;
        lots = new int256[](n);
        cashTaken = slice(cash, fractionWad);
        value = cashTaken;
        empty = cash == cashTaken;
        nonzero = cashTaken != 0;
        for (uint256 i = 0; i < n; ++i) {
            int256 qi = positions[i];
            if (qi == 0) continue;
            int256 x = slice(qi, fractionWad);
            if (x != 0) {
                nonzero = true;
                int256 m = marks[i];
                lots[i] = x;
                value += x * m;
                gross += _abs(x) * _abs(m);
                positions[i] = qi - x;
            }
            if (qi != x) empty = false;
        }
    }

    function _abs(int256 x) private pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }
}
