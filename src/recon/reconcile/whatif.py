"""What-if: how many findings each money tolerance would leave (CONTRACT `recon whatif`).

A what-if tolerance T replaces the two money tolerances, `amount_tolerance` (document gross
totals) and `tender_tolerance` (store-day takings per tender account); `vat_rounding_max`
and `stock_tolerance` stay as the snapshot's settings configure them (VAT rounding only
moves a finding between vat_rounding and amount_mismatch, and stock is not money). The
kinds those two tolerances decide are `TOLERANCE_KINDS`: amount_mismatch and vat_rounding
(a gross within the tolerance leaves its VAT difference to be judged alone) and
tender_variance. Every other finding is the same at any tolerance.

`prepare_whatif` runs the engine once (with the configured tolerances) and keeps the small
frames those checks read: the linked orders and the takings per store-day and account;
`WhatIf.counts` re-runs only those checks. The counts equal a full `reconcile` with
`amount` and `tender` set to T (tests/reconcile/test_whatif.py proves it by property).
Reads frames only; writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from recon.kinds import KINDS
from recon.reconcile._config import EngineConfig, Tolerance
from recon.reconcile._documents import compare_documents, money_checks
from recon.reconcile._frames import conform_tables, declared, finish, gather
from recon.reconcile._master import compare_master
from recon.reconcile._prepare import prepare
from recon.reconcile._tenders import explain_takings, takings_rows
from recon.reconcile.engine import _configured, _unfit

__all__ = ["TOLERANCE_KINDS", "Counts", "WhatIf", "prepare_whatif"]

# The kinds the money tolerances decide (the rest are counted once).
TOLERANCE_KINDS = frozenset({"amount_mismatch", "vat_rounding", "tender_variance"})


@dataclass(frozen=True)
class Counts:
    """Findings left at one tolerance. `by_kind` has every kind of `recon.kinds`, in its
    order, zeros included; `total` is their sum. `tolerance` is the text as given."""

    tolerance: str
    by_kind: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def as_json(self) -> dict[str, object]:
        return {"tolerance": self.tolerance, "total": self.total, "by_kind": self.by_kind}


def _by_kind(rows: pl.DataFrame) -> dict[str, int]:
    """Findings per kind of `finish`ed exception rows (one per id)."""
    return {str(kind): int(n) for kind, n in rows.group_by("kind").len().iter_rows()}


@dataclass(frozen=True)
class WhatIf:
    """A snapshot prepared for what-if runs.

    config: the tolerances the snapshot's settings configure (`now`).
    fixed: findings per kind no money tolerance decides (every kind not in TOLERANCE_KINDS).
    linked: eligible orders linked to their documents, as `money_checks` reads them.
    takings: `takings_rows` (one row per store-day and tender account), collected.
    """

    config: EngineConfig
    fixed: dict[str, int]
    linked: pl.DataFrame
    takings: pl.DataFrame

    def counts(self, tolerance: Tolerance | None = None, text: str | None = None) -> Counts:
        """Findings per kind with `amount` and `tender` set to `tolerance` (None: as
        configured); labelled `text` (default: the tolerance written out)."""
        cfg = self.config
        if tolerance is not None:
            cfg = replace(cfg, amount=tolerance, tender=tolerance)
        money, _ = money_checks(self.linked.lazy(), cfg)
        tenders = explain_takings(self.takings.lazy(), cfg)
        try:
            rows = gather([*money, *tenders.parts]).collect()
        except pl.exceptions.PolarsError as exc:
            raise _unfit(exc) from exc
        varying = _by_kind(finish(rows))
        by_kind = {k.name: self.fixed.get(k.name, 0) + varying.get(k.name, 0) for k in KINDS}
        if text is None:
            text = "as configured" if tolerance is None else tolerance.text()
        return Counts(tolerance=text, by_kind=by_kind)


def prepare_whatif(tables: Mapping[str, pl.LazyFrame], *, as_of: datetime | None = None) -> WhatIf:
    """Run the engine once over a whole snapshot (as `reconcile` does, with its configured
    tolerances) and keep what the money checks need. Raises `recon.snapshot.SnapshotError`
    as `reconcile` does."""
    t = conform_tables(tables)
    try:
        settings = declared(t["map_settings"].collect())
        cfg = _configured(settings)
        p = prepare(t, cfg.grace, as_of, None, None, settings)
        docs = compare_documents(p, cfg)
        # The takings rows do not depend on the tolerances: their explaining money (the
        # effects of an amount_mismatch) only picks a variance's cause, never whether it is one.
        parts = [*docs.parts, *compare_master(p, cfg)]
        rows, linked, takings = pl.collect_all(
            [
                gather(parts).filter(pl.col("kind").is_in(TOLERANCE_KINDS).not_()),
                docs.linked,
                takings_rows(p, docs.effects, docs.erp_only),
            ]
        )
    except pl.exceptions.PolarsError as exc:
        raise _unfit(exc) from exc
    return WhatIf(config=cfg, fixed=_by_kind(finish(rows)), linked=linked, takings=takings)
