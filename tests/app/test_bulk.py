"""Bulk actions on many exceptions at once (`recon.app.workflow.bulk_*`), on SQLite and
PostgreSQL: each row authorised and audited on its own, a row that may not be touched
skipped and named, one summary line; a bulk re-sync posts the set of orders once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from recon.app import queries, workflow
from recon.app.auth import User
from recon.app.filters import Filters
from tests.app.demo_warehouse import Warehouse

ANN = User("ann", "finance")
OLLY = User("olly", "ops")
BOB = User("bob", "admin")
ACCOUNTS = {"ann": "finance", "fay": "finance", "olly": "ops", "bob": "admin"}


@pytest.fixture
def both(warehouse_url: str, warehouse: Engine) -> Warehouse:
    """The demo builders over a fresh SQLite file or PostgreSQL schema."""
    return Warehouse(warehouse_url, warehouse)


def _seed(wh: Warehouse) -> None:
    #            id    kind                  status        pos_ref
    wh.exception("f1", "missing_in_erp", status="new", pos_ref="5001")
    wh.exception("f2", "missing_in_erp", status="persisting", pos_ref="5002")
    wh.exception("f3", "amount_mismatch", status="new", pos_ref="5003")
    wh.exception("fc", "missing_in_erp", status="closed", pos_ref="5004")
    wh.exception("o1", "stock_variance", status="new")
    wh.exception("r1", "refund_without_credit_note", status="new", pos_ref="5001")  # fmt: skip


def _rows(wh: Warehouse) -> pl.DataFrame:
    frame = wh.read(queries.exceptions, Filters(status="all"))
    return frame.select("id", "status", "assignee").sort("id")


def _events(wh: Warehouse) -> list[tuple[str, str, str, str | None]]:
    out: list[tuple[str, str, str, str | None]] = []
    for exc_id in sorted(wh.read(queries.exceptions, Filters(status="all"))["id"]):
        detail = wh.read(queries.exception_detail, exc_id)
        assert detail is not None
        out += [(exc_id, *r) for r in detail.events.select("action", "actor", "note").rows()]
    return out


def test_bulk_assign_skips_and_names_what_the_role_may_not_touch(both: Warehouse) -> None:
    _seed(both)
    done = workflow.bulk_assign(
        both.engine, ["f1", "o1", "f3", "fc"], "fay", ANN, accounts=ACCOUNTS
    )
    assert _rows(both).rows() == [
        #  id    status        assignee
        ("f1", "new", "fay"),
        ("f2", "persisting", None),
        ("f3", "new", "fay"),
        ("fc", "closed", "fay"),  # assigning a closed one is allowed, as for one row
        ("o1", "new", None),  # ann (finance) may not touch an ops exception
        ("r1", "new", None),
    ]
    assert _events(both) == [
        ("f1", "assigned", "ann", "fay"),
        ("f3", "assigned", "ann", "fay"),
        ("fc", "assigned", "ann", "fay"),
    ]
    assert done.summary() == (
        "assigned to fay 3 of 4; skipped 1: o1 (ann (finance) may not assign a ops exception)"
    )


def test_bulk_assign_gives_each_row_only_to_someone_who_may_work_it(both: Warehouse) -> None:
    _seed(both)
    done = workflow.bulk_assign(both.engine, ["f1", "o1"], "olly", BOB, accounts=ACCOUNTS)
    assert (done.done, done.skipped) == (
        ("o1",),
        (("f1", "olly (ops) may not work a finance exception"),),
    )
    refused = workflow.bulk_assign(both.engine, ["f1"], "mallory", BOB, accounts=ACCOUNTS)
    assert refused.skipped == (("f1", "mallory has no dashboard account"),)
    assert _rows(both).filter(pl.col("id").is_in(["f1", "o1"])).rows() == [
        ("f1", "new", None),
        ("o1", "new", "olly"),
    ]


def test_bulk_comment_and_close_audit_each_row_and_skip_closed_ones(both: Warehouse) -> None:
    _seed(both)
    commented = workflow.bulk_comment(both.engine, ["f1", "f2", "o1"], "store asked", BOB)
    closed = workflow.bulk_close(both.engine, ["f1", "fc", "o1", "f2", "f1"], "dup", ANN)
    assert _rows(both).select("id", "status").rows() == [
        ("f1", "closed"),
        ("f2", "closed"),
        ("f3", "new"),
        ("fc", "closed"),
        ("o1", "new"),
        ("r1", "new"),
    ]
    assert _events(both) == [
        ("f1", "commented", "bob", "store asked"),
        ("f1", "closed", "ann", "dup"),
        ("f2", "commented", "bob", "store asked"),
        ("f2", "closed", "ann", "dup"),
        ("o1", "commented", "bob", "store asked"),
    ]
    assert commented.summary() == "commented on 3 of 3"
    assert closed.summary() == (
        "closed 2 of 4; skipped 2: fc (exception fc is closed, not open);"
        " o1 (ann (finance) may not close a ops exception)"
    )


def test_bulk_close_needs_a_reason_and_changes_nothing_without_one(both: Warehouse) -> None:
    _seed(both)
    with pytest.raises(workflow.WorkflowError, match="reason must not be empty"):
        workflow.bulk_close(both.engine, ["f1", "f2"], "  ", BOB)
    assert _events(both) == []


def test_bulk_resync_posts_the_set_of_orders_once_and_audits_each_outcome(
    both: Warehouse,
) -> None:
    _seed(both)
    calls: list[list[str]] = []

    def repost(
        orders: list[str],
    ) -> tuple[Mapping[str, tuple[bool, str]], str | None]:
        calls.append(orders)
        #       order    in the ERP   outcome
        return {"5001": (True, "order 5001: posted as SO-9"),
                "5002": (False, "order 5002: still held: map tender 'Swish'")}, (
            "collected and reconciled store 1 on 2024-06-01")  # fmt: skip

    done = workflow.bulk_resync(both.engine, ["f1", "r1", "f2", "f3", "fc", "o1"], ANN, repost)
    assert calls == [["5001", "5002"]]  # one run for the set; 5001 once for f1 and r1
    assert _events(both) == [
        ("f1", "resynced", "ann", "order 5001: posted as SO-9"),
        ("f2", "resynced", "ann", "order 5002: still held: map tender 'Swish'"),
        ("r1", "resynced", "ann", "order 5001: posted as SO-9"),
    ]
    assert done.summary() == (
        "re-synced 3 of 6; skipped 3: f3 (a amount_mismatch exception has no POS order);"
        " fc (is closed, not open); o1 (ann (finance) may not re-sync a ops exception)."
        " 1 of 2 orders in the ERP now; collected and reconciled store 1 on 2024-06-01"
    )


def test_bulk_resync_with_nothing_to_post_posts_nothing(both: Warehouse) -> None:
    _seed(both)

    def repost(orders: list[str]) -> tuple[Mapping[str, tuple[bool, str]], str | None]:
        raise AssertionError("nothing should be posted")

    done = workflow.bulk_resync(both.engine, ["o1", "fc"], OLLY, repost)
    assert done.done == ()
    assert [exc_id for exc_id, _ in done.skipped] == ["o1", "fc"]
    assert _events(both) == []


def test_every_row_is_either_done_or_skipped_once_and_only_done_rows_are_audited(
    tmp_path: Path,
) -> None:
    from sqlalchemy import func, select

    from recon.warehouse.models import ExceptionEvent
    from tests.app.demo_warehouse import make_warehouse

    wh = make_warehouse(tmp_path)
    _seed(wh)
    owners = dict(wh.read(queries.exceptions, Filters(status="all")).select("id", "owner").rows())

    @settings(max_examples=25, deadline=None)
    @given(
        st.sampled_from(["finance", "ops", "admin"]),
        st.lists(st.sampled_from([*owners, "gone"]), max_size=8),
    )
    def check(role: str, ids: list[str]) -> None:
        count = select(func.count()).select_from(ExceptionEvent)
        with wh.engine.connect() as conn:
            before = conn.scalar(count)
        done = workflow.bulk_comment(wh.engine, ids, "checked", User("pat", role))
        with wh.engine.connect() as conn:
            after = conn.scalar(count)
        assert sorted([*done.done, *(i for i, _ in done.skipped)]) == sorted(set(ids))
        assert all(workflow.allowed(role, owners[i]) for i in done.done)
        assert after - before == len(done.done)  # type: ignore[operator]

    check()
    wh.engine.dispose()
