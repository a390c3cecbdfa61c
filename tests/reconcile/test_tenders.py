"""Takings per store-day and account, tender_variance causes and the waterfall."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from recon.reconcile import EngineConfig, Tolerance
from tests.reconcile._build import DAY, Snap, found, later


def _waterfall(snap: Snap) -> dict[tuple[str | None, str], Decimal]:
    frame = snap.run().waterfall
    return {(r["store"], r["cause"]): r["amount"] for r in frame.iter_rows(named=True)}


def test_split_tenders_sum_per_account_and_shared_account_has_no_tender() -> None:
    snap = Snap().add("map_tender", tender="Amex", account="1220")  # Card and Amex share 1220
    snap.sale("1", "20.00", tenders=(("Cash", "5.00"), ("Card", "10.00"), ("Amex", "5.00")))
    snap.sale("2", "10.00", tenders=(("Cash", "10.00"),))
    takings = snap.run().takings.select("account", "tender", "pos_amount", "erp_amount")
    assert takings.rows() == [
        ("1210", "Cash", Decimal("15.00"), Decimal("15.00")),
        ("1220", None, Decimal("15.00"), Decimal("15.00")),
    ]


def test_receipt_without_location_takes_store_from_pos_ref() -> None:
    snap = Snap().sale("1", store="2")  # the receipt helper leaves location null
    row = snap.run().takings.row(0, named=True)
    assert (row["store"], row["variance"]) == ("2", Decimal("0.00"))


def test_unexplained_variance_is_an_error_and_waterfall_adds_up() -> None:
    snap = Snap().sale("1").receipt(None, "1220", "3.00", location="WH1")
    assert found(snap.run(), "store", "account", "tender", "difference", "severity") == {
        ("tender_variance", "unexplained", "1", "1220", "Card", Decimal("3.000"), "error"),
    }
    assert _waterfall(snap) == {("1", "unexplained"): Decimal("3.00")}


def test_variance_explained_by_amount_mismatch() -> None:
    snap = Snap().order("1", vat="2.00").pay("1", "Card", "12.00")
    snap.doc("D1", "1", "15.00", vat="2.00").receipt("1", "1220", "15.00")
    assert found(snap.run(), "difference") == {
        ("amount_mismatch", "amount_differs", Decimal("3.000")),
        ("tender_variance", "explained_by_amount_mismatch", Decimal("3.000")),
    }
    assert _waterfall(snap) == {("1", "explained_by_amount_mismatch"): Decimal("3.00")}


def test_mixed_causes_split_the_store_day_exactly() -> None:
    snap = Snap().sale("1", "10.00").sale("2", "7.00", posted=False)
    snap.sale("3", "-4.00", order_type="refund", original="1", posted=False)
    snap.sale("4", "9.00", tenders=(("Cash", "9.00"),), posted=False)
    snap.receipt(None, "1210", "1.00", location="WH1")  # stray cash: unexplained part
    findings = snap.run()
    assert found(findings, "account") >= {
        ("tender_variance", "explained_by_missing_in_erp", "1220"),  # -7 + 4 = -3: m + r
        ("tender_variance", "unexplained", "1210"),  # -9 missing + 1 stray
    }
    assert _waterfall(snap) == {
        ("1", "explained_by_missing_in_erp"): Decimal("-16.00"),
        ("1", "explained_by_refund_without_credit_note"): Decimal("4.00"),
        ("1", "unexplained"): Decimal("1.00"),
    }
    total = findings.takings.get_column("variance").sum()
    assert findings.waterfall.get_column("amount").sum() == total == Decimal("-11.00")


def test_tender_tolerance_edge() -> None:
    snap = Snap().sale("1").receipt(None, "1220", "0.02", location="WH1")
    cfg = EngineConfig(tender=Tolerance(absolute=Decimal("0.02")))
    assert found(snap.run(cfg)) == set()
    cfg = EngineConfig(tender=Tolerance(absolute=Decimal("0.01")))
    assert found(snap.run(cfg)) == {("tender_variance", "unexplained")}


def test_receipt_on_next_day_moves_money_between_days() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").doc("D1", "1")
    snap.receipt("1", "1220", "12.00", posting_date=later(1))
    takings = snap.run().takings.select("business_day", "variance").rows()
    assert takings == [(DAY, Decimal("-12.00")), (later(1), Decimal("12.00"))]


def test_daily_journal_lines_match_store_day_takings() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").order("2").pay("2", "Cash", "8.00")
    snap.receipt("1-2024-05-01", "1220", "12.00", journal_id="J1")  # store from the reference
    snap.receipt("1-2024-05-01", "1210", "8.00", journal_id="J1")
    snap.receipt("1-2024-05-01", "4000", "-20.00", journal_id="J1")  # sales: not a tender
    snap.setting("posting_mode", "daily_journal")
    findings = snap.run()
    assert found(findings) == set()
    assert findings.takings.get_column("variance").to_list() == [Decimal("0.00")] * 2


def test_empty_snapshot_gives_empty_typed_frames() -> None:
    findings = Snap().clear("map_store").clear("map_tender").clear("map_tax").run(as_of=None)
    assert findings.exceptions.is_empty() and findings.takings.is_empty()
    assert findings.takings.schema["variance"] == pl.Decimal(18, 2)
    assert findings.waterfall.columns[:4] == ["store", "business_day", "cause", "amount"]


def test_receipts_of_orphan_documents_explain_the_variance() -> None:
    snap = Snap().sale("1", "10.00")
    snap.doc("X1", "777", "5.00").receipt("777", "1220", "5.00")  # store from the invoice
    snap.doc("X2", "888", "-3.00", doc_type="credit_note", location=None, original="1")
    snap.receipt("888", "1210", "-3.00")  # store from the sale the credit note names
    #                  kind                          cause                               account
    assert found(snap.run(), "store", "account", "difference") == {
        ("missing_in_pos", "no_pos_order", "1", None, Decimal("5.000")),
        ("credit_note_without_refund", "no_pos_refund", "1", None, Decimal("-3.000")),
        ("tender_variance", "explained_by_missing_in_pos", "1", "1220", Decimal("5.000")),
        ("tender_variance", "explained_by_credit_note_without_refund", "1", "1210",
         Decimal("-3.000")),
    }  # fmt: skip
    assert _waterfall(snap) == {
        ("1", "explained_by_missing_in_pos"): Decimal("5.00"),
        ("1", "explained_by_credit_note_without_refund"): Decimal("-3.00"),
    }


def test_pos_and_erp_only_money_on_one_account_split_exactly() -> None:
    snap = Snap().sale("1", "10.00").sale("2", "7.00", posted=False)  # -7.00 missing in ERP
    snap.doc("X1", "777", "5.00").receipt("777", "1220", "5.00")  # +5.00 with no POS order
    snap.receipt(None, "1220", "1.00", location="WH1")  # +1.00 stray
    findings = snap.run()
    assert found(findings, "account") >= {("tender_variance", "unexplained", "1220")}
    assert _waterfall(snap) == {
        ("1", "explained_by_missing_in_erp"): Decimal("-7.00"),
        ("1", "explained_by_missing_in_pos"): Decimal("5.00"),
        ("1", "unexplained"): Decimal("1.00"),
    }


def test_orphan_without_a_store_keeps_its_money_in_a_storeless_row() -> None:
    snap = Snap().sale("1").doc("X1", "777", "5.00", location="WEB").receipt("777", "1220", "5.00")
    findings = snap.run()
    assert found(findings, "store", "erp_ref") == {
        ("missing_in_pos", "no_pos_order", None, "X1"),
        ("tender_variance", "explained_by_missing_in_pos", None, None),
    }
    assert _waterfall(snap) == {(None, "explained_by_missing_in_pos"): Decimal("5.00")}


def test_storeless_erp_money_is_unattributed_and_explained_by_its_document() -> None:
    # NetSuite-like: no document or payment carries a location; their pos_refs name no order.
    snap = Snap().sale("1")
    snap.receipt("555", "1220", "4.00")  # an orphan payment: no document at all
    snap.doc("X1", "777", "5.00", location=None).receipt("777", "1220", "5.00")  # orphan invoice
    snap.doc("X2", "888", "-3.00", doc_type="credit_note", location=None)  # no refund, no sale
    snap.receipt("888", "1210", "-3.00")
    findings = snap.run()
    #                   kind                          cause                store  account
    assert found(findings, "store", "account") == {
        ("missing_in_pos", "no_pos_order", None, None),
        ("credit_note_without_refund", "no_pos_refund", None, None),
        ("tender_variance", "unexplained", None, "1220"),  # 5.00 explained, 4.00 not
        ("tender_variance", "explained_by_credit_note_without_refund", None, "1210"),
    }
    assert _waterfall(snap) == {
        (None, "explained_by_missing_in_pos"): Decimal("5.00"),
        (None, "explained_by_credit_note_without_refund"): Decimal("-3.00"),
        (None, "unexplained"): Decimal("4.00"),
    }
    unattributed = findings.takings.filter(pl.col("store").is_null())
    assert unattributed.select("account", "erp_amount").rows() == [
        ("1210", Decimal("-3.00")),
        ("1220", Decimal("9.00")),
    ]


def test_a_late_document_and_its_receipt_are_explained_by_day_mismatch_on_both_days() -> None:
    snap = Snap().sale("2").order("1").pay("1", "Card", "12.00")
    snap.doc("D1", "1", posting_date=later(1)).receipt("1", "1220", "12.00", posting_date=later(1))
    findings = snap.run()
    #                   kind             cause                    day        difference
    assert found(findings, "business_day", "difference") == {
        ("day_mismatch", "posted_next_day", DAY, Decimal("0.000")),
        ("tender_variance", "explained_by_day_mismatch", DAY, Decimal("-12.000")),
        ("tender_variance", "explained_by_day_mismatch", later(1), Decimal("12.000")),
    }
    parts = {(r["business_day"], r["cause"]): r["amount"] for r in findings.waterfall.to_dicts()}
    assert parts == {
        (DAY, "explained_by_day_mismatch"): Decimal("-12.00"),
        (later(1), "explained_by_day_mismatch"): Decimal("12.00"),
    }
    for day in (DAY, later(1)):  # a run of one day sees its half the same way
        scoped = snap.run(day=day, store="1")
        assert scoped.waterfall.equals(findings.waterfall.filter(pl.col("business_day") == day))


def test_a_late_document_whose_receipt_is_on_time_moves_no_money() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1", posting_date=later(1))
    findings = snap.run()
    assert found(findings) == {("day_mismatch", "posted_next_day")}
    assert findings.waterfall.is_empty()
