"""The engine on a Dask distributed cluster: the same comparisons as Dask tasks, each over a
group of store partitions.

The snapshot is in the partitioned layout (`recon.snapshot.partitioned`): each store's orders,
lines, payments and the ERP rows its locations (or, without one, its orders) hold. Every
comparison is keyed by store or by POS order id and an order belongs to one store, so each
group is reconciled by the engine's own code (`engine.reconcile_part`). What crosses groups
is settled by exchanging small keyed frames, never by gathering the snapshot:

1. survey: each task names the references of its ERP rows that are not its own orders
   (wrong-store documents, orphans, other stores' store-day journals), and its latest order
   time (the run's `as_of`);
2. claim: each task says which of those references it owns (an order, a quarantined order,
   its store-day journal, a document carrying it): one owner each;
3. move: the ERP rows (and document lines) whose reference another task owns go to it, only
   along the edges the survey found;
4. run: each task reconciles its rows plus those it received;
5. combine (`engine.combine_parts`): the global findings kept once (an unmapped tender's
   money summed), takings added per store-day and account before variances are explained.

`reconcile_distributed` returns the same `Findings` as `reconcile` on the whole snapshot.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import polars as pl
from distributed import Client, LocalCluster

from recon.reconcile._config import EngineConfig
from recon.reconcile._frames import STORE_DAY, among, declared, named_orders
from recon.reconcile.engine import Findings, Part, _configured, combine_parts, reconcile_part
from recon.snapshot import TABLES, SnapshotError, scan_table
from recon.snapshot.location import Where, is_dir, join
from recon.snapshot.partitioned import read_partition, stores, write_partitioned

__all__ = [
    "DaskError",
    "connect",
    "partitioned_root",
    "polars_threads",
    "reconcile_distributed",
]

_MOVED = ("erp_documents", "erp_journal_lines", "erp_document_lines")
_TO = "_to"
Group = tuple[str, ...]  # the stores one task reconciles


class DaskError(Exception):
    """The cluster could not be reached or a task failed: one line saying which."""


@contextmanager
def connect(scheduler: str) -> Iterator[Client]:
    """A client of the scheduler at `scheduler` (`tcp://host:8786`), or of a cluster on this
    machine: `local:N` (N worker processes of one thread, the machine's cores shared out
    among their Polars thread pools) or `local` (threads of this one)."""
    cluster: LocalCluster | None = None
    try:
        if scheduler == "local" or scheduler.startswith("local:"):
            n = int(scheduler.partition(":")[2] or 1)
            processes = scheduler != "local"
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1 if processes else 2,
                processes=processes,
                dashboard_address=":0",  # never a fixed port others may hold
                # N pools of every core each would fight over the cores (and spin waiting).
                **({"env": {"POLARS_MAX_THREADS": str(polars_threads(n))}} if processes else {}),
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


def polars_threads(workers: int) -> int:
    """Polars threads for each of `workers` worker processes on this machine."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def partitioned_root(directory: Where) -> Where:
    """The partitioned layout of a snapshot directory: itself when it is one, else written
    beside its files (`DIRECTORY/partitioned`), for a cluster that shares the path."""
    if not is_dir(directory):
        raise SnapshotError(f"{directory}: snapshot directory not found")
    if stores(directory):
        return directory
    root = join(directory, "partitioned")  # rewritten each run: the flat files may have changed
    write_partitioned({name: scan_table(directory, name) for name in TABLES}, root)
    return root


