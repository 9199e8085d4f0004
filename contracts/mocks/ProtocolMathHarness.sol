// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AuctionMath} from "../libraries/AuctionMath.sol";
import {Constants, MAX_DIMENSION} from "../libraries/Constants.sol";
import {ShareMath} from "../libraries/ShareMath.sol";
import {FieldMath} from "../libraries/FieldMath.sol";

/// @title ProtocolMathHarness
/// @notice Exposes the protocol's pure integer libraries so the golden vectors produced by
///         `offchain.mirror` can be replayed against the exact on-chain code, and the
///         protocol constants so tests/devnet/test_constants.py can check them against Python.
contract ProtocolMathHarness {
    /// @notice Every value of `Constants` (and `MAX_DIMENSION`, `FieldMath.SNARK_SCALAR_FIELD`).
    /// @param wad `Constants.WAD`.
    /// @param bps `Constants.BPS`.
    /// @param priceDecimals `Constants.PRICE_DECIMALS`.
    /// @param maxDimension `MAX_DIMENSION`.
    /// @param imFactorMinBps `Constants.IM_FACTOR_MIN_BPS`.
    /// @param positionBound `Constants.POSITION_BOUND`.
    /// @param cashBound `Constants.CASH_BOUND`.
    /// @param epochValueBound `Constants.EPOCH_VALUE_BOUND`.
    /// @param kindMm `Constants.KIND_MM`.
    /// @param kindIm `Constants.KIND_IM`.
    /// @param kindInsolvency `Constants.KIND_INSOLVENCY`.
    /// @param numPublicInputs `Constants.NUM_PUBLIC_INPUTS`.
    /// @param tagEpoch `Constants.TAG_EPOCH`.
    /// @param tagAccount `Constants.TAG_ACCOUNT`.
    /// @param reasonNoFreshProof `Constants.REASON_NO_FRESH_PROOF`.
    /// @param reasonInsolvent `Constants.REASON_INSOLVENT`.
    /// @param snarkScalarField `FieldMath.SNARK_SCALAR_FIELD`.
    struct ProtocolConstants {
        uint256 wad;
        uint256 bps;
        uint8 priceDecimals;
        uint256 maxDimension;
        uint16 imFactorMinBps;
        uint256 positionBound;
        uint256 cashBound;
        uint256 epochValueBound;
        uint8 kindMm;
        uint8 kindIm;
        uint8 kindInsolvency;
        uint256 numPublicInputs;
        uint256 tagEpoch;
        uint256 tagAccount;
        uint8 reasonNoFreshProof;
        uint8 reasonInsolvent;
        uint256 snarkScalarField;
    }

    /// @notice The compiled protocol constants.
    /// @return c Every constant of `Constants.sol`, and the BN254 scalar field modulus.
    function constants() external pure returns (ProtocolConstants memory c) {
        c.wad = Constants.WAD;
        c.bps = Constants.BPS;
        c.priceDecimals = Constants.PRICE_DECIMALS;
        c.maxDimension = MAX_DIMENSION;
        c.imFactorMinBps = Constants.IM_FACTOR_MIN_BPS;
        c.positionBound = Constants.POSITION_BOUND;
        c.cashBound = Constants.CASH_BOUND;
        c.epochValueBound = Constants.EPOCH_VALUE_BOUND;
        c.kindMm = Constants.KIND_MM;
        c.kindIm = Constants.KIND_IM;
        c.kindInsolvency = Constants.KIND_INSOLVENCY;
        c.numPublicInputs = Constants.NUM_PUBLIC_INPUTS;
        c.tagEpoch = Constants.TAG_EPOCH;
        c.tagAccount = Constants.TAG_ACCOUNT;
        c.reasonNoFreshProof = Constants.REASON_NO_FRESH_PROOF;
        c.reasonInsolvent = Constants.REASON_INSOLVENT;
        c.snarkScalarField = FieldMath.SNARK_SCALAR_FIELD;
    }

    /// @notice `AuctionMath.discountBps`.
    /// @param startTime Auction start (unix seconds).
    /// @param nowTs The time (unix seconds).
    /// @param duration Seconds from `startBps` to `maxBps`.
    /// @param startBps Discount at the start, in bps.
    /// @param maxBps Discount after `duration`, in bps.
    /// @return The discount, in bps.
    function discountBps(uint256 startTime, uint256 nowTs, uint256 duration, uint256 startBps, uint256 maxBps)
        external
        pure
        returns (uint256)
    {
        return AuctionMath.discountBps(startTime, nowTs, duration, startBps, maxBps);
    }

    /// @notice `AuctionMath.slice`.
    /// @param amount A position (lots) or cash (collateral base units).
    /// @param fractionWad The fill fraction, a WAD fraction.
    /// @return The part taken.
    function slice(int256 amount, uint256 fractionWad) external pure returns (int256) {
        return AuctionMath.slice(amount, fractionWad);
    }

    /// @notice `AuctionMath.fillTerms`.
    /// @param value The slice's mark value, in collateral base units.
    /// @param gross The slice's gross notional, in collateral base units.
    /// @param dBps The discount, in bps.
    /// @param feeBps The fee, in bps of gross notional.
    /// @param rateWad The auction's discount cap, a WAD rate of gross notional.
    /// @param underwater Whether the account's equity at mark was negative at the start.
    /// @return cost What the bidder pays (negative: receives).
    /// @return discount The discount granted.
    /// @return fee The fee added to the fee due.
    function fillTerms(int256 value, uint256 gross, uint256 dBps, uint256 feeBps, uint64 rateWad, bool underwater)
        external
        pure
        returns (int256 cost, uint256 discount, uint256 fee)
    {
        return AuctionMath.fillTerms(value, gross, dBps, feeBps, rateWad, underwater);
    }

    /// @notice `AuctionMath.sliceValue`.
    /// @param bookValue The remaining book's value at mark, in collateral base units.
    /// @param fractionWad The fill fraction (WAD).
    /// @return The fill's value, in collateral base units.
    function sliceValue(int256 bookValue, uint256 fractionWad) external pure returns (int256) {
        return AuctionMath.sliceValue(bookValue, fractionWad);
    }

    /// @notice `AuctionMath.discountCap`.
    /// @param equity The account's equity at mark at the start, in collateral base units.
    /// @param gross The book's gross notional at mark, in collateral base units.
    /// @return rateWad The cap as a WAD rate of gross notional.
    /// @return underwater Whether `equity < 0`.
    function discountCap(int256 equity, uint256 gross) external pure returns (uint64 rateWad, bool underwater) {
        return AuctionMath.discountCap(equity, gross);
    }

    /// @notice `AuctionMath.takeSlice`, returning the remaining positions too.
    /// @param positions The book's positions (lots).
    /// @param cash The book's cash, in collateral base units.
    /// @param marks The marks (collateral base units per lot).
    /// @param fractionWad The fill fraction, a WAD fraction.
    /// @return lots The positions taken.
    /// @return cashTaken The cash taken.
    /// @return value The slice's mark value.
    /// @return gross The slice's gross notional.
    /// @return empty Whether the book is empty afterwards.
    /// @return nonzero Whether the fill takes anything.
    /// @return remaining The positions left.
    function takeSlice(int256[] memory positions, int256 cash, int256[] memory marks, uint256 fractionWad)
        external
        pure
        returns (
            int256[] memory lots,
            int256 cashTaken,
            int256 value,
            uint256 gross,
            bool empty,
            bool nonzero,
            int256[] memory remaining
        )
    {
        AuctionMath.Slice memory s = AuctionMath.takeSlice(positions, cash, marks, fractionWad);
        (lots, cashTaken, value, gross, empty, nonzero) = (s.lots, s.cashTaken, s.value, s.gross, s.empty, s.nonzero);
        remaining = positions;
    }

    /// @notice `ShareMath.sharesForDeposit`.
    /// @param amount Units added.
    /// @param assets Pool units.
    /// @param shares Pool shares.
    /// @return Shares minted.
    function sharesForDeposit(uint256 amount, uint256 assets, uint256 shares) external pure returns (uint256) {
        return ShareMath.sharesForDeposit(amount, assets, shares);
    }

    /// @notice `ShareMath.sharesForWithdrawal`.
    /// @param amount Units removed.
    /// @param assets Pool units.
    /// @param shares Pool shares.
    /// @return Shares burned.
    function sharesForWithdrawal(uint256 amount, uint256 assets, uint256 shares) external pure returns (uint256) {
        return ShareMath.sharesForWithdrawal(amount, assets, shares);
    }

    /// @notice `ShareMath.unitsOf`.
    /// @param s Shares.
    /// @param assets Pool units.
    /// @param shares Pool shares.
    /// @return Units the shares are worth.
    function unitsOf(uint256 s, uint256 assets, uint256 shares) external pure returns (uint256) {
        return ShareMath.unitsOf(s, assets, shares);
    }

    /// @notice `FieldMath.toField`.
    /// @param x A signed integer, `|x| < r`.
    /// @return `x mod r`.
    function toField(int256 x) external pure returns (uint256) {
        return FieldMath.toField(x);
    }
}
