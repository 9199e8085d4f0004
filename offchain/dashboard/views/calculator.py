"""Margin calculator: a portfolio (uploaded or edited) under every risk-matrix preset side by side,
with each preset's binding scenario."""

from __future__ import annotations

import json

import streamlit as st

from offchain.dashboard.calculator import calculate, example_document, load_portfolio_json
from offchain.dashboard.present import others_table, presets_table, scenario_frame
from zkmargin.errors import ZkMarginError

st.title("Margin calculator")
st.caption("One portfolio under every risk-matrix preset (deribit_pm, cme_span, derive_pmrm), side by side; the "
           "binding scenario is the one whose loss sets the scan risk. Prices with the portfolio's market (Black-76).")

upload = st.file_uploader("Portfolio JSON (examples/portfolio_*.json format; with a \"market\" object)", type=["json"])
market_upload = st.file_uploader("Market JSON (optional, replaces the portfolio's market)", type=["json"])
try:
    doc = json.loads(upload.getvalue()) if upload is not None else example_document()
    market_doc = json.loads(market_upload.getvalue()) if market_upload is not None else None
except json.JSONDecodeError as exc:
    st.error(f"not valid JSON: {exc}")
    st.stop()
if upload is None:
    st.caption("Showing examples/portfolio_hedged.json: upload a file or edit the positions below.")

import pandas as pd

positions = pd.DataFrame(doc.get("positions", []), columns=["instrument", "size"])
symbols = [i.get("symbol") for i in doc.get("instruments", [])]
edited = st.data_editor(
    positions, num_rows="dynamic", key="positions", use_container_width=True,
    column_config={"instrument": st.column_config.SelectboxColumn("instrument", options=symbols, required=True),
                   "size": st.column_config.NumberColumn("size (units of the underlying, signed)", required=True)},
)
doc = {**doc, "positions": [{"instrument": r["instrument"], "size": float(r["size"])}
                            for r in edited.to_dict("records") if r.get("instrument") and pd.notna(r.get("size"))]}
try:
    portfolio, market = load_portfolio_json(doc, market_doc)
    calc = calculate(portfolio, market)
except ZkMarginError as exc:
    st.error(str(exc))
    st.stop()

st.metric("Equity (USD)", f"{calc.equity:,.2f}")
st.subheader("Every preset, side by side")
st.table(presets_table(calc))
st.subheader("Scenario PnL by preset (the binding scenario of each is ringed)")
frame = scenario_frame(calc)
frame["spot shock (first underlying)"] = [next(iter(s.values())) for s in frame["shock"]]
import altair as alt

base = alt.Chart(frame.drop(columns=["shock"]))
chart = base.mark_circle(size=60).encode(
    x=alt.X("spot shock (first underlying):Q", axis=alt.Axis(format="%")),
    y=alt.Y("pnl:Q", title="portfolio PnL (USD, weighted)"),
    color="preset:N", tooltip=["preset", "scenario", "pnl"],
) + base.transform_filter(alt.datum.binding).mark_point(size=260, strokeWidth=2).encode(
    x="spot shock (first underlying):Q", y="pnl:Q", color="preset:N")
st.altair_chart(chart, use_container_width=True)
st.subheader("Other models, for comparison")
st.table(others_table(calc))
