"""The jobs: sync, stock push, collect, reconcile, alerts. Plain functions the CLI and the
scheduler both call.

Each opens what it needs from `Settings`, records a run, and returns it. They raise
`ConfigError` for anything the user must fix before the job can start.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from recon import snapshot
from recon.alerts import AgeThresholds, send_alerts
from recon.clients import SitooClient, VendorError
from recon.collectors.sitoo import collect_sitoo
from recon.config import ConfigError, Mappings, Settings
from recon.erp.registry import PLUGINS
from recon.reconcile import Findings, WhatIf, merge_history, prepare_whatif, reconcile
from recon.snapshot import location
from recon.snapshot.partitioned import write_partitioned
from recon.sync.prices import push_prices
from recon.sync.run import OrderOutcome, order_outcomes, resync_orders, run_sync
from recon.sync.stock import push_stock
from recon.warehouse.db import exists, open_warehouse
from recon.warehouse.exceptions import read_exceptions, save_exceptions
from recon.warehouse.export import export_snapshot
from recon.warehouse.mappings import load_mappings
from recon.warehouse.models import PosOrder
from recon.warehouse.runs import Busy, RunLog, completed, exclusive, record_run
from recon.warehouse.signoff import records as signoff_records
from recon.warehouse.signoff import reopen_after_run
from recon.warehouse.takings import save_takings


def warehouse(settings: Settings, *, create: bool = False) -> Engine:
    """The warehouse; only `recon mappings import`, `recon collect` and the demo may create
    it, so a command run without configuration leaves no file or directory behind."""
    return open_warehouse(settings.warehouse_url, create=create).engine


NO_MAPPINGS = (
    "no mappings in the warehouse: run `recon mappings import FILE` (or set RECON_MAPPINGS)"
)


def mapped_warehouse(settings: Settings) -> tuple[Engine, Mappings]:
    """The warehouse and its mappings, for the jobs that cannot run without them; a
    warehouse not created yet has none (and is not created here)."""
    if not exists(settings.warehouse_url):
        raise ConfigError(NO_MAPPINGS)
    engine = warehouse(settings)
    return engine, required_mappings(engine)


def required_mappings(engine: Engine) -> Mappings:
    mappings = load_mappings(engine)
    if not mappings.stores:
        raise ConfigError(NO_MAPPINGS)
    return mappings


@contextmanager
def _both_sides(
    settings: Settings, engine: Engine, job: str
) -> Iterator[tuple[SitooClient, Any, RunLog]]:
    """The POS client, the RECON_ERP client and the recorded run of `job`, closed in turn."""
    with (
        SitooClient.from_settings(settings) as sitoo,
        PLUGINS[settings.recon_erp].client(settings) as erp,
        record_run(engine, job) as run,
    ):
        yield sitoo, erp, run


def sync_job(settings: Settings, *, since: int | None = None, stock: bool = True) -> RunLog:
    """Post completed, paid POS orders to the ERP named by RECON_ERP, then push ERP stock to
    the POS (CONTRACT: `recon sync`); the push is its own run, its figures are added here."""
    adapter = PLUGINS[settings.recon_erp]
    engine, mappings = mapped_warehouse(settings)
    with _both_sides(settings, engine, "sync") as (sitoo, erp, run):
        poster = adapter.poster(erp, mappings)
        run_sync(
            engine,
            sitoo,
            poster,
            mappings,
            settings.recon_timezone,
            run,
            abilities=adapter.abilities,
            since=since,
        )
    if stock:
        push, _ = stock_push_job(settings)
        run.counts.update({f"stock_{k}": v for k, v in push.counts.items()})
        run.problems.extend(push.problems)
    return run


def resync_job(settings: Settings, order_id: str) -> RunLog:
    """Post one POS order now (`recon sync --order`): asked of the ERP even when recorded
    as posted, and posted again when its document is gone there."""
    return _resync(settings, [order_id])


def _resync(settings: Settings, order_ids: Sequence[str]) -> RunLog:
    adapter = PLUGINS[settings.recon_erp]
    engine, mappings = mapped_warehouse(settings)
    if "per_order" not in mappings.modes():
        raise ConfigError(
            "re-sync posts one order; in daily_journal mode an order posts with its store-day"
        )
    with _both_sides(settings, engine, "sync") as (sitoo, erp, run):
        poster = adapter.poster(erp, mappings)
        resync_orders(
            engine,
            sitoo,
            poster,
            mappings,
            settings.recon_timezone,
            run,
            order_ids,
            abilities=adapter.abilities,
        )
    return run


@dataclass(frozen=True)
class Reposted:
    """What re-posting orders did: the sync run, each order's outcome, and what followed
    (the collect and reconcile of the store-days that got a document, or why not)."""

    run: RunLog
    outcomes: list[OrderOutcome]
    settled: str | None

    @property
    def posted(self) -> int:
        return sum(o.in_erp for o in self.outcomes)

    def text(self) -> str:
        """Each order's outcome (of many, the first few not posted), then what followed."""
        lines = [o.text for o in self.outcomes]
        if len(lines) > SHOWN:
            left = [o.text for o in self.outcomes if not o.in_erp]
            more = [f"{len(left) - SHOWN} more not posted"] if len(left) > SHOWN else []
            lines = left[:SHOWN] + more
        return "; ".join(lines + ([self.settled] if self.settled else []))


