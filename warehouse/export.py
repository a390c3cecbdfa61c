"""Export the warehouse's canonical tables to a snapshot directory (CONTRACT "Snapshot").

One SELECT per table, read straight into Polars and written as Parquet with the CONTRACT's
types; the engine then reads the directory. PostgreSQL is read through ADBC, which hands
over Arrow columns (several times faster than Python rows). SQLite is read through the
standard library's driver: ADBC's SQLite driver carries its own copy of SQLite, and two
copies in one process on one WAL database break each other's locks. Must not change any
warehouse row.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

import snapshot
from snapshot import TABLES
from warehouse.models import CANONICAL


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


def _adbc_connection(engine: Engine) -> Any | None:
    """An ADBC connection to the warehouse, or None when the backend has no ADBC driver."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        import adbc_driver_postgresql.dbapi

        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return adbc_driver_postgresql.dbapi.connect(plain)
    return None


def frame_from_sql(engine: Engine, sql: str, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Rows of `sql` (selecting exactly `schema`'s columns, in order) as a typed frame."""
    conn = _adbc_connection(engine)
    if conn is not None:
        with conn:
            frame = pl.read_database(sql, connection=conn)
        if frame.is_empty():
            return pl.DataFrame(schema=dict(schema))
        return _to_types(frame, schema)
    with engine.connect() as sa_conn:
        rows = sa_conn.exec_driver_sql(sql).fetchall()
    if not rows:
        return pl.DataFrame(schema=dict(schema))
    frame = pl.DataFrame(rows, schema=list(schema), orient="row", infer_schema_length=None)
    return _to_types(frame, schema)


def read_table(engine: Engine, table: str) -> pl.DataFrame:
    """One canonical table as a Polars frame with the CONTRACT's columns and types."""
    schema = TABLES[table]
    sql = f"SELECT {', '.join(schema)} FROM {CANONICAL[table].__tablename__}"
    return frame_from_sql(engine, sql, schema)


def export_snapshot(engine: Engine, directory: Path) -> dict[str, int]:
    """Write every CONTRACT table to `directory`; returns rows written per table."""
    counts: dict[str, int] = {}
    for table in TABLES:
        frame = read_table(engine, table)
        snapshot.write_table(directory, table, frame)
        counts[table] = frame.height
    return counts
