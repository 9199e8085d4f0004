// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRiskEpochs
/// @notice Structs, events, errors and the external surface of the risk-epoch registry.
interface IRiskEpochs {
    /// @notice The epoch data the risk keeper posts (docs/ARCHITECTURE.md, "Risk epoch artefact").
    struct EpochInput {
        uint64 epochId; // strictly increasing, >= 1
        uint64 oracleRound; // PriceOracle.globalRound() the marks come from
        uint64 timestamp; // unix seconds, <= block time
        uint16 imFactorBps; // 10000 <= f < 2^16
        uint16 numScenarios; // S, 1..256
        int256[] marks; // n values, |m_i| < 2^64
        int256[] scenarioPnl; // n * S values, row-major L[i][s], |L| < 2^64
        uint256[] addons; // n values, 0 <= a_i < 2^64
        uint256 digest; // D = sponge(1, [n, S, epoch_id, im_factor_bps] ++ m ++ L ++ a), < r
    }

    /// @notice What is stored per epoch.
    struct Epoch {
        uint256 digest;
        bytes32 marksHash; // keccak256(abi.encodePacked(marks))
        uint64 oracleRound;
        uint64 timestamp;
        uint64 postedAt; // block time of posting: the grace window starts here
        uint16 imFactorBps;
        uint16 numInstruments;
        uint16 numScenarios;
    }

    /// @notice Emitted for every epoch (the summary).
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
    event EpochData(uint64 indexed epochId, int256[] marks, int256[] scenarioPnl, uint256[] addons);
    /// @notice Emitted when the risk keeper changes.
    event RiskKeeperSet(address indexed riskKeeper);
    /// @notice Emitted when on-chain digest recomputation is switched on or off.
    event DigestCheckSet(bool enabled);

    /// @notice The caller is not the risk keeper.
    error Epochs_Unauthorized(address caller);
    /// @notice `epochId` does not exceed the latest epoch.
    error Epochs_EpochNotIncreasing(uint64 epochId, uint64 latest);
    /// @notice n or S is 0 or above 256, or an array length does not match.
    error Epochs_BadDimensions(uint256 numInstruments, uint256 numScenarios);
    /// @notice A value is out of its bound; `field` is 0 = marks, 1 = scenarioPnl, 2 = addons.
    error Epochs_ValueOutOfBounds(uint256 field, uint256 index);
    /// @notice The IM factor is not in [10000, 2^16).
    error Epochs_BadImFactor(uint16 imFactorBps);
    /// @notice The digest is not a field element.
    error Epochs_DigestNotInField(uint256 digest);
    /// @notice The digest does not match the data (on-chain check enabled).
    error Epochs_DigestMismatch(uint256 posted, uint256 computed);
    /// @notice The oracle round is ahead of the oracle or behind the previous epoch.
    error Epochs_BadOracleRound(uint64 oracleRound, uint64 minRound, uint64 maxRound);
    /// @notice The timestamp is in the future or before the previous epoch.
    error Epochs_BadTimestamp(uint64 timestamp);
    /// @notice No epoch has been posted yet, or the epoch does not exist.
    error Epochs_NoEpoch(uint64 epochId);
    /// @notice Digest recomputation needs a Poseidon contract.
    error Epochs_NoPoseidon();

    /// @notice Post the epoch (risk keeper only).
    function postEpoch(EpochInput calldata input) external;
    /// @notice The latest epoch id (0 before the first).
    function currentEpochId() external view returns (uint64);
    /// @notice The latest epoch id and its digest; reverts before the first epoch.
    function currentEpoch() external view returns (uint64 epochId, uint256 digest, uint64 postedAt);
    /// @notice The latest epoch id and its digest (two storage reads: what a proof check needs).
    function currentDigest() external view returns (uint64 epochId, uint256 digest);
    /// @notice The stored data of `epochId`.
    function getEpoch(uint64 epochId) external view returns (Epoch memory);
    /// @notice The digest of `input` computed on-chain with Poseidon.
    function computeDigest(EpochInput calldata input) external view returns (uint256);
    /// @notice Set the risk keeper (owner only).
    function setRiskKeeper(address riskKeeper) external;
    /// @notice Switch on-chain digest recomputation (owner only).
    function setDigestCheck(bool enabled) external;
}
