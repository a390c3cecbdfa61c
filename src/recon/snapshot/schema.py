"""Column types of every snapshot file, and reading/writing them.

Money is Decimal(18,2), quantities Decimal(18,3), VAT rates Decimal(5,2), days are
Date, instants UTC Datetime(us). Extra columns in a file are allowed and dropped on
read; a missing file reads as an empty table; a missing column is an error naming
the file and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import polars as pl

from recon.snapshot.location import SnapshotError, Where, exists, files, is_dir, join, readable

MONEY = pl.Decimal(18, 2)
QTY = pl.Decimal(18, 3)
RATE = pl.Decimal(5, 2)
DAY = pl.Date()
INSTANT = pl.Datetime("us", "UTC")
S = pl.String()

TABLES: dict[str, dict[str, pl.DataType]] = {
    "pos_orders": {
        "order_id": S,
        "store_id": S,
        "business_day": DAY,
        "created_at": INSTANT,
        "order_type": S,
        "state": S,
        "paid": pl.Boolean(),
        "original_order_id": S,
        "gross_total": MONEY,
        "vat_total": MONEY,
        "currency": S,
    },
    "pos_order_lines": {
        "order_id": S,
        "line_no": pl.Int64(),
        "sku": S,
        "quantity": QTY,
        "unit_price_gross": MONEY,
        "line_discount": MONEY,
        "line_gross": MONEY,
        "line_vat": MONEY,
        "vat_rate": RATE,
    },
    "pos_payments": {"order_id": S, "payment_no": pl.Int64(), "tender": S, "amount": MONEY},
    "erp_documents": {
        "doc_id": S,
        "doc_no": S,
        "doc_type": S,
        "pos_ref": S,
        "original_pos_ref": S,
        "location": S,
        "posting_date": DAY,
        "gross_total": MONEY,
        "vat_total": MONEY,
        "currency": S,
    },
    "erp_document_lines": {
        "doc_id": S,
        "line_no": pl.Int64(),
        "sku": S,
        "quantity": QTY,
        "net": MONEY,
        "vat": MONEY,
        "tax_code": S,
    },
    "erp_journal_lines": {
        "journal_id": S,
        "posting_date": DAY,
        "location": S,
        "account": S,
        "tender": S,
        "amount": MONEY,
        "currency": S,
        "pos_ref": S,
    },
    "pos_stock": {"location": S, "sku": S, "quantity": QTY, "as_of": INSTANT},
    "erp_stock": {"location": S, "sku": S, "quantity": QTY, "as_of": INSTANT},
    "map_store": {"store_id": S, "location": S},
    "map_tender": {"tender": S, "account": S},
    "map_tax": {"vat_rate": RATE, "tax_code": S, "account": S},
    "pos_items": {"sku": S, "price_gross": MONEY, "vat_rate": RATE, "active": pl.Boolean()},
    "erp_items": {"sku": S, "price_gross": MONEY, "tax_code": S, "active": pl.Boolean()},
    "erp_accounts": {"account": S, "active": pl.Boolean()},
    # Optional files (an absent one reads as empty, like every table):
    # the mappings' [settings] (posting_mode, posting_mode.STORE_ID, tolerances, ...)
    "map_settings": {"key": S, "value": S},
    # POS orders the collector quarantined (their store and day when the payload gave them)
    "pos_quarantine": {"order_id": S, "store_id": S, "business_day": DAY, "reason": S},
}

EXCEPTION_FIELDS: tuple[str, ...] = (
    "id",
    "kind",
    "cause",
    "store",
    "business_day",
    "pos_ref",
    "erp_ref",
    "sku",
    "tender",
    "account",
    "pos_value",
    "erp_value",
    "difference",
    "currency",
    "severity",
    "owner",
    "status",
    "first_seen",
    "last_seen",
)

EXCEPTIONS_SCHEMA: dict[str, pl.DataType] = {
    name: (QTY if name in ("pos_value", "erp_value", "difference") else S)
    for name in EXCEPTION_FIELDS
}
EXCEPTIONS_SCHEMA["business_day"] = DAY
EXCEPTIONS_SCHEMA["first_seen"] = INSTANT
EXCEPTIONS_SCHEMA["last_seen"] = INSTANT


# The partition of rows no store claims (an ERP row without a mapped location, a line
# without its order).
NO_STORE = "__none__"


def empty_frame(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=TABLES[table])


def _conform(lf: pl.LazyFrame, table: str, path: Where) -> pl.LazyFrame:
    want = TABLES[table]
    try:
        have = lf.collect_schema()
    except pl.exceptions.PolarsError as exc:  # not Parquet, truncated, a corrupt footer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SnapshotError(f"{path}: not a readable Parquet file ({first})") from None
    missing = [c for c in want if c not in have]
    if missing:
        raise SnapshotError(f"{path}: missing column {missing[0]!r} (table {table})")
    exprs = []
    for name, dtype in want.items():
        col = pl.col(name)
        source = have[name]
        if dtype == INSTANT and isinstance(source, pl.Datetime) and source.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        exprs.append(col.cast(dtype).alias(name))
    return lf.select(exprs)


def scan_table(directory: Where, table: str, stores: Sequence[str] | None = None) -> pl.LazyFrame:
    """One snapshot table, lazily, with the CONTRACT's columns and types.

    `directory` is a local path or an fsspec URL (s3://, gs://, abfs://, file://, memory://).
    The table is `TABLE.parquet` or, in the partitioned layout (`recon.snapshot.partitioned`),
    the files under `TABLE/`; `stores` reads only those stores' partitions of a partitioned
    table.
    """
    path = join(directory, f"{table}.parquet")
    if stores is None and exists(path):
        return _conform(
            pl.scan_parquet(readable([str(path)]), hive_partitioning=False), table, path
        )
    folder = join(directory, table)
    found: list[str] = []
    if is_dir(folder):
        if stores is None:
            found = files(folder)
        for store in stores or ():
            part = join(folder, partition_dir(store))
            found += files(part) if is_dir(part) else []
    if not found:
        return empty_frame(table).lazy()
    return _conform(pl.scan_parquet(readable(found), hive_partitioning=False), table, folder)


def partition_dir(store: str | None) -> str:
    """The Hive directory of one store's partition (`store_id=...`, URL-quoted)."""
    return f"store_id={quote(NO_STORE if store is None else store, safe='')}"


def read_snapshot(directory: Where) -> dict[str, pl.LazyFrame]:
    """Every table of a snapshot directory, in either layout, local or at an fsspec URL."""
    if not is_dir(directory):
        raise SnapshotError(f"{directory}: snapshot directory not found")
    if not any(
        exists(join(directory, f"{t}.parquet")) or is_dir(join(directory, t)) for t in REQUIRED
    ):  # a wrong directory read as an empty snapshot was 'no exceptions', and got one
        raise SnapshotError(
            f"{directory}: not a snapshot directory (none of {', '.join(REQUIRED)} in it)"
        )
    return {table: scan_table(directory, table) for table in TABLES}


# A snapshot holds at least one of these (an export writes them all, empty or not).
REQUIRED = ("pos_orders", "erp_documents", "erp_journal_lines", "pos_stock", "erp_stock")


def write_table(directory: Path, table: str, frame: pl.DataFrame) -> Path:
    """Write one table with exactly the CONTRACT's columns and types."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{table}.parquet"
    _conform(frame.lazy(), table, path).collect().write_parquet(path)
    return path
