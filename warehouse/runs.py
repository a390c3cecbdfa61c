"""Job runs: every sync, collect and reconcile leaves one row saying when, what and how it ended.

The dashboard's freshness and sync-health views read these rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, update

from warehouse.models import Run


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


@contextmanager
def record_run(engine: Engine, job: str) -> Iterator[RunLog]:
    """Record a run of `job`; a raised exception marks it failed and propagates."""
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(Run).values(job=job, started_at=utcnow(), status="running", counts="{}")
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
