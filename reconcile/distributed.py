"""The engine on a Dask distributed cluster: the same comparisons as Dask tasks, one per store.

The snapshot is in the partitioned layout (`snapshot.partitioned`): each store's orders,
lines, payments and the ERP rows its locations hold. Every comparison is keyed by store or
by POS order id and an order belongs to one store, so each partition is reconciled by the
engine's own code (`engine.reconcile_part`). What crosses stores is settled by exchanging
small keyed frames, never by gathering the snapshot:

1. survey: each partition names the references of its ERP rows that are not its own orders
   (wrong-store and location-less documents, receipts, store-day journals), and its latest
   order time (the run's `as_of`);
2. claim: each partition says which of those references it owns (an order, a quarantined
   order, its store-day journal, an orphan document at its location): one owner each;
3. move: the ERP rows (and document lines) whose reference another store owns go to it;
4. run: each partition reconciles its rows plus those it received;
5. combine (`engine.combine_parts`): the global findings kept once (an unmapped tender's
   money summed), takings added per store-day and account before variances are explained.

`reconcile_distributed` returns the same `Findings` as `reconcile` on the whole snapshot.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import fsspec
import polars as pl
from distributed import Client, LocalCluster

from reconcile._config import EngineConfig
from reconcile._frames import STORE_DAY, among, declared
from reconcile.engine import Findings, Part, _configured, combine_parts, reconcile_part
from snapshot import TABLES, SnapshotError, scan_table
from snapshot.location import Where, is_dir, join
from snapshot.partitioned import read_partition, stores, write_partitioned
from snapshot.schema import NO_STORE

__all__ = ["DaskError", "connect", "partitioned_root", "reconcile_distributed"]

_MOVED = ("erp_documents", "erp_journal_lines", "erp_document_lines")
_TO = "_to"


class DaskError(Exception):
    """The cluster could not be reached or a task failed: one line saying which."""


@contextmanager
def connect(scheduler: str) -> Iterator[Client]:
    """A client of the scheduler at `scheduler` (`tcp://host:8786`), or of a cluster on this
    machine: `local:N` (N worker processes of one thread) or `local` (threads of this one)."""
    cluster: LocalCluster | None = None
    try:
        if scheduler == "local" or scheduler.startswith("local:"):
            n = int(scheduler.partition(":")[2] or 1)
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1 if scheduler != "local" else 2,
                processes=scheduler != "local",
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise DaskError(f"dask scheduler {scheduler!r}: cannot connect ({exc})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def partitioned_root(directory: Where) -> Where:
    """The partitioned layout of a snapshot directory: itself when it is one, else written
    beside its files (`DIRECTORY/partitioned`), for a cluster that shares the path."""
    if stores(directory):
        return directory
    root = join(directory, "partitioned")
    if is_dir(root):  # rewritten each run: the flat files may have changed since
        fs, path = fsspec.core.url_to_fs(str(root))
        fs.rm(path, recursive=True)
    write_partitioned({name: scan_table(directory, name) for name in TABLES}, root)
    return root


def _own(t: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    return pl.concat(
        [t["pos_orders"].select("order_id"), t["pos_quarantine"].select("order_id")],
        how="vertical",
    ).rename({"order_id": "ref"})


def _survey(root: Where, store: str) -> tuple[datetime | None, pl.DataFrame]:
    t = read_partition(root, store)
    docs, journal = t["erp_documents"], t["erp_journal_lines"]
    refs = (
        pl.concat(
            [
                docs.select(pl.col("pos_ref").alias("ref")),
                docs.select(pl.col("original_pos_ref").alias("ref")),
                journal.select(pl.col("pos_ref").alias("ref")),
            ],
            how="vertical",
        )
        .drop_nulls()
        .unique()
        .join(_own(t), on="ref", how="anti")
        .filter(pl.col("ref").str.extract(STORE_DAY, 1).ne_missing(pl.lit(store)))
    )
    latest, found = pl.collect_all([t["pos_orders"].select(pl.col("created_at").max()), refs])
    value: Any = latest.item()
    return (value if isinstance(value, datetime) else None), found


def _claim(root: Where, store: str, wanted: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ref, store, rank: the references of `wanted` this partition owns (lower rank wins);
    and ref, via: its documents' wanted references with the sale they credit (such a
    document, placed by that sale, takes the receipts naming it along)."""
    t = read_partition(root, store)
    ids = wanted.get_column("ref")
    ref = pl.col("ref")
    docs = t["erp_documents"].select(pl.col("pos_ref").alias("ref"), "original_pos_ref")
    parts = [
        t["pos_orders"].select(pl.col("order_id").alias("ref")).filter(among("ref", ids)),
        t["pos_quarantine"].select(pl.col("order_id").alias("ref")).filter(among("ref", ids)),
    ]
    if store != NO_STORE:
        parts.append(wanted.lazy().filter(ref.str.extract(STORE_DAY, 1) == store))
        parts.append(docs.select("ref").filter(among("ref", ids)))
    ranked = [lf.unique().with_columns(pl.lit(rank).alias("rank")) for rank, lf in enumerate(parts)]
    owned = (
        pl.concat(ranked, how="vertical")
        .with_columns(pl.lit(store).alias("store"))
        .select("ref", "store", "rank")
    )
    via = docs.filter(among("ref", ids)).select("ref", pl.col("original_pos_ref").alias("via"))
    found = pl.collect_all([owned, via.drop_nulls().unique()])
    return found[0], found[1]


