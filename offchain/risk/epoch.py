"""Risk-epoch export: the integer artefact (``epoch.json``) the prover and contracts consume.

Normative format and quantization: ``docs/ARCHITECTURE.md`` ("Risk epoch artefact"). From the
risk-matrix engine's floats (USD per unit of underlying), per listed instrument ``i`` with lot
size ``lot_i`` and ``VALUE_SCALE = 10**value_decimals`` base units per USD:

    mark_i      = value per unit * lot_i * VALUE_SCALE            ->  m_i    = round_half_even(mark_i)
    pnl_i_s     = weighted scenario PnL per unit * lot_i * SCALE  ->  L[i][s] = round_half_even(pnl_i_s)
    addon_i     = contingency per unit * lot_i * SCALE            ->  a_i    = ceil(addon_i) + 1
    im_factor_bps = ceil(im_factor * 10000)                       (rounded against the account)

The scenarios are the preset's grid applied jointly to every underlying (extreme moves already
multiplied by their weight in ``L``). Only the linear form of the risk matrix can be exported. Netted contingencies (Deribit's
per-strike option contingency and its futures contingency on offsetting futures, Derive's per
net short) are exported per position on ``|q|``: each netted charge is at most that, so the
exported requirement is an upper bound (conservative). A preset with ``static_discount < 1`` or
a ``short_option_minimum`` raises ``ConfigError`` unless ``linearize=True``, which drops those
two terms. Either way the artefact records ``"linearized": true`` when it is not the preset's
exact requirement.

Consequence (proved in docs/risk-engine.md): for any positions ``q`` (lots), with the float
engine's excess ``E_f`` and the statement's integer excess ``E_i`` (both in base units),
``E_i <= E_f`` and ``E_f - E_i < 3 * sum_i |q_i|`` for MM; for IM (both scaled by 10000)
``E_f - E_i < (5000 + 2.5 f) * sum_i |q_i|``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from offchain.risk.instruments import Future, Option, Perp, Portfolio
from offchain.risk.margin.risk_matrix import (
    RiskMatrixConfig,
    contingency_per_unit,
    preset_config,
    scenario_pnl_matrix,
)
from offchain.risk.market import MarketState
from offchain.risk.valuation import InstrumentTable
from offchain.validation import write_atomic
from prover.statement import (
    BPS,
    EPOCH_VALUE_BITS,
    IM_FACTOR_BITS,
    KIND_MM,
    MAX_INSTRUMENTS,
    MAX_SCENARIOS,
    Epoch,
    Figures,
)
from zkmargin.errors import ConfigError, InputError, ZkMarginError

EPOCH_VERSION = 1
VALUE_DECIMALS = 6
EPOCH_VALUE_LIMIT = 1 << EPOCH_VALUE_BITS  # |m|, |L|, a < 2^64
IM_FACTOR_BPS_LIMIT = 1 << IM_FACTOR_BITS


class EpochError(ZkMarginError):
    """The epoch cannot be exported (bounds exceeded)."""


def round_half_even(x: float) -> int:
    """Round to the nearest integer, ties to even (Python's ``round`` on floats)."""
    if not math.isfinite(x):
        raise EpochError(f"cannot quantize non-finite value {x}")
    return round(x)


def _lot_str(lot: float) -> str:
    return format(lot, ".12g")


def instrument_json(inst: Perp | Future | Option) -> dict[str, Any]:
    d: dict[str, Any] = {"symbol": inst.symbol, "kind": inst.kind, "underlying": inst.underlying,
                         "lot_size": _lot_str(inst.lot_size)}
    if isinstance(inst, (Future, Option)):
        d["expiry"] = inst.expiry
    if isinstance(inst, Option):
        d["strike"] = inst.strike
        d["option_type"] = inst.option_type
    return d


@dataclass(frozen=True)
class RiskEpoch:
    """The epoch artefact (integers as Python ints) plus the floats it was quantized from."""

    epoch_id: int
    oracle_round: int
    timestamp: int
    im_factor_bps: int
    instruments: tuple[Perp | Future | Option, ...]
    scenarios: tuple[dict[str, Any], ...]
    marks: tuple[int, ...]
    scenario_pnl: tuple[tuple[int, ...], ...]  # [i][s]
    addons: tuple[int, ...]
    digest: int
    preset: str
    linearized: bool
    value_decimals: int = VALUE_DECIMALS

    @property
    def n(self) -> int:
        return len(self.marks)

    @property
    def s(self) -> int:
        return len(self.scenario_pnl[0])

    def statement(self) -> Epoch:
        """The statement's view of this epoch (what the digest hashes, what the circuit proves)."""
        return Epoch.create(self.epoch_id, self.im_factor_bps, self.marks, self.scenario_pnl, self.addons)

    def figures(self, q: Sequence[int], cash: int, collateral: int = 0, kind: int = KIND_MM) -> Figures:
        """The statement's integer figures (``prover.statement.solvency_figures``) in this epoch."""
        if len(q) != self.n:
            raise InputError("q", f"has {len(q)} entries, the epoch has {self.n} instruments")
        return self.statement().figures(kind, [int(x) for x in q], int(cash), int(collateral))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version": EPOCH_VERSION,
            "epoch_id": self.epoch_id,
            "oracle_round": self.oracle_round,
            "timestamp": self.timestamp,
            "value_decimals": self.value_decimals,
            "im_factor_bps": self.im_factor_bps,
            "preset": self.preset,
            "linearized": self.linearized,
            "instruments": [instrument_json(i) for i in self.instruments],
            "scenarios": list(self.scenarios),
            "marks": list(self.marks),
            "scenario_pnl": [list(r) for r in self.scenario_pnl],
            "addons": list(self.addons),
            "digest": str(self.digest),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), indent=1) + "\n"

    def write(self, path: str) -> None:
        """Write ``epoch.json`` atomically."""
        write_atomic(path, self.to_json())


