"""`recon reconcile --scheduler` without `--snapshot`: the warehouse is exported, partitioned
and reconciled on a Dask cluster (a LocalCluster here), and what it writes back to the
warehouse is what a run in one process writes (issue 19)."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import polars as pl
import pytest
from sqlalchemy import Engine, select

from recon.cli.main import main
from recon.jobs import collect_job, reconcile_job, sync_job
from recon.snapshot.partitioned import stores
from recon.warehouse.exceptions import read_exceptions
from recon.warehouse.models import Takings, WaterfallPart
from tests.e2e.harness import world


def _stored(engine: Engine) -> dict[str, pl.DataFrame]:
    """What a reconcile run leaves in the warehouse: exceptions (less their run times and
    status), takings and the waterfall, in a fixed order."""
    exceptions = read_exceptions(engine).drop("first_seen", "last_seen", "status").sort("id")
    out = {"exceptions": exceptions}
    with engine.connect() as conn:
        for name, model in (("takings", Takings), ("waterfall", WaterfallPart)):
            frame = pl.DataFrame(
                [dict(r._mapping) for r in conn.execute(select(model.__table__))],
                infer_schema_length=None,
            )
            frame = frame.drop([c for c in ("id", "computed_at") if c in frame.columns])
            out[name] = frame.sort(frame.columns, nulls_last=True)
    return out


def test_the_warehouse_reconciled_on_a_cluster_holds_the_one_process_findings(
    tmp_path: Path,
) -> None:
    with world("small", f"sqlite:///{tmp_path}/w.db", tmp_path) as w:
        sync_job(w.settings)
        collect_job(w.settings)
        _, one = reconcile_job(w.settings)
        in_one = _stored(w.engine)
        # The same warehouse again, its comparisons as tasks on a LocalCluster of this
        # process's threads (a file system the workers share: RECON_DATA_DIR).
        _, many = reconcile_job(w.settings, scheduler="local")
        on_cluster = _stored(w.engine)
        statuses = read_exceptions(w.engine).get_column("status").unique().to_list()

    partitioned = tmp_path / "snapshot" / "partitioned"
    assert len(stores(partitioned)) > 1  # the cluster ran over store partitions
    kinds = set(one.exceptions.get_column("kind"))
    # a document at another store's location: the exchange between tasks was needed
    assert {"store_mismatch", "missing_in_pos", "duplicate_in_erp"} <= kinds
    assert many.exceptions.equals(one.exceptions)
    assert statuses == ["persisting"]  # nothing new, nothing resolved
    for name, frame in in_one.items():
        assert on_cluster[name].equals(frame), name
    assert in_one["takings"].height > 0


def test_a_partitioned_export_reconciles_on_the_cluster_and_in_one_process_as_the_flat_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    flat, part = tmp_path / "flat", tmp_path / "part"
    with world("small", url, tmp_path) as w:
        sync_job(w.settings)
        collect_job(w.settings)
        monkeypatch.setenv("RECON_WAREHOUSE_URL", url)
        monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
        monkeypatch.delenv("RECON_DASK_SCHEDULER", raising=False)
        assert main(["snapshot", str(flat)]) == 0
        capsys.readouterr()
        assert main(["snapshot", str(part), "--partitioned"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"snapshot written to {part} (partitioned by store and month): ")
        assert main(["reconcile", "--snapshot", str(flat)]) == 0
        assert main(["reconcile", "--snapshot", str(part), "--scheduler", "local"]) == 0
        remote = f"memory://export-{uuid.uuid4().hex[:8]}"  # an object store's URL, flat
        assert main(["snapshot", remote]) == 0
        assert main(["reconcile", "--snapshot", remote]) == 0
        with fsspec.open(f"{remote}/exceptions.parquet", "rb") as file:
            at_url = pl.read_parquet(file)
        fsspec.filesystem("memory").rm(remote, recursive=True)
        monkeypatch.setenv("RECON_DASK_SCHEDULER", "local")
        assert main(["reconcile"]) == 0  # the warehouse, on the cluster
        assert _stored(w.engine)["takings"].height > 0
    assert len(stores(part)) > 1 and not (part / "pos_orders.parquet").exists()
    assert not (part / "partitioned").exists()  # read as it is, not partitioned again
    assert stores(tmp_path / "snapshot" / "partitioned")  # the warehouse run's
    seen = ["first_seen", "last_seen"]
    one = pl.read_parquet(flat / "exceptions.parquet").drop(seen)
    assert one.height == len(w.scenario.truth)
    assert pl.read_parquet(part / "exceptions.parquet").drop(seen).equals(one)
    assert at_url.drop(seen).equals(one)
