"""Takings & VAT page (finance): opens on the latest closed business day; per store, POS vs
ERP by tender account and by revenue (orders vs documents); the variance by cause, each
linked to the exceptions that explain it; the VAT view; and the sign-off of a store-day or
of all stores of a day (`recon.app.signoff_panel`).

Thin: reads through `recon.app.ui` (cached `recon.app.queries`, sums done in SQL), draws, exports.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from recon.app import ui
from recon.app.causes import cause_text
from recon.app.charts import waterfall_chart
from recon.app.filters import PICK, parse_store_day, store_day_param
from recon.app.money import money, store_label
from recon.app.queries import store_day_money, waterfall_steps
from recon.app.signoff_panel import panel

user = ui.require_role("finance", "admin")  # main.py routes by role too
url = ui.warehouse_url()
ui.engine(url)
filters = ui.sidebar_filters(ui.store_options(url))
names = ui.store_names(url)

st.title("Takings & VAT")
ui.tolerances_caption(url)
scope = filters
if filters.date_from is None and filters.date_to is None:  # a close: the latest closed day
    closed = ui.latest_closed_day(url, ui.today())
    if closed is not None:
        scope = replace(filters, date_from=closed, date_to=closed)
        st.caption(
            f"Business day {closed:%Y-%m-%d}, the latest closed day; set From / To in the "
            "sidebar for others."
        )
by_day = ui.takings_by_store_day(url, scope)
parts = ui.variance_waterfall(url, scope)


def explaining(cause: str) -> tuple[str, ...]:
    """The exception kinds a waterfall cause's money is explained by (the cause names one;
    unexplained money is the tender variances themselves)."""
    kind = cause.removeprefix("explained_by_")
    return (kind,) if kind != cause else ("tender_variance",)


tab_takings, tab_vat, tab_signoff = st.tabs(["Takings", "VAT", "Sign-off"])
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
        mine = by_day.filter(pl.col("currency") == currency)
        cols = st.columns(4)
        cols[0].metric("POS takings", ui.literal(money(mine["pos_amount"].sum(), currency)))
        cols[1].metric("ERP takings", ui.literal(money(mine["erp_amount"].sum(), currency)))
        cols[2].metric("Variance (ERP - POS)", ui.literal(money(mine["variance"].sum(), currency)))

        revenue = ui.revenue(url, scope)
        both = store_day_money(by_day, revenue).filter(pl.col("currency") == currency)
        cols[3].metric("Store-days off", f"{both['off'].sum()} of {both.height}")

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
        causes = steps.filter(pl.col("measure") == "relative")
        if causes.is_empty():
            st.success("POS and ERP takings agree by tender on these store-days.")
        else:
            words = labelled.filter(pl.col("measure") == "relative")["step"].to_list()
            st.plotly_chart(waterfall_chart(steps, currency, words), key="waterfall")
        ui.show_frame(labelled.drop("measure"), key="waterfall_table")
        ui.downloads(steps, "variance_waterfall")
        for cause, amount in causes.select("step", "amount").rows():
            if cause == "unaccounted":
                continue
            kinds = explaining(cause)
            st.page_link(
                ui.EXCEPTIONS_PAGE,
                label=f"{cause_text(cause)} {money(amount, currency)}: the "
                f"{kinds[0].replace('_', ' ')} exceptions that explain it",
                query_params=replace(scope, kinds=kinds, owner=None).to_query_params(),
                icon=":material/link:",
            )

        st.subheader("Per store: POS vs ERP by tender and by revenue (documents)")
        st.caption(
            "Tender: the takings per tender account. Revenue: the gross of completed, paid "
            "POS orders against the ERP documents (a document posted twice, for another "
            "amount or with no POS order shows here even when the tenders agree; "
            "daily-journal stores post no per-order documents). Choose a row for its "
            "accounts and the exceptions that explain it."
        )
        only_off = st.toggle("Only store-days with a variance", value=True, key="tk_only_off")
        shown = both.filter(pl.col("off")) if only_off else both
        event = ui.show_frame(
            ui.with_store_names(shown.drop("off"), names),
            key="takings_days",
            on_select="rerun",
            selection_mode="single-row",
        )
        ui.downloads(shown.drop("off"), "takings_by_store_day")
        rows = event.selection.rows if event is not None else []
        if rows and rows[0] < shown.height:  # a choice is kept in the URL: `day=STORE@DAY`
            pick = shown.row(rows[0], named=True)
            store, day = pick["store"], pick["business_day"]
            ui.set_url({PICK: store_day_param(store, day)})
        else:
            store, day = parse_store_day(ui.url_value(PICK))
        if day is not None:
            st.markdown(
                f"**{ui.literal(store_label(store, names))}, {day:%Y-%m-%d}** by tender account"
            )
            that_day = replace(
                filters, date_from=day, date_to=day, stores=(), kinds=(), owner="finance"
            )
            accounts = ui.takings(url, that_day).filter(pl.col("store").eq_missing(store))
            ui.table(ui.with_store_names(accounts, names), "takings_accounts")
            st.markdown("**The exceptions that explain it** (choose one to open it)")
            found = ui.exceptions(url, that_day).filter(pl.col("store").eq_missing(store))
            if found.is_empty():
                st.write("No open finance exceptions on this store-day.")
            else:
                ui.exception_list(found, "takings_exceptions", that_day)
            if store is not None:
                st.page_link(
                    ui.EXCEPTIONS_PAGE,
                    label="Exceptions of this store-day",
                    query_params=filters.store_day(store, day).to_query_params()
                    | {"owner": "finance"},
                )
        with st.expander("Every account row (store, day, tender account)"):
            accounts_all = ui.takings(url, scope).filter(pl.col("currency") == currency)
            ui.show_frame(ui.with_store_names(accounts_all, names), key="takings_all")
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
    ui.show_frame(ui.with_store_names(vat_shown, names), key="vat_totals")
    ui.downloads(vat_shown, "vat_by_store_day")

with tab_signoff:
    attributed = by_day.filter(pl.col("store").is_not_null())
    signoff_days = sorted(set(by_day["business_day"].to_list()), reverse=True)
    stores_of = {
        d: sorted(set(attributed.filter(pl.col("business_day") == d)["store"].to_list()))
        for d in signoff_days
    }
    panel(url, user, signoff_days, stores_of, names)
