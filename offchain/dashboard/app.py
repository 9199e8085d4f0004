"""The Streamlit entry point (``streamlit run offchain/dashboard/app.py``; ``zkmargin dashboard`` does it)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="zkmargin dashboard", layout="wide")
navigation = st.navigation([
    st.Page(str(PAGES / "live.py"), title="Devnet live", default=True),  # the default page is served at /
    st.Page(str(PAGES / "calculator.py"), title="Margin calculator", url_path="calculator"),
    st.Page(str(PAGES / "results.py"), title="Results explorer", url_path="results"),
])
navigation.run()
