// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {GuardianPausable} from "../access/GuardianPausable.sol";
import {Constants, MAX_DIMENSION} from "../libraries/Constants.sol";
import {FieldMath} from "../libraries/FieldMath.sol";
import {AuctionMath} from "../libraries/AuctionMath.sol";
import {ILiquidation} from "../interfaces/ILiquidation.sol";
import {IMarginAccounts} from "../interfaces/IMarginAccounts.sol";
import {IRiskEpochs} from "../interfaces/IRiskEpochs.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IPoseidonSponge} from "../interfaces/IPoseidonSponge.sol";

/// @title Liquidation
/// @notice Liquidates accounts without a fresh proof after the grace window, or proven insolvent:
///         the commitment is opened, and the book (positions and cash) is sold in a Dutch auction at
///         a discount to the epoch marks, in proportional partial fills. A fill of positive value is
///         paid by the bidder to the account; a fill of negative value (a liability) is paid to the
///         bidder by the account, then the insurance fund, then socialized over all balances.
///         The liquidation fee (on gross notional) goes to the insurance fund when the book is empty.
/// @dev Bidders settle through their vault balance and must hold no commitment, so a bid never
///      weakens a proof-bound balance.
contract Liquidation is ILiquidation, GuardianPausable, ReentrancyGuardTransient {
    /// @notice The collateral vault.
    ICollateralVault public immutable vault;
    /// @notice The margin accounts.
    IMarginAccounts public immutable accounts;
    /// @notice The risk-epoch registry.
    IRiskEpochs public immutable epochs;
    /// @notice The Poseidon sponge that opens commitments.
    IPoseidonSponge public immutable poseidon;

    AuctionParams private _params;
    mapping(address account => Auction) private _auctions;
    /// @dev Remaining positions of each auction (|q_i| < 2^64: two per slot). A fixed array: no
    ///      length slot (the auction's `numInstruments` is the length), only nonzero entries are
    ///      written, and a closed book is all zeros already, so closing deletes nothing here.
    mapping(address account => int128[MAX_DIMENSION]) private _positions;
    /// @dev The marks of an epoch, stored by the first liquidation priced by it (checked against
    ///      the epoch's `marksHash`, |m_i| < 2^64); every later liquidation of the epoch reuses them.
    mapping(uint64 epochId => int128[]) private _epochMarks;

    /// @param owner_ Owner (auction parameters, guardian).
    /// @param vault_ The collateral vault.
    /// @param accounts_ The margin accounts.
    /// @param epochs_ The risk-epoch registry.
    /// @param poseidon_ The Poseidon sponge.
    /// @param params_ The initial auction parameters.
    constructor(
        address owner_,
        ICollateralVault vault_,
        IMarginAccounts accounts_,
        IRiskEpochs epochs_,
        IPoseidonSponge poseidon_,
        AuctionParams memory params_
    ) GuardianPausable(owner_) {
        vault = vault_;
        accounts = accounts_;
        epochs = epochs_;
        poseidon = poseidon_;
        _setParams(params_);
    }

    /// @inheritdoc ILiquidation
    function setAuctionParams(AuctionParams calldata params) external onlyOwner {
        _setParams(params);
    }

    /// @notice The auction parameters.
    /// @return The current parameters.
    function auctionParams() external view returns (AuctionParams memory) {
        return _params;
    }

    /// @notice The auction of `account`.
    /// @param account The account.
    /// @return The auction (all zero, inactive, if none).
    function getAuction(address account) external view returns (Auction memory) {
        return _auctions[account];
    }

    /// @notice The remaining book of `account`'s auction.
    /// @param account The account.
    /// @return positions The remaining positions (lots); empty when there is no auction.
    /// @return marks The marks pricing the auction (collateral base units per lot); empty when there is no auction.
    function getBook(address account) external view returns (int256[] memory positions, int256[] memory marks) {
        Auction storage a = _auctions[account];
        return (_book(account, a.numInstruments), _widen(_epochMarks[a.epochId]));
    }

    /// @notice The discount to mark of `account`'s auction at time `timestamp`.
    /// @param account The account (reverts `Liquidation_NotInLiquidation` if no auction is running).
    /// @param timestamp The time (unix seconds).
    /// @return The discount, in bps.
    function discountBpsAt(address account, uint256 timestamp) public view returns (uint256) {
        Auction storage a = _auctions[account];
        if (!a.active) revert Liquidation_NotInLiquidation(account);
        return _discountBps(a.startTime, timestamp);
    }

    /// @dev The schedule's discount at `timestamp`, on the auction clock: time this module spent
    ///      paused (no bids possible) does not advance it.
    function _discountBps(uint64 startTime, uint256 timestamp) private view returns (uint256) {
        AuctionParams memory p = _params;
        uint256 paused = pausedSecondsSince(startTime);
        uint256 clock = timestamp > startTime + paused ? timestamp - paused : startTime;
        return AuctionMath.discountBps(startTime, clock, p.durationSeconds, p.startDiscountBps, p.maxDiscountBps);
    }

    /// @inheritdoc ILiquidation
    function startLiquidation(address account, int256[] calldata q, int256 cash, uint256 salt, int256[] calldata marks)
        external
        whenNotPaused
        nonReentrant
    {
        Auction storage a = _auctions[account];
        if (a.active) revert Liquidation_AlreadyInLiquidation(account);
        uint256 stored = accounts.commitmentOf(account);
        if (stored == 0) revert Liquidation_NoCommitment(account);
        if (accounts.liquidationReason(account) == 0) revert Liquidation_AccountHealthy(account);
        uint64 epochId = _checkOpening(stored, q, cash, salt, marks);
        (,, uint8 reason) = accounts.beginLiquidation(account);
        a.epochId = epochId;
        a.startTime = uint64(block.timestamp);
        a.numInstruments = uint16(q.length);
        a.reason = reason;
        a.active = true;
        a.cash = cash; // feeDue and shortfall are zero: finishing deletes the auction
        _setDiscountCap(a, account, q, cash, marks);
        int128[MAX_DIMENSION] storage book = _positions[account];
        for (uint256 i = 0; i < q.length; ++i) {
            if (q[i] != 0) book[i] = int128(q[i]); // |q_i| < 2^64 (checked)
        }
        if (_epochMarks[epochId].length == 0) _epochMarks[epochId] = _narrow(marks);
        _emitStarted(account, stored, q, marks);
    }

    /// @dev Invariant: the discounts of a liquidation never exceed the account's equity at mark
    ///      (vault balance + book value), so a solvent account never draws on the insurance fund.
    function _setDiscountCap(
        Auction storage a,
        address account,
        int256[] calldata q,
        int256 cash,
        int256[] calldata marks
    ) private {
        (int256 value, uint256 gross) = AuctionMath.bookValue(q, cash, marks);
        (a.discountRateWad, a.underwater) = AuctionMath.discountCap(int256(vault.balanceOf(account)) + value, gross);
    }

    function _emitStarted(address account, uint256 commitment, int256[] memory q, int256[] memory marks) private {
        Auction storage a = _auctions[account];
        emit LiquidationStarted(
            account, a.epochId, a.reason, commitment, q, a.cash, marks, vault.balanceOf(account), a.startTime
        );
    }

    /// @dev Packs values already checked to lie in (-2^64, 2^64).
    function _narrow(int256[] calldata xs) private pure returns (int128[] memory out) {
        out = new int128[](xs.length);
        for (uint256 i = 0; i < xs.length; ++i) {
            out[i] = int128(xs[i]);
        }
    }

    function _book(address account, uint256 n) private view returns (int256[] memory out) {
        int128[MAX_DIMENSION] storage book = _positions[account];
        out = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = book[i];
        }
    }

    function _widen(int128[] storage xs) private view returns (int256[] memory out) {
        uint256 n = xs.length;
        out = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = xs[i];
        }
    }

    /// @dev Checks the opening `(q, cash, salt)` against `stored` and `marks` against the current epoch.
    function _checkOpening(uint256 stored, int256[] calldata q, int256 cash, uint256 salt, int256[] calldata marks)
        private
        view
        returns (uint64 epochId)
    {
        epochId = epochs.currentEpochId();
        IRiskEpochs.Epoch memory e = epochs.getEpoch(epochId);
        uint256 n = e.numInstruments;
        if (q.length != n) revert Liquidation_BadLength(n, q.length);
        if (marks.length != n) revert Liquidation_BadLength(n, marks.length);
        if (keccak256(abi.encodePacked(marks)) != e.marksHash) revert Liquidation_MarksMismatch();
        if (!(cash > -int256(Constants.CASH_BOUND) && cash < int256(Constants.CASH_BOUND)) || salt >= FieldMath.SNARK_SCALAR_FIELD) {
            revert Liquidation_OpeningOutOfBounds();
        }
        uint256[] memory xs = new uint256[](n + 3);
        xs[0] = n;
        for (uint256 i = 0; i < n; ++i) {
            int256 qi = q[i];
            if (!(qi > -int256(Constants.POSITION_BOUND) && qi < int256(Constants.POSITION_BOUND))) revert Liquidation_OpeningOutOfBounds();
            xs[i + 1] = FieldMath.toField(qi);
        }
        xs[n + 1] = FieldMath.toField(cash);
        xs[n + 2] = salt;
        uint256 computed = poseidon.sponge(Constants.TAG_ACCOUNT, xs);
        if (computed != stored) revert Liquidation_CommitmentMismatch(computed, stored);
    }

    /// @inheritdoc ILiquidation
    function bid(address account, uint256 fractionWad, int256 maxCost)
        external
        whenNotPaused
        nonReentrant
        returns (int256 cost)
    {
        Auction storage a = _auctions[account];
        if (!a.active) revert Liquidation_NotInLiquidation(account);
        if (fractionWad == 0 || fractionWad > Constants.WAD) revert Liquidation_BadFraction(fractionWad);
        if (msg.sender == account) revert Liquidation_SelfBid();
        if (accounts.hasCommitment(msg.sender)) revert Liquidation_BidderHasPositions(msg.sender);
        AuctionMath.Slice memory t = _takeSlice(a, account, fractionWad);
        uint256 dBps = _discountBps(a.startTime, block.timestamp);
        uint256 fee;
        (cost,, fee) =
            AuctionMath.fillTerms(t.value, t.gross, dBps, _params.liquidationFeeBps, a.discountRateWad, a.underwater);
        if (cost > maxCost) revert Liquidation_PriceAboveLimit(cost, maxCost);
        uint256 feeDue = a.feeDue + fee;
        if (cost > 0) {
            vault.transferBalance(msg.sender, account, uint256(cost));
        } else if (cost < 0) {
            (, uint256 fromInsurance, uint256 socialized, uint256 uncovered) =
                vault.coverShortfall(account, msg.sender, uint256(-cost));
            a.shortfall += fromInsurance + socialized + uncovered;
        }
        emit AuctionFill(account, a.epochId, msg.sender, fractionWad, t.lots, t.cashTaken, t.value, dBps, cost, t.empty);
        if (t.empty) _finish(account, a, feeDue);
        else a.feeDue = feeDue;
    }

    /// @dev Removes `fractionWad` of the remaining book of `account` and values it at the marks.
    function _takeSlice(Auction storage a, address account, uint256 fractionWad)
        private
        returns (AuctionMath.Slice memory t)
    {
        int256[] memory pos = _book(account, a.numInstruments);
        t = AuctionMath.takeSlice(pos, a.cash, _widen(_epochMarks[a.epochId]), fractionWad);
        if (!t.nonzero) revert Liquidation_EmptyFill();
        a.cash -= t.cashTaken;
        int128[MAX_DIMENSION] storage stored = _positions[account];
        for (uint256 i = 0; i < pos.length; ++i) {
            if (t.lots[i] != 0) stored[i] = int128(pos[i]);
        }
    }

    /// @inheritdoc ILiquidation
    function finishLiquidation(address account) external whenNotPaused nonReentrant {
        Auction storage a = _auctions[account];
        if (!a.active) revert Liquidation_NotInLiquidation(account);
        if (a.cash != 0) revert Liquidation_AuctionNotComplete(account);
        int128[MAX_DIMENSION] storage pos = _positions[account];
        uint256 n = a.numInstruments;
        for (uint256 i = 0; i < n; ++i) {
            if (pos[i] != 0) revert Liquidation_AuctionNotComplete(account);
        }
        _finish(account, a, a.feeDue);
    }

    /// @dev Takes the fee, deletes the auction and releases the account (the book is empty, so
    ///      its positions are all zero already).
    function _finish(address account, Auction storage a, uint256 feeDue) private {
        uint64 epochId = a.epochId;
        uint256 shortfall = a.shortfall;
        uint256 fee = vault.collectFee(account, feeDue, _params.protocolFeeShareBps);
        delete _auctions[account];
        accounts.endLiquidation(account);
        emit LiquidationFinished(account, epochId, fee, shortfall, vault.balanceOf(account));
    }

    function _setParams(AuctionParams memory p) private {
        if (
            p.startDiscountBps > p.maxDiscountBps || p.maxDiscountBps >= Constants.BPS || p.durationSeconds == 0
                || p.liquidationFeeBps > Constants.BPS || p.protocolFeeShareBps > Constants.BPS
        ) revert Liquidation_BadParams();
        _params = p;
        emit AuctionParamsSet(p);
    }

}
