"""The margin-model interface shared by every model, and helpers they use.

Stable API (used by the simulator and the CLI; see ``docs/risk-engine.md``)::

    model = get_model(name, config)            # offchain.risk.margin.get_model
    result = model.requirement(portfolio, market)
    result.im, result.mm                       # USD, IM >= MM >= 0
    result.details                             # model-specific numbers (JSON-able)
    result.scenario_pnl                        # risk matrix: portfolio PnL per scenario
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from offchain.risk.instruments import Future, Option, Perp, Portfolio
from offchain.risk.market import MarketState
from offchain.risk.valuation import InstrumentTable


class ModelConfig(BaseModel):
    """Base of every model config: unknown keys are an error (typos do not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


C = TypeVar("C", bound=ModelConfig)


@dataclass
class MarginResult:
    """Initial and maintenance margin of one account under one model (USD).

    ``scenario_pnl`` (risk-matrix models) is the portfolio PnL in each scenario after weights
    and static discount, aligned with ``scenarios`` (each a dict ``spot_shock``, ``vol_shock``,
    ``weight``). ``per_position`` lists per-position numbers where the model has them.
    """

    model: str
    im: float
    mm: float
    details: dict[str, Any] = field(default_factory=dict)
    scenario_pnl: list[float] | None = None
    scenarios: list[dict[str, Any]] | None = None
    per_position: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class MarginModel(ABC, Generic[C]):
    """A margin model: ``requirement(portfolio, market) -> MarginResult``."""

    name: ClassVar[str]
    config_cls: ClassVar[type[ModelConfig]]

    def __init__(self, config: C) -> None:
        self.config: C = config

    @abstractmethod
    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        """IM and MM of ``portfolio`` at ``market``."""


@dataclass(frozen=True)
class NetPositions:
    """A portfolio's positions netted per instrument, with the instruments' table."""

    instruments: tuple[Perp | Future | Option, ...]
    table: InstrumentTable
    size: NDArray[np.float64]  # net size per instrument (units of underlying)
    entry_cost: NDArray[np.float64]  # sum(size * entry_price) of linear positions (USD)
    position_index: NDArray[np.int64]  # for each portfolio position, its instrument row


def collateral_charge(
    portfolio: Portfolio, market: MarketState, haircuts: dict[str, float], default: float | None, venue: str
) -> float:
    """A venue's collateral haircut on the account's collateral, as an add-on (USD).

    ``sum_c amount_c * price_c * max(0, h_venue(c) - h_account(c))``: the account's equity already
    counts each holding at ``1 - h_account``, so the effective haircut is the larger of the two.
    ``h_venue`` is ``haircuts[asset]``, else ``default``; ``default = None`` means the venue does
    not accept other assets (``InputError`` naming the holding).
    """
    from offchain.risk.account import collateral_price
    from zkmargin.errors import InputError

    total = 0.0
    for j, c in enumerate(portfolio.collateral):
        h = haircuts.get(c.asset, default)
        if h is None:
            raise InputError(f"collateral[{j}].asset", f"{c.asset} is not accepted as collateral by {venue}")
        total += c.amount * collateral_price(c.asset, market, f"collateral[{j}].asset") * max(0.0, h - c.haircut)
    return total


def net_positions(portfolio: Portfolio, market: MarketState) -> NetPositions:
    """Net the positions of ``portfolio`` per instrument and build the instrument table.

    Only instruments that have a position are priced (an expired but unused listing is not an
    error). Field names in errors point at the portfolio (``positions[k]...``).
    """
    order: list[str] = []
    idx = np.zeros(len(portfolio.positions), dtype=np.int64)
    for k, pos in enumerate(portfolio.positions):
        if pos.instrument not in order:
            order.append(pos.instrument)
        idx[k] = order.index(pos.instrument)
    insts = tuple(portfolio.instrument(s) for s in order)
    first_pos = {s: next(k for k, p in enumerate(portfolio.positions) if p.instrument == s) for s in order}
    try:
        table = InstrumentTable.build(insts, market, prefix="instruments")
    except Exception as exc:  # re-point the error at the position that uses the instrument
        from zkmargin.errors import InputError

        if isinstance(exc, InputError) and exc.field.startswith("instruments["):
            j = int(exc.field[len("instruments[") : exc.field.index("]")])
            rest = exc.field[exc.field.index("]") + 1 :]
            raise InputError(
                f"positions[{first_pos[order[j]]}].instrument{rest}", f"{insts[j].symbol}: {exc.problem}"
            ) from None
        raise
    size = np.zeros(len(order))
    entry = np.zeros(len(order))
    for k, pos in enumerate(portfolio.positions):
        j = int(idx[k])
        size[j] += pos.size
        if not isinstance(insts[j], Option):
            px = pos.entry_price if pos.entry_price is not None else float(table.mark[j])
            entry[j] += pos.size * px
    return NetPositions(instruments=insts, table=table, size=size, entry_cost=entry, position_index=idx)
