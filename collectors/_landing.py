"""Landing vendor records in the warehouse: raw payload, canonical rows, quarantine.

One transaction per batch: a record whose payload hash is unchanged is skipped (a re-run
writes nothing), a changed one replaces its raw payload and canonical rows (child tables
such as order lines are replaced whole), an invalid one goes to quarantine with its reason.
Must not call a vendor; collectors hand it what their client fetched.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from clients import Fetched
from warehouse.db import delete_where_in, pack, table, upsert
from warehouse.models import Quarantine, RawPayload, Watermark

T = TypeVar("T")
Rows = dict[str, list[dict[str, Any]]]
Builder = Callable[[Any, int], Rows]


@dataclass
class Landed:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def add(self, other: Landed) -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Batches of `size`, read one batch ahead in a thread so fetching overlaps landing.

    The reader's exception (a vendor outage) is raised here after the batches before it.
    """
    source = iter(items)
    ahead: queue.Queue[tuple[list[T] | None, BaseException | None]] = queue.Queue(maxsize=1)

    def read() -> None:
        try:
            while chunk := list(islice(source, size)):
                ahead.put((chunk, None))
            ahead.put((None, None))
        except BaseException as exc:  # handed to the consumer, never lost
            ahead.put((None, exc))

    reader = threading.Thread(target=read, name="prefetch", daemon=True)
    reader.start()
    while True:
        chunk, error = ahead.get()
        if error is not None:
            raise error
        if chunk is None:
            return
        yield chunk


def land(
    conn: Connection,
    source: str,
    entity: str,
    batch: Sequence[Fetched[Any]],
    build: Builder,
    replace: Mapping[str, str] | None = None,
) -> tuple[Landed, list[str]]:
    """Land one batch; returns the counts and one problem line per quarantined record.

    `build(item, raw_id)` returns canonical rows per table; tables named in `replace`
    (table -> parent key column) have their rows for the batch's parents deleted first.
    """
    now = datetime.now(UTC)
    landed = Landed()
    problems: list[str] = []
    bad = [f for f in batch if f.item is None]
    good = {f.key: f for f in batch if f.item is not None}
    for f in bad:
        blob, _ = pack(f.raw)
        reason = f.error or "invalid record"
        problems.append(f"{source} {entity} {f.key}: {reason}")
        upsert(
            conn,
            table("quarantine"),
            [
                {
                    "source": source,
                    "entity": entity,
                    "vendor_id": f.key,
                    "reason": reason,
                    "payload": blob,
                    "seen_at": now,
                }
            ],
            keys=["source", "entity", "vendor_id"],
        )
    landed.quarantined = len(bad)
    if not good:
        return landed, problems
    existing = {
        vid: h
        for vid, h in conn.execute(
            select(RawPayload.vendor_id, RawPayload.payload_hash).where(
                RawPayload.source == source,
                RawPayload.entity == entity,
                RawPayload.vendor_id.in_(list(good)),
            )
        )
    }
    packed = {key: pack(f.raw) for key, f in good.items()}
    todo = [key for key in good if existing.get(key) != packed[key][1]]
    landed.unchanged = len(good) - len(todo)
    landed.new = sum(1 for k in todo if k not in existing)
    landed.changed = len(todo) - landed.new
    if not todo:
        return landed, problems
    upsert(
        conn,
        table("raw_payloads"),
        [
            {
                "source": source,
                "entity": entity,
                "vendor_id": k,
                "payload": packed[k][0],
                "payload_hash": packed[k][1],
                "fetched_at": now,
                "deleted_at": None,
            }
            for k in todo
        ],
        keys=["source", "entity", "vendor_id"],
    )
    raw_ids = {
        vid: rid
        for vid, rid in conn.execute(
            select(RawPayload.vendor_id, RawPayload.id).where(
                RawPayload.source == source,
                RawPayload.entity == entity,
                RawPayload.vendor_id.in_(todo),
            )
        )
    }
    conn.execute(  # a record that validates now leaves quarantine
        table("quarantine")
        .delete()
        .where(
            Quarantine.source == source, Quarantine.entity == entity, Quarantine.vendor_id.in_(todo)
        )
    )
    rows: Rows = {}
    for key in todo:
        for name, values in build(good[key].item, raw_ids[key]).items():
            rows.setdefault(name, []).extend(values)
    for name, key_col in (replace or {}).items():
        parents = {r[key_col] for rs in rows.values() for r in rs if key_col in r}
        delete_where_in(conn, table(name), key_col, parents)
    for name, values in rows.items():
        upsert(conn, table(name), values)
    return landed, problems


def get_watermark(engine: Engine, source: str, entity: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(Watermark.value).where(Watermark.source == source, Watermark.entity == entity)
        ).scalar()


def set_watermark(conn: Connection, source: str, entity: str, value: str) -> None:
    upsert(
        conn,
        table("watermarks"),
        [{"source": source, "entity": entity, "value": value, "updated_at": datetime.now(UTC)}],
    )
