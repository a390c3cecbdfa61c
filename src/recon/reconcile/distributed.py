"""The engine on a Dask distributed cluster: the same comparisons as Dask tasks, each over a
group of store partitions.

The snapshot is in the partitioned layout (`recon.snapshot.partitioned`): each store's orders,
lines, payments and the ERP rows its locations (or, without one, its orders) hold. Every
comparison is keyed by store or by POS order id and an order belongs to one store, so each
group is reconciled by the engine's own code (`engine.reconcile_part`). What crosses groups
is settled by exchanging small keyed frames, never by gathering the snapshot:

1. plan (on the client, from the snapshot's small index, `partitioned.read_index`): the
   references each task's ERP rows name that are not its own orders (wrong-store
   documents, orphans, other stores' store-day journals), and the one task owning each
   (an order, a quarantined order, its store-day journal, a document carrying it); the
   latest order time (the run's `as_of`);
2. move: the ERP rows (and document lines) whose reference another task owns go to it, only
   along the edges the plan found;
3. run: each task reconciles its rows plus those it received;
4. combine (`engine.combine_parts`): the global findings kept once (an unmapped tender's
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

import dask
import polars as pl
from distributed import Client, LocalCluster

from recon.reconcile._config import EngineConfig
from recon.reconcile._frames import STORE_DAY, among, declared
from recon.reconcile.engine import Findings, Part, _configured, combine_parts, reconcile_part
from recon.snapshot import TABLES, SnapshotError, scan_table
from recon.snapshot.location import Where, is_dir, join
from recon.snapshot.partitioned import read_index, read_partition, stores, write_partitioned

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
            # N pools of every core would fight over the cores (and spin waiting): each
            # worker gets its share. Set before the worker process starts, as Polars reads
            # it at import (which the process's bootstrap does first).
            pool = str(polars_threads(n)) if processes else None
            with dask.config.set({"distributed.nanny.pre-spawn-environ.POLARS_MAX_THREADS": pool}):
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1 if processes else 2,
                    processes=processes,
                    dashboard_address=":0",  # never a fixed port others may hold
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


def _plan(
    index: dict[str, pl.DataFrame], groups: list[Group]
) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """From the snapshot's index, without reading a partition: the task owning each reference
    some task's ERP rows name but that task does not hold (`ref`, `_to`: the lowest rank
    wins, then the first task: an order, a quarantined order, its store-day journal, a
    document carrying it), and the tasks each task hands rows to."""
    task = pl.DataFrame(
        {
            "store": [store for group in groups for store in group],
            "task": [str(i) for i, group in enumerate(groups) for _ in group],
        }
    )
    holders = index["holders"].join(task, on="store").select("ref", "task", "rank")
    held = holders.filter(pl.col("rank") <= 1).select("task", "ref")
    of_day = task.rename({"store": "_day", "task": "_day_task"})
    day = pl.col("ref").str.extract(STORE_DAY, 1).alias("_day")
    foreign = (  # a task's own store-day journals are its own too
        index["named"]
        .join(task, on="store")
        .select("task", "ref")
        .unique()
        .join(held, on=["task", "ref"], how="anti")
        .with_columns(day)
        .join(of_day, on="_day", how="left")
        .filter((pl.col("_day_task") != pl.col("task")).fill_null(True))
        .select("task", "ref")
    )
    wanted = foreign.select("ref").unique()
    by_day = (
        wanted.with_columns(day)
        .join(of_day, on="_day")
        .select("ref", pl.col("_day_task").alias("task"), pl.lit(2, pl.Int32).alias("rank"))
    )
    owners = (
        pl.concat([holders.join(wanted, on="ref", how="semi"), by_day], how="vertical")
        .sort("rank", "task")
        .unique("ref", keep="first", maintain_order=True)
        .select("ref", pl.col("task").alias(_TO))
    )
    edges = foreign.join(owners, on="ref").filter(pl.col(_TO) != pl.col("task"))
    sends = {
        str(key): sorted(targets)
        for key, targets in edges.group_by("task").agg(pl.col(_TO).unique()).iter_rows()
    }
    return owners, sends


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
    index = read_index(root)
    settings = declared(scan_table(root, "map_settings").collect())
    cfg = config if config is not None else _configured(settings)
    threads = sum(client.nthreads().values()) or 1
    groups = _groups(names, tasks if tasks is not None else 4 * threads)
    keys = [str(i) for i in range(len(groups))]
    owners, sends = _plan(index, groups)
    latest: Any = index["latest"].get_column("created_at").max()
    when = as_of if as_of is not None else (latest if isinstance(latest, datetime) else None)
    try:
        arriving: dict[str, list[Any]] = {k: [] for k in keys}
        owners_f: Any = None
        if sends:  # only along the edges the index shows: a task -> the tasks owning its refs
            [owners_f] = client.scatter([owners], broadcast=True)
        for group, key in zip(groups, keys, strict=True):
            if key in sends:
                moves = client.submit(_outgoing, root, group, key, owners_f, pure=False)
                for k in sends[key]:
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
