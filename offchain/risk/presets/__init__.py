"""Shipped risk-matrix presets (JSON data files, see ``docs/risk-engine.md``)."""
