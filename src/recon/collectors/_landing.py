"""Landing vendor records in the warehouse: raw payload, canonical rows, quarantine, deletions.

One transaction per batch: a record whose payload hash is unchanged is skipped (a re-run
writes nothing), a changed one replaces its raw payload and canonical rows (child tables
such as order lines are replaced whole), an invalid one goes to quarantine with its reason.
A record the vendor marks void (a voided transaction) keeps its raw payload, marked deleted,
and loses its canonical rows. Vendors that do not report deletions are caught by `sweep`
after a complete pass: what was landed before and is no longer there is marked deleted and
its canonical rows go, in one transaction; a record that comes back is landed again.
Each pass reports its progress (`Pass`). Must not call a vendor itself; collectors hand it
what their client fetched (and, before a sweep, a function that asks the vendor).

Over 600 lines, kept as one module because it holds one concern: landing records in the
warehouse (skip, replace, quarantine, sweep).
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, partial
from itertools import islice
from operator import itemgetter
from types import TracebackType
from typing import Any, TextIO, TypeVar

from sqlalchemy import BigInteger, Connection, Engine, Integer, String, Table, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from recon.clients import Fetched
from recon.clients._http import KEY_MAX, safe_key
from recon.warehouse.db import (
    CHUNK,
    canonical,
    compress,
    delete_where_in,
    pack,
    table,
    upsert,
    upsert_statement,
)
from recon.warehouse.models import Quarantine, RawPayload, Watermark
from recon.warehouse.runs import RunLog
from recon.warehouse.types import ExactDecimal

T = TypeVar("T")
Rows = dict[str, list[dict[str, Any]]]
Builder = Callable[[Any, int], Rows]
log = logging.getLogger("recon.collect")

# Child tables carry no raw_id: their rows go with the parent row (table, key column).
CHILDREN: dict[str, tuple[str, str]] = {
    "pos_order_lines": ("pos_orders", "order_id"),
    "pos_payments": ("pos_orders", "order_id"),
    "erp_document_lines": ("erp_documents", "doc_id"),
}
# A sweep that would delete more than this share of an entity's live records (and more
# than SWEEP_FLOOR of them) is refused: a vendor answering a wrong, empty list must not
# empty the warehouse. The run reports it; a person looks.
SWEEP_SHARE = 0.5
SWEEP_FLOOR = 10
CONFIRM_MAX = 200  # unseen records a collector may ask the vendor about before a sweep
# While a pass runs, the cyclic GC looks for garbage every GC_GEN0 allocations instead of
# Python's 700: a batch in flight is some 100,000 container objects with no cycles to find,
# and the default passes cost a fifth of the collector's CPU (recon.collectors.bench).
GC_GEN0 = 20_000
STOP_POLL = 0.05  # seconds a blocked reader waits before looking whether to stop
_gc_lock = threading.Lock()
_gc_passes = 0
_gc_saved = gc.get_threshold()


def _fewer_gc_passes(enter: bool) -> None:
    """Raise the gen-0 threshold for the first pass that starts, restore after the last."""
    global _gc_passes, _gc_saved
    with _gc_lock:
        if enter:
            if _gc_passes == 0:
                _gc_saved = gc.get_threshold()
                gc.set_threshold(max(GC_GEN0, _gc_saved[0]), *_gc_saved[1:])
            _gc_passes += 1
        else:
            _gc_passes -= 1
            if _gc_passes == 0:
                gc.set_threshold(*_gc_saved)


@dataclass
class Landed:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    deleted: int = 0  # voided in this batch, or gone from a complete pass

    def add(self, other: Landed) -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.deleted += other.deleted

    @property
    def valid(self) -> int:
        """Records that passed validation (written or skipped as unchanged)."""
        return self.new + self.changed + self.unchanged + self.deleted


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last one shorter)."""
    source = iter(items)
    while chunk := list(islice(source, size)):
        yield chunk


