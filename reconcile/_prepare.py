"""Derived inputs every comparator shares: de-duplicated orders with their eligibility,
mapped location, held cause, pending and daily-journal flags, and the lookup tables.

Builds lazy frames only; it emits no exception itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from reconcile._frames import flag

__all__ = ["HELD_CAUSES", "Prepared", "prepare"]

# Most specific first: an order held for several reasons names the first that applies.
HELD_CAUSES = (
    "held_unmapped_location",
    "held_unmapped_tender",
    "held_unmapped_tax_code",
    "held_unknown_sku",
    "held_closed_account",
)


@dataclass(frozen=True)
class Prepared:
    """Conformed tables plus the frames derived from them (all lazy)."""

    t: dict[str, pl.LazyFrame]
    orders: pl.LazyFrame  # pos_orders + eligible, location, held_cause, pending, covered
    map_store: pl.LazyFrame  # store_id, location (one per store)
    loc_store: pl.LazyFrame  # location, loc_store (one store per location)
    map_tender: pl.LazyFrame  # tender, account (one per tender)
    map_tax: pl.LazyFrame  # vat_rate, tax_code, account (one per rate)
    closed_accounts: pl.LazyFrame  # account (mapped, and inactive or absent in the ERP)
    account_tender: pl.LazyFrame  # account, tender (null when several tenders share it)
    has_erp_items: bool
    as_of: datetime | None


def _height(lf: pl.LazyFrame) -> int:
    return int(lf.select(pl.len()).collect().item())


def _as_of(orders: pl.LazyFrame, as_of: datetime | None) -> datetime | None:
    if as_of is not None:
        return as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    latest = orders.select(pl.col("created_at").max()).collect().item()
    return latest if isinstance(latest, datetime) else None


def prepare(t: dict[str, pl.LazyFrame], grace: timedelta, as_of: datetime | None) -> Prepared:
    map_store = t["map_store"].sort("store_id", "location").unique("store_id", keep="first")
    loc_store = (
        map_store.sort("location", "store_id")
        .unique("location", keep="first")
        .select("location", pl.col("store_id").alias("loc_store"))
    )
    map_tender = t["map_tender"].sort("tender", "account").unique("tender", keep="first")
    map_tax = t["map_tax"].sort("vat_rate", "tax_code").unique("vat_rate", keep="first")
    has_erp_items = _height(t["erp_items"]) > 0
    has_accounts = _height(t["erp_accounts"]) > 0

    mapped_accounts = pl.concat(
        [map_tender.select("account"), map_tax.select("account")], how="vertical"
    ).unique()
    if has_accounts:
        active = t["erp_accounts"].group_by("account").agg(pl.col("active").fill_null(False).any())
        closed_accounts = (
            mapped_accounts.join(active, on="account", how="left")
            .filter(pl.col("active").fill_null(False).not_())
            .select("account")
        )
    else:
        closed_accounts = mapped_accounts.head(0)
    account_tender = map_tender.group_by("account").agg(
        pl.when(pl.col("tender").n_unique() == 1).then(pl.col("tender").first()).alias("tender")
    )

    payments, lines = t["pos_payments"], t["pos_order_lines"]
    f_tender = flag(payments.join(map_tender, on="tender", how="anti"), "order_id", "f_tender")
    f_tax = flag(lines.join(map_tax, on="vat_rate", how="anti"), "order_id", "f_tax")
    if has_erp_items:
        unknown = lines.join(t["erp_items"].select("sku").unique(), on="sku", how="anti")
    else:
        unknown = lines.head(0)
    f_sku = flag(unknown, "order_id", "f_sku")
    closed_use = pl.concat(
        [
            payments.join(map_tender, on="tender").select("order_id", "account"),
            lines.join(map_tax, on="vat_rate").select("order_id", "account"),
        ],
        how="vertical",
    ).join(closed_accounts, on="account", how="semi")
    f_closed = flag(closed_use, "order_id", "f_closed")

    journal_keys = (
        pl.concat(
            [
                t["erp_documents"].filter(pl.col("doc_type") == "journal").select("pos_ref"),
                t["erp_journal_lines"].select("pos_ref"),
            ],
            how="vertical",
        )
        .drop_nulls()
        .unique()
        .with_columns(pl.lit(True).alias("covered"))
    )

    when = _as_of(t["pos_orders"], as_of)
    pending = (
        pl.col("created_at") > pl.lit(when - grace, dtype=pl.Datetime("us", "UTC"))
        if when is not None
        else pl.lit(False)
    )
    orders = (
        t["pos_orders"]
        .sort("order_id", "created_at", nulls_last=True)
        .unique("order_id", keep="first")
        .join(map_store, on="store_id", how="left")
        .join(f_tender, on="order_id", how="left")
        .join(f_tax, on="order_id", how="left")
        .join(f_sku, on="order_id", how="left")
        .join(f_closed, on="order_id", how="left")
        .with_columns(
            pl.concat_str(
                [pl.col("store_id"), pl.col("business_day").dt.to_string("%Y-%m-%d")],
                separator="-",
            ).alias("store_day"),
        )
        .join(journal_keys, left_on="store_day", right_on="pos_ref", how="left")
        .with_columns(
            ((pl.col("state") == "completed") & pl.col("paid").fill_null(False))
            .fill_null(False)
            .alias("eligible"),
            pl.when(pl.col("location").is_null())
            .then(pl.lit(HELD_CAUSES[0]))
            .when(pl.col("f_tender").fill_null(False))
            .then(pl.lit(HELD_CAUSES[1]))
            .when(pl.col("f_tax").fill_null(False))
            .then(pl.lit(HELD_CAUSES[2]))
            .when(pl.col("f_sku").fill_null(False))
            .then(pl.lit(HELD_CAUSES[3]))
            .when(pl.col("f_closed").fill_null(False))
            .then(pl.lit(HELD_CAUSES[4]))
            .alias("held_cause"),
            pending.fill_null(False).alias("pending"),
            pl.col("covered").fill_null(False),
        )
        .drop("f_tender", "f_tax", "f_sku", "f_closed", "store_day")
    )
    # Materialise what every comparator reads, so each is computed once.
    frames = pl.collect_all(
        [orders, map_store, loc_store, map_tender, map_tax, closed_accounts, account_tender]
    )
    orders, map_store, loc_store, map_tender, map_tax, closed_accounts, account_tender = (
        f.lazy() for f in frames
    )
    return Prepared(
        t=t,
        orders=orders,
        map_store=map_store,
        loc_store=loc_store,
        map_tender=map_tender,
        map_tax=map_tax,
        closed_accounts=closed_accounts,
        account_tender=account_tender,
        has_erp_items=has_erp_items,
        as_of=when,
    )
