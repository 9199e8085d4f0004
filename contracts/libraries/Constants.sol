// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Most instruments (n) and most scenarios (S) of a risk epoch. At file level, not in
///      `Constants`: solc takes only literals and file-level constants as array lengths, and
///      `Liquidation` sizes its packed position arrays with it.
uint256 constant MAX_DIMENSION = 256;

/// @title Constants
/// @notice The protocol-wide constants, each defined once (docs/ARCHITECTURE.md, "Interfaces fixed
///         by the code"). The statement constants mirror `prover.statement` (and `WAD`
///         `offchain.mirror.auction`); tests/devnet/test_constants.py checks the compiled values
///         against the Python ones. The BN254 scalar field is `FieldMath.SNARK_SCALAR_FIELD`; the
///         dimension bound `MAX_DIMENSION` is a file-level constant of this file.
library Constants {
    /// @notice Fixed-point one (1e18): fill fractions are WAD fractions of the remaining book.
    uint256 internal constant WAD = 1e18;
    /// @notice Basis-point denominator (10_000 bps = 100%).
    uint256 internal constant BPS = 10_000;
    /// @notice Decimals of every oracle price (USD prices with 8 decimals, as Chainlink USD feeds).
    uint8 internal constant PRICE_DECIMALS = 8;

    /// @notice Smallest IM factor, in bps of the MM requirement (1x).
    uint16 internal constant IM_FACTOR_MIN_BPS = uint16(BPS);
    /// @notice Exclusive bound on a position |q_i| (2^64 lots).
    uint256 internal constant POSITION_BOUND = 2 ** 64;
    /// @notice Exclusive bound on the committed cash |c| (2^128 collateral base units).
    uint256 internal constant CASH_BOUND = 2 ** 128;
    /// @notice Exclusive bound on the epoch values |m_i|, |L[i][s]| and a_i (2^64 collateral base units per lot).
    uint256 internal constant EPOCH_VALUE_BOUND = 2 ** 64;

    /// @notice Proof kind (public input `kind`): maintenance margin.
    uint8 internal constant KIND_MM = 0;
    /// @notice Proof kind: initial margin.
    uint8 internal constant KIND_IM = 1;
    /// @notice Proof kind: insolvency.
    uint8 internal constant KIND_INSOLVENCY = 2;
    /// @notice Number of public inputs of a solvency proof: `[C, D, kind, account, collateral]`.
    uint256 internal constant NUM_PUBLIC_INPUTS = 5;

    /// @notice Sponge domain tag of the epoch digest D.
    uint256 internal constant TAG_EPOCH = 1;
    /// @notice Sponge domain tag of the account commitment C.
    uint256 internal constant TAG_ACCOUNT = 2;

    /// @notice Liquidation reason: no fresh proof after the grace window.
    uint8 internal constant REASON_NO_FRESH_PROOF = 1;
    /// @notice Liquidation reason: proven insolvent.
    uint8 internal constant REASON_INSOLVENT = 2;

    /// @notice Why a batch entry was skipped: the account is already proven for the epoch (kind).
    uint8 internal constant SKIP_ALREADY_PROVEN = 1;
    /// @notice Skipped: the account's commitment is not the one the proof is about (or none).
    uint8 internal constant SKIP_COMMITMENT_CHANGED = 2;
    /// @notice Skipped: the account is being liquidated.
    uint8 internal constant SKIP_IN_LIQUIDATION = 3;
    /// @notice Skipped: the balance moved past the proof's collateral (a solvency proof's collateral
    ///         above the balance, an insolvency proof's below it).
    uint8 internal constant SKIP_COLLATERAL_STALE = 4;
}
