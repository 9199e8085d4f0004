"""Tables of what the pages show, as pandas DataFrames of display strings (exact decimals from
integer base units, so a number on a page is the chain's number, digit for digit)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from offchain.dashboard.calculator import Calculation
from offchain.dashboard.chain import PRICE_DECIMALS, Snapshot, fmt_units

REASONS = {0: "", 1: "no fresh proof", 2: "proven insolvent"}


def fmt_time(ts: int) -> str:
    return dt.datetime.fromtimestamp(int(ts), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return ""
    return "inf" if math.isinf(r) and r > 0 else f"{r:.4f}"


def short(addr: str) -> str:
    return f"{addr[:6]}…{addr[-4:]}"


def feeds_table(s: Snapshot) -> Any:
    import pandas as pd

    return pd.DataFrame([{"feed": f"{f.underlying}/USD", "price (USD)": fmt_units(f.answer, PRICE_DECIMALS),
                          "round": str(f.round_id), "updated": fmt_time(f.updated_at),
                          "age (s)": str(s.block_time - f.updated_at)} for f in s.feeds]).set_index("feed")


def epoch_table(s: Snapshot) -> Any:
    import pandas as pd

    e = s.epoch
    if e is None:
        return pd.DataFrame([{"epoch": "none posted"}]).set_index("epoch")
    left = e.grace_ends_at - s.block_time
    return pd.DataFrame([{"epoch": str(e.epoch_id), "oracle round": str(e.oracle_round), "posted": fmt_time(e.posted_at),
                          "grace window": f"ends in {left} s" if left > 0 else f"ended {-left} s ago",
                          "IM factor (bps)": str(e.im_factor_bps), "digest": f"{str(e.digest)[:18]}…"}]).set_index("epoch")


def accounts_table(s: Snapshot) -> Any:
    import pandas as pd

    rows = []
    for h in s.accounts:
        proof = "fresh" if h.proof_fresh else ("none" if h.commitment == 0 else f"stale (epoch {h.proven_epoch})")
        rows.append({
            "account": h.address, "label": h.label, "tier": h.tier, "margin ratio": fmt_ratio(h.ratio),
            "equity (USD)": "" if h.equity is None else fmt_units(h.equity),
            "MM requirement (USD)": "" if h.requirement is None else fmt_units(h.requirement),
            "vault balance (USD)": fmt_units(h.balance), "proof": proof, "proven epoch": str(h.proven_epoch),
            "liquidation": "in auction" if h.in_liquidation else REASONS.get(h.liquidation_reason, str(h.liquidation_reason)),
        })
    cols = ["account", "label", "tier", "margin ratio", "equity (USD)", "MM requirement (USD)", "vault balance (USD)",
            "proof", "proven epoch", "liquidation"]
    return pd.DataFrame(rows, columns=cols).set_index("account")


def auctions_table(s: Snapshot) -> Any:
    import pandas as pd

    rows = [{"account": a.account, "label": a.label, "epoch": str(a.epoch_id), "reason": REASONS.get(a.reason, str(a.reason)),
             "running (s)": str(s.block_time - a.start_time), "discount (bps)": str(a.discount_bps),
             "book notional (USD)": fmt_units(a.notional), "book cash (USD)": fmt_units(a.cash),
             "fee due (USD)": fmt_units(a.fee_due), "shortfall (USD)": fmt_units(a.shortfall),
             "underwater": "yes" if a.underwater else "no"} for a in s.auctions]
    cols = ["account", "label", "epoch", "reason", "running (s)", "discount (bps)", "book notional (USD)", "book cash (USD)",
            "fee due (USD)", "shortfall (USD)", "underwater"]
    return pd.DataFrame(rows, columns=cols).set_index("account")


def vault_table(s: Snapshot) -> Any:
    import pandas as pd

    rows = [("account deposits (pool)", s.total_deposits), ("insurance fund", s.insurance_fund),
            ("protocol fees", s.protocol_fees), ("shortfall paid by the insurance fund", s.paid_by_insurance),
            ("socialized losses", s.socialized), ("uncovered shortfall", s.uncovered)]
    return pd.DataFrame([{"item": k, "USD": fmt_units(v)} for k, v in rows]).set_index("item")


def presets_table(c: Calculation) -> Any:
    import pandas as pd

    rows = [{"preset": r.preset, "IM": f"{r.im:,.2f}", "MM": f"{r.mm:,.2f}", "scan risk": f"{r.scan_risk:,.2f}",
             "contingency": f"{r.contingency:,.2f}", "free collateral": f"{r.free_collateral:,.2f}",
             "equity / MM": fmt_ratio(r.margin_ratio), "binding scenario": f"#{r.binding_scenario} of {r.n_scenarios}",
             "binding shock": r.binding_shock, "binding PnL": f"{r.binding_pnl:,.2f}", "binds": r.binds}
            for r in c.presets]
    return pd.DataFrame(rows).set_index("preset")


def others_table(c: Calculation) -> Any:
    import pandas as pd

    return pd.DataFrame([{"model": r["model"], "IM": f"{r['im']:,.2f}", "MM": f"{r['mm']:,.2f}",
                          "free collateral": f"{r['free_collateral']:,.2f}"} for r in c.other_models]).set_index("model")


def scenario_frame(c: Calculation) -> Any:
    """Scenario PnL per preset, long form (for a chart): preset, scenario, shock, pnl."""
    import pandas as pd

    rows = []
    for r in c.presets:
        for k, (pnl, sc) in enumerate(zip(r.scenario_pnl, r.scenarios)):
            rows.append({"preset": r.preset, "scenario": k, "shock": sc["spot_shock"], "pnl": pnl,
                         "binding": k == r.binding_scenario})
    return pd.DataFrame(rows)
