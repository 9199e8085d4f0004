// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ILiquidation
/// @notice Structs, events, errors and the external surface of the liquidation module.
interface ILiquidation {
    /// @notice Dutch-auction and fee parameters.
    /// @param startDiscountBps Discount to mark when the auction starts, in bps.
    /// @param maxDiscountBps Discount reached after `durationSeconds` (then constant), in bps, `< BPS`.
    /// @param durationSeconds Seconds from the start discount to the maximum one.
    /// @param liquidationFeeBps Fee on the gross mark notional of each fill, in bps.
    /// @param protocolFeeShareBps Share of the fee to protocol fees, in bps; the rest goes to the insurance fund.
    struct AuctionParams {
        uint16 startDiscountBps;
        uint16 maxDiscountBps;
        uint32 durationSeconds;
        uint16 liquidationFeeBps;
        uint16 protocolFeeShareBps;
    }

    /// @notice One liquidation in progress (the opened book is stored next to it).
    /// @param epochId The epoch whose marks price the auction.
    /// @param startTime When the auction started (unix seconds).
    /// @param numInstruments n, the length of the book's positions.
    /// @param reason `Constants.REASON_NO_FRESH_PROOF` (1) or `Constants.REASON_INSOLVENT` (2).
    /// @param active Whether the auction is running.
    /// @param discountRateWad The discount cap as a WAD rate of gross notional, fixed at the start
    ///        from the account's equity at mark (`AuctionMath.discountCap`).
    /// @param underwater Whether the account's equity at mark was negative at the start.
    /// @param cash Remaining cash of the book, in collateral base units.
    /// @param feeDue Accumulated liquidation fee, in collateral base units.
    /// @param shortfall Paid to bidders by the insurance fund or socialized, or left uncovered, in collateral base units.
    struct Auction {
        uint64 epochId;
        uint64 startTime;
        uint16 numInstruments;
        uint8 reason;
        bool active;
        uint64 discountRateWad;
        bool underwater;
        int256 cash;
        uint256 feeDue;
        uint256 shortfall;
    }

    /// @notice Emitted when an account's commitment is opened and its auction starts.
    /// @param account The liquidated account.
    /// @param epochId The epoch whose marks price the auction.
    /// @param reason 1 = no fresh proof, 2 = proven insolvent.
    /// @param commitment The opened commitment.
    /// @param positions The opened positions q (lots).
    /// @param cash The opened cash c, in collateral base units.
    /// @param marks The epoch marks m (collateral base units per lot).
    /// @param collateral The account's vault balance at the start, in collateral base units.
    /// @param startTime When the auction started (unix seconds).
    event LiquidationStarted(
        address indexed account,
        uint64 indexed epochId,
        uint8 reason,
        uint256 commitment,
        int256[] positions,
        int256 cash,
        int256[] marks,
        uint256 collateral,
        uint64 startTime
    );
    /// @notice Emitted for every fill: `bidder` took `fractionWad` of the remaining book.
    /// @param account The liquidated account.
    /// @param epochId The epoch whose marks price the auction.
    /// @param bidder The bidder.
    /// @param fractionWad The fraction of the remaining book taken, a WAD fraction (1e18 = all).
    /// @param lots The positions taken (lots).
    /// @param cashTaken The cash taken, in collateral base units.
    /// @param value The slice's mark value `cashTaken + sum lots_i * m_i`, in collateral base units.
    /// @param discountBps The auction discount at the fill, in bps.
    /// @param cost Paid by the bidder (negative: received), in collateral base units.
    /// @param bookEmpty Whether the fill emptied the book (and closed the auction).
    event AuctionFill(
        address indexed account,
        uint64 indexed epochId,
        address indexed bidder,
        uint256 fractionWad,
        int256[] lots,
        int256 cashTaken,
        int256 value,
        uint256 discountBps,
        int256 cost,
        bool bookEmpty
    );
    /// @notice Emitted when the auction of an emptied book is closed.
    /// @param account The liquidated account (its commitment is cleared).
    /// @param epochId The epoch whose marks priced the auction.
    /// @param fee The liquidation fee taken, in collateral base units.
    /// @param shortfall What the account could not pay, in collateral base units.
    /// @param remainingCollateral The account's vault balance after the fee, in collateral base units.
    event LiquidationFinished(
        address indexed account, uint64 indexed epochId, uint256 fee, uint256 shortfall, uint256 remainingCollateral
    );
    /// @notice Emitted when the auction parameters change.
    /// @param params The new parameters.
    event AuctionParamsSet(AuctionParams params);

