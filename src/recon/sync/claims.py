"""Claims: one worker at a time may look up and post a given thing (an order, a journal).

Before its look-up and writes, a worker claims the thing's `sync_posts` row: one conditional
upsert sets `status = 'posting'`, `message` = the worker's token and `last_attempt_at` = the
lease start, and only succeeds when the row is new, was left held / failed / retrying, or is
a `posting` claim whose lease has expired or whose holder is a dead process on this host. The
database decides the race (SQLite serialises writers; PostgreSQL's ON CONFLICT takes the row
lock and re-checks the WHERE), so of two workers exactly one wins. Recording the outcome
(`recon.sync.run.record`) ends the claim.

A claim is renewed before every ERP write (`check_lease`) when it is older than
`RENEW_AFTER`, so a holder that is still working never loses it; one that lost it (a lease
longer than `LEASE` without a word) stops before writing. Limits: takeover of a crashed
worker is immediate only on the same host (the token carries host and pid); elsewhere it
waits for the lease to run out. No schema change: the token lives in `message` while the
row is `posting`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select, update

from recon.warehouse.db import table, upsert_statement
from recon.warehouse.models import SyncPost
from recon.warehouse.types import UTCDateTime

LEASE = timedelta(minutes=10)
RENEW_AFTER = timedelta(minutes=1)
CLAIMABLE = ("held", "failed", "retrying")
POSTING = "posting"
TOKEN_PREFIX = "claimed by "

Claimed = Literal["claimed", "done", "busy"]


class LostClaim(Exception):
    """This worker's claim was taken over (its lease ran out): it must not write."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Worker:
    """Who holds a claim: `host:pid:random`, unique per worker (and per run)."""

    token: str

    @classmethod
    def new(cls) -> Worker:
        return cls(f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}")


def holder_is_dead(message: str | None) -> bool:
    """True when the claim's token names a process on this host that no longer runs."""
    if not message or not message.startswith(TOKEN_PREFIX):
        return False
    parts = message.removeprefix(TOKEN_PREFIX).rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def claim(
    engine: Engine,
    erp: str,
    post_key: str,
    order_id: str | None,
    kind: str,
    worker: Worker,
    *,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> Claimed:
    """Claim `post_key` for `worker`: "claimed", "done" (posted already) or "busy"."""
    got = claim_many(engine, erp, [(post_key, order_id, kind)], worker, lease=lease, now=now)
    return got[post_key]


def claim_many(
    engine: Engine,
    erp: str,
    wanted: Sequence[tuple[str, str | None, str]],
    worker: Worker,
    *,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> dict[str, Claimed]:
    """Claim each `(post_key, order_id, kind)` for `worker`, all in one transaction (one
    write lock instead of one per order): post_key -> "claimed", "done" or "busy"."""
    now = now or utcnow()
    mark = TOKEN_PREFIX + worker.token
    out: dict[str, Claimed] = {}
    with engine.begin() as conn:
        stmt = _claim_stmt(conn.dialect.name)
        for post_key, order_id, kind in wanted:
            params = {
                "erp": erp,
                "post_key": post_key,
                "pos_order_id": order_id,
                "kind": kind,
                "status": POSTING,
                "message": mark,
                "reason": None,
                "attempts": 1,
                "first_attempt_at": now,
                "last_attempt_at": now,
                "cutoff": now - lease,
            }
            # RETURNING, not rowcount: PostgreSQL drivers report -1 for an upsert's rowcount.
            if conn.execute(stmt, params).first() is not None:
                out[post_key] = "claimed"
                continue
            row = conn.execute(
                select(SyncPost.status, SyncPost.message).where(
                    SyncPost.erp == erp, SyncPost.post_key == post_key
                )
            ).one()
            if row.status != POSTING:
                out[post_key] = "done"
            elif not holder_is_dead(row.message):
                out[post_key] = "busy"
            else:
                out[post_key] = _take_over(conn, erp, post_key, row.message, mark, now)
    return out


def _take_over(
    conn: Connection, erp: str, post_key: str, held_by: str, mark: str, now: datetime
) -> Claimed:
    """Take over a crashed worker's claim, if nobody else did meanwhile."""
    tbl = table("sync_posts")
    took = conn.execute(
        update(tbl)
        .where(
            tbl.c.erp == erp,
            tbl.c.post_key == post_key,
            tbl.c.status == POSTING,
            tbl.c.message == held_by,
        )
        .values(message=mark, last_attempt_at=now)
    )
    return "claimed" if took.rowcount == 1 else "busy"


def release_unfinished(engine: Engine, erp: str, worker: Worker) -> int:
    """Give back every claim `worker` still holds (work it could not finish): `retrying`."""
    tbl = table("sync_posts")
    with engine.begin() as conn:
        return conn.execute(
            update(tbl)
            .where(
                tbl.c.erp == erp,
                tbl.c.status == POSTING,
                tbl.c.message == TOKEN_PREFIX + worker.token,
            )
            .values(status="retrying", reason="interrupted", message="the run stopped first")
        ).rowcount


@cache
def _claim_stmt(dialect: str) -> Any:
    """The conditional upsert, built once (a Core statement per call costs more than the
    database round trip)."""
    tbl = table("sync_posts")
    return upsert_statement(
        dialect,
        tbl,
        ["erp", "post_key"],
        ["status", "message", "reason", "last_attempt_at"],
        where=lambda offered: or_(
            tbl.c.status.in_(CLAIMABLE),
            and_(
                tbl.c.status == POSTING,
                or_(
                    tbl.c.last_attempt_at < bindparam("cutoff", type_=UTCDateTime()),
                    tbl.c.message == offered.message,
                ),
            ),
        ),
        returning=[tbl.c.id],
    )


@dataclass
class Lease:
    """The claims a worker holds for one unit of work, renewed before each ERP write."""

    engine: Engine
    erp: str
    keys: Sequence[str]
    worker: Worker
    renewed: datetime = field(default_factory=utcnow)

    def check(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        if now - self.renewed < RENEW_AFTER:
            return
        tbl = table("sync_posts")
        with self.engine.begin() as conn:
            done = conn.execute(
                update(tbl)
                .where(
                    tbl.c.erp == self.erp,
                    tbl.c.post_key.in_(list(self.keys)),
                    tbl.c.status == POSTING,
                    tbl.c.message == TOKEN_PREFIX + self.worker.token,
                )
                .values(last_attempt_at=now)
            ).rowcount
        if done != len(self.keys):
            raise LostClaim(f"claim on {', '.join(self.keys)} was taken over; not writing")
        self.renewed = now


_current: ContextVar[Lease | None] = ContextVar("sync_lease", default=None)


@contextmanager
def holding(lease: Lease) -> Iterator[Lease]:
    """Make `lease` the one `check_lease` renews in this thread / context."""
    token = _current.set(lease)
    try:
        yield lease
    finally:
        _current.reset(token)


def check_lease() -> None:
    """Called by posters right before each ERP write; a no-op outside `holding`."""
    lease = _current.get()
    if lease is not None:
        lease.check()
