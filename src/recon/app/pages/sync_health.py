"""Sync health page: job runs, what holds orders back (by money), sync posts by status.

Thin: reads through `recon.app.ui`; nothing here writes.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from recon.app import ui, workflow

user = ui.require_user()
url = ui.warehouse_url()
engine = ui.engine(url)

_OUTCOME = "_map_outcome"  # the last "map and re-post", shown after the rerun


def _repost(order_ids: list[str]) -> tuple[int, str]:
    from recon.config import load_settings
    from recon.jobs import repost_job

    done = repost_job(load_settings(), order_ids)
    return done.posted, done.text()


def _map_and_repost(health: pl.DataFrame) -> None:
    """For an admin: map what a hold names, then re-post every order it held, at once."""
    fixable = health.filter(
        pl.col("problem").is_in([r.removeprefix("held_") for r in workflow.MAPPED_BY])
    )
    if _OUTCOME in st.session_state:
        ok, outcome = st.session_state.pop(_OUTCOME)
        (st.success if ok else st.warning)(ui.literal(outcome))
    if fixable.is_empty():
        return
    if user.role != "admin":
        st.caption("An admin can map these here and re-post the orders they held in one step.")
        return
    rows = {r["what"]: r for r in fixable.unique("what", keep="first").iter_rows(named=True)}
    with st.form("map_held_form", clear_on_submit=True):
        st.markdown("**Map it, then re-post every order it held**")
        what = st.selectbox(
            "Hold",
            list(rows),
            key="mh_what",
            format_func=lambda w: f"{w} ({rows[w]['orders']} orders)",
        )
        code = st.text_input("ERP account / location / tax code", key="mh_code")
        tax_account = st.text_input("ERP tax account (VAT rates only)", key="mh_account")
        if not st.form_submit_button("Map and re-post", key="mh_btn") or what is None:
            return
    result: list[tuple[bool, str]] = []
    reason = "held_" + rows[what]["problem"]
    with st.spinner("Mapping, posting the held orders, then collecting and reconciling"):
        ok = ui.run_action(
            lambda: result.append(
                workflow.map_held(
                    engine, reason, what, code, user, _repost, tax_account=tax_account
                )
            ),
            "",
        )
    if ok:
        st.session_state[_OUTCOME] = result[0]
        st.rerun()


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
    _map_and_repost(health)

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
