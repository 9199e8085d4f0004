// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";

/// @title OracleFeedAdapter
/// @notice A Chainlink `AggregatorV3Interface` view of one feed of the `PriceOracle`.
/// @dev `latestRoundData` is the checked read (reverts while the circuit breaker is tripped or
///      the price is older than the heartbeat); `getRoundData` returns stored history.
///      `startedAt == updatedAt` and `answeredInRound == roundId`.
contract OracleFeedAdapter is AggregatorV3Interface {
    /// @notice The oracle read from.
    IPriceOracle public immutable oracle;
    /// @notice The feed id, keccak256 of the pair name.
    bytes32 public immutable feedId;
    string private _description;

    /// @param oracle_ The PriceOracle.
    /// @param feedId_ The feed, e.g. keccak256("BTC/USD").
    /// @param description_ E.g. "BTC / USD".
    constructor(IPriceOracle oracle_, bytes32 feedId_, string memory description_) {
        oracle = oracle_;
        feedId = feedId_;
        _description = description_;
    }

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return oracle.decimals();
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 1;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId_) external view returns (uint80, int256, uint256, uint256, uint80) {
        if (roundId_ > type(uint64).max) revert IPriceOracle.Oracle_NoData(feedId);
        IPriceOracle.Round memory r = oracle.getRound(feedId, uint64(roundId_));
        return (r.roundId, r.answer, r.updatedAt, r.updatedAt, r.roundId);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        IPriceOracle.Round memory r = oracle.latestPrice(feedId);
        return (r.roundId, r.answer, r.updatedAt, r.updatedAt, r.roundId);
    }
}
