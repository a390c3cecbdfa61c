"""One order's chain (`recon.warehouse.chain`): small inline tables of both sides, the links'
statuses and the chain's status beside them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, select

from recon.warehouse.chain import Chain, NotFound, find_chain, order_chain
from recon.warehouse.models import (
    ErpDocument,
    ErpJournalLine,
    ExceptionRow,
    MapSetting,
    MapTender,
    PosOrder,
    PosPayment,
    SyncPost,
)

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)  # the day after the business days below
SOLD = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def table(text: str) -> list[dict[str, Any]]:
    """Rows of a whitespace-separated table; the first line names the columns, `-` is null."""
    head, *rows = [line.split() for line in text.strip().splitlines()]
    return [{k: None if v == "-" else v for k, v in zip(head, row, strict=True)} for row in rows]


def load(engine: Engine, **tables: str) -> None:
    """Each table's rows, with plain defaults for the columns a test does not care about."""
    with engine.begin() as conn:
        for name, text in tables.items():
            for r in table(text):
                conn.execute(insert(MODELS[name]), [DEFAULTS[name](r)])


def _order(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": r["order_id"],
        "store_id": r.get("store", "1"),
        "business_day": date.fromisoformat(r.get("day", "2024-06-01")),
        "created_at": datetime.fromisoformat(r["created"]) if r.get("created") else SOLD,
        "order_type": "refund" if r.get("refunds") else "sale",
        "state": r.get("state", "completed"),
        "paid": r.get("paid", "y") == "y",
        "original_order_id": r.get("refunds"),
        "gross_total": Decimal(r["gross"]),
        "vat_total": Decimal("0.00"),
        "currency": "GBP",
    }


def _doc(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "doc_id": r.get("doc_id", r["doc_no"]),
        "doc_no": r["doc_no"],
        "doc_type": r.get("type", "sales_order"),
        "pos_ref": r["pos_ref"],
        "original_pos_ref": r.get("original"),
        "location": "WH-1",
        "posting_date": date(2024, 6, 1),
        "gross_total": Decimal(r["gross"]),
        "vat_total": Decimal("0.00"),
        "currency": "GBP",
    }


def _journal(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "journal_id": r["journal_id"],
        "line_no": int(r.get("line", "1")),
        "posting_date": date(2024, 6, 1),
        "location": None,
        "account": r["account"],
        "tender": None,
        "amount": Decimal(r["amount"]),
        "currency": r.get("currency", "GBP"),
        "pos_ref": r["pos_ref"],
    }


def _post(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "erp": "sage200",
        "post_key": r["post_key"],
        "pos_order_id": r.get("order"),
        "kind": r["post_key"].split(":")[0],
        "status": r["status"],
        "erp_ref": r.get("erp_ref"),
        "reason": r.get("reason"),
        "message": None,
        "attempts": 1,
        "first_attempt_at": SOLD,
        "last_attempt_at": SOLD,
    }


def _exception(r: dict[str, Any]) -> dict[str, Any]:
    day = r.get("day")
    return {
        "id": r["id"],
        "kind": r["kind"],
        "cause": r.get("cause", "c"),
        "store": r.get("store"),
        "business_day": date.fromisoformat(day) if day else None,
        "pos_ref": r.get("pos_ref"),
        "erp_ref": r.get("erp_ref"),
        "account": r.get("account"),
        "severity": "error",
        "owner": "finance",
        "status": r.get("status", "new"),
        "first_seen": SOLD,
        "last_seen": SOLD,
    }


MODELS: dict[str, Any] = {
    "orders": PosOrder,
    "payments": PosPayment,
    "documents": ErpDocument,
    "journal": ErpJournalLine,
    "posts": SyncPost,
    "exceptions": ExceptionRow,
    "tenders": MapTender,
    "settings": MapSetting,
}
DEFAULTS: dict[str, Any] = {
    "orders": _order,
    "payments": lambda r: {**r, "payment_no": int(r["payment_no"]), "amount": Decimal(r["amount"])},
    "documents": _doc,
    "journal": _journal,
    "posts": _post,
    "exceptions": _exception,
    "tenders": lambda r: r,
    "settings": lambda r: r,
}
TENDERS = """
tender account
Card   1220
Cash   1210
"""


def chain_of(engine: Engine, ident: str, now: datetime = NOW) -> Chain:
    with engine.connect() as conn:
        return find_chain(conn, ident, now)


