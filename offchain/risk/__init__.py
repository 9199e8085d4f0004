"""The risk engine: Black-76 pricing, instruments and market state, margin models (isolated,
cross, standard options, risk matrix with venue presets, VaR/ES, dynamic), account views, batch
margin for many accounts, and the integer risk-epoch export (:mod:`offchain.risk.epoch`) that
the prover and the contracts consume. Its command line is :mod:`offchain.risk.cli`."""
