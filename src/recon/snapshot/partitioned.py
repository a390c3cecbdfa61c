"""The partitioned snapshot layout: the large tables split by store and month (Hive style),
so that a worker on another machine reads only its store's files.

    ROOT/pos_orders/store_id=7/month=2024-05/part-0.parquet
    ROOT/erp_stock/store_id=7/part-0.parquet
    ROOT/map_store.parquet                       (mappings and master data: whole)

A row goes to the store it concerns: a POS order to its store (every row of one order id to
the store of its earliest row, so a repeated id stays in one partition), its lines and
payments with it, a quarantined order to the store of its order or its own; an ERP row to
the store its location maps to, else (no mapped location) to the store of the order its
pos_ref names, a document line with its document; rows no store claims to
`store_id=__none__`. The files keep every column (the directory names are not read back).
The few ERP rows whose order lives in another store than their location (wrong-store
documents) are moved to that store by the distributed run (`recon.reconcile.distributed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import unquote

import polars as pl

from recon.snapshot.location import (
    SnapshotError,
    Where,
    exists,
    is_dir,
    join,
    listdir,
    open_read,
    open_write,
    remove,
)
from recon.snapshot.schema import NO_STORE, TABLES, _conform, partition_dir, scan_table

__all__ = ["INDEX", "PARTITIONED", "read_index", "read_partition", "stores", "write_partitioned"]

PARTITIONED = (
    "pos_orders",
    "pos_order_lines",
    "pos_payments",
    "pos_quarantine",
    "erp_documents",
    "erp_document_lines",
    "erp_journal_lines",
    "pos_stock",
    "erp_stock",
)
_PART, _MONTH = "_store_part", "_month_part"
# What crosses store partitions, written beside them (ROOT/_index/NAME.parquet) so that a
# distributed run plans its exchange without reading every partition first:
INDEX: dict[str, dict[str, pl.DataType]] = {
    # the POS order ids (or store-day references) a store's ERP rows name that are not
    # orders of that store
    "named": {"store": pl.String(), "ref": pl.String()},
    # the stores that could take each of those: 0 its order, 1 its quarantined order, 3 an
    # ERP document carrying it (2, a store-day journal, is read from the reference itself)
    "holders": {"ref": pl.String(), "store": pl.String(), "rank": pl.Int32()},
    # each store's latest order time (the run's as_of when none is given)
    "latest": {"store": pl.String(), "created_at": TABLES["pos_orders"]["created_at"]},
}
_BATCH = 16  # stores split out of a table at once


def _month(day: str) -> pl.Expr:
    return pl.col(day).dt.strftime("%Y-%m")


def _routed(t: Mapping[str, pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    """Each partitioned table with its store partition and month."""
    map_store = t["map_store"].sort("store_id", "location").unique("store_id", keep="first")
    loc_store = (
        map_store.sort("location", "store_id")
        .unique("location", keep="first")
        .select("location", pl.col("store_id").alias(_PART))
    )
    # Collected once (three columns), so each table below is written on its own.
    order_part = (
        t["pos_orders"]
        .select(
            "order_id",
            pl.col("store_id")
            .sort_by("created_at", nulls_last=True)
            .first()
            .over("order_id")
            .alias(_PART),
            _month("business_day").alias(_MONTH),
        )
        .unique("order_id", keep="first")
        .collect()
        .lazy()
    )
    orders = t["pos_orders"].join(order_part, on="order_id", how="left")
    # An ERP row without a mapped location goes where the engine places it: the store of the
    # order its pos_ref names (a credit note's: else of the sale it credits).
    by_ref = order_part.select(pl.col("order_id").alias("_ref"), pl.col(_PART).alias("_r"))
    by_orig = by_ref.rename({"_ref": "_orig", "_r": "_o"})
    docs = (
        t["erp_documents"]
        .join(loc_store, on="location", how="left")
        .join(by_ref, left_on="pos_ref", right_on="_ref", how="left")
        .join(by_orig, left_on="original_pos_ref", right_on="_orig", how="left")
        .with_columns(
            pl.coalesce(_PART, "_r", "_o").alias(_PART), _month("posting_date").alias(_MONTH)
        )
        .drop("_r", "_o")
    )
    doc_part = docs.select("doc_id", _PART, _MONTH).unique("doc_id", keep="first").collect().lazy()
    journal = (
        t["erp_journal_lines"]
        .join(loc_store, on="location", how="left")
        .join(by_ref, left_on="pos_ref", right_on="_ref", how="left")
        .with_columns(pl.coalesce(_PART, "_r").alias(_PART), _month("posting_date").alias(_MONTH))
        .drop("_r")
    )
    quarantine = (
        t["pos_quarantine"]
        .join(order_part.select("order_id", pl.col(_PART).alias("_o")), on="order_id", how="left")
        .with_columns(
            pl.coalesce("_o", "store_id").alias(_PART), _month("business_day").alias(_MONTH)
        )
        .drop("_o")
    )
    return {
        "pos_orders": orders,
        "pos_order_lines": t["pos_order_lines"].join(order_part, on="order_id", how="left"),
        "pos_payments": t["pos_payments"].join(order_part, on="order_id", how="left"),
        "pos_quarantine": quarantine,
        "erp_documents": docs,
        "erp_document_lines": t["erp_document_lines"].join(doc_part, on="doc_id", how="left"),
        "erp_journal_lines": journal,
        "pos_stock": t["pos_stock"].join(
            map_store.select("store_id", pl.col("store_id").alias(_PART)),
            left_on="location",
            right_on="store_id",
            how="left",
        ),
        "erp_stock": t["erp_stock"].join(loc_store, on="location", how="left"),
    }


def _write(frame: pl.DataFrame, path: Where) -> None:
    with open_write(path) as out:
        frame.write_parquet(out)


def _index(routed: Mapping[str, pl.LazyFrame]) -> list[pl.DataFrame]:
    """The INDEX tables of a routed snapshot, in INDEX's order."""
    part = pl.col(_PART).fill_null(NO_STORE).alias("store")
    docs, journal = routed["erp_documents"], routed["erp_journal_lines"]
    orders = routed["pos_orders"].select(part, pl.col("order_id").alias("ref"))
    quarantined = routed["pos_quarantine"].select(part, pl.col("order_id").alias("ref"))
    named = (
        pl.concat(
            [
                docs.select(part, pl.col("pos_ref").alias("ref")),
                docs.select(part, pl.col("original_pos_ref").alias("ref")),
                journal.select(part, pl.col("pos_ref").alias("ref")),
            ],
            how="vertical",
        )
        .drop_nulls("ref")
        .unique()
        .join(pl.concat([orders, quarantined], how="vertical"), on=["store", "ref"], how="anti")
        .sort("store", "ref")
    )
    refs = named.select("ref").unique()
    carriers = docs.select(part, pl.col("pos_ref").alias("ref"))
    holders = (
        pl.concat(
            [
                lf.join(refs, on="ref", how="semi")
                .unique()
                .with_columns(pl.lit(rank).alias("rank"))
                for rank, lf in ((0, orders), (1, quarantined), (3, carriers))
            ],
            how="vertical",
        )
        .select("ref", "store", pl.col("rank").cast(pl.Int32))
        .sort("ref", "rank", "store")
    )
    latest = (
        routed["pos_orders"]
        .group_by(part)
        .agg(pl.col("created_at").max())
        .select("store", "created_at")
        .sort("store")
    )
    return pl.collect_all([named, holders, latest])


