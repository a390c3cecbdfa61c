from __future__ import annotations

import pytest

from recon.app import queries, workflow
from recon.app.auth import User
from recon.app.filters import Filters
from tests.app.demo_warehouse import Warehouse

ANN = User("ann", "finance")
BOB = User("bob", "admin")
NOBODY = User("", "admin")
ACCOUNTS = {"ann": "finance", "bob": "admin", "olly": "ops"}


def _state(wh: Warehouse, exception_id: str) -> tuple[str, str | None]:
    frame = wh.read(queries.exceptions, Filters(status="all"))
    row = frame.filter(frame["id"] == exception_id).row(0, named=True)
    return row["status"], row["assignee"]


def _events(wh: Warehouse, exception_id: str) -> list[tuple[str, str, str | None]]:
    detail = wh.read(queries.exception_detail, exception_id)
    assert detail is not None
    return [tuple(r) for r in detail.events.select("action", "actor", "note").rows()]  # type: ignore[misc]


def test_assign_comment_close_reopen_write_state_and_audit_trail(wh: Warehouse) -> None:
    wh.exception("x", status="persisting")

    workflow.assign(wh.engine, "x", "ann", actor=BOB, accounts={"ann": "finance"})
    assert _state(wh, "x") == ("persisting", "ann")
    workflow.comment(wh.engine, "x", "asked the store", actor=ANN)
    workflow.close(wh.engine, "x", "posted by hand in Sage", actor=ANN)
    assert _state(wh, "x") == ("closed", "ann")
    workflow.reopen(wh.engine, "x", actor=BOB, reason="still missing")
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
        ("closed", lambda e: workflow.close(e, "x", "dup", ANN), "is closed, not open"),
        ("resolved", lambda e: workflow.close(e, "x", "dup", ANN), "is resolved, not open"),
        ("new", lambda e: workflow.reopen(e, "x", ANN), "already open"),
        ("new", lambda e: workflow.close(e, "x", "  ", ANN), "reason must not be empty"),
        ("new", lambda e: workflow.comment(e, "x", "hi", NOBODY), "actor must not be empty"),
        # PostgreSQL refused a NUL (a DataError the page did not catch); 10 MB was kept
        ("new", lambda e: workflow.comment(e, "x", "a\x00b", ANN), "comment holds a NUL"),
        ("new", lambda e: workflow.close(e, "x", "\udcff", ANN), "reason holds a character"),
        ("new", lambda e: workflow.comment(e, "x", "x" * 10_001, ANN), "more than 10000"),
        ("new", lambda e: workflow.bulk_close(e, ["x"], "a\x00", ANN), "reason holds a NUL"),
        (
            "new",
            lambda e: workflow.assign(e, "nope", "ann", BOB, accounts=ACCOUNTS),
            "no exception with id",
        ),
        (
            "new",
            lambda e: workflow.assign(e, "x", "  ", BOB, accounts=ACCOUNTS),
            "assignee must not be empty",
        ),
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
    workflow.reopen(wh.engine, "x", actor=ANN)
    row = wh.read(queries.exceptions, Filters()).row(0, named=True)
    assert (row["id"], row["status"], row["resolved_at"]) == ("x", "persisting", None)


def test_resync_posts_the_exceptions_order_and_audits_the_outcome(wh: Warehouse) -> None:
    wh.exception("m", kind="missing_in_erp", pos_ref="5016", status="new")
    wh.exception("p", kind="price_mismatch", pos_ref=None, status="new")
    asked: list[str] = []

    def post_order(order_id: str) -> tuple[bool, str]:
        asked.append(order_id)
        return False, f"order {order_id}: still held: map tender 'Swish' in mappings"

    outcome = workflow.resync(wh.engine, "m", ANN, post_order)
    #  what was posted         audit trail: the real outcome, never just "re-synced"
    assert asked == ["5016"]
    assert outcome == (False, "order 5016: still held: map tender 'Swish' in mappings")
    assert _events(wh, "m") == [
        ("resynced", "ann", "order 5016: still held: map tender 'Swish' in mappings")
    ]
    with pytest.raises(workflow.WorkflowError, match="no POS order to re-sync"):
        workflow.resync(wh.engine, "p", BOB, post_order)  # admin: may, but nothing to post
    assert asked == ["5016"]


# --- who may do what -------------------------------------------------------------------