def read_ahead(items: Iterable[T]) -> Generator[T, None, None]:
    """`items`, read in a thread one ahead of the consumer, so fetching (waiting for the
    vendor, parsing, validating) overlaps landing.

    The reader's exception (a vendor outage) is raised here after the items before it, so
    every batch read before the outage lands. Closing this generator (`Pass` does when the
    pass ends, also after an error or Ctrl-C in the loop) stops the reader and waits for
    it: at most until the item it is reading has arrived. No thread outlives it.
    """
    ahead: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=STOP_POLL)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not hand((True, item)):
                    return
            hand((False, None))
        except BaseException as exc:  # handed to the consumer, never lost
            hand((False, exc))

    # daemon only as a safety net: a generator never closed must not hold the process at exit
    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            more, item = ahead.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        reader.join()


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size`, read one list ahead (`read_ahead`), for a loop outside a
    `Pass`: the reader stops when the generator is closed or let go."""
    return read_ahead(chunks(items, size))


class Pass:
    """One pass over an entity: totals, the vendor ids seen, and progress as it goes.

    On an interactive terminal (the stream is a TTY) one line per entity is redrawn with the
    records so far and the rate; otherwise every batch logs one line to `recon.collect`:
    `source=.. entity=.. batch=N landed=N quarantined=N elapsed_ms=N` (this batch's count
    of valid and of quarantined records, and its time: waiting for the vendor plus landing).
    Use as a context manager so the terminal line is finished even when the pass fails.
    """

    REDRAW = 0.1  # seconds between terminal redraws

    def __init__(self, source: str, entity: str, *, stream: TextIO | None = None) -> None:
        self.source, self.entity = source, entity
        self.total = Landed()
        self.seen: set[str] = set()
        self.batches = 0
        self._stream = stream if stream is not None else sys.stderr
        self._tty = _isatty(self._stream)
        self._started = self._last = self._drawn = time.perf_counter()
        self._readers: list[Generator[Any, None, None]] = []

    def __enter__(self) -> Pass:
        _fewer_gc_passes(True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for reader in self._readers:  # an error or Ctrl-C in the loop: stop reading ahead
            reader.close()
        _fewer_gc_passes(False)
        if self._tty and self.batches:
            self._draw(time.perf_counter())
            self._stream.write("\n")
            self._stream.flush()

    def read(self, batches: Iterable[T]) -> Iterator[T]:
        """`batches`, read ahead in a thread (`read_ahead`) that stops when the pass ends."""
        reader = read_ahead(batches)
        self._readers.append(reader)
        return reader

    def record(self, batch: Sequence[Fetched[Any]], landed: Landed) -> None:
        """Count one landed batch (call after its transaction committed)."""
        now = time.perf_counter()
        self.batches += 1
        self.total.add(landed)
        self.seen.update(f.key for f in batch)
        if self._tty:
            if now - self._drawn >= self.REDRAW:
                self._draw(now)
        else:
            log.info(
                "source=%s entity=%s batch=%d landed=%d quarantined=%d elapsed_ms=%d",
                self.source,
                self.entity,
                self.batches,
                landed.valid,
                landed.quarantined,
                round((now - self._last) * 1000),
            )
        self._last = now

    def _draw(self, now: float) -> None:
        self._drawn = now
        done = self.total.valid + self.total.quarantined
        rate = done / max(now - self._started, 1e-9)
        bad = f", {self.total.quarantined:,} quarantined" if self.total.quarantined else ""
        self._stream.write(
            f"\r{self.source} {self.entity}: {done:,} records{bad}, {rate:,.0f}/s\x1b[K"
        )
        self._stream.flush()

    def sweep(
        self,
        engine: Engine,
        tables: Sequence[str],
        run: RunLog,
        still_there: Callable[[list[str]], Iterable[str]] | None = None,
    ) -> int:
        """After a complete pass: see `sweep`. A vendor read by offset can shift a page
        when a record goes mid-read and so hide another one: `still_there` (the collector
        asking the vendor) is given the vendor ids this pass did not see, up to
        CONFIRM_MAX of them, and those it names are kept."""
        if still_there is not None:
            missing = unseen(engine, self.source, self.entity, self.seen)
            if 0 < len(missing) <= CONFIRM_MAX:
                self.seen.update(still_there(missing))
        gone = sweep(engine, self.source, self.entity, self.seen, tables, run)
        self.total.deleted += gone
        return gone


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def remove_rows(conn: Connection, raw_ids: Sequence[int], tables: Sequence[str]) -> None:
    """Delete the canonical rows of these raw payloads from `tables` (and their children)."""
    for start in range(0, len(raw_ids), CHUNK):
        ids = list(raw_ids[start : start + CHUNK])
        for child, (parent, key) in CHILDREN.items():
            if parent in tables:
                p = table(parent)
                keys = select(p.c[key]).where(p.c.raw_id.in_(ids))
                conn.execute(table(child).delete().where(table(child).c[key].in_(keys)))
        for name in tables:
            t = table(name)
            conn.execute(t.delete().where(t.c.raw_id.in_(ids)))


def unseen(engine: Engine, source: str, entity: str, seen: set[str]) -> list[str]:
    """Vendor ids landed before, not deleted, that are not in `seen`."""
    with engine.connect() as conn:
        live = conn.execute(
            select(RawPayload.vendor_id).where(
                RawPayload.source == source,
                RawPayload.entity == entity,
                RawPayload.deleted_at.is_(None),
            )
        ).scalars()
        return sorted(vid for vid in live if vid not in seen)


def sweep(
    engine: Engine,
    source: str,
    entity: str,
    seen: set[str],
    tables: Sequence[str],
    run: RunLog,
) -> int:
    """Mark deleted what was landed before and is not in `seen`, the vendor ids of a pass
    that read the entity completely; remove their canonical rows from `tables` (children
    follow). One transaction. Call only after the pass ended without error: a partial pass
    would delete what it did not reach. Returns how many records were marked deleted."""
    raw = table("raw_payloads")
    with engine.begin() as conn:
        live = conn.execute(
            select(RawPayload.vendor_id, RawPayload.id).where(
                RawPayload.source == source,
                RawPayload.entity == entity,
                RawPayload.deleted_at.is_(None),
            )
        ).all()
        gone = [rid for vid, rid in live if vid not in seen]
        if gone and (not seen or len(gone) > max(SWEEP_FLOOR, SWEEP_SHARE * len(live))):
            run.problem(
                f"{source} {entity}: a complete read lacked {len(gone):,} of {len(live):,}"
                " records landed before; not deleting them (check the vendor, then run"
                " --full again)"
            )
            return 0
        now = datetime.now(UTC)
        for start in range(0, len(gone), CHUNK):
            conn.execute(
                update(raw).where(raw.c.id.in_(gone[start : start + CHUNK])).values(deleted_at=now)
            )
        remove_rows(conn, gone, tables)
        stale = [  # a quarantined record that is gone is no longer a problem to fix
            qid
            for qid, vid in conn.execute(
                select(Quarantine.id, Quarantine.vendor_id).where(
                    Quarantine.source == source, Quarantine.entity == entity
                )
            )
            if vid not in seen
        ]
        delete_where_in(conn, table("quarantine"), "id", stale if seen else [])
    if gone:
        log.info("source=%s entity=%s deleted=%d", source, entity, len(gone))
    return len(gone)


ColumnProcessor = Callable[[list[Any]], list[Any]]


@dataclass(frozen=True)
class _Upsert:
    sql: str
    names: tuple[str, ...]  # parameters in statement order (positional) or by name
    processors: tuple[ColumnProcessor | None, ...]
    positional: bool


_UPSERTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], _Upsert] = {}


def _compile_upsert(
    conn: Connection, tbl: Table, cols: tuple[str, ...], keys: tuple[str, ...]
) -> _Upsert:
    """`recon.warehouse.db.upsert`'s statement for these columns, compiled once per dialect."""
    dialect = conn.dialect
    cache_key = (dialect.name, tbl.name, cols, keys)
    hit = _UPSERTS.get(cache_key)
    if hit is not None:
        return hit
    stmt = upsert_statement(dialect.name, tbl, keys, [c for c in cols if c not in keys])
    compiled = stmt.compile(dialect=dialect, column_keys=list(cols))
    names = tuple(compiled.positiontup or ()) if compiled.positional else cols
    if set(names) != set(cols):  # a statement this writer does not understand
        raise RuntimeError(f"unexpected parameters for {tbl.name}: {names}")
    processors = tuple(_column_processor(tbl.c[n].type, dialect) for n in names)
    made = _Upsert(str(compiled), names, processors, compiled.positional)
    _UPSERTS[cache_key] = made
    return made


def _column_processor(kind: TypeEngine[Any], dialect: Dialect) -> ColumnProcessor | None:
    """The column type's bind processing over a whole column (money in one pass)."""
    if isinstance(kind, ExactDecimal):
        return partial(kind.bind_column, dialect=dialect)
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    return lambda values: list(map(process, values))


def write_rows(
    conn: Connection,
    tbl: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str] | None = None,
) -> None:
    """`recon.warehouse.db.upsert` (same statement, same column types) without SQLAlchemy's
    per-row parameter work: each column's bind processor runs over the column in one pass,
    then one executemany. The landing path writes hundreds of thousands of rows."""
    if not rows:
        return
    cols = tuple(rows[0])
    key_cols = tuple(keys or [c.name for c in tbl.primary_key.columns])
    stmt = _compile_upsert(conn, tbl, cols, key_cols)
    columns: list[list[Any]] = []
    for name, process in zip(stmt.names, stmt.processors, strict=True):
        values = [row[name] for row in rows]
        columns.append(process(values) if process is not None else values)
    params: list[Any] = list(zip(*columns, strict=True))
    if not stmt.positional:
        params = [dict(zip(stmt.names, p, strict=True)) for p in params]
    conn.exec_driver_sql(stmt.sql, params)


def _where_in(
    conn: Connection, sql: str, column: str, values: Sequence[Any], *first: Any
) -> list[Any]:
    """Run `sql` + `column IN (values)` (after `first`'s parameters) in chunks, as plain
    driver SQL: SQLAlchemy renders an IN list parameter by parameter, a cost per record."""
    mark = _mark(conn)
    rows: list[Any] = []
    for start in range(0, len(values), CHUNK):
        chunk = list(values[start : start + CHUNK])
        where = f"{sql} {column} IN ({', '.join([mark] * len(chunk))})"
        result = conn.exec_driver_sql(where, (*first, *chunk))
        if result.returns_rows:
            rows.extend(result.all())
    return rows


def _of_batch(conn: Connection, what: str, tbl: str) -> str:
    mark = _mark(conn)
    return f"{what} FROM {tbl} WHERE source = {mark} AND entity = {mark} AND"


def _mark(conn: Connection) -> str:
    """The driver's positional parameter (sqlite3 `?`, psycopg `%s`)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def land(
    conn: Connection,
    source: str,
    entity: str,
    batch: Sequence[Fetched[Any]],
    build: Builder,
    replace: Mapping[str, str] | None = None,
    *,
    void: Callable[[Any], bool] | None = None,
    tables: Sequence[str] = (),
) -> tuple[Landed, list[str]]:
    """Land one batch; returns the counts and one problem line per quarantined record.

    `build(item, raw_id)` returns canonical rows per table; tables named in `replace`
    (table -> parent key column) have their rows for the batch's parents deleted first.
    A record for which `void(item)` holds is stored marked deleted and its rows are removed
    from `tables` (children follow) instead of being built. A record that validated but
    cannot be built, or whose rows do not fit their columns (`misfits`: a text longer than
    its column, a computed amount of 10^15 or more), is quarantined like one that did
    not validate: one record never stops its batch.
    """
    now = datetime.now(UTC)
    landed = Landed()
    problems: list[str] = []
    batch = [f if safe_key(f.key) == f.key else _unsafe(f) for f in batch]
    bad = [(f, f.error or "invalid record") for f in batch if f.item is None]
    good = {f.key: f for f in batch if f.item is not None}
    existing: dict[str, tuple[int, str, bool]] = {}
    if good:
        existing = {
            vid: (rid, h, deleted is not None)
            for vid, rid, h, deleted in _where_in(
                conn,
                _of_batch(conn, "SELECT vendor_id, id, payload_hash, deleted_at", "raw_payloads"),
                "vendor_id",
                list(good),
                source,
                entity,
            )
        }
    voided = {k for k, f in good.items() if void is not None and void(f.item)}
    packed = {key: canonical(f.raw) for key, f in good.items()}
    todo = [  # new, changed, or void state flipped (voided, or back after a deletion)
        k
        for k in good
        if k not in existing or existing[k][1] != packed[k][1] or existing[k][2] != (k in voided)
    ]
    built: dict[str, Rows] = {}
    for key in todo:
        if key not in voided:
            try:
                built[key] = build(good[key].item, 0)  # raw_id set below, once known
            except Exception as exc:  # a rule that cannot map this record: quarantine it
                bad.append((good.pop(key), f"cannot be mapped ({type(exc).__name__}: {exc})"))
    for key, reason in misfits(built).items():
        bad.append((good.pop(key), reason))
        del built[key]
    todo = [k for k in todo if k in good]
    for f, reason in bad:
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
                    "payload": pack(f.raw)[0],
                    "seen_at": now,
                }
            ],
            keys=["source", "entity", "vendor_id"],
        )
    landed.quarantined = len(bad)
    landed.unchanged = len(good) - len(todo)
    landed.deleted = sum(1 for k in todo if k in voided)
    landed.new = sum(1 for k in todo if k not in existing and k not in voided)
    landed.changed = len(todo) - landed.new - landed.deleted
    if not todo:
        return landed, problems
    write_rows(
        conn,
        table("raw_payloads"),
        [
            {
                "source": source,
                "entity": entity,
                "vendor_id": k,
                "payload": compress(packed[k][0]),
                "payload_hash": packed[k][1],
                "fetched_at": now,
                "deleted_at": now if k in voided else None,
            }
            for k in todo
        ],
        keys=["source", "entity", "vendor_id"],
    )
    raw_ids = {k: existing[k][0] for k in todo if k in existing}
    new = [k for k in todo if k not in existing]
    if new:
        raw_ids.update(
            (vid, rid)
            for vid, rid in _where_in(
                conn,
                _of_batch(conn, "SELECT vendor_id, id", "raw_payloads"),
                "vendor_id",
                new,
                source,
                entity,
            )
        )
    # a record that validates now leaves quarantine
    _where_in(conn, _of_batch(conn, "DELETE", "quarantine"), "vendor_id", todo, source, entity)
    gone = [raw_ids[k] for k in todo if k in voided and k in existing]
    if gone:
        remove_rows(conn, gone, tables)
    rows: Rows = {}
    for key, record_rows in built.items():
        raw_id = raw_ids[key]
        for name, values in record_rows.items():
            for row in values:
                if "raw_id" in row:
                    row["raw_id"] = raw_id
            rows.setdefault(name, []).extend(values)
    for name, key_col in (replace or {}).items():
        parents = {r[key_col] for rs in rows.values() for r in rs if key_col in r}
        _where_in(conn, f"DELETE FROM {name} WHERE", key_col, list(parents))
    for name, values in rows.items():
        write_rows(conn, table(name), values)
    return landed, problems


def _unsafe(f: Fetched[Any]) -> Fetched[Any]:
    """A record whose key (a collector's compound key) the warehouse cannot keep as it is:
    quarantined under the key made safe."""
    why = f.error or f"vendor id longer than {KEY_MAX} characters or with a NUL / surrogate"
    return Fetched(key=safe_key(f.key), raw=f.raw, item=None, error=why)


Check = tuple[str, str, Any]  # column, "text" or "number", its limit
FINDING_DIGITS = 15  # exceptions' pos_value / erp_value / difference are Decimal(18,3)


@cache
def _checks(name: str) -> tuple[Check, ...]:
    """What a table's columns hold: texts up to their length, integers within 32 or 64
    bits, decimals below 10^(p-s) and below 10^15 (the engine carries every money and
    quantity value of a finding as Decimal(18,3))."""
    out: list[Check] = []
    for col in table(name).columns:
        kind = col.type
        if isinstance(kind, ExactDecimal):
            digits = min(kind.precision - kind.scale, FINDING_DIGITS)
            out.append((col.name, "number", Decimal(10) ** digits))
        elif isinstance(kind, String) and kind.length:
            out.append((col.name, "text", kind.length))
        elif isinstance(kind, Integer):  # BIGINT is an Integer too
            out.append((col.name, "number", 2**63 if isinstance(kind, BigInteger) else 2**31))
    return tuple(out)


def _misfit(name: str, values: Sequence[Any], check: Check) -> str | None:
    """Why a column's `values` do not fit it, or None: whole columns at C speed (`max`,
    `map`, `join`); nulls are filtered out only when they are there."""
    col, kind, limit = check
    try:
        try:
            return _beyond(name, col, kind, limit, values)
        except TypeError:
            present = [v for v in values if v is not None]
            return _beyond(name, col, kind, limit, present) if present else None
    except TypeError:
        return f"{name}.{col}: not {'text' if kind == 'text' else 'a number'}"
    except ArithmeticError:  # NaN does not compare
        return f"{name}.{col}: not a finite number"


def _beyond(name: str, col: str, kind: str, limit: Any, values: Sequence[Any]) -> str | None:
    if not values:
        return None
    if kind == "text":
        if max(map(len, values)) > limit:
            return f"{name}.{col}: longer than {limit} characters"
        if "\x00" in "".join(values):
            return f"{name}.{col}: text with a NUL character"
        return None
    biggest = max(values, key=abs)
    if abs(biggest) >= limit:
        return f"{name}.{col}: {biggest} is beyond the column's limit ({limit})"
    return None


def misfits(built: Mapping[str, Rows]) -> dict[str, str]:
    """Records (key -> reason) whose rows do not fit the warehouse's columns: each column
    of the batch is checked whole, and only a column that fails is looked at per record."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for rows in built.values():
        for name, values in rows.items():
            tables.setdefault(name, []).extend(values)
    out: dict[str, str] = {}
    for name, all_rows in tables.items():
        for check in _checks(name):
            col = check[0]
            if not all_rows or col not in all_rows[0]:
                continue
            if _misfit(name, list(map(itemgetter(col), all_rows)), check) is None:
                continue
            for key, rows in built.items():
                why = _misfit(name, [r.get(col) for r in rows.get(name, ())], check)
                if why is not None and key not in out:
                    out[key] = why
    return out


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


def land_whole(
    engine: Engine,
    source: str,
    entity: str,
    fetched: Iterable[Fetched[Any]],
    build: Builder,
    run: RunLog,
    tables: Sequence[str],
    *,
    batch_size: int,
    still_there: Callable[[list[str]], Iterable[str]] | None = None,
) -> Landed:
    """Read `entity` whole (master data): every run is complete, so every run sweeps;
    `still_there` asks the vendor about the records the pass did not see before they go."""
    with Pass(source, entity) as p:
        for batch in p.read(chunks(fetched, batch_size)):
            with engine.begin() as conn:
                landed, problems = land(conn, source, entity, batch, build)
            p.record(batch, landed)
            for problem in problems:
                run.problem(problem)
    p.sweep(engine, tables, run, still_there)
    return p.total
