"""Property tests on snapshots of odd shapes: the engine is total (every run completes),
reports each problem under one kind, and its waterfall adds up, unattributed money included."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.snapshot import TABLES
from tests.reconcile._build import Snap, later

PROFILE = settings(max_examples=25, deadline=None)
STORES = st.sampled_from(["1", "2", "9"])  # 9 has no mapping
LOCATIONS = st.sampled_from([None, "WH1", "WH2", "WEB"])  # WEB maps to no store
ACCOUNTS = st.sampled_from(["1210", "1220", "4000"])  # 4000 is no tender account
REFS = st.sampled_from([None, "100", "101", "102", "555", "1-2024-05-01", "2-2024-05-02"])
CENTS = st.integers(-3000, 3000)
# Kinds that name one problem of a POS order: an order is under at most one of them.
ORDER_KINDS = {"missing_in_erp", "refund_without_credit_note", "amount_mismatch",
               "vat_rounding", "incomplete_order_posted"}  # fmt: skip
DOC_KINDS = {"missing_in_pos", "credit_note_without_refund"}


def _money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


@st.composite
def snapshots(draw: st.DrawFn) -> Snap:
    snap = Snap()
    for n in range(draw(st.integers(0, 3))):  # POS orders, posted or not, late or not
        order_id, cents = str(100 + n), draw(st.integers(1, 3000))
        refund = draw(st.booleans())
        snap.sale(
            order_id,
            _money(-cents if refund else cents),
            store=draw(STORES),
            day=later(draw(st.integers(0, 1))),
            order_type="refund" if refund else "sale",
            posted=draw(st.booleans()),
        )
        doc = next((r for r in snap.rows["erp_documents"] if r["pos_ref"] == order_id), None)
        if doc is not None:  # a VAT or day difference, and receipts dated another day
            doc["vat_total"] += Decimal(draw(st.integers(-6, 6))) / 100
            doc["posting_date"] = later(draw(st.integers(0, 1)))
    for n in range(draw(st.integers(0, 4))):  # ERP-only money: orphan documents, payments
        ref, cents = draw(REFS), draw(CENTS)
        if draw(st.booleans()):
            doc_type = draw(st.sampled_from(["invoice", "credit_note", "journal"]))
            snap.doc(f"X{n}", ref, _money(cents), doc_type=doc_type, location=draw(LOCATIONS))
        snap.receipt(ref, draw(ACCOUNTS), _money(cents), location=draw(LOCATIONS),
                     posting_date=later(draw(st.integers(0, 2))))  # fmt: skip
    for order_id in draw(st.lists(st.sampled_from(["101", "102", "555", "7"]), max_size=2)):
        snap.add("pos_quarantine", order_id=order_id, store_id=draw(st.none() | STORES),
                 business_day=draw(st.none() | st.just(later(0))), reason="bad")  # fmt: skip
    if draw(st.booleans()):
        snap.setting("posting_mode", draw(st.sampled_from(["per_order", "daily_journal", "?"])))
    if draw(st.booleans()):
        snap.setting("posting_mode.1", draw(st.sampled_from(["per_order", "daily_journal"])))
    for table in draw(st.lists(st.sampled_from(sorted(TABLES)), max_size=2)):
        if draw(st.booleans()):
            snap.clear(table)  # an empty (or absent) table
        else:  # a table down to one row, its optional columns all null
            snap.rows[table] = [
                {c: (None if c in _OPTIONAL.get(table, ()) else v) for c, v in row.items()}
                for row in snap.rows[table][:1]
            ]
    return snap


_OPTIONAL = {
    "pos_orders": ("original_order_id", "currency"),
    "erp_documents": ("pos_ref", "original_pos_ref", "location"),
    "erp_journal_lines": ("location", "tender", "pos_ref", "currency"),
    "pos_quarantine": ("store_id", "business_day"),
}


@PROFILE
@given(snapshots())
def test_every_run_completes_one_kind_per_problem_and_the_waterfall_adds_up(snap: Snap) -> None:
    findings = snap.run()
    rows = findings.exceptions
    assert rows.get_column("id").is_unique().all()
    assert rows.filter(pl.any_horizontal(pl.col("kind", "severity", "owner").is_null())).is_empty()
    per_order = rows.filter(pl.col("kind").is_in(ORDER_KINDS)).group_by("pos_ref").len()
    assert per_order.filter(pl.col("len") > 1).is_empty(), per_order
    per_doc = rows.filter(pl.col("kind").is_in(DOC_KINDS)).group_by("erp_ref").len()
    assert per_doc.filter(pl.col("len") > 1).is_empty(), per_doc
    # A quarantined order is either unposted (missing_in_erp) or its document's finding.
    held = rows.filter(pl.col("cause") == "held_bad_data").get_column("pos_ref")
    named = rows.filter(pl.col("cause") == "pos_order_quarantined").get_column("pos_ref")
    assert not set(held) & set(named)

    keys = ["store", "business_day"]
    variance = findings.takings.group_by(keys).agg(pl.col("variance").sum())
    parts = findings.waterfall.group_by(keys).agg(pl.col("amount").sum())
    joined = variance.join(parts, on=keys, how="full", coalesce=True, nulls_equal=True)
    zero = pl.lit(Decimal(0))
    adds_up = pl.col("variance").fill_null(zero) == pl.col("amount").fill_null(zero)
    assert joined.filter(adds_up.not_()).is_empty(), joined
