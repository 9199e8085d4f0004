// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IGuardianPausable
/// @notice A pause switch held by a guardian (pause) and the owner (pause and unpause).
interface IGuardianPausable {
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
    /// @notice Set the guardian (owner only).
    /// @param guardian The new guardian (zero: none).
    function setGuardian(address guardian) external;
    /// @notice Pause (guardian or owner).
    function pause() external;
    /// @notice Unpause (owner only).
    function unpause() external;
}