def read_index(root: Where) -> dict[str, pl.DataFrame]:
    """The INDEX tables of the partitioned snapshot at `root`."""
    found: dict[str, pl.DataFrame] = {}
    for name, schema in INDEX.items():
        path = join(root, "_index", f"{name}.parquet")
        if not exists(path):
            raise SnapshotError(
                f"{root}: partitioned snapshot without its index ({path}): write it again "
                "(recon snapshot DIR --partitioned)"
            )
        try:
            with open_read(path) as file:
                found[name] = pl.read_parquet(file).select(list(schema)).cast(schema)  # type: ignore[arg-type]
        except pl.exceptions.PolarsError as exc:  # not Parquet, truncated, other columns
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SnapshotError(
                f"{path}: the partitioned snapshot's index does not read ({first}): write it "
                "again (recon snapshot DIR --partitioned)"
            ) from None
    return found


def write_partitioned(tables: Mapping[str, pl.LazyFrame], root: Where) -> None:
    """Write a snapshot (conformed tables, e.g. `read_snapshot`'s) in the partitioned layout
    at `root`, a local directory or an fsspec URL. A snapshot already there is replaced
    (a store partition it held and this one lacks must not be read with it)."""
    t = {name: _conform(tables[name], name, root) for name in TABLES if name in tables}
    for name in TABLES:
        t.setdefault(name, pl.DataFrame(schema=TABLES[name]).lazy())
    routed = _routed(t)
    columns = {name: list(TABLES[name]) for name in TABLES}
    for name in TABLES:
        remove(join(root, name))
        remove(join(root, f"{name}.parquet"))
    remove(join(root, "_index"))
    for name, frame in zip(INDEX, _index(routed), strict=True):
        _write(frame, join(root, "_index", f"{name}.parquet"))
    for name in TABLES:
        if name not in routed:
            _write(t[name].collect(), join(root, f"{name}.parquet"))
    for name, lf in routed.items():  # one table in memory at a time
        frame = lf.collect()
        if _MONTH not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(_MONTH))
        frame = frame.with_columns(pl.col(_PART).fill_null(NO_STORE))
        # A few stores at a time: never a second copy of the whole table, and not a pass
        # over it per partition either.
        names = frame.get_column(_PART).unique().sort().to_list()
        for i in range(0, len(names), _BATCH):
            batch = frame.filter(pl.col(_PART).is_in(names[i : i + _BATCH]))
            for (store, month), part in batch.partition_by(_PART, _MONTH, as_dict=True).items():
                folder = join(root, name, partition_dir(str(store)))
                if name in ("pos_stock", "erp_stock"):
                    path = join(folder, "part-0.parquet")
                else:
                    path = join(folder, f"month={month or 'none'}", "part-0.parquet")
                _write(part.select(columns[name]), path)
        del frame


def stores(root: Where) -> list[str]:
    """The store partitions a partitioned snapshot holds (`__none__` among them if any)."""
    found: set[str] = set()
    for name in PARTITIONED:
        folder = join(root, name)
        if not is_dir(folder):
            continue
        names = listdir(folder)
        found.update(unquote(n.split("=", 1)[1]) for n in names if n.startswith("store_id="))
    return sorted(found)


def read_partition(root: Where, group: Sequence[str]) -> dict[str, pl.LazyFrame]:
    """The partitions of the stores in `group` of every large table, with the whole small
    tables."""
    return {name: scan_table(root, name, group if name in PARTITIONED else None) for name in TABLES}
