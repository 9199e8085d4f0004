"""Devnet live: the deployment saved in the state dir, read from the node, refreshed by itself."""

from __future__ import annotations

import streamlit as st

from offchain.dashboard.chain import ChainView, Snapshot, fmt_units
from offchain.dashboard.present import (
    accounts_table,
    auctions_table,
    epoch_table,
    feeds_table,
    fmt_time,
    vault_table,
)
from offchain.dashboard.settings import Settings
from zkmargin.errors import ZkMarginError

settings = Settings.from_env()
st.title("Devnet live")


@st.cache_resource(show_spinner=False)
def _view(state_dir: str, rpc_url: str, tiers: str, stamp: float) -> ChainView:
    from offchain.devnet.margin_calls import load_config

    policy = load_config(tiers, field=tiers).policy if tiers else None
    return ChainView(state_dir, rpc_url, policy=policy)


def _stamp() -> float:
    f = settings.state_dir / "deployment.json"
    return f.stat().st_mtime if f.exists() else 0.0


try:
    view = _view(str(settings.state_dir), settings.rpc_url, str(settings.tiers_config or ""), _stamp())
except ZkMarginError as exc:
    st.error(f"cannot attach to the deployment in {settings.state_dir} through {settings.rpc_url}: {exc}")
    st.stop()


def render(s: Snapshot) -> None:
    st.caption(f"chain {s.chain_id} · block {s.block} · chain time {fmt_time(s.block_time)} · "
               f"refreshes every {settings.refresh_s:g} s · state {settings.state_dir}")
    top = st.columns(3)
    top[0].metric("Block", str(s.block))
    top[1].metric("Oracle global round", str(s.global_round))
    top[2].metric("Risk epoch", str(s.epoch.epoch_id) if s.epoch else "none")
    bottom = st.columns(3)
    bottom[0].metric("Insurance fund (USD)", fmt_units(s.insurance_fund))
    bottom[1].metric("Socialized losses (USD)", fmt_units(s.socialized))
    bottom[2].metric("Auctions in progress", str(len(s.auctions)))

    left, right = st.columns(2)
    with left:
        st.subheader("Oracle prices")
        st.table(feeds_table(s))
    with right:
        st.subheader("Risk epoch")
        st.table(epoch_table(s))

    st.subheader("Accounts")
    if not s.book_known:
        st.info("No operator book in the state dir: tiers need the private positions (only on-chain status shown).")
    counts = {k: v for k, v in s.tier_counts.items() if v}
    st.caption("Accounts per tier: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none"))
    st.table(accounts_table(s))
    if counts:
        import pandas as pd

        st.bar_chart(pd.DataFrame({"accounts": counts}), horizontal=True, height=160)

    st.subheader("Auctions in progress")
    if s.auctions:
        st.table(auctions_table(s))
    else:
        st.write("No auction is running.")
    st.caption(f"{s.liquidations_finished} liquidation(s) finished so far.")

    st.subheader("Insurance fund and socialized losses")
    st.table(vault_table(s))


@st.fragment(run_every=settings.refresh_s)
def live() -> None:
    try:
        render(view.snapshot())
    except Exception as exc:  # noqa: BLE001 - the node may be gone for a moment: say so, retry next refresh
        st.warning(f"cannot read the chain at {settings.rpc_url}: {type(exc).__name__}: {exc}")


live()
