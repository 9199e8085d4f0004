// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title AggregatorV3Interface
/// @notice Chainlink's price feed read interface (same signatures as @chainlink/contracts).
interface AggregatorV3Interface {
    /// @notice Decimals of the answer.
    /// @return The number of decimals (8 for the zkmargin USD feeds).
    function decimals() external view returns (uint8);
    /// @notice Human-readable feed name, e.g. "BTC / USD".
    /// @return The description.
    function description() external view returns (string memory);
    /// @notice Adapter version.
    /// @return The version number.
    function version() external view returns (uint256);
    /// @notice Data of round `_roundId`.
    /// @param _roundId The round to read.
    /// @return roundId The round read.
    /// @return answer The price, with `decimals()` decimals.
    /// @return startedAt When the round started (unix seconds).
    /// @return updatedAt When the answer was observed (unix seconds).
    /// @return answeredInRound The round in which the answer was computed.
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    /// @notice Data of the latest round.
    /// @return roundId The latest round.
    /// @return answer The price, with `decimals()` decimals.
    /// @return startedAt When the round started (unix seconds).
    /// @return updatedAt When the answer was observed (unix seconds).
    /// @return answeredInRound The round in which the answer was computed.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
