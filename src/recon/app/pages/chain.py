"""Find an order: a POS order id or an ERP document number in, the order's chain out.

The sale, its ERP documents, its refunds and their credit notes, its tender postings and its
sync posts, each with its status; the open exceptions on the chain, each a link to its
drill-down; the raw payloads. Thin: the chain is `recon.warehouse.chain` (the one service,
shared with `recon chain`), read through `recon.app.ui`; the ID is in the URL (`?id=...`) so
a link opens the chain.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st

from recon.app import ui
from recon.app.causes import cause_text
from recon.app.money import money, store_label
from recon.warehouse.chain import BROKEN, OK, Chain, Link

ui.require_user()
url = ui.warehouse_url()
names = ui.store_names(url)

TITLES = {
    "order": "Sale",
    "documents": "ERP documents",
    "refunds": "Refunds",
    "credit_notes": "Credit notes",
    "tenders": "Tender postings",
    "sync_posts": "Sync posts",
}
MONEY = ("gross_total", "vat_total", "pos_amount", "erp_amount")
HIDDEN = ("currency", "raw_id")  # shown with the money, or not at all

st.title("Find an order")
url_id = ui.url_value("id") or ""
if "chain_id" not in st.session_state or url_id != st.session_state.get("_chain_url"):
    st.session_state["chain_id"] = url_id  # first visit, or a link changed the URL
st.text_input(
    "POS order id or ERP document number",
    key="chain_id",
    placeholder="e.g. 5120, SO-1042",
    help="A POS order id (a refund shows its sale's chain), an ERP document number or id, "
    "or the journal id of an order's receipt.",
)
wanted: str = st.session_state["chain_id"].strip()
ui.set_url({"id": wanted or None})
st.session_state["_chain_url"] = wanted


def _cell(key: str, value: Any, currency: str | None) -> str | None:
    if value is None:
        return None
    if key in MONEY:
        return money(value, currency)
    if key == "store_id":
        return store_label(str(value), names)
    if isinstance(value, date | datetime):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if not isinstance(value, Decimal) else format(value, "f")


def _table(links: tuple[Link, ...]) -> pl.DataFrame:
    """The links as a table of text: ref, status, level, why, then their values (money with
    two decimals and its currency). A table shows text as written: no Markdown."""
    rows = []
    for link in links:
        currency = link.values.get("currency")
        values = {k: _cell(k, v, currency) for k, v in link.values.items() if k not in HIDDEN}
        rows.append({"ref": link.ref or "(none)", "status": link.status, "level": link.level,
                     "why": link.detail or None, **values})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None).cast(pl.String)


def _show(chain: Chain) -> None:
    head = f"POS order {chain.order_id}" if chain.order_id else f"ERP document {chain.query}"
    line = f"{ui.literal(head)}: **{chain.status}**"
    if chain.query != chain.order_id:
        line += f" (found by {chain.found_as.replace('_', ' ')} {ui.literal(chain.query)})"
    {OK: st.success, BROKEN: st.error}.get(chain.status, st.warning)(line)
    for how, order in chain.also:  # the ID names more than this chain
        where = f"POS order {ui.literal(order)}'s chain" if order else "a document of no order"
        st.page_link(
            ui.FIND_PAGE,
            label=f"Also: {how.replace('_', ' ')} {ui.literal(chain.query)} is on {where}",
            query_params={"id": order} if order else None,
            icon=":material/call_split:",
            disabled=order is None,
        )
    for role, title in TITLES.items():
        links = chain.of(role)
        if not links:
            st.caption(f"{title}: none")
            continue
        st.markdown(f"**{title}**")
        ui.show_frame(_table(links), key=f"chain_{role}")

    st.markdown(f"**Open exceptions on the chain: {chain.exceptions.height}**")
    for e in chain.exceptions.iter_rows(named=True):
        st.page_link(
            ui.EXCEPTIONS_PAGE,
            label=f"{e['kind'].replace('_', ' ')}: {ui.literal(cause_text(e['cause']))}"
            f" · {ui.literal(e['pos_ref'] or e['erp_ref'] or e['account'] or '')}",
            query_params={"id": e["id"]},
            icon=":material/link:",
        )
    raw = chain.records.pos_raw() + chain.records.erp_raw()
    with st.expander(f"Raw payloads ({len(raw)})"):
        for record in raw:
            st.caption(ui.literal(record.label))
            st.json(record.payload, expanded=1)
        if not raw:
            st.write("No payloads kept for this chain.")


if not wanted:
    st.info(
        "Type a POS order id or an ERP document number: the sale, its ERP documents, refunds "
        "and credit notes, tender postings and sync posts show with their statuses."
    )
else:
    found = ui.chain(url, wanted)
    if isinstance(found, str):
        st.warning(ui.literal(found))
    else:
        _show(found)
