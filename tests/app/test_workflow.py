from __future__ import annotations

import pytest

from app import queries, workflow
from app.filters import Filters
from tests.app.demo_warehouse import Warehouse


def _state(wh: Warehouse, exception_id: str) -> tuple[str, str | None]:
    frame = queries.exceptions(wh.engine, Filters(status="all"))
    row = frame.filter(frame["id"] == exception_id).row(0, named=True)
    return row["status"], row["assignee"]


def _events(wh: Warehouse, exception_id: str) -> list[tuple[str, str, str | None]]:
    detail = queries.exception_detail(wh.engine, exception_id)
    assert detail is not None
    return [tuple(r) for r in detail.events.select("action", "actor", "note").rows()]  # type: ignore[misc]


def test_assign_comment_close_reopen_write_state_and_audit_trail(wh: Warehouse) -> None:
    wh.exception("x", status="persisting")

    workflow.assign(wh.engine, "x", "ann", actor="bob")
    assert _state(wh, "x") == ("persisting", "ann")
    workflow.comment(wh.engine, "x", "asked the store", actor="ann")
    workflow.close(wh.engine, "x", "posted by hand in Sage", actor="ann")
    assert _state(wh, "x") == ("closed", "ann")
    workflow.reopen(wh.engine, "x", actor="bob", reason="still missing")
    assert _state(wh, "x") == ("persisting", "ann")

    assert _events(wh, "x") == [
        ("assigned", "bob", "ann"),
        ("commented", "ann", "asked the store"),
        ("closed", "ann", "posted by hand in Sage"),
        ("reopened", "bob", "still missing"),
    ]


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("closed", lambda e: workflow.close(e, "x", "dup", "ann"), "is closed, not open"),
        ("resolved", lambda e: workflow.close(e, "x", "dup", "ann"), "is resolved, not open"),
        ("new", lambda e: workflow.reopen(e, "x", "ann"), "already open"),
        ("new", lambda e: workflow.close(e, "x", "  ", "ann"), "reason must not be empty"),
        ("new", lambda e: workflow.comment(e, "x", "hi", ""), "actor must not be empty"),
        ("new", lambda e: workflow.assign(e, "nope", "ann", "bob"), "no exception with id"),
    ],
)
def test_refused_actions_change_nothing(
    wh: Warehouse, status: str, action: object, message: str
) -> None:
    wh.exception("x", status=status)
    with pytest.raises(workflow.WorkflowError, match=message):
        action(wh.engine)  # type: ignore[operator]
    assert _state(wh, "x") == (status, None)
    assert _events(wh, "x") == []


def test_reopen_of_a_resolved_exception_clears_resolved_at(wh: Warehouse) -> None:
    from tests.app.demo_warehouse import T0

    wh.exception("x", status="resolved", resolved_at=T0)
    workflow.reopen(wh.engine, "x", actor="ann")
    row = queries.exceptions(wh.engine, Filters()).row(0, named=True)
    assert (row["id"], row["status"], row["resolved_at"]) == ("x", "persisting", None)


def test_resync_posts_the_exceptions_order_and_audits_the_outcome(wh: Warehouse) -> None:
    wh.exception("m", kind="missing_in_erp", pos_ref="5016", status="new")
    wh.exception("p", kind="price_mismatch", pos_ref=None, status="new")
    asked: list[str] = []

    def post_order(order_id: str) -> tuple[dict[str, int], list[str]]:
        asked.append(order_id)
        return {"posted": 2, "held": 0}, []

    outcome = workflow.resync(wh.engine, "m", "ann", post_order)
    #  what was posted         audit trail
    assert asked == ["5016"]
    assert outcome == "order 5016: posted=2"
    assert _events(wh, "m") == [("resynced", "ann", "order 5016: posted=2")]
    with pytest.raises(workflow.WorkflowError, match="no POS order to re-sync"):
        workflow.resync(wh.engine, "p", "ann", post_order)
    assert asked == ["5016"]