def statuses(chain: Chain) -> list[tuple[str, str | None, str, str]]:
    """(role, ref, status, level) of every link."""
    return [(role, link.ref, link.status, link.level) for role, link in chain.links()]


# --- ok, pending, broken ---------------------------------------------------------------


def test_a_sale_posted_received_and_synced_is_ok(warehouse: Engine) -> None:
    load(
        warehouse,
        tenders=TENDERS,
        orders="""
        order_id gross
        5120     12.00
        """,
        payments="""
        order_id payment_no tender amount
        5120     1          Card   12.00
        """,
        documents="""
        doc_no pos_ref gross
        SO-1   5120    12.00
        """,
        journal="""
        journal_id account amount pos_ref
        R1         1220    12.00  5120
        """,
        posts="""
        post_key  order status erp_ref
        sale:5120 5120  posted SO-1
        """,
    )
    chain = chain_of(warehouse, "5120")
    assert statuses(chain) == [
        # role         ref          status       level
        ("order", "5120", "completed", "ok"),
        ("documents", "SO-1", "posted", "ok"),
        ("tenders", "Card", "received", "ok"),
        ("sync_posts", "sale:5120", "posted", "ok"),
    ]
    assert (chain.status, chain.exception_ids, chain.found_as) == ("ok", [], "pos_order")


@pytest.mark.parametrize(
    ("order", "post", "created", "document"),
    [
        # an open (parked) order: not due, nothing posts yet
        ("state=open", None, None, None),
        # paid later: not due yet
        ("paid=n", None, None, None),
        # the sync is retrying after a 503
        ("", "retrying", None, ("posting", "pending")),
        # posted, but no collect has read the document yet
        ("", "posted", None, ("not_collected", "pending")),
        # sold a minute ago: not posted yet, within the grace period
        ("", None, "2024-06-03T11:59:00+00:00", ("not_posted_yet", "pending")),
    ],
)
def test_a_sale_not_yet_due_or_posted_is_pending(
    warehouse: Engine,
    order: str,
    post: str | None,
    created: str | None,
    document: tuple[str, str] | None,
) -> None:
    row = {"order_id": "5120", "gross": "12.00", "created": created or SOLD.isoformat()}
    row |= dict(kv.split("=") for kv in order.split() if kv)
    load(warehouse, tenders=TENDERS)
    with warehouse.begin() as conn:
        conn.execute(insert(PosOrder), [_order(row)])
        if post:
            conn.execute(insert(SyncPost), [_post({"post_key": "sale:5120", "order": "5120",
                                                   "status": post})])  # fmt: skip
    chain = chain_of(warehouse, "5120")
    assert chain.status == "pending"
    assert [(d.ref, d.status, d.level) for d in chain.documents] == (
        [] if document is None else [(None, *document)]
    )


def test_a_duplicate_document_and_its_open_exception_break_the_chain(warehouse: Engine) -> None:
    load(
        warehouse,
        orders="""
        order_id gross
        5120     12.00
        """,
        documents="""
        doc_no pos_ref gross
        SO-1   5120    12.00
        SO-2   5120    12.00
        """,
        exceptions="""
        id  kind             pos_ref erp_ref status
        dup duplicate_in_erp 5120    SO-2    new
        old missing_in_erp   5120    -       resolved
        """,
    )
    chain = chain_of(warehouse, "SO-2")  # the ERP document number finds the sale's chain
    assert [(d.ref, d.status, d.level) for d in chain.documents] == [
        ("SO-1", "posted", "ok"),
        ("SO-2", "duplicate", "broken"),
    ]
    assert (chain.status, chain.exception_ids, chain.found_as) == ("broken", ["dup"], "doc_no")


@pytest.mark.parametrize(
    ("post", "created", "status", "detail"),
    [
        ("held", None, "held", "held_unmapped_tender"),
        ("failed", None, "failed", "held_unmapped_tender"),
        (None, None, "missing", "no ERP document carries it"),
    ],
)
def test_a_due_sale_without_its_document_is_broken(
    warehouse: Engine, post: str | None, created: str | None, status: str, detail: str
) -> None:
    with warehouse.begin() as conn:
        conn.execute(insert(PosOrder), [_order({"order_id": "5120", "gross": "12.00"})])
        if post:
            conn.execute(insert(SyncPost), [_post({"post_key": "sale:5120", "order": "5120",
                          "status": post, "reason": "held_unmapped_tender"})])  # fmt: skip
    chain = chain_of(warehouse, "5120")
    assert [(d.ref, d.status, d.level, d.detail) for d in chain.documents] == [
        (None, status, "broken", detail)
    ]
    assert chain.status == "broken"


