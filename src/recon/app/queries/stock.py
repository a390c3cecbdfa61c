"""The Stock page: stock variances valued at the ERP price."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from sqlalchemy import Connection

from recon.app.filters import Filters
from recon.app.queries._frames import MONEY, _table
from recon.app.queries.exceptions import exceptions
from recon.warehouse.models import ErpItem


def stock_variances(conn: Connection, filters: Filters) -> pl.DataFrame:
    """stock_variance exceptions valued at the ERP gross price, largest value first.

    `value` = |ERP - POS quantity| x ERP master gross price (null when the ERP has no
    price for the SKU; those come last). Day filters do not apply: stock has no day.
    """
    scoped = replace(filters, kinds=("stock_variance",), owner=None, date_from=None, date_to=None)
    frame = exceptions(conn, scoped)
    skus = sorted({s for s in frame["sku"].to_list() if s is not None})
    prices = _table(conn, ErpItem, ErpItem.sku.in_(skus)).select(
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
