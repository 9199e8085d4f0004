// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";

/// @title PriceOracle
/// @notice Prices per feed (e.g. keccak256("BTC/USD")) pushed by allowed reporters, with
///         strictly increasing rounds and timestamps.
contract PriceOracle is IPriceOracle, Ownable {
    /// @notice Decimals of every answer (USD prices with 8 decimals, as Chainlink USD feeds).
    uint8 public constant PRICE_DECIMALS = 8;

    mapping(address reporter => bool allowed) public isReporter;
    mapping(bytes32 feedId => Round) private _latest;

    /// @param owner_ The account that manages reporters.
    constructor(address owner_) Ownable(owner_) {}

    /// @inheritdoc IPriceOracle
    function decimals() external pure returns (uint8) {
        return PRICE_DECIMALS;
    }

    /// @inheritdoc IPriceOracle
    function setReporter(address reporter, bool allowed) external onlyOwner {
        if (reporter == address(0)) revert Oracle_ZeroAddress("reporter");
        isReporter[reporter] = allowed;
        emit ReporterSet(reporter, allowed);
    }

    /// @inheritdoc IPriceOracle
    function pushPrice(bytes32 feedId, int256 answer, uint64 updatedAt) external returns (uint64 roundId) {
        if (!isReporter[msg.sender]) revert Oracle_Unauthorized(msg.sender);
        if (answer <= 0) revert Oracle_InvalidPrice(feedId, answer);
        if (updatedAt > block.timestamp) revert Oracle_FutureTimestamp(feedId, updatedAt, block.timestamp);
        Round storage latest = _latest[feedId];
        if (updatedAt <= latest.updatedAt) revert Oracle_StaleTimestamp(feedId, updatedAt, latest.updatedAt);
        roundId = latest.roundId + 1;
        _latest[feedId] = Round({answer: answer, updatedAt: updatedAt, roundId: roundId});
        emit PriceUpdated(feedId, roundId, answer, updatedAt, msg.sender);
    }

    /// @inheritdoc IPriceOracle
    function latestRound(bytes32 feedId) external view returns (Round memory round) {
        round = _latest[feedId];
        if (round.roundId == 0) revert Oracle_NoData(feedId);
    }
}