def test_an_open_amount_mismatch_marks_the_document_wrong_amount(warehouse: Engine) -> None:
    load(
        warehouse,
        orders="""
        order_id gross
        5121     10.00
        """,
        documents="""
        doc_no pos_ref gross
        SO-2   5121    9.50
        """,
        exceptions="""
        id kind            pos_ref erp_ref
        b  amount_mismatch 5121    SO-2
        """,
    )
    chain = chain_of(warehouse, "5121")
    assert [(d.ref, d.status, d.level) for d in chain.documents] == [
        ("SO-2", "wrong_amount", "broken")
    ]
    assert (chain.status, chain.exception_ids) == ("broken", ["b"])


def test_a_document_posted_for_an_open_order_is_not_due(warehouse: Engine) -> None:
    load(
        warehouse,
        orders="""
        order_id gross state
        5120     12.00 open
        """,
        documents="""
        doc_no pos_ref gross
        SO-1   5120    12.00
        """,
    )
    chain = chain_of(warehouse, "5120")
    assert statuses(chain) == [
        ("order", "5120", "open", "pending"),
        ("documents", "SO-1", "not_due", "broken"),
    ]
    assert chain.status == "broken"


# --- refunds and credit notes ----------------------------------------------------------

REFUNDED = dict(
    tenders=TENDERS,
    orders="""
    order_id gross  refunds
    5120     12.00  -
    5130     -12.00 5120
    """,
    documents="""
    doc_no pos_ref gross  type        original
    SO-1   5120    12.00  sales_order -
    CN-1   5130    -12.00 credit_note 5120
    """,
)


@pytest.mark.parametrize(("ident", "found_as"), [("5130", "refund"), ("CN-1", "doc_no")])
def test_a_refund_or_its_credit_note_finds_the_sales_chain(
    warehouse: Engine, ident: str, found_as: str
) -> None:
    load(warehouse, **REFUNDED)
    chain = chain_of(warehouse, ident)
    assert (chain.order_id, chain.found_as, chain.status) == ("5120", found_as, "ok")
    assert statuses(chain) == [
        ("order", "5120", "completed", "ok"),
        ("documents", "SO-1", "posted", "ok"),
        ("refunds", "5130", "completed", "ok"),
        ("credit_notes", "CN-1", "posted", "ok"),
    ]


def test_a_refund_without_its_credit_note_and_a_stray_credit_note(warehouse: Engine) -> None:
    load(
        warehouse,
        orders="""
        order_id gross  refunds
        5120     12.00  -
        5130     -12.00 5120
        """,
        documents="""
        doc_no pos_ref gross  type        original
        SO-1   5120    12.00  sales_order -
        CN-9   7001    -5.00  credit_note 5120
        """,
        exceptions="""
        id kind                       pos_ref erp_ref
        r  refund_without_credit_note 5130    -
        c  credit_note_without_refund -       CN-9
        """,
    )
    chain = chain_of(warehouse, "5120")
    assert [(c.ref, c.status, c.level) for c in chain.credit_notes] == [
        (None, "missing", "broken"),  # the refund 5130's
        ("CN-9", "no_refund", "broken"),  # names the sale, carries no refund of it
    ]
    assert (chain.status, chain.exception_ids) == ("broken", ["c", "r"])


# --- tenders ---------------------------------------------------------------------------


def test_per_order_tenders_and_the_store_day_variance_they_are_part_of(warehouse: Engine) -> None:
    load(
        warehouse,
        tenders=TENDERS,
        orders="""
        order_id gross
        5120     20.00
        """,
        payments="""
        order_id payment_no tender amount
        5120     1          Card   12.00
        5120     2          Cash   5.00
        5120     3          Swish  3.00
        """,
        documents="""
        doc_no pos_ref gross
        SO-1   5120    20.00
        """,
        journal="""
        journal_id account amount pos_ref
        R1         1220    11.00  5120
        """,
        exceptions="""
        id   kind            store day        account
        tv1  tender_variance 1     2024-06-01 1220
        tv2  tender_variance 1     2024-06-01 1210
        tv3  tender_variance 1     2024-06-01 1299
        """,
    )
    chain = chain_of(warehouse, "5120")
    assert [(t.ref, t.status, t.level, t.values["erp_amount"]) for t in chain.tenders] == [
        ("Card", "differs", "broken", Decimal("11.00")),
        ("Cash", "missing", "broken", None),  # its document is in, its receipt not
        ("Swish", "unmapped", "broken", None),
    ]
    assert chain.exception_ids == ["tv1", "tv2"]  # 1299 is no tender of this order


