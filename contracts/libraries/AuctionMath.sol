// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Constants} from "./Constants.sol";

/// @title AuctionMath
/// @notice The integer formulas of the liquidation Dutch auction (mirrored exactly by
///         `offchain.mirror.auction`; golden vectors in tests/vectors/auction.json).
/// @dev Three invariants shape these formulas (docs/contracts.md, "Attack classes"):
///      1. A fill takes a proportional share of the remaining book's *value*: its value is
///         `ceil(f * W)` of the remaining value `W` (the last fill takes exactly the rest), and
///         the cash taken absorbs the rounding of the position slices. So no fill can take the
///         book's debt without its assets (or the reverse), and splitting a liquidation into
///         fills changes what each party gets in total by at most one unit per fill, always in
///         the protocol's favour (values round up, discounts down, fees up).
///      2. The discount never exceeds the account's equity at mark: an account whose equity at
///         mark is non-negative pays every discount and fee from its own equity, so its
///         liquidation never draws on the insurance fund.
///      3. The clock of the auction is the liquidation module's unpaused time (caller's job).
library AuctionMath {
    /// @notice Discount to mark at time `nowTs`: linear from `startBps` at `startTime` to `maxBps`
    ///         at `startTime + duration`, constant after; floor.
    /// @param startTime Auction start (unix seconds).
    /// @param nowTs The time (unix seconds; the caller takes paused time off).
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

    /// @notice The part of a position a fill of `fractionWad` of the remaining book takes: the whole
    ///         remainder at `WAD`, else `amount * fraction / WAD` truncated toward zero.
    /// @param amount A remaining position (lots).
    /// @param fractionWad The fill fraction, a WAD fraction in (0, 1e18].
    /// @return The part taken, of the sign of `amount`.
    function slice(int256 amount, uint256 fractionWad) internal pure returns (int256) {
        if (fractionWad == Constants.WAD) return amount;
        return amount * int256(fractionWad) / int256(Constants.WAD);
    }

    /// @notice The value a fill of `fractionWad` takes from a book of remaining value `bookValue`:
    ///         all of it at `WAD`, else `ceil(bookValue * fraction / WAD)` (toward +infinity: the
    ///         bidder pays a little more, or receives a little less).
    /// @param bookValue The remaining book's value at mark, in collateral base units.
    /// @param fractionWad The fill fraction, a WAD fraction in (0, 1e18].
    /// @return The fill's value, in collateral base units.
    function sliceValue(int256 bookValue, uint256 fractionWad) internal pure returns (int256) {
        if (fractionWad == Constants.WAD) return bookValue;
        int256 p = bookValue * int256(fractionWad);
        int256 q = p / int256(Constants.WAD);
        if (p > 0 && q * int256(Constants.WAD) != p) q += 1;
        return q;
    }

    /// @notice The discount cap of an auction, fixed when it starts, from the account's equity at
    ///         mark `equity` (vault balance + book value) and the book's gross notional `gross`:
    ///         `rateWad = min(|equity| * WAD / gross, WAD)` (floor). For a solvent account
    ///         (`equity >= 0`) a fill's discount is at most `gross_fill * rateWad / WAD`, so all
    ///         discounts together stay within the equity. For an account already under water
    ///         the insurance fund pays the discount, scaled down to `rateWad` of the schedule so
    ///         that it never exceeds `discount(t) x shortfall`.
    /// @param equity The account's equity at mark when the auction starts, in collateral base units.
    /// @param gross The book's gross notional at mark `sum |q_i| |m_i|`, in collateral base units.
    /// @return rateWad The cap as a WAD rate of gross notional.
    /// @return underwater Whether `equity < 0`.
    function discountCap(int256 equity, uint256 gross) internal pure returns (uint64 rateWad, bool underwater) {
        underwater = equity < 0;
        if (gross == 0) return (0, underwater);
        uint256 mag = underwater ? uint256(-equity) : uint256(equity);
        uint256 r = mag * Constants.WAD / gross;
        rateWad = uint64(r < Constants.WAD ? r : Constants.WAD);
    }

    /// @notice Terms of a fill whose slice has mark value `value` and gross notional `gross`
    ///         (`sum |x_i| |m_i|`): the scheduled discount `gross * dBps / BPS` (floor), capped by
    ///         the auction's discount cap (`discountCap`); the bidder pays `cost = value - discount`
    ///         (receives `-cost` if negative), and the fill adds `fee = ceil(gross * feeBps / BPS)`
    ///         to the liquidation fee due.
    /// @param value The fill's value at mark, in collateral base units.
    /// @param gross The fill's gross notional at mark, in collateral base units.
    /// @param dBps The auction's current discount, in bps.
    /// @param feeBps The liquidation fee, in bps of gross notional.
    /// @param rateWad The auction's discount cap (`discountCap`).
    /// @param underwater Whether the account's equity at mark was negative at the start.
    /// @return cost What the bidder pays (negative: receives), in collateral base units.
    /// @return discount The discount granted, in collateral base units.
    /// @return fee The fee added to the fee due, in collateral base units.
    function fillTerms(int256 value, uint256 gross, uint256 dBps, uint256 feeBps, uint64 rateWad, bool underwater)
        internal
        pure
        returns (int256 cost, uint256 discount, uint256 fee)
    {
        discount = gross * dBps / Constants.BPS;
        if (underwater) {
            discount = discount * rateWad / Constants.WAD;
        } else {
            uint256 cap = gross * rateWad / Constants.WAD;
            if (cap < discount) discount = cap;
        }
        cost = value - int256(discount);
        fee = (gross * feeBps + Constants.BPS - 1) / Constants.BPS;
    }

    /// @notice What one fill takes from the book.
    /// @param lots The positions taken (lots).
    /// @param cashTaken The cash taken, in collateral base units.
    /// @param value The fill's value at mark, in collateral base units.
    /// @param gross The fill's gross notional at mark, in collateral base units.
    /// @param empty Whether the book is empty after the fill.
    /// @param nonzero Whether the fill takes anything.
    struct Slice {
        int256[] lots;
        int256 cashTaken;
        int256 value;
        uint256 gross;
        bool empty;
        bool nonzero;
    }

    /// @notice Take `fractionWad` of the book `(positions, cash)` valued at `marks`: `lots[i]` are
    ///         the position slices (toward zero), `value = sliceValue(W, f)` with `W` the book's
    ///         value `cash + sum q_i m_i`, `cashTaken = value - sum lots_i m_i` (the cash absorbs the
    ///         rounding), `gross = sum |lots_i| * |m_i|`; `positions` is updated in place to the
    ///         remainder.
    /// @param positions The remaining positions (lots); updated in place.
    /// @param cash The remaining cash, in collateral base units.
    /// @param marks The epoch marks, collateral base units per lot.
    /// @param fractionWad The fill fraction, a WAD fraction in (0, 1e18].
    /// @return t The slice.
    function takeSlice(int256[] memory positions, int256 cash, int256[] memory marks, uint256 fractionWad)
        internal
        pure
        returns (Slice memory t)
    {
        t.lots = new int256[](positions.length);
        int256 total = cash;
        int256 lotsValue;
        t.empty = true;
        for (uint256 i = 0; i < positions.length; ++i) {
            int256 qi = positions[i];
            if (qi == 0) continue;
            total += qi * marks[i];
            int256 x = slice(qi, fractionWad);
            if (x != 0) {
                t.lots[i] = x;
                lotsValue += x * marks[i];
                t.gross += _abs(x) * _abs(marks[i]);
                positions[i] = qi - x;
            }
            if (qi != x) t.empty = false;
        }
        t.value = sliceValue(total, fractionWad);
        t.cashTaken = t.value - lotsValue;
        if (cash != t.cashTaken) t.empty = false;
        t.nonzero = t.value != 0 || t.cashTaken != 0 || t.gross != 0;
    }

    /// @notice The value `cash + sum q_i m_i` and the gross notional `sum |q_i| |m_i|` of a book.
    /// @param positions The positions (lots).
    /// @param cash The cash, in collateral base units.
    /// @param marks The epoch marks, collateral base units per lot.
    /// @return value The book's value at mark, in collateral base units.
    /// @return gross The book's gross notional at mark, in collateral base units.
    function bookValue(int256[] calldata positions, int256 cash, int256[] calldata marks)
        internal
        pure
        returns (int256 value, uint256 gross)
    {
        value = cash;
        for (uint256 i = 0; i < positions.length; ++i) {
            int256 qi = positions[i];
            if (qi == 0) continue;
            value += qi * marks[i];
            gross += _abs(qi) * _abs(marks[i]);
        }
    }

    function _abs(int256 x) private pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }
}
