// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRiskEpochs
/// @notice Structs, events, errors and the external surface of the risk-epoch registry.
interface IRiskEpochs {
    /// @notice The epoch data the risk keeper posts (docs/ARCHITECTURE.md, "Risk epoch artefact").
    /// @param epochId Strictly increasing, >= 1.
    /// @param oracleRound The `PriceOracle.globalRound()` the marks come from.
    /// @param timestamp Unix seconds, <= block time and >= the previous epoch's.
    /// @param imFactorBps The IM factor f, in bps of the MM requirement: 10000 <= f < 2^16.
    /// @param numScenarios S, 1..256.
    /// @param marks n values m_i (collateral base units per lot), 1 <= n <= 256, |m_i| < 2^64.
    /// @param scenarioPnl n * S values, row-major L[i][s] (collateral base units per lot), |L| < 2^64.
    /// @param addons n values a_i (collateral base units per lot), 0 <= a_i < 2^64.
    /// @param funding n values F_i: the cumulative funding index per lot (collateral base units;
    ///        0 for dated instruments), |F_i| < 2^64.
    /// @param digest D = sponge(1, [n, S, epoch_id, im_factor_bps] ++ m ++ L ++ a ++ F), < r.
    /// @param fundingDigest FD = sponge(4, [n] ++ F), < r: what proofs of accounts settled at this
    ///        epoch refer to.
    struct EpochInput {
        uint64 epochId;
        uint64 oracleRound;
        uint64 timestamp;
        uint16 imFactorBps;
        uint16 numScenarios;
        int256[] marks;
        int256[] scenarioPnl;
        uint256[] addons;
        int256[] funding;
        uint256 digest;
        uint256 fundingDigest;
    }

    /// @notice What is stored per epoch.
    /// @param digest The epoch digest D.
    /// @param fundingDigest FD = sponge(4, [n] ++ F).
    /// @param marksHash keccak256(abi.encodePacked(marks)).
    /// @param fundingHash keccak256(abi.encodePacked(funding)).
    /// @param oracleRound The oracle global round of the marks.
    /// @param timestamp The epoch's timestamp (unix seconds).
    /// @param postedAt Block time of posting (unix seconds): the grace window starts here.
    /// @param imFactorBps The IM factor, in bps.
    /// @param numInstruments n.
    /// @param numScenarios S.
    struct Epoch {
        uint256 digest;
        uint256 fundingDigest;
        bytes32 marksHash;
        bytes32 fundingHash;
        uint64 oracleRound;
        uint64 timestamp;
        uint64 postedAt;
        uint16 imFactorBps;
        uint16 numInstruments;
        uint16 numScenarios;
    }

    /// @notice Emitted for every epoch (the summary).
    /// @param epochId The epoch.
    /// @param oracleRound The oracle global round of the marks.
    /// @param digest The epoch digest D.
    /// @param numInstruments n.
    /// @param numScenarios S.
    /// @param imFactorBps The IM factor, in bps.
    /// @param timestamp The epoch's timestamp (unix seconds).
    /// @param digestCheckedOnChain Whether `postEpoch` recomputed the digest.
    event EpochPosted(
        uint64 indexed epochId,
        uint64 indexed oracleRound,
        uint256 digest,
        uint16 numInstruments,
        uint16 numScenarios,
        uint16 imFactorBps,
        uint64 timestamp,
        bool digestCheckedOnChain
    );
    /// @notice Emitted for every epoch: the data, so anyone can recompute the digest from the logs.
    /// @param epochId The epoch.
    /// @param marks m (collateral base units per lot).
    /// @param scenarioPnl L, row-major (collateral base units per lot).
    /// @param addons a (collateral base units per lot).
    /// @param funding F, the cumulative funding index per lot (collateral base units).
    event EpochData(uint64 indexed epochId, int256[] marks, int256[] scenarioPnl, uint256[] addons, int256[] funding);
    /// @notice Emitted when the risk keeper changes.
    /// @param riskKeeper The new risk keeper.
    event RiskKeeperSet(address indexed riskKeeper);
    /// @notice Emitted when on-chain digest recomputation is switched on or off.
    /// @param enabled Whether it is now on.
    event DigestCheckSet(bool enabled);

