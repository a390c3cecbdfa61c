"""Mappings and master data: unmapped tenders, locations and VAT rates, closed accounts,
unknown SKUs, catalogue prices and stock levels.

Compares mapping and master tables only; must not look at ERP documents or tenders posted.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from recon.reconcile._config import EngineConfig
from recon.reconcile._frames import beyond, emit
from recon.reconcile._prepare import Prepared

__all__ = ["compare_master"]

_ZERO = Decimal(0)


def _single(name: str) -> pl.Expr:
    """The one value of `name` in a group, else null (e.g. the currency of a tender's money)."""
    return pl.when(pl.col(name).n_unique() == 1).then(pl.col(name).first()).alias(name)


def _eligible(p: Prepared) -> pl.LazyFrame:
    # Global findings sum over every order, in scope or not (`known` holds those they need).
    return p.known.filter(pl.col("eligible"))


def _unmapped_tender(p: Prepared) -> pl.LazyFrame:
    lf = (
        p.unmapped_payments.join(_eligible(p).select("order_id", "currency"), on="order_id")
        .group_by("tender")
        .agg(pl.col("amount").sum().alias("pos_value"), _single("currency"))
    )
    return emit(lf, "unmapped_tender", [pl.col("tender")], "tender_not_mapped")


def _unmapped_location(p: Prepared) -> pl.LazyFrame:
    lf = (
        _eligible(p)
        .filter(pl.col("location").is_null())
        .group_by(pl.col("store_id").alias("store"))
        .agg(pl.col("gross_total").sum().alias("pos_value"), _single("currency"))
    )
    return emit(lf, "unmapped_location", [pl.col("store")], "store_not_mapped")


def _unmapped_tax(p: Prepared) -> pl.LazyFrame:
    lf = (
        p.unmapped_lines.join(_eligible(p).select("order_id"), on="order_id", how="semi")
        .select("vat_rate", "sku")
        .unique()
        .with_columns(pl.col("vat_rate").alias("pos_value"))
    )
    key = [pl.col("vat_rate").cast(pl.String), pl.col("sku")]
    return emit(lf, "unmapped_tax_code", key, "vat_rate_not_mapped")


def _closed_account(p: Prepared) -> pl.LazyFrame:
    lf = p.closed_accounts.join(p.account_tender, on="account", how="left")
    return emit(lf, "closed_account", [pl.col("account")], "account_closed")


def _unknown_sku(p: Prepared) -> pl.LazyFrame:
    if not p.has_erp_items:
        return emit(p.t["erp_items"].select("sku"), "unknown_sku", [pl.col("sku")], "")
    items = (
        p.t["pos_items"]
        .filter(pl.col("active").fill_null(False))
        .select("sku")
        .join(p.t["erp_items"].select("sku"), on="sku", how="anti")
    )
    lf = pl.concat([p.unknown_line_skus, items], how="vertical").unique().drop_nulls()
    return emit(lf, "unknown_sku", [pl.col("sku")], "sku_not_in_erp")


def _price(p: Prepared) -> pl.LazyFrame:
    pos = (
        p.t["pos_items"]
        .filter(pl.col("active").fill_null(False))
        .sort("sku", "price_gross", nulls_last=True)
        .unique("sku", keep="first")
        .select("sku", pl.col("price_gross").alias("pos_value"))
    )
    erp = (
        p.t["erp_items"]
        .sort("sku", "price_gross", nulls_last=True)
        .unique("sku", keep="first")
        .select("sku", pl.col("price_gross").alias("erp_value"))
    )
    lf = (
        pos.join(erp, on="sku")
        .filter(pl.col("pos_value") != pl.col("erp_value"))
        .with_columns((pl.col("erp_value") - pl.col("pos_value")).alias("difference"))
    )
    return emit(lf, "price_mismatch", [pl.col("sku")], "price_differs", "warning")


def _stock(p: Prepared, cfg: EngineConfig) -> pl.LazyFrame:
    pos = (
        p.t["pos_stock"]
        .join(p.map_store.select(pl.col("store_id").alias("location")), on="location", how="semi")
        .group_by(pl.col("location").alias("store"), "sku")
        .agg(pl.col("quantity").sum().alias("pos_value"))
    )
    erp = (
        p.t["erp_stock"]
        .join(p.loc_store, on="location")
        .group_by(pl.col("loc_store").alias("store"), "sku")
        .agg(pl.col("quantity").sum().alias("erp_value"))
    )
    lf = (
        pos.join(erp, on=["store", "sku"], how="full", coalesce=True)
        .with_columns(
            pl.col("pos_value").fill_null(_ZERO),
            pl.col("erp_value").fill_null(_ZERO),
        )
        .with_columns((pl.col("erp_value") - pl.col("pos_value")).alias("difference"))
        .filter(beyond(pl.col("difference"), pl.col("pos_value"), cfg.stock))
    )
    key = [pl.col("store"), pl.col("sku")]
    return emit(lf, "stock_variance", key, "quantity_differs", "warning")


def compare_master(p: Prepared, cfg: EngineConfig) -> list[pl.LazyFrame]:
    return [
        _unmapped_tender(p),
        _unmapped_location(p),
        _unmapped_tax(p),
        _closed_account(p),
        _unknown_sku(p),
        _price(p),
        _stock(p, cfg),
    ]
