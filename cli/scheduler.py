"""`recon scheduler`: the long-running process that runs sync, stock push, collect, reconcile
(then alerts).

APScheduler 3.x, each job with `coalesce`, a misfire grace and at most one instance, and a
listener that logs every run and records a failed `runs` row for a job that raised before
it could record its own; each job also records its own row in `runs`. Intervals come from
RECON_SYNC_MINUTES / RECON_STOCK_MINUTES / RECON_COLLECT_MINUTES / RECON_RECONCILE_MINUTES
(5 / 15 / 15 / 30). Alerts run right after each reconcile when an alert channel is
configured (RECON_ALERT_*); a failed alert run does not undo the reconcile.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import insert, select

from alerts import AlertSettings, load_alert_settings
from cli.jobs import (
    alerts_job,
    collect_job,
    reconcile_job,
    stock_push_job,
    sync_job,
    warehouse,
)
from config import ConfigError, Settings
from warehouse.models import Run

log = logging.getLogger("recon.scheduler")


def _minutes(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r}: give a whole number of minutes")
    return int(raw)


def reconcile_then_alert(settings: Settings, alert_settings: AlertSettings) -> None:
    """The scheduler's reconcile job: reconcile, then alerts if a channel is configured."""
    reconcile_job(settings)
    if not alert_settings.configured:
        return
    started = datetime.now(UTC)
    try:
        alerts_job(settings, alert_settings)
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


def build_scheduler(settings: Settings) -> BlockingScheduler:
    alert_settings = load_alert_settings()
    alert_settings.check()
    scheduler = BlockingScheduler(timezone="UTC")
    jobs: list[tuple[str, Callable[[], object], int]] = [
        ("sync", lambda: sync_job(settings), _minutes("RECON_SYNC_MINUTES", 5)),
        ("stock_push", lambda: stock_push_job(settings), _minutes("RECON_STOCK_MINUTES", 15)),
        ("collect", lambda: collect_job(settings), _minutes("RECON_COLLECT_MINUTES", 15)),
        (
            "reconcile",
            lambda: reconcile_then_alert(settings, alert_settings),
            _minutes("RECON_RECONCILE_MINUTES", 30),
        ),
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
    scheduler = build_scheduler(settings)
    print("scheduler: " + ", ".join(f"{j.id} every {j.trigger}" for j in scheduler.get_jobs()))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    return 0
