"""Streamlit page scripts (run by app.py through st.navigation; not named pages/, which Streamlit would
also list on its own)."""
