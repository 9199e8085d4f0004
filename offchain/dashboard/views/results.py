"""Results explorer: simulator runs, sweeps (Parquet, DuckDB SQL when installed) and demo reports."""

from __future__ import annotations

import streamlit as st

from offchain.dashboard.results import (
    discover,
    has_module,
    parquet_files,
    read_demo,
    read_parquet,
    read_simulation,
    sql,
)
from offchain.dashboard.settings import Settings

settings = Settings.from_env()
st.title("Results explorer")
folders = discover(list(settings.results))
st.caption(f"{len(folders)} result folder(s) under {', '.join(str(p) for p in settings.results)}: "
           "`zkmargin simulate` runs, sweeps (Parquet) and `ape run demo` reports.")
if not folders:
    st.info("Nothing yet: run `zkmargin simulate --scenario scenarios/gbm_jump_crash.json` or `make demo`.")
    st.stop()

labels = [f"{f.kind}: {f.title} — {f.path}" for f in folders]
choice = folders[labels.index(st.selectbox("Result", labels))]

import pandas as pd

if choice.kind == "simulation":
    run = read_simulation(choice.path)
    doc, summary, ts = run["doc"], run["summary"], run["timeseries"]
    st.subheader(f"{doc['scenario']} · seed {doc['seed']} · {doc['traders']} traders · {len(doc['models'])} models")
    cols = ["model", "bad_debt_usd", "liquidation_volume_usd", "liquidations", "insurance_fund_drawdown_usd",
            "cascade_bad_debt_usd", "margin_rate_peak_pct"]
    st.table(summary[[c for c in cols if c in summary.columns]].set_index("model").map(
        lambda v: f"{v:,.2f}" if isinstance(v, float) else str(v)))
    st.bar_chart(summary.set_index("model")[["bad_debt_usd"]], horizontal=True)
    on = ts[ts["impact"] == "on"]
    assets = [c.removeprefix("price_") for c in ts.columns if c.startswith("price_")]
    asset = st.radio("Underlying", assets, horizontal=True)
    st.markdown("**Venue price by model vs the exogenous path**")
    prices = on.pivot_table(index="step", columns="model", values=f"price_{asset}")
    prices["exogenous"] = on.groupby("step")[f"exogenous_{asset}"].first()
    import altair as alt

    long = prices.reset_index().melt("step", var_name="series", value_name="price")
    st.altair_chart(alt.Chart(long).mark_line().encode(
        x="step:Q", y=alt.Y("price:Q", scale=alt.Scale(zero=False), title=f"{asset} (USD)"), color="series:N",
        strokeDash=alt.condition(alt.datum.series == "exogenous", alt.value([4, 3]), alt.value([1, 0]))),
        use_container_width=True)
    for col, title in (("liquidation_volume_usd", "Cumulative liquidation volume (USD)"),
                       ("insurance_fund_usd", "Insurance fund (USD)"), ("bad_debt_usd", "Cumulative bad debt (USD)")):
        st.markdown(f"**{title}**")
        wide = on.pivot_table(index="step", columns="model", values=col)
        st.line_chart(wide.cumsum() if col == "liquidation_volume_usd" else wide)
elif choice.kind == "sweep":
    files = parquet_files(choice.path)
    if not has_module("pyarrow"):
        st.warning("pyarrow is not installed: cannot read Parquet.")
        st.stop()
    name = st.selectbox("Table", [f.name for f in files])
    df = read_parquet(choice.path / name)
    st.caption(f"{len(df)} rows × {len(df.columns)} columns")
    st.dataframe(df, use_container_width=True)
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    if len(numeric) >= 2:
        x = st.selectbox("x", numeric, index=0)
        y = st.selectbox("y", numeric, index=1)
        others = [c for c in df.columns if c not in (x, y)]
        color = st.selectbox("colour", ["(none)", *others])
        st.scatter_chart(df, x=x, y=y, color=None if color == "(none)" else color)
    if has_module("duckdb"):
        views = ", ".join(f.stem for f in files)
        q = st.text_area(f"SQL (DuckDB; views: {views})", f"SELECT * FROM \"{files[0].stem}\" LIMIT 20")
        try:
            st.dataframe(sql(choice.path, q), use_container_width=True)
        except Exception as exc:  # noqa: BLE001 - show the database's message
            st.error(str(exc))
    else:
        st.caption("Install duckdb for SQL over the sweep.")
else:
    demo = read_demo(choice.path)
    s = demo["summary"]
    st.subheader(f"{s['scenario']['name']} · seed {s['seed']}")
    if "accounts" in demo:
        st.table(demo["accounts"].fillna("").astype(str).set_index("label"))
    if "margin_calls" in demo:
        st.markdown("**Margin calls: the account with top-up and its twin**")
        st.table(demo["margin_calls"].fillna("").astype(str).set_index("label"))
    if "alerts" in demo:
        st.markdown("**Alerts (signed webhooks, in arrival order)**")
        st.table(demo["alerts"][["seq", "step", "label", "type", "from", "to", "amount_usd", "reason"]].fillna("").astype(str)
                 .set_index("seq"))
    if "steps" in demo:
        health = demo["steps"].set_index("step")[[c for c in demo["steps"].columns if c.startswith("health_")]]
        st.markdown("**Account health (equity / MM)**")
        st.line_chart(health.rename(columns=lambda c: c.removeprefix("health_")))

with st.expander(f"Saved plots ({len(choice.pngs)})", expanded=choice.kind != "simulation"):
    for png in choice.pngs:
        st.image(str(png), caption=png.name)
