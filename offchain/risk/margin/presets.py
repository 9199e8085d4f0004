"""Venue presets: each venue's published margin parameters, with the source beside every number.

A preset is a JSON file ``offchain/risk/presets/<name>.json``::

    {"model": "risk_matrix",                 # the margin model it configures
     "venue": "Deribit",
     "title": "Deribit portfolio margin (S:PM), BTC",
     "convention": "...",                    # how the requirement meets the account's equity
     "parameters": {
        "price_range": {"value": 0.16, "source": "Deribit private/pme/simulate example ..."},
        "im_factor":   {"value": 1.25, "unsourced": "why this value could not be sourced"},
        ...},
     "worked_examples": [...]}               # optional, informational (the tests cite them)

Every parameter carries exactly one of ``source`` (where the value is published) or
``unsourced`` (why it could not be sourced, and what the engine uses instead). The loader
turns ``parameters`` into the model's plain config (``{key: value}``); a preset with a
parameter lacking both is refused (tested for every shipped preset).

``get_model(model, {"preset": name, **overrides})`` loads a preset for its model;
:func:`preset_model` says which model a preset configures and :func:`venue_model` builds it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from zkmargin.errors import ConfigError

PRESET_PACKAGE = "offchain.risk.presets"


def preset_names() -> list[str]:
    """Every shipped preset, sorted."""
    files = resources.files(PRESET_PACKAGE).iterdir()
    return sorted(f.name[: -len(".json")] for f in files if f.name.endswith(".json"))


def preset_document(name: str) -> dict[str, Any]:
    """The whole JSON document of preset ``name`` (``ConfigError`` naming ``preset`` if unknown)."""
    names = preset_names()
    if name not in names:
        raise ConfigError("preset", f"unknown preset {name!r} (known: {', '.join(names)})")
    text = resources.files(PRESET_PACKAGE).joinpath(f"{name}.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def preset_model(name: str) -> str:
    """The margin model preset ``name`` configures."""
    return str(preset_document(name)["model"])


def check_sources(name: str, doc: dict[str, Any]) -> None:
    """Every parameter has a value and exactly one of ``source`` / ``unsourced`` (non-empty)."""
    params = doc.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"preset.{name}.parameters", "missing")
    for key, p in params.items():
        if not isinstance(p, dict) or "value" not in p:
            raise ConfigError(f"preset.{name}.parameters.{key}", "needs a value")
        has = [k for k in ("source", "unsourced") if isinstance(p.get(k), str) and p[k].strip()]
        if len(has) != 1:
            raise ConfigError(f"preset.{name}.parameters.{key}", "needs exactly one of source or unsourced")
        extra = set(p) - {"value", "source", "unsourced"}
        if extra:
            raise ConfigError(f"preset.{name}.parameters.{key}", f"unknown keys {sorted(extra)}")


def load_preset_dict(name: str, model: str | None = None) -> dict[str, Any]:
    """The plain config of preset ``name`` (``{key: value}`` plus ``name``); with ``model``,
    the preset must configure that model."""
    doc = preset_document(name)
    if model is not None and doc.get("model") != model:
        raise ConfigError("preset", f"preset {name!r} configures model {doc.get('model')!r}, not {model!r}")
    check_sources(name, doc)
    out = {key: p["value"] for key, p in doc["parameters"].items()}
    out["name"] = name
    return out


def merge_preset(data: Any, model: str, default: str | None = None) -> Any:
    """A config dict with its ``preset`` expanded (overrides win; nested dicts merged one level)."""
    if not isinstance(data, dict):
        return data
    if "preset" not in data and default is not None:
        data = {"preset": default, **data}
    name = data.get("preset")
    if not name:
        return data
    base = load_preset_dict(str(name), model)
    merged = {**base, **data}
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
    return merged


def venue_model(name: str, **overrides: Any) -> Any:
    """The margin model of preset ``name`` (``get_model(preset_model(name), {"preset": name})``)."""
    from offchain.risk.margin import get_model

    return get_model(preset_model(name), {"preset": name, **overrides})
