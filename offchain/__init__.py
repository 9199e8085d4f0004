"""zkmargin off-chain risk engine: pricing, margin models, risk epochs, simulation.

See ``docs/ARCHITECTURE.md`` for the data flow and the integer formats shared with the prover
and the contracts.
"""

__version__ = "0.1.0"
