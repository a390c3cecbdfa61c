"""Derived inputs every comparator shares: de-duplicated orders with their eligibility,
mapped location, held cause, pending and daily-journal flags, and the lookup tables.

Builds lazy frames and materialises only what every comparator reads (the mappings, the
orders); it emits no exception itself. For a run scoped to a day and/or store it derives
only the orders that run can see: those in scope, and those that ERP rows of its day name
(its global findings are those of these orders).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from recon.reconcile._frames import (
    STORE_DAY,
    among,
    id_hashes,
    named_orders,
    repeated_hashes,
    split_repeated,
)

__all__ = ["HELD_CAUSES", "Prepared", "daily_journal", "prepare"]

# Most specific first: an order held for several reasons names the first that applies.
HELD_CAUSES = (
    "held_unmapped_location",
    "held_unmapped_tender",
    "held_unmapped_tax_code",
    "held_unknown_sku",
    "held_closed_account",
)
_ORDER_COLUMNS = (
    "order_id",
    "store_id",
    "business_day",
    "order_type",
    "state",
    "gross_total",
    "vat_total",
    "currency",
)


@dataclass(frozen=True)
class Prepared:
    """Conformed tables plus the frames derived from them (all lazy)."""

    t: dict[str, pl.LazyFrame]
    orders: pl.LazyFrame  # orders in scope: order columns + eligible, location, held_cause, ...
    known: pl.LazyFrame  # same columns: every order the run may look up (orders in a full run)
    exact: bool  # two known orders share a first id hash: `join_orders` joins on the strings
    scope_ids: pl.Series | None  # order_id of `orders` in a scoped run (None: a full run)
    named: pl.LazyFrame  # order_id, store_id, order_type, business_day, id hashes: orders ERP
    # rows may name
    map_store: pl.LazyFrame  # store_id, location (one per store)
    loc_store: pl.LazyFrame  # location, loc_store (one store per location)
    map_tender: pl.LazyFrame  # tender, account (one per tender)
    map_tax: pl.LazyFrame  # vat_rate, tax_code, account (one per rate)
    closed_accounts: pl.LazyFrame  # account (mapped, and inactive or absent in the ERP)
    account_tender: pl.LazyFrame  # account, tender (null when several tenders share it)
    unknown_line_skus: pl.LazyFrame  # sku: distinct POS line SKUs the ERP lacks (null too)
    unmapped_payments: pl.LazyFrame  # pos_payments whose tender has no mapping (all orders)
    unmapped_lines: pl.LazyFrame  # pos_order_lines whose VAT rate has no mapping (all orders)
    doc_ref_repeats: pl.Series | None  # hashes of pos_refs seen twice (None: not computed)
    quarantined: pl.LazyFrame  # order_id, store_id, business_day: quarantined, not in pos_orders
    has_erp_items: bool
    as_of: datetime | None
    day: date | None = None
    store: str | None = None


def _not_in(col: str, values: pl.Series) -> pl.Expr:
    """Rows an anti join against `values` would keep (a null never matches)."""
    return pl.col(col).is_null() | pl.col(col).is_in(values.drop_nulls().implode()).not_()


def _in(col: str, values: pl.Series) -> pl.Expr:
    return pl.col(col).is_in(values.drop_nulls().implode())


def prepare(
    t: dict[str, pl.LazyFrame],
    grace: timedelta,
    as_of: datetime | None,
    day: date | None = None,
    store: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> Prepared:
    """`settings`: the snapshot's map_settings as a dict (`recon.reconcile._frames.declared`)."""
    map_store = t["map_store"].sort("store_id", "location").unique("store_id", keep="first")
    loc_store = (
        map_store.sort("location", "store_id")
        .unique("location", keep="first")
        .select("location", pl.col("store_id").alias("loc_store"))
    )
    map_tender = t["map_tender"].sort("tender", "account").unique("tender", keep="first")
    map_tax = t["map_tax"].sort("vat_rate", "tax_code").unique("vat_rate", keep="first")
    mapped_accounts = pl.concat(
        [map_tender.select("account"), map_tax.select("account")], how="vertical"
    ).unique()
    active = t["erp_accounts"].group_by("account").agg(pl.col("active").fill_null(False).any())
    closed_accounts = (
        mapped_accounts.join(active, on="account", how="left")
        .filter(pl.col("active").fill_null(False).not_())
        .select("account")
    )
    account_tender = map_tender.group_by("account").agg(
        pl.when(pl.col("tender").n_unique() == 1).then(pl.col("tender").first()).alias("tender")
    )
    scoped = day is not None or store is not None
    # A scoped run reads only the rows of the orders it may look at (`_named`); its
    # global findings (unknown SKU, unmapped tender or VAT rate) are those of these orders.
    named: pl.DataFrame | None = None
    ids: pl.Series | None = None
    if scoped:
        named = _named(t, day, store)
        ids = named.filter(pl.col("_own")).get_column("order_id")

    def some(lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf if ids is None else lf.filter(among("order_id", ids))

    lines, payments = some(t["pos_order_lines"]), some(t["pos_payments"])
    docs = t["erp_documents"]

    # Stage 1: the mappings (small tables).
    small: dict[str, pl.LazyFrame] = {
        "map_store": map_store,
        "loc_store": loc_store,
        "map_tender": map_tender,
        "map_tax": map_tax,
        "closed_accounts": closed_accounts,
        "account_tender": account_tender,
        "erp_skus": t["erp_items"].select(pl.col("sku").unique()),
        "n_accounts": t["erp_accounts"].select(pl.len()),
        "quarantined": t["pos_quarantine"]
        .drop_nulls("order_id")
        .sort("order_id", "business_day", "store_id", nulls_last=True)
        .unique("order_id", keep="first")
        .select("order_id", "store_id", "business_day"),
    }
    if as_of is None:
        small["latest"] = t["pos_orders"].select(pl.col("created_at").max())
    got = dict(zip(small, pl.collect_all(list(small.values())), strict=True))
    # Stage 2: small results of one pass over the large tables, all in parallel; the mapped
    # values as literals (a filter, not a join on a Decimal key).
    tenders = got["map_tender"].get_column("tender")
    erp_skus = got["erp_skus"].get_column("sku")
    rates = got["map_tax"].get_column("vat_rate")
    journal_refs = pl.concat(
        [
            docs.filter(pl.col("doc_type") == "journal").select("pos_ref"),
            t["erp_journal_lines"].select("pos_ref"),
        ],
        how="vertical",
    )
    if store is not None:
        # The run derives only its store's orders: its journals' references are
        # `{store}-{digit}...`, a range the Parquet reader skips most row groups with.
        ref = pl.col("pos_ref")
        journal_refs = journal_refs.filter(
            ref.is_between(pl.lit(f"{store}-0"), pl.lit(f"{store}-:"), "left")
        )
    large: dict[str, pl.LazyFrame] = {
        # Store-days with a daily journal (few): the references shaped like one.
        "journal_days": journal_refs.filter(pl.col("pos_ref").str.contains(STORE_DAY))
        .unique()
        .select(
            pl.col("pos_ref").str.extract(STORE_DAY, 1).alias("store_id"),
            pl.col("pos_ref")
            .str.extract(STORE_DAY, 2)
            .str.to_date("%Y-%m-%d", strict=False)
            .alias("business_day"),
        )
        .drop_nulls()
        .unique(),
        # A filter against the ERP's SKUs as a literal (3x cheaper than an anti join) first
        # leaves few rows to de-duplicate.
        "unknown": lines.select("sku").filter(_not_in("sku", erp_skus)).unique(),
        "unmapped_payments": payments.select("order_id", "tender", "amount").filter(
            _not_in("tender", tenders)
        ),
        "unmapped_lines": lines.select("order_id", "vat_rate", "sku").filter(
            _not_in("vat_rate", rates)
        ),
    }
    if not scoped:  # a scoped run de-duplicates its few rows by sorting them all
        large["order_repeats"] = repeated_hashes(t["pos_orders"], "order_id")
        large["doc_ref_repeats"] = repeated_hashes(
            docs.filter(pl.col("pos_ref").is_not_null()), "pos_ref"
        )
    got.update(zip(large, pl.collect_all(list(large.values())), strict=True))
    has_erp_items = got["erp_skus"].height > 0
    if got["n_accounts"].item() == 0:
        got["closed_accounts"] = got["closed_accounts"].head(0)
    if not has_erp_items:
        got["unknown"] = got["unknown"].head(0)
    if as_of is not None:
        when: datetime | None = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    else:
        latest: Any = got["latest"].item()
        when = latest if isinstance(latest, datetime) else None

    quarantined = got["quarantined"]
    if quarantined.height:  # an order the POS side has after all is judged as any other
        held_ids = quarantined.get_column("order_id")
        have = t["pos_orders"].select("order_id").filter(among("order_id", held_ids)).collect()
        quarantined = quarantined.filter(_not_in("order_id", have.get_column("order_id")))

    closed = got["closed_accounts"].get_column("account")
    closed_tenders = got["map_tender"].filter(_in("account", closed)).get_column("tender")
    closed_rates = got["map_tax"].filter(_in("account", closed)).get_column("vat_rate")
    unknown_skus = got["unknown"]

    # Held orders: (order_id, rank of the cause) from cheap filters, then one join.
    unmapped_payments, unmapped_lines = got["unmapped_payments"], got["unmapped_lines"]
    held_parts = [
        found.lazy().select("order_id", pl.lit(r).alias("r"))
        for r, found in ((1, unmapped_payments), (2, unmapped_lines))
        if found.height
    ]
    if unknown_skus.height:
        held_parts.append(
            lines.join(unknown_skus.lazy(), on="sku", how="semi", nulls_equal=True).select(
                "order_id", pl.lit(3).alias("r")
            )
        )
    if closed_tenders.len():
        held_parts.append(
            payments.filter(_in("tender", closed_tenders)).select("order_id", pl.lit(4).alias("r"))
        )
    if closed_rates.len():
        held_parts.append(
            lines.filter(_in("vat_rate", closed_rates)).select("order_id", pl.lit(4).alias("r"))
        )
    # A left join with nothing to match still hashes every order: skip an empty one.
    held = (
        pl.concat(held_parts, how="vertical").group_by("order_id").agg(pl.col("r").min())
        if held_parts
        else None
    )

    raw = some(t["pos_orders"]).select(*_ORDER_COLUMNS, "created_at", "paid")
    # Only a daily_journal store's journal covers its store-days (a per_order store's
    # journals count in its takings alone).
    daily = daily_journal(settings or {})
    journal_days = got["journal_days"]
    journal_days = journal_days.head(0) if daily is None else journal_days.filter(daily)
    covered = (
        journal_days.lazy().with_columns(pl.lit(True).alias("covered"))
        if journal_days.height
        else None
    )

    # One row per order_id (the earliest created_at); only repeated ids need the sort.
    once, more = split_repeated(raw, "order_id", _hashes(got, "order_repeats"))
    parts = [] if once is None else [once]
    if more is not None:
        parts.append(
            more.sort("order_id", "created_at", nulls_last=True).unique("order_id", keep="first")
        )
    orders = pl.concat(parts, how="vertical")
    pending = _pending(when, grace, daily)
    rank = pl.col("r")
    orders = orders.join(got["map_store"].lazy(), on="store_id", how="left")
    if held is None:
        orders = orders.with_columns(pl.lit(None, dtype=pl.Int32).alias("r"))
    else:
        orders = orders.join(held, on="order_id", how="left")
    if covered is None:
        orders = orders.with_columns(pl.lit(None, dtype=pl.Boolean).alias("covered"))
    else:
        orders = orders.join(covered, on=["store_id", "business_day"], how="left")
    orders = orders.select(
        *_ORDER_COLUMNS,
        "location",
        ((pl.col("state") == "completed") & pl.col("paid").fill_null(False))
        .fill_null(False)
        .alias("eligible"),
        pl.when(pl.col("location").is_null())
        .then(pl.lit(HELD_CAUSES[0]))
        .when(rank == 1)
        .then(pl.lit(HELD_CAUSES[1]))
        .when(rank == 2)
        .then(pl.lit(HELD_CAUSES[2]))
        .when(rank == 3)
        .then(pl.lit(HELD_CAUSES[3]))
        .when(rank == 4)
        .then(pl.lit(HELD_CAUSES[4]))
        .alias("held_cause"),
        (pending.fill_null(False) & pl.col("covered").is_null()).alias("pending"),
        pl.col("covered").fill_null(False),
        *id_hashes("order_id"),
    )
    # Materialise what every comparator reads, so each is computed once.
    known_frame = orders.collect()
    known = known_frame.lazy()
    exact = known_frame.get_column("_h1").n_unique() < known_frame.height
    in_scope = known
    scope_ids = None
    if day is not None:
        in_scope = in_scope.filter(pl.col("business_day") == day)
    if store is not None:
        in_scope = in_scope.filter(pl.col("store_id") == store)
    if scoped:
        in_scope = in_scope.collect().lazy()
        scope_ids = in_scope.select("order_id").collect().get_column("order_id")
    return Prepared(
        t=t,
        orders=in_scope,
        known=known,
        exact=exact,
        scope_ids=scope_ids,
        named=(known.select(_NAMED) if named is None else named.lazy().select(_NAMED)),
        map_store=got["map_store"].lazy(),
        loc_store=got["loc_store"].lazy(),
        map_tender=got["map_tender"].lazy(),
        map_tax=got["map_tax"].lazy(),
        closed_accounts=got["closed_accounts"].lazy(),
        account_tender=got["account_tender"].lazy(),
        unknown_line_skus=unknown_skus.lazy(),
        unmapped_payments=unmapped_payments.lazy(),
        unmapped_lines=unmapped_lines.lazy(),
        doc_ref_repeats=_hashes(got, "doc_ref_repeats"),
        quarantined=quarantined.lazy(),
        has_erp_items=has_erp_items,
        as_of=when,
        day=day,
        store=store,
    )


def daily_journal(settings: Mapping[str, str]) -> pl.Expr | None:
    """True for the rows whose `store_id` posts in daily_journal mode, as declared in the
    settings (`posting_mode`, overridden per store by `posting_mode.STORE_ID`); a store
    with no declaration, or any other value, is per_order. Never guessed from the data.
    None: no store is."""
    prefix = "posting_mode."
    modes = {k.removeprefix(prefix): v for k, v in settings.items() if k.startswith(prefix)}
    if settings.get("posting_mode") == "daily_journal":
        per_order = [store for store, mode in modes.items() if mode != "daily_journal"]
        return pl.col("store_id").is_in(per_order).not_().fill_null(True)
    daily = [store for store, mode in modes.items() if mode == "daily_journal"]
    return pl.col("store_id").is_in(daily).fill_null(False) if daily else None


def _pending(when: datetime | None, grace: timedelta, daily: pl.Expr | None) -> pl.Expr:
    """An unposted sale may still post: it is younger than `grace`, or its store posts daily
    journals and its business day has not closed `grace` ago (the day closes at midnight UTC
    after it: the snapshot holds no store time zone). A covered order is never pending."""
    if when is None:
        return pl.lit(False)
    instant = pl.Datetime("us", "UTC")
    young = pl.col("created_at") > pl.lit(when - grace, dtype=instant)
    if daily is None:
        return young
    closes = pl.col("business_day").cast(instant) + pl.duration(days=1) + pl.lit(grace)
    return young | (daily & (pl.lit(when, dtype=instant) < closes))


def _hashes(got: dict[str, pl.DataFrame], name: str) -> pl.Series | None:
    return got[name].get_column("_h") if name in got else None


_NAMED = ("order_id", "store_id", "order_type", "business_day", "_h1", "_h2")


def _named(t: dict[str, pl.LazyFrame], day: date | None, store: str | None) -> pl.DataFrame:
    """For a scoped run: the orders of its day and store, and those that ERP rows of its day
    name (to place those rows in a store, and to tell a document posted that day for an
    earlier sale from an orphan), one row per order_id (the earliest), with `_own`: the
    orders the run derives in full (of its store: the others only place ERP rows)."""
    orders, docs, journal = t["pos_orders"], t["erp_documents"], t["erp_journal_lines"]
    own = pl.lit(True)
    if day is not None:  # filters on the day skip most row groups: rows come in time order
        docs = docs.filter(pl.col("posting_date") == day)
        journal = journal.filter(pl.col("posting_date") == day)
        own = own & (pl.col("business_day") == day)
    if store is not None:
        own = own & (pl.col("store_id") == store)
    refs = named_orders(docs, journal, "order_id").collect().get_column("order_id")
    columns = ("order_id", "store_id", "order_type", "business_day", "created_at")
    found = orders.filter(own | among("order_id", refs)).select(columns)  # one pass
    same_store = pl.lit(True) if store is None else pl.col("store_id") == store
    return (
        found.sort("created_at", nulls_last=True)  # by an integer: cheaper than by the ids
        .unique("order_id", keep="first", maintain_order=True)
        .with_columns((own | same_store).fill_null(False).alias("_own"), *id_hashes("order_id"))
        .collect()
    )
