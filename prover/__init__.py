"""zkmargin prover: Poseidon commitments, R1CS circuits and Groth16 over BN254.

See ``docs/ARCHITECTURE.md`` for the solvency statement and the public-input layout.
"""

__version__ = "0.1.0"
