"""What every dashboard query stands on: typed Polars frames from model rows, exact money
sums in SQL, the day / store / exception filters as SQL conditions, and money at stake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Date,
    Float,
    Integer,
    LargeBinary,
    Select,
    and_,
    cast,
    func,
    select,
    true,
)
from sqlalchemy.orm import DeclarativeBase

from recon.app.filters import MONEY_KINDS, Filters
from recon.snapshot.schema import EXCEPTION_FIELDS, INSTANT
from recon.warehouse.models import ExceptionRow
from recon.warehouse.types import ExactDecimal, UTCDateTime


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


def _frame(conn: Connection, stmt: Select[Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    rows = [dict(row) for row in conn.execute(stmt).mappings()]
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def _table(
    conn: Connection,
    model: type[DeclarativeBase],
    where: ColumnElement[bool],
    order_by: Sequence[Any] = (),
    skip: Sequence[str] = (),
) -> pl.DataFrame:
    schema = schema_of(model, skip)
    cols = [model.__table__.c[name] for name in schema]
    return _frame(conn, select(*cols).where(where).order_by(*order_by), schema)


MONEY_AT_STAKE = pl.Decimal(38, 2)  # money: two decimals (pos_value etc. are 3: quantities too)


MONEY = pl.Decimal(18, 2)


def _units(conn: Connection, column: Any, scale: int = 2) -> ColumnElement[Any]:
    """SUM of a Decimal column in integer units of 10^-scale, exact on both backends.

    SQLite keeps money as TEXT: each value becomes a float and is rounded back to whole
    cents before summing, which is exact for any money value below 10^13.
    """
    factor = 10**scale
    value = cast(column, Float) if conn.dialect.name == "sqlite" else column
    return func.sum(cast(func.round(value * factor), BigInteger))


def _from_units(value: Any, scale: int = 2) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-scale)


def _days(column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.date_from is not None:
        where.append(column >= filters.date_from)
    if filters.date_to is not None:
        where.append(column <= filters.date_to)
    return where


def _store_days(model: Any, store_column: Any, filters: Filters) -> ColumnElement[bool]:
    where = _days(model.business_day, filters)
    if filters.stores:
        where.append(store_column.in_(filters.stores))
    return and_(true(), *where)


EXCEPTION_COLUMNS: tuple[str, ...] = (*EXCEPTION_FIELDS, "assignee", "resolved_at")


_EXC_SCHEMA: dict[str, pl.DataType] = {
    name: schema_of(ExceptionRow)[name] for name in EXCEPTION_COLUMNS
}


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    t = ExceptionRow
    where: list[ColumnElement[bool]] = []
    if filters.date_from is not None:
        where.append(t.business_day >= filters.date_from)
    if filters.date_to is not None:
        where.append(t.business_day <= filters.date_to)
    if filters.stores:
        where.append(t.store.in_(filters.stores))
    if filters.kinds:
        where.append(t.kind.in_(filters.kinds))
    if filters.owner is not None:
        where.append(t.owner == filters.owner)
    statuses = filters.statuses()
    if statuses is not None:
        where.append(t.status.in_(statuses))
    return where


def money_at_stake() -> pl.Expr:
    """abs(difference), else abs(pos_value), else abs(erp_value); null for non-money kinds.

    Each problem counts once: a money difference that follows from another exception
    (cause `explained_by_...`, e.g. the tender variance of a store-day whose sale is held)
    is that exception's money again, so it counts 0 here.
    """
    value = pl.coalesce(pl.col("difference"), pl.col("pos_value"), pl.col("erp_value")).abs()
    explained = pl.col("cause").fill_null("").str.starts_with("explained_by_")
    return (
        pl.when(pl.col("kind").is_in(sorted(MONEY_KINDS)) & explained)
        .then(pl.lit(0))
        .when(pl.col("kind").is_in(sorted(MONEY_KINDS)))
        .then(value)
        .otherwise(None)
        .cast(MONEY_AT_STAKE)
        .alias("money_at_stake")
    )
