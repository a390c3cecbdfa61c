"""Overview page: freshness, totals, what changed, the store x day heatmap and its drill-down.

Thin: reads through `recon.app.ui` (cached `recon.app.queries`), draws, keeps its state in the URL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import streamlit as st

from recon.app import ui
from recon.app.charts import Mode, heatmap_grid, rank_stores
from recon.app.money import money, store_label

NONE = "(all)"
PAGE = 25  # stores per page of the heatmap

ui.require_user()
url = ui.warehouse_url()
ui.engine(url)
filters = ui.sidebar_filters(ui.store_options(url))
names = ui.store_names(url)

st.title("Overview")

# --- freshness ------------------------------------------------------------------------
fresh = ui.freshness(url)
for row in fresh.filter(pl.col("stale")).iter_rows(named=True):
    if row["last_finished_at"] is None:
        st.warning(f"Stale: `{row['job']}` has never finished a run.")
    else:
        hours = row["age"].total_seconds() / 3600
        st.warning(f"Stale: `{row['job']}` last finished {hours:.1f} h ago; data may be behind.")
for row in fresh.filter(pl.col("last_status") == "failed").iter_rows(named=True):
    said = ui.literal(row["last_message"] or "no message")  # vendors' words among them
    st.error(f"`{row['job']}` failed on its last run: {said}")

# --- totals and changes --------------------------------------------------------------
totals = ui.totals(url, filters)
changes = ui.changes(url, filters)
cols = st.columns(5)
cols[0].metric("Exceptions", totals.count)
cols[1].metric("Finance", totals.by_owner.get("finance", 0))
cols[2].metric("Ops", totals.by_owner.get("ops", 0))
cols[3].metric("New since last run", changes.new.height)
cols[4].metric("Resolved since last run", changes.resolved.height)
if totals.money_by_currency:
    st.markdown(
        "**Money at stake:** "
        + " · ".join(
            ui.literal(money(amount, cur)) for cur, amount in totals.money_by_currency.items()
        )
    )
if totals.without_store_day:
    st.caption(f"{totals.without_store_day} exceptions have no store or day (not in the grid).")
# Tables in closed expanders are drawn only once opened (a rerun): first paint stays light.
since = changes.run_started_at
new_box = st.expander(
    f"New since the reconcile run of {since:%Y-%m-%d %H:%M} UTC" if since else "New exceptions",
    key="new_box",
    on_change="rerun",
)
if new_box.open:
    with new_box:
        if changes.new.is_empty():
            st.write("Nothing new.")
        else:
            ui.exception_list(changes.new, "new_table", replace(filters, status="all"))
fresh_box = st.expander("Source freshness", key="fresh_box", on_change="rerun")
if fresh_box.open:
    with fresh_box:
        ui.show_frame(fresh, key="freshness_table")
        ui.downloads(fresh, "freshness")

# --- heatmap: stores ranked by drift x the latest days, a page of stores at a time ------
st.subheader("Exceptions by store and business day")
drift = ui.heatmap_cells(url, ui.window(url, filters, days=ui.HEATMAP_DAYS))
if drift.is_empty():
    st.info("No POS orders and no exceptions for these filters.")
    st.stop()
if drift.filter(pl.col("count") > 0).is_empty():
    st.info("No exceptions for these filters: every store-day below is clean.")

modes: tuple[Mode, ...] = ("count", "money")
if "mode" not in st.session_state:
    st.session_state["mode"] = ui.url_value("mode") if ui.url_value("mode") in modes else "count"
left, right = st.columns(2)
mode: Mode = left.radio("Colour by", modes, key="mode", horizontal=True)
ui.set_url({"mode": None if mode == "count" else mode})
ranked = rank_stores(drift, mode)
grid_days = sorted({d.isoformat() for d in drift["business_day"].to_list()})
pages = [f"{i + 1}-{min(i + PAGE, len(ranked))}" for i in range(0, len(ranked), PAGE)]
choices = pages if len(pages) == 1 else [*pages, f"all {len(ranked)}"]
chosen = right.selectbox(
    "Rows (most drift first)", choices, key="heat_rows", help="A page of stores draws fastest."
)
first = 0 if chosen.startswith("all") else int(chosen.split("-")[0]) - 1
shown = ranked if chosen.startswith("all") else ranked[first : first + PAGE]
event = st.dataframe(
    heatmap_grid(drift, mode, shown, names),
    key="heatmap",
    on_select="rerun",
    selection_mode="single-cell",
    height=min(len(shown), 25) * 35 + 38,
    column_config={
        day: st.column_config.Column(day[5:], width=52 if mode == "count" else 76)
        for day in grid_days
    },
)
st.caption(
    "Red: exceptions (darker, more); green: POS orders and no exception; blank: neither. "
    "Choose a cell to list its exceptions."
)
ui.downloads(drift, "store_days")

# --- drill-down: a clicked cell or the store / day boxes --------------------------------
stores = [NONE, *sorted(set(drift["store"].to_list()), key=lambda s: (len(s), s))]
days = [NONE, *grid_days]
at_url = (ui.url_value("at_store") or NONE, ui.url_value("at_day") or NONE)
if "drill_store" not in st.session_state or at_url != st.session_state.get("_at_url"):
    st.session_state["drill_store"], st.session_state["drill_day"] = at_url  # a link
cells = event.selection.cells if event is not None else []
clicked = next(((shown[r], c) for r, c in cells if c in days and r < len(shown)), None)
if clicked is not None and clicked != st.session_state.get("_clicked"):
    st.session_state["_clicked"] = clicked
    st.session_state["drill_store"], st.session_state["drill_day"] = clicked
for key, options in (("drill_store", stores), ("drill_day", days)):
    if st.session_state[key] not in options:
        st.session_state[key] = NONE

left, right = st.columns(2)
store = left.selectbox(
    "Store",
    stores,
    key="drill_store",
    format_func=lambda s: s if s == NONE else store_label(s, names),
)
day = right.selectbox("Business day", days, key="drill_day")
ui.set_url({"at_store": None if store == NONE else store, "at_day": None if day == NONE else day})
st.session_state["_at_url"] = (store, day)
if store != NONE or day != NONE:
    drilled = filters
    if store != NONE:
        drilled = replace(drilled, stores=(store,))
    if day != NONE:
        drilled = replace(
            drilled, date_from=date.fromisoformat(day), date_to=date.fromisoformat(day)
        )
    frame = ui.exceptions(url, drilled)
    where = "every store" if store == NONE else ui.literal(store_label(store, names))
    st.markdown(f"**{frame.height} exceptions** for {where}, {day}")
    ui.exception_list(frame, "drill_table", drilled)
    st.caption("Choose a row to open it.")
    st.page_link(
        ui.EXCEPTIONS_PAGE,
        label="Open these in Exceptions",
        query_params=drilled.to_query_params(),
    )
