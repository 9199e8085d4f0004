// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Constants} from "../libraries/Constants.sol";

/// @title ReentrantToken
/// @notice A 6-decimals token that, when armed, calls `target` with `payload` from inside every
///         transfer (before moving the balance), to attack the vault's accounting. The outcome of
///         the reentrant call is recorded, not propagated, so the test can see it was refused.
contract ReentrantToken is ERC20 {
    /// @notice Where the reentrant call goes.
    address public target;
    /// @notice The reentrant call's calldata.
    bytes public payload;
    /// @notice Number of reentrant calls attempted.
    uint256 public attempts;
    /// @notice Number of reentrant calls that succeeded.
    uint256 public successes;

    /// @notice Emitted when the attack is armed.
    /// @param target Where the reentrant call goes.
    /// @param payload The reentrant call's calldata (empty: disarmed).
    event Armed(address target, bytes payload);

    constructor() ERC20("Reentrant USD", "rUSD") {}

    /// @notice 6 decimals.
    /// @return 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone mints (test token).
    /// @param to The receiver.
    /// @param amount Base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Make this token contract call `target_` (not reentrant: used to set it up as a vault account).
    /// @param target_ The contract called.
    /// @param data The calldata.
    /// @return The call's return data (a failing call reverts with its revert data).
    function execute(address target_, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target_.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// @notice Arm (non-empty payload) or disarm the reentrant call.
    /// @param target_ Where the reentrant call goes.
    /// @param payload_ Its calldata (empty: disarm).
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        emit Armed(target_, payload_);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (payload.length != 0 && from != address(0)) {
            bytes memory p = payload;
            delete payload; // one shot
            attempts += 1;
            (bool ok,) = target.call(p);
            if (ok) successes += 1;
        }
        super._update(from, to, value);
    }
}

/// @title FalseReturningToken
/// @notice A token whose `transfer`/`transferFrom` return false (without reverting) when `failing`.
contract FalseReturningToken is ERC20 {
    /// @notice Whether transfers fail silently.
    bool public failing;

    /// @notice Emitted when silent failure is switched.
    /// @param failing Whether transfers now fail silently.
    event FailingSet(bool failing);

    constructor() ERC20("False USD", "fUSD") {}

    /// @notice 6 decimals.
    /// @return 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone mints (test token).
    /// @param to The receiver.
    /// @param amount Base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Switch silent failure on or off.
    /// @param failing_ Whether transfers fail silently.
    function setFailing(bool failing_) external {
        failing = failing_;
        emit FailingSet(failing_);
    }

    /// @notice Returns false without moving anything when failing.
    /// @param to The receiver.
    /// @param value Base units.
    /// @return False when failing, else true.
    function transfer(address to, uint256 value) public override returns (bool) {
        if (failing) return false;
        return super.transfer(to, value);
    }

    /// @notice Returns false without moving anything when failing.
    /// @param from The owner of the tokens.
    /// @param to The receiver.
    /// @param value Base units.
    /// @return False when failing, else true.
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (failing) return false;
        return super.transferFrom(from, to, value);
    }
}

/// @title FeeOnTransferToken
/// @notice A token that burns `feeBps` of every transfer, so the receiver gets less than sent.
contract FeeOnTransferToken is ERC20 {
    /// @notice Fee in basis points.
    uint256 public immutable feeBps;

    /// @param feeBps_ The fee burnt from every transfer, in bps.
    constructor(uint256 feeBps_) ERC20("Fee USD", "feeUSD") {
        feeBps = feeBps_;
    }

    /// @notice 6 decimals.
    /// @return 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Anyone mints (test token).
    /// @param to The receiver.
    /// @param amount Base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value * feeBps / Constants.BPS;
            super._update(from, address(0), fee);
            super._update(from, to, value - fee);
        } else {
            super._update(from, to, value);
        }
    }
}