SHOWN = 3  # order outcomes spelt out in a re-post's summary


def repost_job(settings: Settings, order_ids: Sequence[str], *, settle: bool = True) -> Reposted:
    """Post these POS orders now (the dashboard's re-sync, one order or every order a
    mapping held), then, when any got its document and `settle`, collect and reconcile at
    once so their exceptions close without waiting for the schedule: the one store-day
    when there is one, else everything. A collect or reconcile that cannot run now is
    said, not raised: the orders are posted either way."""
    run = _resync(settings, order_ids)
    engine = warehouse(settings)
    outcomes = order_outcomes(engine, settings.recon_erp, order_ids)
    if not settle or not any(o.in_erp for o in outcomes):
        return Reposted(run, outcomes, None)
    try:
        collect_job(settings)
        days = _store_days(engine, [o.order_id for o in outcomes if o.in_erp])
        store, day = days[0] if len(days) == 1 else (None, None)
        reconcile_job(settings, day=day, store=store)
    except (Busy, ConfigError, VendorError, OSError) as exc:
        return Reposted(run, outcomes, f"not reconciled now ({exc}); the next run will")
    where = f"store {store} on {day}" if day is not None else f"{len(days)} store-days"
    return Reposted(run, outcomes, f"collected and reconciled {where}")


def _store_days(engine: Engine, order_ids: Sequence[str]) -> list[tuple[str, date]]:
    """The (store, business day) of these orders as the warehouse has them."""
    o = PosOrder
    with engine.connect() as conn:
        found = conn.execute(
            select(o.store_id, o.business_day).where(o.order_id.in_(order_ids)).distinct()
        )
        return sorted((str(s), d) for s, d in found)


def stock_push_job(settings: Settings) -> tuple[RunLog, list[str]]:
    """Push ERP available-to-sell stock to the POS; the run and the skipped-warehouse lines."""
    adapter = PLUGINS[settings.recon_erp]
    engine, mappings = mapped_warehouse(settings)
    with _both_sides(settings, engine, "stock_push") as (sitoo, erp, run):
        levels = adapter.stock(erp, run)
        plan = push_stock(settings.recon_erp, levels, sitoo, mappings, run)
    return run, plan.skipped


def price_push_job(settings: Settings) -> tuple[RunLog, list[str]]:
    """Push ERP master prices (gross) to the POS catalogue; the run and the skipped lines."""
    adapter = PLUGINS[settings.recon_erp]
    engine, mappings = mapped_warehouse(settings)
    with _both_sides(settings, engine, "price_push") as (sitoo, erp, run):
        plan = push_prices(adapter.prices(erp, mappings, run), sitoo, run)
    return run, plan.skipped


