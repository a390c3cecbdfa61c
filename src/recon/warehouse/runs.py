"""Job runs: every sync, collect and reconcile leaves one row saying when, what and how it ended.

The dashboard's freshness and sync-health views read these rows.

A run records the process running it (`pid` on `host`). A process killed outright (kill -9,
a lost machine) cannot finish its row, so before each new run starts, the `running` rows of
this host whose process is gone, or whose pid now belongs to a process that started after
the run did (the pid was reused, e.g. by a restarted container), are marked `abandoned`.
Rows of other hosts are left to runs on those hosts.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select, update

from recon.warehouse.models import Run

ABANDONED = "abandoned"
HOST = socket.gethostname()[:255]
_CLOCK_SLACK = timedelta(seconds=1)  # /proc start times are in clock ticks since boot


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunLog:
    """What a run counts as it goes, and the problems it met (one line each)."""

    id: int
    job: str
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, line: str) -> None:
        self.problems.append(line)

    @property
    def status(self) -> str:
        return "partial" if self.problems else "ok"


def process_started(pid: int) -> datetime | None:
    """When process `pid` started (Linux /proc), None when unknown; raises
    ProcessLookupError when there is no such process."""
    with contextlib.suppress(PermissionError):  # someone else's process: it exists
        os.kill(pid, 0)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)


def is_alive(pid: int, host: str, started_at: datetime) -> bool | None:
    """Whether the process that began a run at `started_at` still runs; None when it cannot
    be told from here (another host)."""
    if host != HOST:
        return None
    try:
        began = process_started(pid)
    except ProcessLookupError:
        return False
    return began is None or began <= started_at + _CLOCK_SLACK


def mark_abandoned(conn: Connection) -> int:
    """Mark this host's `running` runs whose process is gone `abandoned`; how many."""
    rows = conn.execute(
        select(Run.id, Run.pid, Run.started_at).where(
            Run.status == "running", Run.host == HOST, Run.pid.is_not(None)
        )
    ).all()
    gone = [(rid, pid) for rid, pid, began in rows if pid and is_alive(pid, HOST, began) is False]
    for rid, pid in gone:
        conn.execute(
            update(Run)
            .where(Run.id == rid, Run.status == "running")
            .values(
                status=ABANDONED,
                finished_at=utcnow(),
                message=f"abandoned: process {pid} on {HOST} ended without finishing the run",
            )
        )
    return len(gone)


def running(engine: Engine, job: str) -> list[int]:
    """Ids of the runs of `job` still under way (abandoned ones marked first)."""
    with engine.begin() as conn:
        mark_abandoned(conn)
        return list(
            conn.execute(select(Run.id).where(Run.job == job, Run.status == "running")).scalars()
        )


class Busy(Exception):
    """A job that must not run now: another is under way, or did not complete (one line:
    which run)."""


def exclusive(engine: Engine, run: RunLog, other: str) -> None:
    """Refuse `run` while a run of `other` is under way (checked once `run` is recorded, so
    of two that start together at least one sees the other): a reconcile never reads a
    collect that is half landed (POS orders in, ERP documents not yet)."""
    busy = [i for i in running(engine, other) if i != run.id]
    if busy:
        raise Busy(f"a {other} is under way (run {busy[0]}): {run.job} once it has finished")


def completed(engine: Engine, other: str, run: RunLog) -> None:
    """Refuse `run` when the latest run of `other` ended without completing (failed or
    abandoned): a collect that stopped part-way may have landed the POS side only, and a
    reconcile of that would report breaks that are not there."""
    with engine.connect() as conn:
        last = conn.execute(
            select(Run.id, Run.status)
            .where(Run.job == other, Run.status != "running")
            .order_by(Run.id.desc())
            .limit(1)
        ).first()
    if last is not None and last.status in ("failed", ABANDONED):
        raise Busy(
            f"the last {other} (run {last.id}) did not complete ({last.status}): "
            f"{other} again, then {run.job}"
        )


@contextmanager
def record_run(engine: Engine, job: str) -> Iterator[RunLog]:
    """Record a run of `job`; a raised exception marks it failed and propagates. Runs whose
    process died are marked `abandoned` first."""
    with engine.begin() as conn:
        mark_abandoned(conn)
        run_id = conn.execute(
            insert(Run).values(
                job=job,
                started_at=utcnow(),
                status="running",
                counts="{}",
                pid=os.getpid(),
                host=HOST,
            )
        ).inserted_primary_key
    log = RunLog(int(run_id[0]) if run_id else 0, job)
    status, message = "failed", None
    try:
        yield log
        status = log.status
        message = "\n".join(log.problems[:50]) or None
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(Run)
                .where(Run.id == log.id)
                .values(
                    finished_at=utcnow(),
                    status=status,
                    counts=json.dumps(dict(log.counts), sort_keys=True),
                    message=message,
                )
            )
