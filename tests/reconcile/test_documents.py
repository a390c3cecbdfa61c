"""Document links: each case builds a tiny snapshot and states the exceptions it expects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from recon.reconcile import EngineConfig, Tolerance
from tests.reconcile._build import DAY, Snap, d, found, later


def test_consistent_sales_and_refund_have_no_exceptions() -> None:
    snap = Snap().sale("1").sale("2", tenders=(("Cash", "5.00"), ("Card", "7.00")))
    snap.sale("3", "-12.00", order_type="refund", original="1")
    assert found(snap.run()) == set()


def test_missing_in_erp_values_are_erp_minus_pos() -> None:
    snap = Snap().sale("1").sale("2", "30.50", posted=False)
    #                                 kind             cause          pos_ref  pos      erp   diff
    assert found(snap.run(), "pos_ref", "pos_value", "erp_value", "difference") == {
        ("missing_in_erp", "not_posted", "2", Decimal("30.500"), None, Decimal("-30.500")),
        ("tender_variance", "explained_by_missing_in_erp", None, Decimal("42.500"),
         Decimal("12.000"), Decimal("-30.500")),
    }  # fmt: skip
    row = snap.run().exceptions.row(0, named=True)
    assert (row["store"], row["business_day"], row["currency"]) == ("1", DAY, "GBP")


def test_open_cancelled_and_unpaid_orders_are_not_missing() -> None:
    snap = Snap().order("1", state="open").order("2", state="cancelled").order("3", paid=False)
    assert found(snap.run()) == set()


def test_young_unposted_sale_is_pending_not_missing() -> None:
    t0 = datetime(2024, 5, 1, 10, tzinfo=UTC)
    snap = Snap().order("1", created_at=t0).pay("1", "Card", "12.00")
    snap.order("2", created_at=t0 - timedelta(hours=3)).pay("2", "Card", "12.00")
    #                      as_of = latest created_at (t0): order 1 is 0 h old, order 2 is 3 h old
    assert found(snap.run(as_of=None), "pos_ref") == {
        ("missing_in_erp", "not_posted", "2"),
        ("tender_variance", "explained_by_missing_in_erp", None),  # 12.00 of 24.00 missing
    }
    # Exactly at the grace edge (2 h) the sale is no longer pending.
    edge = snap.run(as_of=t0 + timedelta(hours=2))
    assert {r[2] for r in found(edge, "pos_ref") if r[0] == "missing_in_erp"} == {"1", "2"}


def test_daily_journal_store_day_covers_its_orders_but_not_held_ones() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").order("2").pay("2", "Voucher", "3.00")
    snap.receipt("1-2024-05-01", "1220", "12.00", location="WH1")
    snap.setting("posting_mode", "daily_journal")
    assert found(snap.run(), "pos_ref") == {
        ("missing_in_erp", "held_unmapped_tender", "2"),
        ("unmapped_tender", "tender_not_mapped", None),
    }


@pytest.mark.parametrize(
    ("pos_ref", "location", "expected"),
    [
        ("999", "WH1", {("missing_in_pos", "no_pos_order", "D1", "1")}),  # mapped location
        (None, "WH1", {("missing_in_pos", "no_pos_ref", "D1", "1")}),
        ("999", "WEB", {("missing_in_pos", "no_pos_order", "D1", None)}),  # store unknown
        (None, None, {("missing_in_pos", "no_pos_ref", "D1", None)}),  # reported, not lost
        ("5", None, {("missing_in_pos", "no_pos_order", "D1", "2")}),  # names a refund order
    ],
)
def test_missing_in_pos(pos_ref: str | None, location: str | None, expected: set[object]) -> None:
    snap = Snap().sale("5", "-3.00", order_type="refund", store="2")
    snap.doc("D1", pos_ref, location=location)
    assert found(snap.run(), "erp_ref", "store") == expected
    if expected:
        row = snap.run().exceptions.row(0, named=True)
        assert (row["erp_value"], row["difference"]) == (Decimal("12.000"), Decimal("12.000"))


def test_duplicate_names_the_later_document_once() -> None:
    snap = Snap().sale("1")
    snap.doc("A9", "1", posting_date=later(1))  # later day beats a higher-sorting number
    snap.doc("B2", "1")  # same day as D1, higher doc_no
    assert found(snap.run(), "pos_ref", "erp_ref", "erp_value") == {
        ("duplicate_in_erp", "posted_twice", "1", "A9", Decimal("36.000")),
    }


def test_duplicate_keys_in_pos_orders_count_once() -> None:
    snap = Snap().sale("1").order("1")
    assert found(snap.run()) == set()


@pytest.mark.parametrize(
    ("erp_gross", "tolerance", "expected"),
    [
        ("12.00", Tolerance(), set()),
        ("12.05", Tolerance(), {("amount_mismatch", "amount_differs", Decimal("0.050"))}),
        ("12.05", Tolerance(absolute=Decimal("0.05")), set()),  # at the edge: equal
        ("12.06", Tolerance(absolute=Decimal("0.05")), {
            ("amount_mismatch", "amount_differs", Decimal("0.060"))}),
        ("11.93", Tolerance(relative=Decimal("0.005")), {  # |-0.07| > 0.005 * 12.00
            ("amount_mismatch", "amount_differs", Decimal("-0.070"))}),
        ("11.95", Tolerance(absolute=Decimal("0.01"), relative=Decimal("0.005")), set()),
    ],
)  # fmt: skip
def test_amount_mismatch_tolerance(erp_gross: str, tolerance: Tolerance, expected: object) -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1", erp_gross, vat="2.00")
    snap.rows["pos_orders"][0]["vat_total"] = Decimal("2.00")
    got = found(snap.run(EngineConfig(amount=tolerance)), "difference")
    assert got == expected


def test_relative_tolerance_edge_is_inclusive() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1", "11.94", vat="2.00")
    snap.rows["pos_orders"][0]["vat_total"] = Decimal("2.00")
    cfg = EngineConfig(amount=Tolerance(relative=Decimal("0.005")))  # 0.005 * 12.00 = 0.06
    assert found(snap.run(cfg)) == set()


@pytest.mark.parametrize(
    ("pos_vat", "erp_vat", "erp_gross", "expected"),
    [
        ("2.00", "2.01", "12.01", {("vat_rounding", "rounding_0.01", "info")}),
        ("2.00", "1.98", "11.98", {("vat_rounding", "rounding_0.02", "info")}),
        ("2.00", "2.03", "12.03", {("amount_mismatch", "amount_differs", "error")}),
        # the same gross: one kind, by the size of the VAT difference (never both)
        ("2.00", "2.01", "12.00", {("vat_rounding", "rounding_0.01", "info")}),
        ("2.00", "1.98", "12.00", {("vat_rounding", "rounding_0.02", "info")}),
        ("2.00", "2.05", "12.00", {("amount_mismatch", "vat_differs", "error")}),
        # the gross differs beyond the VAT: the amount mismatch alone
        ("2.00", "2.01", "12.51", {("amount_mismatch", "amount_differs", "error")}),
    ],
)  # fmt: skip
def test_vat_rounding_replaces_amount_mismatch_for_the_same_penny(
    pos_vat: str, erp_vat: str, erp_gross: str, expected: object
) -> None:
    snap = Snap().order("1", vat=pos_vat).pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1", erp_gross, vat=erp_vat)
    assert found(snap.run(), "severity") == expected


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        #  vat_rounding_max   ERP VAT 0.05 above the POS's, the same gross   pos   erp   diff
        ("0.02", {("amount_mismatch", "vat_differs", d("2.000"), d("2.050"), d("0.050"))}),
        ("0.05", {("vat_rounding", "rounding_0.05", d("2.000"), d("2.050"), d("0.050"))}),
    ],
)
def test_vat_difference_above_the_limit_is_an_amount_mismatch_of_the_vat(
    limit: str, expected: object
) -> None:
    snap = Snap().order("1", vat="2.00").pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1", "12.00", vat="2.05")
    cfg = EngineConfig(vat_rounding_max=Decimal(limit))
    assert found(snap.run(cfg), "pos_value", "erp_value", "difference") == expected


def test_day_and_store_mismatch() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1", location="WH2", posting_date=later(1))
    snap.order("2").pay("2", "Card", "12.00").receipt("2", "1220", "12.00")
    snap.doc("D2", "2", posting_date=later(3))
    assert found(snap.run(), "pos_ref", "erp_ref") == {
        ("day_mismatch", "posted_next_day", "1", "D1"),
        ("store_mismatch", "wrong_location", "1", "D1"),
        ("day_mismatch", "posted_other_day", "2", "D2"),
    }


@pytest.mark.parametrize(
    ("state", "paid", "cause"),
    [("open", False, "order_open"), ("cancelled", True, "order_cancelled"),
     ("completed", False, "order_unpaid")],
)  # fmt: skip
def test_incomplete_order_posted(state: str, paid: bool, cause: str) -> None:
    snap = Snap().order("1", state=state, paid=paid).doc("D1", "1", posting_date=later(5))
    assert found(snap.run(), "pos_ref") == {("incomplete_order_posted", cause, "1")}


def test_refunds_credit_notes_and_refund_of_refund() -> None:
    snap = Snap().sale("1", "20.00")
    snap.sale("2", "-20.00", order_type="refund", original="1", posted=False)
    snap.sale("3", "20.00", order_type="refund", original="2")  # refund of a refund: linked
    snap.doc("CN7", "77", "-5.00", doc_type="credit_note", location=None, original="1")
    assert found(snap.run(), "pos_ref", "erp_ref", "store", "difference") == {
        ("refund_without_credit_note", "not_posted", "2", None, "1", Decimal("20.000")),
        ("credit_note_without_refund", "no_pos_refund", "77", "CN7", "1", Decimal("-5.000")),
        ("tender_variance", "explained_by_refund_without_credit_note", None, None, "1",
         Decimal("20.000")),
    }  # fmt: skip


def test_sale_document_is_not_a_credit_note() -> None:
    snap = Snap().sale("2", "-20.00", order_type="refund", posted=False)
    snap.doc("D2", "2", "-20.00", doc_type="invoice")
    kinds = {k for k, *_ in found(snap.run())}
    assert {"refund_without_credit_note", "missing_in_pos"} <= kinds


def test_line_mismatch_per_sku() -> None:
    snap = Snap().sale("1")
    snap.doc_line("D1", "SKU-1", "2").doc_line("D1", "EXTRA", "1", no=2)
    snap.line("1", "POSONLY", "1", "0.00", no=2)
    assert found(snap.run(), "pos_ref", "sku", "pos_value", "erp_value") == {
        ("line_mismatch", "quantity_differs", "1", "SKU-1", Decimal("1.000"), Decimal("2.000")),
        ("line_mismatch", "sku_missing_in_pos", "1", "EXTRA", None, Decimal("1.000")),
        ("line_mismatch", "sku_missing_in_erp", "1", "POSONLY", Decimal("1.000"), None),
    }


def test_documents_without_lines_are_not_line_checked() -> None:
    assert found(Snap().sale("1").run()) == set()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        #  declared [settings]                          findings
        ({}, {("missing_in_erp", "not_posted", "2")}),  # per_order: the default
        ({"posting_mode": "per_order"}, {("missing_in_erp", "not_posted", "2")}),
        ({"posting_mode": "daily_journal"}, set()),  # the journal covers the store-day
        ({"posting_mode.1": "daily_journal"}, set()),
        ({"posting_mode": "daily_journal", "posting_mode.1": "per_order"},
         {("missing_in_erp", "not_posted", "2")}),
    ],
)  # fmt: skip
def test_posting_mode_is_declared_not_guessed_from_a_journal(
    settings: dict[str, str], expected: set[object]
) -> None:
    # Invoices per order, takings banked by one journal per store-day: order 2 has no invoice.
    snap = Snap().order("1").pay("1", "Card", "12.00").doc("D1", "1")
    snap.order("2").pay("2", "Card", "12.00")
    snap.receipt("1-2024-05-01", "1220", "24.00", journal_id="J1")  # balances the takings
    for key, value in settings.items():
        snap.setting(key, value)
    findings = snap.run()
    assert found(findings, "pos_ref") == expected
    assert findings.waterfall.is_empty()  # the takings agree: nothing to explain


def _journal_store_snap() -> Snap:
    """Store 1 posts daily journals (DAY is journaled); store 2 posts per order. Day 1 has an
    unposted sale in each, sold at 10:00."""
    snap = Snap().order("1").pay("1", "Card", "12.00").setting("posting_mode.1", "daily_journal")
    snap.receipt("1-2024-05-01", "1220", "12.00", journal_id="J1")
    snap.order("2", day=later(1)).pay("2", "Card", "5.00")
    snap.order("3", store="2", day=later(1)).pay("3", "Card", "7.00")
    return snap


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    day = later(days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        #  as_of                 store-day 1/day 1 (journal store)    2/day 1 (per order)
        (_at(1, 23), {("missing_in_erp", "not_posted", "3")}),  # day 1 still open
        (_at(2, 1, 59), {("missing_in_erp", "not_posted", "3")}),  # closed, within grace
        (_at(2, 2), {("missing_in_erp", "not_posted", "2"),  # closed past grace: a break
                     ("missing_in_erp", "not_posted", "3")}),
    ],
)  # fmt: skip
def test_journal_store_day_is_pending_until_it_closed_plus_grace(
    as_of: datetime, expected: set[object]
) -> None:
    got = {r for r in found(_journal_store_snap().run(as_of=as_of), "pos_ref")}
    assert {r for r in got if r[0] != "tender_variance"} == expected


def test_young_order_of_a_journaled_day_counts_in_the_takings() -> None:
    t0 = datetime(2024, 5, 1, 22, tzinfo=UTC)  # as_of: the newest order, 0 h old
    snap = Snap().order("1", created_at=t0).pay("1", "Card", "12.00")
    snap.order("2", created_at=t0 - timedelta(hours=1)).pay("2", "Cash", "8.00")
    snap.receipt("1-2024-05-01", "1220", "12.00", journal_id="J1")
    snap.receipt("1-2024-05-01", "1210", "8.00", journal_id="J1")
    snap.setting("posting_mode", "daily_journal")
    findings = snap.run(as_of=None)
    assert found(findings) == set()
    assert findings.takings.get_column("pos_amount").to_list() == [d("8.00"), d("12.00")]


@pytest.mark.parametrize(
    ("pos_lines", "erp_lines", "expected"),
    [
        # POS (sku, qty)...                ERP (sku, qty)...            line_mismatch rows
        ([("A", "1"), ("A", "2")], [("A", "3")], set()),  # split lines, same quantity per SKU
        ([("A", "1"), ("B", "2")], [("B", "2"), ("A", "1")], set()),
        ([("A", "0.5"), ("A", "1.0")], [("A", "1.5")], set()),  # thousandths count
        ([("A", "1.001")], [("A", "1")], {("quantity_differs", "A")}),
        ([("A", "1"), ("B", "2")], [("A", "2"), ("B", "1")],
         {("quantity_differs", "A"), ("quantity_differs", "B")}),  # same total, moved
        ([("A", "1"), ("Z", "0")], [("A", "1")], {("sku_missing_in_erp", "Z")}),  # no quantity
        ([("A", "1")], [("A", "1"), ("Z", "0")], {("sku_missing_in_pos", "Z")}),
    ],
)  # fmt: skip
def test_lines_compare_quantity_per_sku(
    pos_lines: list[tuple[str, str]], erp_lines: list[tuple[str, str]], expected: set[object]
) -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").doc("D1", "1").receipt("1", "1220", "12.00")
    for no, (sku, qty) in enumerate(pos_lines, start=1):
        snap.line("1", sku, qty, "6.00", no=no)
    for no, (sku, qty) in enumerate(erp_lines, start=1):
        snap.doc_line("D1", sku, qty, no=no)
    assert {(cause, sku) for _, cause, sku in found(snap.run(), "sku")} == expected


def test_a_quarantined_pos_order_is_reported_once() -> None:
    snap = Snap().sale("1")
    #                         the collector quarantined orders 7, 8 and 9 (bad data)
    for order_id, store in (("7", "1"), ("8", None), ("9", "2")):
        snap.add("pos_quarantine", order_id=order_id, store_id=store, business_day=DAY,
                 reason="orderitems[0].sku: missing")  # fmt: skip
    snap.doc("D8", "8", "5.00", location=None).receipt("8", "1220", "5.00")  # 8 was posted
    snap.doc("C9", "9", "-2.00", doc_type="credit_note", location="WH2")  # 9: a refund, posted
    findings = snap.run()
    #                kind             cause                   pos_ref  erp_ref  store
    assert found(findings, "pos_ref", "erp_ref", "store") == {
        ("missing_in_erp", "held_bad_data", "7", None, "1"),
        ("missing_in_pos", "pos_order_quarantined", "8", "D8", None),
        ("missing_in_pos", "pos_order_quarantined", "9", "C9", "2"),
        ("tender_variance", "explained_by_missing_in_pos", None, None, None),
    }


def test_a_quarantined_order_the_pos_side_also_has_is_judged_as_any_other() -> None:
    snap = Snap().sale("1").sale("2", posted=False)
    snap.add("pos_quarantine", order_id="1", reason="a later version failed validation")
    snap.add("pos_quarantine", order_id="2", reason="a later version failed validation")
    assert found(snap.run(), "pos_ref") == {
        ("missing_in_erp", "not_posted", "2"),
        ("tender_variance", "explained_by_missing_in_erp", None),
    }