def collect_job(settings: Settings, *, full: bool = False) -> RunLog:
    """Snapshot both sides into the warehouse, incrementally unless `full`."""
    adapter = PLUGINS[settings.recon_erp]
    settings.require("sitoo")
    settings.require(settings.recon_erp)
    engine = warehouse(settings, create=True)
    mappings = load_mappings(engine)
    with _both_sides(settings, engine, "collect") as (sitoo, erp, run):
        exclusive(engine, run, "reconcile")
        collect_sitoo(engine, sitoo, mappings, settings.recon_timezone, run, full=full)
        adapter.collect(engine, erp, mappings, run, full)
    return run


def _in_scope(frame: pl.DataFrame, day: date | None, store: str | None) -> pl.Expr:
    cond = pl.lit(True)
    if day is not None:
        cond &= pl.col("business_day") == day
    if store is not None:
        cond &= pl.col("store") == store
    return cond


def _merge(
    findings: Findings, previous: pl.DataFrame, now: datetime, day: date | None, store: str | None
) -> pl.DataFrame:
    """History for this run: previous rows outside the run's scope are left as they were."""
    current = findings.exceptions
    in_scope = previous.filter(
        _in_scope(previous, day, store) | pl.col("id").is_in(current["id"].implode())
    )
    return merge_history(current, in_scope, now)


def _run_engine(
    directory: location.Where, day: date | None, store: str | None, scheduler: str | None
) -> Findings:
    """The engine in this process, or a whole run as tasks on a Dask cluster (a scoped run
    reads little: it stays here)."""
    if scheduler is None or day is not None or store is not None:
        return reconcile(snapshot.read_snapshot(directory), day=day, store=store)
    from recon.reconcile.distributed import (
        DaskError,
        connect,
        partitioned_root,
        reconcile_distributed,
    )

    try:
        with connect(scheduler) as client:
            return reconcile_distributed(partitioned_root(directory), client)
    except DaskError as exc:
        raise ConfigError(str(exc)) from None


def reconcile_job(
    settings: Settings,
    *,
    snapshot_dir: location.Where | None = None,
    day: date | None = None,
    store: str | None = None,
    scheduler: str | None = None,
) -> tuple[pl.DataFrame, Findings]:
    """Run the engine; from a snapshot directory or fsspec URL (warehouse untouched) or from
    the warehouse; on the Dask scheduler `scheduler` (default `RECON_DASK_SCHEDULER`) when
    one is set."""
    scheduler = scheduler or settings.recon_dask_scheduler
    now = datetime.now(UTC)
    if snapshot_dir is not None:
        findings = _run_engine(snapshot_dir, day, store, scheduler)
        out = location.join(snapshot_dir, "exceptions.parquet")
        previous = pl.DataFrame(schema=snapshot.EXCEPTIONS_SCHEMA)
        if location.exists(out):
            with location.open_read(out) as file:
                previous = pl.read_parquet(file)
        merged = _merge(findings, previous, now, day, store)
        written = merged.select(snapshot.EXCEPTION_FIELDS).cast(snapshot.EXCEPTIONS_SCHEMA)  # type: ignore[arg-type]
        with location.open_write(out) as file:
            written.write_parquet(file)
        return merged, findings
    engine = warehouse(settings)
    with record_run(engine, "reconcile") as run:
        exclusive(engine, run, "collect")
        completed(engine, "collect", run)
        now = datetime.now(UTC)  # inside the run: what it finds is "new since the run began"
        snap = settings.recon_data_dir / "snapshot"
        staging = settings.recon_data_dir / "snapshot.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        run.counts.update(export_snapshot(engine, staging))
        shutil.rmtree(snap, ignore_errors=True)
        staging.rename(snap)
        findings = _run_engine(snap, day, store, scheduler)
        previous = read_exceptions(engine)
        merged = _merge(findings, previous, now, day, store)
        changed = save_takings(engine, findings.takings, findings.waterfall, day=day, store=store)
        for status, n in save_exceptions(engine, merged, now).items():
            run.counts[f"exceptions_{status}"] = n
        with engine.begin() as conn:  # a signed day this run changed reopens itself
            reopened = reopen_after_run(
                conn, now, run, previous, merged, changed, day=day, store=store
            )
        if reopened:
            run.counts["signoffs_reopened"] = len(reopened)
    return merged, findings


