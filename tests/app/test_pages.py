"""The dashboard pages through streamlit.testing.v1.AppTest, against a temp warehouse."""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from recon.app import queries, ui
from recon.app.auth import User, add_user, sign_token, verify_token
from recon.app.filters import Filters
from tests.app.apptest import (
    MAIN,
    SECRET,
    TIMEOUT,
    app,
    ids,
    metrics,
    shown,
    sign_in,
    table_with,
)
from tests.app.demo_warehouse import T0, Warehouse
from tests.app.users import cheap_hash, write_users


def _seed(wh: Warehouse) -> None:
    #            id    kind                store day           pos      erp     diff
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00", pos_ref="5120")
    wh.exception("b", "amount_mismatch", "1", "2024-06-01", "10.00", "9.50", "-0.50",
                 pos_ref="5121", erp_ref="SO-2", cause="rounding_0.50")  # fmt: skip
    wh.exception("c", "stock_variance", "7", "2024-06-02", "5", "2", "-3", cause="drift")
    wh.order("5121", payload={"orderid": 5121, "moneytotal_gross_all": "10.00"})
    wh.document("D2", "SO-2", "5121", gross="9.50", payload={"customer_document_no": "5121"})
    wh.run("reconcile", T0 - timedelta(minutes=5), T0)


# --- overview ---------------------------------------------------------------------------


def test_overview_renders_an_empty_warehouse(data: Warehouse) -> None:
    at = app()
    assert not at.exception
    assert metrics(at)["Exceptions"] == "0"
    assert "No POS orders and no exceptions for these filters." in [i.value for i in at.info]
    assert any("`reconcile` has never finished" in w.value for w in at.warning)


def test_overview_with_data_shows_totals_and_heatmap(data: Warehouse) -> None:
    _seed(data)
    at = app()
    assert not at.exception
    m = metrics(at)
    assert (m["Exceptions"], m["Finance"], m["Ops"]) == ("3", "2", "1")
    assert any("Money at stake:** 12.50 GBP" in shown(md.value) for md in at.markdown)
    grid: Any = at.dataframe(key="heatmap").value  # stores by drift x days
    assert grid.to_dict("index") == {
        "1": {"2024-06-01": "2", "2024-06-02": ""},
        "7": {"2024-06-01": "", "2024-06-02": "1"},
    }


def test_overview_heatmap_pages_stores_ranked_by_drift(data: Warehouse) -> None:
    for n in range(30):  # store s10..s39: n + 1 exceptions each
        for k in range(n + 1):
            data.exception(f"x{n}-{k}", "missing_in_erp", f"s{n + 10}", "2024-06-01", "1.00",
                           None, "-1.00")  # fmt: skip
    at = app()
    grid: Any = at.dataframe(key="heatmap").value
    assert list(grid.index[:3]) == ["s39", "s38", "s37"] and len(grid) == 25
    assert at.selectbox(key="heat_rows").options == ["1-25", "26-30", "all 30"]
    at.selectbox(key="heat_rows").select("26-30").run()
    assert list(at.dataframe(key="heatmap").value.index) == ["s14", "s13", "s12", "s11", "s10"]


def test_overview_applies_filters_from_the_url(data: Warehouse) -> None:
    _seed(data)
    at = app(store="7")
    assert not at.exception
    assert at.multiselect(key="f_stores").value == ["7"]
    assert metrics(at)["Exceptions"] == "1"


def test_filter_widgets_write_the_url(data: Warehouse) -> None:
    _seed(data)
    at = app()
    at.selectbox(key="f_owner").select("ops").run()
    assert metrics(at)["Exceptions"] == "1"
    assert at.query_params["owner"] == "ops"


def test_overview_drills_into_a_store_day_from_the_url(data: Warehouse) -> None:
    _seed(data)
    at = app(at_store="1", at_day="2024-06-01")
    assert not at.exception
    assert sorted(ids(at, "drill_table")) == ["a", "b"]


def test_overview_drills_into_a_heatmap_cell(data: Warehouse) -> None:
    _seed(data)
    at = app()
    assert list(at.dataframe(key="heatmap").value.index) == ["1", "7"]  # most drift first
    # a click on store 7's cell of 2024-06-02 (row 1), as the browser reports it
    at.session_state["heatmap"] = {
        "selection": {"rows": [], "columns": [], "cells": [[1, "2024-06-02"]]}
    }
    at.run()
    assert (at.selectbox(key="drill_store").value, at.selectbox(key="drill_day").value) == (
        "7",
        "2024-06-02",
    )
    assert ids(at, "drill_table") == ["c"]
    assert (at.query_params["at_store"], at.query_params["at_day"]) == ("7", "2024-06-02")


