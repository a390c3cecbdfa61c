"""The exceptions table: read the previous findings, store a run's merged findings.

The engine decides statuses (`recon.reconcile.merge_history`); this module only persists them and
writes an audit event whenever a run changed a status. Columns a person owns (assignee, the
reason a person closed an item) are never overwritten by a run.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from sqlalchemy import Engine, select

from recon.snapshot import EXCEPTION_FIELDS, EXCEPTIONS_SCHEMA
from recon.warehouse.db import CHUNK, table, upsert
from recon.warehouse.models import ExceptionRow

_COLUMNS = [getattr(ExceptionRow, name) for name in EXCEPTION_FIELDS]


def read_exceptions(
    engine: Engine, *, day: date | None = None, store: str | None = None
) -> pl.DataFrame:
    """Stored exceptions (every status), optionally of one business day and/or store."""
    query = select(*_COLUMNS)
    if day is not None:
        query = query.where(ExceptionRow.business_day == day)
    if store is not None:
        query = query.where(ExceptionRow.store == store)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return pl.DataFrame(schema=EXCEPTIONS_SCHEMA)
    return pl.DataFrame(
        [tuple(r) for r in rows], schema=EXCEPTIONS_SCHEMA, orient="row", strict=False
    )


def save_exceptions(engine: Engine, merged: pl.DataFrame, now: datetime) -> dict[str, int]:
    """Upsert a run's merged exceptions, logging every status the run changed; counts by status."""
    rows = merged.select(EXCEPTION_FIELDS).to_dicts()
    with engine.begin() as conn:
        before: dict[str, tuple[str, datetime | None]] = {}
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), CHUNK):
            found = conn.execute(
                select(ExceptionRow.id, ExceptionRow.status, ExceptionRow.resolved_at).where(
                    ExceptionRow.id.in_(ids[start : start + CHUNK])
                )
            )
            before.update({i: (s, at) for i, s, at in found})
        events = []
        for row in rows:
            old_status, old_resolved = before.get(row["id"], (None, None))
            if row["status"] in ("resolved", "closed"):
                row["resolved_at"] = old_resolved if old_status == row["status"] else now
            else:
                row["resolved_at"] = None
            if old_status != row["status"]:
                events.append(
                    {
                        "exception_id": row["id"],
                        "at": now,
                        "actor": "engine",
                        "action": row["status"],
                        "note": None if old_status is None else f"was {old_status}",
                    }
                )
        upsert(conn, table("exceptions"), rows)
        if events:
            conn.execute(table("exception_events").insert(), events)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts
