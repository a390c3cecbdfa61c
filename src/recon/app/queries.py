"""Read-only queries behind the dashboard: warehouse rows in, typed Polars frames out.

Plain functions of a SQLAlchemy `Engine` and a `Filters`, so they are tested without
Streamlit. Money stays Decimal (Polars Decimal columns). Nothing here writes to the
warehouse (workflow actions live in `recon.app.workflow`) or knows about widgets.

Over 600 lines, kept as one module because it holds one concern: the dashboard's read-only
queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    Float,
    Select,
    and_,
    cast,
    false,
    func,
    select,
    true,
)
from sqlalchemy.orm import DeclarativeBase

from recon.app.filters import MONEY_KINDS, OWNERS, Filters
from recon.snapshot.schema import EXCEPTION_FIELDS, INSTANT
from recon.warehouse.chain import OrderChain, RawRecord, order_chain
from recon.warehouse.frames import frame_of, schema_of
from recon.warehouse.models import (
    AccountChange,
    ErpDocument,
    ErpItem,
    ExceptionEvent,
    ExceptionRow,
    MappingChange,
    MapStore,
    PosOrder,
    PosStore,
    Run,
    SyncPost,
    Takings,
    WaterfallPart,
)

__all__ = [
    "AGE_BUCKETS",
    "DEFAULT_STALE_AFTER",
    "EXCEPTION_COLUMNS",
    "JOBS",
    "ExceptionDetail",
    "OrderChain",
    "RawRecord",
    "RunChanges",
    "Totals",
    "account_changes",
    "ageing",
    "changes_since_last_run",
    "drift_by_store_day",
    "exception_detail",
    "exceptions",
    "exceptions_by_id",
    "freshness",
    "heatmap_cells",
    "latest_closed_day",
    "latest_day",
    "mapping_changes",
    "mapping_health",
    "money_at_stake",
    "order_chain",
    "order_stores",
    "pos_activity",
    "revenue_by_store_day",
    "runs",
    "schema_of",
    "stock_variances",
    "store_day_money",
    "store_names",
    "store_options",
    "sync_post_summary",
    "sync_posts",
    "takings",
    "takings_by_store_day",
    "totals",
    "variance_waterfall",
    "vat_totals",
    "waterfall_steps",
]

JOBS: tuple[str, ...] = ("sync", "collect", "reconcile")
DEFAULT_STALE_AFTER: dict[str, timedelta] = {
    "sync": timedelta(hours=2),
    "collect": timedelta(hours=2),
    "reconcile": timedelta(hours=26),
}
EXCEPTION_COLUMNS: tuple[str, ...] = (*EXCEPTION_FIELDS, "assignee", "resolved_at")
MONEY_AT_STAKE = pl.Decimal(38, 2)  # money: two decimals (pos_value etc. are 3: quantities too)


# --- frames from models ------------------------------------------------------------


def _frame(engine: Engine, stmt: Select[Any], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    with engine.connect() as conn:
        return frame_of(conn, stmt, schema)


def _table(
    engine: Engine,
    model: type[DeclarativeBase],
    where: ColumnElement[bool],
    order_by: Sequence[Any] = (),
    skip: Sequence[str] = (),
) -> pl.DataFrame:
    schema = schema_of(model, skip)
    cols = [model.__table__.c[name] for name in schema]
    return _frame(engine, select(*cols).where(where).order_by(*order_by), schema)


# --- exceptions --------------------------------------------------------------------

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


def exceptions(engine: Engine, filters: Filters) -> pl.DataFrame:
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
    return _frame(engine, stmt, _EXC_SCHEMA)


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


def drift_by_store_day(engine: Engine, filters: Filters) -> pl.DataFrame:
    """Exceptions per store x business day: count (finance and ops) and money at stake.

    Money at stake sums only finance kinds whose values are money; ops kinds count only.
    Exceptions without a store or a business day are left out (see `totals`).
    `currency` lists the currencies summed; more than one means the sum mixes them.
    """
    frame = exceptions(engine, filters).filter(
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


def totals(engine: Engine, filters: Filters) -> Totals:
    frame = exceptions(engine, filters).with_columns(money_at_stake())
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


def order_stores(engine: Engine) -> dict[str, date]:
    """Every store with POS orders and its latest business day with one.

    A loose index scan (a recursive CTE that seeks the next store id in the
    store-day index), so a year of orders costs one index seek per store instead of a
    scan of every order; the same SQL on SQLite and PostgreSQL.
    """
    t = PosOrder.__table__.c
    walk = select(func.min(t.store_id).label("store_id")).cte("walk", recursive=True)
    following = select(func.min(t.store_id)).where(t.store_id > walk.c.store_id)
    walk = walk.union_all(select(following.scalar_subquery()).where(walk.c.store_id.is_not(None)))
    last = select(func.max(t.business_day)).where(t.store_id == walk.c.store_id)
    stmt = select(walk.c.store_id, last.scalar_subquery().label("last_day")).where(
        walk.c.store_id.is_not(None)
    )
    with engine.connect() as conn:
        return {str(store): day for store, day in conn.execute(stmt)}


def store_names(engine: Engine) -> dict[str, str]:
    """Store id -> name as Sitoo names it (kept by the collector); stores it never named
    are absent (show their id)."""
    with engine.connect() as conn:
        return {str(i): str(n) for i, n in conn.execute(select(PosStore.store_id, PosStore.name))}


def store_options(engine: Engine) -> list[str]:
    """Every store that has an exception or a POS order, sorted."""
    with engine.connect() as conn:
        a = conn.execute(
            select(ExceptionRow.store).where(ExceptionRow.store.is_not(None)).distinct()
        )
        stores = {str(s) for s in a.scalars()}
    stores.update(order_stores(engine))
    return sorted(stores, key=lambda s: (len(s), s))


# --- what changed since the last run ------------------------------------------------


@dataclass(frozen=True, eq=False)
class RunChanges:
    """Exceptions first seen, and resolved, since the last finished reconcile run began."""

    run_started_at: datetime | None
    new: pl.DataFrame
    resolved: pl.DataFrame


def _last_reconcile_start(engine: Engine) -> datetime | None:
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
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()


def changes_since_last_run(engine: Engine, filters: Filters) -> RunChanges:
    """New and resolved exceptions of the last reconcile run, within the filters' scope.

    The filters' status is ignored (new ones may be closed already). Without any
    finished reconcile run, "new" is the exceptions whose status is new. Selected in
    SQL, so a warehouse with a long history reads only what changed.
    """
    t = ExceptionRow
    scope = _conditions(replace(filters, status="all"))
    started = _last_reconcile_start(engine)
    cols = [t.__table__.c[name] for name in EXCEPTION_COLUMNS]
    order = (t.business_day.desc().nulls_last(), t.store, t.kind, t.id)

    def rows(*where: ColumnElement[bool]) -> pl.DataFrame:
        stmt = select(*cols).where(*scope, *where).order_by(*order)
        return _frame(engine, stmt, _EXC_SCHEMA)

    if started is None:
        return RunChanges(None, rows(t.status == "new"), rows(false()))
    return RunChanges(
        started,
        rows(t.first_seen >= started),
        rows(t.status == "resolved", t.resolved_at >= started),
    )


# --- freshness and sync health ----------------------------------------------------

_FRESHNESS_SCHEMA: dict[str, pl.DataType] = {
    "job": pl.String(),
    "last_finished_at": INSTANT,
    "last_status": pl.String(),
    "last_message": pl.String(),
    "running_since": INSTANT,
    "age": pl.Duration("us"),
    "stale": pl.Boolean(),
}


def freshness(
    engine: Engine,
    now: datetime | None = None,
    stale_after: Mapping[str, timedelta] | None = None,
) -> pl.DataFrame:
    """One row per job: its last finished run, its age, and whether that is stale.

    Stale when the job never finished, or its last finished run ended longer ago than
    `stale_after[job]` (DEFAULT_STALE_AFTER). A failed last run is shown by its status.
    """
    now = now or datetime.now(UTC)
    limits = {**DEFAULT_STALE_AFTER, **(stale_after or {})}
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for job in JOBS:
            last = conn.execute(
                select(Run.finished_at, Run.status, Run.message)
                .where(Run.job == job, Run.finished_at.is_not(None))
                .order_by(Run.finished_at.desc())
                .limit(1)
            ).first()
            running = conn.execute(
                select(func.max(Run.started_at)).where(Run.job == job, Run.finished_at.is_(None))
            ).scalar_one_or_none()
            finished = last.finished_at if last else None
            age = now - finished if finished is not None else None
            rows.append(
                {
                    "job": job,
                    "last_finished_at": finished,
                    "last_status": last.status if last else None,
                    "last_message": last.message if last else None,
                    "running_since": running,
                    "age": age,
                    "stale": age is None or age > limits[job],
                }
            )
    return pl.DataFrame(rows, schema=_FRESHNESS_SCHEMA, orient="row")


def runs(engine: Engine, job: str | None = None, limit: int = 200) -> pl.DataFrame:
    """The latest runs, newest first (counts stay the JSON text the job wrote)."""
    where = Run.job == job if job else true()
    return _table(engine, Run, where, order_by=[Run.started_at.desc()]).head(limit)


def sync_post_summary(engine: Engine) -> pl.DataFrame:
    """Sync posts counted by ERP, kind, status and reason."""
    posts = _table(engine, SyncPost, true())
    return (
        posts.group_by("erp", "kind", "status", "reason")
        .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("last_attempt_at").max())
        .sort("erp", "kind", "status", "reason", nulls_last=True)
    )


def sync_posts(
    engine: Engine, statuses: Sequence[str] = ("held", "failed", "retrying")
) -> pl.DataFrame:
    """The sync posts in `statuses` (by default the ones that did not reach the ERP)."""
    where = SyncPost.status.in_(statuses) if statuses else true()
    return _table(engine, SyncPost, where, order_by=[SyncPost.last_attempt_at.desc()])


# --- one exception and its order chain -------------------------------------------


@dataclass(frozen=True, eq=False)
class ExceptionDetail:
    exception: dict[str, Any]
    events: pl.DataFrame
    chain: OrderChain


def exception_detail(engine: Engine, exception_id: str) -> ExceptionDetail | None:
    """The exception, its audit trail (oldest first) and its order chain; None if unknown."""
    found = exceptions_by_id(engine, [exception_id])
    if found.is_empty():
        return None
    exc = found.row(0, named=True)
    events = _table(
        engine,
        ExceptionEvent,
        ExceptionEvent.exception_id == exception_id,
        order_by=[ExceptionEvent.at, ExceptionEvent.id],
    )
    store_day = None
    if exc["store"] and exc["business_day"] and not exc["pos_ref"]:
        store_day = f"{exc['store']}-{exc['business_day'].isoformat()}"
    with engine.connect() as conn:
        chain = order_chain(conn, exc["pos_ref"], exc["erp_ref"], [store_day] if store_day else [])
    return ExceptionDetail(exception=exc, events=events, chain=chain)


def exceptions_by_id(engine: Engine, ids: Sequence[str]) -> pl.DataFrame:
    t = ExceptionRow
    cols = [t.__table__.c[name] for name in EXCEPTION_COLUMNS]
    return _frame(engine, select(*cols).where(t.id.in_(list(ids))), _EXC_SCHEMA)


# --- store-day activity, takings, VAT: aggregated in SQL ------------------------------

MONEY = pl.Decimal(18, 2)


def _units(engine: Engine, column: Any, scale: int = 2) -> ColumnElement[Any]:
    """SUM of a Decimal column in integer units of 10^-scale, exact on both backends.

    SQLite keeps money as TEXT: each value becomes a float and is rounded back to whole
    cents before summing, which is exact for any money value below 10^13.
    """
    factor = 10**scale
    value = cast(column, Float) if engine.dialect.name == "sqlite" else column
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


def latest_day(engine: Engine) -> date | None:
    """The latest business day with POS orders or exceptions (None on an empty warehouse)."""
    with engine.connect() as conn:
        days = [conn.execute(select(func.max(ExceptionRow.business_day))).scalar_one_or_none()]
    days.extend(order_stores(engine).values())
    known = [d for d in days if d is not None]
    return max(known) if known else None


def pos_activity(engine: Engine, filters: Filters) -> pl.DataFrame:
    """POS orders per store x business day (any state), for the stores and days filtered."""
    t = PosOrder
    stmt: Select[Any] = (
        select(t.store_id.label("store"), t.business_day, func.count().label("orders"))  # type: ignore[assignment]
        .where(_store_days(t, t.store_id, filters))
        .group_by(t.store_id, t.business_day)
    )
    schema = {"store": pl.String(), "business_day": pl.Date(), "orders": pl.Int64()}
    return _frame(engine, stmt, schema)


def heatmap_cells(engine: Engine, filters: Filters) -> pl.DataFrame:
    """Every store x day with POS orders or exceptions: orders, exception counts, money.

    A store-day with orders and no exception is a row with count 0 (a clean day).
    """
    drift = drift_by_store_day(engine, filters)
    activity = pos_activity(engine, filters)
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


_TAKINGS_SCHEMA = schema_of(Takings)


def takings(engine: Engine, filters: Filters) -> pl.DataFrame:
    """Takings per store, business day and tender account, as the last reconcile wrote them.

    Newest day first, then store and account. Only the store and day filters apply.
    """
    t = Takings
    return _table(
        engine,
        Takings,
        _store_days(t, t.store, filters),
        order_by=[t.business_day.desc(), t.store, t.account],
    )


def takings_by_store_day(engine: Engine, filters: Filters) -> pl.DataFrame:
    """POS and ERP takings and their variance per store-day and currency, summed in SQL."""
    t = Takings
    stmt = (
        select(
            t.store,
            t.business_day,
            t.currency,
            _units(engine, t.pos_amount).label("pos"),
            _units(engine, t.erp_amount).label("erp"),
            _units(engine, t.variance).label("var"),
            func.count().label("accounts"),
        )
        .where(_store_days(t, t.store, filters))
        .group_by(t.store, t.business_day, t.currency)
        .order_by(t.business_day.desc(), t.store, t.currency)
    )
    with engine.connect() as conn:
        rows = [
            (
                r.store,
                r.business_day,
                _from_units(r.pos),
                _from_units(r.erp),
                _from_units(r.var),
                r.currency,
                r.accounts,
            )
            for r in conn.execute(stmt)
        ]
    schema = {
        "store": pl.String(),
        "business_day": pl.Date(),
        "pos_amount": MONEY,
        "erp_amount": MONEY,
        "variance": MONEY,
        "currency": pl.String(),
        "accounts": pl.Int64(),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def variance_waterfall(engine: Engine, filters: Filters) -> pl.DataFrame:
    """The takings variance by cause and currency over the filtered store-days (SQL sums)."""
    t = WaterfallPart
    stmt = (
        select(t.currency, t.cause, _units(engine, t.amount).label("amount"))
        .where(_store_days(t, t.store, filters))
        .group_by(t.currency, t.cause)
        .order_by(t.currency, t.cause)
    )
    with engine.connect() as conn:
        rows = [(r.currency, r.cause, _from_units(r.amount)) for r in conn.execute(stmt)]
    schema = {"currency": pl.String(), "cause": pl.String(), "amount": MONEY}
    return pl.DataFrame(rows, schema=schema, orient="row")


def waterfall_steps(
    by_store_day: pl.DataFrame, waterfall: pl.DataFrame, currency: str
) -> pl.DataFrame:
    """POS takings, then each cause's share of the variance, then ERP takings (one currency).

    `measure` is plotly's: "absolute" for the two totals, "relative" for the causes. When
    the causes do not add up to ERP - POS, an `unaccounted` step says by how much.
    """
    mine = by_store_day.filter(pl.col("currency") == currency)
    pos = Decimal(mine["pos_amount"].sum() or 0)
    erp = Decimal(mine["erp_amount"].sum() or 0)
    steps: list[tuple[str, str, Decimal]] = [("POS takings", "absolute", pos)]
    parts = waterfall.filter((pl.col("currency") == currency) & (pl.col("amount") != 0))
    steps += [(c, "relative", Decimal(a)) for c, a in parts.select("cause", "amount").rows()]
    gap = erp - pos - sum((a for _, _, a in steps[1:]), Decimal(0))
    if gap:
        steps.append(("unaccounted", "relative", gap))
    steps.append(("ERP takings", "absolute", erp))
    return pl.DataFrame(
        steps, schema={"step": pl.String(), "measure": pl.String(), "amount": MONEY}, orient="row"
    )


def _orders_vs_documents(
    engine: Engine, filters: Filters, pos_column: Any, erp_column: Any, name: str
) -> pl.DataFrame:
    """A money column of completed, paid POS orders against the same column of the ERP
    documents whose pos_ref is one of them, per store-day of the order: `pos_{name}`,
    `erp_{name}`, `difference` (ERP - POS). A duplicate document counts twice, an order
    with no document not at all on the ERP side."""
    o, d = PosOrder, ErpDocument
    where = [_store_days(o, o.store_id, filters), o.state == "completed", o.paid.is_(True)]
    pos = (
        select(o.store_id, o.business_day, o.currency, _units(engine, pos_column).label("v"))
        .where(*where)
        .group_by(o.store_id, o.business_day, o.currency)
    )
    erp = (
        select(o.store_id, o.business_day, o.currency, _units(engine, erp_column).label("v"))
        .join(d, d.pos_ref == o.order_id)
        .where(*where)
        .group_by(o.store_id, o.business_day, o.currency)
    )
    with engine.connect() as conn:
        pos_rows = {(r[0], r[1], r[2]): _from_units(r[3]) for r in conn.execute(pos)}
        erp_rows = {(r[0], r[1], r[2]): _from_units(r[3]) for r in conn.execute(erp)}
    rows = [
        (*key, pos_rows.get(key, Decimal(0)), erp_rows.get(key, Decimal(0)))
        for key in sorted(pos_rows.keys() | erp_rows.keys(), key=lambda k: (k[1], k[0], k[2]))
    ]
    schema = {
        "store": pl.String(),
        "business_day": pl.Date(),
        "currency": pl.String(),
        f"pos_{name}": MONEY,
        f"erp_{name}": MONEY,
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(
        (pl.col(f"erp_{name}") - pl.col(f"pos_{name}")).cast(MONEY).alias("difference")
    )


def vat_totals(engine: Engine, filters: Filters) -> pl.DataFrame:
    """VAT per store-day: completed, paid POS orders against the ERP documents that carry them.

    ERP VAT is summed over documents whose pos_ref is one of those orders, booked to the
    order's store and business day (journal-mode VAT is not itemised, so not counted).
    """
    return _orders_vs_documents(engine, filters, PosOrder.vat_total, ErpDocument.vat_total, "vat")


def revenue_by_store_day(engine: Engine, filters: Filters) -> pl.DataFrame:
    """Revenue per store-day: the gross of completed, paid POS orders against the gross of
    the ERP documents (`pos_revenue`, `erp_revenue`, `difference`), so a document posted
    twice, for another amount, or with no POS order behind it shows even where the tenders
    agree. A document carrying a POS order counts on that order's store-day; one without
    (an orphan) on its posting date, in the store its location maps to, else the store of
    the sale it refunds, else none (`store` null: unattributed). Journal mode posts no
    per-order documents: its ERP column stays 0."""
    carried = _orders_vs_documents(
        engine, filters, PosOrder.gross_total, ErpDocument.gross_total, "revenue"
    )
    d, o, sale, m = ErpDocument, PosOrder, PosOrder.__table__.alias("sale"), MapStore
    store = func.coalesce(m.store_id, sale.c.store_id)
    where = [o.order_id.is_(None), d.doc_type != "journal", *_days(d.posting_date, filters)]
    if filters.stores:
        where.append(store.in_(filters.stores))
    stmt = (
        select(store, d.posting_date, d.currency, _units(engine, d.gross_total))
        .select_from(d)
        .outerjoin(o, o.order_id == d.pos_ref)
        .outerjoin(m, m.location == d.location)
        .outerjoin(sale, sale.c.order_id == d.original_pos_ref)
        .where(*where)
        .group_by(store, d.posting_date, d.currency)
    )
    with engine.connect() as conn:
        orphans = [(r[0], r[1], r[2], _from_units(r[3])) for r in conn.execute(stmt)]
    keys = ["store", "business_day", "currency"]
    extra = pl.DataFrame(
        orphans, schema={**{k: carried.schema[k] for k in keys}, "orphan": MONEY}, orient="row"
    )
    zero = pl.lit(Decimal(0), dtype=MONEY)
    return (
        carried.join(extra, on=keys, how="full", coalesce=True, nulls_equal=True)
        .with_columns(
            pl.col("pos_revenue").fill_null(zero),
            (pl.col("erp_revenue").fill_null(zero) + pl.col("orphan").fill_null(zero))
            .cast(MONEY)
            .alias("erp_revenue"),
        )
        .with_columns(
            (pl.col("erp_revenue") - pl.col("pos_revenue")).cast(MONEY).alias("difference")
        )
        .select(carried.columns)
        .sort("business_day", "store", "currency", nulls_last=True)
    )


def store_day_money(by_store_day: pl.DataFrame, revenue: pl.DataFrame) -> pl.DataFrame:
    """Per store-day and currency, both comparisons side by side: takings by tender
    (`pos_amount`, `erp_amount`, `variance`, from `takings_by_store_day`) and revenue by
    documents (`pos_revenue`, `erp_revenue`, `revenue_difference`, from
    `revenue_by_store_day`); a side with no row for that store-day reads 0. `off`: either
    differs. Newest day first, then store (unattributed last)."""
    keys = ["store", "business_day", "currency"]
    zero = pl.lit(Decimal(0), dtype=MONEY)
    money = ["pos_amount", "erp_amount", "variance", "pos_revenue", "erp_revenue"]
    joined = by_store_day.drop("accounts").join(
        revenue.rename({"difference": "revenue_difference"}),
        on=keys,
        how="full",
        coalesce=True,
        nulls_equal=True,
    )
    return (
        joined.with_columns(*(pl.col(c).fill_null(zero) for c in [*money, "revenue_difference"]))
        .with_columns(
            ((pl.col("variance") != 0) | (pl.col("revenue_difference") != 0)).alias("off")
        )
        .select(*keys, *money, "revenue_difference", "off")
        .sort(["business_day", "store"], descending=[True, False], nulls_last=True)
    )


def latest_closed_day(engine: Engine, today: date) -> date | None:
    """The latest business day before `today` with takings (a closed day: its sales are all
    in), else the latest with takings at all; None when no reconcile wrote takings."""
    t = Takings
    with engine.connect() as conn:
        closed = conn.execute(
            select(func.max(t.business_day)).where(t.business_day < today)
        ).scalar_one_or_none()
        if closed is not None:
            return closed
        return conn.execute(select(func.max(t.business_day))).scalar_one_or_none()


# --- stock and items -------------------------------------------------------------------


def stock_variances(engine: Engine, filters: Filters) -> pl.DataFrame:
    """stock_variance exceptions valued at the ERP gross price, largest value first.

    `value` = |ERP - POS quantity| x ERP master gross price (null when the ERP has no
    price for the SKU; those come last). Day filters do not apply: stock has no day.
    """
    scoped = replace(filters, kinds=("stock_variance",), owner=None, date_from=None, date_to=None)
    frame = exceptions(engine, scoped)
    skus = sorted({s for s in frame["sku"].to_list() if s is not None})
    prices = _table(engine, ErpItem, ErpItem.sku.in_(skus)).select(
        "sku", pl.col("price_gross").alias("unit_price")
    )
    return (
        frame.join(prices, on="sku", how="left")
        .with_columns(
            (pl.col("difference").abs() * pl.col("unit_price")).cast(MONEY).alias("value")
        )
        .sort("value", descending=True, nulls_last=True)
        .select(
            "id",
            "store",
            "sku",
            "pos_value",
            "erp_value",
            "difference",
            "unit_price",
            "value",
            "status",
            "assignee",
            "first_seen",
            "last_seen",
        )
    )


# --- mapping health and ageing -----------------------------------------------------------


def mapping_health(engine: Engine) -> pl.DataFrame:
    """What holds orders back from the ERP, biggest money first: one row per hold (an
    unmapped tender, VAT rate or store, a closed account, an unknown SKU, as the sync's
    message names it), with the orders it blocks and their POS gross (a refund's counts as
    much as a sale's: both are money not in the ERP), per currency.

    Read from the sync's `held` posts; an order counts once per hold however many of its
    posts (sale, receipts) are held. An order the collector has not stored yet counts
    with no money (currency '').
    """
    s, o = SyncPost, PosOrder
    held = (
        select(s.reason, s.message, s.pos_order_id)
        .where(s.status == "held", s.pos_order_id.is_not(None))
        .distinct()
        .subquery()
    )
    stmt = (
        select(
            held.c.reason,
            held.c.message,
            o.currency,
            func.count().label("orders"),
            _units(engine, func.abs(o.gross_total)).label("money"),
            func.min(o.business_day).label("oldest_day"),
        )
        .select_from(held)
        .outerjoin(o, o.order_id == held.c.pos_order_id)
        .group_by(held.c.reason, held.c.message, o.currency)
    )
    with engine.connect() as conn:
        rows = [
            (
                (r.reason or "").removeprefix("held_"),
                r.message or "",
                r.orders,
                _from_units(r.money),
                r.currency or "",
                r.oldest_day,
            )
            for r in conn.execute(stmt)
        ]
    schema = {
        "problem": pl.String(),
        "what": pl.String(),
        "orders": pl.Int64(),
        "money_blocked": MONEY,
        "currency": pl.String(),
        "oldest_day": pl.Date(),
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.sort(
        ["money_blocked", "orders", "problem", "what"], descending=[True, True, False, False]
    )


def mapping_changes(engine: Engine, limit: int = 500) -> pl.DataFrame:
    """The audit of mapping edits and imports, newest first: who, when, where from, and
    each mapping's value before -> after (null: not mapped)."""
    t = MappingChange
    frame = _table(engine, t, true(), order_by=[t.at.desc(), t.id.desc()], skip=("id",))
    return frame.head(limit)


def account_changes(engine: Engine, limit: int = 500) -> pl.DataFrame:
    """The audit of dashboard account changes, newest first: who, when, where from, which
    account and what changed (never a password)."""
    t = AccountChange
    frame = _table(engine, t, true(), order_by=[t.at.desc(), t.id.desc()], skip=("id",))
    return frame.head(limit)


AGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("0-1 d", 1),
    ("2-3 d", 3),
    ("4-7 d", 7),
    ("8-30 d", 30),
    (">30 d", 10**6),
)


def ageing(engine: Engine, filters: Filters, now: datetime | None = None) -> pl.DataFrame:
    """Open exceptions by owner, kind and age (whole days since first seen, in AGE_BUCKETS),
    with their count and money at stake per currency. The filters apply, but for status
    (always open). Owners, then kinds, then buckets youngest first; empty buckets left out.
    """
    now = now or datetime.now(UTC)
    frame = exceptions(engine, replace(filters, status="open")).with_columns(money_at_stake())
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
