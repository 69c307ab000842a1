"""The first-page floor: a bare Streamlit app with a title and five KPI tiles, no database.

`make bench` times it exactly as it times the Overview (goto → first KPI tile visible, after a
server start), so the first-page figure can be read against what Streamlit's own frontend costs
in the same headless Chromium on the same machine, as the query sets are read against raw DuckDB.
"""

import streamlit as st

st.title("Bare Streamlit")
for column, label in zip(st.columns(5), ("One", "Two", "Three", "Four", "Five"), strict=True):
    column.metric(label, 1)
