// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IGuardianPausable} from "../interfaces/IGuardianPausable.sol";

/// @title GuardianPausable
/// @notice Owner + pause guardian base shared by the protocol contracts, with a record of when
///         the contract was paused: time spent paused must not count against users' deadlines
///         (the proof grace window, the auction clock), so `pausedSecondsSince` tells how much of
///         an interval was paused.
/// @dev The guardian, the flag and the start of the current pause share one slot, so
///      `whenNotPaused` reads one slot, as before. Completed pauses are appended to `_pauses`
///      (ordered, non-overlapping); readers walk back from the newest, and pauses are rare.
abstract contract GuardianPausable is IGuardianPausable, Ownable {
    /// @inheritdoc IGuardianPausable
    address public guardian;
    /// @inheritdoc IGuardianPausable
    bool public paused;
    /// @inheritdoc IGuardianPausable
    uint64 public pausedAt;
    /// @dev `_pauses.length`, kept in the guardian's slot (read by `whenNotPaused` anyway) so that
    ///      a contract that was never paused pays nothing for `pausedSecondsSince`.
    uint24 private _pauseCount;

    PauseInterval[] private _pauses;

    /// @param owner_ The owner (sets the guardian, unpauses).
    constructor(address owner_) Ownable(owner_) {}

    modifier whenNotPaused() {
        if (paused) revert Guard_Paused();
        _;
    }

    /// @inheritdoc IGuardianPausable
    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @inheritdoc IGuardianPausable
    function pause() external {
        if (msg.sender != guardian && msg.sender != owner()) revert Guard_NotGuardian(msg.sender);
        if (!paused) {
            paused = true;
            pausedAt = uint64(block.timestamp);
        }
        emit PausedSet(true, msg.sender);
    }

    /// @inheritdoc IGuardianPausable
    function unpause() external onlyOwner {
        if (paused) {
            _pauses.push(PauseInterval({start: pausedAt, end: uint64(block.timestamp)}));
            paused = false;
            pausedAt = 0;
            _pauseCount += 1;
        }
        emit PausedSet(false, msg.sender);
    }

    /// @inheritdoc IGuardianPausable
    function pauseCount() external view returns (uint256) {
        return _pauseCount;
    }

    /// @inheritdoc IGuardianPausable
    function pauseAt(uint256 index) external view returns (PauseInterval memory) {
        return _pauses[index];
    }

    /// @inheritdoc IGuardianPausable
    function pausedSecondsSince(uint256 from) public view returns (uint256 total) {
        if (paused) total = block.timestamp - (pausedAt > from ? pausedAt : from);
        for (uint256 i = _pauseCount; i > 0; --i) {
            PauseInterval memory p = _pauses[i - 1];
            if (p.end <= from) break;
            total += p.end - (p.start > from ? p.start : from);
        }
    }

    /// @dev Seconds since `from` (<= now) during which this contract was not paused.
    function _unpausedSecondsSince(uint256 from) internal view returns (uint256) {
        return block.timestamp - from - pausedSecondsSince(from);
    }
}
