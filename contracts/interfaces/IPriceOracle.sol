// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPriceOracle
/// @notice Events, errors and the external surface of the price oracle.
interface IPriceOracle {
    /// @notice One stored price observation.
    struct Round {
        int256 answer; // price with `decimals()` decimals
        uint64 updatedAt; // observation time (unix seconds)
        uint64 roundId; // strictly increasing per feed, starting at 1
    }

    /// @notice Emitted when `reporter` is allowed (true) or disallowed (false) to push prices.
    event ReporterSet(address indexed reporter, bool allowed);
    /// @notice Emitted for every accepted price.
    event PriceUpdated(bytes32 indexed feedId, uint64 indexed roundId, int256 answer, uint64 updatedAt, address reporter);

    /// @notice The caller is not an allowed reporter.
    error Oracle_Unauthorized(address caller);
    /// @notice The price is zero or negative.
    error Oracle_InvalidPrice(bytes32 feedId, int256 answer);
    /// @notice The observation is not newer than the latest stored one.
    error Oracle_StaleTimestamp(bytes32 feedId, uint64 updatedAt, uint64 latestUpdatedAt);
    /// @notice The observation is dated after the current block.
    error Oracle_FutureTimestamp(bytes32 feedId, uint64 updatedAt, uint256 blockTimestamp);
    /// @notice No price has been pushed for the feed yet.
    error Oracle_NoData(bytes32 feedId);
    /// @notice The zero address was passed as `field`.
    error Oracle_ZeroAddress(string field);

    /// @notice Number of decimals of every answer.
    function decimals() external view returns (uint8);
    /// @notice Whether `reporter` may push prices.
    function isReporter(address reporter) external view returns (bool);
    /// @notice Allow or disallow a reporter (owner only).
    function setReporter(address reporter, bool allowed) external;
    /// @notice Push a new observation for `feedId` (reporters only).
    function pushPrice(bytes32 feedId, int256 answer, uint64 updatedAt) external returns (uint64 roundId);
    /// @notice The latest observation of `feedId`; reverts with `Oracle_NoData` if none.
    function latestRound(bytes32 feedId) external view returns (Round memory);
}