    /// @notice The caller is not the risk keeper.
    /// @param caller The caller.
    error Epochs_Unauthorized(address caller);
    /// @notice `epochId` does not exceed the latest epoch.
    /// @param epochId The epoch passed.
    /// @param latest The latest epoch.
    error Epochs_EpochNotIncreasing(uint64 epochId, uint64 latest);
    /// @notice n or S is 0 or above 256, or an array length does not match.
    /// @param numInstruments n (the length of `marks`).
    /// @param numScenarios S.
    error Epochs_BadDimensions(uint256 numInstruments, uint256 numScenarios);
    /// @notice A value is out of its bound.
    /// @param field 0 = marks, 1 = scenarioPnl, 2 = addons, 3 = funding.
    /// @param index The value's position in its array.
    error Epochs_ValueOutOfBounds(uint256 field, uint256 index);
    /// @notice The IM factor is not in [10000, 2^16).
    /// @param imFactorBps The factor passed.
    error Epochs_BadImFactor(uint16 imFactorBps);
    /// @notice The digest is not a field element.
    /// @param digest The digest passed.
    error Epochs_DigestNotInField(uint256 digest);
    /// @notice The digest does not match the data (on-chain check enabled).
    /// @param posted The digest passed.
    /// @param computed The digest of the data.
    error Epochs_DigestMismatch(uint256 posted, uint256 computed);
    /// @notice The oracle round is ahead of the oracle or behind the previous epoch (or zero).
    /// @param oracleRound The round passed.
    /// @param minRound The previous epoch's round.
    /// @param maxRound The oracle's current global round.
    error Epochs_BadOracleRound(uint64 oracleRound, uint64 minRound, uint64 maxRound);
    /// @notice The timestamp is in the future or before the previous epoch.
    /// @param timestamp The timestamp passed.
    error Epochs_BadTimestamp(uint64 timestamp);
    /// @notice No epoch has been posted yet, or the epoch does not exist.
    /// @param epochId The epoch asked for (0: the current one).
    error Epochs_NoEpoch(uint64 epochId);
    /// @notice Digest recomputation needs a Poseidon contract.
    error Epochs_NoPoseidon();

    /// @notice Post the epoch (risk keeper only).
    /// @param input The epoch data and its digest.
    function postEpoch(EpochInput calldata input) external;
    /// @notice The latest epoch id.
    /// @return The latest epoch id (0 before the first).
    function currentEpochId() external view returns (uint64);
    /// @notice The latest epoch; reverts before the first epoch.
    /// @return epochId The latest epoch id.
    /// @return digest Its digest D.
    /// @return postedAt When it was posted (unix seconds).
    function currentEpoch() external view returns (uint64 epochId, uint256 digest, uint64 postedAt);
    /// @notice The latest epoch id and its digest (two storage reads: what a proof check needs);
    ///         reverts before the first epoch.
    /// @return epochId The latest epoch id.
    /// @return digest Its digest D.
    function currentDigest() external view returns (uint64 epochId, uint256 digest);
    /// @notice The stored data of `epochId`; reverts if it was not posted.
    /// @param epochId The epoch.
    /// @return The stored epoch.
    function getEpoch(uint64 epochId) external view returns (Epoch memory);
    /// @notice The digest of `input` computed on-chain with Poseidon (its `digest` field is ignored).
    /// @param input The epoch data.
    /// @return The digest D.
    function computeDigest(EpochInput calldata input) external view returns (uint256);
    /// @notice FD = sponge(4, [n] ++ F) of a funding index vector, with the on-chain Poseidon.
    /// @param funding F (collateral base units per lot).
    /// @return The funding digest.
    function computeFundingDigest(int256[] calldata funding) external view returns (uint256);
    /// @notice The funding digest FD of an epoch (what proofs of accounts settled there refer to).
    /// @param epochId The epoch (reverts `Epochs_NoEpoch` if not posted).
    /// @return The funding digest.
    function fundingDigestOf(uint64 epochId) external view returns (uint256);
    /// @notice Set the risk keeper (owner only).
    /// @param riskKeeper The new risk keeper.
    function setRiskKeeper(address riskKeeper) external;
    /// @notice Switch on-chain digest recomputation (owner only; needs a Poseidon contract).
    /// @param enabled Whether `postEpoch` recomputes the digest.
    function setDigestCheck(bool enabled) external;
}
