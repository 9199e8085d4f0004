"""The devnet's listed instruments and risk grid (n = 8 instruments x S = 15 scenarios).

Eight instruments on BTC and ETH, listed relative to a reference time and spot: per underlying a
perp, a quarterly-style future and an out-of-the-money put; a 10% out-of-the-money call on BTC;
and on ETH an **everlasting (perpetual) call** struck at the money (no expiry: its long pays the
short ``mark - payoff`` per day, White & Bankman-Fried 2021; ``offchain.trading.funding``). It
takes the place the ETH call had (n stays 8, so the committed verifiers still apply). A Deribit-style risk
matrix cut to 15 joint scenarios (7 spot buckets over +/-16% BTC, +/-20% ETH, x vol up/down, plus
one -50% extreme move counted at 33%), so the margin circuit is the committed
``SolvencyVerifierN8S15``.
"""

from __future__ import annotations

from typing import Any

from offchain.risk.instruments import EverlastingOption, Future, Option, Perp
from offchain.risk.margin.risk_matrix import RiskMatrixConfig, preset_config
from zkmargin.errors import InputError

DAY_SECONDS = 86_400
LOT_SIZE = {"BTC": 0.001, "ETH": 0.01}
FUTURE_DAYS = 90
OPTION_DAYS = 30
OTM_FRACTION = 0.10  # strikes 10% out of the money at listing
EVERLASTING_FUNDING_PERIOD_SECONDS = DAY_SECONDS  # the everlasting call pays mark - payoff once a day
Listed = Perp | Future | Option | EverlastingOption


def devnet_listing(reference_time: int, spots: dict[str, float]) -> list[Listed]:
    """The eight instruments, listed at ``reference_time`` (unix s) around ``spots`` (USD)."""
    out: list[Listed] = []
    for u in ("BTC", "ETH"):
        spot = spots.get(u)
        if spot is None or not spot > 0:
            raise InputError(f"spots.{u}", f"must be a positive price, got {spot!r}")
        lot = LOT_SIZE[u]
        step = 1000 if u == "BTC" else 50
        out.append(Perp(symbol=f"{u}-PERP", underlying=u, lot_size=lot))
        out.append(Future(symbol=f"{u}-FUT", underlying=u, lot_size=lot, expiry=reference_time + FUTURE_DAYS * DAY_SECONDS))
        expiry = reference_time + OPTION_DAYS * DAY_SECONDS
        call_k = round(spot * (1 + OTM_FRACTION) / step) * step
        put_k = round(spot * (1 - OTM_FRACTION) / step) * step
        if u == "ETH":  # the everlasting call, at the money
            atm = round(spot / step) * step
            out.append(EverlastingOption(symbol=f"{u}-EVC{atm}", underlying=u, lot_size=lot, strike=atm, option_type="call",
                                         funding_period_seconds=EVERLASTING_FUNDING_PERIOD_SECONDS))
        else:
            out.append(Option(symbol=f"{u}-C{call_k}", underlying=u, lot_size=lot, expiry=expiry, strike=call_k,
                              option_type="call"))
        out.append(Option(symbol=f"{u}-P{put_k}", underlying=u, lot_size=lot, expiry=expiry, strike=put_k, option_type="put"))
    return out


def devnet_risk_config(**overrides: Any) -> RiskMatrixConfig:
    """Deribit-style grid with 15 scenarios (see the module docstring)."""
    base = {"price_steps": 3, "include_vol_same": False, "extreme_moves": [[-0.5, 0.33]]}
    base.update(overrides)
    return preset_config("deribit_pm", **base)
