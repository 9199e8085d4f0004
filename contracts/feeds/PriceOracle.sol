// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {Constants} from "../libraries/Constants.sol";

/// @title PriceOracle
/// @notice Multi-feed USD price oracle (8 decimals) fed by EIP-712 reports signed by a threshold
///         of reporters, with per-feed bounds, report-age and heartbeat checks, a deviation bound
///         that trips a circuit breaker, and strictly increasing rounds.
/// @dev Every accepted report also advances `globalRound`, the oracle-wide round number that a
///      risk epoch refers to ("the oracle state after global round g"). The pause switch is per
///      feed: the guardian trips a feed's circuit breaker (`haltFeed`), the owner resets it.
///      Gas: a feed's configuration is one slot; the signer counters and `globalRound` share one.
contract PriceOracle is IPriceOracle, EIP712, Ownable {
    /// @notice EIP-712 type hash of `PriceReport`.
    bytes32 public constant REPORT_TYPEHASH =
        keccak256("PriceReport(bytes32 feedId,uint64 round,int256 price,uint64 observedAt)");

    /// @notice A stored observation, one slot.
    /// @param roundId The feed round.
    /// @param updatedAt Observation time (unix seconds).
    /// @param answer USD price with 8 decimals.
    struct Packed {
        uint64 roundId;
        uint64 updatedAt;
        int128 answer;
    }

    /// @inheritdoc IPriceOracle
    mapping(address reporter => bool allowed) public isReporter;
    /// @notice Number of reporters.
    uint64 public reporterCount;
    /// @notice Signatures a report needs.
    uint64 public threshold;
    /// @inheritdoc IPriceOracle
    uint64 public globalRound;
    /// @notice May halt feeds (trip their circuit breakers).
    address public guardian;

    mapping(bytes32 feedId => FeedConfig) private _config;
    mapping(bytes32 feedId => Packed) private _latest;
    mapping(bytes32 feedId => mapping(uint64 roundId => Packed)) private _history;
    /// @dev What a tripped breaker refuses for good (written when it trips and when it is reset;
    ///      read by the report that re-bases the price after a reset, and by `pushPrice`), so a
    ///      signed report's hot path reads no extra slot.
    mapping(bytes32 feedId => BreakerFloor) private _floor;

    /// @param owner_ The account that manages reporters, the threshold and feeds.
    constructor(address owner_) EIP712("zkmargin PriceOracle", "1") Ownable(owner_) {}

    /// @inheritdoc IPriceOracle
    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @inheritdoc IPriceOracle
    function haltFeed(bytes32 feedId) external {
        if (msg.sender != guardian && msg.sender != owner()) revert Oracle_NotGuardian(msg.sender);
        FeedConfig storage c = _config[feedId];
        if (!c.enabled) revert Oracle_UnknownFeed(feedId);
        c.tripped = true;
        Packed memory last = _latest[feedId];
        emit CircuitBreakerTripped(feedId, last.roundId, last.answer, last.answer);
    }

    /// @inheritdoc IPriceOracle
    function breakerFloor(bytes32 feedId) external view returns (BreakerFloor memory) {
        return _floor[feedId];
    }

    /// @inheritdoc IPriceOracle
    function decimals() external pure returns (uint8) {
        return Constants.PRICE_DECIMALS;
    }

    /// @notice The configuration of `feedId`.
    /// @param feedId The feed.
    /// @return The stored configuration (all zero if not configured).
    function feedConfig(bytes32 feedId) external view returns (FeedConfig memory) {
        return _config[feedId];
    }

    /// @inheritdoc IPriceOracle
    function setReporter(address reporter, bool allowed) external onlyOwner {
        if (reporter == address(0)) revert Oracle_ZeroAddress("reporter");
        if (isReporter[reporter] == allowed) {
            emit ReporterSet(reporter, allowed);
            return;
        }
        uint64 count = allowed ? reporterCount + 1 : reporterCount - 1;
        if (count < threshold) revert Oracle_BadThreshold(threshold, count);
        isReporter[reporter] = allowed;
        reporterCount = count;
        if (threshold == 0) {
            threshold = 1; // the first reporter makes the oracle usable with threshold 1
            emit ThresholdSet(1);
        }
        emit ReporterSet(reporter, allowed);
    }

    /// @inheritdoc IPriceOracle
    function setThreshold(uint256 threshold_) external onlyOwner {
        if (threshold_ == 0 || threshold_ > reporterCount) revert Oracle_BadThreshold(threshold_, reporterCount);
        threshold = uint64(threshold_);
        emit ThresholdSet(threshold_);
    }

    /// @inheritdoc IPriceOracle
    function configureFeed(bytes32 feedId, FeedConfig calldata config) external onlyOwner {
        if (
            config.minPrice <= 0 || config.maxPrice < config.minPrice || config.maxDeviationBps > Constants.BPS
                || config.heartbeatSeconds == 0 || config.maxReportAgeSeconds == 0
        ) revert Oracle_BadFeedConfig(feedId);
        FeedConfig memory c = config;
        // keep the breaker state: reconfiguring is not a reset
        c.tripped = _config[feedId].tripped;
        c.skipDeviationOnce = _config[feedId].skipDeviationOnce;
        _config[feedId] = c;
        emit FeedConfigured(feedId, c);
    }

    /// @inheritdoc IPriceOracle
    function resetCircuitBreaker(bytes32 feedId) external onlyOwner {
        FeedConfig storage c = _config[feedId];
        if (!c.enabled) revert Oracle_UnknownFeed(feedId);
        c.tripped = false;
        c.skipDeviationOnce = true;
        // Invariant: a report that was refused is never accepted later. It was observed before
        // this reset, so the re-basing report must be observed after the reset and come after
        // the refused round (`_checkFloor`); every later report must exceed the re-based round
        // and time anyway.
        _floor[feedId].resetAt = uint64(block.timestamp);
        emit CircuitBreakerReset(feedId);
    }

    /// @inheritdoc IPriceOracle
    function reportDigest(PriceReport calldata report) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(REPORT_TYPEHASH, report.feedId, report.round, report.price, report.observedAt))
        );
    }

    /// @inheritdoc IPriceOracle
    function submitReport(PriceReport calldata report, Signature[] calldata signatures) external returns (uint64)
    {
        uint256 t = threshold;
        if (signatures.length < t || t == 0) revert Oracle_NotEnoughSignatures(signatures.length, t);
        bytes32 digest = reportDigest(report);
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            Signature calldata sig = signatures[i];
            // reject malleable (high-s) signatures and bad v, like OpenZeppelin's ECDSA
            if (
                uint256(sig.s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
                    || (sig.v != 27 && sig.v != 28)
            ) revert Oracle_InvalidSignature(i);
            address signer = ecrecover(digest, sig.v, sig.r, sig.s);
            if (signer == address(0)) revert Oracle_InvalidSignature(i);
            if (signer == previous) revert Oracle_DuplicateSigner(signer);
            if (signer < previous) revert Oracle_SignersNotSorted(previous, signer);
            if (!isReporter[signer]) revert Oracle_UnknownSigner(signer);
            previous = signer;
        }
        return _accept(report.feedId, report.round, report.price, report.observedAt, msg.sender);
    }

    /// @inheritdoc IPriceOracle
    function pushPrice(bytes32 feedId, int256 answer, uint64 updatedAt) external returns (uint64 roundId) {
        if (!isReporter[msg.sender]) revert Oracle_Unauthorized(msg.sender);
        if (threshold != 1) revert Oracle_NotEnoughSignatures(1, threshold);
        roundId = _latest[feedId].roundId + 1;
        uint64 refused = _floor[feedId].refusedRound; // a refused report burns its round
        if (roundId <= refused) roundId = refused + 1;
        _accept(feedId, roundId, answer, updatedAt, msg.sender);
    }

    function _accept(bytes32 feedId, uint64 round, int256 price, uint64 observedAt, address reporter)
        private
        returns (uint64 g)
    {
        FeedConfig memory c = _config[feedId];
        if (!c.enabled) revert Oracle_UnknownFeed(feedId);
        if (c.tripped) revert Oracle_CircuitBreakerActive(feedId);
        Packed memory last = _latest[feedId];
        if (round <= last.roundId) revert Oracle_RoundNotIncreasing(feedId, round, last.roundId);
        if (observedAt <= last.updatedAt) revert Oracle_StaleTimestamp(feedId, observedAt, last.updatedAt);
        if (observedAt > block.timestamp) revert Oracle_FutureTimestamp(feedId, observedAt, block.timestamp);
        if (block.timestamp - observedAt > c.maxReportAgeSeconds) {
            revert Oracle_StaleReport(feedId, observedAt, block.timestamp);
        }
        if (price <= 0) revert Oracle_InvalidPrice(feedId, price);
        if (price < c.minPrice || price > c.maxPrice) revert Oracle_PriceOutOfBounds(feedId, price, c.minPrice, c.maxPrice);
        if (c.skipDeviationOnce) {
            _checkFloor(feedId, round, observedAt);
            _config[feedId].skipDeviationOnce = false;
        } else if (last.roundId != 0 && c.maxDeviationBps != 0) {
            int256 lastPrice = last.answer;
            uint256 diff = uint256(price > lastPrice ? price - lastPrice : lastPrice - price);
            if (diff * Constants.BPS > uint256(c.maxDeviationBps) * uint256(lastPrice)) {
                _config[feedId].tripped = true;
                _floor[feedId] = BreakerFloor(round, observedAt, _floor[feedId].resetAt);
                emit CircuitBreakerTripped(feedId, round, price, lastPrice);
                return 0;
            }
        }
        Packed memory p = Packed({roundId: round, updatedAt: observedAt, answer: int128(price)});
        _latest[feedId] = p;
        _history[feedId][round] = p;
        g = globalRound + 1;
        globalRound = g;
        emit PriceUpdated(feedId, round, price, observedAt, reporter, g);
    }

    /// @dev The report that re-bases the price after a reset: observed after the reset, and past
    ///      the refused round.
    function _checkFloor(bytes32 feedId, uint64 round, uint64 observedAt) private view {
        BreakerFloor memory f = _floor[feedId];
        if (observedAt <= f.resetAt) revert Oracle_ReportBeforeReset(feedId, observedAt, f.resetAt);
        if (round <= f.refusedRound) revert Oracle_RoundNotIncreasing(feedId, round, f.refusedRound);
    }

    /// @inheritdoc IPriceOracle
    function latestRound(bytes32 feedId) public view returns (Round memory round) {
        Packed memory p = _latest[feedId];
        if (p.roundId == 0) revert Oracle_NoData(feedId);
        round = Round({answer: p.answer, updatedAt: p.updatedAt, roundId: p.roundId});
    }

    /// @inheritdoc IPriceOracle
    function latestPrice(bytes32 feedId) external view returns (Round memory round) {
        FeedConfig memory c = _config[feedId];
        if (c.tripped) revert Oracle_CircuitBreakerActive(feedId);
        round = latestRound(feedId);
        if (block.timestamp - round.updatedAt > c.heartbeatSeconds) {
            revert Oracle_StalePrice(feedId, round.updatedAt, block.timestamp);
        }
    }

    /// @inheritdoc IPriceOracle
    function getRound(bytes32 feedId, uint64 roundId) external view returns (Round memory) {
        Packed memory p = _history[feedId][roundId];
        if (p.roundId == 0) revert Oracle_NoData(feedId);
        return Round({answer: p.answer, updatedAt: p.updatedAt, roundId: p.roundId});
    }
}
