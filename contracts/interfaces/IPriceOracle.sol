// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IPriceOracle
/// @notice Structs, events, errors and the external surface of the signed price oracle.
/// @dev A price report `(feedId, round, price, observedAt)` is signed with EIP-712 by at least
///      `threshold` distinct reporters (the oracle signers). A reporter may also push a price
///      directly when the threshold is 1 (its transaction is its signature).
interface IPriceOracle {
    /// @notice One stored price observation (the latest, or a historical round).
    /// @param answer USD price with 8 decimals.
    /// @param updatedAt Observation time (unix seconds).
    /// @param roundId Per-feed round, strictly increasing (gaps allowed).
    struct Round {
        int256 answer;
        uint64 updatedAt;
        uint64 roundId;
    }

    /// @notice An EIP-712 signed price report.
    /// @param feedId The feed, e.g. keccak256("BTC/USD").
    /// @param round The feed round; must exceed the feed's latest round.
    /// @param price USD price with 8 decimals.
    /// @param observedAt Observation time (unix seconds).
    struct PriceReport {
        bytes32 feedId;
        uint64 round;
        int256 price;
        uint64 observedAt;
    }

    /// @notice One secp256k1 signature over the report's EIP-712 digest.
    /// @param v Recovery id, 27 or 28.
    /// @param r The signature's r.
    /// @param s The signature's s, in the lower half of the curve order.
    struct Signature {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice Per-feed parameters (the whole config is one storage slot).
    /// @param enabled Whether the feed is configured.
    /// @param tripped Circuit breaker: reports and checked reads revert until reset.
    /// @param skipDeviationOnce Set by a reset: the next report re-bases the price.
    /// @param heartbeatSeconds Max age of the latest price for checked reads, in seconds.
    /// @param maxReportAgeSeconds Max age of a report when it is submitted, in seconds.
    /// @param maxDeviationBps Max move from the last price, in bps; 0 disables the bound.
    /// @param minPrice Inclusive lower bound, USD with 8 decimals.
    /// @param maxPrice Inclusive upper bound, USD with 8 decimals.
    struct FeedConfig {
        bool enabled;
        bool tripped;
        bool skipDeviationOnce;
        uint32 heartbeatSeconds;
        uint32 maxReportAgeSeconds;
        uint16 maxDeviationBps;
        int64 minPrice;
        int64 maxPrice;
    }

    /// @notice What a tripped breaker refuses for good: the report that tripped it and anything
    ///         observed before the reset (set when the breaker trips and when it is reset).
    /// @param refusedRound The round of the report that tripped the breaker (0: a manual halt).
    /// @param refusedObservedAt Its observation time (unix seconds).
    /// @param resetAt When the owner reset the breaker (unix seconds; 0 before the first reset).
    struct BreakerFloor {
        uint64 refusedRound;
        uint64 refusedObservedAt;
        uint64 resetAt;
    }

    /// @notice Emitted when `reporter` joins (true) or leaves (false) the signer set.
    /// @param reporter The reporter.
    /// @param allowed Whether it is now a reporter.
    event ReporterSet(address indexed reporter, bool allowed);
    /// @notice Emitted when the number of required signatures changes.
    /// @param threshold The new threshold.
    event ThresholdSet(uint256 threshold);
    /// @notice Emitted when a feed is configured.
    /// @param feedId The feed.
    /// @param config The stored configuration.
    event FeedConfigured(bytes32 indexed feedId, FeedConfig config);
    /// @notice Emitted for every accepted price.
    /// @param feedId The feed.
    /// @param roundId The feed round.
    /// @param answer USD price with 8 decimals.
    /// @param updatedAt Observation time (unix seconds).
    /// @param reporter The sender (the submitter of a signed report, or the pushing reporter).
    /// @param globalRound The oracle-wide round this price created.
    event PriceUpdated(
        bytes32 indexed feedId, uint64 indexed roundId, int256 answer, uint64 updatedAt, address reporter, uint64 globalRound
    );
    /// @notice Emitted when the guardian changes.
    /// @param guardian The new guardian (zero: none).
    event GuardianSet(address indexed guardian);
    /// @notice Emitted when a report deviates more than the bound (the price is not stored and the
    ///         feed halts), or when the guardian halts the feed.
    /// @param feedId The feed.
    /// @param round The report's round (the latest round when halted by hand).
    /// @param price The rejected price, USD with 8 decimals (the latest price when halted by hand).
    /// @param lastPrice The latest stored price, USD with 8 decimals.
    event CircuitBreakerTripped(bytes32 indexed feedId, uint64 round, int256 price, int256 lastPrice);
    /// @notice Emitted when the owner resets a tripped feed.
    /// @param feedId The feed.
    event CircuitBreakerReset(bytes32 indexed feedId);

