"""The margin calculator behind the dashboard page: one portfolio under every risk-matrix preset
side by side, each with its binding scenario, plus the other margin models for context.

The *binding scenario* of a preset is the scenario whose loss is the scan risk (the worst
weighted scenario PnL, ``MarginResult.details["worst_scenario"]``); the requirement is that loss
plus the contingency add-on, or the short-option minimum where that is larger (then the
scenario does not bind and ``binds`` says so).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.risk.account import equity
from offchain.risk.instruments import Option, Portfolio
from offchain.risk.io import parse_market, parse_portfolio
from offchain.risk.margin import get_model
from offchain.risk.margin.risk_matrix import PRESETS
from offchain.risk.market import MarketState
from zkmargin.errors import InputError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "portfolio_hedged.json"


@dataclass(frozen=True)
class PresetRow:
    preset: str
    im: float
    mm: float
    scan_risk: float
    contingency: float
    free_collateral: float
    margin_ratio: float  # equity / MM (inf without requirement)
    n_scenarios: int
    binding_scenario: int
    binding_shock: str
    binding_vol_shock: float
    binding_weight: float
    binding_pnl: float
    binds: str  # "scenario" or "short-option minimum"
    scenario_pnl: list[float]
    scenarios: list[dict[str, Any]]


@dataclass(frozen=True)
class Calculation:
    equity: float
    presets: list[PresetRow]
    other_models: list[dict[str, Any]]


def describe_shock(sc: dict[str, Any]) -> str:
    """``BTC -16.0%, ETH -20.0%; vol +0.30`` for a scenario's metadata."""
    spots = ", ".join(f"{u} {x:+.1%}" for u, x in sc["spot_shock"].items())
    return f"{spots}; vol {sc['vol_shock']:+.2f}"


def load_portfolio_json(data: Any, market_data: Any = None) -> tuple[Portfolio, MarketState]:
    """A portfolio document (``examples/portfolio_*.json``) and its market (embedded or given)."""
    portfolio = parse_portfolio(data)
    if market_data is not None:
        return portfolio, parse_market(market_data)
    if not isinstance(data, dict) or "market" not in data:
        raise InputError("market", "the portfolio has no \"market\" object: upload a market file")
    return portfolio, parse_market(data["market"])


def example_document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return doc


def calculate(portfolio: Portfolio, market: MarketState) -> Calculation:
    """Every preset side by side, and the cross / standard-options / isolated models."""
    eq = equity(portfolio, market)
    rows = []
    for preset in PRESETS:
        res = get_model("risk_matrix", {"preset": preset}).requirement(portfolio, market)
        d = res.details
        assert res.scenario_pnl is not None and res.scenarios is not None
        k = int(d["worst_scenario"])
        sc = res.scenarios[k]
        rows.append(PresetRow(
            preset=preset, im=res.im, mm=res.mm, scan_risk=float(d["scan_risk"]), contingency=float(d["contingency"]),
            free_collateral=eq - res.im, margin_ratio=eq / res.mm if res.mm > 0 else math.inf,
            n_scenarios=int(d["n_scenarios"]), binding_scenario=k, binding_shock=describe_shock(sc),
            binding_vol_shock=float(sc["vol_shock"]), binding_weight=float(sc["weight"]),
            binding_pnl=float(res.scenario_pnl[k]),
            binds="short-option minimum" if d.get("short_option_minimum_applied") else "scenario",
            scenario_pnl=list(res.scenario_pnl), scenarios=list(res.scenarios),
        ))
    others = []
    has_options = any(isinstance(i, Option) for i, _ in portfolio.resolved())
    for name in (["cross", "standard_options"] + ([] if has_options else ["isolated"])):
        res = get_model(name, None).requirement(portfolio, market)
        others.append({"model": name, "im": res.im, "mm": res.mm, "free_collateral": eq - res.im})
    return Calculation(eq, rows, others)