def test_a_receipt_in_another_currency_differs_whatever_its_amount(warehouse: Engine) -> None:
    """Before, 12.00 EUR received for a 12.00 GBP payment was `received` (ok), and a receipt
    split over two currencies was summed as one amount."""
    load(
        warehouse,
        tenders=TENDERS,
        orders="order_id gross\n5120 17.00",
        payments="""
        order_id payment_no tender amount
        5120     1          Card   12.00
        5120     2          Cash   5.00
        """,
        documents="doc_no pos_ref gross\nSO-1 5120 17.00",
        journal="""
        journal_id line account amount currency pos_ref
        R1         1    1220    12.00  EUR      5120
        R2         1    1210    2.00   GBP      5120
        R2         2    1210    3.00   SEK      5120
        """,
    )
    tenders = chain_of(warehouse, "5120").tenders
    assert [(t.ref, t.status, t.detail) for t in tenders] == [
        ("Card", "differs", "the ERP received it in EUR, not GBP"),
        ("Cash", "differs", "the ERP received it in SEK, not GBP"),
    ]


def test_a_store_day_variance_is_not_on_a_chain_whose_receipts_agree(warehouse: Engine) -> None:
    load(
        warehouse,
        tenders=TENDERS,
        orders="""
        order_id gross
        5120     12.00
        """,
        payments="""
        order_id payment_no tender amount
        5120     1          Card   12.00
        """,
        documents="""
        doc_no pos_ref gross
        SO-1   5120    12.00
        """,
        journal="""
        journal_id account amount pos_ref
        R1         1220    12.00  5120
        """,
        exceptions="""
        id   kind            store day        account
        tv1  tender_variance 1     2024-06-01 1220
        """,
    )
    assert (chain_of(warehouse, "5120").status, chain_of(warehouse, "5120").exception_ids) == (
        "ok",
        [],
    )


DAILY = dict(
    tenders=TENDERS,
    settings="""
    key           value
    posting_mode  per_order
    posting_mode.7 daily_journal
    """,
    orders="""
    order_id gross store day
    7001     12.00 7     2024-06-01
    """,
    payments="""
    order_id payment_no tender amount
    7001     1          Card   12.00
    """,
)


def test_daily_journal_mode_the_store_day_journal_is_the_tender_posting(
    warehouse: Engine,
) -> None:
    load(
        warehouse,
        **DAILY,
        journal="""
        journal_id account amount pos_ref
        J1         1220    250.00 7-2024-06-01
        J2         1220    80.00  7-2024-06-02
        """,
        posts="""
        post_key                 status
        journal:7-2024-06-01:Card posted
        """,
        exceptions="""
        id   kind            store day        account cause
        tv1  tender_variance 7     2024-06-01 1220    unexplained
        tv2  tender_variance 7     2024-06-01 1220    explained_by_missing_in_erp
        """,
    )
    chain = chain_of(warehouse, "7001")
    assert statuses(chain) == [
        ("order", "7001", "completed", "ok"),  # no document of its own: none required
        ("tenders", "Card", "journaled", "ok"),
        ("sync_posts", "journal:7-2024-06-01:Card", "posted", "ok"),
    ]
    assert chain.tenders[0].values["journals"] == ["J1"]
    assert chain.tenders[0].values["erp_amount"] == Decimal("250.00")  # the day's
    # the day is off and no order of it is known to be why; tv2 is another order's
    assert (chain.status, chain.exception_ids) == ("broken", ["tv1"])