def test_overview_drills_into_a_store_day_chosen_in_the_boxes(data: Warehouse) -> None:
    _seed(data)
    at = app()
    at.selectbox(key="drill_store").select("7")
    at.selectbox(key="drill_day").select("2024-06-02").run()
    assert ids(at, "drill_table") == ["c"]
    assert at.query_params["at_store"] == "7"


def test_overview_shows_what_is_new_since_the_last_run(data: Warehouse) -> None:
    _seed(data)
    data.exception("n", first_seen=T0 + timedelta(hours=1))
    data.run("reconcile", T0 + timedelta(minutes=59), T0 + timedelta(hours=1, minutes=1))
    at = app()
    assert metrics(at)["New since last run"] == "1"
    assert not [df for df in at.dataframe if df.key == "new_table"]  # drawn once opened
    at.session_state["new_box"] = True  # open the expander
    assert ids(at.run(), "new_table") == ["n"]


# --- exceptions -------------------------------------------------------------------------


def test_exceptions_page_renders_an_empty_warehouse(data: Warehouse) -> None:
    at = app("pages/exceptions.py")
    assert not at.exception
    assert ids(at, "table") == []


def test_exceptions_page_applies_filters_from_the_url(data: Warehouse) -> None:
    _seed(data)
    at = app("pages/exceptions.py", kind="stock_variance")
    assert not at.exception
    assert ids(at, "table") == ["c"]
    at = app("pages/exceptions.py", store="1", status="all")
    assert sorted(ids(at, "table")) == ["a", "b"]


def test_exception_detail_shows_cause_chain_and_both_raw_payloads(data: Warehouse) -> None:
    _seed(data)
    at = app("pages/exceptions.py", id="b")
    assert not at.exception
    assert at.subheader[0].value.startswith("amount mismatch: ")
    payloads = [j.value for j in at.json]
    assert any('"moneytotal_gross_all"' in p for p in payloads)  # POS side
    assert any('"customer_document_no"' in p for p in payloads)  # ERP side
    assert metrics(at)["Difference (ERP - POS)"] == "-0.50 GBP"  # two decimals, not three


def test_closing_with_a_reason_writes_status_and_audit_event(data: Warehouse) -> None:
    _seed(data)
    at = app("pages/exceptions.py", id="a")
    at.text_input(key="close_reason").input("posted by hand")
    at.button(key="close_btn").click().run()
    assert not at.exception

    detail = data.read(queries.exception_detail, "a")
    assert detail is not None
    assert detail.exception["status"] == "closed"
    assert detail.events.select("action", "actor", "note").rows() == [
        ("closed", "ann", "posted by hand")
    ]
    assert metrics(at)["Status"] == "closed"  # the page shows the new state at once


def test_closing_needs_a_reason(data: Warehouse) -> None:
    _seed(data)
    at = app("pages/exceptions.py", id="a")
    at.button(key="close_btn").click().run()
    assert any("reason must not be empty" in e.value for e in at.error)
    assert data.read(queries.exceptions, Filters(status="closed")).height == 0


def test_reopen_from_the_page(data: Warehouse) -> None:
    _seed(data)
    data.exception("z", status="closed")
    at = app("pages/exceptions.py", id="z", status="all")
    at.text_input(key="reopen_reason").input("came back")
    at.button(key="reopen_btn").click().run()
    row = data.read(queries.exceptions, Filters(status="all")).filter(pl.col("id") == "z")
    assert row["status"].to_list() == ["persisting"]


def test_assign_from_the_page(data: Warehouse) -> None:
    _seed(data)
    users = Path(os.environ["RECON_USERS"])
    pw = cheap_hash("pw" * 6)
    accounts = {"olly": {"role": "ops", "password": pw}, "fay": {"role": "finance", "password": pw}}
    write_users(users, accounts, merge=True)
    at = app("pages/exceptions.py", id="c")  # c is an ops exception
    # picked from the accounts whose role may work it (fay is finance: not offered)
    assert at.selectbox(key="assign_who").options == ["ann", "olly"]
    at.selectbox(key="assign_who").set_value("olly")
    at.button(key="assign_btn").click().run()
    assert metrics(at)["Assignee"] == "olly"
    detail = data.read(queries.exception_detail, "c")
    assert detail is not None
    assert detail.events.select("action", "actor", "note").rows() == [
        ("assigned", "ann", "olly")  # the signed-in user, not a typed name
    ]


# --- sync health ------------------------------------------------------------------------


