"""Sync health page: job runs, what holds orders back (by money), sync posts by status.

Thin: reads through `app.ui`; nothing here writes.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import ui

ui.require_user()
url = ui.warehouse_url()
ui.engine(url)

st.title("Sync health")
fresh = ui.freshness(url)
st.subheader("Jobs")
for row in fresh.filter(pl.col("stale")).iter_rows(named=True):
    st.warning(f"`{row['job']}` is stale (no finished run recently).")
ui.table(fresh, "jobs")

st.subheader("Mapping health: what holds orders back, biggest money first")
health = ui.mapping_health(url)
if health.is_empty():
    st.success("No order is held by a mapping or master-data problem.")
else:
    st.caption(
        "Each row is one problem the sync names; fix it in the mappings (Admin, or "
        "`recon mappings import`) or the ERP master data, and the next sync posts its orders."
    )
    ui.table(health, "mapping_health")

st.subheader("Sync posts by status and reason")
summary = ui.sync_post_summary(url)
if summary.is_empty():
    st.info("No sync posts yet.")
else:
    ui.table(summary, "post_summary")
    stuck = ui.sync_posts(url)
    st.subheader(f"Not in the ERP: {stuck.height} held, failed or retrying")
    ui.table(stuck, "stuck_posts")

st.subheader("Recent runs")
recent = ui.runs(url)
ui.table(recent, "runs")
