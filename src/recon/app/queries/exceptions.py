"""The Exceptions page: the filtered exceptions, one exception with its audit trail and
order chain, and the open ones by age.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, select, true

from recon.app.filters import Filters
from recon.app.queries._frames import (
    _EXC_SCHEMA,
    EXCEPTION_COLUMNS,
    MONEY_AT_STAKE,
    _conditions,
    _frame,
    _table,
    money_at_stake,
)
from recon.reconcile import store_day_ref
from recon.snapshot.schema import INSTANT
from recon.warehouse.chain import OrderChain, order_chain
from recon.warehouse.models import ExceptionEvent, ExceptionRow


def exceptions(conn: Connection, filters: Filters) -> pl.DataFrame:
    """The exceptions the filters keep: CONTRACT fields plus assignee and resolved_at.

    Newest business day first, then store, kind and id (a stable order for tables).
    """
    t = ExceptionRow
    cols = [t.__table__.c[name] for name in EXCEPTION_COLUMNS]
    stmt = (
        select(*cols)
        .where(and_(true(), *_conditions(filters)))
        .order_by(t.business_day.desc().nulls_last(), t.store, t.kind, t.id)
    )
    return _frame(conn, stmt, _EXC_SCHEMA)


@dataclass(frozen=True, eq=False)
class ExceptionDetail:
    exception: dict[str, Any]
    events: pl.DataFrame
    chain: OrderChain


def exception_detail(conn: Connection, exception_id: str) -> ExceptionDetail | None:
    """The exception, its audit trail (oldest first) and its order chain; None if unknown."""
    found = exceptions_by_id(conn, [exception_id])
    if found.is_empty():
        return None
    exc = found.row(0, named=True)
    events = _table(
        conn,
        ExceptionEvent,
        ExceptionEvent.exception_id == exception_id,
        order_by=[ExceptionEvent.at, ExceptionEvent.id],
    )
    store_day = None
    if exc["store"] and exc["business_day"] and not exc["pos_ref"]:
        store_day = store_day_ref(exc["store"], exc["business_day"])
    chain = order_chain(conn, exc["pos_ref"], exc["erp_ref"], [store_day] if store_day else [])
    return ExceptionDetail(exception=exc, events=events, chain=chain)


def exceptions_by_id(conn: Connection, ids: Sequence[str]) -> pl.DataFrame:
    t = ExceptionRow
    cols = [t.__table__.c[name] for name in EXCEPTION_COLUMNS]
    return _frame(conn, select(*cols).where(t.id.in_(list(ids))), _EXC_SCHEMA)


AGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("0-1 d", 1),
    ("2-3 d", 3),
    ("4-7 d", 7),
    ("8-30 d", 30),
    (">30 d", 10**6),
)


def ageing(conn: Connection, filters: Filters, now: datetime | None = None) -> pl.DataFrame:
    """Open exceptions by owner, kind and age (whole days since first seen, in AGE_BUCKETS),
    with their count and money at stake per currency. The filters apply, but for status
    (always open). Owners, then kinds, then buckets youngest first; empty buckets left out.
    """
    now = now or datetime.now(UTC)
    frame = exceptions(conn, replace(filters, status="open")).with_columns(money_at_stake())
    days = (pl.lit(now, dtype=INSTANT) - pl.col("first_seen")).dt.total_days()
    bucket: Any = pl.when(days <= AGE_BUCKETS[0][1]).then(pl.lit(AGE_BUCKETS[0][0]))
    for label, limit in AGE_BUCKETS[1:]:
        bucket = bucket.when(days <= limit).then(pl.lit(label))
    order = {label: i for i, (label, _) in enumerate(AGE_BUCKETS)}
    return (
        frame.with_columns(bucket.alias("age"), pl.col("currency").fill_null(""))
        .group_by("owner", "kind", "age", "currency")
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.when(pl.col("money_at_stake").count() > 0)  # null for kinds without money
            .then(pl.col("money_at_stake").sum())
            .cast(MONEY_AT_STAKE),
            days.max().cast(pl.Int64).alias("oldest_days"),
        )
        .with_columns(pl.col("age").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("owner", "kind", "_o", "currency")
        .drop("_o")
        .select("owner", "kind", "age", "count", "money_at_stake", "currency", "oldest_days")
    )
