"""The Exceptions page as a worklist, through AppTest: each panel's states (bulk actions,
my queue, sort and due-by, saved views) against a temp warehouse."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import polars as pl
from streamlit.testing.v1 import AppTest

from recon.app import queries
from recon.app.filters import Filters
from tests.app import apptest as pages
from tests.app.demo_warehouse import Warehouse
from tests.app.users import cheap_hash, write_users

PAGE = "pages/exceptions.py"


def _seed(wh: Warehouse) -> None:
    now = datetime.now(UTC)
    #            id    kind               status        diff      first seen            assignee
    wh.exception(
        "f1", "missing_in_erp", status="new", diff="-12.00", first_seen=now, pos_ref="5001"
    )
    wh.exception(
        "f2",
        "amount_mismatch",
        status="new",
        diff="-80.00",
        first_seen=now - timedelta(days=3),
        pos_ref="5002",
        assignee="ann",
    )
    wh.exception(
        "o1",
        "stock_variance",
        status="new",
        diff="-3",
        first_seen=now - timedelta(hours=1),
        assignee="ann",
    )
    wh.exception("fc", "missing_in_erp",  status="closed", diff="-5.00", first_seen=now,
                 assignee="ann")  # fmt: skip
    pw = cheap_hash("pw" * 6)
    accounts = {"fay": {"role": "finance", "password": pw}, "olly": {"role": "ops", "password": pw}}
    write_users(Path(os.environ["RECON_USERS"]), accounts, merge=True)


def _select(at: AppTest, *ids: str) -> AppTest:
    """Tick the table rows of these exceptions (as the boxes on the left do)."""
    shown: Any = at.dataframe(key="table").value
    rows = [i for i, exc_id in enumerate(shown["id"]) if exc_id in ids]
    at.session_state["table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def _table(at: AppTest, *columns: str) -> list[tuple[Any, ...]]:
    shown: Any = at.dataframe(key="table").value
    rows = shown[list(columns)].itertuples(index=False)
    return [tuple(None if pd.isna(v) else v for v in r) for r in rows]


def _state(wh: Warehouse) -> list[tuple[Any, ...]]:
    frame = wh.read(queries.exceptions, Filters(status="all"))
    return frame.select("id", "status", "assignee").sort("id").rows()


def _texts(at: AppTest) -> list[str]:
    return [pages.shown(e.value) for e in (*at.success, *at.warning, *at.error)]


def test_the_worklist_panels_on_an_empty_warehouse(data: Warehouse) -> None:
    at = pages.app(PAGE)
    assert not at.exception
    assert pages.ids(at, "table") == []
    captions = [c.value for c in at.caption]
    assert "0 exceptions, 0 overdue (red)" in captions
    assert "Select rows (the boxes on the left) to act on several at once." in captions
    assert "No saved views yet: set filters, sort and columns, then save them here." in captions
    assert not [c for c in at.get("flexible_container") if c.key == "bulk"]  # nothing chosen


def test_bulk_assign_shows_the_panel_for_several_rows_and_one_summary(data: Warehouse) -> None:
    _seed(data)
    at = pages.app(PAGE, role="admin")
    at = _select(at, "f1", "o1")
    assert "**2 selected**: act on them all at once" in [m.value for m in at.markdown]
    # finance and ops rows chosen: anyone who may work one of them, from the accounts
    assert at.selectbox(key="bulk_who").options == ["ann", "fay", "olly"]
    at.selectbox(key="bulk_who").set_value("fay")
    at.button(key="bulk_assign").click().run()
    assert not at.exception
    assert _texts(at) == [
        "assigned to fay 1 of 2; skipped 1: o1 (fay (finance) may not work a ops exception)"
    ]
    assert _state(data) == [
        ("f1", "new", "fay"),
        ("f2", "new", "ann"),
        ("fc", "closed", "ann"),
        ("o1", "new", "ann"),
    ]


def test_a_finance_user_bulk_closing_skips_and_names_what_is_not_theirs(
    data: Warehouse,
) -> None:
    _seed(data)
    at = pages.app(PAGE, role="finance", status="all")
    at.selectbox(key="f_owner").set_value("any").run()  # ops rows in sight too
    at = _select(at, "f1", "f2", "fc", "o1")
    at.text_input(key="bulk_reason").input("posted by hand")
    at.button(key="bulk_close").click().run()
    assert _texts(at) == [
        "closed 2 of 4; skipped 2: fc (exception fc is closed, not open);"
        " o1 (ann (finance) may not close a ops exception)"
    ]
    assert [s for _, s, _ in _state(data)] == ["closed", "closed", "closed", "new"]


def test_bulk_close_without_a_reason_is_one_error_and_changes_nothing(data: Warehouse) -> None:
    _seed(data)
    at = _select(pages.app(PAGE), "f1", "f2")
    at.button(key="bulk_close").click().run()
    assert _texts(at) == ["reason must not be empty"]
    assert [s for _, s, _ in _state(data)] == ["new", "new", "closed", "new"]


def test_bulk_comment_and_a_resync_with_nothing_to_post(data: Warehouse) -> None:
    _seed(data)
    at = _select(pages.app(PAGE), "f2", "o1")
    at.text_input(key="bulk_note").input("store asked")
    at.button(key="bulk_comment").click().run()
    assert _texts(at) == ["commented on 2 of 2"]
    at = _select(at, "f2", "o1")
    at.button(key="bulk_resync").click().run()  # neither has an order to post: no run
    assert _texts(at) == [
        "re-synced 0 of 2; skipped 2: f2 (a amount_mismatch exception has no POS order);"
        " o1 (a stock_variance exception has no POS order)"
    ]


def test_my_queue_is_one_click_and_in_the_url(data: Warehouse) -> None:
    _seed(data)
    at = pages.app(PAGE, role="admin", status="all")
    at.toggle(key="wl_mine").set_value(True).run()
    assert sorted(pages.ids(at, "table")) == ["f2", "o1"]  # ann's open ones, not fc
    assert at.query_params["queue"] == "mine"
    assert "2 exceptions open and assigned to you, 1 overdue (red)" in [c.value for c in at.caption]
    shared = pages.app(PAGE, role="admin", queue="mine")  # the link, opened afresh
    assert shared.toggle(key="wl_mine").value is True
    assert sorted(pages.ids(shared, "table")) == ["f2", "o1"]


def test_sorted_by_money_at_stake_with_age_and_due_by(data: Warehouse) -> None:
    _seed(data)
    at = pages.app(PAGE, role="admin", sort="money")
    assert at.selectbox(key="wl_sort").value == "money"
    rows = _table(at, "id", "money_at_stake", "overdue")
    assert rows == [
        ("f2", "80.00 GBP", True),  # three days old, due after 48 h
        ("f1", "12.00 GBP", False),
        ("o1", None, False),  # a stock variance: no money at stake
    ]
    at.selectbox(key="wl_sort").set_value("age").run()
    assert pages.ids(at, "table") == ["f2", "o1", "f1"]
    assert at.query_params["sort"] == "age"


def test_columns_chosen_are_the_columns_shown_and_a_bad_url_is_named(data: Warehouse) -> None:
    _seed(data)
    at = pages.app(PAGE, cols="kind,money_at_stake,nope", sort="biggest")
    shown: Any = at.dataframe(key="table").value
    assert list(shown.columns) == ["id", "kind", "money_at_stake"]
    assert [pages.shown(w.value) for w in at.warning] == [
        "sort='biggest' is not one of day, money, age, due; ignored",
        "cols: 'nope' is not a worklist column; ignored",
    ]


def test_saved_views_save_apply_and_delete_for_their_owner_only(data: Warehouse) -> None:
    _seed(data)
    at = pages.app(PAGE, role="admin", kind="stock_variance", sort="money", queue="mine")
    at.text_input(key="view_name").input("my stock")
    at.button(key="view_save").click().run()
    assert at.selectbox(key="view_pick").options == ["my stock"]

    at = pages.app(PAGE, role="admin")  # a fresh session, all filters at their defaults
    assert sorted(pages.ids(at, "table")) == ["f1", "f2", "o1"]
    at.button(key="view_apply").click().run()
    assert pages.ids(at, "table") == ["o1"]  # the view's filters, queue and sort
    params = {k: at.query_params[k] for k in ("kind", "queue", "sort")}
    assert params == {"kind": "stock_variance", "queue": "mine", "sort": "money"}
    assert at.toggle(key="wl_mine").value is True

    fay = AppTest.from_file(str(pages.MAIN), default_timeout=pages.TIMEOUT)
    pages.sign_in(fay, "finance", name="fay")
    fay.run().switch_page(PAGE)
    assert not [s for s in fay.run().selectbox if s.key == "view_pick"]  # not fay's

    at.button(key="view_delete").click().run()
    assert not [s for s in at.selectbox if s.key == "view_pick"]


def test_overdue_rows_are_highlighted_whole() -> None:
    import re

    from recon.app.worklist import OVERDUE_STYLE, overdue_styler

    shown = pl.DataFrame({"id": ["a", "b", "c"], "kind": ["k", "k", "k"]})
    html = overdue_styler(shown, pl.Series([False, True, True])).to_html()
    rule = re.search(r"<style[^>]*>\s*(.*?)\s*\{\s*" + re.escape(OVERDUE_STYLE), html, re.S)
    assert rule is not None
    cells = sorted(re.findall(r"_(row\d+_col\d+)", rule.group(1)))
    assert cells == ["row1_col0", "row1_col1", "row2_col0", "row2_col1"]


def test_a_long_worklist_is_drawn_unshaded_with_overdue_ticked(data: Warehouse) -> None:
    from recon.app.worklist import STYLED_ROWS

    old = datetime.now(UTC) - timedelta(days=5)
    for n in range(STYLED_ROWS + 1):
        data.exception(f"x{n:04d}", diff="-1.00", first_seen=old)
    at = pages.app(PAGE)
    assert not at.exception
    assert f"{STYLED_ROWS + 1} exceptions, {STYLED_ROWS + 1} overdue (ticked in `overdue`;" in (
        " ".join(c.value for c in at.caption)
    )
    assert bool(at.dataframe(key="table").value["overdue"].all())


def test_a_saved_view_that_no_longer_applies_loads_what_it_can_and_says_so(
    data: Warehouse,
) -> None:
    """A kind since removed, a bad date: the rest applies and one warning names them; a
    stored text that does not read no longer took the whole page down."""
    import json

    from sqlalchemy import insert

    from recon.warehouse.models import SavedView

    _seed(data)
    now = datetime.now(UTC)
    stale = {"status": "all", "kind": "gone_kind,stock_variance", "from": "2024-13-45"}
    with data.engine.begin() as conn:
        for name, text in (("broken", "not json"), ("stale", json.dumps(stale))):
            conn.execute(
                insert(SavedView).values(owner="ann", name=name, params=text, saved_at=now)
            )
    at = pages.app(PAGE, role="admin")
    assert not at.exception
    at.selectbox(key="view_pick").set_value("stale").run()
    at.button(key="view_apply").click().run()
    assert not at.exception
    assert _texts(at) == [
        "view stale no longer applies: kind='gone_kind' is not an exception kind; ignored; "
        "from='2024-13-45' is not a date (YYYY-MM-DD); ignored"
    ]
    assert pages.ids(at, "table") == ["o1"]  # status all, kind stock_variance: the rest
    assert dict(at.query_params) == {"status": "all", "kind": "stock_variance"}
    at.selectbox(key="view_pick").set_value("broken").run()
    at.button(key="view_apply").click().run()
    assert not at.exception
    assert _texts(at) == [
        "view broken no longer applies: its stored settings cannot be read; delete it and "
        "save it again"
    ]
