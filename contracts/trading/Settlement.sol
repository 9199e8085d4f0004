// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {GuardianPausable} from "../access/GuardianPausable.sol";
import {Constants} from "../libraries/Constants.sol";
import {ISettlement} from "../interfaces/ISettlement.sol";
import {IMarginAccounts} from "../interfaces/IMarginAccounts.sol";
import {IRiskEpochs} from "../interfaces/IRiskEpochs.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";

/// @title Settlement
/// @notice Settles batches of fills matched off-chain: every account of a batch moves from its
///         commitment to a new one under a transition proof, all proofs sharing the batch's fill
///         table, so positions move zero-sum and cash moves zero-sum less the fees.
/// @dev What this contract checks itself, with custom errors, before any proof: the epoch, that
///      the fill table was never settled (replay), sorted distinct accounts, every used order's
///      EIP-712 signature by its account and distinct order slots. The proofs then bind the
///      fills to the signed orders (limit and size), the starting commitments (checked by
///      `MarginAccounts.applyTransitions`, which verifies all of a batch's proofs in one
///      `verifyBatch` call), the stored order fill states and the fee total.
///      Anyone may submit a batch: the proofs and the signatures are the authorization.
contract Settlement is ISettlement, GuardianPausable, ReentrancyGuardTransient, EIP712 {
    /// @notice EIP-712 type hash of `Order(uint256 commitment)`.
    bytes32 public constant ORDER_TYPEHASH = keccak256("Order(uint256 commitment)");
    /// @dev Half the secp256k1 group order: larger `s` values are malleable.
    uint256 private constant SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @dev At most 2^16 accounts per batch (the circuit's index range).
    uint256 private constant MAX_ENTRIES = 1 << 16;

    /// @notice The margin accounts.
    IMarginAccounts public immutable accounts;
    /// @notice The risk-epoch registry.
    IRiskEpochs public immutable epochs;
    /// @notice The collateral vault.
    ICollateralVault public immutable vault;
    /// @inheritdoc ISettlement
    uint16 public feeBps;

    /// @inheritdoc ISettlement
    mapping(uint256 fillTable => bool settled) public batchSettled;
    /// @inheritdoc ISettlement
    mapping(uint256 order => uint256 state) public orderState;

    /// @param owner_ Owner (fee rate, guardian).
    /// @param accounts_ The margin accounts.
    /// @param epochs_ The risk-epoch registry.
    /// @param vault_ The collateral vault.
    /// @param feeBps_ The initial fee rate, bps of notional per side.
    constructor(address owner_, IMarginAccounts accounts_, IRiskEpochs epochs_, ICollateralVault vault_, uint16 feeBps_)
        GuardianPausable(owner_)
        EIP712("zkmargin Settlement", "1")
    {
        accounts = accounts_;
        epochs = epochs_;
        vault = vault_;
        _setFee(feeBps_);
    }

    /// @inheritdoc ISettlement
    function setFeeBps(uint16 feeBps_) external onlyOwner {
        _setFee(feeBps_);
    }

    /// @inheritdoc ISettlement
    function orderDigest(uint256 orderCommitment) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ORDER_TYPEHASH, orderCommitment)));
    }

    /// @inheritdoc ISettlement
    function settle(Batch calldata batch) external whenNotPaused nonReentrant {
        uint64 current = epochs.currentEpochId();
        if (batch.epochId != current) revert Settlement_WrongEpoch(batch.epochId, current);
        if (batchSettled[batch.fillTable]) revert Settlement_BatchReplayed(batch.fillTable);
        uint256 count = batch.entries.length;
        if (count == 0 || count > MAX_ENTRIES) revert Settlement_BadBatch(count);
        batchSettled[batch.fillTable] = true;
        IMarginAccounts.Transition[] memory ts = new IMarginAccounts.Transition[](count);
        uint256[6][] memory used = new uint256[6][](count);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            Entry calldata e = batch.entries[i];
            if (e.account <= previous) revert Settlement_AccountsNotSorted(i);
            previous = e.account;
            used[i] = _checkOrders(e, i);
            ts[i] = IMarginAccounts.Transition({
                account: e.account,
                commitmentOld: e.commitmentOld,
                commitmentNew: e.commitmentNew,
                collateral: e.collateral,
                cashOut: e.cashOut,
                fresh: e.fresh,
                fillTable: batch.fillTable,
                index: i,
                count: count,
                feeBps: feeBps,
                feeTotal: batch.feeTotal,
                orders: used[i],
                publicDelta: new int256[](0),
                proof: e.proof
            });
        }
        // every transition checked, then all the proofs verified in one batch (k + 3 pairings)
        accounts.applyTransitions(ts);
        for (uint256 i = 0; i < count; ++i) {
            uint256[6] memory orders = used[i];
            for (uint256 j = 0; j < Constants.ORDER_SLOTS; ++j) {
                uint256 o = orders[3 * j];
                if (o != 0) {
                    orderState[o] = orders[3 * j + 2];
                    emit OrderFilled(o, batch.entries[i].account, orders[3 * j + 1], orders[3 * j + 2]);
                }
            }
        }
        vault.collectTradingFees(batch.feeTotal);
        emit BatchSettled(current, batch.fillTable, count, batch.feeTotal);
    }

    /// @dev The entry's order slots as `(O, S_old, S_new)` triples, after checking each used order's
    ///      signature by the entry's account and that the two slots differ.
    function _checkOrders(Entry calldata e, uint256 index) private view returns (uint256[6] memory out) {
        for (uint256 j = 0; j < Constants.ORDER_SLOTS; ++j) {
            OrderUse calldata u = e.orders[j];
            if (u.commitment == 0) {
                if (u.stateNew != 0) revert Settlement_BadOrderSlots(index);
                continue;
            }
            if (!_signedBy(u, e.account)) revert Settlement_BadOrderSignature(index, j);
            out[3 * j] = u.commitment;
            out[3 * j + 1] = orderState[u.commitment];
            out[3 * j + 2] = u.stateNew;
        }
        if (out[0] != 0 && out[0] == out[3]) revert Settlement_BadOrderSlots(index);
    }

    function _signedBy(OrderUse calldata u, address account) private view returns (bool) {
        Signature calldata sig = u.signature;
        if (uint256(sig.s) > SECP256K1_HALF_N || (sig.v != 27 && sig.v != 28)) return false;
        address signer = ecrecover(orderDigest(u.commitment), sig.v, sig.r, sig.s);
        return signer != address(0) && signer == account;
    }

    function _setFee(uint16 feeBps_) private {
        if (feeBps_ >= Constants.BPS) revert Settlement_BadFee(feeBps_);
        feeBps = feeBps_;
        emit FeeSet(feeBps_);
    }
}
