"""`recon scheduler`: the long-running process that keeps both sides posted and reconciled.

One pipeline job runs the steps in order, one at a time: sync, then collect, then reconcile
(then alerts), so a reconcile only ever reads a collect that has finished (a reconcile started
by hand beside a collect is refused by the jobs themselves: `recon.warehouse.runs.exclusive`). The
pipeline ticks every RECON_SYNC_MINUTES (5) and syncs on every tick; it collects when
RECON_COLLECT_MINUTES (15) have passed since its last collect and reconciles when
RECON_RECONCILE_MINUTES (30) have passed since its last reconcile, right after that tick's
collect (never after a collect that failed). Once a day, on the first tick after
RECON_FULL_SWEEP_HOUR (2, in RECON_TIMEZONE; `off` for never), the collect is a full sweep
(`collect --full`), which is what finds the records the ERP deleted. A step that fails is
logged and recorded in `runs` (unless it recorded its own failure) and the next step runs.

The stock push (ERP -> POS, RECON_STOCK_MINUTES, 15) is its own job: it reads the ERP and
writes the POS, and touches nothing the pipeline reads. Both jobs coalesce, have a misfire
grace and run one instance at a time; a listener records a failed run for a job that raised
before it could record its own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import insert, select

from recon.config import Settings
from recon.jobs import alerts_job, collect_job, reconcile_job, stock_push_job, sync_job, warehouse
from recon.warehouse.db import upgrade
from recon.warehouse.models import Run

log = logging.getLogger("recon.scheduler")


def reconcile_then_alert(settings: Settings) -> None:
    """The scheduler's reconcile step: reconcile, then alerts if a channel is configured."""
    reconcile_job(settings)
    if not settings.alerts_configured:
        return
    started = datetime.now(UTC)
    try:
        alerts_job(settings)
    except Exception as exc:  # the reconcile stands; alerts retry after the next one
        log.error("job=alerts outcome=failed error=%s", exc)
        record_failure(settings, "alerts", started, exc)


def record_failure(settings: Settings, job: str, since: datetime, error: BaseException) -> None:
    """A failed `runs` row for `job`, unless the job already recorded its own failure."""
    try:
        engine = warehouse(settings)
        with engine.begin() as conn:
            own = conn.execute(
                select(Run.id).where(
                    Run.job == job, Run.status == "failed", Run.started_at >= since
                )
            ).first()
            if own is None:
                conn.execute(
                    insert(Run).values(
                        job=job,
                        started_at=since,
                        finished_at=datetime.now(UTC),
                        status="failed",
                        counts="{}",
                        message=f"{type(error).__name__}: {error}",
                    )
                )
    except Exception as exc:  # the warehouse itself may be what failed
        log.error("job=%s outcome=failed not_recorded=%s", job, type(exc).__name__)


@dataclass
class Steps:
    """What the pipeline runs; the jobs themselves unless a test injects its own."""

    sync: Callable[[], object]
    collect: Callable[[bool], object]  # the argument: a full sweep
    reconcile: Callable[[], object]


@dataclass
class Pipeline:
    """Sync, collect, reconcile in order, each when it is due (see the module's text)."""

    steps: Steps
    tick: timedelta
    collect_every: timedelta
    reconcile_every: timedelta
    sweep_hour: int | None
    timezone: ZoneInfo
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    on_failure: Callable[[str, datetime, BaseException], None] = lambda *_: None
    last: dict[str, datetime] = field(default_factory=dict)  # step -> when it last started

    def due(self, step: str, every: timedelta, now: datetime) -> bool:
        last = self.last.get(step)
        return last is None or now - last >= every - self.tick / 2  # a tick's jitter

    def sweep_due(self, now: datetime) -> bool:
        """True on the first tick at or after the sweep hour since the last sweep (or, for
        the first, since the pipeline started)."""
        if self.sweep_hour is None:
            return False
        since = self.last.setdefault("sweep_since", now).astimezone(self.timezone)
        at = since.replace(hour=self.sweep_hour, minute=0, second=0, microsecond=0)
        if at <= since:
            at = (at + timedelta(days=1)).replace(hour=self.sweep_hour)
        return now >= at

    def _step(self, name: str, started: datetime, run: Callable[[], object]) -> bool:
        self.last[name] = started
        try:
            run()
        except Exception as exc:
            log.error("job=%s outcome=failed error=%s", name, exc)
            self.on_failure(name, started, exc)
            return False
        log.info("job=%s outcome=done", name)
        return True

    def __call__(self) -> None:
        now = self.clock()
        self._step("sync", now, self.steps.sync)
        full = self.sweep_due(now)
        if not (full or self.due("collect", self.collect_every, now)):
            return
        collected = self._step("collect", now, lambda: self.steps.collect(full))
        if full:
            self.last["sweep_since"] = now
        if not collected:
            log.warning("job=reconcile outcome=skipped reason=collect_failed")
            return
        if self.due("reconcile", self.reconcile_every, now):
            self._step("reconcile", now, self.steps.reconcile)


def build_pipeline(settings: Settings) -> Pipeline:
    return Pipeline(
        Steps(
            sync=lambda: sync_job(settings, stock=False),
            collect=lambda full: collect_job(settings, full=full),
            reconcile=lambda: reconcile_then_alert(settings),
        ),
        tick=timedelta(minutes=settings.recon_sync_minutes),
        collect_every=timedelta(minutes=settings.recon_collect_minutes),
        reconcile_every=timedelta(minutes=settings.recon_reconcile_minutes),
        sweep_hour=settings.recon_full_sweep_hour,
        timezone=ZoneInfo(settings.recon_timezone),
        on_failure=lambda job, since, exc: record_failure(settings, job, since, exc),
    )


def build_scheduler(settings: Settings) -> BlockingScheduler:
    settings.check_alerts()
    pipeline = build_pipeline(settings)
    scheduler = BlockingScheduler(timezone="UTC")
    jobs: list[tuple[str, Callable[[], object], int]] = [
        ("pipeline", pipeline, settings.recon_sync_minutes),
        ("stock_push", lambda: stock_push_job(settings), settings.recon_stock_minutes),
    ]
    for name, func, minutes in jobs:
        scheduler.add_job(
            func,
            "interval",
            minutes=minutes,
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=minutes * 30,
        )

    def listen(event: JobExecutionEvent) -> None:
        if event.exception is not None:
            log.error("job=%s outcome=failed error=%s", event.job_id, event.exception)
            since = event.scheduled_run_time.astimezone(UTC)
            record_failure(settings, event.job_id, since, event.exception)
        else:
            log.info("job=%s outcome=done", event.job_id)

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return scheduler


def run_scheduler(settings: Settings) -> int:
    scheduler = build_scheduler(settings)  # configuration checked before the warehouse
    upgrade(settings.warehouse_url)  # a new release's migrations run here, on purpose
    print("scheduler: " + ", ".join(f"{j.id} every {j.trigger}" for j in scheduler.get_jobs()))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    return 0
