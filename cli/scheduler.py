"""`recon scheduler`: the long-running process that runs sync, collect and reconcile.

APScheduler 3.x, each job with `coalesce`, a misfire grace and at most one instance, and a
listener that logs every run; each job also records its own row in `runs`. Intervals come
from RECON_SYNC_MINUTES / RECON_COLLECT_MINUTES / RECON_RECONCILE_MINUTES (5 / 15 / 30).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.blocking import BlockingScheduler

from cli.jobs import collect_job, reconcile_job, sync_job
from config import ConfigError, Settings

log = logging.getLogger("recon.scheduler")


def _minutes(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r}: give a whole number of minutes")
    return int(raw)


def build_scheduler(settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    jobs: list[tuple[str, Callable[[], object], int]] = [
        ("sync", lambda: sync_job(settings), _minutes("RECON_SYNC_MINUTES", 5)),
        ("collect", lambda: collect_job(settings), _minutes("RECON_COLLECT_MINUTES", 15)),
        ("reconcile", lambda: reconcile_job(settings), _minutes("RECON_RECONCILE_MINUTES", 30)),
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
