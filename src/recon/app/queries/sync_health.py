"""The Sync health page: each job's freshness, the runs, the sync posts, and what holds
orders back from the ERP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select, true

from recon.app.queries._frames import MONEY, _from_units, _table, _units
from recon.snapshot.schema import INSTANT
from recon.warehouse.models import PosOrder, Run, SyncPost

JOBS: tuple[str, ...] = ("sync", "collect", "reconcile")


DEFAULT_STALE_AFTER: dict[str, timedelta] = {
    "sync": timedelta(hours=2),
    "collect": timedelta(hours=2),
    "reconcile": timedelta(hours=26),
}


_FRESHNESS_SCHEMA: dict[str, pl.DataType] = {
    "job": pl.String(),
    "last_finished_at": INSTANT,
    "last_status": pl.String(),
    "last_message": pl.String(),
    "running_since": INSTANT,
    "age": pl.Duration("us"),
    "stale": pl.Boolean(),
}


def freshness(
    conn: Connection,
    now: datetime | None = None,
    stale_after: Mapping[str, timedelta] | None = None,
) -> pl.DataFrame:
    """One row per job: its last finished run, its age, and whether that is stale.

    Stale when the job never finished, or its last finished run ended longer ago than
    `stale_after[job]` (DEFAULT_STALE_AFTER). A failed last run is shown by its status.
    """
    now = now or datetime.now(UTC)
    limits = {**DEFAULT_STALE_AFTER, **(stale_after or {})}
    rows: list[dict[str, Any]] = []
    for job in JOBS:
        last = conn.execute(
            select(Run.finished_at, Run.status, Run.message)
            .where(Run.job == job, Run.finished_at.is_not(None))
            .order_by(Run.finished_at.desc())
            .limit(1)
        ).first()
        running = conn.execute(
            select(func.max(Run.started_at)).where(Run.job == job, Run.finished_at.is_(None))
        ).scalar_one_or_none()
        finished = last.finished_at if last else None
        age = now - finished if finished is not None else None
        rows.append(
            {
                "job": job,
                "last_finished_at": finished,
                "last_status": last.status if last else None,
                "last_message": last.message if last else None,
                "running_since": running,
                "age": age,
                "stale": age is None or age > limits[job],
            }
        )
    return pl.DataFrame(rows, schema=_FRESHNESS_SCHEMA, orient="row")


def runs(conn: Connection, job: str | None = None, limit: int = 200) -> pl.DataFrame:
    """The latest runs, newest first (counts stay the JSON text the job wrote)."""
    where = Run.job == job if job else true()
    return _table(conn, Run, where, order_by=[Run.started_at.desc()]).head(limit)


def sync_post_summary(conn: Connection) -> pl.DataFrame:
    """Sync posts counted by ERP, kind, status and reason."""
    posts = _table(conn, SyncPost, true())
    return (
        posts.group_by("erp", "kind", "status", "reason")
        .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("last_attempt_at").max())
        .sort("erp", "kind", "status", "reason", nulls_last=True)
    )


def sync_posts(
    conn: Connection, statuses: Sequence[str] = ("held", "failed", "retrying")
) -> pl.DataFrame:
    """The sync posts in `statuses` (by default the ones that did not reach the ERP)."""
    where = SyncPost.status.in_(statuses) if statuses else true()
    return _table(conn, SyncPost, where, order_by=[SyncPost.last_attempt_at.desc()])


def mapping_health(conn: Connection) -> pl.DataFrame:
    """What holds orders back from the ERP, biggest money first: one row per hold (an
    unmapped tender, VAT rate or store, a closed account, an unknown SKU, as the sync's
    message names it), with the orders it blocks and their POS gross (a refund's counts as
    much as a sale's: both are money not in the ERP), per currency.

    Read from the sync's `held` posts; an order counts once per hold however many of its
    posts (sale, receipts) are held. An order the collector has not stored yet counts
    with no money (currency '').
    """
    s, o = SyncPost, PosOrder
    held = (
        select(s.reason, s.message, s.pos_order_id)
        .where(s.status == "held", s.pos_order_id.is_not(None))
        .distinct()
        .subquery()
    )
    stmt = (
        select(
            held.c.reason,
            held.c.message,
            o.currency,
            func.count().label("orders"),
            _units(conn, func.abs(o.gross_total)).label("money"),
            func.min(o.business_day).label("oldest_day"),
        )
        .select_from(held)
        .outerjoin(o, o.order_id == held.c.pos_order_id)
        .group_by(held.c.reason, held.c.message, o.currency)
    )
    rows = [
        (
            (r.reason or "").removeprefix("held_"),
            r.message or "",
            r.orders,
            _from_units(r.money),
            r.currency or "",
            r.oldest_day,
        )
        for r in conn.execute(stmt)
    ]
    schema = {
        "problem": pl.String(),
        "what": pl.String(),
        "orders": pl.Int64(),
        "money_blocked": MONEY,
        "currency": pl.String(),
        "oldest_day": pl.Date(),
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.sort(
        ["money_blocked", "orders", "problem", "what"], descending=[True, True, False, False]
    )
