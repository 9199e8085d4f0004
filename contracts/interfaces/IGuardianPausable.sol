// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IGuardianPausable
/// @notice A pause switch held by a guardian (pause) and the owner (pause and unpause).
interface IGuardianPausable {
    /// @notice One completed pause.
    /// @param start When it began (unix seconds).
    /// @param end When the owner unpaused (unix seconds).
    struct PauseInterval {
        uint64 start;
        uint64 end;
    }

    /// @notice Emitted when the guardian changes.
    /// @param guardian The new guardian (zero: none).
    event GuardianSet(address indexed guardian);
    /// @notice Emitted when the contract is paused or unpaused.
    /// @param paused Whether the contract is now paused.
    /// @param by The guardian or owner that switched it.
    event PausedSet(bool paused, address by);

    /// @notice The contract is paused.
    error Guard_Paused();
    /// @notice The caller is neither the guardian nor the owner.
    /// @param caller The caller.
    error Guard_NotGuardian(address caller);

    /// @notice The pause guardian.
    /// @return The guardian's address (zero: none).
    function guardian() external view returns (address);
    /// @notice Whether state-changing user functions are paused.
    /// @return True while paused.
    function paused() external view returns (bool);
    /// @notice When the current pause began.
    /// @return Unix seconds; 0 when not paused.
    function pausedAt() external view returns (uint64);
    /// @notice Number of completed pauses.
    /// @return The count.
    function pauseCount() external view returns (uint256);
    /// @notice A completed pause, oldest first.
    /// @param index Its position, below `pauseCount()`.
    /// @return The pause.
    function pauseAt(uint256 index) external view returns (PauseInterval memory);
    /// @notice How many seconds since `from` this contract was paused (the current pause included).
    /// @param from Unix seconds, not after now.
    /// @return total Paused seconds in `[from, now]`.
    function pausedSecondsSince(uint256 from) external view returns (uint256 total);
    /// @notice Set the guardian (owner only).
    /// @param guardian The new guardian (zero: none).
    function setGuardian(address guardian) external;
    /// @notice Pause (guardian or owner); pausing again while paused changes nothing.
    function pause() external;
    /// @notice Unpause (owner only); records the completed pause.
    function unpause() external;
}