@pytest.mark.parametrize(
    ("now", "status", "level"),
    [
        (datetime(2024, 6, 1, 23, 0, tzinfo=UTC), "not_due", "pending"),  # the day is open
        (datetime(2024, 6, 2, 1, 0, tzinfo=UTC), "not_due", "pending"),  # within the grace
        (datetime(2024, 6, 2, 3, 0, tzinfo=UTC), "missing", "broken"),  # closed, no journal
    ],
)
def test_daily_journal_mode_before_and_after_the_day_closes(
    warehouse: Engine, now: datetime, status: str, level: str
) -> None:
    load(warehouse, **DAILY)
    chain = chain_of(warehouse, "7001", now)
    assert [(t.ref, t.status, t.level) for t in chain.tenders] == [("Card", status, level)]
    assert chain.documents == ()
    assert chain.status == level


# --- finding the chain -----------------------------------------------------------------


def test_found_by_doc_id_and_by_a_receipts_journal_id(warehouse: Engine) -> None:
    load(
        warehouse,
        orders="""
        order_id gross
        5120     12.00
        """,
        documents="""
        doc_id doc_no pos_ref gross
        9001   SO-1   5120    12.00
        """,
        journal="""
        journal_id account amount pos_ref
        R1         1220    12.00  5120
        J7         1220    50.00  1-2024-06-01
        """,
    )
    assert [
        (chain_of(warehouse, i).order_id, chain_of(warehouse, i).found_as) for i in ("9001", " R1 ")
    ] == [("5120", "doc_id"), ("5120", "journal_id")]
    with pytest.raises(NotFound, match="store-day journal 1-2024-06-01"):
        chain_of(warehouse, "J7")


def test_an_erp_document_with_no_pos_order_is_a_chain_of_its_own(warehouse: Engine) -> None:
    load(
        warehouse,
        documents="""
        doc_no pos_ref gross
        SO-7   -       9.00
        SO-8   4444    9.00
        """,
        exceptions="""
        id kind           erp_ref
        o  missing_in_pos SO-7
        """,
    )
    orphan = chain_of(warehouse, "SO-7")
    assert (orphan.order_id, orphan.status, orphan.exception_ids) == (None, "broken", ["o"])
    assert statuses(orphan) == [("documents", "SO-7", "no_pos_order", "broken")]
    named = chain_of(warehouse, "SO-8")  # names a POS order the warehouse lacks
    assert statuses(named)[0] == ("order", "4444", "missing", "broken")


@pytest.mark.parametrize(
    ("ident", "message"),
    [
        ("nope", "no POS order, ERP document or journal with ID 'nope'"),
        ("", "give a POS order id or an ERP document number"),
        ("   ", "give a POS order id or an ERP document number"),
        ("%", "no POS order, ERP document or journal with ID '%'"),  # no LIKE: equality
        ("5_2_", "no POS order, ERP document or journal with ID '5_2_'"),
        ("5120' OR '1'='1", "no POS order, ERP document or journal with ID \"5120' OR '1'='1\""),
        ("\uff15\uff11\uff12\uff10", "no POS order, ERP document or journal with ID '５１２０'"),
        ("5120\u200b", "no POS order, ERP document or journal with ID '5120\\u200b'"),
        # PostgreSQL refused the NUL, every driver the surrogate: a DataError, not NotFound
        ("51\x0020", "'51\\x0020' is no ID: it holds a NUL character"),
        ("\udcff", "'\\udcff' is no ID: it holds a character that is not UTF-8 text (a lone "
                   "surrogate)"),
        ("x" * 10_000, f"no POS order, ERP document or journal with ID {'x' * 60!r}... "
                       "(10000 characters)"),
    ],
)  # fmt: skip
def test_an_unknown_id_is_not_found(warehouse: Engine, ident: str, message: str) -> None:
    load(warehouse, orders="order_id gross\n5120 12.00")
    with pytest.raises(NotFound) as caught:
        chain_of(warehouse, ident)
    assert str(caught.value) == message


def test_a_document_of_the_wrong_type_is_a_broken_link_not_lost(warehouse: Engine) -> None:
    """Before, an invoice carrying a refund or a credit note carrying a sale was in the
    records but in no link: the chain said nothing of it."""
    load(
        warehouse,
        orders="""
        order_id gross  refunds
        5120     12.00  -
        5130     -12.00 5120
        """,
        documents="""
        doc_no pos_ref gross  type
        SO-1   5120    12.00  sales_order
        CN-2   5120    -1.00  credit_note
        IN-9   5130    -12.00 invoice
        """,
    )
    chain = chain_of(warehouse, "5120")
    assert statuses(chain) == [
        # role          ref     status        level
        ("order", "5120", "completed", "ok"),
        ("documents", "SO-1", "posted", "ok"),
        ("documents", "CN-2", "wrong_type", "broken"),  # a credit note carries the sale
        ("refunds", "5130", "completed", "ok"),
        ("credit_notes", None, "missing", "broken"),  # the refund has no credit note
        ("credit_notes", "IN-9", "wrong_type", "broken"),  # an invoice carries the refund
    ]
    assert chain.credit_notes[1].detail == "a invoice carries the refund 5130"
    assert chain.status == "broken"


