"""Benchmark: generate a large consistent snapshot with a few planted breaks, time the
engine and its comparators, and run the core comparisons in DuckDB for a ratio.

A developer tool (`python -m recon.reconcile.bench --orders 1000000 [--dir /tmp/snap1m]`); must
not be imported by the engine. With `--dir` it writes the snapshot there as Parquet (once: an
existing snapshot of the same size is reused) and reads it back through
`recon.snapshot.read_snapshot`, the way `recon reconcile --snapshot` does; without it, it works on
frames in memory and writes nothing.
With `--scheduler ADDRESS` (`local:2`: two worker processes here) and `--dir` it also writes the
snapshot partitioned (`DIR/partitioned`) and runs `recon.reconcile.distributed` on that cluster:
wall, CPU (this process and the workers) and each worker's peak memory, beside the
single-process run, and whether the findings are the same.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from recon.reconcile._config import EngineConfig
from recon.reconcile._documents import _SEED, DocumentFindings, _fingerprint, compare_documents
from recon.reconcile._frames import conform_tables, gather, id_hashes, join_orders
from recon.reconcile._master import compare_master
from recon.reconcile._prepare import prepare
from recon.reconcile._tenders import compare_tenders
from recon.reconcile.engine import Findings, reconcile
from recon.snapshot import MONEY, read_snapshot, write_table

__all__ = ["generate", "main"]

_DAY0 = date(2024, 5, 1)


def _rand(seed: int, modulo: int) -> pl.Expr:
    return (pl.col("i").hash(seed) % modulo).cast(pl.Int64)


def _money(cents: pl.Expr) -> pl.Expr:
    return (cents.cast(pl.Decimal(18, 0)) * pl.lit(Decimal("0.01"))).cast(MONEY)


def generate(
    orders: int, stores: int = 200, skus: int = 50_000, *, in_time_order: bool = True
) -> dict[str, pl.LazyFrame]:
    """~3 lines and ~1.2 payments per order, the ERP documents with the same lines; 0.1%
    unposted, 0.1% with a wrong total, 0.1% with a wrong line quantity. Over 28 days: order
    ids grow with time like the POS's (`in_time_order`), else each id's day is id % 28.

    Lazy: each table is computed when collected, so writing them one by one keeps memory low.
    """
    day_no = pl.col("i") * 28 // orders if in_time_order else pl.col("i") % 28
    base = pl.LazyFrame({"i": pl.int_range(orders, eager=True)})
    lines = (
        base.select(pl.col("i").repeat_by(3).explode().alias("i"))
        .with_columns(pl.int_range(pl.len()).alias("n"))
        .with_columns(
            pl.col("i").cast(pl.String).alias("order_id"),
            (pl.col("n") % 3 + 1).alias("line_no"),
            pl.format("S{}", (pl.col("n").hash(7) % skus)).alias("sku"),
            (pl.col("n").hash(11) % 5000 + 100).cast(pl.Int64).alias("cents"),
        )
    )
    totals = lines.group_by("i").agg(pl.col("cents").sum().alias("cents"))
    o = (
        base.join(totals, on="i")
        .with_columns(
            pl.col("i").cast(pl.String).alias("order_id"),
            pl.format("{}", _rand(1, stores)).alias("store_id"),
            (pl.lit(_DAY0) + pl.duration(days=day_no)).alias("business_day"),
            (_rand(3, 100) < 2).alias("_refund"),
            (_rand(4, 10) < 2).alias("_split"),
        )
        .with_columns(
            pl.when(pl.col("_refund")).then(-pl.col("cents")).otherwise("cents").alias("cents"),
        )
    )
    pos_orders = o.select(
        "order_id",
        "store_id",
        "business_day",
        pl.col("business_day").cast(pl.Datetime("us", "UTC")).alias("created_at"),
        pl.when(pl.col("_refund"))
        .then(pl.lit("refund"))
        .otherwise(pl.lit("sale"))
        .alias("order_type"),
        pl.lit("completed").alias("state"),
        pl.lit(True).alias("paid"),
        pl.lit(None, dtype=pl.String).alias("original_order_id"),
        _money(pl.col("cents")).alias("gross_total"),
        _money(pl.col("cents") // 6).alias("vat_total"),
        pl.lit("GBP").alias("currency"),
    )
    sign = pl.when(pl.col("_refund")).then(-1).otherwise(1)
    pos_lines = lines.join(o.select("i", "_refund"), on="i").select(
        "order_id",
        "line_no",
        "sku",
        pl.lit(Decimal(1))
        .cast(pl.Decimal(18, 3))
        .mul(sign)
        .cast(pl.Decimal(18, 3))
        .alias("quantity"),
        _money(pl.col("cents")).alias("unit_price_gross"),
        _money(pl.lit(0)).alias("line_discount"),
        _money(pl.col("cents") * sign).alias("line_gross"),
        _money(pl.col("cents") * sign // 6).alias("line_vat"),
        pl.lit(Decimal("20.00")).cast(pl.Decimal(5, 2)).alias("vat_rate"),
    )
    split = pl.col("cents") // 3
    pay = pl.concat(
        [
            o.select(
                "order_id",
                pl.lit(1, dtype=pl.Int64).alias("payment_no"),
                pl.when(pl.col("_split"))
                .then(pl.lit("Cash"))
                .otherwise(pl.lit("Card"))
                .alias("tender"),
                pl.when(pl.col("_split")).then(split).otherwise("cents").alias("cents"),
                "store_id",
                "business_day",
            ),
            o.filter(pl.col("_split")).select(
                "order_id",
                pl.lit(2, dtype=pl.Int64).alias("payment_no"),
                pl.lit("Card").alias("tender"),
                (pl.col("cents") - split).alias("cents"),
                "store_id",
                "business_day",
            ),
        ]
    )
    pos_payments = pay.select(
        "order_id", "payment_no", "tender", _money(pl.col("cents")).alias("amount")
    )
    posted = o.filter(pl.col("i") % 1000 != 7)
    docs = posted.select(
        pl.format("id{}", "i").alias("doc_id"),
        pl.format("D{}", "i").alias("doc_no"),
        pl.when(pl.col("_refund"))
        .then(pl.lit("credit_note"))
        .otherwise(pl.lit("invoice"))
        .alias("doc_type"),
        pl.col("order_id").alias("pos_ref"),
        pl.lit(None, dtype=pl.String).alias("original_pos_ref"),
        pl.format("WH{}", "store_id").alias("location"),
        pl.col("business_day").alias("posting_date"),
        _money(pl.col("cents") + pl.when(pl.col("i") % 1000 == 8).then(100).otherwise(0)).alias(
            "gross_total"
        ),
        _money(pl.col("cents") // 6).alias("vat_total"),
        pl.lit("GBP").alias("currency"),
    )
    doc_lines = pos_lines.join(posted.select("order_id", "i"), on="order_id").select(
        pl.format("id{}", "i").alias("doc_id"),
        "line_no",
        "sku",
        pl.when((pl.col("i") % 1000 == 9) & (pl.col("line_no") == 1))
        .then(pl.col("quantity") * 2)
        .otherwise("quantity")
        .cast(pl.Decimal(18, 3))
        .alias("quantity"),
        (pl.col("line_gross") - pl.col("line_vat")).alias("net"),
        pl.col("line_vat").alias("vat"),
        pl.lit("1").alias("tax_code"),
    )
    journal = pay.join(posted.select("order_id"), on="order_id", how="semi").select(
        pl.format("R{}-{}", "order_id", "payment_no").alias("journal_id"),
        pl.col("business_day").alias("posting_date"),
        pl.lit(None, dtype=pl.String).alias("location"),
        pl.when(pl.col("tender") == "Cash")
        .then(pl.lit("1210"))
        .otherwise(pl.lit("1220"))
        .alias("account"),
        "tender",
        _money(pl.col("cents")).alias("amount"),
        pl.lit("GBP").alias("currency"),
        pl.col("order_id").alias("pos_ref"),
    )
    store_ids = [str(s) for s in range(stores)]
    sku_frame = pl.DataFrame({"sku": [f"S{k}" for k in range(skus)]})
    items = sku_frame.with_columns(
        pl.lit(Decimal("9.99")).cast(MONEY).alias("price_gross"), pl.lit(True).alias("active")
    )
    stock = pl.DataFrame({"store": store_ids}).join(sku_frame.head(1000), how="cross")
    qty = pl.lit(Decimal(5)).cast(pl.Decimal(18, 3))
    as_of = pl.lit(datetime(2024, 6, 1, tzinfo=UTC))
    small: dict[str, pl.DataFrame] = {
        "map_store": pl.DataFrame(
            {"store_id": store_ids, "location": [f"WH{s}" for s in store_ids]}
        ),
        "map_tender": pl.DataFrame({"tender": ["Cash", "Card"], "account": ["1210", "1220"]}),
        "map_tax": pl.DataFrame(
            {"vat_rate": [Decimal("20.00")], "tax_code": ["1"], "account": ["2200"]}
        ),
        "pos_items": items.with_columns(pl.lit(Decimal("20.00")).alias("vat_rate")),
        "erp_items": items.with_columns(pl.lit("1").alias("tax_code")),
        "erp_accounts": pl.DataFrame(
            {"account": ["1210", "1220", "2200"], "active": [True, True, True]}
        ),
        "pos_stock": stock.select(
            pl.col("store").alias("location"), "sku", qty.alias("quantity"), as_of.alias("as_of")
        ),
        "erp_stock": stock.select(
            pl.format("WH{}", "store").alias("location"),
            "sku",
            qty.alias("quantity"),
            as_of.alias("as_of"),
        ),
    }
    return {
        "pos_orders": pos_orders,
        "pos_order_lines": pos_lines,
        "pos_payments": pos_payments,
        "erp_documents": docs,
        "erp_document_lines": doc_lines,
        "erp_journal_lines": journal,
        **{name: frame.lazy() for name, frame in small.items()},
    }


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _timed(label: str, fn: Callable[[], Any], out: dict[str, float]) -> Any:
    """Run `fn`, print its wall and CPU seconds and the load average, keep the wall."""
    start, cpu = time.perf_counter(), _cpu()
    result = fn()
    out[label] = time.perf_counter() - start
    load = os.getloadavg()[0]  # others' work on a shared machine slows both figures
    line = f"  {label:<38} {out[label]:7.2f} s wall {_cpu() - cpu:7.2f} s CPU  load {load:.2f}"
    print(line, flush=True)
    return result


def _polars_core(t: dict[str, pl.LazyFrame]) -> list[pl.DataFrame]:
    # Order ids joined as the engine joins them (`join_orders`: on a 64-bit hash, checked by a
    # second one); DuckDB's side does the same with its hash().
    d = t["erp_documents"]
    o = t["pos_orders"].with_columns(id_hashes("order_id"))
    missing = o.join(d.select(id_hashes("pos_ref")[0]), on="_h1", how="anti").select(pl.len())
    amount = (
        join_orders(d, "pos_ref", o.select("order_id", "_h1", "_h2", "gross_total"), "inner", False)
        .filter(pl.col("gross_total") != pl.col("gross_total_right"))
        .select(pl.len())
    )
    pos = (
        join_orders(t["pos_payments"], "order_id", o, "inner", False)
        .join(t["map_tender"], on="tender")
        .group_by("store_id", "business_day", "account")
        .agg(pl.col("amount").sum())
    )
    erp = (
        join_orders(
            t["erp_journal_lines"],
            "pos_ref",
            o.select("order_id", "_h1", "_h2", "store_id"),
            "inner",
            False,
        )
        .group_by("store_id", pl.col("posting_date").alias("business_day"), "account")
        .agg(pl.col("amount").sum().alias("erp"))
    )
    takings = (
        pos.join(erp, on=["store_id", "business_day", "account"], how="full", coalesce=True)
        .filter(pl.col("amount") != pl.col("erp"))
        .select(pl.len())
    )
    # Lines as the engine compares them: a fingerprint per order and per document.
    keys = d.select(
        pl.col("pos_ref").hash(_SEED).alias("_k"), pl.col("doc_id").hash(_SEED).alias("_kd")
    )
    erp_lines = keys.join(
        _fingerprint(t["erp_document_lines"], "doc_id").rename({"_k": "_kd"}), on="_kd"
    )
    lines = (
        _fingerprint(t["pos_order_lines"], "order_id")
        .join(erp_lines, on="_k", how="full", suffix="_e")
        .filter(
            pl.col("_f").ne_missing(pl.col("_f_e"))
            | pl.any_horizontal("_z", "_z_e").fill_null(False)
        )
        .select(pl.len())
    )
    return pl.collect_all([missing, amount, takings, lines])


_DUCK_SQL = {
    "missing": """select count(*) from pos_orders o
        anti join erp_documents d on hash(d.pos_ref) = hash(o.order_id)""",
    "amount": """select count(*) from pos_orders o
        join erp_documents d on hash(d.pos_ref) = hash(o.order_id)
        where hash(d.pos_ref, 12) = hash(o.order_id, 12) and o.gross_total <> d.gross_total""",
    "takings": """with pos as (select o.store_id, o.business_day, m.account, sum(p.amount) a
          from pos_payments p join pos_orders o on hash(o.order_id) = hash(p.order_id)
          join map_tender m using (tender)
          where hash(o.order_id, 12) = hash(p.order_id, 12) group by all),
        erp as (select o.store_id, j.posting_date business_day, j.account, sum(j.amount) e
          from erp_journal_lines j join pos_orders o on hash(o.order_id) = hash(j.pos_ref)
          where hash(o.order_id, 12) = hash(j.pos_ref, 12) group by all)
        select count(*) from pos full join erp using (store_id, business_day, account)
        where a is distinct from e""",
    # The engine's line fingerprints (see `_polars_core`): sum(hash(sku) * thousandths) per
    # order and per document, exact in HUGEINT where polars wraps at 64 bits.
    "lines": """with pos as (select hash(order_id) k, bool_or(coalesce(quantity, 0) = 0) pz,
            sum(hash(sku)::hugeint * (coalesce(quantity, 0) * 1000)::bigint) pf
          from pos_order_lines group by all),
        doc as (select hash(doc_id) kd, bool_or(coalesce(quantity, 0) = 0) ez,
            sum(hash(sku)::hugeint * (coalesce(quantity, 0) * 1000)::bigint) ef
          from erp_document_lines group by all),
        erp as (select hash(pos_ref) ek, ez, ef
          from doc join (select hash(doc_id) kd, pos_ref from erp_documents) using (kd))
        select count(*) from pos full join erp on ek = k
        where pf is distinct from ef or coalesce(pz, false) or coalesce(ez, false)""",
}


_DUCK_TABLES = (
    "pos_orders",
    "pos_order_lines",
    "pos_payments",
    "erp_documents",
    "erp_document_lines",
    "erp_journal_lines",
    "map_tender",
)


def _duckdb_core(frames: dict[str, pl.DataFrame] | None, directory: Path | None) -> list[Any]:
    import duckdb  # dev dependency only

    con = duckdb.connect()
    for name in _DUCK_TABLES:
        if directory is not None:
            path = str(directory / f"{name}.parquet").replace("'", "''")
            con.sql(f"create view {name} as select * from read_parquet('{path}')")
        elif frames is not None:
            con.register(name, frames[name].to_arrow())
    return [con.sql(sql).fetchall() for sql in _DUCK_SQL.values()]


def _write(
    directory: Path, make: Callable[[], dict[str, pl.LazyFrame]], stamp: dict[str, int]
) -> None:
    marker = directory / "bench.json"
    if marker.exists() and json.loads(marker.read_text()) == stamp:
        print(f"  reusing the snapshot in {directory}")
        return
    for name, lf in make().items():
        write_table(directory, name, lf.collect())
    marker.write_text(json.dumps(stamp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recon.reconcile.bench")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--dir", type=Path, default=None, help="write/read the snapshot here")
    parser.add_argument("--scheduler", help="also run on this Dask scheduler (local:N, tcp://...)")
    parser.add_argument("--tasks", type=int, help="store groups on the cluster (default 4/thread)")
    args = parser.parse_args(argv)
    if args.scheduler and args.dir is None:
        parser.error("--scheduler needs --dir (the workers read the snapshot from files)")
    times: dict[str, float] = {}
    print(f"orders={args.orders:,} stores={args.stores} skus={args.skus}")
    frames: dict[str, pl.DataFrame] | None = None
    if args.dir is not None:
        stamp = {"orders": args.orders, "stores": args.stores, "skus": args.skus, "version": 3}

        def make() -> dict[str, pl.LazyFrame]:
            return generate(args.orders, args.stores, args.skus)

        _timed("generate and write parquet", lambda: _write(args.dir, make, stamp), times)

        def tables() -> dict[str, pl.LazyFrame]:
            return read_snapshot(args.dir)
    else:
        lazy = _timed("generate", lambda: generate(args.orders, args.stores, args.skus), times)
        frames = {name: lf.collect() for name, lf in lazy.items()}
        in_memory = {name: f.lazy() for name, f in frames.items()}

        def tables() -> dict[str, pl.LazyFrame]:
            return in_memory

    counted = (
        "pos_orders",
        "pos_order_lines",
        "pos_payments",
        "erp_documents",
        "erp_journal_lines",
    )
    rows = pl.collect_all([tables()[n].select(pl.len()) for n in counted])
    for name, count in zip(counted, rows, strict=True):
        print(f"  {name:<20} {count.item():>12,} rows")
    cfg = EngineConfig()
    as_of = datetime(2024, 6, 1, tzinfo=UTC)
    t = conform_tables(tables())
    p = _timed("prepare", lambda: prepare(t, cfg.grace, as_of), times)

    def documents() -> DocumentFindings:
        found = compare_documents(p, cfg)  # collects the linked rows some check flags
        gather(found.parts).collect()
        return found

    docs = _timed("documents (links, lines, VAT)", documents, times)

    def tenders() -> None:
        found = compare_tenders(p, cfg, docs.effects, docs.erp_only)  # collects the takings
        pl.collect_all([gather(found.parts), found.takings, found.waterfall])

    _timed("tenders (takings, waterfall)", tenders, times)
    _timed(
        "master data (maps, SKUs, stock)", lambda: gather(compare_master(p, cfg)).collect(), times
    )
    found = _timed("reconcile() end to end", lambda: reconcile(tables(), cfg, as_of=as_of), times)
    counts = found.exceptions.group_by("kind").len().sort("kind").rows()
    print("  exceptions:", ", ".join(f"{k}={n:,}" for k, n in counts))
    # Not 2024-05-03: at 10M orders its ids cross 999999 -> 1000000, where the text min/max
    # of a row group no longer narrows a range of ids (the engine then reads most of them).
    day, store = date(2024, 5, 10), "17"
    scoped = _timed(
        f"reconcile(day={day}, store={store})",
        lambda: reconcile(tables(), cfg, as_of=as_of, day=day, store=store),
        times,
    )
    print(f"  store-day: {scoped.exceptions.height} exceptions, {scoped.takings.height} takings")
    print("  core comparisons, the same in both: ids joined as hashes, lines as fingerprints")
    _timed("core comparisons: polars", lambda: _polars_core(tables()), times)
    _timed("core comparisons: duckdb", lambda: _duckdb_core(frames, args.dir), times)
    ratio = times["core comparisons: polars"] / times["core comparisons: duckdb"]
    print(f"polars / duckdb time on the same core comparisons: {ratio:.2f}")
    whole = times["reconcile() end to end"] / times["core comparisons: duckdb"]
    print(f"reconcile() end to end / duckdb core comparisons: {whole:.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak memory (this process, with DuckDB's): {peak:.1f} GB")
    if args.scheduler:
        _cluster(args.dir, args.scheduler, args.tasks, cfg, as_of, found, times)
    return 0


def _cluster(
    directory: Path,
    scheduler: str,
    tasks: int | None,
    cfg: EngineConfig,
    as_of: datetime,
    single: Findings,
    times: dict[str, float],
) -> None:
    """The same run on a Dask cluster, beside the single-process one."""
    from recon.reconcile.distributed import connect, reconcile_distributed, worker_peaks
    from recon.snapshot import SnapshotError
    from recon.snapshot.partitioned import read_index, stores, write_partitioned

    root = directory / "partitioned"
    try:
        fresh = bool(stores(root)) and bool(read_index(root))
    except SnapshotError:  # written before the layout had its index
        fresh = False
    if not fresh:
        _timed(
            "write partitioned (store/month)",
            lambda: write_partitioned(read_snapshot(directory), root),
            times,
        )
    print(f"  cluster {scheduler}: {len(stores(root))} store partitions", flush=True)
    with connect(scheduler) as client:
        client.wait_for_workers(1)
        before = sum(client.run(_cpu).values())
        found = _timed(
            f"reconcile on {scheduler}",
            lambda: reconcile_distributed(root, client, cfg, as_of=as_of, tasks=tasks),
            times,
        )
        workers_cpu = sum(client.run(_cpu).values()) - before
        peaks = worker_peaks(client)
    print(f"  workers' CPU {workers_cpu:.2f} s over {len(peaks)} workers")
    for address, peak in sorted(peaks.items()):
        print(f"  worker {address}: peak memory {peak / 1e9:.2f} GB")
    same = found.exceptions.equals(single.exceptions)
    print(f"  same findings as the single process: {same}")
    ratio = times[f"reconcile on {scheduler}"] / times["reconcile() end to end"]
    print(f"cluster / single-process wall: {ratio:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
