"""The run log: a run whose process was killed outright (kill -9) is marked `abandoned` by
the next run on its host; a live one, or one on another host, is left `running`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from recon.warehouse.models import Run
from recon.warehouse.runs import HOST, Busy, completed, exclusive, record_run, running

ROOT = Path(__file__).resolve().parents[2]
HOLD_A_RUN = """
import sys, time
from recon.warehouse.db import make_engine
from recon.warehouse.runs import record_run
with record_run(make_engine(sys.argv[1]), "collect"):
    print("started", flush=True)
    time.sleep(60)
"""


def runs(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        query = select(Run.job, Run.status, Run.message).order_by(Run.id)
        return [(j, s, m) for j, s, m in conn.execute(query)]


def test_a_run_killed_with_kill_9_is_abandoned_by_the_next_run(
    warehouse: Engine, warehouse_url: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, warehouse_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "started\n"
    assert runs(warehouse) == [("collect", "running", None)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    with record_run(warehouse, "reconcile"):
        pass

    assert runs(warehouse) == [
        (
            "collect",
            "abandoned",
            f"abandoned: process {proc.pid} on {HOST} ended without finishing the run",
        ),
        ("reconcile", "ok", None),
    ]


def test_live_runs_and_other_hosts_runs_stay_running(warehouse: Engine) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    row = {"job": "sync", "status": "running", "counts": "{}", "started_at": long_ago}
    with warehouse.begin() as conn:
        conn.execute(
            insert(Run),
            [
                {**row, "pid": 4242, "host": "other-box"},  # cannot be told from here
                {**row, "pid": os.getpid(), "host": HOST},  # this pid, reused since: gone
            ],
        )

    inside = threading.Event()
    leave = threading.Event()

    def live_run() -> None:
        with record_run(warehouse, "collect"):
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=live_run)
    worker.start()
    inside.wait(10)
    try:
        assert len(running(warehouse, "collect")) == 1  # this process's own run, alive
        assert running(warehouse, "sync") == [1]  # the other host's: cannot tell, kept
    finally:
        leave.set()
        worker.join()
    assert [status for _, status, _ in runs(warehouse)] == [
        "running",
        "abandoned",
        "ok",
    ]


def test_a_reconcile_is_refused_while_a_collect_is_under_way_and_the_other_way_round(
    warehouse: Engine,
) -> None:
    with record_run(warehouse, "collect") as collect:
        with (
            pytest.raises(Busy, match=rf"a collect is under way \(run {collect.id}\)"),
            record_run(warehouse, "reconcile") as run,
        ):
            exclusive(warehouse, run, "collect")
        exclusive(warehouse, collect, "reconcile")  # that refused reconcile has ended

    with record_run(warehouse, "reconcile") as run:  # the collect has finished
        exclusive(warehouse, run, "collect")
        with (
            record_run(warehouse, "collect") as collect,
            pytest.raises(Busy, match="a reconcile is under way"),
        ):
            exclusive(warehouse, collect, "reconcile")


def test_a_reconcile_is_refused_after_a_collect_that_did_not_complete(warehouse: Engine) -> None:
    with pytest.raises(RuntimeError), record_run(warehouse, "collect"):
        raise RuntimeError("ERP down after the POS side landed")
    with (
        pytest.raises(Busy, match=r"the last collect \(run 1\) did not complete \(failed\)"),
        record_run(warehouse, "reconcile") as run,
    ):
        completed(warehouse, "collect", run)

    with record_run(warehouse, "collect") as collect:
        collect.problem("sitoo order 7: a bad record, quarantined")  # partial is complete
    with record_run(warehouse, "reconcile") as run:
        completed(warehouse, "collect", run)
    assert [status for _, status, _ in runs(warehouse)] == ["failed", "failed", "partial", "ok"]