@pytest.mark.parametrize("ident", ["7001", "7002", "CN-7"])
def test_a_refund_chain_loop_is_one_broken_chain(warehouse: Engine, ident: str) -> None:
    """Refunds whose original is a refund: 7001 and 7002 name each other."""
    load(
        warehouse,
        orders="""
        order_id gross refunds
        7001     -3.00 7002
        7002     -3.00 7001
        """,
        documents="""
        doc_no pos_ref gross type
        CN-7   7001    -3.00 credit_note
        """,
    )
    chain = chain_of(warehouse, ident)
    sale, refund = ("7002", "7001") if ident != "7002" else ("7001", "7002")
    assert (chain.order_id, chain.status) == (sale, "broken")
    assert chain.order is not None
    assert (chain.order.status, chain.order.detail) == (
        "not_a_sale",
        f"a refund of {refund}; no sale starts this chain",
    )
    assert [r.ref for r in chain.refunds] == [refund]


def test_a_refund_of_itself_is_not_its_own_refund(warehouse: Engine) -> None:
    load(warehouse, orders="order_id gross refunds\n7005 -3.00 7005")
    chain = chain_of(warehouse, "7005")
    assert [(role, link.ref, link.status) for role, link in chain.links()] == [
        ("order", "7005", "not_a_sale"),
        ("documents", None, "missing"),  # no credit note carries it
    ]
    assert (chain.refunds, chain.status) == ((), "broken")


def test_the_text_tree_escapes_what_a_terminal_would_act_on(warehouse: Engine) -> None:
    """Vendor text with a newline could fake a line (`FAKE: ok`); an escape sequence could
    recolour, clear or retitle the terminal."""
    load(
        warehouse,
        orders="order_id gross\n5120 12.00",
        posts="post_key order status reason\nsale:5120 5120 held x",
    )
    with warehouse.begin() as conn:
        conn.execute(
            insert(ErpDocument),
            [_doc({"doc_no": "SO-1\x1b]0;pwn\x07\nFAKE: ok\u202e", "pos_ref": "5120",
                   "gross": "12.00"})],
        )  # fmt: skip
        conn.execute(
            SyncPost.__table__.update().values(reason="bad\r\x1b[2Jline", message="\x9b31m")
        )
    text = chain_of(warehouse, "5120").text()
    assert "    SO-1\\x1b]0;pwn\\x07\\nFAKE: ok\\u202e  posted [ok]  12.00 GBP" in text
    assert "    sale:5120  held [broken]  bad\\r\\x1b[2Jline; \\x9b31m" in text
    assert all(c.isprintable() for line in text.splitlines() for c in line)


def test_the_drill_down_records_include_the_refunds(warehouse: Engine) -> None:
    load(warehouse, **REFUNDED)
    with warehouse.connect() as conn:
        records = order_chain(conn, "5120")
    assert records.refunds["order_id"].to_list() == ["5130"]
    assert records.erp_documents["doc_no"].to_list() == ["CN-1", "SO-1"]  # by day, number


# --- invariants ------------------------------------------------------------------------

