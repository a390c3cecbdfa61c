"""Claims on sync_posts: who may post a thing, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from recon.sync.claims import LEASE, TOKEN_PREFIX, Lease, LostClaim, Worker, claim
from recon.warehouse.models import SyncPost

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
ME = Worker("host-a:1:me")
OTHER = Worker(f"{socket.gethostname()}:1:other")  # pid 1 is alive (init) on this host


def dead_worker() -> Worker:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return Worker(f"{socket.gethostname()}:{done.stdout.strip()}:gone")


def put(engine: Engine, status: str, age: timedelta, holder: Worker | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(SyncPost).values(
                erp="sage200",
                post_key="sale:5120",
                pos_order_id="5120",
                kind="sale",
                status=status,
                message=TOKEN_PREFIX + holder.token if holder else None,
                attempts=1,
                first_attempt_at=NOW - age,
                last_attempt_at=NOW - age,
            )
        )


def holder_of(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(SyncPost.message)).scalar_one()


FRESH, EXPIRED = timedelta(seconds=30), LEASE + timedelta(seconds=1)
#   row before the claim                    -> claim by ME
CASES = [
    (None, None, None, "claimed"),
    ("held", FRESH, None, "claimed"),
    ("failed", FRESH, None, "claimed"),
    ("retrying", FRESH, None, "claimed"),
    ("posted", FRESH, None, "done"),
    ("exists", FRESH, None, "done"),
    ("journaled", FRESH, None, "done"),
    ("posting", FRESH, OTHER, "busy"),  # a live worker is on it
    ("posting", EXPIRED, OTHER, "claimed"),  # its lease ran out
    ("posting", FRESH, ME, "claimed"),  # my own claim
    ("posting", FRESH, "dead", "claimed"),  # its process on this host is gone
]


@pytest.mark.parametrize(("status", "age", "holder", "expected"), CASES)
def test_claim_depends_on_the_row_before(
    warehouse: Engine,
    status: str | None,
    age: timedelta | None,
    holder: Worker | str | None,
    expected: str,
) -> None:
    if status is not None and age is not None:
        put(warehouse, status, age, dead_worker() if holder == "dead" else holder)  # type: ignore[arg-type]
    got = claim(warehouse, "sage200", "sale:5120", "5120", "sale", ME, now=NOW)
    assert got == expected
    if expected == "claimed":
        assert holder_of(warehouse) == TOKEN_PREFIX + ME.token


def test_of_many_workers_racing_for_one_order_exactly_one_wins(warehouse: Engine) -> None:
    workers = [Worker.new() for _ in range(8)]
    results: list[str] = []
    start = threading.Barrier(len(workers))

    def go(w: Worker) -> None:
        start.wait()
        results.append(claim(warehouse, "sage200", "sale:5120", "5120", "sale", w))

    threads = [threading.Thread(target=go, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["busy"] * 7 + ["claimed"]


def test_a_lease_is_renewed_before_writing_and_a_lost_one_stops_the_write(
    warehouse: Engine,
) -> None:
    t0 = datetime.now(UTC)
    assert claim(warehouse, "sage200", "sale:5120", "5120", "sale", ME, now=t0) == "claimed"
    lease = Lease(warehouse, "sage200", ["sale:5120"], ME, renewed=t0)
    lease.check(now=t0 + timedelta(minutes=2))  # renewed: the row's lease starts again
    with warehouse.connect() as conn:
        last = conn.execute(select(SyncPost.last_attempt_at)).scalar_one()
    assert last == t0 + timedelta(minutes=2)

    later = t0 + timedelta(minutes=2) + EXPIRED
    assert claim(warehouse, "sage200", "sale:5120", "5120", "sale", OTHER, now=later) == "claimed"
    with pytest.raises(LostClaim):
        lease.check(now=later)
