// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FieldMath
/// @notice The BN254 scalar field and the signed-integer embedding of docs/ARCHITECTURE.md.
library FieldMath {
    /// @notice r, the BN254 scalar field modulus.
    uint256 internal constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice `x mod r` for a signed `x` with `|x| < r`.
    /// @param x The signed integer.
    /// @return The field element `x mod r`.
    function toField(int256 x) internal pure returns (uint256) {
        if (x >= 0) return uint256(x);
        return SNARK_SCALAR_FIELD - uint256(-x);
    }
}
