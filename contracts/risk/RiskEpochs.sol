// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GuardianPausable} from "../access/GuardianPausable.sol";
import {Constants, MAX_DIMENSION} from "../libraries/Constants.sol";
import {FieldMath} from "../libraries/FieldMath.sol";
import {IRiskEpochs} from "../interfaces/IRiskEpochs.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {IPoseidonSponge} from "../interfaces/IPoseidonSponge.sol";

/// @title RiskEpochs
/// @notice Registry of risk epochs: the risk keeper posts, per oracle round, the epoch digest
///         and its data (marks, scenario PnL matrix, add-ons) in calldata and an event.
/// @dev Bounds of docs/ARCHITECTURE.md are checked here so the circuit needs no range checks on
///      epoch data. The Poseidon digest is recomputed on-chain only when `digestCheck` is on
///      (costly: one t=17 permutation per 15 values; see docs/contracts.md for the gas of both).
contract RiskEpochs is IRiskEpochs, GuardianPausable {
    /// @notice The price oracle whose `globalRound` epochs refer to.
    IPriceOracle public immutable oracle;
    /// @notice The Poseidon sponge used when `digestCheck` is on (may be zero).
    IPoseidonSponge public immutable poseidon;
    /// @notice The account allowed to post epochs.
    address public riskKeeper;
    /// @notice Whether `postEpoch` recomputes the digest on-chain.
    bool public digestCheck;
    /// @inheritdoc IRiskEpochs
    uint64 public currentEpochId;

    mapping(uint64 epochId => Epoch) private _epochs;

    /// @param owner_ Owner (sets the keeper, the digest check and the guardian).
    /// @param oracle_ The price oracle.
    /// @param poseidon_ The Poseidon sponge, or zero.
    /// @param riskKeeper_ The initial risk keeper.
    constructor(address owner_, IPriceOracle oracle_, IPoseidonSponge poseidon_, address riskKeeper_)
        GuardianPausable(owner_)
    {
        oracle = oracle_;
        poseidon = poseidon_;
        riskKeeper = riskKeeper_;
        emit RiskKeeperSet(riskKeeper_);
    }

    /// @inheritdoc IRiskEpochs
    function setRiskKeeper(address riskKeeper_) external onlyOwner {
        riskKeeper = riskKeeper_;
        emit RiskKeeperSet(riskKeeper_);
    }

    /// @inheritdoc IRiskEpochs
    function setDigestCheck(bool enabled) external onlyOwner {
        if (enabled && address(poseidon) == address(0)) revert Epochs_NoPoseidon();
        digestCheck = enabled;
        emit DigestCheckSet(enabled);
    }

    /// @inheritdoc IRiskEpochs
    function postEpoch(EpochInput calldata input) external whenNotPaused {
        if (msg.sender != riskKeeper) revert Epochs_Unauthorized(msg.sender);
        uint64 latest = currentEpochId;
        if (input.epochId <= latest) revert Epochs_EpochNotIncreasing(input.epochId, latest);
        uint256 n = input.marks.length;
        uint256 s = input.numScenarios;
        if (
            n == 0 || n > MAX_DIMENSION || s == 0 || s > MAX_DIMENSION || input.addons.length != n
                || input.scenarioPnl.length != n * s || input.funding.length != n
        ) revert Epochs_BadDimensions(n, s);
        if (input.imFactorBps < Constants.IM_FACTOR_MIN_BPS) revert Epochs_BadImFactor(input.imFactorBps);
        if (input.digest >= FieldMath.SNARK_SCALAR_FIELD) revert Epochs_DigestNotInField(input.digest);
        if (input.fundingDigest >= FieldMath.SNARK_SCALAR_FIELD) revert Epochs_DigestNotInField(input.fundingDigest);
        for (uint256 i = 0; i < n; ++i) {
            if (!_signedInBound(input.marks[i])) revert Epochs_ValueOutOfBounds(0, i);
            if (input.addons[i] >= Constants.EPOCH_VALUE_BOUND) revert Epochs_ValueOutOfBounds(2, i);
            if (!_signedInBound(input.funding[i])) revert Epochs_ValueOutOfBounds(3, i);
        }
        for (uint256 i = 0; i < n * s; ++i) {
            if (!_signedInBound(input.scenarioPnl[i])) revert Epochs_ValueOutOfBounds(1, i);
        }
        uint64 minRound = 0;
        uint64 minTimestamp = 0;
        if (latest != 0) {
            Epoch storage prev = _epochs[latest];
            minRound = prev.oracleRound;
            minTimestamp = prev.timestamp;
        }
        uint64 maxRound = oracle.globalRound();
        if (input.oracleRound < minRound || input.oracleRound > maxRound || input.oracleRound == 0) {
            revert Epochs_BadOracleRound(input.oracleRound, minRound, maxRound);
        }
        if (input.timestamp > block.timestamp || input.timestamp < minTimestamp) revert Epochs_BadTimestamp(input.timestamp);
        bool checked = digestCheck;
        if (checked) {
            uint256 computed = computeDigest(input);
            if (computed != input.digest) revert Epochs_DigestMismatch(input.digest, computed);
            computed = computeFundingDigest(input.funding);
            if (computed != input.fundingDigest) revert Epochs_DigestMismatch(input.fundingDigest, computed);
        }
        _epochs[input.epochId] = Epoch({
            digest: input.digest,
            fundingDigest: input.fundingDigest,
            marksHash: keccak256(abi.encodePacked(input.marks)),
            fundingHash: keccak256(abi.encodePacked(input.funding)),
            oracleRound: input.oracleRound,
            timestamp: input.timestamp,
            postedAt: uint64(block.timestamp),
            imFactorBps: input.imFactorBps,
            numInstruments: uint16(n),
            numScenarios: uint16(s)
        });
        currentEpochId = input.epochId;
        emit EpochPosted(
            input.epochId, input.oracleRound, input.digest, uint16(n), uint16(s), input.imFactorBps, input.timestamp, checked
        );
        emit EpochData(input.epochId, input.marks, input.scenarioPnl, input.addons, input.funding);
    }

    /// @inheritdoc IRiskEpochs
    function computeDigest(EpochInput calldata input) public view returns (uint256) {
        if (address(poseidon) == address(0)) revert Epochs_NoPoseidon();
        uint256 n = input.marks.length;
        uint256 total = 4 + n + input.scenarioPnl.length + input.addons.length + input.funding.length;
        uint256[] memory xs = new uint256[](total);
        xs[0] = n;
        xs[1] = input.numScenarios;
        xs[2] = input.epochId;
        xs[3] = input.imFactorBps;
        uint256 k = 4;
        for (uint256 i = 0; i < n; ++i) {
            xs[k++] = FieldMath.toField(input.marks[i]);
        }
        for (uint256 i = 0; i < input.scenarioPnl.length; ++i) {
            xs[k++] = FieldMath.toField(input.scenarioPnl[i]);
        }
        for (uint256 i = 0; i < input.addons.length; ++i) {
            xs[k++] = input.addons[i];
        }
        for (uint256 i = 0; i < input.funding.length; ++i) {
            xs[k++] = FieldMath.toField(input.funding[i]);
        }
        return poseidon.sponge(Constants.TAG_EPOCH, xs);
    }

    /// @inheritdoc IRiskEpochs
    function computeFundingDigest(int256[] calldata funding) public view returns (uint256) {
        if (address(poseidon) == address(0)) revert Epochs_NoPoseidon();
        uint256[] memory xs = new uint256[](funding.length + 1);
        xs[0] = funding.length;
        for (uint256 i = 0; i < funding.length; ++i) {
            xs[i + 1] = FieldMath.toField(funding[i]);
        }
        return poseidon.sponge(Constants.TAG_FUNDING, xs);
    }

    /// @inheritdoc IRiskEpochs
    function fundingDigestOf(uint64 epochId) external view returns (uint256) {
        Epoch storage e = _epochs[epochId];
        if (e.postedAt == 0) revert Epochs_NoEpoch(epochId);
        return e.fundingDigest;
    }

    /// @inheritdoc IRiskEpochs
    function currentEpoch() external view returns (uint64 epochId, uint256 digest, uint64 postedAt) {
        epochId = currentEpochId;
        if (epochId == 0) revert Epochs_NoEpoch(0);
        Epoch storage e = _epochs[epochId];
        return (epochId, e.digest, e.postedAt);
    }

    /// @inheritdoc IRiskEpochs
    function currentDigest() external view returns (uint64 epochId, uint256 digest) {
        epochId = currentEpochId;
        if (epochId == 0) revert Epochs_NoEpoch(0);
        digest = _epochs[epochId].digest;
    }

    /// @inheritdoc IRiskEpochs
    function getEpoch(uint64 epochId) external view returns (Epoch memory e) {
        e = _epochs[epochId];
        if (e.postedAt == 0) revert Epochs_NoEpoch(epochId);
    }

    function _signedInBound(int256 x) private pure returns (bool) {
        return x > -int256(Constants.EPOCH_VALUE_BOUND) && x < int256(Constants.EPOCH_VALUE_BOUND);
    }
}