def _own(t: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    return pl.concat(
        [t["pos_orders"].select("order_id"), t["pos_quarantine"].select("order_id")],
        how="vertical",
    ).rename({"order_id": "ref"})


def _store_day_of(group: Group) -> pl.Expr:
    """True for references that are a store-day journal of a store of `group`."""
    return pl.col("ref").str.extract(STORE_DAY, 1).is_in(list(group)).fill_null(False)


def _survey(root: Where, group: Group) -> tuple[datetime | None, pl.DataFrame]:
    """The task's latest order time, and the references of its ERP rows it does not own."""
    t = read_partition(root, group)
    docs, journal = t["erp_documents"], t["erp_journal_lines"]
    refs = (
        named_orders(docs, journal, "ref")
        .join(_own(t), on="ref", how="anti")
        .filter(_store_day_of(group).not_())
    )
    latest, found = pl.collect_all([t["pos_orders"].select(pl.col("created_at").max()), refs])
    value: Any = latest.item()
    return (value if isinstance(value, datetime) else None), found


def _claim(
    root: Where, group: Group, name: str, wanted: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ref, store (the task's name), rank: the references of `wanted` this task owns (lower
    rank wins: an order, a quarantined order, its store-day journal, a document carrying
    it); and ref, via: its documents' wanted references with the sale they credit (such a
    document, placed by that sale, takes the receipts naming it along)."""
    t = read_partition(root, group)
    ids = wanted.get_column("ref")
    docs = t["erp_documents"].select(pl.col("pos_ref").alias("ref"), "original_pos_ref")
    parts = [
        t["pos_orders"].select(pl.col("order_id").alias("ref")).filter(among("ref", ids)),
        t["pos_quarantine"].select(pl.col("order_id").alias("ref")).filter(among("ref", ids)),
        wanted.lazy().filter(_store_day_of(group)),
        docs.select("ref").filter(among("ref", ids)),
    ]
    ranked = [lf.unique().with_columns(pl.lit(rank).alias("rank")) for rank, lf in enumerate(parts)]
    owned = (
        pl.concat(ranked, how="vertical")
        .with_columns(pl.lit(name).alias("store"))
        .select("ref", "store", "rank")
    )
    via = docs.filter(among("ref", ids)).select("ref", pl.col("original_pos_ref").alias("via"))
    found = pl.collect_all([owned, via.drop_nulls().unique()])
    return found[0], found[1]


def _owners(claims: list[tuple[pl.DataFrame, pl.DataFrame]]) -> pl.DataFrame:
    """ref, _to: one owning task per claimed reference; a reference only a crediting
    document carries follows the owner of the sale it credits."""
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


def _routed(t: dict[str, pl.LazyFrame], name: str, owners: pl.DataFrame) -> dict[str, pl.LazyFrame]:
    """The task's ERP rows with the task each belongs to (`_to`): the owner of the order its
    pos_ref names, else of its original_pos_ref (credit notes), else this task. Only the
    few rows naming a reference another task claimed are looked at twice."""
    here = pl.lit(name)
    owner = owners.lazy()
    by_orig = (pl.col("_a").is_null() & pl.col("_b").is_not_null()).fill_null(False)
    docs = (
        t["erp_documents"]
        .join(owner.rename({_TO: "_a"}), left_on="pos_ref", right_on="ref", how="left")
        .join(owner.rename({_TO: "_b"}), left_on="original_pos_ref", right_on="ref", how="left")
    )
    # A credit note of this task's refund for another task's sale stays with the refund.
    refs = docs.filter(by_orig).select("pos_ref").collect().get_column("pos_ref")
    mine = _own(t).filter(among("ref", refs)).collect().get_column("ref")
    docs = docs.with_columns(
        pl.when(pl.col("_a").is_not_null())
        .then(pl.col("_a"))
        .when(by_orig & among("pos_ref", mine).not_())
        .then(pl.col("_b"))
        .otherwise(here)
        .alias(_TO)
    ).drop("_a", "_b")
    journal = (
        t["erp_journal_lines"]
        .join(owner.rename({_TO: "_a"}), left_on="pos_ref", right_on="ref", how="left")
        .with_columns(pl.coalesce("_a", here).alias(_TO))
        .drop("_a")
    )
    doc_to = docs.filter(pl.col(_TO) != name).select("doc_id", _TO).unique("doc_id", keep="first")
    lines = (
        t["erp_document_lines"]
        .join(doc_to, on="doc_id", how="left")
        .with_columns(pl.col(_TO).fill_null(here))
    )
    return {"erp_documents": docs, "erp_journal_lines": journal, "erp_document_lines": lines}


def _outgoing(
    root: Where, group: Group, name: str, owners: pl.DataFrame
) -> dict[str, dict[str, pl.DataFrame]]:
    """The rows this task hands to other tasks: task -> table -> rows."""
    routed = _routed(read_partition(root, group), name, owners)
    frames = pl.collect_all([lf.filter(pl.col(_TO) != name) for lf in routed.values()])
    out: dict[str, dict[str, pl.DataFrame]] = {}
    for table, frame in zip(routed, frames, strict=True):
        for (to,), rows in frame.partition_by(_TO, as_dict=True).items():
            out.setdefault(str(to), {})[table] = rows.drop(_TO)
    return out


def _pick(moves: dict[str, dict[str, pl.DataFrame]], name: str) -> dict[str, pl.DataFrame]:
    return moves.get(name, {})


def _run(
    root: Where,
    group: Group,
    name: str,
    owners: pl.DataFrame | None,
    arriving: list[dict[str, pl.DataFrame]],
    config: EngineConfig,
    as_of: datetime | None,
) -> Part:
    """Reconcile the task's partitions plus the rows `arriving` from other tasks. `owners`
    is None when none of the task's rows names a reference another task owns (most tasks):
    then every row stays and none is looked up."""
    # Read once: the engine scans some tables several times, and a partition is many files.
    scans = read_partition(root, group)
    t = {k: f.lazy() for k, f in zip(scans, pl.collect_all(list(scans.values())), strict=True)}
    if owners is not None:
        routed = _routed(t, name, owners)
        kept = pl.collect_all([routed[k].filter(pl.col(_TO) == name).drop(_TO) for k in _MOVED])
        t.update({table: frame.lazy() for table, frame in zip(_MOVED, kept, strict=True)})
    for table in _MOVED:
        rows = [m[table].lazy() for m in arriving if table in m]
        if rows:
            t[table] = pl.concat([t[table], *rows], how="vertical")
    part = reconcile_part(t, config, as_of)
    _note_peak()
    return part


def _groups(names: list[str], n: int) -> list[Group]:
    """`names` dealt round-robin into `n` groups (none empty)."""
    n = max(1, min(n, len(names)))
    return [tuple(names[i::n]) for i in range(n)]


_PEAK: list[int] = [0]


def _rss() -> int:
    """This process's peak resident memory in bytes (Linux VmHWM: its own, not inherited)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _note_peak() -> None:
    _PEAK[0] = max(_PEAK[0], _rss())


def _peak() -> int:
    return max(_PEAK[0], _rss())


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
    tasks: int | None = None,
) -> Findings:
    """Reconcile the partitioned snapshot at `root` (a path or URL every worker can read) on
    the cluster of `client`: the same findings as `reconcile(read_snapshot(root))`.

    `tasks`: how many groups of stores run as one task each (default: four per worker
    thread); fewer, larger tasks cost less overhead, more bound each worker's memory lower.
    """
    names = stores(root)
    if not names:
        raise SnapshotError(f"{root}: not a partitioned snapshot (no TABLE/store_id=... files)")
    settings = declared(scan_table(root, "map_settings").collect())
    cfg = config if config is not None else _configured(settings)
    threads = sum(client.nthreads().values()) or 1
    groups = _groups(names, tasks if tasks is not None else 4 * threads)
    keys = [str(i) for i in range(len(groups))]
    n = len(groups)
    roots = [root] * n
    try:
        surveyed = client.gather(client.map(_survey, roots, groups, pure=False))
        latest = [t for t, _ in surveyed if t is not None]
        when = as_of if as_of is not None else (max(latest) if latest else None)
        wanted = pl.concat([refs for _, refs in surveyed], how="vertical").unique()
        [wanted_f] = client.scatter([wanted], broadcast=True)
        claims = client.gather(client.map(_claim, roots, groups, keys, [wanted_f] * n, pure=False))
        owners = _owners(claims)
        [owners_f] = client.scatter([owners], broadcast=True)
        # Only along the edges the survey found: a task -> the tasks owning its refs.
        arriving: dict[str, list[Any]] = {k: [] for k in keys}
        sends: set[str] = set()
        for group, key, (_, refs) in zip(groups, keys, surveyed, strict=True):
            targets = refs.join(owners, on="ref").get_column(_TO).unique().to_list()
            targets = [k for k in targets if k != key]
            if targets:
                sends.add(key)
                moves = client.submit(_outgoing, root, group, key, owners_f, pure=False)
                for k in targets:
                    arriving[k].append(client.submit(_pick, moves, k, pure=False))
        runs = [
            client.submit(
                _run,
                root,
                g,
                k,
                owners_f if k in sends else None,
                arriving[k],
                cfg,
                when,
                pure=False,
            )
            for g, k in zip(groups, keys, strict=True)
        ]
        results: list[Part] = client.gather(runs)
    except (OSError, TimeoutError) as exc:
        raise DaskError(f"dask cluster: {type(exc).__name__}: {exc}") from None
    return combine_parts(results, cfg)
