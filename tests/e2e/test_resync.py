"""Fix the cause, re-sync the order: a held sale posts once and its exception resolves."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl

from cli.jobs import collect_job, reconcile_job, resync_job, sync_job
from config.mappings import parse_mappings
from tests.e2e.harness import world
from warehouse.db import open_warehouse
from warehouse.mappings import import_mappings


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
        import_mappings(open_warehouse(url), parse_mappings(doc))
        run = resync_job(w.settings, order_id)
        again = resync_job(w.settings, order_id)

        assert (run.counts["posted"] >= 1, run.problems) == (True, [])
        assert again.counts["posted"] == 0  # looked up and found: never twice
        assert len(w.erp_state.sop_orders) == sop_orders_before + 1
        collect_job(w.settings)
        after, _ = reconcile_job(w.settings)
        row = after.filter(pl.col("id") == held["id"][0])
        assert row["status"].to_list() == ["resolved"]
