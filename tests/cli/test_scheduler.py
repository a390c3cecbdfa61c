"""The scheduler: every job coalesces, runs one at a time and has a misfire grace; a failing
job is recorded in `runs` once (by the job itself or else by the listener); alerts follow
each reconcile when a channel is configured."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from alerts import AlertSettings
from cli.scheduler import build_scheduler, reconcile_then_alert, record_failure
from config import ConfigError, Settings, load_settings
from warehouse.db import make_engine, open_warehouse
from warehouse.models import Run

ALERT_VARS = [
    "RECON_ALERT_WEBHOOK_FINANCE",
    "RECON_ALERT_WEBHOOK_OPS",
    "RECON_ALERT_EMAIL_FINANCE",
    "RECON_ALERT_EMAIL_OPS",
    "RECON_SMTP_HOST",
]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ALERT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECON_STOCK_MINUTES", "7")
    loaded = load_settings(
        recon_warehouse_url=f"sqlite:///{tmp_path}/w.db", recon_data_dir=str(tmp_path)
    )
    open_warehouse(loaded.warehouse_url).dispose()  # migrated before any job runs
    return loaded


def runs(settings: Settings) -> list[tuple[str, str, str | None]]:
    # no migration here: the scheduler's threads may be opening the warehouse meanwhile
    with make_engine(settings.warehouse_url).connect() as conn:
        query = select(Run.job, Run.status, Run.message).order_by(Run.id)
        return [(j, s, m) for j, s, m in conn.execute(query)]


def test_every_job_coalesces_runs_alone_and_has_a_misfire_grace(settings: Settings) -> None:
    scheduler = build_scheduler(settings)
    jobs = {
        job.id: (job.coalesce, job.max_instances, job.misfire_grace_time, job.trigger.interval)
        for job in scheduler.get_jobs()
    }
    assert jobs == {
        "sync": (True, 1, 150, timedelta(minutes=5)),
        "stock_push": (True, 1, 210, timedelta(minutes=7)),
        "collect": (True, 1, 450, timedelta(minutes=15)),
        "reconcile": (True, 1, 900, timedelta(minutes=30)),
    }


def test_a_bad_interval_is_a_config_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECON_STOCK_MINUTES", "0")
    with pytest.raises(ConfigError, match="RECON_STOCK_MINUTES"):
        build_scheduler(settings)


def test_the_listener_records_a_job_that_failed_before_its_own_run(settings: Settings) -> None:
    scheduler = build_scheduler(settings)
    sync = scheduler.get_job("sync")
    assert sync is not None
    sync.modify(next_run_time=datetime.now(UTC))  # no mappings imported: sync_job raises
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runs(settings) and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.shutdown(wait=False)
    thread.join(timeout=5)

    assert runs(settings) == [
        (
            "sync",
            "failed",
            "ConfigError: no mappings in the warehouse: run `recon mappings import FILE` "
            "(or set RECON_MAPPINGS)",
        )
    ]


def test_a_failure_the_job_recorded_itself_is_not_recorded_twice(settings: Settings) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    engine = open_warehouse(settings.warehouse_url)
    with engine.begin() as conn:
        conn.execute(
            insert(Run).values(
                job="collect",
                started_at=since + timedelta(seconds=1),
                status="failed",
                counts="{}",
                message="ServerError: sitoo 503",
            )
        )
    record_failure(settings, "collect", since, RuntimeError("sitoo 503"))
    record_failure(settings, "stock_push", since, RuntimeError("boom"))

    assert runs(settings) == [
        ("collect", "failed", "ServerError: sitoo 503"),
        ("stock_push", "failed", "RuntimeError: boom"),
    ]


def test_alerts_follow_reconcile_only_when_a_channel_is_configured(settings: Settings) -> None:
    reconcile_then_alert(settings, AlertSettings(_env_file=None))  # type: ignore[call-arg]
    assert [job for job, _, _ in runs(settings)] == ["reconcile"]

    # nothing open to send, but the alerts run happens and is recorded
    hook = AlertSettings(_env_file=None, recon_alert_webhook_ops="http://127.0.0.1:9/x")  # type: ignore[call-arg]
    reconcile_then_alert(settings, hook)
    assert [(job, status) for job, status, _ in runs(settings)] == [
        ("reconcile", "ok"),
        ("reconcile", "ok"),
        ("alerts", "ok"),
    ]
