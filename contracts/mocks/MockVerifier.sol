// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IGroth16Verifier} from "../interfaces/IGroth16Verifier.sol";
import {FieldMath} from "../libraries/FieldMath.sol";

/// @title MockVerifier
/// @notice A Groth16 verifier stand-in whose answers the test controls: it accepts exactly the
///         statements (public-input vectors) the owner allowed, or everything in `acceptAll` mode,
///         and checks input length and field membership like the generated verifier. A batch is
///         accepted when every statement in it is.
contract MockVerifier is IGroth16Verifier {
    /// @notice The account that controls the answers.
    address public immutable controller;
    /// @notice Accept every well-formed input.
    bool public acceptAll;
    /// @notice Allowed statements: keccak256(abi.encode(publicInputs)).
    mapping(bytes32 statement => bool) public allowed;

    /// @notice Emitted when a statement is allowed or disallowed.
    /// @param statement keccak256(abi.encode(publicInputs)).
    /// @param allowed Whether it is now accepted.
    event StatementSet(bytes32 indexed statement, bool allowed);
    /// @notice Emitted when `acceptAll` changes.
    /// @param acceptAll The new mode.
    event AcceptAllSet(bool acceptAll);

    /// @notice Only the controller sets answers.
    /// @param caller The caller.
    error MockVerifier_Unauthorized(address caller);

    /// @notice The deployer becomes the controller.
    /// @notice The number of public inputs this mock expects (0: any number, so one mock can stand
    ///         for the solvency and the transition verifiers).
    uint256 public immutable numInputs;

    /// @param numInputs_ The number of public inputs to expect (0: any).
    constructor(uint256 numInputs_) {
        controller = msg.sender;
        numInputs = numInputs_;
    }

    /// @notice Allow or disallow the statement `publicInputs`.
    /// @param publicInputs The public inputs, as `verifyProof` receives them.
    /// @param ok Whether `verifyProof` accepts them.
    function setStatement(uint256[] calldata publicInputs, bool ok) external {
        if (msg.sender != controller) revert MockVerifier_Unauthorized(msg.sender);
        bytes32 h = keccak256(abi.encode(publicInputs));
        allowed[h] = ok;
        emit StatementSet(h, ok);
    }

    /// @notice Switch accept-everything mode.
    /// @param ok Whether `verifyProof` accepts every well-formed input.
    function setAcceptAll(bool ok) external {
        if (msg.sender != controller) revert MockVerifier_Unauthorized(msg.sender);
        acceptAll = ok;
        emit AcceptAllSet(ok);
    }

    /// @inheritdoc IGroth16Verifier
    function verifyProof(uint256[8] calldata, uint256[] calldata publicInputs) external view returns (bool) {
        if (numInputs != 0 && publicInputs.length != numInputs) {
            revert Verifier_InvalidInputLength(numInputs, publicInputs.length);
        }
        return _accepts(publicInputs, 0);
    }

    /// @inheritdoc IGroth16Verifier
    function verifyBatch(uint256[8][] calldata proofs, uint256[] calldata publicInputs) external view returns (bool) {
        if (proofs.length == 0) revert Verifier_EmptyBatch();
        // any number of inputs (numInputs = 0): the statements' width is the inputs per proof
        uint256 n = numInputs != 0 ? numInputs : publicInputs.length / proofs.length;
        if (publicInputs.length != proofs.length * n) revert Verifier_InvalidInputLength(proofs.length * n, publicInputs.length);
        bool ok = true;
        for (uint256 i = 0; i < proofs.length; ++i) {
            ok = _accepts(publicInputs[i * n:(i + 1) * n], i * n) && ok;
        }
        return ok;
    }

    function _accepts(uint256[] calldata publicInputs, uint256 offset) private view returns (bool) {
        for (uint256 i = 0; i < publicInputs.length; ++i) {
            if (publicInputs[i] >= FieldMath.SNARK_SCALAR_FIELD) revert Verifier_InputNotInField(offset + i);
        }
        return acceptAll || allowed[keccak256(abi.encode(publicInputs))];
    }
}
