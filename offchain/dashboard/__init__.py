"""The zkmargin dashboard (``zkmargin dashboard``, Streamlit): a live view of a devnet deployment,
a margin calculator over every risk-matrix preset, and an explorer of simulator runs, sweeps and
demo reports. The pages are scripts under ``views/``; the logic they show lives in
``chain.py`` (read-only web3 view of a deployment), ``calculator.py`` and ``results.py``.
"""