    /// @notice The account is not liquidatable.
    /// @param account The account.
    error Liquidation_AccountHealthy(address account);
    /// @notice The account is already being liquidated.
    /// @param account The account.
    error Liquidation_AlreadyInLiquidation(address account);
    /// @notice The account is not being liquidated.
    /// @param account The account.
    error Liquidation_NotInLiquidation(address account);
    /// @notice The account has no commitment to open.
    /// @param account The account.
    error Liquidation_NoCommitment(address account);
    /// @notice Positions or marks have the wrong length.
    /// @param expected The epoch's number of instruments.
    /// @param got The length passed.
    error Liquidation_BadLength(uint256 expected, uint256 got);
    /// @notice The marks are not those of the current epoch.
    error Liquidation_MarksMismatch();
    /// @notice A position, the cash or the salt is out of its bound.
    error Liquidation_OpeningOutOfBounds();
    /// @notice `sponge(2, [n] ++ q ++ [c, salt])` differs from the stored commitment.
    /// @param computed The commitment of the opening passed.
    /// @param stored The account's commitment.
    error Liquidation_CommitmentMismatch(uint256 computed, uint256 stored);
    /// @notice The fill fraction is 0 or above 1e18.
    /// @param fractionWad The fraction passed.
    error Liquidation_BadFraction(uint256 fractionWad);
    /// @notice The fill is empty (the fraction rounds every amount to zero) or the book is already empty.
    error Liquidation_EmptyFill();
    /// @notice The cost of the fill exceeds the bidder's limit.
    /// @param cost The fill's cost, in collateral base units.
    /// @param maxCost The bidder's limit, in collateral base units.
    error Liquidation_PriceAboveLimit(int256 cost, int256 maxCost);
    /// @notice Bidders must have no positions of their own (their balance is not proof-bound).
    /// @param bidder The bidder.
    error Liquidation_BidderHasPositions(address bidder);
    /// @notice The account cannot bid on its own auction.
    error Liquidation_SelfBid();
    /// @notice The book is not empty yet.
    /// @param account The liquidated account.
    error Liquidation_AuctionNotComplete(address account);
    /// @notice The auction parameters are inconsistent.
    error Liquidation_BadParams();

    /// @notice Open `account`'s commitment and start its auction (anyone, when the account is liquidatable).
    /// @param account The account to liquidate.
    /// @param q The committed positions (lots), one per instrument of the current epoch, `|q_i| < 2^64`.
    /// @param cash The committed cash c, in collateral base units, `|c| < 2^128`.
    /// @param salt The commitment's salt, `< r`.
    /// @param marks The current epoch's marks (collateral base units per lot), as posted.
    function startLiquidation(address account, int256[] calldata q, int256 cash, uint256 salt, int256[] calldata marks)
        external;
    /// @notice Take `fractionWad` of the remaining book at the current auction price. The fill that
    ///         empties the book also finishes the auction (as `finishLiquidation` would: fee,
    ///         release, `LiquidationFinished`).
    /// @param account The liquidated account.
    /// @param fractionWad The fraction of the remaining book, a WAD fraction in (0, 1e18].
    /// @param maxCost The most the bidder pays, in collateral base units (negative: the least it receives).
    /// @return cost Paid by the bidder (negative: received), in collateral base units.
    function bid(address account, uint256 fractionWad, int256 maxCost) external returns (int256 cost);
    /// @notice Close the auction of an empty book (one opened empty: a fill that empties a book
    ///         finishes it itself): take the fee, release the account.
    /// @param account The liquidated account.
    function finishLiquidation(address account) external;
    /// @notice Set the auction parameters (owner only).
    /// @param params The new parameters.
    function setAuctionParams(AuctionParams calldata params) external;
}
