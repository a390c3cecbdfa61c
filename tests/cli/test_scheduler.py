"""The scheduler: every job coalesces, runs one at a time and has a misfire grace; a failing
job is recorded in `runs` once (by the job itself or else by the listener); alerts follow
each reconcile when a channel is configured."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import insert, select

from recon.cli.scheduler import (
    Pipeline,
    Steps,
    build_pipeline,
    build_scheduler,
    reconcile_then_alert,
    record_failure,
)
from recon.config import ConfigError, Settings, load_settings
from recon.warehouse.db import make_engine, open_warehouse
from recon.warehouse.models import Run

ALERT_VARS = [
    "RECON_ALERT_WEBHOOK_FINANCE",
    "RECON_ALERT_WEBHOOK_OPS",
    "RECON_ALERT_EMAIL_FINANCE",
    "RECON_ALERT_EMAIL_OPS",
    "RECON_SMTP_HOST",
]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in [*ALERT_VARS, "SITOO_BASE_URL", "RECON_FULL_SWEEP_HOUR"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECON_STOCK_MINUTES", "7")
    loaded = load_settings(
        recon_warehouse_url=f"sqlite:///{tmp_path}/w.db", recon_data_dir=str(tmp_path)
    )
    open_warehouse(loaded.warehouse_url)  # migrated before any job runs
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
    # sync, collect and reconcile are steps of one pipeline (they raced as separate jobs)
    assert jobs == {
        "pipeline": (True, 1, 150, timedelta(minutes=5)),
        "stock_push": (True, 1, 210, timedelta(minutes=7)),
    }


def test_a_bad_interval_is_a_config_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECON_STOCK_MINUTES", "0")
    with pytest.raises(
        ConfigError, match="RECON_STOCK_MINUTES='0': give a whole number of minutes"
    ):
        load_settings()


def test_a_step_that_failed_before_its_own_run_is_recorded_and_reconcile_is_skipped(
    settings: Settings,
) -> None:
    scheduler = build_scheduler(settings)
    pipeline = scheduler.get_job("pipeline")
    assert pipeline is not None
    pipeline.modify(next_run_time=datetime.now(UTC))  # no mappings: sync_job raises
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while len(runs(settings)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.shutdown(wait=False)
    thread.join(timeout=5)

    assert runs(settings) == [
        (
            "sync",
            "failed",
            "ConfigError: no mappings in the warehouse: run `recon mappings import FILE` "
            "(or set RECON_MAPPINGS)",
        ),
        ("collect", "failed", "ConfigError: set SITOO_BASE_URL (needed to reach sitoo)"),
    ]  # and no reconcile of a collect that failed


def test_a_failure_the_job_recorded_itself_is_not_recorded_twice(settings: Settings) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    engine = open_warehouse(settings.warehouse_url).engine
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
    reconcile_then_alert(settings)
    assert [job for job, _, _ in runs(settings)] == ["reconcile"]

    # nothing open to send, but the alerts run happens and is recorded
    hook = settings.model_copy(
        update={"recon_alert_webhook_ops": SecretStr("http://127.0.0.1:9/x")}
    )
    reconcile_then_alert(hook)
    assert [(job, status) for job, status, _ in runs(settings)] == [
        ("reconcile", "ok"),
        ("reconcile", "ok"),
        ("alerts", "ok"),
    ]


# ----------------------------------------------------------------- the pipeline, on a fake clock
LONDON = ZoneInfo("Europe/London")


class Warehouse:
    """What the steps do to the warehouse: collect n lands the POS side as of n, then the ERP
    side as of n (or fails between the two); a reconcile notes which collects it read."""

    def __init__(self, failing_collects: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.pos = self.erp = 0
        self.failing = failing_collects
        self.log: list[str] = []
        self.read: list[tuple[int, int]] = []

    def steps(self) -> Steps:
        return Steps(self.sync, self.collect, self.reconcile)

    def sync(self) -> None:
        self.log.append("sync")

    def collect(self, full: bool) -> None:
        self.log.append("collect --full" if full else "collect")
        n = self.log.count("collect") + self.log.count("collect --full")
        self.pos = n  # both sides as of collect n: the POS side first ...
        if n in self.failing:
            raise RuntimeError("ERP down mid-collect")
        self.erp = n  # ... then the ERP side

    def reconcile(self) -> None:
        self.log.append("reconcile")
        self.read.append((self.pos, self.erp))


def a_day_of_ticks(wh: Warehouse, sweep_hour: int | None = 2) -> list[tuple[str, list[str]]]:
    """The pipeline called every 5 minutes from 00:00 to 23:55 London time; per tick, the
    local time and the steps it ran."""
    now = [datetime(2026, 6, 1, 0, 0, tzinfo=LONDON)]
    pipeline = Pipeline(
        wh.steps(),
        tick=timedelta(minutes=5),
        collect_every=timedelta(minutes=15),
        reconcile_every=timedelta(minutes=30),
        sweep_hour=sweep_hour,
        timezone=LONDON,
        clock=lambda: now[0] + timedelta(seconds=0.3),  # each tick a little late
    )
    ticks = []
    for _ in range(24 * 12):
        before = len(wh.log)
        pipeline()
        ticks.append((now[0].strftime("%H:%M"), wh.log[before:]))
        now[0] += timedelta(minutes=5)
    return ticks


def test_the_pipeline_runs_sync_collect_reconcile_in_order_each_when_due() -> None:
    wh = Warehouse()
    ticks = dict(a_day_of_ticks(wh))
    #        time     steps run on that tick
    assert ticks["00:00"] == ["sync", "collect", "reconcile"]
    assert ticks["00:05"] == ["sync"]
    assert ticks["00:10"] == ["sync"]
    assert ticks["00:15"] == ["sync", "collect"]
    assert ticks["00:30"] == ["sync", "collect", "reconcile"]
    assert ticks["01:55"] == ["sync"]
    assert ticks["02:00"] == ["sync", "collect --full", "reconcile"]  # the nightly sweep
    assert ticks["02:15"] == ["sync", "collect"]
    assert wh.log.count("sync") == 288
    assert (wh.log.count("collect"), wh.log.count("collect --full")) == (95, 1)
    assert wh.log.count("reconcile") == 48
    assert all(pos == erp for pos, erp in wh.read)  # every reconcile read whole collects


def test_no_reconcile_reads_a_collect_that_failed_half_landed() -> None:
    wh = Warehouse(failing_collects={3, 4})  # 00:30 and 00:45 land POS orders only
    ticks = dict(a_day_of_ticks(wh, sweep_hour=None))
    assert ticks["00:30"] == ["sync", "collect"]  # its reconcile skipped
    assert ticks["00:45"] == ["sync", "collect"]
    assert ticks["01:00"] == ["sync", "collect", "reconcile"]  # a whole collect again
    assert wh.read[:2] == [(1, 1), (5, 5)]
    assert all(pos == erp for pos, erp in wh.read)
    assert "collect --full" not in wh.log


def test_the_full_sweep_waits_for_its_hour_once_a_day() -> None:
    wh = Warehouse()
    ticks = a_day_of_ticks(wh, sweep_hour=23)
    assert [t for t, steps in ticks if "collect --full" in steps] == ["23:00"]


def test_the_scheduler_pipeline_reads_its_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECON_FULL_SWEEP_HOUR", "off")
    monkeypatch.setenv("RECON_COLLECT_MINUTES", "20")
    pipeline = build_pipeline(load_settings(recon_warehouse_url=settings.warehouse_url))
    assert (pipeline.sweep_hour, pipeline.collect_every) == (None, timedelta(minutes=20))
    monkeypatch.setenv("RECON_FULL_SWEEP_HOUR", "25")
    with pytest.raises(ConfigError, match="RECON_FULL_SWEEP_HOUR='25': give an hour 0-23, or off"):
        load_settings()
