"""Fix the cause, re-sync the order: a held sale posts once and its exception resolves."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl

from recon.config.mappings import parse_mappings
from recon.jobs import collect_job, reconcile_job, repost_job, resync_job, sync_job
from recon.warehouse.db import open_warehouse
from recon.warehouse.exceptions import read_exceptions
from recon.warehouse.mappings import import_mappings
from tests.e2e.harness import world


def test_a_held_sale_posts_after_its_tender_is_mapped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    with world("small", url, tmp_path) as w:
        sync_job(w.settings)
        collect_job(w.settings)
        merged, _ = reconcile_job(w.settings)
        held = merged.filter(
            (pl.col("kind") == "missing_in_erp") & (pl.col("cause") == "held_unmapped_tender")
        )
        assert held.height == 1
        order_id = held["pos_ref"][0]
        sop_orders_before = len(w.erp_state.sop_orders)

        # Finance maps the tender; ops re-syncs that one order from the exception.
        doc = tomllib.loads(w.scenario.mappings_toml)
        doc["tenders"]["Swish"] = "1220"
        import_mappings(open_warehouse(url).engine, parse_mappings(doc))
        run = resync_job(w.settings, order_id)
        again = resync_job(w.settings, order_id)

        assert (run.counts["posted"] >= 1, run.problems) == (True, [])
        assert again.counts["posted"] == 0  # looked up and found: never twice
        assert len(w.erp_state.sop_orders) == sop_orders_before + 1
        collect_job(w.settings)
        after, _ = reconcile_job(w.settings)
        row = after.filter(pl.col("id") == held["id"][0])
        assert row["status"].to_list() == ["resolved"]


def test_a_repost_says_what_happened_and_closes_the_exception_at_once(tmp_path: Path) -> None:
    """Still held: said, with why. Mapped and re-posted: posted, and that store-day is
    collected and reconciled in the same action, so the exception is resolved already."""
    url = f"sqlite:///{tmp_path}/w.db"
    with world("small", url, tmp_path) as w:
        sync_job(w.settings)
        collect_job(w.settings)
        merged, _ = reconcile_job(w.settings)
        held = merged.filter(pl.col("cause") == "held_unmapped_tender")
        order_id, exception_id = held["pos_ref"][0], held["id"][0]

        still = repost_job(w.settings, [order_id])
        assert (still.posted, still.settled) == (0, None)
        assert still.text() == f"order {order_id}: still held: map tender 'Swish' in mappings"

        doc = tomllib.loads(w.scenario.mappings_toml)
        doc["tenders"]["Swish"] = "1220"
        import_mappings(open_warehouse(url).engine, parse_mappings(doc))
        done = repost_job(w.settings, [order_id])
        (outcome,) = done.outcomes
        assert (outcome.in_erp, outcome.text.startswith(f"order {order_id}: posted as ")) == (
            True,
            True,
        )
        store, day = held["store"][0], held["business_day"][0]
        assert done.settled == f"collected and reconciled store {store} on {day}"
        status = read_exceptions(open_warehouse(url).engine).filter(pl.col("id") == exception_id)
        assert status["status"].to_list() == ["resolved"]


def test_sync_order_posts_again_when_the_erp_lost_the_document(tmp_path: Path) -> None:
    """`recon sync --order N` asks the ERP, not its own record: a document deleted in the
    ERP after a successful sync is posted again; one still there is left alone."""
    url = f"sqlite:///{tmp_path}/w.db"
    with world("small", url, tmp_path) as w:
        sync_job(w.settings)
        first = w.erp_state.sop_orders[0]
        order_id = first["customer_document_no"]
        before = len(w.erp_state.sop_orders)

        kept = resync_job(w.settings, order_id)
        assert (kept.counts["posted"], kept.counts["exists"] >= 1) == (0, True)  # and receipts
        assert len(w.erp_state.sop_orders) == before

        w.erp_state.sop_orders.remove(first)  # deleted in the ERP
        again = repost_job(w.settings, [order_id], settle=False)  # as `recon sync --order`
        assert again.run.counts["posted"] >= 1
        assert again.text().startswith(f"order {order_id}: posted as ")
        assert [o["customer_document_no"] for o in w.erp_state.sop_orders].count(order_id) == 1
