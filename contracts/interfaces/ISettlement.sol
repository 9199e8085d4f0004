// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISettlement
/// @notice Structs, events, errors and the external surface of the trade settlement module.
/// @dev A batch of fills matched off-chain moves every account it touches from its commitment
///      to a new one, each under a transition proof; the proofs share the batch's fill table
///      `T`, so every fill is applied to both its sides with the same size (zero-sum), and each
///      side only through an order its trader signed (docs/ARCHITECTURE.md, "State transitions").
interface ISettlement {
    /// @notice A secp256k1 signature over an order's EIP-712 digest.
    /// @param v Recovery id (27 or 28).
    /// @param r The r value.
    /// @param s The s value (low half of the curve order).
    struct Signature {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice One of an account's order slots in a batch.
    /// @param commitment The order commitment O (0: the slot is unused).
    /// @param stateNew The order's fill state after the batch, S_new.
    /// @param signature The trader's EIP-712 signature of `Order(uint256 commitment)`.
    struct OrderUse {
        uint256 commitment;
        uint256 stateNew;
        Signature signature;
    }

    /// @notice One account of a batch (its position in `entries` is its index in the fill table).
    /// @param account The account; entries are sorted by strictly increasing address.
    /// @param commitmentOld Its commitment before the batch (0: a new account).
    /// @param commitmentNew Its commitment after the batch.
    /// @param collateral The public balance its post-state is margined with, in collateral base units.
    /// @param cashOut Private cash moved to its public balance (negative: the other way).
    /// @param fresh Whether its post-state meets initial margin.
    /// @param orders Its two order slots.
    /// @param proof Its transition proof.
    struct Entry {
        address account;
        uint256 commitmentOld;
        uint256 commitmentNew;
        uint256 collateral;
        int256 cashOut;
        bool fresh;
        OrderUse[2] orders;
        uint256[8] proof;
    }

    /// @notice A batch of fills to settle.
    /// @param epochId The current epoch (the batch is priced and margined in it).
    /// @param fillTable T, the digest of the batch's fill table.
    /// @param feeTotal Both sides' fees of every fill, in collateral base units.
    /// @param entries Every account the fills touch, sorted by address.
    struct Batch {
        uint64 epochId;
        uint256 fillTable;
        uint256 feeTotal;
        Entry[] entries;
    }

    /// @notice Emitted for every settled batch.
    /// @param epochId The epoch.
    /// @param fillTable T.
    /// @param accounts The number of accounts.
    /// @param feeTotal The fees moved to the protocol, in collateral base units.
    event BatchSettled(uint64 indexed epochId, uint256 indexed fillTable, uint256 accounts, uint256 feeTotal);
    /// @notice Emitted when an order's fill state changes.
    /// @param order The order commitment.
    /// @param account Its trader.
    /// @param stateOld The previous fill state (0: never filled).
    /// @param stateNew The new fill state.
    event OrderFilled(uint256 indexed order, address indexed account, uint256 stateOld, uint256 stateNew);
    /// @notice Emitted when the fee rate changes.
    /// @param feeBps The new rate, bps of notional per side.
    event FeeSet(uint16 feeBps);

    /// @notice The batch is for another epoch than the current one.
    /// @param epochId The batch's epoch.
    /// @param current The current epoch.
    error Settlement_WrongEpoch(uint64 epochId, uint64 current);
    /// @notice A batch with this fill table was already settled.
    /// @param fillTable T.
    error Settlement_BatchReplayed(uint256 fillTable);
    /// @notice The batch has no entry, or more than 2^16.
    /// @param entries The number of entries.
    error Settlement_BadBatch(uint256 entries);
    /// @notice Entries must be sorted by strictly increasing account (which also rules out duplicates).
    /// @param index The first entry out of order.
    error Settlement_AccountsNotSorted(uint256 index);
    /// @notice An order signature is malformed or not by the entry's account.
    /// @param index The entry.
    /// @param slot The order slot (0 or 1).
    error Settlement_BadOrderSignature(uint256 index, uint256 slot);
    /// @notice The two order slots of an entry hold the same order, or an unused slot has a state.
    /// @param index The entry.
    error Settlement_BadOrderSlots(uint256 index);
    /// @notice The fee rate is not below 10000 bps.
    /// @param feeBps The rate passed.
    error Settlement_BadFee(uint256 feeBps);

    /// @notice Settle a batch: check every entry's orders and starting commitment, then apply every
    ///         account's proven transition, update the orders' fill states and move the fees to the
    ///         protocol. All or nothing.
    /// @param batch The batch.
    function settle(Batch calldata batch) external;
    /// @notice The EIP-712 digest a trader signs for an order commitment.
    /// @param orderCommitment O.
    /// @return The digest.
    function orderDigest(uint256 orderCommitment) external view returns (bytes32);
    /// @notice An order's fill state (0: never filled).
    /// @param orderCommitment O.
    /// @return The fill state S.
    function orderState(uint256 orderCommitment) external view returns (uint256);
    /// @notice Whether a batch with this fill table was settled.
    /// @param fillTable T.
    /// @return True once settled.
    function batchSettled(uint256 fillTable) external view returns (bool);
    /// @notice The fee rate, bps of notional charged to each side of a fill.
    /// @return The rate.
    function feeBps() external view returns (uint16);
    /// @notice Set the fee rate (owner only).
    /// @param feeBps_ The rate, below 10000 bps.
    function setFeeBps(uint16 feeBps_) external;
}
