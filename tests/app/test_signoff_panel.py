"""The Takings page's sign-off panel through AppTest: each state (not prepared, prepared,
signed, reopened, covered by the day), the buttons each role gets, the evidence and the
days not signed yet."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from recon.app import signoff, ui
from recon.app.auth import User
from recon.warehouse.models import ExceptionRow
from recon.warehouse.signoff import ALL_STORES, reopen_changed
from tests.app.apptest import app, shown, sign_in, table_with
from tests.app.demo_warehouse import Warehouse

DAY = date(2024, 6, 1)
PAGE = "pages/takings.py"


def _seed(wh: Warehouse) -> None:
    #          store day           account pos       erp
    wh.takings("1", "2024-06-01", "1210", "100.00", "100.00")
    wh.takings("1", "2024-06-01", "1220", "32.00", "20.00")
    wh.takings("2", "2024-06-01", "1220", "40.00", "40.00")
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00",
                 pos_ref="5120")  # fmt: skip


def _as(name: str, role: str, **params: str) -> AppTest:
    """The takings page as `name` with `role`, on the store chosen by `params`."""
    at = app(PAGE, role=role, so_store="1", **params)
    sign_in(at, role, name)
    return at.run()


def _texts(at: AppTest) -> list[str]:
    return [
        shown(e.value) for kind in ("info", "warning", "success", "error") for e in at.get(kind)
    ]


def _keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key and b.key.startswith("so_")}


def test_a_store_day_not_prepared_offers_prepare_and_lists_the_days_not_signed(
    data: Warehouse,
) -> None:
    _seed(data)
    at = _as("ann", "finance")
    assert not at.exception
    assert "Not prepared yet." in _texts(at)
    assert _keys(at) == {"so_prepare"}
    unsigned: Any = table_with(at, "state")
    assert list(zip(unsigned["store"], unsigned["state"], strict=True)) == [
        ("All stores", "not prepared"),
        ("1", "not prepared"),
        ("2", "not prepared"),
    ]


def test_prepared_the_preparer_may_not_sign_a_reviewer_does(data: Warehouse) -> None:
    _seed(data)
    at = _as("ann", "finance")
    at.text_input(key="so_comment").input("counted, see [note](http://evil/)")
    at.button(key="so_prepare").click().run()
    assert not at.exception
    comment = next(c.value for c in at.caption if "Preparer's comment" in c.value)
    assert "\\[note\\]\\(http" in comment  # user text is escaped: no link
    assert any(t.startswith("Prepared by ann at 2") for t in _texts(at))
    assert at.button(key="so_sign").disabled  # four eyes
    evidence: Any = table_with(at, "item")
    assert list(zip(evidence["item"], evidence["difference"], strict=True)) == [
        ("a", "-12.00 GBP"),
        ("takings:1:1210", "0.00 GBP"),
        ("takings:1:1220", "-12.00 GBP"),
    ]
    bob = _as("bob", "finance")
    assert not bob.button(key="so_sign").disabled
    bob.button(key="so_sign").click().run()
    assert any(t.startswith("Signed: prepared by ann at") for t in _texts(bob))
    assert "so_prepare" not in _keys(bob)  # a signed day is not prepared again
    events: Any = table_with(bob, "action")
    assert list(events["action"]) == ["prepared", "signed"]
    unsigned: Any = table_with(bob, "state")
    assert list(unsigned["store"]) == ["All stores", "2"]


def test_a_reopened_day_shows_why_and_offers_prepare_again(data: Warehouse) -> None:
    _seed(data)
    signoff.prepare(data.engine, "1", DAY, User("ann", "finance"))
    signoff.review(data.engine, "1", DAY, User("bob", "finance"))
    with data.engine.begin() as conn:
        conn.execute(
            update(ExceptionRow).where(ExceptionRow.id == "a").values(difference=Decimal("-2.00"))
        )
        reopen_changed(conn, datetime.now(UTC), run_id=3)
    at = _as("ann", "finance")
    assert (
        "Reopened: reconcile run 3 changed store 1 on 2024-06-01: missing_in_erp 5120: "
        "difference -12.00 -> -2.00 GBP"
    ) in _texts(at)
    assert at.button(key="so_prepare").label == "Prepare again"
    assert list(table_with(at, "action")["action"]) == ["prepared", "signed", "reopened"]


def test_a_store_under_a_signed_day_says_so_and_an_admin_may_withdraw(data: Warehouse) -> None:
    _seed(data)
    signoff.prepare(data.engine, ALL_STORES, DAY, User("ann", "finance"))
    signoff.review(data.engine, ALL_STORES, DAY, User("bob", "finance"))
    at = _as("carl", "finance")
    assert "Covered by the all-stores sign-off of this day, signed by bob." in _texts(at)
    assert any("Every store-day of these days is signed." in t for t in _texts(at))
    root = _as("root", "admin", so_day="2024-06-01")
    root.selectbox(key="so_store").set_value(ALL_STORES).run()
    assert _keys(root) == {"so_unsign"}
    root.text_input(key="so_comment").input("signed too early")
    root.button(key="so_unsign").click().run()
    assert "Reopened: unsigned: signed too early" in _texts(root)
    assert (
        root.query_params["so_store"] == [ALL_STORES] or root.query_params["so_store"] == ALL_STORES
    )


def test_an_empty_warehouse_has_nothing_to_sign(data: Warehouse) -> None:
    at = app(PAGE, role="finance")
    assert not at.exception
    assert "No takings for these stores and days: nothing to sign off yet." in _texts(at)


def test_the_panel_reads_the_renders_one_state_though_a_sign_off_commits_mid_render(
    data: Warehouse,
) -> None:
    """The panel's reads go through the render's `ui.reading()`: a colleague preparing the
    day while the page renders shows on the next render, not half on this one."""
    _seed(data)

    def state() -> list[str]:
        return ui.signoff_view(data.url, DAY, "1", [DAY]).that_day["state"].to_list()

    with ui.reading():
        first = state()
        signoff.prepare(data.engine, "1", DAY, User("ann", "finance"))  # commits meanwhile
        second = state()
    #      one render      the next render
    assert (first, second, state()) == ([], [], ["prepared"])
