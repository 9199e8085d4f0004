"""SPAN fed by a risk-parameter file (``offchain.risk.span_file``: JSON ``zkmargin-span/1`` or
CME pa2), with the charges the file carries.

Per combined commodity ``cc`` (CME "SPAN methodology"; CME pa2 record layouts):

* **Scan risk**: the positions' risk arrays (16 scenarios, per long contract, loss positive;
  ``n`` contracts = size / ``units_per_contract``) summed, ``scan = max(0, max_s R_s)``; the
  largest is the *active* scenario. Contracts without a published array get one computed by the
  engine from the file's ``scan`` parameters: price moves ``0, +/-1/3, 2/3, 3/3`` of the price
  scan range with the vol up/down by the volatility scan range, and ``+/- multiplier x PSR``
  (vol unchanged) times the covered fraction, revalued with Black-76 after the look-ahead time
  (time decay); the composite delta is then the Black-76 delta after the look-ahead.
* **Time / volatility / price risk**: time risk ``(R_1 + R_2) / 2``; for the active scenario and
  its pair (same price move, opposite vol) volatility risk ``|R_a - R_pair| / 2``; price risk
  ``scan - time - volatility``; weighted futures price risk ``WFPR = price risk / |net delta|``.
* **Intracommodity spread charge**: composite deltas ``n * delta`` summed per tier (contract
  months in ``[start, end]``; perps are month ``000000``); spreads formed in priority order where
  the legs' deltas have the required sides (A legs one sign, B legs the other):
  ``k = min_legs |delta_tier| / ratio``, charge ``k * charge``, deltas reduced by ``k * ratio``.
* **Delivery (spot) month charge**: for each delivery month, ``charge_spread`` per delta consumed
  by spreads and ``charge_outright`` per delta left (a tier's consumption shared among its months
  in proportion to their deltas).
* **Intercommodity spread credit** (after intracommodity spreading, on each ``cc``'s remaining net
  delta, priority order): ``k = min_legs |delta_cc| / ratio``, credit
  ``sum_legs k * ratio * WFPR_cc * credit_rate``.
* **Short option minimum**: ``rate * (short calls + short puts)`` (method ``sum``) or
  ``rate * max(short calls, short puts)`` (``max``), in contracts.
* ``risk_cc = max(scan + intra + delivery - inter credit, short option minimum)``;
  ``MM = sum_cc risk_cc``, ``IM = sum_cc risk_cc * initial_to_maintenance[account_type]``.

The requirement is compared with the equity including option values (SPAN's net option value).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from offchain.risk.instruments import Future, Option, Perp, Portfolio
from offchain.risk.margin.base import MarginModel, MarginResult, ModelConfig
from offchain.risk.margin.presets import merge_preset
from offchain.risk.market import MarketState
from offchain.risk.pricing.black76 import black76_greeks, black76_price
from offchain.risk.span_file import (
    N_SCENARIOS,
    CombinedCommodity,
    SpanFile,
    SpanScan,
    load_span_file,
    parse_span,
)
from zkmargin.errors import InputError

FloatArray = NDArray[np.float64]
#: SPAN scenario table: (price move in units of the scan range, vol move, paired scenario index)
SCENARIOS: tuple[tuple[float, int, int | None], ...] = (
    (0.0, 1, 1), (0.0, -1, 0), (1 / 3, 1, 3), (1 / 3, -1, 2), (-1 / 3, 1, 5), (-1 / 3, -1, 4),
    (2 / 3, 1, 7), (2 / 3, -1, 6), (-2 / 3, 1, 9), (-2 / 3, -1, 8), (1.0, 1, 11), (1.0, -1, 10),
    (-1.0, 1, 13), (-1.0, -1, 12), (2.0, 0, None), (-2.0, 0, None),
)
LABELS = ("unchanged, vol up", "unchanged, vol down", "up 1/3, vol up", "up 1/3, vol down", "down 1/3, vol up",
          "down 1/3, vol down", "up 2/3, vol up", "up 2/3, vol down", "down 2/3, vol up", "down 2/3, vol down",
          "up 3/3, vol up", "up 3/3, vol down", "down 3/3, vol up", "down 3/3, vol down", "up extreme",
          "down extreme")


class InstrumentLink(ModelConfig):
    contract: str
    units_per_contract: float | None = Field(default=None, gt=0)


class SpanConfig(ModelConfig):
    """``risk_parameters``: a file path (JSON or pa2) or the JSON object itself."""

    preset: str | None = None
    name: str = "custom"
    risk_parameters: str | dict[str, Any]
    account_type: Literal["member", "hedger", "speculator"] = "speculator"
    instrument_map: dict[str, InstrumentLink] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        return merge_preset(data, "span")


class SpanMargin(MarginModel[SpanConfig]):
    """SPAN with a risk-parameter file (module docstring)."""

    name = "span"
    config_cls = SpanConfig

    def __init__(self, config: SpanConfig) -> None:
        super().__init__(config)
        rp = config.risk_parameters
        self.file: SpanFile = (load_span_file(rp) if isinstance(rp, str)
                               else parse_span(rp, "config.risk_parameters"))
        self.by_symbol: dict[str, tuple[CombinedCommodity, int]] = {}
        self.by_id: dict[str, tuple[CombinedCommodity, int]] = {}
        for cc in self.file.combined_commodities:
            for k, c in enumerate(cc.contracts):
                if c.instrument:
                    self.by_symbol[c.instrument] = (cc, k)
                if c.id:
                    self.by_id[c.id] = (cc, k)
        for sym, link in config.instrument_map.items():
            if link.contract not in self.by_id:
                raise InputError(f"config.instrument_map.{sym}.contract", f"no contract {link.contract!r} in the file")
        self.by_underlying = {cc.underlying: cc for cc in self.file.combined_commodities if cc.underlying and cc.scan}

    # --------------------------------------------------------------------- contracts
    def _contract(
        self, inst: Perp | Future | Option, market: MarketState, fld: str
    ) -> tuple[CombinedCommodity, str, float, FloatArray, float, str]:
        """(cc, month, units per contract, risk array per contract, composite delta, kind)."""
        link = self.config.instrument_map.get(inst.symbol)
        hit = self.by_id[link.contract] if link else self.by_symbol.get(inst.symbol)
        if hit is not None:
            cc, k = hit
            c = cc.contracts[k]
            units = link.units_per_contract if link and link.units_per_contract else c.units_per_contract
            return cc, c.month, units, np.array(c.risk_array), c.composite_delta, c.kind
        cc2 = self.by_underlying.get(inst.underlying)
        if cc2 is None or cc2.scan is None:
            raise InputError(fld, f"{inst.symbol} is not in the SPAN risk-parameter file (no contract and no scan "
                                  f"parameters for underlying {inst.underlying})")
        arr, delta = computed_array(inst, market, cc2.scan, fld)
        kind = inst.option_type if isinstance(inst, Option) else ("perp" if isinstance(inst, Perp) else "future")
        month = "000000" if isinstance(inst, Perp) else datetime.fromtimestamp(inst.expiry, UTC).strftime("%Y%m")
        return cc2, month, 1.0, arr, delta, kind

    def requirement(self, portfolio: Portfolio, market: MarketState) -> MarginResult:
        net: dict[str, float] = defaultdict(float)
        first: dict[str, int] = {}
        for k, pos in enumerate(portfolio.positions):
            net[pos.instrument] += pos.size
            first.setdefault(pos.instrument, k)
        per_cc: dict[str, dict[str, Any]] = {}
        for sym, q in net.items():
            if q == 0:
                continue
            inst = portfolio.instrument(sym)
            fld = f"positions[{first[sym]}].instrument"
            cc, month, units, arr, delta, kind = self._contract(inst, market, fld)
            n = q / units
            st = per_cc.setdefault(cc.code, {"cc": cc, "risk": np.zeros(N_SCENARIOS), "month_delta": defaultdict(float),
                                             "short_calls": 0.0, "short_puts": 0.0})
            st["risk"] += n * arr
            st["month_delta"][month] += n * delta
            if kind == "call" and n < 0:
                st["short_calls"] += -n
            if kind == "put" and n < 0:
                st["short_puts"] += -n
        rows = {code: commodity_charges(st) for code, st in per_cc.items()}
        inter_credits(self.file, rows)
        mm = im = 0.0
        ratio_key = self.config.account_type
        for r in rows.values():
            r["risk"] = max(r["scan_risk"] + r["intra_charge"] + r["delivery_charge"] - r["inter_credit"],
                            r["short_option_minimum"])
            mm += r["risk"]
            im += r["risk"] * getattr(r.pop("ratios"), ratio_key)
        worst = max(rows.values(), key=lambda r: r["scan_risk"], default=None)
        binding = "none" if worst is None or worst["scan_risk"] <= 0 else f"{worst['code']}: {worst['active']}"
        return MarginResult(model=self.name, im=im, mm=mm,
                            details={"preset": self.config.preset or self.config.name, "binding": binding,
                                     "account_type": ratio_key, "combined_commodities": rows})


def commodity_charges(st: dict[str, Any]) -> dict[str, Any]:
    """Scan, time/vol/price risk, intracommodity and delivery charges, short option minimum."""
    cc: CombinedCommodity = st["cc"]
    risk: FloatArray = st["risk"]
    a = int(np.argmax(risk))
    scan = max(0.0, float(risk[a]))
    time_risk = float(risk[0] + risk[1]) / 2.0
    pair = SCENARIOS[a][2]
    vol_risk = abs(float(risk[a] - risk[pair])) / 2.0 if pair is not None and scan > 0 else 0.0
    price_risk = max(0.0, scan - time_risk - vol_risk) if scan > 0 else 0.0
    month_delta: dict[str, float] = dict(st["month_delta"])
    net_delta = sum(month_delta.values())
    # tiers: every month in [start, end]; months outside any tier form no intracommodity spread
    tier_of = {m: next((t.tier for t in cc.tiers if t.start <= m <= t.end), None) for m in month_delta}
    tier_delta: dict[int, float] = defaultdict(float)
    for m, d in month_delta.items():
        if tier_of[m] is not None:
            tier_delta[int(tier_of[m])] += d  # type: ignore[arg-type]
    original = dict(tier_delta)
    intra = 0.0
    for spread in sorted(cc.intra_spreads, key=lambda s: s.priority):
        k = _spreads(spread.legs, lambda leg: tier_delta[leg.tier])
        if k > 0:
            intra += k * spread.charge
            for leg, sign in _signs(spread.legs, lambda leg: tier_delta[leg.tier]):
                tier_delta[leg.tier] -= sign * k * leg.ratio
    delivery = 0.0
    for dm in cc.delivery:
        d = abs(month_delta.get(dm.month, 0.0))
        if d == 0:
            continue
        t = tier_of.get(dm.month)
        kept = abs(tier_delta[t]) / abs(original[t]) if t is not None and original[t] != 0 else 1.0
        remaining = d * min(1.0, kept)
        delivery += (d - remaining) * dm.charge_spread + remaining * dm.charge_outright
    n_short = (st["short_calls"] + st["short_puts"] if cc.short_option_minimum_method == "sum"
               else max(st["short_calls"], st["short_puts"]))
    remaining_delta = sum(tier_delta.values()) + sum(d for m, d in month_delta.items() if tier_of[m] is None)
    return {"code": cc.code, "scan_risk": scan, "active_scenario": a + 1, "active": LABELS[a],
            "risk_array": [float(x) for x in risk], "time_risk": time_risk, "volatility_risk": vol_risk,
            "price_risk": price_risk, "net_delta": net_delta, "remaining_delta": remaining_delta,
            "wfpr": price_risk / abs(net_delta) if net_delta != 0 else 0.0,
            "intra_charge": intra, "delivery_charge": delivery, "inter_credit": 0.0,
            "short_option_minimum": cc.short_option_minimum * n_short, "ratios": cc.initial_to_maintenance}


def _signs(legs: Any, delta: Any) -> list[tuple[Any, float]]:
    """Each leg with the sign its delta must have for the spread (``A`` legs share the sign of
    the first leg's delta, ``B`` legs the opposite one)."""
    s0 = float(np.sign(delta(legs[0])))
    first_side = legs[0].side
    return [(leg, s0 if leg.side == first_side else -s0) for leg in legs]


def _spreads(legs: Any, delta: Any) -> float:
    """Number of spreads the legs' deltas form (0 unless every leg has its required sign)."""
    if delta(legs[0]) == 0:
        return 0.0
    signed = _signs(legs, delta)
    if any(np.sign(delta(leg)) != sign for leg, sign in signed):
        return 0.0
    return float(min(abs(delta(leg)) / leg.ratio for leg in legs))


def inter_credits(file: SpanFile, rows: dict[str, dict[str, Any]]) -> None:
    """Intercommodity spread credits on the remaining net deltas, in priority order (in place)."""
    remaining = {code: r["remaining_delta"] for code, r in rows.items()}
    for spread in sorted(file.inter_spreads, key=lambda s: s.priority):
        if any(leg.commodity not in rows for leg in spread.legs):
            continue
        k = _spreads(spread.legs, lambda leg: remaining[leg.commodity])
        if k <= 0:
            continue
        for leg, sign in _signs(spread.legs, lambda leg: remaining[leg.commodity]):
            remaining[leg.commodity] -= sign * k * leg.ratio
            rows[leg.commodity]["inter_credit"] += k * leg.ratio * rows[leg.commodity]["wfpr"] * spread.credit_rate


def computed_array(inst: Perp | Future | Option, market: MarketState, scan: SpanScan, fld: str) -> tuple[FloatArray, float]:
    """The 16-scenario risk array per unit (loss positive) and the composite delta, by full
    revaluation after the look-ahead (module docstring)."""
    look = scan.lookahead_days / 365.0
    if isinstance(inst, Option):
        f0 = market.forward(inst.underlying, inst.expiry, fld)
        t0 = market.time_to_expiry(inst.expiry, fld)
        vol = market.option_vol(inst, fld)
        rate = market.rate_for(inst.underlying, inst.expiry)
        v0 = float(black76_price(f0, inst.strike, vol, t0, rate, inst.is_call))
        psr = scan.price_scan_range * f0 if scan.price_scan_mode == "fraction" else scan.price_scan_range
        vsr = scan.vol_scan_range * vol if scan.vol_scan_mode == "relative" else scan.vol_scan_range
        t1 = t0 - look
        out = np.zeros(N_SCENARIOS)
        for s, (move, dv, _) in enumerate(SCENARIOS):
            cover = scan.extreme_cover_fraction if s >= 14 else 1.0
            mult = scan.extreme_move_multiplier if s >= 14 else 1.0
            f1 = max(f0 + np.sign(move) * mult * psr if s >= 14 else f0 + move * psr, 1e-9)
            v1 = _value_after(f1, inst.strike, max(vol + dv * vsr, 1e-4), t1, rate, inst.is_call)
            out[s] = -(v1 - v0) * cover
        delta = (float(black76_greeks(f0, inst.strike, vol, t1, rate, inst.is_call).delta) if t1 > 0
                 else float(inst.is_call and f0 > inst.strike) - float((not inst.is_call) and f0 < inst.strike))
        return out, delta
    price = market.mark(inst, fld)
    psr = scan.price_scan_range * price if scan.price_scan_mode == "fraction" else scan.price_scan_range
    out = np.array([-(scan.extreme_cover_fraction * np.sign(m) * scan.extreme_move_multiplier * psr) if s >= 14
                    else -(m * psr) for s, (m, _, _) in enumerate(SCENARIOS)])
    return out, 1.0


def _value_after(f: float, k: float, vol: float, t: float, rate: float, is_call: bool) -> float:
    if t <= 0:  # the look-ahead reaches expiry: intrinsic value
        return max(f - k, 0.0) if is_call else max(k - f, 0.0)
    return float(black76_price(f, k, vol, t, rate, is_call))