def test_sync_health_renders_empty_and_with_data(data: Warehouse) -> None:
    at = app("pages/sync_health.py")
    assert not at.exception
    assert "No sync posts yet." in [i.value for i in at.info]

    assert "No order is held by a mapping or master-data problem." in [s.value for s in at.success]

    data.order("1", gross="20.00")
    data.sync_post("sale:1", "held", "1", "held_unmapped_tender", "map tender 'Gift' ...")
    data.sync_post("sale:2", "posted", order="2")
    at.button(key="refresh").click().run()  # past the query cache
    assert not at.exception
    assert list(table_with(at, "attempts")["post_key"]) == ["sale:1"]  # the stuck ones
    health = table_with(at, "money_blocked")
    assert health[["problem", "orders", "money_blocked"]].values.tolist() == [
        ["unmapped_tender", 1, Decimal("20.00")]
    ]


def test_exceptions_page_shows_open_exceptions_by_age(data: Warehouse) -> None:
    now = datetime.now(UTC)
    data.exception("new", diff="-2.00", first_seen=now)
    data.exception("old", diff="-5.00", first_seen=now - timedelta(days=10))
    data.exception("stock", "stock_variance", diff="-3", first_seen=now - timedelta(days=10))
    at = app("pages/exceptions.py")
    counts, money = (df.value for df in at.dataframe if "8-30 d" in df.value.columns)
    assert counts.to_dict("records") == [
        {"owner": "finance", "kind": "missing_in_erp", "0-1 d": 1, "8-30 d": 1},
        {"owner": "ops", "kind": "stock_variance", "0-1 d": 0, "8-30 d": 1},
    ]
    assert money.to_dict("records") == [
        {
            "owner": "finance",
            "kind": "missing_in_erp",
            "currency": "GBP",
            "0-1 d": Decimal("2.000"),
            "8-30 d": Decimal("5.000"),
        }
    ]


def test_reset_filters_drops_the_url_filters_too(data: Warehouse) -> None:
    _seed(data)
    at = app(role="finance", store="7", status="all")
    assert metrics(at)["Exceptions"] == "1"  # a link names its filters: no role default
    at.button(key="reset_filters").click().run()
    assert at.multiselect(key="f_stores").value == []
    assert at.selectbox(key="f_owner").value == "finance"  # back to the role's default
    assert "store" not in at.query_params
    assert metrics(at)["Exceptions"] == "2"


def test_date_range_from_the_sidebar(data: Warehouse) -> None:
    _seed(data)
    at = app()
    at.date_input(key="f_from").set_value(date(2024, 6, 2)).run()
    m = metrics(at)
    assert (m["Exceptions"], m["Finance"], m["Ops"]) == ("1", "0", "1")  # only c is on 06-02
    assert at.query_params["from"] == "2024-06-02"


def test_a_link_to_another_exception_in_the_same_session_opens_it(data: Warehouse) -> None:
    _seed(data)
    at = app("pages/exceptions.py", id="a")
    assert at.subheader[0].value.startswith("missing in erp: ")
    at.query_params["id"] = "c"
    at.run()
    assert at.subheader[0].value.startswith("stock variance: ")
    assert at.selectbox(key="exc_id").value == "c"


# --- sign-in and roles ------------------------------------------------------------------


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_an_anonymous_session_sees_only_the_login(data: Warehouse) -> None:
    _seed(data)
    at = app(role=None)
    assert not at.exception
    assert _titles(at) == ["recon"]
    assert at.text_input(key="login_name") is not None
    # only the hidden, data-less widgets that make the browser load their code early
    assert [m.label for m in at.metric] == ["preload"]
    assert [d.value.columns.tolist() for d in at.dataframe] == [["preload"]]
    assert not at.get("plotly_chart")
    # every page's address is the sign-in form (a shared link keeps its page for after
    # sign-in): no data page exists for this session
    with pytest.raises(ValueError, match=r"Known pages: \[('[^']*/login\.py'(, )?)+\]\.$"):
        at.switch_page("pages/exceptions.py")


def test_login_with_a_local_account(data: Warehouse, tmp_path: Path) -> None:
    _seed(data)
    add_user(tmp_path / "users.toml", "ann", "finance", "correct horse")
    at = app(role=None)
    at.text_input(key="login_name").input("ann")
    at.text_input(key="login_password").input("wrong")
    at.button(key="login_btn").click().run()
    assert [e.value for e in at.error] == ["Unknown user name or wrong password."]
    assert _titles(at) == ["recon"]

    at.text_input(key="login_password").input("correct horse")
    at.button(key="login_btn").click().run()
    assert not at.exception
    assert _titles(at) == ["Overview"]
    assert any("Signed in as **ann** (finance)" in c.value for c in at.sidebar.caption)