    /// @notice The caller is not an allowed reporter.
    /// @param caller The caller.
    error Oracle_Unauthorized(address caller);
    /// @notice The price is zero or negative.
    /// @param feedId The feed.
    /// @param answer The price.
    error Oracle_InvalidPrice(bytes32 feedId, int256 answer);
    /// @notice The price is outside the feed's `[minPrice, maxPrice]`.
    /// @param feedId The feed.
    /// @param answer The price, USD with 8 decimals.
    /// @param minPrice The feed's lower bound.
    /// @param maxPrice The feed's upper bound.
    error Oracle_PriceOutOfBounds(bytes32 feedId, int256 answer, int256 minPrice, int256 maxPrice);
    /// @notice The observation is not newer than the latest stored one.
    /// @param feedId The feed.
    /// @param updatedAt The report's observation time (unix seconds).
    /// @param latestUpdatedAt The latest stored observation time (unix seconds).
    error Oracle_StaleTimestamp(bytes32 feedId, uint64 updatedAt, uint64 latestUpdatedAt);
    /// @notice The observation is dated after the current block.
    /// @param feedId The feed.
    /// @param updatedAt The report's observation time (unix seconds).
    /// @param blockTimestamp The block time (unix seconds).
    error Oracle_FutureTimestamp(bytes32 feedId, uint64 updatedAt, uint256 blockTimestamp);
    /// @notice The report is older than the feed's `maxReportAgeSeconds`.
    /// @param feedId The feed.
    /// @param observedAt The report's observation time (unix seconds).
    /// @param blockTimestamp The block time (unix seconds).
    error Oracle_StaleReport(bytes32 feedId, uint64 observedAt, uint256 blockTimestamp);
    /// @notice The latest price is older than the feed's heartbeat (checked reads only).
    /// @param feedId The feed.
    /// @param updatedAt The latest observation time (unix seconds).
    /// @param blockTimestamp The block time (unix seconds).
    error Oracle_StalePrice(bytes32 feedId, uint64 updatedAt, uint256 blockTimestamp);
    /// @notice The report's round does not exceed the latest round (e.g. a replayed report).
    /// @param feedId The feed.
    /// @param round The report's round.
    /// @param latestRound The feed's latest round.
    error Oracle_RoundNotIncreasing(bytes32 feedId, uint64 round, uint64 latestRound);
    /// @notice No price has been pushed for the feed yet (or no such round).
    /// @param feedId The feed.
    error Oracle_NoData(bytes32 feedId);
    /// @notice After a breaker reset, the report that re-bases the price must be observed after the
    ///         reset (reports signed before it, the refused one included, are never accepted).
    /// @param feedId The feed.
    /// @param observedAt The report's observation time.
    /// @param resetAt When the breaker was reset.
    error Oracle_ReportBeforeReset(bytes32 feedId, uint64 observedAt, uint64 resetAt);
    /// @notice The feed is not configured.
    /// @param feedId The feed.
    error Oracle_UnknownFeed(bytes32 feedId);
    /// @notice The feed's circuit breaker is tripped.
    /// @param feedId The feed.
    error Oracle_CircuitBreakerActive(bytes32 feedId);
    /// @notice The caller is neither the guardian nor the owner.
    /// @param caller The caller.
    error Oracle_NotGuardian(address caller);
    /// @notice The zero address was passed as `field`.
    /// @param field The name of the parameter.
    error Oracle_ZeroAddress(string field);
    /// @notice Fewer valid signatures than the threshold.
    /// @param got The number of signatures passed.
    /// @param threshold The threshold.
    error Oracle_NotEnoughSignatures(uint256 got, uint256 threshold);
    /// @notice A signature does not recover to a valid address (bad v, high s, or garbage).
    /// @param index The signature's position.
    error Oracle_InvalidSignature(uint256 index);
    /// @notice A signature recovered to an address that is not a reporter.
    /// @param signer The recovered address.
    error Oracle_UnknownSigner(address signer);
    /// @notice The same signer signed twice.
    /// @param signer The repeated signer.
    error Oracle_DuplicateSigner(address signer);
    /// @notice Signers must be given in strictly increasing address order.
    /// @param previous The signer before.
    /// @param signer The signer out of order.
    error Oracle_SignersNotSorted(address previous, address signer);
    /// @notice The threshold would be 0 or exceed the number of reporters.
    /// @param threshold The threshold.
    /// @param reporters The number of reporters.
    error Oracle_BadThreshold(uint256 threshold, uint256 reporters);
    /// @notice A feed configuration is inconsistent.
    /// @param feedId The feed.
    error Oracle_BadFeedConfig(bytes32 feedId);

