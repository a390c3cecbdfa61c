"""Shared frame helpers: conforming input tables, tolerances, and shaping exception rows.

Holds no reconciliation rule of its own; comparators build on these helpers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

import polars as pl

from recon.kinds import FINANCE, OPS, kinds_of
from recon.reconcile._config import Tolerance
from recon.snapshot import EXCEPTIONS_SCHEMA, INSTANT, TABLES, SnapshotError

__all__ = [
    "DOC_KINDS",
    "FINANCE",
    "OPS",
    "STORE_DAY",
    "among",
    "beyond",
    "conform_tables",
    "declared",
    "emit",
    "exception_id",
    "finish",
    "flag",
    "gather",
    "id_hashes",
    "join_orders",
    "repeated_hashes",
    "split_repeated",
    "store_day_ref",
]

_OPS_KINDS = frozenset(kinds_of(OPS))
DOC_KINDS = ("invoice", "sales_order")
# A daily journal's reference: `{store id}-{YYYY-MM-DD}` (groups: store, day).
STORE_DAY = r"^(.+)-(\d{4}-\d{2}-\d{2})$"


def store_day_ref(store: str, day: date) -> str:
    """The reference a store-day's daily journal carries (CONTRACT): `{store id}-{YYYY-MM-DD}`."""
    return f"{store}-{day.isoformat()}"


_NULL_KEY = "\x00"
_SEP = "\x1f"


def exception_id(kind: str, *key: str | None) -> str:
    """Stable id of a finding: first 16 hex digits of sha1(kind and its key parts).

    A None key part is hashed differently from an empty string.
    """
    parts = [kind, *(_NULL_KEY if k is None else k for k in key)]
    return hashlib.sha1(_SEP.join(parts).encode()).hexdigest()[:16]


def _ids(keys: pl.Series) -> pl.Series:
    # One hash per finding (not per input row): findings are few next to the inputs.
    return pl.Series(
        [hashlib.sha1(k.encode()).hexdigest()[:16] for k in keys.to_list()], dtype=pl.String()
    )


