"""`recon prices push` as the jobs run it: the planted price difference reaches the POS and the
next reconcile no longer reports it; a second push sends nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.jobs import collect_job, price_push_job, reconcile_job, sync_job
from recon.reconcile import to_records
from tests.e2e.harness import world


@pytest.mark.parametrize("erp", ["sage200", "netsuite", "sapb1"])
def test_price_push_clears_the_planted_price_mismatch(erp: str, tmp_path: Path) -> None:
    with world("small", f"sqlite:///{tmp_path}/w.db", tmp_path, erp=erp) as w:
        sync_job(w.settings)
        collect_job(w.settings)
        before, _ = reconcile_job(w.settings)
        planted = [r for r in to_records(before) if r["kind"] == "price_mismatch"]
        assert len(planted) == 1

        first, _ = price_push_job(w.settings)
        second, _ = price_push_job(w.settings)
        #  run      pushed  problems
        assert (first.counts["prices_pushed"], first.problems) == (1, [])
        assert (second.counts["prices_pushed"], second.problems) == (0, [])

        collect_job(w.settings)
        after, _ = reconcile_job(w.settings)
        row = after.filter(after["id"] == planted[0]["id"])
        assert row["status"].to_list() == ["resolved"]