def _owners(claims: list[tuple[pl.DataFrame, pl.DataFrame]]) -> pl.DataFrame:
    """ref, _to: one owner per claimed reference; a reference only a crediting document
    carries follows the owner of the sale it credits."""
    first = (
        pl.concat([owned for owned, _ in claims], how="vertical")
        .sort("rank", "store")
        .unique("ref", keep="first", maintain_order=True)
        .select("ref", pl.col("store").alias(_TO))
    )
    follows = (
        pl.concat([via for _, via in claims], how="vertical")
        .join(first, on="ref", how="anti")
        .join(first.rename({"ref": "via"}), on="via")
        .sort("ref", _TO)
        .unique("ref", keep="first", maintain_order=True)
        .select("ref", _TO)
    )
    return pl.concat([first, follows], how="vertical")


def _routed(t: dict[str, pl.LazyFrame], store: str, owners: pl.DataFrame) -> dict[str, pl.LazyFrame]:
    """The partition's ERP rows with the store each belongs to (`_to`): the owner of the order
    its pos_ref names, else of its original_pos_ref (credit notes), else this partition."""
    lookup = (
        pl.concat(
            [_own(t).with_columns(pl.lit(store).alias(_TO)), owners.lazy()],
            how="vertical",
        )
        .unique("ref", keep="first", maintain_order=True)
    )
    docs = (
        t["erp_documents"]
        .join(lookup.rename({_TO: "_a"}), left_on="pos_ref", right_on="ref", how="left")
        .join(lookup.rename({_TO: "_b"}), left_on="original_pos_ref", right_on="ref", how="left")
        .with_columns(pl.coalesce("_a", "_b", pl.lit(store)).alias(_TO))
        .drop("_a", "_b")
    )
    journal = (
        t["erp_journal_lines"]
        .join(lookup.rename({_TO: "_a"}), left_on="pos_ref", right_on="ref", how="left")
        .with_columns(pl.coalesce("_a", pl.lit(store)).alias(_TO))
        .drop("_a")
    )
    doc_to = docs.select("doc_id", _TO).unique("doc_id", keep="first")
    lines = t["erp_document_lines"].join(doc_to, on="doc_id", how="left").with_columns(
        pl.col(_TO).fill_null(pl.lit(store))
    )
    return {"erp_documents": docs, "erp_journal_lines": journal, "erp_document_lines": lines}


def _outgoing(
    root: Where, store: str, owners: pl.DataFrame
) -> dict[str, dict[str, pl.DataFrame]]:
    """The rows this partition hands to other stores: store -> table -> rows."""
    routed = _routed(read_partition(root, store), store, owners)
    frames = pl.collect_all([lf.filter(pl.col(_TO) != store) for lf in routed.values()])
    out: dict[str, dict[str, pl.DataFrame]] = {}
    for name, frame in zip(routed, frames, strict=True):
        for (to,), rows in frame.partition_by(_TO, as_dict=True).items():
            out.setdefault(str(to), {})[name] = rows.drop(_TO)
    return out


def _pick(moves: dict[str, dict[str, pl.DataFrame]], store: str) -> dict[str, pl.DataFrame]:
    return moves.get(store, {})


def _run(
    root: Where,
    store: str,
    owners: pl.DataFrame,
    arriving: list[dict[str, pl.DataFrame]],
    config: EngineConfig,
    as_of: datetime | None,
) -> Part:
    t = read_partition(root, store)
    routed = _routed(t, store, owners)
    for name in _MOVED:
        rows = [m[name].lazy() for m in arriving if name in m]
        kept = routed[name].filter(pl.col(_TO) == store).drop(_TO)
        t[name] = pl.concat([kept, *rows], how="vertical") if rows else kept
    return reconcile_part(t, config, as_of)


def _peak() -> int:
    """This process's peak resident memory in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker_peaks(client: Client) -> dict[str, int]:
    """Each worker's peak resident memory (bytes) so far."""
    peaks: dict[str, int] = client.run(_peak)
    return peaks


def reconcile_distributed(
    root: Where,
    client: Client,
    config: EngineConfig | None = None,
    *,
    as_of: datetime | None = None,
) -> Findings:
    """Reconcile the partitioned snapshot at `root` (a path or URL every worker can read) on
    the cluster of `client`: the same findings as `reconcile(read_snapshot(root))`."""
    parts = stores(root)
    if not parts:
        raise SnapshotError(f"{root}: not a partitioned snapshot (no TABLE/store_id=... files)")
    settings = declared(scan_table(root, "map_settings").collect())
    cfg = config if config is not None else _configured(settings)
    n = len(parts)
    roots = [root] * n
    try:
        surveyed = client.gather(client.map(_survey, roots, parts, pure=False))
        latest = [t for t, _ in surveyed if t is not None]
        when = as_of if as_of is not None else (max(latest) if latest else None)
        wanted = pl.concat([refs for _, refs in surveyed], how="vertical").unique()
        [wanted_f] = client.scatter([wanted], broadcast=True)
        claims = client.gather(client.map(_claim, roots, parts, [wanted_f] * n, pure=False))
        owners = _owners(claims)
        [owners_f] = client.scatter([owners], broadcast=True)
        # Only along the edges the survey found: partition -> the stores owning its refs.
        arriving: dict[str, list[Any]] = {s: [] for s in parts}
        for source, (_, refs) in zip(parts, surveyed, strict=True):
            targets = refs.join(owners, on="ref").get_column(_TO).unique().to_list()
            targets = [s for s in targets if s != source and s in arriving]
            if targets:
                moves = client.submit(_outgoing, root, source, owners_f, pure=False)
                for s in targets:
                    arriving[s].append(client.submit(_pick, moves, s, pure=False))
        runs = [
            client.submit(_run, root, s, owners_f, arriving[s], cfg, when, pure=False)
            for s in parts
        ]
        results: list[Part] = client.gather(runs)
    except (OSError, TimeoutError) as exc:
        raise DaskError(f"dask cluster: {type(exc).__name__}: {exc}") from None
    return combine_parts(results, cfg)
