"""What every dashboard query stands on: typed Polars frames from model rows, exact money
sums in SQL, the day / store / exception filters as SQL conditions, and money at stake.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    and_,
    cast,
    func,
    true,
)

from recon.app.filters import MONEY_KINDS, Filters
from recon.snapshot.schema import EXCEPTION_FIELDS
from recon.warehouse.frames import frame_of, rows_of
from recon.warehouse.frames import schema_of as schema_of
from recon.warehouse.models import ExceptionRow

# The typed frames of model rows are the warehouse's (`recon.warehouse.frames`), shared with
# the order chain; the queries here call them by their short private names.
_frame = frame_of
_table = rows_of


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
