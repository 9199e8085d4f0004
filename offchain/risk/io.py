"""Loading portfolio, market and history files (JSON/CSV) into validated models.

Portfolio file (``examples/portfolio_*.json``)::

    {"instruments": [...], "positions": [...], "collateral": [...], "cash": 0.0,
     "market": {...}}          # "market" is optional here; a separate --market file wins

Every problem raises :class:`~zkmargin.errors.InputError` naming the field.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from offchain.risk.instruments import Portfolio
from offchain.risk.market import MarketState
from offchain.validation import load_json, parse_model
from zkmargin.errors import InputError


def parse_portfolio(data: Any) -> Portfolio:
    if not isinstance(data, dict):
        raise InputError("portfolio", "expected a JSON object")
    allowed = [*Portfolio.model_fields, "market", "description"]
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise InputError(str(unknown[0]), f"unknown key {unknown[0]!r} (allowed keys: {', '.join(allowed)})")
    body = {k: v for k, v in data.items() if k not in ("market", "description")}
    if not body.get("positions"):
        raise InputError("positions", "portfolio has no positions")
    return parse_model(Portfolio, body)


def parse_market(data: Any, prefix: str = "market") -> MarketState:
    if not isinstance(data, dict):
        raise InputError(prefix, "expected a JSON object")
    return parse_model(MarketState, data, prefix=prefix)


def load_portfolio(path: str | os.PathLike[str]) -> tuple[Portfolio, MarketState | None]:
    """Portfolio (and its embedded market, if any) from a JSON file."""
    data = load_json(path, field="portfolio")
    portfolio = parse_portfolio(data)
    market = parse_market(data["market"]) if isinstance(data, dict) and "market" in data else None
    return portfolio, market


def load_market(path: str | os.PathLike[str]) -> MarketState:
    return parse_market(load_json(path, field="market"), prefix="market")


def load_history(path: str | os.PathLike[str]) -> dict[str, NDArray[np.float64]]:
    """Daily close prices per underlying from a CSV or JSON history file.

    CSV: a header ``date,BTC,ETH,...`` (one column per underlying), or the CoinGecko-style
    export ``timestamp,...,price,...`` with a ``coinId`` column (bitcoin -> BTC, ethereum -> ETH).
    JSON: ``{"BTC": [p0, p1, ...], "ETH": [...]}``. Prices must be finite and > 0; every
    underlying must have the same number of observations (>= 3).
    """
    p = Path(path)
    if p.suffix.lower() == ".json":
        data = load_json(p, field="history")
        if not isinstance(data, dict) or not data:
            raise InputError("history", "expected an object {underlying: [prices...]}")
        series = {str(k): v for k, v in data.items() if k != "description"}
    else:
        try:
            with p.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except FileNotFoundError:
            raise InputError("history", f"file not found: {p}") from None
        if not rows:
            raise InputError("history", f"{p} has no rows")
        cols = list(rows[0].keys())
        if "coinId" in cols and "price" in cols:
            names = {"bitcoin": "BTC", "ethereum": "ETH"}
            series = {}
            for k, row in enumerate(rows):
                u = names.get(row["coinId"], row["coinId"].upper())
                series.setdefault(u, []).append(row["price"])
        else:
            series = {c: [row[c] for row in rows] for c in cols if c not in ("date", "timestamp", "time")}
    out: dict[str, NDArray[np.float64]] = {}
    lengths = set()
    for u, vals in series.items():
        if not isinstance(vals, list):
            raise InputError(f"history.{u}", "expected a list of prices")
        try:
            arr = np.array([float(v) for v in vals], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"history.{u}", "prices must be numbers") from None
        bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
        if bad.size:
            raise InputError(f"history.{u}[{int(bad[0])}]", "price must be finite and > 0")
        if arr.size < 3:
            raise InputError(f"history.{u}", "need at least 3 observations")
        lengths.add(arr.size)
        out[u] = arr
    if len(lengths) > 1:
        raise InputError("history", f"underlyings have different lengths {sorted(lengths)}")
    if not out:
        raise InputError("history", "no price series")
    return out


def log_returns(prices: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.diff(np.log(prices)), dtype=np.float64)


__all__ = ["load_history", "load_market", "load_portfolio", "log_returns", "parse_market", "parse_portfolio"]
