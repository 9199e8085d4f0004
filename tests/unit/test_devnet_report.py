"""The demo report on a hand-made record (no chain): losses add up, the liquidator's result is
reported, and the plots carry units, market dates, legends for every mark, both health views and
each fund change at its liquidation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from offchain.devnet.clock import GraceWindow, utc
from offchain.devnet.demo import UNIT, DemoRecord
from offchain.devnet.demo_scenario import load_scenario
from offchain.devnet.demo_trading import PnlLedger
from offchain.devnet.report import (
    account_rows,
    figures,
    funding_rows,
    liquidation_rows,
    liquidator_result,
    pnl_rows,
    write_report,
)

ROOT = Path(__file__).resolve().parents[2]
A, B = "0x" + "a" * 40, "0x" + "b" * 40
T0 = int(dt.datetime(2021, 5, 18, tzinfo=dt.UTC).timestamp())


def _record() -> DemoRecord:
    rec = DemoRecord(seed=19, scenario=load_scenario(ROOT / "config" / "devnet-smoke.json"))
    rec.labels = {A: "naked long BTC perp (4.1x)", B: "long BTC perp + put (1.5x)"}
    rec.deposits = {A: 14_000 * UNIT, B: 8_000 * UNIT}
    rec.leverage = {A: 4.07, B: 1.5}
    rec.liquidator = "0x" + "9" * 40
    fund = [20_000 * UNIT, 20_000 * UNIT, 20_400 * UNIT, 20_400 * UNIT]
    fees = [0, 0, 100 * UNIT, 100 * UNIT]
    for k in range(4):
        rec.steps.append({
            "step": k, "market_time": T0 + k * 43_200, "chain_time": 1_000 + 3_600 * k, "BTC": 50_000.0 - 3_000 * k,
            "ETH": 3_500.0, "epoch": 1 + k // 2, "epoch_posted": k % 2 == 0, "insurance_fund": fund[k], "protocol_fees": fees[k],
            "health": {A: [1.6, 1.6, 0.8, None][k], B: [3.0, 3.0, 2.5, 2.5][k]},
            "health_engine": {A: [1.6, 1.1, 0.8, None][k], B: [3.0, 2.8, 2.5, 2.4][k]},
        })
    # two fills of A's book at step 2: worth -6,924.21 at the marks, the liquidator was paid 7,926.31
    rec.fills = [{"step": 2, "account": A, "value": -3_462_105_000, "cost": -3_963_155_000, "discount_bps": 300, "block": 50},
                 {"step": 2, "account": A, "value": -3_462_105_000, "cost": -3_963_155_000, "discount_bps": 300, "block": 51}]
    remaining = 14_000 * UNIT - 7_926_310_000 - 500_050_000
    rec.liquidations = [{"step": 2, "account": A, "label": rec.labels[A], "epoch": 2, "fee": 500_050_000, "shortfall": 0,
                         "remaining_collateral": remaining, "block": 51}]
    rec.final = {"balances": {A: remaining, B: 6_000 * UNIT}, "open": {A: False, B: True},
                 "liquidator_balance": 200_000 * UNIT + 7_926_310_000, "liquidator_capital": 200_000 * UNIT,
                 "vault_token_balance": 0, "account_balances": 0, "insurance_fund": 20_400 * UNIT, "protocol_fees": 100 * UNIT,
                 "insurance_fund_initial": 20_000 * UNIT}
    # B sold 100 lots of the BTC perp at 51.00 per lot (B opened long 300 at 50.00) and withdrew 2,000 USD; its
    # figures by hand: realized 100 x (51 - 50) = 100 USD, unrealized 200 x (47 - 50) = -600 USD at the last mark
    rec.pnl = {
        A: {"label": "a", "deposit": 14_000 * UNIT, "withdrawn": 0, "cashed_out": 0, "balance": remaining, "equity": remaining,
            "realized_pnl": -5_000.5 * UNIT, "unrealized_pnl": 0.0, "funding": -12_500_000, "fills": 1, "positions": {}},
        B: {"label": "b", "deposit": 8_000 * UNIT, "withdrawn": 2_000 * UNIT, "cashed_out": 100 * UNIT, "balance": 6_000 * UNIT,
            "equity": 5_512_500_000, "realized_pnl": 100.0 * UNIT, "unrealized_pnl": -600.0 * UNIT, "funding": 12_500_000,
            "fills": 2, "positions": {"BTC-PERP": 200}},
    }
    rec.trading = {"fills": [{"step": 0, "buyer": "a", "seller": "b", "instrument": "BTC-PERP", "kind": "perp", "lots": 100,
                              "price": 51_000_000}],
                   "funding_steps": [{"market_time": T0 + 43_200, "elapsed_seconds": 43_200, "delta": [125_000, 0],
                                      "index": [125_000, 0], "premiums": [0.001, None], "rates": [0.0005, None]}],
                   "withdrawals": [], "house": "0x" + "c" * 40, "instruments": ["BTC-PERP", "BTC-FUT"],
                   "kinds": ["perp", "future"], "funded": True}
    rec.conservation = {"vault_token_balance": 10, "balances": 7, "private_cash": 1, "insurance_fund": 1,
                        "protocol_fees": 1, "residual": 0, "total_deposits": 7, "holders": 3}
    return rec


def test_ledger_realized_and_unrealized_by_hand() -> None:
    led = PnlLedger(n=2)
    led.fill("x", 0, 300, 50_000_000)  # buys 300 at 50.00
    led.fill("x", 0, 100, 54_000_000)  # adds 100 at 54.00: average 51.00
    led.fill("x", 0, -200, 53_000_000)  # closes 200 at 53.00: realized 200 x 2.00 = 400 USD
    assert led.realized["x"] == 400 * UNIT and led.q["x"] == [200, 0]
    assert led.unrealized("x", [47_000_000, 0]) == 200 * (47 - 51) * UNIT
    led.fill("x", 0, -300, 45_000_000)  # closes 200 at 45 (-1,200) and opens a short of 100 at 45
    assert led.realized["x"] == (400 - 1_200) * UNIT and led.q["x"] == [-100, 0]
    assert led.unrealized("x", [40_000_000, 0]) == 100 * 5 * UNIT
    led.close_out("x")
    assert led.q["x"] == [0, 0] and led.unrealized("x", [1, 1]) == 0


def test_pnl_funding_and_withdrawals_in_the_report(tmp_path: Path) -> None:
    rec = _record()
    rows = {r["account"]: r for r in account_rows(rec)}
    assert rows[B]["withdrawn_usd"] == 2_000 and rows[B]["realized_pnl_usd"] == 100
    assert rows[B]["unrealized_pnl_usd"] == -600 and rows[B]["funding_usd"] == 12.5
    assert rows[B]["loss_usd"] == 0  # deposit 8,000 - final balance 6,000 - withdrawn 2,000: withdrawn money is not lost
    assert rows[A]["funding_usd"] == -12.5
    pnl = {r["account"]: r for r in pnl_rows(rec)}
    assert pnl[B]["positions"] == "BTC-PERP:+200" and pnl[B]["final_equity_usd"] == 5_512.5
    (f,) = funding_rows(rec)
    assert f["dF_BTC-PERP"] == 125_000 and f["premium_BTC-PERP"] == 0.001 and "dF_BTC-FUT" not in f
    write_report(rec, tmp_path / "r", ROOT, 31337)
    import csv
    import json

    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["conservation"]["residual"] == 0 and summary["funding_total_base_units"] == 0
    acc = {r["account"]: r for r in summary["accounts"]}
    assert {"deposit_usd", "withdrawn_usd", "realized_pnl_usd", "funding_usd"} <= set(acc[B])
    assert next(iter(csv.DictReader((tmp_path / "r" / "trades.csv").open())))["instrument"] == "BTC-PERP"
    header = (tmp_path / "r" / "pnl.csv").read_text().splitlines()[0]
    assert header.startswith("label,account,deposit_usd,cashed_out_usd,withdrawn_usd,realized_pnl_usd,unrealized_pnl_usd,funding_usd")
    figs = figures(rec)
    try:
        texts = _texts(figs["pnl.png"])
        assert "realized PnL (closing fills)" in texts and "funding received (- paid)" in texts
        assert any("withdrew 2,000 (deposit 8,000)" in t for t in texts)
        assert any("sums to 0 base units" in t for t in texts)
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_losses_add_up_and_the_liquidator_result_is_reported() -> None:
    rec = _record()
    (row,) = liquidation_rows(rec)
    # by hand: loss = 14,000 - (14,000 - 7,926.31 - 500.05) = 8,426.36
    #        = market loss 6,924.21 + discount 1,002.10 + fee 500.05 - shortfall 0
    assert row["account_loss_usd"] == pytest.approx(8_426.36)
    assert row["market_loss_usd"] == pytest.approx(6_924.21)
    assert row["discount_to_liquidator_usd"] == pytest.approx(1_002.10)
    assert row["fills"] == 2 and row["market_time"] == "2021-05-19 00:00 UTC"
    lr = liquidator_result(rec)
    assert lr["result_at_marks_usd"] == pytest.approx(1_002.10)
    assert lr["vault_balance_change_usd"] == pytest.approx(7_926.31)
    rows = {r["label"]: r for r in account_rows(rec)}
    assert rows["naked long BTC perp (4.1x)"]["loss_usd"] == pytest.approx(8_426.36)
    assert rows["naked long BTC perp (4.1x)"]["liquidated_at"] == "2021-05-19 00:00 UTC"
    assert rows["long BTC perp + put (1.5x)"]["loss_usd"] == 0 and rows["long BTC perp + put (1.5x)"]["leverage"] == 1.5


def _texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    out = [t.get_text() for t in fig.texts]
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return out


def test_plots_have_units_dates_legends_and_no_lag() -> None:
    rec = _record()
    figs = figures(rec)
    try:
        price = figs["price.png"]
        texts = _texts(price)
        assert any(t.startswith("market time (UTC)") for t in texts)
        assert "price, % of the first price" in texts
        assert "liquidated 19 May 00:00: naked long BTC perp (4.1x)" in texts and "risk epoch posted" in texts
        ax = price.axes[0]
        lo, hi = ax.get_xlim()  # a date axis: the limits are the path's dates, not step numbers
        assert dt.date(2021, 5, 17) <= plt.matplotlib.dates.num2date(lo).date() <= dt.date(2021, 5, 18)
        assert dt.date(2021, 5, 19) <= plt.matplotlib.dates.num2date(hi).date() <= dt.date(2021, 5, 20)

        health = _texts(figs["account_health.png"])
        for words in ("risk engine at each price step (epoch built from the step's prices)",
                      "chain: latest posted epoch (what proofs and liquidations use)", "MM threshold (1.0)",
                      "liquidated (after the grace window)", "equity / MM (x)"):
            assert words in health, words
        assert any("below 0: equity negative" in t for t in health)
        # both views are drawn: the engine's moves at step 1, the chain's does not
        panel = figs["account_health.png"].axes[0]
        engine, chain = (line.get_ydata() for line in panel.get_lines()[:2])
        assert list(engine[:3]) == [1.6, 1.1, 0.8] and list(chain[:3]) == [1.6, 1.6, 0.8]
        # each account's panel has its own scale, which always shows the 1.0 threshold
        for ax in figs["account_health.png"].axes:
            if ax.get_visible():
                assert ax.get_ylim()[0] < 1.0 < ax.get_ylim()[1]

        liq = _texts(figs["liquidations.png"])
        assert "USD" in liq and any("Liquidator result at the epoch marks +1,002 USD" in t for t in liq)
        assert "account's loss: deposit - collateral left" in liq and any(t.strip() == "8,426" for t in liq)

        fund = figs["insurance_fund.png"]
        texts = _texts(fund)
        assert "USD" in texts and "liquidation" in texts
        ax = fund.axes[0]
        # the fund's +400 shows at the liquidation (step 2), not one step later
        (note,) = [t for t in ax.texts if t.get_text() == "+400"]
        assert note.xy[0] == dt.datetime.fromtimestamp(T0 + 2 * 43_200, tz=dt.UTC)
        fund_line = ax.get_lines()[0]
        assert list(fund_line.get_ydata()) == [0, 0, 400, 400]
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_write_report_files(tmp_path: Path) -> None:
    rec = _record()
    write_report(rec, tmp_path / "r", ROOT, 31337)
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"liquidations.csv", "steps.csv", "summary.json", "account_health.png", "pnl.csv", "trades.csv", "funding.csv",
            "pnl.png"} <= names
    header = (tmp_path / "r" / "steps.csv").read_text().splitlines()[0]
    assert "market_time_utc" in header and "health_engine_naked long BTC perp (4.1x)" in header


def test_grace_window_arithmetic() -> None:
    w = GraceWindow(epoch_id=3, posted_at=1_000, grace_seconds=600, paused_seconds=50, now=1_200)
    assert w.ends_at == 1_650 and w.seconds_left == 451 and w.open
    assert w.describe() == f"grace window of epoch 3 ends {utc(1_650)} (in 451 s of chain time)"
    done = GraceWindow(3, 1_000, 600, 50, now=1_651)
    assert not done.open and done.describe() == f"grace window of epoch 3 ended {utc(1_650)} (1 s ago)"
    assert "stopped while the protocol is paused" in GraceWindow(3, 1_000, 600, 0, 1_200, paused=True).describe()
    assert utc(0) == "1970-01-01 00:00:00 UTC"
