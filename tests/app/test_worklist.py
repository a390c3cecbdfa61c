"""The worklist frame (money at stake, age, due-by per kind, my queue, sorts), its URL
part, and saved views per user (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from recon.app import queries
from recon.app.filters import Filters
from recon.app.worklist import (
    EXTRA_COLUMNS,
    SORTS,
    View,
    ViewError,
    delete_view,
    save_view,
    saved_views,
    stored_view,
    view_params,
    worklist,
)
from recon.config.mappings import MapSettings
from tests.app.demo_warehouse import T0, Warehouse

NOW = T0 + timedelta(hours=30)  # T0 = 2024-06-02 06:00 UTC
H = timedelta(hours=1)


def _frame(wh: Warehouse) -> pl.DataFrame:
    #            id   kind               status        diff      first seen    assignee
    wh.exception("a", "missing_in_erp", status="new", diff="-12.00", first_seen=T0, assignee="ann")
    wh.exception(
        "b",
        "amount_mismatch",
        status="persisting",
        diff="-0.50",
        first_seen=T0 - 50 * H,
        assignee="fay",
    )
    wh.exception(
        "c", "stock_variance", status="new", diff="-3", first_seen=T0 + 20 * H, assignee="ann"
    )
    wh.exception(
        "d",
        "missing_in_erp",
        status="closed",
        diff="-99.00",
        first_seen=T0 - 100 * H,
        assignee="ann",
    )
    wh.exception("e", "missing_in_pos",  status="new", diff="40.00", first_seen=T0 + 29 * H,
                 cause="explained_by_missing_in_erp")  # fmt: skip
    return wh.read(queries.exceptions, Filters(status="all"))


def _seen(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return frame.select("id", "money_at_stake", "age_days", "due_by", "overdue").rows()


def test_due_by_is_first_seen_plus_the_kinds_hours_else_the_default(wh: Warehouse) -> None:
    settings = MapSettings.parse({"due_hours": "24", "due_hours.missing_in_erp": "4"})
    out = worklist(_frame(wh), settings, NOW).sort("id")
    D = Decimal
    assert _seen(out) == [
        # id  money at stake  age d   due by (first seen + hours)   overdue
        ("a", D("12.00"), 1.2, T0 + 4 * H, True),  # missing_in_erp: 4 h
        ("b", D("0.50"), 3.3, T0 - 26 * H, True),  # default: 24 h
        ("c", None, 0.4, T0 + 44 * H, False),  # stock: no money; not due yet
        ("d", D("99.00"), 5.4, T0 - 96 * H, False),  # closed: never overdue
        ("e", D("0.00"), 0.0, T0 + 53 * H, False),  # explained elsewhere: counts 0
    ]


def test_without_due_hours_every_kind_is_due_after_48_hours(wh: Warehouse) -> None:
    out = worklist(_frame(wh), MapSettings(), NOW).sort("id")
    assert out.select("id", "overdue").rows() == [
        ("a", False),
        ("b", True),  # first seen 80 h ago
        ("c", False),
        ("d", False),
        ("e", False),
    ]
    assert out["due_by"][0] == T0 + 48 * H


@pytest.mark.parametrize(
    ("sort", "ids"),
    [
        ("money", ["d", "a", "b", "e", "c"]),  # largest first, no money last
        ("age", ["d", "b", "a", "c", "e"]),  # oldest first
        ("due", ["d", "b", "a", "c", "e"]),  # soonest due first
        ("day", ["a", "b", "c", "d", "e"]),  # the query's order, kept
    ],
)
def test_the_worklist_sorts(wh: Warehouse, sort: str, ids: list[str]) -> None:
    frame = _frame(wh).sort("id")
    assert worklist(frame, MapSettings(), NOW, sort=sort)["id"].to_list() == ids


def test_my_queue_is_the_open_exceptions_assigned_to_me(wh: Warehouse) -> None:
    frame = _frame(wh)
    mine = worklist(frame, MapSettings(), NOW, sort="money", assignee="ann")
    assert mine["id"].to_list() == ["a", "c"]  # d is ann's too, but closed
    assert worklist(frame, MapSettings(), NOW, assignee="nobody").is_empty()


# --- the URL part ----------------------------------------------------------------------

COLUMNS = ("id", "kind", "store", *EXTRA_COLUMNS)


@given(
    st.booleans(),
    st.sampled_from(sorted(SORTS)),
    st.lists(st.sampled_from(COLUMNS), unique=True, max_size=4),
)
def test_a_view_survives_its_url(mine: bool, sort: str, columns: list[str]) -> None:
    view = View(mine=mine, sort=sort, columns=tuple(columns))
    problems: list[str] = []
    assert View.from_query_params(view.to_query_params(), COLUMNS, problems) == view
    assert problems == []


def test_a_view_url_drops_what_it_cannot_read_and_says_so() -> None:
    problems: list[str] = []
    params = {"queue": "yours", "sort": "loudest", "cols": "kind,secret,id"}
    view = View.from_query_params(params, COLUMNS, problems)
    assert view == View(mine=False, sort="day", columns=("kind", "id"))
    assert problems == [
        "queue='yours' is not 'mine'; ignored",
        "sort='loudest' is not one of day, money, age, due; ignored",
        "cols: 'secret' is not a worklist column; ignored",
    ]


def test_a_views_params_name_every_filter_so_applying_it_sets_them_all() -> None:
    params = view_params(Filters(owner="ops"), View(mine=True, sort="money"))
    assert params == {"status": "open", "owner": "ops", "queue": "mine", "sort": "money"}
    assert Filters.from_query_params(params) == Filters(owner="ops")


# --- saved views per user, on both backends -----------------------------------------


def test_saved_views_are_each_users_own(warehouse: Engine) -> None:
    mine = {"status": "open", "queue": "mine", "sort": "money"}
    ops = {"status": "all", "owner": "ops", "cols": "id,kind"}
    with warehouse.begin() as conn:
        save_view(conn, "ann", "My money", mine)
        save_view(conn, "ann", "Ops, all", ops)
        save_view(conn, "bob", "My money", {"status": "closed"})
    with warehouse.connect() as conn:
        #  owner                    their views (name -> query string)
        assert saved_views(conn, "ann") == {"My money": mine, "Ops, all": ops}
        assert saved_views(conn, "bob") == {"My money": {"status": "closed"}}
        assert saved_views(conn, "carol") == {}

    with warehouse.begin() as conn:
        assert delete_view(conn, "bob", "Ops, all") is False  # ann's: not bob's to delete
        assert delete_view(conn, "ann", "My money") is True
        save_view(conn, "bob", " My money ", {"status": "new"})  # same name: replaced
    with warehouse.connect() as conn:
        assert saved_views(conn, "ann") == {"Ops, all": ops}
        assert saved_views(conn, "bob") == {"My money": {"status": "new"}}


@pytest.mark.parametrize(
    ("name", "message"), [("  ", "give the view a name"), ("x" * 81, "at most 80 characters")]
)
def test_a_view_needs_a_name_that_fits(warehouse: Engine, name: str, message: str) -> None:
    with warehouse.begin() as conn, pytest.raises(ViewError, match=message):
        save_view(conn, "ann", name, {"status": "open"})
    with warehouse.connect() as conn:
        assert saved_views(conn, "ann") == {}


def test_the_saved_time_is_recorded(warehouse: Engine) -> None:
    from sqlalchemy import select

    from recon.warehouse.models import SavedView

    before = datetime.now(UTC)
    with warehouse.begin() as conn:
        save_view(conn, "ann", "v", {"status": "open"})
    with warehouse.connect() as conn:
        saved_at = conn.scalar(select(SavedView.saved_at))
    assert saved_at is not None and saved_at >= before - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("name", "message"),
    [  # PostgreSQL refused the NUL (a DataError the page did not catch)
        ("my\x00view", "a view's name holds a NUL character"),
        ("my\udcffview", "a view's name holds a character that is not UTF-8 text"),
    ],
)
def test_a_view_name_no_backend_can_keep_is_refused(
    warehouse: Engine, name: str, message: str
) -> None:
    with warehouse.begin() as conn, pytest.raises(ViewError, match=message):
        save_view(conn, "ann", name, {"status": "open"})
    with warehouse.connect() as conn:
        assert saved_views(conn, "ann") == {}


def test_a_view_name_in_another_case_replaces_it_and_odd_names_are_kept_as_written(
    warehouse: Engine,
) -> None:
    with warehouse.begin() as conn:
        #                name                    query string
        save_view(conn, "ann", "mine", {"status": "open"})
        save_view(conn, "ann", "MINE", {"status": "all"})  # the same view, renamed
        save_view(conn, "ann", "**bold** <b>x</b>", {"status": "new"})
        save_view(conn, "ann", "../../etc/passwd", {"status": "closed"})
        save_view(conn, "bob", "Mine", {"status": "open"})  # bob's own
    with warehouse.connect() as conn:
        assert saved_views(conn, "ann") == {
            "**bold** <b>x</b>": {"status": "new"},
            "../../etc/passwd": {"status": "closed"},
            "MINE": {"status": "all"},
        }
        assert list(saved_views(conn, "bob")) == ["Mine"]


SHOWABLE = ("id", "kind", "money_at_stake")


@pytest.mark.parametrize(
    ("stored", "applies", "problems"),
    [
        #  stored query string          applies as                    what no longer does
        ({"status": "all", "kind": "amount_mismatch"}, {"status": "all", "kind": "amount_mismatch"},
         []),
        ({"status": "open", "kind": "removed_kind,vat_rounding"},
         {"status": "open", "kind": "vat_rounding"},
         ["kind='removed_kind' is not an exception kind; ignored"]),
        ({"status": "open", "from": "2024-13-45"}, {"status": "open"},
         ["from='2024-13-45' is not a date (YYYY-MM-DD); ignored"]),
        ({"status": "open", "cols": "kind,gone", "sort": "zzz"}, {"status": "open", "cols": "kind"},
         ["sort='zzz' is not one of day, money, age, due; ignored",
          "cols: 'gone' is not a worklist column; ignored"]),
        ({"status": "open", "whatif": "1%"}, {"status": "open"},
         ["whatif='1%' is no worklist setting; ignored"]),
    ],
)  # fmt: skip
def test_a_stored_view_applies_what_still_reads_and_names_the_rest(
    stored: dict[str, str], applies: dict[str, str], problems: list[str]
) -> None:
    assert stored_view(stored, SHOWABLE) == (applies, problems)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", "null", '"status"', "{"])
def test_a_stored_view_that_does_not_read_is_named_not_raised(warehouse: Engine, text: str) -> None:
    """Before, one such row raised JSONDecodeError / AttributeError for the whole page."""
    from recon.warehouse.models import SavedView

    with warehouse.begin() as conn:
        save_view(conn, "ann", "good", {"status": "all"})
        conn.execute(
            insert(SavedView).values(
                owner="ann", name="bad", params=text, saved_at=datetime.now(UTC)
            )
        )
    with warehouse.connect() as conn:
        views = saved_views(conn, "ann")
    assert views["good"] == {"status": "all"}
    assert stored_view(views["bad"], SHOWABLE) == (
        {}, ["its stored settings cannot be read; delete it and save it again"],
    )  # fmt: skip
