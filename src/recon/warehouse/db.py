"""Opening the warehouse: engine (SQLite in WAL mode, or PostgreSQL), migrations, upserts.

Opening never migrates: `upgrade` (`recon db upgrade`) brings a schema up to date, on purpose;
`open_warehouse` gives a new, empty database its schema (that is creating the warehouse) and
refuses one whose schema is behind, in one line naming `recon db upgrade`.
Every writer goes through `upsert`, keyed by natural ids, so any step can be re-run.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import zstandard
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic_core import to_json
from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

from recon.config import ConfigError
from recon.warehouse.models import Base

MIGRATIONS = Path(__file__).parent / "migrations"
CHUNK = 500


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            where = f"RECON_WAREHOUSE_URL: cannot create {path.parent}"
            raise ConfigError(f"{where}: {exc.strerror}") from None
        _create_private(path)
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except Exception as exc:  # bad URL form, missing driver
        raise ConfigError(f"RECON_WAREHOUSE_URL: {exc}") from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def _create_private(path: Path) -> None:
    """Create a new SQLite warehouse file readable by its owner only (0600): it holds raw
    payloads with customers' e-mails. SQLite gives its -wal and -shm files the database
    file's mode. An existing file keeps the mode it has."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigError(f"RECON_WAREHOUSE_URL: cannot create {path}: {exc.strerror}") from None


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    url = engine.url.render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


# Alembic's environment loading swaps module globals, so two threads of one process (the
# scheduler's jobs) must not run it at once, even when there is nothing to upgrade.
_MIGRATING = threading.Lock()


def migrate(engine: Engine) -> None:
    """Bring the warehouse schema to the newest Alembic revision."""
    with _unreachable(engine), _MIGRATING, engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def _unreachable(engine: Engine) -> Iterator[None]:
    """A database that cannot be reached or read is a configuration error, in one line."""
    try:
        yield
    except OperationalError as exc:
        host = engine.url.host or engine.url.database
        said = " ".join(str(exc.orig).split())  # the driver's text spans several lines
        raise ConfigError(
            f"cannot open the warehouse at {host} (check RECON_WAREHOUSE_URL): {said}"
        ) from None


@cache
def newest_revision() -> str | None:
    """The head of the migrations shipped with this version of recon."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def revision(engine: Engine) -> str | None:
    """The warehouse's schema revision (None: no schema yet)."""
    with _unreachable(engine), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str) -> tuple[str | None, str | None]:
    """`recon db upgrade`: the warehouse at `url` brought to the newest schema (created when
    new). Returns the revisions before and after."""
    engine = make_engine(url)
    try:
        before = revision(engine)
        migrate(engine)
        return before, revision(engine)
    finally:
        engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite warehouse URL (None for an in-memory one or another database)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    return None


def exists(url: str) -> bool:
    """False only for a SQLite warehouse whose file is not there yet."""
    path = sqlite_path(url)
    return path is None or path.exists()


@dataclass(frozen=True, eq=False)
class Warehouse:
    """The process's one handle on the warehouse at `url`: its Engine (the connection pool
    every job, command and dashboard page of this process shares), from `open_warehouse`."""

    url: str
    engine: Engine

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection reading one consistent state, the whole block long: on PostgreSQL a
        REPEATABLE READ, READ ONLY transaction (one snapshot, taken at its first query); on
        SQLite a read transaction, which WAL keeps on the state of its first read. What
        commits meanwhile is seen by the next block."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                ).begin()
            else:
                conn.exec_driver_sql("BEGIN")  # pysqlite would begin only before a write
            try:
                yield conn
            finally:
                conn.rollback()

    def close(self) -> None:
        """Dispose of the pool and forget this warehouse (the next open makes a new one)."""
        with _OPENING:
            if _OPEN.get(self.url) is self:
                del _OPEN[self.url]
        self.engine.dispose()


_OPEN: dict[str, Warehouse] = {}
_OPENING = threading.Lock()


def open_warehouse(url: str, *, create: bool = True) -> Warehouse:
    """The warehouse at `url`, one object per URL per process: opened the first time it is
    asked for, then the same one (disposed of at exit). Never migrated. With `create` a
    new, empty database is given the schema; a schema that is behind is a ConfigError
    naming `recon db upgrade`. With `create=False` a SQLite file that does not exist yet is
    a ConfigError, and nothing (no file, no directory) is made."""
    if not create and not exists(url):
        raise ConfigError(
            f"no warehouse at {sqlite_path(url)}: run `recon mappings import FILE` first "
            "(or check RECON_WAREHOUSE_URL)"
        )
    with _OPENING:
        hit = _OPEN.get(url)
        if hit is None:
            hit = _OPEN[url] = Warehouse(url, _checked_engine(url, create=create))
        return hit


def close_warehouses() -> None:
    """Dispose of every warehouse this process opened (at exit; between tests)."""
    with _OPENING:
        opened = list(_OPEN.values())
        _OPEN.clear()
    for each in opened:
        each.engine.dispose()


atexit.register(close_warehouses)


