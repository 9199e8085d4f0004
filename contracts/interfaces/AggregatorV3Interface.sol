// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title AggregatorV3Interface
/// @notice Chainlink's price feed read interface (same signatures as @chainlink/contracts).
interface AggregatorV3Interface {
    /// @notice Decimals of the answer.
    function decimals() external view returns (uint8);
    /// @notice Human-readable feed name, e.g. "BTC / USD".
    function description() external view returns (string memory);
    /// @notice Adapter version.
    function version() external view returns (uint256);
    /// @notice Data of round `_roundId`.
    function getRoundData(uint80 _roundId)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
    /// @notice Data of the latest round.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
