"""Simulators -> sync -> collect -> reconcile with NetSuite as the ERP, against the truth.

The NetSuite simulator is seeded from the `small` scenario (its hand-keyed documents become
invoices / credit memos / customer payments that keep the Sage document numbers as `tranId`),
so `scenario.truth` holds unchanged: the NetSuite poster and collector must lead the engine
to exactly the planted breaks, and a second sync must post nothing.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from recon.simulators import netsuite
from recon.simulators.faults import Faults
from recon.simulators.sitoo import SitooLine
from recon.warehouse.models import SyncPost
from tests.e2e.harness import Waits, World, collect, findings, matches, sale_and_refund, sync, world

TRANSACTIONS = ("invoice", "creditMemo", "customerPayment", "customerRefund", "journalEntry")
# retries without waiting, for runs with injected faults
FAST = Waits({"max_attempts": 2, "min_wait": 0.01, "max_wait": 0.02}, poster=0.01)


def _documents(state: netsuite.NetSuiteState) -> dict[str, int]:
    return {t: len(state.table(t)) for t in TRANSACTIONS}


def test_small_scenario_through_netsuite_yields_exactly_its_planted_breaks(
    warehouse_url: str, tmp_path: Path
) -> None:
    with world("small", warehouse_url, tmp_path, erp="netsuite") as w:
        first = sync(w)
        collected = collect(w)
        found = findings(w, tmp_path / "snapshot")
        truth = w.scenario.truth

        assert first.problems == [] and first.counts["posted"] > 0
        assert collected.problems == []
        unmatched = [t for t in truth if not any(matches(f, t) for f in found)]
        unexpected = [f for f in found if not any(matches(f, t) for t in truth)]
        assert (unmatched, unexpected) == ([], [])
        assert len(found) == len(truth)

        documents = _documents(w.erp_state)
        second = sync(w)
        assert second.counts["posted"] == 0 and second.problems == []
        assert _documents(w.erp_state) == documents


def _posts(w: World, oid: str) -> list[tuple[str, str]]:
    with w.engine.connect() as conn:
        found = conn.execute(
            select(SyncPost.post_key, SyncPost.status).where(SyncPost.pos_order_id == oid)
        )
        return sorted((str(k), str(s)) for k, s in found)


def test_answers_lost_after_netsuite_stored_them_are_found_by_the_look_up(
    tmp_path: Path,
) -> None:
    with world("small", f"sqlite:///{tmp_path}/a.db", tmp_path, erp="netsuite") as first:
        sync(first)
        with first.engine.connect() as conn:
            oid = conn.execute(
                select(SyncPost.pos_order_id)
                .where(SyncPost.post_key.startswith("sale:"), SyncPost.status == "posted")
                .order_by(SyncPost.id)
                .limit(1)
            ).scalar_one()
        assert oid is not None
    faults = Faults()
    # NetSuite stores each write, then the connection drops; the client's retry drops too
    faults.queue("PUT", f"/invoice/eid:{oid}", "drop_after_commit", times=2)
    faults.queue("PUT", f"/customerPayment/eid:{oid}-1", "drop_after_commit", times=2)
    url = f"sqlite:///{tmp_path}/b.db"
    with world("small", url, tmp_path, erp="netsuite", faults=faults) as w:
        run = sync(w, FAST)
        assert faults.pending() == 0 and run.problems == []
        posts = dict(_posts(w, oid))
        #      written, answer lost, found by the look-up      the order's other payments
        assert posts == {f"sale:{oid}": "exists", f"receipt:{oid}:1": "exists"} | {
            k: "posted" for k in posts if k.startswith(f"receipt:{oid}:") and k[-2:] != ":1"
        }
        invoices = [r for r in w.erp_state.table("invoice").values() if r.get("otherRefNum") == oid]
        assert [r["externalId"] for r in invoices] == [oid]  # stored once, as the POS id
        pos = w.scenario.sitoo.orders[int(oid)]
        skus = {i["id"]: i["itemId"] for i in w.erp_state.table("inventoryItem").values()}
        sent = sorted(
            (skus[ln["item"]["id"]], ln["amount"], ln["tax1Amt"])
            for ln in invoices[0]["item"]["items"]
        )
        assert sent == sorted(
            (i["sku"], Decimal(i["moneyitemtotal_net"]), Decimal(i["moneyitemtotal_vat"]))
            for i in pos["orderitems"]
        )  # the POS net and VAT per line, not NetSuite's own VAT
        store = str(pos["warehouseid"] - 100)  # scenario: Sitoo store N has warehouse 100 + N
        location = w.mappings.stores[store].location
        assert invoices[0]["location"] == {"id": location}


def test_daily_journal_mode_posts_one_journal_entry_per_store_day_once(tmp_path: Path) -> None:
    faults = Faults()
    # NetSuite stores the 13th's journal of store 1, then the answer is lost, twice
    faults.queue("PUT", "/journalEntry/eid:1-2026-03-13", "drop_after_commit", times=2)
    url = f"sqlite:///{tmp_path}/w.db"
    with world("clean", url, tmp_path, erp="netsuite", faults=faults, mode="daily_journal") as w:
        run = sync(w, FAST)
        assert faults.pending() == 0 and run.problems == []
        entries = list(w.erp_state.table("journalEntry").values())
        store_days = {r["externalId"] for r in entries}
        assert len(store_days) == len(entries) > 1  # one entry per store-day, none twice
        assert {t: n for t, n in _documents(w.erp_state).items() if n} == {
            "journalEntry": len(entries)
        }  # no invoices or payments in this mode
        assert run.counts["exists"] >= 1  # the lost answer, found by the look-up
        assert all(r["tranDate"] == r["externalId"][-10:] for r in entries)
        for r in entries:  # balanced, every line at the store's location
            lines = r["line"]["items"]
            assert sum(ln["debit"] or 0 for ln in lines) == sum(ln["credit"] or 0 for ln in lines)
            store = r["externalId"].rsplit("-", 3)[0]
            location = w.mappings.stores[store].location
            assert {ln["location"]["id"] for ln in lines} == {location}

        collect(w)
        found = [
            (f["kind"], f["cause"], f["store"], f["business_day"])
            for f in findings(w, tmp_path / "snapshot")
        ]
        # The last store-day's young orders count in the takings: its journal covers them.
        assert found == []

        documents = _documents(w.erp_state)
        again = sync(w)
        assert (again.counts["posted"], again.problems) == (0, [])
        assert _documents(w.erp_state) == documents


def test_a_written_off_refund_line_goes_back_to_the_write_off_location(tmp_path: Path) -> None:
    settings = 'writeoff_reasons = "DAMAGED"\nwriteoff_location = "9901"\n'
    url = f"sqlite:///{tmp_path}/w.db"
    with world("clean", url, tmp_path, erp="netsuite", settings=settings) as w:
        w.erp_state.add_location("9901", "Damaged returns")
        skus = {i["itemId"]: i["id"] for i in w.erp_state.table("inventoryItem").values()}
        tee, mug = sorted(skus)[:2]
        vat = Decimal("20")
        sold = [SitooLine(tee, tee, 3, Decimal("10.00"), vat),
                SitooLine(mug, mug, 2, Decimal("6.00"), vat)]  # fmt: skip
        back = [SitooLine(tee, tee, -1, Decimal("10.00"), vat, original_orderitemid=0),
                SitooLine(mug, mug, -2, Decimal("6.00"), vat, original_orderitemid=1)]  # fmt: skip
        sale_id, refund_id = sale_and_refund(w.scenario.sitoo, sold, back, ("", "damaged"))
        run = sync(w)
        assert run.problems == []

        memo = next(
            r for r in w.erp_state.table("creditMemo").values() if r["externalId"] == str(refund_id)
        )
        store = w.mappings.stores["1"].location
        #          item       quantity  location: the store's, or the write-off one
        assert [
            (ln["item"]["id"], ln["quantity"], ln["location"]["id"]) for ln in memo["item"]["items"]
        ] == [(skus[tee], Decimal("1"), store), (skus[mug], Decimal("2"), "9901")]
        assert memo["location"] == {"id": store}  # the refund is still the store's
        invoice = next(
            r for r in w.erp_state.table("invoice").values() if r["externalId"] == str(sale_id)
        )
        assert memo["createdFrom"]["id"] == invoice["id"]  # posted after its sale, linked


def test_a_sale_posts_to_the_customer_its_email_names_and_its_refund_follows(
    tmp_path: Path,
) -> None:
    with world("clean", f"sqlite:///{tmp_path}/w.db", tmp_path, erp="netsuite") as w:
        w.erp_state.add_customer("9001", "ANN", "Ann", email="ann@example.com")
        w.erp_state.add_customer("9002", "BOB1", "Bob", email="bob@example.com")
        w.erp_state.add_customer("9003", "BOB2", "Bob", email="bob@example.com")
        guest = next(
            c["id"] for c in w.erp_state.table("customer").values() if c["entityId"] == "CASH01"
        )
        sku = sorted(i["itemId"] for i in w.erp_state.table("inventoryItem").values())[0]
        line = SitooLine(sku, sku, 1, Decimal("9.99"), Decimal("20"))
        back = SitooLine(sku, sku, -1, Decimal("9.99"), Decimal("20"), original_orderitemid=0)
        #        the sale's e-mail      customer of sale, its payment, refund, its payment
        cases = [
            (" Ann@Example.com ", "9001"),  # NetSuite matches without case; spaces aside
            ("bob@example.com", guest),  # two matches: which is a guess, so the guest
            ("nobody@example.com", guest),  # no match: the guest
            ("", guest),  # anonymous sale: the guest
        ]
        orders = [(sale_and_refund(w.scenario.sitoo, [line], [back], email=e), c) for e, c in cases]
        assert sync(w).problems == []

        def customer(record_type: str, field: str, eid: str) -> str:
            rows = w.erp_state.table(record_type).values()
            return str(next(r[field]["id"] for r in rows if r["externalId"] == eid))

        got = [
            (
                customer("invoice", "entity", str(sale)),
                customer("customerPayment", "customer", f"{sale}-1"),
                customer("creditMemo", "entity", str(refund)),
                customer("customerRefund", "customer", f"{refund}-1"),
            )
            for (sale, refund), _ in orders
        ]
        assert got == [(c, c, c, c) for _, c in orders]
