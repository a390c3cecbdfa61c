"""The Takings page: takings per store-day and tender, the variance by cause, revenue and
VAT by documents, and what its sign-off panel shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from recon.app.filters import Filters
from recon.app.queries._frames import (
    MONEY,
    _days,
    _from_units,
    _store_days,
    _table,
    _units,
    schema_of,
)
from recon.warehouse.models import ErpDocument, MapStore, PosOrder, Takings, WaterfallPart
from recon.warehouse.signoff import events_frame, evidence_frame, signoffs_frame, unsigned_frame

_TAKINGS_SCHEMA = schema_of(Takings)


def takings(conn: Connection, filters: Filters) -> pl.DataFrame:
    """Takings per store, business day and tender account, as the last reconcile wrote them.

    Newest day first, then store and account. Only the store and day filters apply.
    """
    t = Takings
    return _table(
        conn,
        Takings,
        _store_days(t, t.store, filters),
        order_by=[t.business_day.desc(), t.store, t.account],
    )


def takings_by_store_day(conn: Connection, filters: Filters) -> pl.DataFrame:
    """POS and ERP takings and their variance per store-day and currency, summed in SQL."""
    t = Takings
    stmt = (
        select(
            t.store,
            t.business_day,
            t.currency,
            _units(conn, t.pos_amount).label("pos"),
            _units(conn, t.erp_amount).label("erp"),
            _units(conn, t.variance).label("var"),
            func.count().label("accounts"),
        )
        .where(_store_days(t, t.store, filters))
        .group_by(t.store, t.business_day, t.currency)
        .order_by(t.business_day.desc(), t.store, t.currency)
    )
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


def variance_waterfall(conn: Connection, filters: Filters) -> pl.DataFrame:
    """The takings variance by cause and currency over the filtered store-days (SQL sums)."""
    t = WaterfallPart
    stmt = (
        select(t.currency, t.cause, _units(conn, t.amount).label("amount"))
        .where(_store_days(t, t.store, filters))
        .group_by(t.currency, t.cause)
        .order_by(t.currency, t.cause)
    )
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
    conn: Connection, filters: Filters, pos_column: Any, erp_column: Any, name: str
) -> pl.DataFrame:
    """A money column of completed, paid POS orders against the same column of the ERP
    documents whose pos_ref is one of them, per store-day of the order: `pos_{name}`,
    `erp_{name}`, `difference` (ERP - POS). A duplicate document counts twice, an order
    with no document not at all on the ERP side."""
    o, d = PosOrder, ErpDocument
    where = [_store_days(o, o.store_id, filters), o.state == "completed", o.paid.is_(True)]
    pos = (
        select(o.store_id, o.business_day, o.currency, _units(conn, pos_column).label("v"))
        .where(*where)
        .group_by(o.store_id, o.business_day, o.currency)
    )
    erp = (
        select(o.store_id, o.business_day, o.currency, _units(conn, erp_column).label("v"))
        .join(d, d.pos_ref == o.order_id)
        .where(*where)
        .group_by(o.store_id, o.business_day, o.currency)
    )
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


def vat_totals(conn: Connection, filters: Filters) -> pl.DataFrame:
    """VAT per store-day: completed, paid POS orders against the ERP documents that carry them.

    ERP VAT is summed over documents whose pos_ref is one of those orders, booked to the
    order's store and business day (journal-mode VAT is not itemised, so not counted).
    """
    return _orders_vs_documents(conn, filters, PosOrder.vat_total, ErpDocument.vat_total, "vat")


def revenue_by_store_day(conn: Connection, filters: Filters) -> pl.DataFrame:
    """Revenue per store-day: the gross of completed, paid POS orders against the gross of
    the ERP documents (`pos_revenue`, `erp_revenue`, `difference`), so a document posted
    twice, for another amount, or with no POS order behind it shows even where the tenders
    agree. A document carrying a POS order counts on that order's store-day; one without
    (an orphan) on its posting date, in the store its location maps to, else the store of
    the sale it refunds, else none (`store` null: unattributed). Journal mode posts no
    per-order documents: its ERP column stays 0."""
    carried = _orders_vs_documents(
        conn, filters, PosOrder.gross_total, ErpDocument.gross_total, "revenue"
    )
    d, o, sale, m = ErpDocument, PosOrder, PosOrder.__table__.alias("sale"), MapStore
    store = func.coalesce(m.store_id, sale.c.store_id)
    where = [o.order_id.is_(None), d.doc_type != "journal", *_days(d.posting_date, filters)]
    if filters.stores:
        where.append(store.in_(filters.stores))
    stmt = (
        select(store, d.posting_date, d.currency, _units(conn, d.gross_total))
        .select_from(d)
        .outerjoin(o, o.order_id == d.pos_ref)
        .outerjoin(m, m.location == d.location)
        .outerjoin(sale, sale.c.order_id == d.original_pos_ref)
        .where(*where)
        .group_by(store, d.posting_date, d.currency)
    )
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


def latest_closed_day(conn: Connection, today: date) -> date | None:
    """The latest business day before `today` with takings (a closed day: its sales are all
    in), else the latest with takings at all; None when no reconcile wrote takings."""
    t = Takings
    closed = conn.execute(
        select(func.max(t.business_day)).where(t.business_day < today)
    ).scalar_one_or_none()
    if closed is not None:
        return closed
    return conn.execute(select(func.max(t.business_day))).scalar_one_or_none()


UNSIGNED_DAYS = 31  # the days-not-signed list looks back this far at least


@dataclass(frozen=True)
class SignoffView:
    """What the sign-off panel shows of one store (or all stores) on one day, and of the
    days around it: the sign-offs of that day, the chosen one's evidence and events, the
    days not signed yet since `since`, and every sign-off of the days with its evidence and
    events (the exports)."""

    that_day: pl.DataFrame
    evidence: pl.DataFrame
    events: pl.DataFrame
    since: date
    unsigned: pl.DataFrame
    in_scope: pl.DataFrame
    every_evidence: pl.DataFrame
    every_event: pl.DataFrame


def signoff_view(conn: Connection, day: date, store: str, days: list[date]) -> SignoffView:
    """The sign-off panel's reads for `store` (or `*`) on `day`, over the days `days`
    (not empty); the days not signed yet over at least `UNSIGNED_DAYS` up to the newest."""
    that_day = signoffs_frame(conn, day_from=day, day_to=day)
    ids = that_day.filter(pl.col("store") == store)["id"].to_list()
    since = min(min(days), max(days) - timedelta(days=UNSIGNED_DAYS - 1))
    in_scope = signoffs_frame(conn, day_from=min(days), day_to=max(days))
    every = in_scope["id"].to_list()
    return SignoffView(
        that_day=that_day,
        evidence=evidence_frame(conn, ids),
        events=events_frame(conn, ids),
        since=since,
        unsigned=unsigned_frame(conn, since, max(days)),
        in_scope=in_scope,
        every_evidence=evidence_frame(conn, every),
        every_event=events_frame(conn, every),
    )
