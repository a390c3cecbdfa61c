"""Export the warehouse's canonical tables to a snapshot directory (CONTRACT "Snapshot").

One read per table, straight into Polars, written as Parquet with the CONTRACT's types; the
engine then reads the directory. Tables are read and written two at a time (the drivers
and Polars work outside the GIL). PostgreSQL is read through ADBC, which hands over Arrow
columns. SQLite is read through the standard library's driver (ADBC's SQLite driver carries
its own copy of SQLite, and two copies in one process on one WAL database break each
other's locks), without Python ever holding a row: SQLite joins each window of rows into
one text (fields split by the ASCII unit separator, rows by the record separator, NULL as
NAK) and Polars parses it; a window whose text holds one of those characters is read row by
row instead. Each table is read in one transaction. Must not change any warehouse row.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine, select

from recon import snapshot
from recon.snapshot import TABLES
from recon.warehouse.db import unpack
from recon.warehouse.models import CANONICAL, MapSetting, Quarantine

log = logging.getLogger(__name__)

WORKERS = 2
# The key a warning names for a row left out (default: the table's first column).
_KEYS: dict[str, list[str]] = {
    "pos_order_lines": ["order_id", "line_no"],
    "pos_payments": ["order_id", "payment_no"],
    "erp_document_lines": ["doc_id", "line_no"],
    "pos_stock": ["location", "sku"],
    "erp_stock": ["location", "sku"],
}
# The warehouse table each snapshot table is read from (pos_quarantine is built apart).
_SOURCE = {
    **{name: model.__tablename__ for name, model in CANONICAL.items()},
    "map_settings": MapSetting.__tablename__,
}
WINDOW = 250_000  # SQLite rows joined into one text (SQLite caps a text at 1 GB)
_FIELD, _ROW, _NULL = "\x1f", "\x1e", "\x15"


def _to_types(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Cast what the DB driver returned (text on SQLite, naive instants) to the table's
    CONTRACT types. A row with a value that does not fit its type (text that is no number,
    money beyond Decimal(18,2), ...) is left out, with one warning line naming the table,
    the row's key and the column: the engine must be able to read every value written."""
    schema = TABLES[table]
    exprs: list[pl.Expr] = []
    for name, dtype in schema.items():
        col = pl.col(name)
        have = frame.schema[name]
        if isinstance(have, pl.Extension):  # PostgreSQL NUMERIC over ADBC: text storage
            col = col.ext.storage()
            have = pl.String()
        if have == pl.String() and dtype == snapshot.INSTANT:
            col = col.str.to_datetime(
                "%Y-%m-%d %H:%M:%S%.f", time_unit="us", time_zone="UTC", strict=False
            )
        elif have == pl.String() and dtype == snapshot.DAY:
            col = col.str.to_date(strict=False)
        elif have == pl.String() and dtype == pl.Boolean():  # SQLite stores 0 / 1
            col = col.cast(pl.Int64, strict=False)
        elif isinstance(have, pl.Datetime) and have.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        exprs.append(col.cast(dtype, strict=False).alias(name))
    typed = frame.select(exprs)
    lost = [
        (frame.get_column(c).is_not_null() & typed.get_column(c).is_null()).alias(c) for c in schema
    ]
    bad = pl.DataFrame(lost).select(pl.any_horizontal(pl.all())).to_series()
    if not bad.any():
        return typed
    keys = _KEYS.get(table, list(schema)[:1])
    for row, raw in zip(
        pl.DataFrame(lost).filter(bad).iter_rows(named=True),
        frame.filter(bad).iter_rows(named=True),
        strict=True,
    ):
        column = next(c for c, lost_here in row.items() if lost_here)
        key = ", ".join(f"{k}={raw[k]!r}" for k in keys)
        log.warning(
            "export: %s %s: %s %r does not fit %s; row left out of the snapshot",
            table,
            key,
            column,
            raw[column],
            schema[column],
        )
    return typed.filter(bad.not_())


