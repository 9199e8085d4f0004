// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IPoseidonSponge
/// @notice circomlib Poseidon over BN254 and the sponge of docs/ARCHITECTURE.md.
interface IPoseidonSponge {
    /// @notice An input is not a field element (`>= r`); index `type(uint256).max` is the sponge tag.
    /// @param index The position of the input (`type(uint256).max`: the tag).
    error Poseidon_InputNotInField(uint256 index);

    /// @notice circomlib `Poseidon(16)` of 16 field elements.
    /// @param inputs The 16 inputs, each `< r`.
    /// @return The hash, a field element.
    function hash16(uint256[16] calldata inputs) external view returns (uint256);
    /// @notice `h = tag`; per zero-padded chunk of 15 elements, `h = Poseidon(h, chunk)`.
    /// @param tag The domain tag (`Constants.TAG_EPOCH` or `Constants.TAG_ACCOUNT`), `< r`.
    /// @param xs The elements, each `< r` (none: one chunk of zeros).
    /// @return The final `h`, a field element.
    function sponge(uint256 tag, uint256[] calldata xs) external view returns (uint256);
}
