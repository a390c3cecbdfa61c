"""The `sync_posts` record: one row per document the sync posts (or holds), written by the
per-order run (`recon.sync.run`) and the daily-journal run (`recon.sync.journal`) alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, or_

from recon.clients import Fetched
from recon.clients.sitoo import SitooOrder
from recon.pos.rules import looks_like_refund, may_post
from recon.sync.claims import POSTING, TOKEN_PREFIX, Worker, claim_many
from recon.warehouse.db import table, upsert_statement
from recon.warehouse.runs import RunLog

BATCH = 200  # Sitoo orders read, claimed and recorded together
BAD_DATA = "held_bad_data"


def record(
    conn: Connection,
    erp: str,
    post_key: str,
    order_id: str | None,
    kind: str,
    status: str,
    *,
    erp_ref: str | None = None,
    reason: str | None = None,
    message: str | None = None,
    holder: Worker | None = None,
) -> None:
    """Upsert one sync_posts row, counting the attempt.

    A row another worker has claimed (`posting`, not `holder`'s token) is left alone.
    """
    record_rows(
        conn,
        [post_row(erp, post_key, order_id, kind, status, erp_ref, reason, message)],
        holder,
    )


def post_row(
    erp: str,
    post_key: str,
    order_id: str | None,
    kind: str,
    status: str,
    erp_ref: str | None = None,
    reason: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "erp": erp,
        "post_key": post_key,
        "pos_order_id": order_id,
        "kind": kind,
        "status": status,
        "erp_ref": erp_ref,
        "reason": reason,
        "message": message,
        "attempts": 1,
        "first_attempt_at": now,
        "last_attempt_at": now,
    }


def record_rows(
    conn: Connection, rows: Sequence[dict[str, Any]], holder: Worker | None = None
) -> None:
    """`record` for many rows in one statement (executemany)."""
    if rows:
        mark = TOKEN_PREFIX + holder.token if holder else None
        conn.execute(_record_stmt(conn.dialect.name), [{**r, "holder_mark": mark} for r in rows])


@cache
def _record_stmt(dialect: str) -> Any:
    """Built once: constructing a Core statement per row costs more than executing it."""
    tbl = table("sync_posts")
    return upsert_statement(
        dialect,
        tbl,
        ["erp", "post_key"],
        ["status", "erp_ref", "reason", "message", "last_attempt_at"],
        also={"attempts": tbl.c.attempts + 1},
        where=lambda _: or_(tbl.c.status != POSTING, tbl.c.message == bindparam("holder_mark")),
    )


def hold_bad_orders(
    engine: Engine,
    erp: str,
    worker: Worker,
    run: RunLog,
    bad: Sequence[Fetched[SitooOrder]],
    count: Callable[[str], None],
) -> None:
    """Orders Sitoo sent that do not validate: each one that may be one to post is held
    (`held_bad_data`, the reason as its message) and named in one problem line, so it is
    retried on every run and posts once Sitoo's data is put right. `count` counts a status."""
    wanted: list[tuple[str, str, str, str]] = []
    for f in bad:
        error = f.error or "invalid record"
        if not (f.key.isascii() and f.key.isdigit()):
            run.problem(f"sitoo order without a usable orderid: {error}")
        elif may_post(f.raw):
            kind = "refund" if looks_like_refund(f.raw) else "sale"
            doc_key = f"{'credit_note' if kind == 'refund' else 'sale'}:{f.key}"
            wanted.append((doc_key, f.key, kind, error))
        else:
            count("not_eligible")
    if not wanted:
        return
    got = claim_many(engine, erp, [(k, oid, kind) for k, oid, kind, _ in wanted], worker)
    rows = []
    for doc_key, oid, kind, error in wanted:
        if got[doc_key] == "claimed":
            rows.append(post_row(erp, doc_key, oid, kind, "held", None, BAD_DATA, error))
            run.problem(f"order {oid}: held, its Sitoo data does not validate: {error}")
            count("held")
        elif got[doc_key] == "done":
            run.problem(f"order {oid}: posted before, its Sitoo data no longer validates: {error}")
    with engine.begin() as conn:
        record_rows(conn, rows, worker)