def conform_tables(tables: Mapping[str, pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    """Every snapshot table with exactly its CONTRACT columns; a missing table is empty."""
    out: dict[str, pl.LazyFrame] = {}
    for name, want in TABLES.items():
        lf = tables.get(name)
        if lf is None:
            out[name] = pl.DataFrame(schema=want).lazy()
            continue
        have = lf.collect_schema()
        missing = [c for c in want if c not in have]
        if missing:
            raise SnapshotError(f"table {name}: missing column {missing[0]!r}")
        exprs = []
        for col, dtype in want.items():
            expr = pl.col(col)
            got = have[col]
            if isinstance(got, pl.Datetime) and got.time_zone is None and dtype == INSTANT:
                expr = expr.dt.replace_time_zone("UTC")
            exprs.append(expr.cast(dtype).alias(col))
        out[name] = lf.select(exprs)
    return out


def declared(settings: pl.DataFrame) -> dict[str, str]:
    """The map_settings rows as a dict (a repeated key keeps its first value by sort)."""
    out: dict[str, str] = {}
    for key, value in settings.drop_nulls().sort("key", "value").iter_rows():
        out.setdefault(key, value)
    return out


def beyond(diff: pl.Expr, base: pl.Expr, tol: Tolerance) -> pl.Expr:
    """True where |diff| > tol.absolute + tol.relative * |base| (nulls count as zero)."""
    limit = pl.lit(tol.absolute) + pl.lit(tol.relative) * base.fill_null(Decimal(0)).abs()
    return diff.fill_null(Decimal(0)).abs() > limit


def repeated_hashes(lf: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """`_h`: the 64-bit hashes of `column` values that occur more than once (nulls included).

    Sorting the hashes finds repeats several times faster than hashing the strings again
    (`is_duplicated`); a collision only adds a hash, which `split_repeated` tolerates.
    """
    h = pl.col("_h")
    return lf.select(pl.col(column).hash().alias("_h").sort()).filter(h == h.shift(1)).unique()


def split_repeated(
    lf: pl.LazyFrame, column: str, repeated: pl.Series | None
) -> tuple[pl.LazyFrame | None, pl.LazyFrame | None]:
    """(rows whose `column` value occurs once, the rest), either None when it has no rows,
    given `repeated_hashes` of a superset of `lf` (None: not computed, all rows are "the
    rest"). The second frame may hold unique rows (a hash collision, or no hashes given),
    so whoever reads it must treat them as the first frame would.
    """
    if repeated is None:
        return None, lf
    if repeated.is_empty():
        return lf, None
    is_repeated = pl.col(column).hash().is_in(repeated.implode())
    return lf.filter(is_repeated.not_()), lf.filter(is_repeated)


_SEEDS = (11, 12)


def among(column: str, values: pl.Series) -> pl.Expr:
    """Rows whose `column` is one of the (few) `values`, as a filter the Parquet reader can
    skip row groups with: a range on their min/max statistics, then the exact set. Ids grow
    with time, so a day's ids fall in a few row groups (unlike a semi join: a full scan)."""
    values = values.drop_nulls()
    if values.is_empty():
        return pl.lit(False)
    low, high = pl.lit(values.min(), dtype=values.dtype), pl.lit(values.max(), dtype=values.dtype)
    return pl.col(column).is_between(low, high) & pl.col(column).is_in(values.implode())


def named_orders(docs: pl.LazyFrame, journal: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """The POS order ids ERP rows name (documents' `pos_ref` and `original_pos_ref`, journal
    lines' `pos_ref`), once each, as column `name`."""
    return (
        pl.concat(
            [
                docs.select(pl.col("pos_ref").alias(name)),
                docs.select(pl.col("original_pos_ref").alias(name)),
                journal.select(pl.col("pos_ref").alias(name)),
            ],
            how="vertical",
        )
        .drop_nulls()
        .unique()
    )


def id_hashes(column: str) -> list[pl.Expr]:
    """`_h1`, `_h2`: two independent 64-bit hashes of an id column (see `join_orders`)."""
    first, second = _SEEDS
    return [pl.col(column).hash(first).alias("_h1"), pl.col(column).hash(second).alias("_h2")]


def join_orders(
    lf: pl.LazyFrame, ref: str, orders: pl.LazyFrame, how: Literal["inner", "left"], exact: bool
) -> pl.LazyFrame:
    """`lf` joined with `orders` (order_id, `id_hashes`, other columns) where `ref` names the
    order. Joins on the first hash, several times faster than on the strings, and keeps a
    match only when the second hash agrees too; `exact` (the orders' first hashes are not
    unique) joins on the strings. The result has `lf`'s columns and the other ones."""
    if exact:
        return lf.join(orders.drop("_h1", "_h2"), left_on=ref, right_on="order_id", how=how)
    cols = [c for c in orders.collect_schema() if c not in ("order_id", "_h1", "_h2")]
    hashed = lf.with_columns(pl.col(ref).hash(_SEEDS[0]).alias("_h1"))
    joined = hashed.join(orders.drop("order_id"), on="_h1", how=how)
    same = pl.col(ref).hash(_SEEDS[1]) == pl.col("_h2")
    if how == "inner":
        joined = joined.filter(same)
    else:
        joined = joined.with_columns(pl.when(same).then(pl.col(c)).alias(c) for c in cols)
    return joined.drop("_h1", "_h2")


def flag(keys: pl.LazyFrame, column: str, name: str) -> pl.LazyFrame:
    """Distinct `column` values of `keys` with a True column `name`, to left-join as a flag."""
    return keys.select(column).unique().with_columns(pl.lit(True).alias(name))


def emit(
    lf: pl.LazyFrame,
    kind: str,
    key: Sequence[pl.Expr],
    cause: pl.Expr | str,
    severity: pl.Expr | str = "error",
) -> pl.LazyFrame:
    """Shape comparator rows into exception rows (id hashed later in `finish`).

    `lf` may hold any subset of the exception fields; the rest become null.
    """
    have = lf.collect_schema()
    key_exprs = [pl.lit(kind), *(k.cast(pl.String).fill_null(_NULL_KEY) for k in key)]
    cols: list[pl.Expr] = [pl.concat_str(key_exprs, separator=_SEP).alias("_key")]
    for name, dtype in EXCEPTIONS_SCHEMA.items():
        if name == "id":
            continue
        if name == "kind":
            expr: pl.Expr = pl.lit(kind)
        elif name == "cause":
            expr = pl.lit(cause) if isinstance(cause, str) else cause
        elif name == "severity":
            expr = pl.lit(severity) if isinstance(severity, str) else severity
        elif name == "owner":
            expr = pl.lit(OPS if kind in _OPS_KINDS else FINANCE)
        elif name in have:
            expr = pl.col(name)
        else:
            expr = pl.lit(None)
        cols.append(expr.cast(dtype).alias(name))
    return lf.select(cols)


def gather(parts: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """All exception rows of all comparators, still lazy and without ids."""
    if not parts:
        return pl.DataFrame(schema={"_key": pl.String(), **EXCEPTIONS_SCHEMA}).drop("id").lazy()
    return pl.concat(parts, how="vertical")


def finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Hash ids of gathered exception rows, keep one row per id, sort by id."""
    ids = _ids(frame.get_column("_key"))
    frame = frame.with_columns(ids.alias("id")).drop("_key")
    frame = frame.sort("id", "cause", "erp_ref", nulls_last=True).unique(
        subset="id", keep="first", maintain_order=True
    )
    return frame.select(list(EXCEPTIONS_SCHEMA))
