"""Takings & VAT page (finance): POS vs ERP takings per store-day and tender account, the
variance waterfall by cause, and the VAT view.

Thin: reads through `app.ui` (cached `app.queries`, sums done in SQL), draws, exports.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from app import ui
from app.causes import cause_text
from app.charts import waterfall_chart
from app.queries import waterfall_steps

ui.require_role("finance", "admin")  # main.py routes by role too
url = ui.warehouse_url()
ui.engine(url)
filters = ui.sidebar_filters(ui.store_options(url))

st.title("Takings & VAT")
scope = ui.window(url, filters)
by_day = ui.takings_by_store_day(url, scope)
parts = ui.variance_waterfall(url, scope)

tab_takings, tab_vat = st.tabs(["Takings", "VAT"])
with tab_takings:
    if by_day.is_empty():
        st.info("No takings for these stores and days (a reconcile run writes them).")
    else:
        counts = (
            by_day.group_by("currency").len().sort(["len", "currency"], descending=[True, False])
        )
        currencies: list[str] = counts.get_column("currency").to_list()  # most store-days first
        currency: str = st.radio(
            "Currency", currencies, key="tk_currency", horizontal=True, format_func=ui.literal
        )
        shown_currency = ui.literal(currency)
        mine = by_day.filter(pl.col("currency") == currency)
        off = mine.filter(pl.col("variance") != 0)
        cols = st.columns(4)
        cols[0].metric("POS takings", f"{mine['pos_amount'].sum():,.2f} {shown_currency}")
        cols[1].metric("ERP takings", f"{mine['erp_amount'].sum():,.2f} {shown_currency}")
        cols[2].metric("Variance (ERP - POS)", f"{mine['variance'].sum():,.2f} {shown_currency}")
        cols[3].metric("Store-days off", f"{off.height} of {mine.height}")

        st.subheader("Variance by cause")
        steps = waterfall_steps(by_day, parts, currency)
        labelled = steps.with_columns(
            pl.col("step").map_elements(
                lambda c: (
                    c if c in ("POS takings", "ERP takings", "unaccounted") else cause_text(c)
                ),
                return_dtype=pl.String,
            )
        )
        st.plotly_chart(waterfall_chart(steps, currency), key="waterfall")
        ui.show_frame(labelled, key="waterfall_table")
        ui.downloads(steps, "variance_waterfall")

        st.subheader("Per store and business day")
        only_off = st.toggle("Only store-days with a variance", value=True, key="tk_only_off")
        shown = off if only_off else mine
        event = ui.show_frame(
            shown, key="takings_days", on_select="rerun", selection_mode="single-row"
        )
        ui.downloads(shown, "takings_by_store_day")
        rows = event.selection.rows if event is not None else []
        if rows:
            pick = shown.row(rows[0], named=True)
            day_scope = filters.store_day(pick["store"], pick["business_day"])
            st.markdown(
                f"**Store {ui.literal(pick['store'])}, {pick['business_day']:%Y-%m-%d}** by account"
            )
            accounts = ui.takings(url, day_scope)
            ui.table(accounts, "takings_accounts")
            st.page_link(
                ui.EXCEPTIONS_PAGE,
                label="Exceptions of this store-day",
                query_params=replace(day_scope, owner="finance").to_query_params(),
            )
        with st.expander("Every account row (store, day, tender account)"):
            accounts_all = ui.takings(url, scope).filter(pl.col("currency") == currency)
            ui.show_frame(accounts_all, key="takings_all")
            ui.downloads(accounts_all, "takings")

with tab_vat:
    vat_scope = replace(filters, kinds=("vat_rounding", "unmapped_tax_code"), owner=None)
    st.subheader("VAT exceptions")
    vat_exc = ui.exceptions(url, vat_scope)
    if vat_exc.is_empty():
        st.success("No VAT rounding or unmapped tax code exceptions for these filters.")
    else:
        ui.exception_list(vat_exc, "vat_exceptions", vat_scope)
    st.subheader("VAT per store-day: POS orders vs the ERP documents that carry them")
    vat = ui.vat_totals(url, scope)
    off_vat = vat.filter(pl.col("difference") != 0)
    st.caption(
        f"{vat.height} store-days, {off_vat.height} with a difference. Only per-order "
        "documents carry VAT per sale: in daily-journal mode the ERP column stays 0."
    )
    vat_only_off = st.toggle("Only store-days with a difference", value=False, key="vat_only_off")
    vat_shown = off_vat if vat_only_off else vat
    ui.show_frame(vat_shown, key="vat_totals")
    ui.downloads(vat_shown, "vat_by_store_day")
