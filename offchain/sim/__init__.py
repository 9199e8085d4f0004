"""Agent-based liquidation-cascade simulator (no chain needed) and reusable price paths.

* :mod:`offchain.sim.paths`: seeded price paths (2021 history + Brownian bridge, GBM with
  jumps, GARCH(1,1)); the devnet oracle imports these.
* :mod:`offchain.sim.scenario`: scenario files (pydantic v2), their hash.
* :mod:`offchain.sim.policies`: the margin models as vectorized policies.
* :mod:`offchain.sim.liquidity`: the market makers' linear depth curve and arbitrage.
* :mod:`offchain.sim.population`: traders and their accounts under each model.
* :mod:`offchain.sim.engine`: the vectorized step loop; :mod:`offchain.sim.reference` the
  straightforward per-account loop it is tested and benchmarked against.
* :mod:`offchain.sim.runner`: scenario + seed -> per-model runs and summaries.
* :mod:`offchain.sim.report`: CSV/JSON/PNG outputs; :mod:`offchain.sim.cli`: ``zkmargin simulate``.
"""

from __future__ import annotations

from offchain.sim.paths import PricePath, garch_path, gbm_jump_path, history_path

__all__ = ["PricePath", "garch_path", "gbm_jump_path", "history_path"]