def _digest(epoch_id: int, f: int, m: Sequence[int], L: Sequence[Sequence[int]], a: Sequence[int]) -> int:
    from prover.statement import epoch_digest

    return int(epoch_digest(epoch_id, f, list(m), [list(r) for r in L], list(a)))


def build_epoch(
    market: MarketState,
    instruments: Sequence[Perp | Future | Option],
    config: RiskMatrixConfig | str = "deribit_pm",
    *,
    epoch_id: int,
    oracle_round: int = 0,
    timestamp: int | None = None,
    linearize: bool = False,
) -> RiskEpoch:
    """Build the epoch artefact for the listed ``instruments`` at ``market`` (module docstring)."""
    cfg = preset_config(config) if isinstance(config, str) else config
    if not cfg.linear:
        if not linearize and (cfg.static_discount != 1.0 or cfg.short_option_minimum != 0.0):
            field = "config.static_discount" if cfg.static_discount != 1.0 else "config.short_option_minimum"
            raise ConfigError(field, "not expressible in the epoch's linear statement (use linearize=True)")
        cfg = cfg.linearized()
    if isinstance(epoch_id, bool) or not isinstance(epoch_id, int) or not 1 <= epoch_id < (1 << 64):
        raise InputError("epoch_id", "must be an integer in [1, 2^64)")
    if not isinstance(oracle_round, int) or oracle_round < 0:
        raise InputError("oracle_round", "must be an integer >= 0")
    if not instruments:
        raise InputError("instruments", "no listed instruments")
    if len(instruments) > MAX_INSTRUMENTS:
        raise InputError("instruments", f"at most {MAX_INSTRUMENTS} instruments per epoch")
    symbols = [i.symbol for i in instruments]
    if len(set(symbols)) != len(symbols):
        raise InputError("instruments", "duplicate symbols")
    table = InstrumentTable.build(instruments, market, prefix="instruments")
    scen, pnl = scenario_pnl_matrix(cfg, table)  # (S, n) per unit
    if scen.size > MAX_SCENARIOS:
        raise ConfigError("config.price_steps", f"{scen.size} scenarios exceed the epoch limit {MAX_SCENARIOS}")
    addon = contingency_per_unit(cfg, table)
    scale = np.array([i.lot_size for i in instruments]) * 10**VALUE_DECIMALS
    m = tuple(round_half_even(x) for x in table.mark * scale)
    L = tuple(tuple(round_half_even(x) for x in pnl[:, i] * scale[i]) for i in range(table.n))
    a = tuple(math.ceil(x) + 1 for x in addon * scale)
    for name, vals in (("marks", m), ("addons", a)):
        if any(abs(v) >= EPOCH_VALUE_LIMIT for v in vals):
            raise EpochError(f"{name} exceed 2^64 base units; use a smaller lot_size")
    if any(abs(v) >= EPOCH_VALUE_LIMIT for row in L for v in row):
        raise EpochError("scenario_pnl exceeds 2^64 base units; use a smaller lot_size")
    f = math.ceil(round(cfg.im_factor * BPS, 9))
    if not BPS <= f < IM_FACTOR_BPS_LIMIT:
        raise ConfigError("config.im_factor", f"im_factor_bps {f} outside [10000, 65536)")
    return RiskEpoch(
        epoch_id=epoch_id,
        oracle_round=oracle_round,
        timestamp=market.timestamp if timestamp is None else int(timestamp),
        im_factor_bps=f,
        instruments=tuple(instruments),
        scenarios=tuple(scen.metadata()),
        marks=m,
        scenario_pnl=L,
        addons=a,
        digest=_digest(epoch_id, f, m, L, a),
        preset=cfg.preset or cfg.name,
        linearized=not (config if isinstance(config, RiskMatrixConfig) else preset_config(config)).linear,
    )


