"""SPAN risk-parameter files: a documented JSON schema (``zkmargin-span/1``) and CME's standard
text format (pa2 "expanded unpacked", the records that carry what the ``span`` model uses).

JSON schema (every key checked, unknown keys rejected; see ``docs/risk-engine.md``)::

    {"format": "zkmargin-span/1", "exchange": "CME", "business_date": "2024-01-02", "source": "...",
     "combined_commodities": [
       {"code": "BTC",                        # combined commodity
        "underlying": "BTC",                  # portfolio instruments on it without a contract row
                                              # get engine-computed arrays from "scan" (optional)
        "contracts": [                        # exchange-published risk arrays (optional)
          {"instrument": "BTC-29MAR24",        # the portfolio symbol it margins (or "id" + the
           "id": "CME:BTC:FUT:202403",          #  model's instrument_map)
           "kind": "future", "month": "202403", "units_per_contract": 5.0,
           "risk_array": [16 values],           # per 1 long contract, losses positive, SPAN order
           "composite_delta": 1.0}],
        "scan": {"price_scan_range": 0.16, "price_scan_mode": "fraction",   # or "absolute" (price units)
                 "vol_scan_range": 0.1, "vol_scan_mode": "absolute",       # or "relative"
                 "extreme_move_multiplier": 2.0, "extreme_cover_fraction": 0.35,
                 "lookahead_days": 1.0},
        "tiers": [{"tier": 1, "start": "202401", "end": "202403"}],
        "intra_spreads": [{"priority": 1, "charge": 100.0,
                           "legs": [{"tier": 1, "ratio": 1.0, "side": "A"}, {"tier": 2, "ratio": 1.0, "side": "B"}]}],
        "delivery": [{"month": "202401", "charge_spread": 50.0, "charge_outright": 80.0}],
        "short_option_minimum": 25.0, "short_option_minimum_method": "sum",   # or "max"
        "initial_to_maintenance": {"member": 1.0, "hedger": 1.0, "speculator": 1.1}}],
     "inter_spreads": [{"priority": 1, "credit_rate": 0.5,
                        "legs": [{"commodity": "BTC", "ratio": 1.0, "side": "A"},
                                 {"commodity": "ETH", "ratio": 15.0, "side": "B"}]}]}

Scenario order (SPAN standard; CME pa2 Type 81/82): 1 unchanged/vol up, 2 unchanged/vol down,
3-4 up 1/3, 5-6 down 1/3, 7-8 up 2/3, 9-10 down 2/3, 11-12 up 3/3, 13-14 down 3/3 (vol up, down),
15 up extreme, 16 down extreme (covered fraction already applied).

pa2 records read (field positions of CME's "Expanded Unpacked" layout, 1-based, inclusive):
Type 0 (exchange complex ``3-8``, business date ``9-16``, format ``36-37``); Type 2 (combined
commodity ``7-12``, up to six products: code ``23-32`` + 16 per product, type ``33-35``, risk array
decimal locator ``36`` and sign ``37``); Type 3 (combined commodity ``3-8``, four tiers at ``11-66``:
number 2, start 6, end 6 each; initial-to-maintenance ratios member/hedger/speculator ``69-80``,
``9V9(3)``); Type 4 (combined commodity ``3-8``, method code ``9-10``, delivery months at ``13-34`` and
``35-56``: month number 2, month 6, rate per delta consumed by spreads 7, rate per outright delta 7;
short option minimum rate ``63-69``; method ``79``); Type 6 (priority ``6-9``, credit rate ``10-16``
``9(3)V9(4)`` percent, four legs at ``17-88``: exchange 3, required flag 1, combined commodity 6,
delta/spread ratio 7 ``9(3)V9(4)``, side 1); Types 81/82 (commodity ``6-15``, product type ``26-28``,
put/call ``29``, futures month ``30-35``, option month ``39-44``, strike ``48-54``, array values 5 + sign
from ``55``; 82: values 10-16 then composite delta ``97-101`` ``9V9(4)`` and sign ``102``). Tier-to-tier
intracommodity spread records (Type C) are not read: their layout was not available to us.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from offchain.risk.margin.base import ModelConfig
from offchain.validation import load_json, parse_model
from zkmargin.errors import InputError

N_SCENARIOS = 16
FORMAT = "zkmargin-span/1"


class SpanContract(ModelConfig):
    instrument: str | None = None
    id: str | None = None
    kind: Literal["future", "call", "put", "perp"] = "future"
    month: str = Field(default="000000", pattern=r"^\d{6}$")
    units_per_contract: float = Field(default=1.0, gt=0)
    risk_array: list[float] = Field(min_length=N_SCENARIOS, max_length=N_SCENARIOS)
    composite_delta: float

    @model_validator(mode="after")
    def _named(self) -> SpanContract:
        if self.instrument is None and self.id is None:
            raise ValueError("a contract needs an instrument or an id")
        return self


class SpanScan(ModelConfig):
    price_scan_range: float = Field(gt=0)
    price_scan_mode: Literal["fraction", "absolute"] = "fraction"
    vol_scan_range: float = Field(ge=0)
    vol_scan_mode: Literal["absolute", "relative"] = "absolute"
    extreme_move_multiplier: float = Field(default=2.0, ge=0, le=10)
    extreme_cover_fraction: float = Field(default=0.35, ge=0, le=1)
    lookahead_days: float = Field(default=1.0, ge=0, le=30)


class Tier(ModelConfig):
    tier: int = Field(ge=1)
    start: str = Field(pattern=r"^\d{6}$")
    end: str = Field(pattern=r"^\d{6}$")


class IntraLeg(ModelConfig):
    tier: int = Field(ge=1)
    ratio: float = Field(gt=0)
    side: Literal["A", "B"]


class IntraSpread(ModelConfig):
    priority: int = Field(ge=0)
    charge: float = Field(ge=0)
    legs: list[IntraLeg] = Field(min_length=2, max_length=4)


class Delivery(ModelConfig):
    month: str = Field(pattern=r"^\d{6}$")
    charge_spread: float = Field(ge=0)
    charge_outright: float = Field(ge=0)


class Ratios(ModelConfig):
    member: float = Field(default=1.0, ge=1)
    hedger: float = Field(default=1.0, ge=1)
    speculator: float = Field(default=1.0, ge=1)


class CombinedCommodity(ModelConfig):
    code: str = Field(min_length=1)
    underlying: str | None = None
    contracts: list[SpanContract] = Field(default_factory=list)
    scan: SpanScan | None = None
    tiers: list[Tier] = Field(default_factory=list)
    intra_spreads: list[IntraSpread] = Field(default_factory=list)
    delivery: list[Delivery] = Field(default_factory=list)
    short_option_minimum: float = Field(default=0.0, ge=0)
    short_option_minimum_method: Literal["sum", "max"] = "sum"
    initial_to_maintenance: Ratios = Field(default_factory=Ratios)

    @model_validator(mode="after")
    def _tiers(self) -> CombinedCommodity:
        numbers = {t.tier for t in self.tiers}
        for s in self.intra_spreads:
            for leg in s.legs:
                if leg.tier not in numbers:
                    raise ValueError(f"intra spread priority {s.priority}: unknown tier {leg.tier}")
        return self


class InterLeg(ModelConfig):
    commodity: str
    ratio: float = Field(gt=0)
    side: Literal["A", "B"]


class InterSpread(ModelConfig):
    priority: int = Field(ge=0)
    credit_rate: float = Field(ge=0, le=1)
    legs: list[InterLeg] = Field(min_length=2, max_length=4)


class SpanFile(ModelConfig):
    format: Literal["zkmargin-span/1"] = "zkmargin-span/1"
    exchange: str = ""
    business_date: str = ""
    source: str = ""
    combined_commodities: list[CombinedCommodity] = Field(min_length=1)
    inter_spreads: list[InterSpread] = Field(default_factory=list)

    @field_validator("combined_commodities")
    @classmethod
    def _unique(cls, v: list[CombinedCommodity]) -> list[CombinedCommodity]:
        codes = [c.code for c in v]
        if len(set(codes)) != len(codes):
            raise ValueError("combined commodity codes must be unique")
        return v

    @model_validator(mode="after")
    def _inter_legs(self) -> SpanFile:
        codes = {c.code for c in self.combined_commodities}
        for s in self.inter_spreads:
            for leg in s.legs:
                if leg.commodity not in codes:
                    raise ValueError(f"inter spread priority {s.priority}: unknown combined commodity {leg.commodity!r}")
        return self


def load_span_file(path: str | os.PathLike[str], field: str = "config.risk_parameters") -> SpanFile:
    """A risk-parameter file: JSON (``zkmargin-span/1``) or CME pa2 text (by content)."""
    p = Path(path)
    try:
        head = p.read_bytes()[:1]
    except FileNotFoundError:
        raise InputError(field, f"file not found: {p}") from None
    except OSError as exc:
        raise InputError(field, f"cannot read {p}: {exc.strerror}") from None
    if head in (b"{", b" ", b"\n") and p.suffix.lower() != ".pa2":
        return parse_span(load_json(p, field=field), field)
    return parse_pa2(p.read_text(encoding="latin-1"), field)


def parse_span(data: Any, field: str = "risk_parameters") -> SpanFile:
    if not isinstance(data, dict):
        raise InputError(field, "expected a JSON object")
    return parse_model(SpanFile, data, prefix=field)


# ------------------------------------------------------------------------------- pa2
def _f(line: str, start: int, end: int) -> str:
    return line[start - 1 : end]


def _num(line: str, start: int, end: int, decimals: int = 0, field: str = "pa2", lineno: int = 0) -> float:
    text = _f(line, start, end).strip()
    if not text:
        return 0.0
    if not text.isdigit():
        raise InputError(field, f"line {lineno}: columns {start}-{end} must be digits, got {text!r}")
    return float(int(text)) / float(10**decimals)


def _signed(line: str, start: int, width: int, decimals: int, field: str, lineno: int) -> float:
    v = _num(line, start, start + width - 1, decimals, field, lineno)
    return -v if _f(line, start + width, start + width) == "-" else v


def parse_pa2(text: str, field: str = "risk_parameters") -> SpanFile:
    """The records of a pa2 file this engine uses, as a :class:`SpanFile` (contracts get ids
    ``EXCH:COMMODITY:TYPE:FUTMONTH[:OPTMONTH:C|P:STRIKE]`` for the model's ``instrument_map``)."""
    exchange = date = ""
    commodities: dict[str, dict[str, Any]] = {}
    product_cc: dict[tuple[str, str], tuple[str, int]] = {}  # (commodity, type) -> (cc, decimals)
    arrays: dict[str, dict[str, Any]] = {}
    inter: list[dict[str, Any]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        rid = line[:2]
        if rid == "0 ":
            exchange, date = _f(line, 3, 8).strip(), _f(line, 9, 16).strip()
        elif rid == "2 ":
            cc = _f(line, 7, 12).strip()
            commodities.setdefault(cc, {"code": cc})
            for k in range(6):
                base = 23 + 16 * k
                code, ptype = _f(line, base, base + 9).strip(), _f(line, base + 10, base + 12).strip()
                if code:
                    dec = int(_num(line, base + 13, base + 13, 0, field, n))
                    if _f(line, base + 14, base + 14) == "-":
                        dec = -dec
                    product_cc[(code, ptype)] = (cc, dec)
        elif rid == "3 ":
            rec = commodities.setdefault(_f(line, 3, 8).strip(), {"code": _f(line, 3, 8).strip()})
            tiers = []
            for k in range(4):
                base = 11 + 14 * k
                num = int(_num(line, base, base + 1, 0, field, n))
                if num:
                    tiers.append({"tier": num, "start": _f(line, base + 2, base + 7), "end": _f(line, base + 8, base + 13)})
            rec["tiers"] = tiers
            ratios = [_num(line, s, s + 3, 3, field, n) for s in (69, 73, 77)]
            rec["initial_to_maintenance"] = {k: (v if v >= 1 else 1.0) for k, v in zip(("member", "hedger", "speculator"), ratios)}
        elif rid == "4 ":
            rec = commodities.setdefault(_f(line, 3, 8).strip(), {"code": _f(line, 3, 8).strip()})
            if _f(line, 9, 10).strip() in ("10", "02", "03", "04", "05", "06", "07", "08"):
                dl = []
                for base in (13, 35):
                    month = _f(line, base + 2, base + 7).strip()
                    if month:
                        dl.append({"month": month, "charge_spread": _num(line, base + 8, base + 14, 0, field, n),
                                   "charge_outright": _num(line, base + 15, base + 21, 0, field, n)})
                rec["delivery"] = dl
            rec["short_option_minimum"] = _num(line, 63, 69, 0, field, n)
            rec["short_option_minimum_method"] = "max" if _f(line, 79, 79) == "1" else "sum"
        elif rid == "6 ":
            legs = []
            for k in range(4):
                base = 17 + 18 * k
                code = _f(line, base + 4, base + 9).strip()
                if code:
                    legs.append({"commodity": code, "ratio": _num(line, base + 10, base + 16, 4, field, n),
                                 "side": _f(line, base + 17, base + 17) or "A"})
            inter.append({"priority": int(_num(line, 6, 9, 0, field, n)),
                          "credit_rate": _num(line, 10, 16, 4, field, n) / 100.0, "legs": legs})
        elif rid in ("81", "82"):
            code, ptype, right = _f(line, 6, 15).strip(), _f(line, 26, 28).strip(), _f(line, 29, 29).strip()
            fut_m, opt_m, strike = _f(line, 30, 35).strip(), _f(line, 39, 44).strip(), _f(line, 48, 54).strip()
            cid = f"{exchange}:{code}:{ptype}:{fut_m}" + (f":{opt_m}:{right}:{int(strike or 0)}" if right else "")
            if (code, ptype) not in product_cc:
                raise InputError(field, f"line {n}: product {code} {ptype} has no Type 2 combined commodity record")
            cc, dec = product_cc[(code, ptype)]
            row = arrays.setdefault(cid, {"id": cid, "cc": cc, "kind": {"C": "call", "P": "put"}.get(right, "future"),
                                          "month": fut_m or "000000", "risk_array": [0.0] * N_SCENARIOS,
                                          "composite_delta": 0.0})
            first = 0 if rid == "81" else 9
            count = 9 if rid == "81" else 7
            for k in range(count):
                row["risk_array"][first + k] = _signed(line, 55 + 6 * k, 5, 0, field, n) / 10**dec
            if rid == "82":
                row["composite_delta"] = _signed(line, 97, 5, 4, field, n)
    if not commodities:
        raise InputError(field, "no combined commodity (Type 2) records: not a pa2 file?")
    for row in arrays.values():
        commodities[row.pop("cc")].setdefault("contracts", []).append(row)
    return parse_span({"format": FORMAT, "exchange": exchange, "business_date": date, "source": "pa2",
                       "combined_commodities": list(commodities.values()), "inter_spreads": inter}, field)
