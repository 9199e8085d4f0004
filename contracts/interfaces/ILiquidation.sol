// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ILiquidation
/// @notice Structs, events, errors and the external surface of the liquidation module.
interface ILiquidation {
    /// @notice Dutch-auction and fee parameters.
    struct AuctionParams {
        uint16 startDiscountBps; // discount to mark when the auction starts
        uint16 maxDiscountBps; // discount reached after `durationSeconds`, then constant
        uint32 durationSeconds;
        uint16 liquidationFeeBps; // fee on the gross mark notional of each fill
        uint16 protocolFeeShareBps; // share of the fee to protocol fees; the rest to the insurance fund
    }

    /// @notice One liquidation in progress (the opened book is stored next to it).
    struct Auction {
        uint64 epochId; // the epoch whose marks price the auction
        uint64 startTime;
        uint16 numInstruments;
        uint8 reason; // 1 = no fresh proof, 2 = proven insolvent
        bool active;
        int256 cash; // remaining cash of the book
        uint256 feeDue; // accumulated liquidation fee
        uint256 shortfall; // paid to bidders by the insurance fund or socialized, or left uncovered
    }

    /// @notice Emitted when an account's commitment is opened and its auction starts.
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
    event LiquidationFinished(
        address indexed account, uint64 indexed epochId, uint256 fee, uint256 shortfall, uint256 remainingCollateral
    );
    /// @notice Emitted when the auction parameters change.
    event AuctionParamsSet(AuctionParams params);

    /// @notice The account is not liquidatable.
    error Liquidation_AccountHealthy(address account);
    /// @notice The account is already being liquidated.
    error Liquidation_AlreadyInLiquidation(address account);
    /// @notice The account is not being liquidated.
    error Liquidation_NotInLiquidation(address account);
    /// @notice The account has no commitment to open.
    error Liquidation_NoCommitment(address account);
    /// @notice Positions or marks have the wrong length.
    error Liquidation_BadLength(uint256 expected, uint256 got);
    /// @notice The marks are not those of the current epoch.
    error Liquidation_MarksMismatch();
    /// @notice A position, the cash or the salt is out of its bound.
    error Liquidation_OpeningOutOfBounds();
    /// @notice `sponge(2, [n] ++ q ++ [c, salt])` differs from the stored commitment.
    error Liquidation_CommitmentMismatch(uint256 computed, uint256 stored);
    /// @notice The fill fraction is 0 or above 1e18.
    error Liquidation_BadFraction(uint256 fractionWad);
    /// @notice The fill is empty (the fraction rounds every amount to zero) or the book is already empty.
    error Liquidation_EmptyFill();
    /// @notice The cost of the fill exceeds the bidder's limit.
    error Liquidation_PriceAboveLimit(int256 cost, int256 maxCost);
    /// @notice Bidders must have no positions of their own (their balance is not proof-bound).
    error Liquidation_BidderHasPositions(address bidder);
    /// @notice The account cannot bid on its own auction.
    error Liquidation_SelfBid();
    /// @notice The book is not empty yet.
    error Liquidation_AuctionNotComplete(address account);
    /// @notice The auction parameters are inconsistent.
    error Liquidation_BadParams();

    /// @notice Open `account`'s commitment and start its auction (anyone, when the account is liquidatable).
    function startLiquidation(address account, int256[] calldata q, int256 cash, uint256 salt, int256[] calldata marks)
        external;
    /// @notice Take `fractionWad` of the remaining book at the current auction price; returns the cost paid
    ///         (negative: received). The fill that empties the book also finishes the auction (as
    ///         `finishLiquidation` would: fee, release, `LiquidationFinished`).
    function bid(address account, uint256 fractionWad, int256 maxCost) external returns (int256 cost);
    /// @notice Close the auction of an empty book (one opened empty: a fill that empties a book
    ///         finishes it itself): take the fee, release the account.
    function finishLiquidation(address account) external;
    /// @notice Set the auction parameters (owner only).
    function setAuctionParams(AuctionParams calldata params) external;
}