def _cookie_script(at: AppTest) -> str:
    """The JavaScript a run sent to set or clear the session cookie ('' when none)."""
    bodies = [h.proto.body for h in at.get("html")]
    return next((b for b in bodies if "recon_session" in b), "")


def _reload_with(monkeypatch: pytest.MonkeyPatch, cookies: dict[str, str]) -> AppTest:
    """A new session (a reload) whose browser sends `cookies`."""
    monkeypatch.setattr(ui, "request_cookies", lambda: cookies)
    return app(role=None)


def test_a_local_sign_in_survives_a_reload(
    data: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(tmp_path / "users.toml", "ann", "finance", "correct horse")
    at = app(role=None)
    at.text_input(key="login_name").input("ann")
    at.text_input(key="login_password").input("correct horse")
    at.button(key="login_btn").click().run()
    script = _cookie_script(at)
    token = re.search(r"recon_session=([^;]+);", script)
    assert token is not None and "max-age=43200" in script
    assert verify_token(token.group(1), SECRET) == ("ann", 0)

    at = _reload_with(monkeypatch, {"recon_session": token.group(1)})
    assert _titles(at) == ["Overview"]
    assert _cookie_script(at) == ""  # the browser has it already
    assert any("Signed in as **ann** (finance)" in c.value for c in at.sidebar.caption)

    at.button(key="sign_out").click().run()  # the browser test sees the cookie cleared
    assert "user" not in at.session_state and "_session_token" not in at.session_state
    assert at.session_state["_signed_out"]  # the cookie this session came with is stale now


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (sign_token("ann", 0, b"another secret"), "signed under another secret"),
        (sign_token("ann", 0, SECRET, now=time.time() - 13 * 3600), "expired"),
        (sign_token("zed", 0, SECRET), "no account"),
        (sign_token("ann", 1, SECRET), "a later session version than the account's"),
        ("ann", "not a token"),
    ],
    ids=["other-secret", "expired", "no-account", "other-session", "garbage"],
)
def test_a_reload_with_a_bad_cookie_gets_the_sign_in_page(
    data: Warehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    token: str,
    why: str,
) -> None:
    add_user(tmp_path / "users.toml", "ann", "finance", "correct horse")
    at = _reload_with(monkeypatch, {"recon_session": token})
    assert _titles(at) == ["recon"], why
    assert "user" not in at.session_state


def test_login_page_says_when_there_are_no_accounts(data: Warehouse) -> None:
    at = app(role=None)
    assert any("recon users add NAME --role admin" in shown(w.value) for w in at.warning)


def test_sign_out_returns_to_the_login(data: Warehouse) -> None:
    at = app()
    at.button(key="sign_out").click().run()
    assert "user" not in at.session_state
    assert not at.metric and not at.dataframe


@pytest.mark.parametrize(
    ("role", "owner", "count"),
    [("finance", "finance", "2"), ("ops", "ops", "1"), ("admin", "any", "3")],
)
def test_each_role_starts_on_its_own_exceptions(
    data: Warehouse, role: str, owner: str, count: str
) -> None:
    _seed(data)
    at = app(role=role)
    assert at.selectbox(key="f_owner").value == owner
    assert metrics(at)["Exceptions"] == count
    at.selectbox(key="f_owner").select("any").run()  # a default, not a restriction
    assert metrics(at)["Exceptions"] == "3"


@pytest.mark.parametrize(
    ("role", "page", "title"),
    [
        ("finance", "pages/admin.py", None),
        ("finance", "pages/stock.py", None),
        ("ops", "pages/takings.py", None),
        ("ops", "pages/stock.py", "Stock & items"),
        ("finance", "pages/takings.py", "Takings & VAT"),
        ("admin", "pages/admin.py", "Admin"),
    ],
)
def test_pages_by_role(data: Warehouse, role: str, page: str, title: str | None) -> None:
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
    sign_in(at, role)
    at.run()
    if title is None:  # its file is not a page for this role (a link says so: browser test)
        with pytest.raises(Exception, match="Could not find a navigation page"):
            at.switch_page(page).run()
    else:
        at.switch_page(page).run()
        assert not at.exception
        assert title in _titles(at)


def _token_from(at: AppTest) -> str:
    found = re.search(r"recon_session=([^;]+);", _cookie_script(at))
    assert found is not None
    return found.group(1)


