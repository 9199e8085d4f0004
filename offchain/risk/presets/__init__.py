"""Shipped venue presets (JSON data files with the source beside every parameter; loaded by
``offchain.risk.margin.presets``, listed in ``docs/risk-engine.md``)."""
