// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title MockStablecoin
/// @notice A 6-decimals USD stablecoin for the devnet; the owner mints.
contract MockStablecoin is ERC20, Ownable {
    /// @param owner_ The account allowed to mint.
    constructor(address owner_) ERC20("Devnet USD Coin", "dUSDC") Ownable(owner_) {}

    /// @notice 6 decimals, like USDC.
    /// @return 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mint `amount` base units to `to` (owner only).
    /// @param to The receiver.
    /// @param amount Base units.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
