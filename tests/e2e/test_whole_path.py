"""Simulators -> sync -> collect -> reconcile, in-process, against the scenario's ground truth.

The scenario plants breaks that together cover every CONTRACT exception kind (held orders,
documents keyed by hand wrong in one way each, orphan documents, master-data drift); a
correct run finds exactly those, and a second full run changes nothing: no new ERP
documents, the same exception ids.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import select

from recon.jobs import collect_job, reconcile_job, sync_job
from recon.reconcile import KIND_TEXT, to_records
from recon.warehouse.db import open_warehouse
from recon.warehouse.models import Run
from tests.e2e.harness import matches, world


def _last_run_start(url: str, job: str) -> datetime:
    with open_warehouse(url).engine.connect() as conn:
        return conn.execute(
            select(Run.started_at).where(Run.job == job).order_by(Run.id.desc()).limit(1)
        ).scalar_one()


def _erp_documents(state: object) -> tuple[int, int, int]:
    return (len(state.sop_orders), len(state.sales_posted), len(state.bank_posted))  # type: ignore[attr-defined]


def test_small_scenario_yields_exactly_its_planted_breaks_and_rerun_changes_nothing(
    warehouse_url: str, tmp_path: Path
) -> None:
    with world("small", warehouse_url, tmp_path) as w:
        first_sync = sync_job(w.settings)
        collect_job(w.settings)
        merged, _ = reconcile_job(w.settings)
        found = to_records(merged)
        truth = w.scenario.truth

        assert not first_sync.problems
        assert len(found) == len(truth), (found, truth)
        unmatched = [t for t in truth if not any(matches(f, t) for f in found)]
        assert unmatched == []
        assert {f["kind"] for f in found} == set(KIND_TEXT)  # every CONTRACT kind
        assert {f["status"] for f in found} == {"new"}
        started = _last_run_start(w.settings.warehouse_url, "reconcile")
        assert all(first >= started for first in merged["first_seen"])  # "new since the run"

        documents = _erp_documents(w.scenario.sage200)
        second_sync = sync_job(w.settings)
        assert second_sync.counts["posted"] == 0
        assert _erp_documents(w.scenario.sage200) == documents

        collect_job(w.settings, full=True)
        again, _ = reconcile_job(w.settings)
        assert sorted(again["id"]) == sorted(merged["id"])
        assert set(again["status"]) == {"persisting"}
        assert again.filter(pl.col("first_seen") != pl.col("first_seen")).is_empty()


def test_clean_scenario_reconciles_to_nothing(tmp_path: Path) -> None:
    with world("clean", f"sqlite:///{tmp_path}/w.db", tmp_path) as w:
        run = sync_job(w.settings)
        collect_job(w.settings)
        merged, findings = reconcile_job(w.settings)
        assert run.counts["posted"] > 0 and not run.problems
        assert to_records(merged) == []
        assert findings.takings.height > 0
