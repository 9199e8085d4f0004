"""One portfolio under every venue preset, side by side (``zkmargin compare --venues``).

For each preset (``offchain.risk.margin.presets``; optionally SPAN with a risk-parameter file):
the venue, the model, IM, MM, free collateral (``equity - IM``) and the scenario or position
that binds the requirement. A venue that cannot margin the portfolio (an instrument it does
not list, a collateral asset it does not accept) gets a row with ``im``/``mm`` null and the
reason. :func:`write_outputs` writes ``compare.json``, ``compare.csv`` and ``compare.png`` (IM
and MM bars per venue, the account's equity as a line).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from offchain.risk.account import equity
from offchain.risk.instruments import Portfolio
from offchain.risk.margin import get_model
from offchain.risk.margin.presets import preset_document, preset_model, preset_names
from offchain.risk.market import MarketState
from offchain.validation import write_atomic
from zkmargin.errors import InputError

COLUMNS = ("venue", "preset", "model", "im", "mm", "free_collateral", "binding", "note")


@dataclass
class VenueRow:
    venue: str
    preset: str
    model: str
    im: float | None
    mm: float | None
    free_collateral: float | None
    binding: str
    note: str = ""


def select_venues(spec: str) -> list[str]:
    """``all`` or a comma-separated list of preset names (``InputError`` naming ``--venues``)."""
    names = preset_names()
    if spec.strip() == "all":
        return names
    chosen = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in names]
    if unknown or not chosen:
        raise InputError("--venues", f"unknown preset(s) {unknown or spec!r} (known: all, {', '.join(names)})")
    return chosen


def compare_venues(
    portfolio: Portfolio, market: MarketState, venues: list[str], span_file: str | None = None
) -> tuple[float, list[VenueRow]]:
    """(equity, one row per venue) for ``portfolio`` at ``market``."""
    eq = equity(portfolio, market)
    runs: list[tuple[str, str, str, dict[str, Any]]] = []
    for name in venues:
        runs.append((str(preset_document(name).get("venue", name)), name, preset_model(name), {"preset": name}))
    if span_file is not None:
        runs.append(("CME", "span", "span", {"risk_parameters": span_file}))
    rows = []
    for venue, preset, model_name, cfg in runs:
        model = get_model(model_name, cfg)  # a bad preset or risk-parameter file is an input error
        try:
            res = model.requirement(portfolio, market)
        except InputError as exc:
            rows.append(VenueRow(venue, preset, model_name, None, None, None, "", f"{exc.field}: {exc.problem}"))
            continue
        rows.append(VenueRow(venue, preset, model_name, res.im, res.mm, eq - res.im,
                             str(res.details.get("binding", ""))))
    return eq, rows


def to_json(portfolio_name: str, eq: float, rows: list[VenueRow]) -> dict[str, Any]:
    return {"portfolio": portfolio_name, "equity": eq, "venues": [asdict(r) for r in rows]}


def to_csv(rows: list[VenueRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in asdict(r).values()])
    return buf.getvalue()


def write_png(path: str | os.PathLike[str], portfolio_name: str, eq: float, rows: list[VenueRow]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ok = [r for r in rows if r.im is not None]
    x = np.arange(len(ok))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(ok) + 2), 4.5))
    ax.bar(x - 0.2, [float(r.im or 0.0) for r in ok], width=0.4, label="IM")
    ax.bar(x + 0.2, [float(r.mm or 0.0) for r in ok], width=0.4, label="MM")
    ax.axhline(eq, color="black", linewidth=1, linestyle="--", label=f"equity {eq:,.0f}")
    ax.set_xticks(x, [r.preset for r in ok], rotation=30, ha="right")
    ax.set_ylabel("USD")
    ax.set_title(f"{portfolio_name}: initial and maintenance margin by venue")
    ax.legend()
    fig.tight_layout()
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, p)


def write_outputs(out_dir: str | os.PathLike[str], portfolio_name: str, eq: float, rows: list[VenueRow]) -> list[str]:
    """Write ``compare.json``, ``compare.csv`` and ``compare.png`` into ``out_dir`` (atomically)."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    write_atomic(d / "compare.json", json.dumps(to_json(portfolio_name, eq, rows), indent=2) + "\n")
    write_atomic(d / "compare.csv", to_csv(rows))
    write_png(d / "compare.png", portfolio_name, eq, rows)
    return [str(d / f) for f in ("compare.json", "compare.csv", "compare.png")]
