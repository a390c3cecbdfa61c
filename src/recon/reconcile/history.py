"""Exception history and export: carrying status and first/last seen across runs, and the
JSON/CSV record form.

Works on exception frames only; must not recompute findings or touch the warehouse.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl

from recon.snapshot import EXCEPTIONS_SCHEMA

__all__ = ["OPEN_STATUSES", "QUANTITY_KINDS", "merge_history", "to_records"]

OPEN_STATUSES = ("new", "persisting")
QUANTITY_KINDS = frozenset({"stock_variance", "line_mismatch"})
_VALUES = ("pos_value", "erp_value", "difference")


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col(n).cast(t) for n, t in EXCEPTIONS_SCHEMA.items())


def merge_history(current: pl.DataFrame, previous: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """This run's findings merged with the previous exceptions table.

    - id not seen before: `new`, first_seen = last_seen = now;
    - id seen before: `persisting` with its first_seen kept and last_seen = now, except a
      `closed` row (closed by a person), which stays `closed` with last_seen = now; a
      `resolved` row that reappears is reopened as `persisting`;
    - previous `new`/`persisting` id not found now: `resolved`, last_seen kept; previous
      `resolved`/`closed` rows not found now are kept unchanged.
    Values of a reappearing row come from this run. When the run was scoped with
    `day`/`store`, the caller must pass in `previous` only the rows of that same scope,
    otherwise findings outside the scope would be marked resolved. Sorted by id.
    """
    if now.tzinfo is None:
        raise ValueError("merge_history: `now` must be timezone-aware (UTC)")
    cur = _conform(current)
    prev = _conform(previous)
    instant = EXCEPTIONS_SCHEMA["last_seen"]
    now_lit = pl.lit(now).cast(instant)
    seen = prev.select("id", pl.col("status").alias("_prev"), pl.col("first_seen").alias("_first"))
    now_rows = cur.join(seen, on="id", how="left").with_columns(
        pl.when(pl.col("_prev").is_null())
        .then(pl.lit("new"))
        .when(pl.col("_prev") == "closed")
        .then(pl.lit("closed"))
        .otherwise(pl.lit("persisting"))
        .alias("status"),
        pl.coalesce(pl.col("_first"), now_lit).alias("first_seen"),
        now_lit.alias("last_seen"),
    )
    gone = prev.join(cur.select("id"), on="id", how="anti").with_columns(
        pl.when(pl.col("status").is_in(list(OPEN_STATUSES)))
        .then(pl.lit("resolved"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    merged = pl.concat([_conform(now_rows), gone], how="vertical")
    return merged.sort("id")


def _text(value: object, kind: object, name: str) -> object:
    if value is None:
        return None
    if isinstance(value, Decimal):
        places = 3 if kind in QUANTITY_KINDS else 2
        return f"{value:.{places}f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_records(exceptions: pl.DataFrame) -> list[dict[str, object]]:
    """Exceptions as JSON/CSV-ready dicts in CONTRACT field order: money as strings with two
    decimals (quantities of stock_variance / line_mismatch with three), days and instants
    ISO 8601, absent values None."""
    frame = _conform(exceptions)
    out: list[dict[str, object]] = []
    for row in frame.iter_rows(named=True):
        kind = row["kind"]
        out.append({name: _text(row[name], kind, name) for name in EXCEPTIONS_SCHEMA})
    return out