ACTIONS = {
    "assign": lambda e, who: workflow.assign(e, "x", "bob", who, accounts=ACCOUNTS),
    "comment": lambda e, who: workflow.comment(e, "x", "looked at it", who),
    "close": lambda e, who: workflow.close(e, "x", "posted by hand", who),
    "reopen": lambda e, who: workflow.reopen(e, "x", who, "not fixed"),
    "resync": lambda e, who: workflow.resync(e, "x", who, lambda _: (True, "posted")),
}
#                 exception owner: finance               ops
#  role          action             allowed                allowed
MATRIX = [
    ("finance", "assign", True, False),
    ("finance", "comment", True, False),
    ("finance", "close", True, False),
    ("finance", "reopen", True, False),
    ("finance", "resync", True, False),
    ("ops", "assign", False, True),
    ("ops", "comment", False, True),
    ("ops", "close", False, True),
    ("ops", "reopen", False, True),
    ("ops", "resync", False, False),  # ops-owned kinds have no order to post
    ("admin", "assign", True, True),
    ("admin", "comment", True, True),
    ("admin", "close", True, True),
    ("admin", "reopen", True, True),
    ("admin", "resync", True, False),
]
CASES = [
    (role, action, owner, ok)
    for role, action, on_finance, on_ops in MATRIX
    for owner, ok in (("finance", on_finance), ("ops", on_ops))
]


@pytest.mark.parametrize(("role", "action", "owner", "ok"), CASES)
def test_who_may_act_on_which_exception(
    wh: Warehouse, role: str, action: str, owner: str, ok: bool
) -> None:
    kind = "missing_in_erp" if owner == "finance" else "stock_variance"
    status = "closed" if action == "reopen" else "new"
    wh.exception("x", kind=kind, status=status, pos_ref="5016", owner=owner)
    who = User("ann", role)
    if ok:
        ACTIONS[action](wh.engine, who)
        assert [e[0] for e in _events(wh, "x")] != []
        return
    with pytest.raises(workflow.WorkflowError) as refused:
        ACTIONS[action](wh.engine, who)
    if owner != role and role != "admin":  # refused for the role, before anything else
        assert isinstance(refused.value, workflow.NotAllowed)
        assert str(refused.value) == f"ann ({role}) may not {_verb(action)} a {owner} exception"
    assert _events(wh, "x") == []
    assert _state(wh, "x") == (status, None)


def _verb(action: str) -> str:
    return {"comment": "comment on", "resync": "re-sync"}.get(action, action)


@pytest.mark.parametrize("role", ["finance", "ops"])
def test_only_an_admin_edits_mappings(wh: Warehouse, role: str) -> None:
    from recon.warehouse.mappings import load_mappings

    with pytest.raises(workflow.NotAllowed, match="only an admin may edit mappings"):
        workflow.map_tender(wh.engine, "Swish", "1230", User("ann", role))
    with pytest.raises(workflow.NotAllowed, match="only an admin"):
        workflow.map_store(wh.engine, "9", "WH-9", User("ann", role))
    assert load_mappings(wh.engine).tenders == {}
    workflow.map_tender(wh.engine, "Swish", "1230", User("root", "admin"))
    assert load_mappings(wh.engine).tenders == {"Swish": "1230"}


def test_an_admin_maps_a_vat_rate_and_it_is_audited(wh: Warehouse) -> None:
    from decimal import Decimal

    from recon.config.mappings import TaxMapping
    from recon.warehouse.mappings import load_mappings

    with pytest.raises(workflow.NotAllowed, match="only an admin may edit mappings"):
        workflow.map_tax(wh.engine, "12.5", "T5", "2201", User("ann", "finance"))
    workflow.map_tax(wh.engine, " 12.5 ", "T5", "2201", User("root", "admin"))
    rate = Decimal("12.50")
    assert load_mappings(wh.engine).tax == {rate: TaxMapping(rate, "T5", "2201")}
    changes = wh.read(queries.mapping_changes)
    tax = changes.filter(changes["mapping"] == "tax")
    assert tax.select("actor", "key", "before", "after").rows() == [
        ("root", "12.50", None, "T5, account 2201")
    ]


@pytest.mark.parametrize(
    ("rate", "code", "message"),
    [
        ("twelve", "T5", "is not a number"),
        ("NaN", "T5", "from 0 to under 100"),
        ("100", "T5", "from 0 to under 100"),
        ("-1", "T5", "from 0 to under 100"),
        ("12.5", " ", "tax code must not be empty"),
    ],
)
def test_a_vat_rate_mapping_that_cannot_be_used_is_refused(
    wh: Warehouse, rate: str, code: str, message: str
) -> None:
    from recon.warehouse.mappings import load_mappings

    with pytest.raises(workflow.WorkflowError, match=message):
        workflow.map_tax(wh.engine, rate, code, "2201", BOB)
    assert load_mappings(wh.engine).tax == {}
