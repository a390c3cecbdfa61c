"""The reconciliation run: snapshot tables in, exceptions, takings and waterfall out.

Pure: reads the frames it is given, writes nothing, keeps no state between runs (history
belongs to `recon.reconcile.history`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from recon.reconcile._config import EngineConfig
from recon.reconcile._documents import compare_documents
from recon.reconcile._frames import conform_tables, declared, finish, gather
from recon.reconcile._master import _single, compare_master
from recon.reconcile._prepare import prepare
from recon.reconcile._tenders import add_takings, compare_tenders, explain_takings, takings_rows
from recon.snapshot import SnapshotError

__all__ = ["Findings", "Part", "combine_parts", "reconcile", "reconcile_part"]


@dataclass(frozen=True)
class Findings:
    """The engine's result.

    exceptions: EXCEPTIONS_SCHEMA columns, sorted by id; status/first_seen/last_seen are null
        (`merge_history` fills them).
    takings: store, business_day, account, tender, pos_amount, erp_amount, variance, currency
        (one row per store-day and mapped tender account; variance = ERP - POS).
    waterfall: store, business_day, cause, amount, currency; per store-day the amounts sum
        exactly to that store-day's total takings variance (zero parts are left out).
    """

    exceptions: pl.DataFrame
    takings: pl.DataFrame
    waterfall: pl.DataFrame


@dataclass(frozen=True)
class Part:
    """What `reconcile_part` returns for one part of a snapshot, for `combine_parts`.

    rows: exception rows before ids (gathered comparator output, tender variances aside).
    takings: `_tenders.takings_rows`, summed per store-day and account.
    """

    rows: pl.DataFrame
    takings: pl.DataFrame


def _scope(lf: pl.LazyFrame, day: date | None, store: str | None) -> pl.LazyFrame:
    # Global findings (no store / no day, e.g. an unmapped tender) stay in every scope.
    if day is not None:
        lf = lf.filter(pl.col("business_day").is_null() | (pl.col("business_day") == day))
    if store is not None:
        lf = lf.filter(pl.col("store").is_null() | (pl.col("store") == store))
    return lf


def _configured(settings: Mapping[str, str]) -> EngineConfig:
    """The tolerances the snapshot's settings set."""
    try:
        return EngineConfig.from_settings(settings)
    except ValueError as exc:
        raise SnapshotError(f"table map_settings: {exc}") from None


def reconcile(
    tables: Mapping[str, pl.LazyFrame],
    config: EngineConfig | None = None,
    *,
    as_of: datetime | None = None,
    day: date | None = None,
    store: str | None = None,
) -> Findings:
    """Reconcile one snapshot.

    `config` (default: the tolerances of the snapshot's `map_settings`, else the defaults).
    `as_of` (default: the latest `created_at` in pos_orders, so a snapshot always reconciles
    the same way) decides which unposted sales are still pending (younger than
    `config.grace`); a naive `as_of` is taken as UTC. `day` / `store` keep only findings of
    that business day / store (plus global ones that carry no day / store).
    Raises `recon.snapshot.SnapshotError` with one line naming the table and column on bad input.
    """
    t = conform_tables(tables)
    try:
        settings = declared(t["map_settings"].collect())
        cfg = config if config is not None else _configured(settings)
        p = prepare(t, cfg.grace, as_of, day, store, settings)
        docs = compare_documents(p, cfg)
        tenders = compare_tenders(p, cfg, docs.effects, docs.erp_only)
        parts = [*docs.parts, *tenders.parts, *compare_master(p, cfg)]
        rows, takings, waterfall = pl.collect_all(
            [
                _scope(gather(parts), day, store),
                _scope(tenders.takings, day, store),
                _scope(tenders.waterfall, day, store),
            ]
        )
        exceptions = finish(rows)
    except pl.exceptions.PolarsError as exc:
        raise _unfit(exc) from exc
    return Findings(exceptions=exceptions, takings=takings, waterfall=waterfall)


def _unfit(exc: pl.exceptions.PolarsError) -> SnapshotError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SnapshotError(f"snapshot tables do not fit the CONTRACT types: {first}")


def reconcile_part(
    tables: Mapping[str, pl.LazyFrame], config: EngineConfig, as_of: datetime | None
) -> Part:
    """The comparisons of one part of a snapshot that holds every row of its orders (and the
    ERP rows naming them) with the whole mapping and master tables: the same code as
    `reconcile`, stopping before the steps that need every part (`combine_parts`).
    `as_of` is the whole snapshot's (its latest `created_at` when the caller had none)."""
    t = conform_tables(tables)
    try:
        settings = declared(t["map_settings"].collect())
        p = prepare(t, config.grace, as_of, None, None, settings)
        docs = compare_documents(p, config)
        parts = [*docs.parts, *compare_master(p, config)]
        rows, takings = pl.collect_all(
            [gather(parts), takings_rows(p, docs.effects, docs.erp_only)]
        )
    except pl.exceptions.PolarsError as exc:
        raise _unfit(exc) from exc
    return Part(rows=rows, takings=takings)


def combine_parts(parts: list[Part], config: EngineConfig) -> Findings:
    """One run's findings from `reconcile_part` over parts that share no order: the global
    findings every part repeats kept once (an unmapped tender's money summed over the parts),
    the takings added per store-day and account before their variances are explained."""
    rows = pl.concat([p.rows for p in parts], how="vertical")
    summed = pl.col("kind") == "unmapped_tender"
    tender = (
        rows.lazy()
        .filter(summed)
        .group_by("_key", maintain_order=True)
        .agg(
            pl.all().exclude("pos_value", "currency").first(),
            pl.col("pos_value").sum().cast(rows.schema["pos_value"]),
            _single("currency"),
        )
        .select(rows.columns)
    )
    tenders = explain_takings(add_takings(pl.concat([p.takings.lazy() for p in parts])), config)
    try:
        gathered, takings, waterfall = pl.collect_all(
            [
                gather([rows.lazy().filter(summed.not_()), tender, *tenders.parts]),
                tenders.takings,
                tenders.waterfall,
            ]
        )
    except pl.exceptions.PolarsError as exc:
        raise _unfit(exc) from exc
    return Findings(exceptions=finish(gathered), takings=takings, waterfall=waterfall)