def _sqlite_table(engine: Engine, name: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """One SQLite table, a window of rows at a time, as a frame of text and integers."""
    columns = list(schema)
    # every value as text for `_to_types` (SQLite keeps whatever a writer gave a column)
    wire = {c: pl.String() for c in schema}
    fields = ", ".join(f"ifnull({c}, char(21))" for c in columns)
    line = f"printf('{_FIELD.join(['%s'] * len(columns))}', {fields})"  # one text per row
    window = "rowid >= ? AND rowid < ?"
    frames: list[pl.DataFrame] = []
    pooled = engine.raw_connection()
    conn = pooled.driver_connection
    assert isinstance(conn, sqlite3.Connection)
    try:
        conn.execute("BEGIN")  # one snapshot for every window of the table
        low, high = conn.execute(f"SELECT min(rowid), max(rowid) FROM {name}").fetchone()
        for start in range(low or 0, (high or -1) + 1, WINDOW):
            bounds = (start, start + WINDOW)
            rows, text = conn.execute(
                f"SELECT count(*), group_concat({line}, char(30)) FROM {name} WHERE {window}",
                bounds,
            ).fetchone()
            if not rows:
                continue
            if text.count(_FIELD) + text.count(_ROW) == rows * len(columns) - 1:
                frames.append(
                    pl.read_csv(
                        text.encode(),
                        has_header=False,
                        new_columns=columns,
                        schema=wire,
                        separator=_FIELD,
                        eol_char=_ROW,
                        quote_char=None,
                        null_values=_NULL,
                        empty_string_is_null=False,
                    )
                )
            else:  # a value holds a separator: this window row by row
                texts = ", ".join(f"CAST({c} AS TEXT)" for c in columns)
                found = conn.execute(f"SELECT {texts} FROM {name} WHERE {window}", bounds)
                frames.append(pl.DataFrame(found.fetchall(), schema=wire, orient="row"))
    finally:
        conn.rollback()  # nothing was written: just end the read
        pooled.close()
    return pl.concat(frames) if frames else pl.DataFrame(schema=wire)


def _adbc_connection(engine: Engine) -> Any:
    """An ADBC connection to the (PostgreSQL) warehouse."""
    import adbc_driver_postgresql.dbapi

    plain = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return adbc_driver_postgresql.dbapi.connect(plain)


def read_table(engine: Engine, table: str) -> pl.DataFrame:
    """One canonical table as a Polars frame with the CONTRACT's columns and types."""
    schema = TABLES[table]
    name = _SOURCE[table]
    if engine.dialect.name == "sqlite":
        frame = _sqlite_table(engine, name, schema)
    else:
        conn = _adbc_connection(engine)
        with conn:
            frame = pl.read_database(f"SELECT {', '.join(schema)} FROM {name}", connection=conn)
        if frame.is_empty():
            return pl.DataFrame(schema=dict(schema))
    return _to_types(frame, table)


def _day_of_sale(payload: Any) -> date | None:
    """The business day of a raw Sitoo order: its `orderdate` in its `pos-timezone`."""
    when = payload.get("orderdate")
    zone = (payload.get("additionaldata") or {}).get("pos-timezone")
    if not isinstance(when, int | float) or not isinstance(zone, str):
        return None
    return datetime.fromtimestamp(when, ZoneInfo(zone)).date()


def read_quarantine(engine: Engine) -> pl.DataFrame:
    """The POS orders the collector quarantined (`pos_quarantine`): order id and reason, and
    the business day when the raw payload gives it (its `orderdate` and `pos-timezone`).
    The store stays null: a Sitoo order names its warehouse, which only the Sitoo API maps
    to a store. A payload that cannot be read gives nulls, never an error."""
    q = Quarantine
    query = select(q.vendor_id, q.reason, q.payload).where(
        q.source == "sitoo", q.entity == "orders"
    )
    rows: list[tuple[str, None, date | None, str]] = []
    with engine.connect() as conn:
        for vendor_id, reason, blob in conn.execute(query):
            try:
                day = _day_of_sale(unpack(blob))
            except Exception:  # best effort: an unreadable payload only loses the day
                day = None
            rows.append((vendor_id, None, day, reason))
    return pl.DataFrame(rows, schema=TABLES["pos_quarantine"], orient="row")


def _export(engine: Engine, directory: Path, table: str) -> int:
    frame = read_quarantine(engine) if table == "pos_quarantine" else read_table(engine, table)
    snapshot.write_table(directory, table, frame)
    return frame.height


def export_snapshot(engine: Engine, directory: Path) -> dict[str, int]:
    """Write every CONTRACT table to `directory`; returns rows written per table."""
    biggest_first = sorted(TABLES, key=lambda t: t != "pos_order_lines")
    with ThreadPoolExecutor(WORKERS) as pool:
        done = {t: pool.submit(_export, engine, directory, t) for t in biggest_first}
    return {table: done[table].result() for table in TABLES}
