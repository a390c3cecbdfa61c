"""Simulators -> sync -> collect -> reconcile with SAP Business One as the ERP, in-process.

The SAP B1 company is seeded from the `small` scenario (its hand-keyed and orphan documents
become invoices, credit notes and incoming payments), the scenario's mappings are imported
unchanged, the B1 poster posts, both collectors collect, and the engine must find exactly
`truth_for_sapb1(scenario)`. A second sync posts nothing; a sync whose answers are dropped
after B1 committed still leaves one document per POS order.

B1 moves stock with every invoice and credit note; `seed_from_scenario` seeds the stock as
it was before the sync posts the scenario's sales, so after the sync B1 holds what the POS
snapshot holds and the stock findings are compared with the truth as they are.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon.simulators import sapb1
from recon.simulators.faults import Faults
from recon.simulators.sitoo import SitooLine
from tests.e2e.harness import Waits, collect, findings, matches, sale_and_refund, sync, world

ZERO = Decimal("0.00")
SHORT = Waits({"min_wait": 0.01, "max_wait": 0.05}, poster=0.01)


def _b1_documents(b1: sapb1.SapB1State) -> tuple[int, int, int, int]:
    return (
        len(b1.invoices),
        len(b1.credit_notes),
        len(b1.incoming_payments),
        len(b1.vendor_payments),
    )


def test_small_scenario_through_sap_b1_yields_exactly_its_truth(tmp_path: Path) -> None:
    with world("small", f"sqlite:///{tmp_path}/recon.db", tmp_path, erp="sapb1") as w:
        first = sync(w, SHORT)
        collected = collect(w, SHORT)
        found = findings(w, tmp_path / "snapshot")
        truth = sapb1.truth_for_sapb1(w.scenario)

        assert first.problems == [] and first.counts["posted"] > 0
        assert collected.problems == []
        unmatched_truth = [t for t in truth if not any(matches(f, t) for f in found)]
        unexpected = [f for f in found if not any(matches(f, t) for t in truth)]
        assert (unmatched_truth, unexpected) == ([], [])
        assert len(found) == len(truth)

        documents = _b1_documents(w.erp_state)
        second = sync(w, SHORT)
        assert (second.counts["posted"], second.problems) == (0, [])
        assert _b1_documents(w.erp_state) == documents


def test_clean_scenario_through_sap_b1_reconciles_to_nothing(tmp_path: Path) -> None:
    with world("clean", f"sqlite:///{tmp_path}/recon.db", tmp_path, erp="sapb1") as w:
        run = sync(w, SHORT)
        collect(w, SHORT)
        assert run.counts["posted"] > 0 and run.problems == []
        assert findings(w, tmp_path / "snapshot") == []


def test_answers_dropped_after_b1_committed_still_post_each_order_once(tmp_path: Path) -> None:
    faults = Faults()
    url = f"sqlite:///{tmp_path}/recon.db"
    with world("clean", url, tmp_path, erp="sapb1", faults=faults) as w:
        #  where the answer is lost        how often
        for path, times in (
            ("/Invoices", 3),
            ("/IncomingPayments", 3),
            ("/CreditNotes", 1),
            ("/VendorPayments", 1),
        ):
            faults.queue("POST", path, "drop_after_commit", times=times)
        run = sync(w, SHORT)
        assert faults.pending() == 0  # every drop happened
        assert run.problems == []
        assert run.counts["exists"] >= 8  # found by the look-up the retry starts with

        def repeated(rows: list[dict[str, object]], field: str) -> dict[object, int]:
            return {k: n for k, n in Counter(r[field] for r in rows).items() if n > 1}

        assert repeated(w.erp_state.invoices, "NumAtCard") == {}
        assert repeated(w.erp_state.credit_notes, "NumAtCard") == {}
        assert repeated(w.erp_state.incoming_payments, "CounterReference") == {}
        assert repeated(w.erp_state.vendor_payments, "CounterReference") == {}
        collect(w, SHORT)
        assert findings(w, tmp_path / "snapshot") == []


def test_daily_journal_mode_posts_one_journal_entry_per_store_day_tender(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/recon.db"
    with world("clean", url, tmp_path, erp="sapb1", mode="daily_journal") as w:
        assert w.mappings.posting_mode == "daily_journal"
        run = sync(w, SHORT)
        assert run.problems == [] and run.counts["posted"] > 0
        assert _b1_documents(w.erp_state) == (0, 0, 0, 0)  # no invoices or payments in this mode
        references = {(j["Reference"], j["Reference2"]) for j in w.erp_state.journal_entries}
        assert len(references) == len(w.erp_state.journal_entries) == run.counts["posted"]
        collect(w, SHORT)
        found = [
            (f["kind"], f["cause"], f["store"], f["business_day"])
            for f in findings(w, tmp_path / "snapshot")
        ]
        # The last store-day's young orders count in the takings: its journal covers them.
        assert found == []

        again = sync(w, SHORT)
        assert (again.counts["posted"], again.problems) == (0, [])


def test_the_pos_vat_is_posted_not_recomputed_and_the_refund_is_based_on_the_invoice(
    tmp_path: Path,
) -> None:
    with world("clean", f"sqlite:///{tmp_path}/recon.db", tmp_path, erp="sapb1") as w:
        sku = next(
            i["ItemCode"]
            for i in w.erp_state.items
            if i["SalesVATGroup"] == "1" and i["Valid"] == "tYES"
        )
        #  gross 9.99 at 20 %: POS VAT 1.67 (from the gross); B1 on the net 8.32 makes 1.66
        line = SitooLine(sku, sku, 3, Decimal("9.99"), Decimal("20"))
        back = SitooLine(sku, sku, -1, Decimal("9.99"), Decimal("20"), original_orderitemid=0)
        sale_id, refund_id = sale_and_refund(w.scenario.sitoo, [line], [back])
        run = sync(w, SHORT)
        assert run.problems == []

        invoice = next(d for d in w.erp_state.invoices if d["NumAtCard"] == str(sale_id))
        note = next(d for d in w.erp_state.credit_notes if d["NumAtCard"] == str(refund_id))
        paid = next(
            p for p in w.erp_state.incoming_payments if p["CounterReference"] == str(sale_id)
        )
        back_paid = next(
            p for p in w.erp_state.vendor_payments if p["CounterReference"] == str(refund_id)
        )
        #              B1 field                          expected (the POS figures)
        assert (invoice["DocTotal"], invoice["VatSum"]) == (Decimal("29.97"), Decimal("5.00"))
        assert line.row_vat == Decimal("5.00")  # 3 x 9.99 = 29.97, VAT 4.995 -> 5.00
        assert (note["DocTotal"], note["VatSum"]) == (Decimal("9.99"), Decimal("1.67"))
        assert [
            (ln["BaseType"], ln["BaseEntry"], ln["BaseLine"], ln["Quantity"], ln["WarehouseCode"])
            for ln in note["DocumentLines"]
        ] == [(13, invoice["DocEntry"], 0, Decimal("1"), "WH-LON")]
        assert note["Comments"] == f"Return of POS order {sale_id}"
        assert [(c["CreditAcct"], c["CreditSum"]) for c in paid["PaymentCreditCards"]] == [
            ("1220", Decimal("29.97"))
        ]
        assert paid["PaymentInvoices"][0]["DocEntry"] == invoice["DocEntry"]
        assert [(c["CreditAcct"], c["CreditSum"]) for c in back_paid["PaymentCreditCards"]] == [
            ("1220", Decimal("9.99"))
        ]


def test_a_written_off_refund_line_credits_without_returning_stock(tmp_path: Path) -> None:
    settings = 'writeoff_reasons = "Damaged, FAULTY"\n'
    url = f"sqlite:///{tmp_path}/recon.db"
    with world("clean", url, tmp_path, erp="sapb1", settings=settings) as w:
        tee, mug = sorted(
            i["ItemCode"]
            for i in w.erp_state.items
            if i["SalesVATGroup"] == "1" and i["Valid"] == "tYES"
        )[:2]

        def in_stock(sku: str) -> Decimal:
            item = next(i for i in w.erp_state.items if i["ItemCode"] == sku)
            infos = item["ItemWarehouseInfoCollection"]
            return next((i["InStock"] for i in infos if i["WarehouseCode"] == "WH-LON"), ZERO)

        vat = Decimal("20")
        sold = [SitooLine(tee, tee, 3, Decimal("10.00"), vat),
                SitooLine(mug, mug, 2, Decimal("6.00"), vat)]  # fmt: skip
        back = [SitooLine(tee, tee, -1, Decimal("10.00"), vat, original_orderitemid=0),
                SitooLine(mug, mug, -2, Decimal("6.00"), vat, original_orderitemid=1)]  # fmt: skip
        assert sync(w, SHORT).problems == []  # the scenario's own orders first
        before = {tee: in_stock(tee), mug: in_stock(mug)}
        _, refund_id = sale_and_refund(w.scenario.sitoo, sold, back, reasons=("SIZE", "damaged"))
        run = sync(w, SHORT)
        assert run.problems == []

        note = next(d for d in w.erp_state.credit_notes if d["NumAtCard"] == str(refund_id))
        #   item  quantity         Without Qty Posting   stock moved by sale + refund
        expected = [
            (tee, Decimal("1"), "tNO", Decimal("-3") + 1),  # SIZE: back to sellable stock
            (mug, Decimal("2"), "tYES", Decimal("-2")),  # damaged: written off
        ]
        assert [
            (ln["ItemCode"], ln["Quantity"], ln["WithoutInventoryMovement"],
             in_stock(ln["ItemCode"]) - before[ln["ItemCode"]])
            for ln in note["DocumentLines"]
        ] == expected  # fmt: skip
        assert note["DocTotal"] == Decimal("22.00")  # the credit is whole either way


def test_a_sale_posts_to_the_customer_its_email_names_and_its_refund_follows(
    tmp_path: Path,
) -> None:
    with world("clean", f"sqlite:///{tmp_path}/recon.db", tmp_path, erp="sapb1") as w:
        w.erp_state.create_business_partner(
            {"CardCode": "C-ANN", "CardName": "Ann", "CardType": "cCustomer",
             "EmailAddress": "ann@example.com"}
        )  # fmt: skip
        for code in ("C-BOB1", "C-BOB2"):  # one e-mail, two customers: which is a guess
            w.erp_state.create_business_partner(
                {"CardCode": code, "CardName": "Bob", "CardType": "cCustomer",
                 "EmailAddress": "bob@example.com"}
            )  # fmt: skip
        sku = next(i["ItemCode"] for i in w.erp_state.items if i["Valid"] == "tYES")
        line = SitooLine(sku, sku, 1, Decimal("9.99"), Decimal("20"))
        back = SitooLine(sku, sku, -1, Decimal("9.99"), Decimal("20"), original_orderitemid=0)
        #        the sale's e-mail        customer of sale, its payment, refund, its payment
        cases = [
            (" ann@example.com ", "C-ANN"),  # matched, spaces aside
            ("bob@example.com", "CASH01"),  # two matches: the guest
            ("nobody@example.com", "CASH01"),  # no match: the guest
            ("", "CASH01"),  # anonymous sale: the guest
        ]
        orders = [(sale_and_refund(w.scenario.sitoo, [line], [back], email=e), c) for e, c in cases]
        assert sync(w, SHORT).problems == []

        def card(rows: list[dict[str, Any]], field: str, oid: int) -> str:
            return str(next(r["CardCode"] for r in rows if r[field] == str(oid)))

        got = [
            (
                card(w.erp_state.invoices, "NumAtCard", sale),
                card(w.erp_state.incoming_payments, "CounterReference", sale),
                card(w.erp_state.credit_notes, "NumAtCard", refund),
                card(w.erp_state.vendor_payments, "CounterReference", refund),
            )
            for (sale, refund), _ in orders
        ]
        assert got == [(c, c, c, c) for _, c in orders]