def load_epoch(path: str) -> RiskEpoch:
    """Read an ``epoch.json`` back (the digest is recomputed and must match)."""
    from pydantic import BaseModel

    from offchain.risk.instruments import Instrument
    from offchain.validation import load_json, parse_model

    data = load_json(path, field="epoch")
    if not isinstance(data, dict):
        raise InputError("epoch", "expected a JSON object")
    if data.get("version") != EPOCH_VERSION:
        raise InputError("epoch.version", f"unsupported version {data.get('version')!r}")

    class _Listing(BaseModel):
        instruments: list[Instrument]

    try:
        raw = [{**i, "lot_size": float(i["lot_size"])} for i in data["instruments"]]
        insts = parse_model(_Listing, {"instruments": raw}, prefix="epoch").instruments
        marks = tuple(int(x) for x in data["marks"])
        pnl = tuple(tuple(int(x) for x in row) for row in data["scenario_pnl"])
        addons = tuple(int(x) for x in data["addons"])
        epoch_id, f = int(data["epoch_id"]), int(data["im_factor_bps"])
        digest = int(data["digest"])
    except KeyError as exc:
        raise InputError(f"epoch.{exc.args[0]}", "missing") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("epoch", f"malformed: {exc}") from None
    if len(insts) != len(marks) or len(pnl) != len(marks) or len(addons) != len(marks):
        raise InputError("epoch.marks", "instruments, marks, scenario_pnl and addons differ in length")
    if digest != _digest(epoch_id, f, marks, pnl, addons):
        raise InputError("epoch.digest", "does not match the sponge of the epoch data")
    return RiskEpoch(
        epoch_id=epoch_id, oracle_round=int(data.get("oracle_round", 0)), timestamp=int(data.get("timestamp", 0)),
        im_factor_bps=f, instruments=tuple(insts), scenarios=tuple(data.get("scenarios", [])), marks=marks,
        scenario_pnl=pnl, addons=addons, digest=digest, preset=str(data.get("preset", "")),
        linearized=bool(data.get("linearized", False)), value_decimals=int(data.get("value_decimals", VALUE_DECIMALS)),
    )


def integer_requirement(epoch: RiskEpoch, q: Sequence[int], kind: int = KIND_MM) -> int:
    """``max(0, max_s -sum_i q_i L[i][s]) + sum_i |q_i| a_i`` in base units (times f/10000
    rounded up for IM): ``prover.statement.Epoch.requirement``."""
    if len(q) != epoch.n:
        raise InputError("q", f"has {len(q)} entries, the epoch has {epoch.n} instruments")
    return epoch.statement().requirement([int(x) for x in q], kind)


def portfolio_lots(portfolio: Portfolio, epoch: RiskEpoch) -> list[int]:
    """Positions of ``portfolio`` as integer lots over the epoch's instrument list."""
    index = {inst.symbol: i for i, inst in enumerate(epoch.instruments)}
    q = [0] * epoch.n
    for k, pos in enumerate(portfolio.positions):
        if pos.instrument not in index:
            raise InputError(f"positions[{k}].instrument", f"{pos.instrument!r} is not listed in the epoch")
        lot = epoch.instruments[index[pos.instrument]].lot_size
        lots = pos.size / lot
        if abs(lots - round(lots)) > 1e-9 * max(1.0, abs(lots)):
            raise InputError(f"positions[{k}].size", f"{pos.size} is not a whole number of lots of {lot}")
        q[index[pos.instrument]] += round(lots)
    return q
