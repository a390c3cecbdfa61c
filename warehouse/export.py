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

import sqlite3
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

import snapshot
from snapshot import TABLES
from warehouse.models import CANONICAL

WORKERS = 2
WINDOW = 250_000  # SQLite rows joined into one text (SQLite caps a text at 1 GB)
_FIELD, _ROW, _NULL = "\x1f", "\x1e", "\x15"


def _to_types(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Cast what the DB driver returned (text money on SQLite, naive instants) to `schema`."""
    exprs: list[pl.Expr] = []
    for name, dtype in schema.items():
        col = pl.col(name)
        have = frame.schema[name]
        if isinstance(have, pl.Extension):  # PostgreSQL NUMERIC over ADBC: text storage
            col = col.ext.storage()
            have = pl.String()
        if have == pl.String() and dtype == snapshot.INSTANT:
            col = col.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", time_zone="UTC")
        elif have == pl.String() and dtype == snapshot.DAY:
            col = col.str.to_date()
        elif isinstance(have, pl.Datetime) and have.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        exprs.append(col.cast(dtype).alias(name))
    return frame.select(exprs)


def _sqlite_table(engine: Engine, name: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """One SQLite table, a window of rows at a time, as a frame of text and integers."""
    columns = list(schema)
    # integers (and 0/1 booleans) parse as integers, the rest stays text for `_to_types`
    wire = {
        c: pl.Int64() if d in (pl.Int64(), pl.Boolean()) else pl.String() for c, d in schema.items()
    }
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
                found = conn.execute(
                    f"SELECT {', '.join(columns)} FROM {name} WHERE {window}", bounds
                )
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
    name = CANONICAL[table].__tablename__
    if engine.dialect.name == "sqlite":
        frame = _sqlite_table(engine, name, schema)
    else:
        conn = _adbc_connection(engine)
        with conn:
            frame = pl.read_database(f"SELECT {', '.join(schema)} FROM {name}", connection=conn)
        if frame.is_empty():
            return pl.DataFrame(schema=dict(schema))
    return _to_types(frame, schema)


def _export(engine: Engine, directory: Path, table: str) -> int:
    frame = read_table(engine, table)
    snapshot.write_table(directory, table, frame)
    return frame.height


def export_snapshot(engine: Engine, directory: Path) -> dict[str, int]:
    """Write every CONTRACT table to `directory`; returns rows written per table."""
    biggest_first = sorted(TABLES, key=lambda t: t != "pos_order_lines")
    with ThreadPoolExecutor(WORKERS) as pool:
        done = {t: pool.submit(_export, engine, directory, t) for t in biggest_first}
    return {table: done[table].result() for table in TABLES}
