"""Exceptions as CSV, in the CONTRACT's field order and value forms.

Money as strings with two decimals (quantities keep three), days as YYYY-MM-DD,
instants as ISO 8601 UTC, absent values empty. Formatting only: no queries here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from app.filters import MONEY_KINDS
from app.queries import EXCEPTION_COLUMNS

__all__ = ["exceptions_csv"]

VALUE_COLUMNS = ("pos_value", "erp_value", "difference")
CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def exceptions_csv(frame: pl.DataFrame) -> str:
    """The exceptions frame (from `queries.exceptions`) as CSV text."""
    is_money = pl.col("kind").is_in(sorted(MONEY_KINDS))
    values = [
        pl.when(is_money)
        .then(pl.col(name).map_elements(_money, return_dtype=pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in VALUE_COLUMNS
    ]
    instants = [
        pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias(name)
        for name in ("first_seen", "last_seen", "resolved_at")
    ]
    return (
        frame.select(EXCEPTION_COLUMNS)
        .with_columns(*values, *instants)
        .write_csv(null_value="", date_format="%Y-%m-%d")
    )
