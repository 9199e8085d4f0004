"""Margin models, selectable by name (see ``docs/risk-engine.md`` for formulas and sources).

    >>> from offchain.risk.margin import get_model
    >>> model = get_model("risk_matrix", {"preset": "deribit_pm"})
    >>> result = model.requirement(portfolio, market)   # MarginResult(im, mm, ...)

Names: ``isolated``, ``cross``, ``standard_options``, ``risk_matrix``, ``var``, ``dynamic``,
``derive_pm2``, ``span``. Venue presets (``offchain.risk.margin.presets``) configure them.
``config`` is ``None`` (defaults), a dict, a path to a JSON file, or the model's config object.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig, net_positions
from offchain.validation import load_json, parse_model
from zkmargin.errors import ConfigError, InputError

_REGISTRY: dict[str, str] = {
    "isolated": "offchain.risk.margin.isolated:IsolatedMargin",
    "cross": "offchain.risk.margin.cross:CrossMargin",
    "standard_options": "offchain.risk.margin.standard_options:StandardOptionsMargin",
    "risk_matrix": "offchain.risk.margin.risk_matrix:RiskMatrixMargin",
    "var": "offchain.risk.margin.var:VaRMargin",
    "dynamic": "offchain.risk.margin.dynamic:DynamicMargin",
    "derive_pm2": "offchain.risk.margin.derive_pm2:DerivePM2Margin",
    "span": "offchain.risk.margin.span:SpanMargin",
}


def model_names() -> list[str]:
    """Names accepted by :func:`get_model`."""
    return list(_REGISTRY)


def model_class(name: str) -> type[MarginModel[Any]]:
    """The class registered under ``name`` (InputError naming ``model`` if unknown)."""
    if name not in _REGISTRY:
        raise InputError("model", f"unknown margin model {name!r} (known: {', '.join(_REGISTRY)})")
    import importlib

    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def load_config(name: str, config: Any = None) -> ModelConfig:
    """Validate ``config`` (None, dict, JSON path or config object) for model ``name``."""
    cls = model_class(name)
    if config is None:
        config = {}
    if isinstance(config, (str, os.PathLike)):
        cfg_path = Path(config)
        config = load_json(cfg_path, field="config")
        # a relative data file is looked up from the working directory, then next to the config
        for key in ("history_file", "risk_parameters"):
            rel = config.get(key) if isinstance(config, dict) else None
            if isinstance(rel, str) and not Path(rel).is_absolute() and not Path(rel).exists():
                beside = cfg_path.parent / rel
                if beside.exists():
                    config = {**config, key: str(beside)}
    if isinstance(config, cls.config_cls):
        return config
    if not isinstance(config, dict):
        raise ConfigError("config", f"expected a JSON object for model {name!r}")
    try:
        return parse_model(cls.config_cls, config, prefix="config")
    except ConfigError:
        raise
    except InputError as exc:
        raise ConfigError(exc.field, exc.problem) from None


def get_model(name: str, config: Any = None) -> MarginModel[Any]:
    """Instantiate margin model ``name`` with a validated ``config``."""
    cls = model_class(name)
    return cls(load_config(name, config))


__all__ = [
    "MarginModel",
    "MarginResult",
    "ModelConfig",
    "get_model",
    "load_config",
    "model_class",
    "model_names",
    "net_positions",
]
