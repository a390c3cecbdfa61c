"""The Overview page: drift per store-day, the headline totals, what changed since the last
reconcile, and the heatmap of store-days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, Select, false, func, select

from recon.app.filters import OWNERS, Filters
from recon.app.queries._frames import (
    _EXC_SCHEMA,
    EXCEPTION_COLUMNS,
    MONEY_AT_STAKE,
    _conditions,
    _frame,
    _store_days,
    money_at_stake,
)
from recon.app.queries.exceptions import exceptions
from recon.warehouse.models import ExceptionRow, PosOrder, Run


def _currencies() -> pl.Expr:
    """The currencies of a group's money rows, sorted and comma-joined ('' when none)."""
    return (
        pl.col("currency")
        .filter(pl.col("money_at_stake").is_not_null() & pl.col("currency").is_not_null())
        .unique()
        .sort()
        .str.join(",")
        .alias("currency")
    )


def drift_by_store_day(conn: Connection, filters: Filters) -> pl.DataFrame:
    """Exceptions per store x business day: count (finance and ops) and money at stake.

    Money at stake sums only finance kinds whose values are money; ops kinds count only.
    Exceptions without a store or a business day are left out (see `totals`).
    `currency` lists the currencies summed; more than one means the sum mixes them.
    """
    frame = exceptions(conn, filters).filter(
        pl.col("store").is_not_null() & pl.col("business_day").is_not_null()
    )
    return (
        frame.with_columns(money_at_stake())
        .group_by("store", "business_day")
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            (pl.col("owner") == "finance").sum().cast(pl.Int64).alias("finance"),
            (pl.col("owner") == "ops").sum().cast(pl.Int64).alias("ops"),
            pl.col("money_at_stake").sum().cast(MONEY_AT_STAKE),
            _currencies(),
        )
        .sort("store", "business_day")
    )


@dataclass(frozen=True)
class Totals:
    """Headline numbers for the filtered exceptions."""

    count: int
    by_owner: dict[str, int]
    money_by_currency: dict[str, Decimal]
    without_store_day: int


def totals(conn: Connection, filters: Filters) -> Totals:
    frame = exceptions(conn, filters).with_columns(money_at_stake())
    by_owner = {owner: frame.filter(pl.col("owner") == owner).height for owner in OWNERS}
    money = (
        frame.filter(pl.col("money_at_stake").is_not_null())
        .with_columns(pl.col("currency").fill_null("?"))
        .group_by("currency")
        .agg(pl.col("money_at_stake").sum())
        .sort("currency")
    )
    loose = frame.filter(pl.col("store").is_null() | pl.col("business_day").is_null()).height
    return Totals(
        count=frame.height,
        by_owner=by_owner,
        money_by_currency={str(c): Decimal(v) for c, v in money.iter_rows()},
        without_store_day=loose,
    )


@dataclass(frozen=True, eq=False)
class RunChanges:
    """Exceptions first seen, and resolved, since the last finished reconcile run began."""

    run_started_at: datetime | None
    new: pl.DataFrame
    resolved: pl.DataFrame


def _last_reconcile_start(conn: Connection) -> datetime | None:
    stmt = (
        select(Run.started_at)
        .where(
            Run.job == "reconcile",
            Run.finished_at.is_not(None),
            Run.status.not_in(("failed", "abandoned")),
        )
        .order_by(Run.started_at.desc())
        .limit(1)
    )
    return conn.execute(stmt).scalar_one_or_none()


def changes_since_last_run(conn: Connection, filters: Filters) -> RunChanges:
    """New and resolved exceptions of the last reconcile run, within the filters' scope.

    The filters' status is ignored (new ones may be closed already). Without any
    finished reconcile run, "new" is the exceptions whose status is new. Selected in
    SQL, so a warehouse with a long history reads only what changed.
    """
    t = ExceptionRow
    scope = _conditions(replace(filters, status="all"))
    started = _last_reconcile_start(conn)
    cols = [t.__table__.c[name] for name in EXCEPTION_COLUMNS]
    order = (t.business_day.desc().nulls_last(), t.store, t.kind, t.id)

    def rows(*where: ColumnElement[bool]) -> pl.DataFrame:
        stmt = select(*cols).where(*scope, *where).order_by(*order)
        return _frame(conn, stmt, _EXC_SCHEMA)

    if started is None:
        return RunChanges(None, rows(t.status == "new"), rows(false()))
    return RunChanges(
        started,
        rows(t.first_seen >= started),
        rows(t.status == "resolved", t.resolved_at >= started),
    )


def pos_activity(conn: Connection, filters: Filters) -> pl.DataFrame:
    """POS orders per store x business day (any state), for the stores and days filtered."""
    t = PosOrder
    stmt: Select[Any] = (
        select(t.store_id.label("store"), t.business_day, func.count().label("orders"))  # type: ignore[assignment]
        .where(_store_days(t, t.store_id, filters))
        .group_by(t.store_id, t.business_day)
    )
    schema = {"store": pl.String(), "business_day": pl.Date(), "orders": pl.Int64()}
    return _frame(conn, stmt, schema)


def heatmap_cells(conn: Connection, filters: Filters) -> pl.DataFrame:
    """Every store x day with POS orders or exceptions: orders, exception counts, money.

    A store-day with orders and no exception is a row with count 0 (a clean day).
    """
    drift = drift_by_store_day(conn, filters)
    activity = pos_activity(conn, filters)
    return (
        activity.join(drift, on=["store", "business_day"], how="full", coalesce=True)
        .with_columns(
            pl.col("orders", "count", "finance", "ops").fill_null(0),
            pl.col("money_at_stake").fill_null(Decimal(0)),
            pl.col("currency").fill_null(""),
        )
        .select("store", "business_day", "orders", *drift.columns[2:])
        .sort("store", "business_day")
    )
