"""zkmargin off-chain code, one sub-package per job (data flows one way, top to bottom):

* :mod:`offchain.risk`: the risk engine (pricing, instruments, market, margin models, VaR,
  batch margin) and the integer risk-epoch export the prover and the contracts consume;
* :mod:`offchain.sim`: the agent-based cascade simulator and the seeded price paths;
* :mod:`offchain.mirror`: the Python mirror of every integer the contracts compute;
* :mod:`offchain.devnet`: the devnet session (deploy, oracle, epochs, proofs), the keepers,
  the demo and its report; it builds on all of the above, and nothing builds on it.

See ``docs/ARCHITECTURE.md`` for the data flow and the integer formats shared with the prover
and the contracts.
"""

from zkmargin import __version__

__all__ = ["__version__"]