def _checked_engine(url: str, *, create: bool) -> Engine:
    engine = make_engine(url)
    current, newest = revision(engine), newest_revision()
    if current == newest:
        return engine
    if create and current is None and not _has_tables(engine):
        migrate(engine)  # a new warehouse: created, not migrated
        return engine
    engine.dispose()
    raise ConfigError(
        f"the warehouse schema is behind (revision {current or 'none'}, this recon needs "
        f"{newest}): run `recon db upgrade`"
    )


def _has_tables(engine: Engine) -> bool:
    with _unreachable(engine):
        return bool(inspect(engine).get_table_names())


def table(name: str) -> Table:
    return Base.metadata.tables[name]


# The dialects the warehouse runs on: each has its own INSERT ... ON CONFLICT.
_INSERTS: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def upsert_statement(
    dialect: str,
    tbl: Table,
    keys: Sequence[str],
    update: Iterable[str] = (),
    *,
    also: Mapping[str, Any] | None = None,
    where: Callable[[Any], ColumnElement[bool]] | None = None,
    returning: Sequence[ColumnElement[Any]] = (),
) -> Insert:
    """The one INSERT ... ON CONFLICT (`keys`) every writer uses. With nothing to update it
    does nothing; else it sets each `update` column to the offered row's value and each
    `also` column to its expression (`tbl.c.attempts + 1`), only where `where(excluded)`
    holds; `returning` columns come back from the rows written. Built per dialect: SQLite and
    PostgreSQL; another is a ConfigError."""
    make = _INSERTS.get(dialect)
    if make is None:
        raise ConfigError(
            f"RECON_WAREHOUSE_URL: the warehouse runs on {' or '.join(_INSERTS)}, not {dialect}"
        )
    stmt = make(tbl)
    sets: dict[str, Any] = {c: stmt.excluded[c] for c in update} | dict(also or {})
    done: Insert
    if sets:
        done = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_=sets,
            where=where(stmt.excluded) if where is not None else None,
        )
    else:
        done = stmt.on_conflict_do_nothing(index_elements=list(keys))
    return done.returning(*returning) if returning else done


def upsert(
    conn: Connection,
    tbl: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str] | None = None,
) -> int:
    """Insert rows, replacing the non-key columns of rows whose key exists. Returns count."""
    if not rows:
        return 0
    keys = list(keys or [c.name for c in tbl.primary_key.columns])
    updates = [c for c in rows[0] if c not in keys]
    # One compiled statement, executed for many rows (SQLAlchemy batches the VALUES).
    conn.execute(upsert_statement(conn.dialect.name, tbl, keys, updates), list(rows))
    return len(rows)


def delete_where_in(conn: Connection, tbl: Table, column: str, values: Iterable[Any]) -> None:
    """Delete the rows whose `column` is in `values` (child lines before a re-load)."""
    vals = list(values)
    for start in range(0, len(vals), CHUNK):
        conn.execute(tbl.delete().where(tbl.c[column].in_(vals[start : start + CHUNK])))


MAX_NOTE = 10_000  # characters of a comment, reason or note a person writes


def text_problem(text: str, longest: int | None = None) -> str | None:
    """Why `text` cannot be stored or looked up on every backend, else None: PostgreSQL
    refuses a NUL in text, and no driver encodes a lone surrogate (argv bytes that are not
    UTF-8 arrive as one); and, with `longest`, more characters than that."""
    if longest is not None and len(text) > longest:
        return f"more than {longest} characters"
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a character that is not UTF-8 text (a lone surrogate)"
    return None


def canonical(payload: Any) -> tuple[bytes, str]:
    """A payload as the JSON text the warehouse stores, and that text's hash.

    Keys stay in the vendor's order (a vendor serialises one record type the same way every
    time; were it to reorder, the record is only rewritten once as "changed"), text is
    UTF-8, `Decimal` is written as a string, anything else unknown by `str`. Serialised by
    pydantic-core in Rust: the collectors hash every record they read."""
    text = to_json(payload, fallback=str)
    return text, hashlib.sha1(text).hexdigest()


def pack(payload: Any) -> tuple[bytes, str]:
    """A payload as compressed canonical JSON, and its hash (to skip unchanged records)."""
    text, digest = canonical(payload)
    return compress(text), digest


# Zstandard at level 1: zlib's ratio on a 2 KB order at a third of its time (a 1M-order
# collect compresses a million payloads). One compressor per thread: they are not shared.
_ZSTD = threading.local()
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def compress(text: bytes) -> bytes:
    made: zstandard.ZstdCompressor | None = getattr(_ZSTD, "compressor", None)
    if made is None:
        made = _ZSTD.compressor = zstandard.ZstdCompressor(level=1)
    return made.compress(text)


def unpack(blob: bytes) -> Any:
    """The payload `pack` stored; blobs written before Zstandard are zlib."""
    if blob[:4] == _ZSTD_MAGIC:
        return json.loads(zstandard.ZstdDecompressor().decompress(blob))
    return json.loads(zlib.decompress(blob))


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("pos_orders")
