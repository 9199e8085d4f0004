// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IGuardianPausable} from "../interfaces/IGuardianPausable.sol";

/// @title GuardianPausable
/// @notice Owner + pause guardian base shared by the protocol contracts.
abstract contract GuardianPausable is IGuardianPausable, Ownable {
    /// @inheritdoc IGuardianPausable
    address public guardian;
    /// @inheritdoc IGuardianPausable
    bool public paused;

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
        paused = true;
        emit PausedSet(true, msg.sender);
    }

    /// @inheritdoc IGuardianPausable
    function unpause() external onlyOwner {
        paused = false;
        emit PausedSet(false, msg.sender);
    }
}