def whatif_job(settings: Settings, *, snapshot_dir: location.Where | None = None) -> WhatIf:
    """The latest snapshot prepared for what-if counts (`recon whatif`, the dashboard's
    what-if panel): the warehouse exported as `recon reconcile` exports it, into a private
    temporary directory removed afterwards (the reconcile's own snapshot is left alone), or
    the snapshot directory `snapshot_dir`. Reads only; records no run."""
    if snapshot_dir is not None:
        return prepare_whatif(snapshot.read_snapshot(snapshot_dir))
    with _exported(settings, "whatif-") as (staging, _):
        return prepare_whatif(snapshot.read_snapshot(staging))  # holds no file open


def alerts_job(settings: Settings) -> tuple[RunLog, list[str]]:
    """Send the owners' digests of new and ageing exceptions; the run and unrouted-owner lines."""
    if not settings.alerts_configured:
        raise ConfigError(
            "no alert channel: set RECON_ALERT_WEBHOOK_FINANCE / RECON_ALERT_WEBHOOK_OPS or "
            "RECON_ALERT_EMAIL_FINANCE / RECON_ALERT_EMAIL_OPS (with RECON_SMTP_HOST)"
        )
    settings.check_alerts()
    engine = warehouse(settings)
    thresholds = AgeThresholds.from_settings(load_mappings(engine).options)
    with record_run(engine, "alerts") as run:
        unrouted = send_alerts(engine, settings, thresholds, run)
    return run, unrouted


def signoff_list(
    settings: Settings, *, day: date | None = None, store: str | None = None
) -> list[dict[str, Any]]:
    """The sign-offs (of `day`, of `store` and the all-stores ones) with their evidence and
    events, for audit (`recon signoff list`)."""
    with open_warehouse(settings.warehouse_url, create=False).reading() as conn:
        return signoff_records(conn, day=day, store=store)


def export_job(
    settings: Settings, directory: location.Where, *, partitioned: bool = False
) -> dict[str, int]:
    """Export the warehouse to a snapshot: flat (a file per table) or `partitioned` (by store
    and month, for a Dask cluster), at a local directory or an fsspec URL."""
    engine = warehouse(settings)
    if location.exists(directory) and not location.is_dir(directory):  # was FileExistsError
        raise snapshot.SnapshotError(f"{directory}: is a file, not a directory")
    if not partitioned and not location.is_url(directory):
        location.makedirs(directory)  # one SnapshotError line where it cannot be written
        return export_snapshot(engine, Path(directory))
    with _exported(settings, "export-") as (staging, counts):
        if partitioned:
            write_partitioned(snapshot.read_snapshot(staging), directory)
        else:
            for file in sorted(staging.glob("*.parquet")):
                with location.open_write(location.join(directory, file.name)) as out:
                    out.write(file.read_bytes())
    return counts


@contextmanager
def _exported(settings: Settings, prefix: str) -> Iterator[tuple[Path, dict[str, int]]]:
    """The warehouse exported as a flat snapshot into a private temporary directory under
    RECON_DATA_DIR (removed after the block), and the rows of each table."""
    engine = warehouse(settings)
    settings.recon_data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=settings.recon_data_dir) as staging:
        yield Path(staging), export_snapshot(engine, Path(staging))