def test_after_sign_out_the_old_cookie_signs_nobody_in(
    data: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_users(tmp_path / "users.toml", {"ann": {"role": "finance", "password": cheap_hash(PW)}})
    at = app(role=None)
    at.text_input(key="login_name").input("ann")
    at.text_input(key="login_password").input(PW)
    at.button(key="login_btn").click().run()
    token = _token_from(at)
    other_tab = _reload_with(monkeypatch, {"recon_session": token})
    assert _titles(other_tab) == ["Overview"]

    at.button(key="sign_out").click().run()
    assert _titles(_reload_with(monkeypatch, {"recon_session": token})) == ["recon"]
    other_tab.run()  # the tab opened before the sign-out ends at its next rerun
    assert _signed_out(other_tab)
    assert other_tab.session_state["_signed_out"]  # sync_cookie clears the browser's copy


def _signed_out(at: AppTest) -> bool:
    """Nobody signed in, and nothing of the data page the session was on is drawn."""
    state = at.session_state
    return "user" not in state and "_session_token" not in state and not at.dataframe


def test_a_demoted_admins_open_tab_ends_and_a_hand_edited_role_applies_at_once(
    data: Warehouse, tmp_path: Path
) -> None:
    users = tmp_path / "users.toml"
    at = app("pages/admin.py", role="admin")
    assert "Admin" in _titles(at)
    add_user(users, "ann", "ops", "a new password")  # the CLI's role and password change
    at.run()
    assert _signed_out(at) and "Admin" not in _titles(at)  # its next click does nothing

    at = app("pages/admin.py", role="admin")
    write_users(users, {"ann": {"role": "ops", "password": cheap_hash(PW)}})  # no bump
    at.session_state["user"] = User("ann", "admin")  # what the session remembers is not trusted
    at.run()
    assert [e.value for e in at.error] == ["This page is for admin."]  # the open tab stops
    assert "add_user_btn" not in _button_keys(at)
    assert at.session_state["user"] == User("ann", "ops")


WORKFLOW_BUTTONS = ("resync_btn", "assign_btn", "comment_btn", "close_btn")


def _button_keys(at: AppTest) -> set[str]:
    """The keys of the buttons drawn, form buttons among them."""
    return {b.key for b in at.button if b.key is not None}


def _buttons(at: AppTest) -> list[str]:
    keys = _button_keys(at)
    return [k for k in WORKFLOW_BUTTONS if k in keys]


@pytest.mark.parametrize(
    ("role", "exception", "buttons"),
    [
        ("ops", "a", []),  # a finance exception: not ops' to work
        ("finance", "a", ["resync_btn", "assign_btn", "comment_btn", "close_btn"]),
        ("finance", "c", []),  # an ops exception
        ("ops", "c", ["assign_btn", "comment_btn", "close_btn"]),
        ("admin", "a", ["resync_btn", "assign_btn", "comment_btn", "close_btn"]),
    ],
)
def test_workflow_buttons_by_role_and_owner(
    data: Warehouse, role: str, exception: str, buttons: list[str]
) -> None:
    _seed(data)
    at = app("pages/exceptions.py", role=role, id=exception, owner="any")
    assert not at.exception
    assert _buttons(at) == buttons
    if not buttons:
        assert any("are worked by" in c.value for c in at.caption)


def test_a_forged_action_is_refused_by_the_workflow(
    data: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(data)
    from recon.app import workflow

    real = workflow.allowed

    def page_says_yes(role: str, owner: str | None) -> bool:
        """A page that wrongly shows ops the buttons; the workflow's own check as shipped."""
        caller = sys._getframe(1).f_code.co_filename
        return caller.endswith(f"pages{os.sep}exceptions.py") or real(role, owner)

    monkeypatch.setattr(workflow, "allowed", page_says_yes)
    at = app("pages/exceptions.py", role="ops", id="a", owner="any")
    assert "close_btn" in _button_keys(at)
    at.text_input(key="close_reason").input("not mine to close")
    at.button(key="close_btn").click().run()
    assert [shown(e.value) for e in at.error] == ["ann (ops) may not close a finance exception"]
    detail = data.read(queries.exception_detail, "a")
    assert detail is not None and detail.exception["status"] == "new" and detail.events.is_empty()


PW = "correct horse"


def test_sign_in_is_throttled_after_five_failures(data: Warehouse, tmp_path: Path) -> None:
    write_users(tmp_path / "users.toml", {"ann": {"role": "finance", "password": cheap_hash(PW)}})
    at = app(role=None)
    at.text_input(key="login_name").input("ann")
    for n in range(5):
        at.text_input(key="login_password").input(f"guess {n}")
        at.button(key="login_btn").click().run()
    assert [e.value for e in at.error] == ["Unknown user name or wrong password."]
    at.text_input(key="login_password").input(PW)
    at.button(key="login_btn").click().run()  # the right password, too soon
    assert [shown(e.value) for e in at.error] == ["Too many failed sign-ins; try again in 30 s."]
    assert _titles(at) == ["recon"]


def test_a_broken_users_file_is_one_line_not_a_traceback(data: Warehouse, tmp_path: Path) -> None:
    (tmp_path / "users.toml").write_text('[users."ann"\n', encoding="utf-8")
    at = app(role=None)
    assert not at.exception
    assert len(at.error) == 1 and "is not a valid users file" in at.error[0].value


def test_the_admin_page_lists_account_changes(data: Warehouse) -> None:
    at = app("pages/admin.py")
    at.text_input(key="new_user").input("olga")
    at.selectbox(key="new_role").select("ops")
    at.text_input(key="new_pw").input("pw")  # too short: refused, nothing recorded
    at.button(key="add_user_btn").click().run()
    assert [e.value for e in at.error] == ["the password must have at least 12 characters"]
    at.text_input(key="new_user").input("olga")
    at.text_input(key="new_pw").input("olga's password")
    at.button(key="add_user_btn").click().run()
    at.selectbox(key="rm_user").select("olga")
    at.button(key="rm_user_btn").click().run()
    assert not at.exception
    audit = table_with(at, "change")
    assert audit[["actor", "source", "account", "change"]].values.tolist() == [
        ["ann", "dashboard", "olga", "removed (was finance)"],
        ["ann", "dashboard", "olga", "added, role finance"],
    ]


def test_a_refused_account_name_is_shown_as_text_not_markdown(data: Warehouse) -> None:
    at = app("pages/admin.py")
    at.text_input(key="new_user").input("[sign in again](http://evil/)")
    at.text_input(key="new_pw").input("a long enough password")
    at.button(key="add_user_btn").click().run()
    assert len(at.error) == 1
    assert "\\[sign in again\\]\\(http" in at.error[0].value  # escaped: no link
    assert "[sign in again](http://evil/)" in shown(at.error[0].value)


# --- takings and VAT --------------------------------------------------------------------


def _seed_takings(wh: Warehouse) -> None:
    wh.order("1", store="1", day="2024-06-01", vat="2.78")
    wh.document("D1", "SO-1", "1", vat="2.77")
    wh.takings("1", "2024-06-01", "1210", "100.00", "100.00")
    wh.takings("1", "2024-06-01", "1220", "32.00", "20.00")
    wh.takings("2", "2024-06-01", "1220", "40.00", "40.00")
    wh.takings("7", "2024-06-01", "1220", "10.00", "10.00", currency="EUR")
    wh.waterfall("1", "2024-06-01", "explained_by_missing_in_erp", "-12.00")
    wh.exception("v", "vat_rounding", "1", "2024-06-01", "2.78", "2.77", "-0.01",
                 cause="rounding_0.01", pos_ref="1")  # fmt: skip
    wh.exception("t", "unmapped_tax_code", None, None, "12.50", None, None,
                 cause="vat_rate_not_mapped")  # fmt: skip


def test_takings_page_totals_waterfall_and_store_days(data: Warehouse) -> None:
    _seed_takings(data)
    at = app("pages/takings.py", role="finance")
    assert not at.exception
    m = metrics(at)
    assert (m["POS takings"], m["ERP takings"], m["Variance (ERP - POS)"]) == (
        "172.00 GBP",
        "160.00 GBP",
        "-12.00 GBP",
    )
    assert m["Store-days off"] == "1 of 2"
    steps: Any = table_with(at, "step")
    assert list(steps["amount"].astype(float)) == [172.0, -12.0, 160.0]
    assert len(at.get("plotly_chart")) == 1  # the causes' waterfall
    off: Any = at.dataframe(key="takings_days").value
    assert list(off["store"]) == ["1"]  # only the store-day with a variance
    at.toggle(key="tk_only_off").set_value(False).run()
    assert sorted(at.dataframe(key="takings_days").value["store"]) == ["1", "2"]
    at.radio(key="tk_currency").set_value("EUR").run()
    assert metrics(at)["POS takings"] == "10.00 EUR"


def test_takings_page_vat_view(data: Warehouse) -> None:
    _seed_takings(data)
    at = app("pages/takings.py", role="finance")
    assert sorted(ids(at, "vat_exceptions")) == ["t", "v"]
    vat: Any = table_with(at, "pos_vat")
    assert [str(d) for d in vat["difference"]] == ["-0.01"]


def test_takings_page_of_an_empty_warehouse(data: Warehouse) -> None:
    at = app("pages/takings.py")
    assert not at.exception
    assert any("No takings" in i.value for i in at.info)


def test_takings_page_follows_the_store_filter(data: Warehouse) -> None:
    _seed_takings(data)
    at = app("pages/takings.py", store="2")
    assert metrics(at)["Variance (ERP - POS)"] == "0.00 GBP"


# --- stock ----------------------------------------------------------------------------


def test_stock_page_ranks_variances_and_lists_master_data_breaks(data: Warehouse) -> None:
    data.exception("s1", "stock_variance", "1", None, "10", "9", "-1", currency=None)
    data.exception("s2", "stock_variance", "1", None, "5", "8", "3", currency=None)
    data.exception("u", "unknown_sku", None, None, cause="sku_not_in_erp")
    data.exception("p", "price_mismatch", None, None, "25.00", "27.00", "2.00")
    data.exception("m", "missing_in_erp")  # finance: not on this page
    from sqlalchemy import update

    from recon.warehouse.models import ExceptionRow

    with data.engine.begin() as conn:
        for id_, sku in (("s1", "COAT"), ("s2", "TEE")):
            conn.execute(update(ExceptionRow).where(ExceptionRow.id == id_).values(sku=sku))
    data.item("COAT", "120.00")
    data.item("TEE", "15.00")

    at = app("pages/stock.py", role="ops")
    assert not at.exception
    assert ids(at, "stock_table") == ["s1", "s2"]  # 120.00 before 45.00
    assert ids(at, "unknown_sku") == ["u"]
    assert ids(at, "price_mismatch") == ["p"]
    assert "None." in [s.value for s in at.success]  # no unmapped_location


# --- admin ----------------------------------------------------------------------------


def test_admin_adds_an_account_and_maps_a_tender(data: Warehouse, tmp_path: Path) -> None:
    at = app("pages/admin.py")
    at.text_input(key="new_user").input("olga")
    at.selectbox(key="new_role").select("ops")
    at.text_input(key="new_pw").input("olga's password")
    at.button(key="add_user_btn").click().run()
    assert not at.exception
    assert list(table_with(at, "local_password")["name"]) == ["ann", "olga"]

    at.text_input(key="mt_tender").input("Swish")
    at.text_input(key="mt_account").input("1230")
    at.button(key="mt_btn").click().run()
    from recon.warehouse.mappings import load_mappings

    assert load_mappings(data.engine).tenders == {"Swish": "1230"}
    audit = table_with(at, "before")  # the edit, by the signed-in admin (and the
    tender = audit[audit["mapping"] == "tender"].fillna("-")  # default settings it stored)
    assert tender[["actor", "source", "key", "before", "after"]].values.tolist() == [
        ["ann", "dashboard", "Swish", "-", "1230"]
    ]


# --- export ---------------------------------------------------------------------------


def test_every_table_has_csv_and_excel_downloads(data: Warehouse) -> None:
    _seed(data)
    at = app("pages/exceptions.py")
    keys = {b.proto.id.split("-")[-1] for b in at.get("download_button")}
    assert any(k.endswith("csv_exceptions") for k in keys)
    assert any(k.endswith("xlsx_exceptions") for k in keys)


def _seed_close(wh: Warehouse) -> None:
    """Two closed days; on the later one store 1 is 59.00 short by a held sale, store 2 has
    a sale posted twice (tenders agree), and 4.00 of ERP money has no store."""
    from sqlalchemy import insert

    from recon.warehouse.models import PosStore

    with wh.engine.begin() as conn:
        conn.execute(insert(PosStore), [{"store_id": "1", "name": "London Oxford St"}])
    wh.takings("1", "2024-05-31", "1210", "500.00", "400.00")  # an older day: not opened on
    wh.takings("1", "2024-06-01", "1210", "159.00", "100.00")
    wh.takings("2", "2024-06-01", "1220", "30.00", "30.00")
    wh.takings(None, "2024-06-01", "1220", "0.00", "4.00")
    wh.waterfall("1", "2024-06-01", "explained_by_missing_in_erp", "-59.00")
    wh.waterfall(None, "2024-06-01", "unexplained", "4.00")
    wh.exception("m", "missing_in_erp", "1", "2024-06-01", "59.00", None, "-59.00",
                 pos_ref="5120", cause="held_unmapped_tender")  # fmt: skip
    wh.exception("tv", "tender_variance", "1", "2024-06-01", "159.00", "100.00", "-59.00",
                 cause="explained_by_missing_in_erp")  # fmt: skip
    wh.order("5130", store="2", day="2024-06-01", gross="30.00")
    wh.document("D1", "SO-1", "5130", gross="30.00")
    wh.document("D2", "SO-2", "5130", gross="30.00")  # the duplicate


def test_takings_opens_on_the_latest_closed_day_per_store_with_names(data: Warehouse) -> None:
    _seed_close(data)
    at = app("pages/takings.py", role="finance")
    assert not at.exception
    assert any("Business day 2024-06-01, the latest closed day" in c.value for c in at.caption)
    m = metrics(at)
    assert (m["POS takings"], m["ERP takings"], m["Variance (ERP - POS)"]) == (
        "189.00 GBP",  # 159 + 30 + 0: not 31 May's 500
        "134.00 GBP",
        "-55.00 GBP",
    )
    assert m["Store-days off"] == "3 of 3"
    days: Any = at.dataframe(key="takings_days").value
    assert list(days["store"]) == ["London Oxford St (1)", "2", "Unattributed"]
    assert [str(d) for d in days["variance"]] == ["-59.00", "0.00", "4.00"]
    # store 2's sale was posted twice: its tenders agree, its documents do not
    assert [str(d) for d in days["revenue_difference"]] == ["0.00", "30.00", "0.00"]


def test_a_variance_links_to_the_exceptions_that_explain_it(data: Warehouse) -> None:
    _seed_close(data)
    at = app("pages/takings.py", role="finance")
    links = {p.proto.label: p.proto.query_string for p in at.get("page_link")}
    held = next(k for k in links if "-59.00 GBP" in k)
    assert "kind=missing_in_erp" in links[held] and "from=2024-06-01" in links[held]
    days: Any = at.dataframe(key="takings_days").value
    row = list(days["store"]).index("London Oxford St (1)")
    at.session_state["takings_days"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert sorted(ids(at, "takings_exceptions")) == ["m", "tv"]
    at.multiselect(key="f_kinds").set_value(["tender_variance"]).run()  # the sidebar's kinds
    assert sorted(ids(at, "takings_exceptions")) == ["m", "tv"]  # still what explains it
    table: Any = at.dataframe(key="takings_exceptions").value
    assert set(table["difference"]) == {"-59.00 GBP"}  # two decimals and the currency


def test_the_chosen_store_day_is_in_the_url_and_a_link_to_it_opens_it(data: Warehouse) -> None:
    _seed_close(data)
    at = app("pages/takings.py", role="finance")
    days: Any = at.dataframe(key="takings_days").value
    row = list(days["store"]).index("London Oxford St (1)")
    at.session_state["takings_days"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert at.query_params["pick"] == "1@2024-06-01"
    shared = app("pages/takings.py", role="finance", pick="1@2024-06-01")  # the link, opened
    assert not shared.exception
    assert sorted(ids(shared, "takings_exceptions")) == ["m", "tv"]


def test_an_explained_variance_links_to_the_exception_that_explains_it(data: Warehouse) -> None:
    _seed_close(data)
    at = app("pages/exceptions.py", role="finance", id="tv")
    assert not at.exception
    links = {p.proto.label: p.proto.query_string for p in at.get("page_link")}
    query = links["The missing in erp exceptions that explain it"]
    assert all(p in query for p in ("store=1", "from=2024-06-01", "kind=missing_in_erp"))
    stock = app("pages/exceptions.py", role="admin", id="m")
    assert not [p for p in stock.get("page_link") if "explain it" in p.proto.label]


def test_money_columns_show_two_decimals_in_the_grid(data: Warehouse) -> None:
    import json

    _seed_close(data)
    at = app("pages/takings.py", role="finance")
    config = json.loads(at.dataframe(key="takings_days").proto.columns)
    for column in ("pos_amount", "erp_amount", "variance", "pos_revenue", "revenue_difference"):
        assert config[column]["type_config"]["format"] == "%.2f", column  # not -122.2


def test_exception_tables_show_store_names_and_leave_a_storeless_one_blank(
    data: Warehouse,
) -> None:
    import pandas as pd  # type: ignore[import-untyped]

    _seed_close(data)
    data.exception("u", "unknown_sku", None, None, cause="sku_not_in_erp", sku="GHOST")
    at = app("pages/exceptions.py", role="admin", status="all")
    table: Any = at.dataframe(key="table").value
    stores = dict(zip(table["id"], table["store"], strict=True))
    assert stores["m"] == "London Oxford St (1)"
    assert pd.isna(stores["u"])  # no store: blank, not "Unattributed" money


def test_a_day_whose_tenders_agree_says_so_instead_of_an_empty_chart(data: Warehouse) -> None:
    data.takings("1", "2024-06-01", "1210", "80.00", "80.00")
    at = app("pages/takings.py", role="finance")
    assert not at.exception
    assert any("takings agree by tender" in s.value for s in at.success)
    assert not at.get("plotly_chart")  # no chart of nothing
    assert metrics(at)["Store-days off"] == "0 of 1"
    assert at.dataframe(key="takings_days").value.empty  # only the days off, by default
