"""Stock & items page (ops): stock variances ranked by value, SKUs the ERP lacks, price
mismatches and stores without a location mapping.

Thin: reads through `recon.app.ui`; a row opens the exception on the Exceptions page.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from recon.app import ui
from recon.reconcile.describe import OWNER_FIX

ui.require_role("ops", "admin")  # main.py routes by role too
url = ui.warehouse_url()
ui.engine(url)
filters = ui.sidebar_filters(ui.store_options(url))

st.title("Stock & items")
st.caption("Stock and master data have no business day: the day filters do not apply here.")

st.subheader("Stock variances, largest value first")
st.caption(OWNER_FIX["stock_variance"])
stock = ui.stock_variances(url, filters)
if stock.is_empty():
    st.success("POS and ERP stock agree for these stores.")
else:
    event = ui.show_frame(
        ui.with_store_names(stock),
        key="stock_table",
        on_select="rerun",
        selection_mode="single-row",
    )
    ui.downloads(stock, "stock_variances")
    rows = event.selection.rows if event is not None else []
    if rows:
        st.switch_page(
            ui.EXCEPTIONS_PAGE, query_params={"id": stock["id"][rows[0]], "status": "all"}
        )

for kind, title in (
    ("unknown_sku", "SKUs the ERP does not know"),
    ("price_mismatch", "POS price differs from the ERP master price"),
    ("unmapped_location", "Stores with no ERP location"),
):
    st.subheader(title)
    st.caption(OWNER_FIX[kind])
    scope = replace(filters, kinds=(kind,), owner=None, date_from=None, date_to=None)
    frame = ui.exceptions(url, scope)
    if frame.is_empty():
        st.success("None.")
    else:
        ui.exception_list(frame, kind, scope)
