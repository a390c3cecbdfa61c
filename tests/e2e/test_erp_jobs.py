"""RECON_ERP picks the adapter: the same sync / collect / reconcile jobs the CLI and the
scheduler run find each ERP simulator's planted breaks, and a second sync posts nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.jobs import collect_job, reconcile_job, sync_job
from recon.reconcile import to_records
from tests.e2e.harness import matches, world


@pytest.mark.parametrize("erp", ["netsuite", "sapb1"])
def test_jobs_reach_each_erp_through_recon_erp(erp: str, tmp_path: Path) -> None:
    with world("small", f"sqlite:///{tmp_path}/w.db", tmp_path, erp=erp) as w:
        assert w.settings.recon_erp == erp
        first = sync_job(w.settings)
        collect_job(w.settings)
        merged, _ = reconcile_job(w.settings)
        found = to_records(merged)
        truth = w.truth

        assert not first.problems
        assert len(found) == len(truth), (found, truth)
        assert [t for t in truth if not any(matches(f, t) for f in found)] == []
        assert sync_job(w.settings).counts["posted"] == 0
