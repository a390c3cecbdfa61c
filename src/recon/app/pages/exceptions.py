"""Exceptions page: the worklist (filters, my queue, sort, columns, saved views, due-by),
bulk actions on the rows chosen, CSV export, one exception's detail and workflow.

Thin: reads through `recon.app.ui` and `recon.app.worklist`, writes only through
`recon.app.workflow` (and a user's own saved views through `recon.app.worklist`); what is
looked at (filters, `queue`, `sort`, `cols`) and the selected exception (`?id=...`) are in
the URL, so a link opens the same worklist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import polars as pl
import streamlit as st

from recon.app import ui, workflow
from recon.app.causes import cause_text
from recon.app.filters import FILTER_KEYS, OPEN_STATUSES, Filters
from recon.app.money import exception_value, money, store_label
from recon.app.queries import AGE_BUCKETS, ExceptionDetail
from recon.app.worklist import (
    EXTRA_COLUMNS,
    SORTS,
    STYLED_ROWS,
    VIEW_KEYS,
    View,
    ViewError,
    delete_view,
    overdue_styler,
    save_view,
    stored_view,
    view_params,
    worklist,
)
from recon.reconcile.describe import OWNER_FIX

actor = ui.require_user()  # the audit trail's actor is whoever signed in; role checked now
url = ui.warehouse_url()
engine = ui.engine(url)
filters = ui.sidebar_filters(ui.store_options(url))
COLUMNS = (*ui.READABLE_COLUMNS, *EXTRA_COLUMNS)

st.title("Exceptions")

# --- the view: my queue, sort, columns; from the URL, written back to it ---------------
_SEEN = "_wl_view"  # the view the last run showed (a changed URL seeds the widgets again)
problems: list[str] = []
url_view = View.from_query_params(ui.url_params(), COLUMNS, problems)
for problem in problems:  # they quote the URL, which anyone can write
    st.warning(ui.literal(problem))
if st.session_state.get(_SEEN) != url_view or "wl_sort" not in st.session_state:
    st.session_state["wl_mine"] = url_view.mine
    st.session_state["wl_sort"] = url_view.sort
    st.session_state["wl_cols"] = list(url_view.columns)
mine_col, sort_col, cols_col = st.columns([1, 2, 4])
mine_col.toggle("My queue", key="wl_mine", help="The open exceptions assigned to you")
sort_col.selectbox("Sort", tuple(SORTS), key="wl_sort", format_func=SORTS.__getitem__)
cols_col.multiselect("Columns", COLUMNS, key="wl_cols", placeholder="all columns")
view = View(
    mine=st.session_state["wl_mine"],
    sort=st.session_state["wl_sort"],
    columns=tuple(st.session_state["wl_cols"]),
)
st.session_state[_SEEN] = view
wanted = view.to_query_params()
ui.set_url({key: wanted.get(key) for key in VIEW_KEYS})


def _apply(name: str, params: Mapping[str, str]) -> None:
    """Open a saved view: its query string becomes the page's (the widgets follow it); what
    of it no longer applies is named after the rerun."""
    applies, problems = stored_view(params, COLUMNS)
    for key in (*FILTER_KEYS, *VIEW_KEYS, "id"):
        if key in st.query_params:
            del st.query_params[key]
    st.query_params.update(applies)
    if problems:
        st.session_state[_VIEW_STALE] = f"view {name} no longer applies: " + "; ".join(problems)


_VIEW_DONE = "_view_done"  # what the last save or delete did, shown after the rerun
_VIEW_STALE = "_view_stale"  # what of the view last applied no longer applies
if _VIEW_STALE in st.session_state:
    st.warning(ui.literal(st.session_state.pop(_VIEW_STALE)))
with st.expander("Saved views"):
    if _VIEW_DONE in st.session_state:
        st.success(ui.literal(st.session_state.pop(_VIEW_DONE)))
    views = ui.saved_views(url, actor.name)
    with st.form("view_form", clear_on_submit=True):
        name = st.text_input("Save this view as", key="view_name")
        if st.form_submit_button("Save view", key="view_save"):
            try:
                with engine.begin() as conn:
                    saved = save_view(conn, actor.name, name, view_params(filters, view))
            except ViewError as exc:
                st.error(ui.literal(exc))
            else:
                st.session_state[_VIEW_DONE] = f"view {saved} saved"
                st.rerun()
    if views:
        pick = st.selectbox("Your views", list(views), key="view_pick")
        apply_col, delete_col, _ = st.columns([1, 1, 4])
        apply_col.button("Apply", key="view_apply", on_click=_apply, args=(pick, views[pick]))
        if delete_col.button("Delete", key="view_delete"):
            with engine.begin() as conn:
                delete_view(conn, actor.name, pick)
            st.session_state[_VIEW_DONE] = f"view {pick} deleted"
            st.rerun()
    else:
        st.caption("No saved views yet: set filters, sort and columns, then save them here.")

# --- the worklist ----------------------------------------------------------------------
scope = replace(filters, status="open") if view.mine else filters
frame = worklist(
    ui.exceptions(url, scope),
    ui.map_settings(url),
    datetime.now(UTC),
    sort=view.sort,
    assignee=actor.name if view.mine else None,
)
shaded = frame.height <= STYLED_ROWS
st.caption(
    f"{frame.height} exceptions"
    + (" open and assigned to you" if view.mine else "")
    + f", {frame['overdue'].sum()} overdue"
    + (" (red)" if shaded else f" (ticked in `overdue`; red up to {STYLED_ROWS} rows)")
)
ui.tolerances_caption(url)
_BULK_DONE = "_bulk_done"  # the last bulk action's summary, shown after the rerun
if _BULK_DONE in st.session_state:
    all_done, summary = st.session_state.pop(_BULK_DONE)
    (st.success if all_done else st.warning)(ui.literal(summary))


def _shown(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """The worklist as people read it: the readable columns, money at stake with its
    currency, age in days, due-by; only `columns` (and the id) when some are chosen."""
    extra = frame.select(
        pl.struct("money_at_stake", "currency")
        .map_elements(
            lambda r: (
                money(r["money_at_stake"], r["currency"])
                if r["money_at_stake"] is not None
                else None
            ),
            return_dtype=pl.String,
        )
        .alias("money_at_stake"),
        "age_days",
        "due_by",
        "overdue",
    )
    shown = pl.concat([ui.readable(frame), extra], how="horizontal")
    if columns:
        return shown.select("id", *(c for c in columns if c != "id"))
    return shown


shown = _shown(frame, view.columns)
formats: dict[str, Any] = {
    "business_day": st.column_config.DateColumn(format="YYYY-MM-DD"),
    "due_by": st.column_config.DatetimeColumn("due by (UTC)", format="YYYY-MM-DD HH:mm"),
    "age_days": st.column_config.NumberColumn("age (days)", format="%.1f"),
}
event = st.dataframe(
    overdue_styler(shown, frame["overdue"]) if shaded else shown,
    key="table",
    on_select="rerun",
    selection_mode="multi-row",
    hide_index=True,
    column_config=formats,
)
ui.downloads(frame, "exceptions", exceptions=True)
ids: list[str] = frame["id"].to_list()
rows: list[int] = event.selection.rows if event is not None else []
chosen = [ids[r] for r in rows if r < len(ids)]


# --- bulk actions on the rows chosen --------------------------------------------------
def _bulk(action: Any) -> None:
    """Run a bulk action (a refusal of the whole, e.g. no reason, is one error line);
    its summary shows after the rerun."""
    result: list[workflow.Bulk] = []
    if ui.run_action(lambda: result.append(action()), ""):
        done = result[0]
        st.session_state[_BULK_DONE] = (not done.skipped, done.summary())
        st.rerun()


def _repost(
    order_ids: list[str],
) -> tuple[Mapping[str, tuple[bool, str]], str | None]:
    from recon.config import load_settings
    from recon.jobs import repost_job

    done = repost_job(load_settings(), order_ids)
    return {o.order_id: (o.in_erp, o.text) for o in done.outcomes}, done.settled


if len(chosen) > 1:
    with st.container(border=True, key="bulk"):
        st.markdown(f"**{len(chosen)} selected**: act on them all at once")
        owners = set(frame.filter(pl.col("id").is_in(chosen))["owner"].to_list())
        accounts = ui.account_roles()
        people = sorted({p for o in owners for p in workflow.assignees(accounts, o)})
        assign_col, comment_col, close_col = st.columns(3)
        with assign_col.form("bulk_assign_form", clear_on_submit=True):
            who = st.selectbox("Assign all to", people, key="bulk_who")
            if st.form_submit_button("Assign selected", key="bulk_assign") and who:
                _bulk(lambda: workflow.bulk_assign(engine, chosen, who, actor, accounts=accounts))
        with comment_col.form("bulk_comment_form", clear_on_submit=True):
            note = st.text_input("Comment on all", key="bulk_note")
            if st.form_submit_button("Comment on selected", key="bulk_comment"):
                _bulk(lambda: workflow.bulk_comment(engine, chosen, note, actor))
        with close_col.form("bulk_close_form", clear_on_submit=True):
            reason = st.text_input("Reason for closing (required)", key="bulk_reason")
            if st.form_submit_button("Close selected", key="bulk_close"):
                _bulk(lambda: workflow.bulk_close(engine, chosen, reason, actor))
        st.caption("Fixed the cause? Post every selected exception's POS order in one run:")
        if st.button("Re-sync selected", key="bulk_resync"):
            with st.spinner("Posting the orders; then collecting and reconciling"):
                _bulk(lambda: workflow.bulk_resync(engine, chosen, actor, _repost))
elif not chosen:
    st.caption("Select rows (the boxes on the left) to act on several at once.")

with st.expander("Ageing: open exceptions by days since first seen"):
    aged = ui.ageing(url, filters)
    if aged.is_empty():
        st.write("No open exceptions for these filters.")
    else:
        buckets = [label for label, _ in AGE_BUCKETS if label in aged["age"].to_list()]
        for values, index, key in (
            ("count", ["owner", "kind"], "ageing_counts"),
            ("money_at_stake", ["owner", "kind", "currency"], "ageing_money"),
        ):
            table = aged.filter(pl.col(values).is_not_null()).pivot(
                on="age", index=index, values=values, aggregate_function="sum"
            )
            st.markdown("**Exceptions**" if values == "count" else "**Money at stake**")
            columns = [*index, *(b for b in buckets if b in table.columns)]
            ui.show_frame(table.select(columns), key=key)
        ui.downloads(aged, "ageing")

ui.whatif_panel(url)

# --- which exception: one table row, the box, or ?id= ---------------------------------
names = ui.store_names(url)
labels = {
    r["id"]: f"{r['kind']} · {r['pos_ref'] or r['erp_ref'] or r['sku'] or r['tender'] or ''}"
    f" · store {store_label(r['store'], names) if r['store'] else '-'} {r['business_day'] or ''}"
    for r in frame.iter_rows(named=True)
}
url_id = ui.url_value("id")
if "exc_id" not in st.session_state or url_id != st.session_state.get("_url_id"):
    st.session_state["exc_id"] = url_id  # first visit, or a link changed the URL
if len(chosen) == 1 and chosen[0] != st.session_state.get("_row_id"):
    st.session_state["_row_id"] = chosen[0]
    st.session_state["exc_id"] = chosen[0]
options: list[str | None] = [None, *ids]
if st.session_state["exc_id"] not in options:
    options.append(st.session_state["exc_id"])
selected: str | None = st.selectbox(
    "Exception",
    options,
    key="exc_id",
    format_func=lambda i: "(choose one)" if i is None else labels.get(i, i),
)
ui.set_url({"id": selected})
st.session_state["_url_id"] = selected


def _money(exc: dict[str, Any], column: str) -> str:
    return ui.literal(exception_value(exc["kind"], exc[column], exc["currency"]) or "-")


def _detail(detail: ExceptionDetail) -> None:
    exc = detail.exception
    st.subheader(f"{exc['kind'].replace('_', ' ')}: {ui.literal(cause_text(exc['cause']))}")
    fix = OWNER_FIX.get(exc["kind"])
    if fix:
        st.info(fix, icon=":material/build:")
    explainer = exc["cause"].removeprefix("explained_by_")
    if explainer != exc["cause"] and exc["business_day"] is not None:  # a variance: its cause
        day = exc["business_day"]
        scope = Filters(date_from=day, date_to=day, kinds=(explainer,))
        if exc["store"] is not None:
            scope = scope.store_day(exc["store"], day)
        st.page_link(
            ui.EXCEPTIONS_PAGE,
            label=f"The {explainer.replace('_', ' ')} exceptions that explain it",
            query_params=scope.to_query_params(),
            icon=":material/link:",
        )
    info = st.columns(4)
    info[0].metric("Status", exc["status"])
    info[1].metric("Owner", exc["owner"])
    info[2].metric("Assignee", ui.literal(exc["assignee"] or "-"))
    info[3].metric("Severity", exc["severity"])
    values = st.columns(3)
    values[0].metric("POS", _money(exc, "pos_value"))
    values[1].metric("ERP", _money(exc, "erp_value"))
    values[2].metric("Difference (ERP - POS)", _money(exc, "difference"))
    refs = {k: exc[k] for k in ("store", "business_day", "pos_ref", "erp_ref", "sku", "tender")}
    if refs["store"] is not None:
        refs["store"] = store_label(refs["store"], names)
    st.caption(
        " · ".join(f"{k} **{ui.literal(v)}**" for k, v in refs.items() if v is not None)
        + f" · first seen {exc['first_seen']:%Y-%m-%d %H:%M} · last seen"
        f" {exc['last_seen']:%Y-%m-%d %H:%M} UTC · cause code {ui.literal(exc['cause'])}"
    )

    chain = detail.chain
    tab_chain, tab_raw, tab_audit = st.tabs(["Order chain", "Raw payloads", "Audit trail"])
    with tab_chain:
        pos, erp = st.columns(2)
        with pos:
            st.markdown(f"**POS order {ui.literal(chain.order_id or '-')}**")
            if chain.order_id:
                st.page_link(
                    ui.FIND_PAGE,
                    label="Its whole chain, with statuses",
                    query_params={"id": chain.order_id},
                    icon=":material/account_tree:",
                )
            for title, part in (
                ("order", chain.pos_order),
                ("refunds", chain.refunds),
                ("lines", chain.pos_lines),
                ("payments", chain.pos_payments),
            ):
                _part(title, part)
        with erp:
            st.markdown("**ERP**")
            for title, part in (
                ("documents", chain.erp_documents),
                ("document lines", chain.erp_lines),
                ("journal / receipt lines", chain.erp_journal_lines),
                ("sync posts", chain.sync_posts),
            ):
                _part(title, part)
    with tab_raw:
        pos, erp = st.columns(2)
        with pos:
            st.markdown("**POS (as received)**")
            for record in chain.pos_raw() or []:
                st.caption(ui.literal(record.label))
                st.json(record.payload, expanded=2)
            if not chain.pos_raw():
                st.write("No POS payload.")
        with erp:
            st.markdown("**ERP (as received)**")
            for record in chain.erp_raw():
                st.caption(ui.literal(record.label))
                st.json(record.payload, expanded=2)
            if not chain.erp_raw():
                st.write("No ERP payload.")
    with tab_audit:
        if detail.events.is_empty():
            st.write("No events yet.")
        else:
            events = detail.events.drop("exception_id")
            ui.show_frame(events, key="events")
            ui.downloads(events, f"audit_{exc['id']}")
    if workflow.allowed(actor.role, exc["owner"]):
        _actions(exc["id"], exc["status"], exc["kind"], exc["pos_ref"], exc["owner"])
    else:  # workflow refuses it too: hiding the buttons is only the courtesy
        st.caption(f"Workflow: {exc['owner']} exceptions are worked by {exc['owner']} and admin.")


def _part(title: str, part: pl.DataFrame) -> None:
    if part.is_empty():
        st.caption(f"{title}: none")
    else:
        st.caption(title)
        ui.show_frame(part.drop("raw_id", strict=False))


def _act(action: Any, done: str) -> None:
    if ui.run_action(action, done):
        st.rerun()


def _post_order(order_id: str) -> tuple[bool, str]:
    from recon.config import load_settings
    from recon.jobs import repost_job

    done = repost_job(load_settings(), [order_id])
    return done.posted > 0, done.text()


_OUTCOME = "_resync_outcome"  # the last re-sync's outcome, shown after the rerun


def _resync(exception_id: str) -> None:
    result: list[tuple[bool, str]] = []
    with st.spinner("Posting the order; once it is in the ERP, collecting and reconciling"):
        ok = ui.run_action(
            lambda: result.append(workflow.resync(engine, exception_id, actor, _post_order)),
            "",
        )
    if ok:
        st.session_state[_OUTCOME] = result[0]
        st.rerun()


def _actions(exception_id: str, status: str, kind: str, pos_ref: str | None, owner: str) -> None:
    st.markdown("**Workflow**")
    if _OUTCOME in st.session_state:
        in_erp, outcome = st.session_state.pop(_OUTCOME)
        (st.success if in_erp else st.warning)(ui.literal(outcome))
    if status in OPEN_STATUSES and kind in workflow.RESYNC_KINDS and pos_ref:
        st.caption("Fixed the cause (mapping, item, account)? Post the order now:")
        if st.button(f"Re-sync POS order {ui.literal(pos_ref)}", key="resync_btn"):
            _resync(exception_id)
    left, right = st.columns(2)
    with left.form("assign_form", clear_on_submit=True):
        accounts = ui.account_roles()
        who = st.selectbox("Assign to", workflow.assignees(accounts, owner), key="assign_who")
        if st.form_submit_button("Assign", key="assign_btn") and who is not None:
            _act(
                lambda: workflow.assign(engine, exception_id, who, actor, accounts=accounts),
                f"assigned to {who}",
            )
    with right.form("comment_form", clear_on_submit=True):
        text = st.text_area("Comment", key="comment_text", height=68)
        if st.form_submit_button("Comment", key="comment_btn"):
            _act(lambda: workflow.comment(engine, exception_id, text, actor), "comment added")
    if status in OPEN_STATUSES:
        with st.form("close_form", clear_on_submit=True):
            reason = st.text_input("Reason for closing (required)", key="close_reason")
            if st.form_submit_button("Close", key="close_btn"):
                _act(lambda: workflow.close(engine, exception_id, reason, actor), "closed")
    else:
        with st.form("reopen_form", clear_on_submit=True):
            why = st.text_input("Why reopen", key="reopen_reason")
            if st.form_submit_button("Reopen", key="reopen_btn"):
                _act(lambda: workflow.reopen(engine, exception_id, actor, why), "reopened")


if selected is not None:
    found = ui.detail(url, selected)
    if found is None:
        st.warning(f"No exception with id {ui.literal(selected)}.")
    else:
        _detail(found)