    /// @notice Number of decimals of every answer.
    /// @return 8 (`Constants.PRICE_DECIMALS`).
    function decimals() external view returns (uint8);
    /// @notice Whether `reporter` is an oracle signer.
    /// @param reporter The address.
    /// @return True if it is a reporter.
    function isReporter(address reporter) external view returns (bool);
    /// @notice Add or remove an oracle signer (owner only).
    /// @param reporter The reporter, nonzero.
    /// @param allowed True to add, false to remove.
    function setReporter(address reporter, bool allowed) external;
    /// @notice Set the number of distinct signatures a report needs (owner only).
    /// @param threshold The threshold, between 1 and the number of reporters.
    function setThreshold(uint256 threshold) external;
    /// @notice Configure (or re-configure) a feed (owner only); the breaker state is kept.
    /// @param feedId The feed.
    /// @param config The configuration (`tripped` and `skipDeviationOnce` are ignored).
    function configureFeed(bytes32 feedId, FeedConfig calldata config) external;
    /// @notice Submit a report signed by at least `threshold` reporters, in increasing signer order.
    /// @param report The report.
    /// @param signatures The reporters' signatures of `reportDigest(report)`, sorted by signer address.
    /// @return globalRound The oracle-wide round the price created (0 if it tripped the breaker).
    function submitReport(PriceReport calldata report, Signature[] calldata signatures) external returns (uint64 globalRound);
    /// @notice Push a price as a reporter (only while the threshold is 1); the round is the latest + 1.
    /// @param feedId The feed.
    /// @param answer USD price with 8 decimals.
    /// @param updatedAt Observation time (unix seconds).
    /// @return roundId The feed round created.
    function pushPrice(bytes32 feedId, int256 answer, uint64 updatedAt) external returns (uint64 roundId);
    /// @notice Reset a tripped circuit breaker (owner only); the next report re-bases the price.
    /// @param feedId The feed.
    function resetCircuitBreaker(bytes32 feedId) external;
    /// @notice Trip a feed's circuit breaker by hand (guardian or owner): the oracle's pause switch.
    /// @param feedId The feed.
    function haltFeed(bytes32 feedId) external;
    /// @notice What the breaker of `feedId` refuses for good (see `BreakerFloor`).
    /// @param feedId The feed.
    /// @return floor The refused round, its observation time and the last reset time.
    function breakerFloor(bytes32 feedId) external view returns (BreakerFloor memory floor);
    /// @notice Set the guardian (owner only).
    /// @param guardian The new guardian (zero: none).
    function setGuardian(address guardian) external;
    /// @notice The latest observation of `feedId`, unchecked; reverts with `Oracle_NoData` if none.
    /// @param feedId The feed.
    /// @return The latest round.
    function latestRound(bytes32 feedId) external view returns (Round memory);
    /// @notice The latest price, checked: reverts if the feed is tripped or older than its heartbeat.
    /// @param feedId The feed.
    /// @return The latest round.
    function latestPrice(bytes32 feedId) external view returns (Round memory);
    /// @notice A historical round of `feedId`; reverts with `Oracle_NoData` if it does not exist.
    /// @param feedId The feed.
    /// @param roundId The feed round.
    /// @return The round.
    function getRound(bytes32 feedId, uint64 roundId) external view returns (Round memory);
    /// @notice Number of reports accepted over all feeds (the "oracle round" an epoch refers to).
    /// @return The latest global round (0 before the first report).
    function globalRound() external view returns (uint64);
    /// @notice The EIP-712 digest a reporter signs for `report`.
    /// @param report The report.
    /// @return The digest.
    function reportDigest(PriceReport calldata report) external view returns (bytes32);
}
