// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IPriceOracle
/// @notice Structs, events, errors and the external surface of the signed price oracle.
/// @dev A price report `(feedId, round, price, observedAt)` is signed with EIP-712 by at least
///      `threshold` distinct reporters (the oracle signers). A reporter may also push a price
///      directly when the threshold is 1 (its transaction is its signature).
interface IPriceOracle {
    /// @notice One stored price observation (the latest, or a historical round).
    struct Round {
        int256 answer; // USD price with 8 decimals
        uint64 updatedAt; // observation time (unix seconds)
        uint64 roundId; // per-feed round, strictly increasing (gaps allowed)
    }

    /// @notice An EIP-712 signed price report.
    struct PriceReport {
        bytes32 feedId; // keccak256("BTC/USD")
        uint64 round; // must exceed the feed's latest round
        int256 price; // 8 decimals
        uint64 observedAt; // unix seconds
    }

    /// @notice One secp256k1 signature over the report's EIP-712 digest.
    struct Signature {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice Per-feed parameters.
    struct FeedConfig {
        bool enabled;
        bool tripped; // circuit breaker: reports and checked reads revert until reset
        bool skipDeviationOnce; // set by a reset: the next report re-bases the price
        uint32 heartbeatSeconds; // max age of the latest price for checked reads
        uint32 maxReportAgeSeconds; // max age of a report when it is submitted
        uint16 maxDeviationBps; // 0 disables the deviation bound
        int64 minPrice; // inclusive bounds, 8 decimals (the whole config is one storage slot)
        int64 maxPrice;
    }

    /// @notice Emitted when `reporter` joins (true) or leaves (false) the signer set.
    event ReporterSet(address indexed reporter, bool allowed);
    /// @notice Emitted when the number of required signatures changes.
    event ThresholdSet(uint256 threshold);
    /// @notice Emitted when a feed is configured.
    event FeedConfigured(bytes32 indexed feedId, FeedConfig config);
    /// @notice Emitted for every accepted price; `globalRound` is the oracle-wide round it created.
    event PriceUpdated(
        bytes32 indexed feedId, uint64 indexed roundId, int256 answer, uint64 updatedAt, address reporter, uint64 globalRound
    );
    /// @notice Emitted when the guardian changes.
    event GuardianSet(address indexed guardian);
    /// @notice Emitted when a report deviates more than the bound: the price is not stored and the feed halts.
    event CircuitBreakerTripped(bytes32 indexed feedId, uint64 round, int256 price, int256 lastPrice);
    /// @notice Emitted when the owner resets a tripped feed.
    event CircuitBreakerReset(bytes32 indexed feedId);

    /// @notice The caller is not an allowed reporter.
    error Oracle_Unauthorized(address caller);
    /// @notice The price is zero or negative.
    error Oracle_InvalidPrice(bytes32 feedId, int256 answer);
    /// @notice The price is outside the feed's `[minPrice, maxPrice]`.
    error Oracle_PriceOutOfBounds(bytes32 feedId, int256 answer, int256 minPrice, int256 maxPrice);
    /// @notice The observation is not newer than the latest stored one.
    error Oracle_StaleTimestamp(bytes32 feedId, uint64 updatedAt, uint64 latestUpdatedAt);
    /// @notice The observation is dated after the current block.
    error Oracle_FutureTimestamp(bytes32 feedId, uint64 updatedAt, uint256 blockTimestamp);
    /// @notice The report is older than the feed's `maxReportAgeSeconds`.
    error Oracle_StaleReport(bytes32 feedId, uint64 observedAt, uint256 blockTimestamp);
    /// @notice The latest price is older than the feed's heartbeat (checked reads only).
    error Oracle_StalePrice(bytes32 feedId, uint64 updatedAt, uint256 blockTimestamp);
    /// @notice The report's round does not exceed the latest round (e.g. a replayed report).
    error Oracle_RoundNotIncreasing(bytes32 feedId, uint64 round, uint64 latestRound);
    /// @notice No price has been pushed for the feed yet (or no such round).
    error Oracle_NoData(bytes32 feedId);
    /// @notice The feed is not configured.
    error Oracle_UnknownFeed(bytes32 feedId);
    /// @notice The feed's circuit breaker is tripped.
    error Oracle_CircuitBreakerActive(bytes32 feedId);
    /// @notice The caller is neither the guardian nor the owner.
    error Oracle_NotGuardian(address caller);
    /// @notice The zero address was passed as `field`.
    error Oracle_ZeroAddress(string field);
    /// @notice Fewer valid signatures than the threshold.
    error Oracle_NotEnoughSignatures(uint256 got, uint256 threshold);
    /// @notice A signature does not recover to a valid address (bad v, high s, or garbage).
    error Oracle_InvalidSignature(uint256 index);
    /// @notice A signature recovered to an address that is not a reporter.
    error Oracle_UnknownSigner(address signer);
    /// @notice The same signer signed twice.
    error Oracle_DuplicateSigner(address signer);
    /// @notice Signers must be given in strictly increasing address order.
    error Oracle_SignersNotSorted(address previous, address signer);
    /// @notice The threshold would be 0 or exceed the number of reporters.
    error Oracle_BadThreshold(uint256 threshold, uint256 reporters);
    /// @notice A feed configuration is inconsistent.
    error Oracle_BadFeedConfig(bytes32 feedId);

    /// @notice Number of decimals of every answer (8).
    function decimals() external view returns (uint8);
    /// @notice Whether `reporter` is an oracle signer.
    function isReporter(address reporter) external view returns (bool);
    /// @notice Add or remove an oracle signer (owner only).
    function setReporter(address reporter, bool allowed) external;
    /// @notice Set the number of distinct signatures a report needs (owner only).
    function setThreshold(uint256 threshold) external;
    /// @notice Configure (or re-configure) a feed (owner only).
    function configureFeed(bytes32 feedId, FeedConfig calldata config) external;
    /// @notice Submit a report signed by at least `threshold` reporters, in increasing signer order.
    function submitReport(PriceReport calldata report, Signature[] calldata signatures) external returns (uint64 globalRound);
    /// @notice Push a price as a reporter (only while the threshold is 1); the round is the latest + 1.
    function pushPrice(bytes32 feedId, int256 answer, uint64 updatedAt) external returns (uint64 roundId);
    /// @notice Reset a tripped circuit breaker (owner only); the next report re-bases the price.
    function resetCircuitBreaker(bytes32 feedId) external;
    /// @notice Trip a feed's circuit breaker by hand (guardian or owner): the oracle's pause switch.
    function haltFeed(bytes32 feedId) external;
    /// @notice Set the guardian (owner only).
    function setGuardian(address guardian) external;
    /// @notice The latest observation of `feedId`, unchecked; reverts with `Oracle_NoData` if none.
    function latestRound(bytes32 feedId) external view returns (Round memory);
    /// @notice The latest price, checked: reverts if the feed is tripped or older than its heartbeat.
    function latestPrice(bytes32 feedId) external view returns (Round memory);
    /// @notice A historical round of `feedId`; reverts with `Oracle_NoData` if it does not exist.
    function getRound(bytes32 feedId, uint64 roundId) external view returns (Round memory);
    /// @notice Number of reports accepted over all feeds (the "oracle round" an epoch refers to).
    function globalRound() external view returns (uint64);
    /// @notice The EIP-712 digest a reporter signs for `report`.
    function reportDigest(PriceReport calldata report) external view returns (bytes32);
}
