"""Warehouse rows as typed Polars frames: a model's columns with their Polars dtypes.

Money stays Decimal (Polars Decimal columns), instants UTC, days dates. Read-only helpers
for the readers above the warehouse (the dashboard's queries, the order chain); nothing
here writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Date,
    Integer,
    LargeBinary,
    Select,
    select,
)
from sqlalchemy.orm import DeclarativeBase

from recon.snapshot.schema import INSTANT
from recon.warehouse.types import ExactDecimal, UTCDateTime

__all__ = ["frame_of", "rows_of", "schema_of"]


def _dtype(column_type: Any) -> pl.DataType:
    if isinstance(column_type, ExactDecimal):
        return pl.Decimal(column_type.precision, column_type.scale)
    if isinstance(column_type, UTCDateTime):
        return INSTANT
    if isinstance(column_type, Date):
        return pl.Date()
    if isinstance(column_type, Boolean):
        return pl.Boolean()
    if isinstance(column_type, Integer):
        return pl.Int64()
    if isinstance(column_type, LargeBinary):
        return pl.Binary()
    return pl.String()


def schema_of(model: type[DeclarativeBase], skip: Sequence[str] = ()) -> dict[str, pl.DataType]:
    """The Polars schema of a model's table, column by column (money stays Decimal)."""
    return {c.name: _dtype(c.type) for c in model.__table__.columns if c.name not in skip}


def frame_of(
    conn: Connection, stmt: Select[Any], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """The rows `stmt` selects, as a frame of `schema` (its columns in the select's order)."""
    rows = [dict(row) for row in conn.execute(stmt).mappings()]
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def rows_of(
    conn: Connection,
    model: type[DeclarativeBase],
    where: ColumnElement[bool],
    order_by: Sequence[Any] = (),
    skip: Sequence[str] = (),
) -> pl.DataFrame:
    """Every column of `model`'s rows but `skip` that `where` keeps, in `order_by` order."""
    schema = schema_of(model, skip)
    cols = [model.__table__.c[name] for name in schema]
    return frame_of(conn, select(*cols).where(where).order_by(*order_by), schema)