WORST = {"ok": 0, "pending": 1, "broken": 2}
ORDER_IDS = itertools.count(10_000)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    state=st.sampled_from(["completed", "open", "cancelled"]),
    paid=st.booleans(),
    documents=st.integers(0, 2),
    post=st.sampled_from([None, "posted", "retrying", "held"]),
    age=st.sampled_from([timedelta(minutes=1), timedelta(days=2)]),
    exception=st.booleans(),
)
def test_the_status_is_the_worst_link_unless_an_open_exception_breaks_it(
    warehouse: Engine,
    state: str,
    paid: bool,
    documents: int,
    post: str | None,
    age: timedelta,
    exception: bool,
) -> None:
    oid = str(next(ORDER_IDS))  # the examples share one warehouse
    with warehouse.begin() as conn:
        conn.execute(
            insert(PosOrder),
            [_order({"order_id": oid, "gross": "5.00", "state": state,
                     "paid": "y" if paid else "n", "created": (NOW - age).isoformat()})],
        )  # fmt: skip
        for n in range(documents):
            conn.execute(insert(ErpDocument), [_doc({"doc_no": f"D{oid}-{n}", "pos_ref": oid,
                                                     "gross": "5.00"})])  # fmt: skip
        if post:
            conn.execute(insert(SyncPost), [_post({"post_key": f"sale:{oid}", "order": oid,
                                                   "status": post})])  # fmt: skip
        if exception:
            conn.execute(insert(ExceptionRow), [_exception({"id": f"x{oid}",
                                                            "kind": "missing_in_erp",
                                                            "pos_ref": oid})])  # fmt: skip
    chain = chain_of(warehouse, oid)
    worst = max((link.level for _, link in chain.links()), key=WORST.__getitem__)
    assert chain.status == ("broken" if exception else worst)
    # every ID of the chain finds the same chain
    for d in chain.documents:
        if d.ref is not None:
            again = chain_of(warehouse, d.ref)
            assert (again.order_id, again.status) == (oid, chain.status)


def test_an_id_naming_several_chains_shows_the_first_and_lists_the_others(
    warehouse: Engine,
) -> None:
    """777 is a POS order and the number of 5120's document; SAP B1 numbers invoices and
    credit notes in separate series, so 900 is a document of 5120 and one of 6000's refund.
    Before, only the first was shown and nothing said there was more."""
    load(
        warehouse,
        orders="""
        order_id gross  refunds
        777      1.00   -
        5120     12.00  -
        6000     5.00   -
        6010     -5.00  6000
        """,
        documents="""
        doc_id doc_no pos_ref gross type
        D1     777    5120    12.00 sales_order
        D2     900    5120    12.00 sales_order
        D3     900    6010    -5.00 credit_note
        """,
    )
    #            ID     chain shown  found as     also
    cases = [("777", "777", "pos_order", (("doc_no", "5120"),)),
             ("900", "5120", "doc_no", (("doc_no", "6000"),)),
             ("D3", "6000", "doc_id", ())]  # fmt: skip
    for ident, order_id, found_as, also in cases:
        chain = chain_of(warehouse, ident)
        assert (chain.order_id, chain.found_as, chain.also) == (order_id, found_as, also)
    chain = chain_of(warehouse, "900")  # the other series' document is not on 5120's chain
    assert chain.records.erp_documents["doc_id"].to_list() == ["D1", "D2"]
    assert chain.record()["also"] == [{"found_as": "doc_no", "order_id": "6000"}]
    assert "  also: doc no 900 is on POS order 6000's chain" in chain.text().splitlines()


IDS = st.one_of(
    st.text(max_size=30),  # any text: NUL, surrogates, controls, other scripts
    st.sampled_from(["5120", "SO-1", "%", "_", "5120%", "R1", "1-2024-06-01", " 5120 "]),
    st.text(alphabet="5120SO-%_\x00\x1b\n ", max_size=8),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ident=IDS)
def test_any_id_is_a_chain_or_not_found_and_both_print_safely(
    warehouse: Engine, ident: str
) -> None:
    """Whatever is typed: NotFound with one printable line, or a chain whose JSON record
    serialises and whose text tree holds no character a terminal acts on."""
    import json

    with warehouse.connect() as conn:
        if conn.scalar(select(func.count()).select_from(PosOrder)) == 0:
            conn.commit()
            load(
                warehouse,
                orders="order_id gross refunds\n5120 12.00 -\n5130 -12.00 5120",
                documents="doc_no pos_ref gross\nSO-1 5120 12.00\n%  5120 12.00",
                journal="journal_id account amount pos_ref\nR1 1220 12.00 5120\nJ2 1220 5.00 "
                "1-2024-06-01",
            )
    try:
        chain = chain_of(warehouse, ident)
    except NotFound as exc:
        assert str(exc).isprintable() and len(str(exc)) < 200
        return
    assert chain.order_id in ("5120", None)
    json.loads(json.dumps(chain.record()))
    assert all(line.isprintable() for line in chain.text().splitlines())
