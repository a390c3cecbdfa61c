"""The dashboard's tolerances and what-if panel: the tolerances in effect, the tolerances a
user types, and the table of findings each would leave next to now.

Plain functions (queries take a SQLAlchemy `Connection` first); no Streamlit here (that is
`recon.app.ui`). The counting itself is the engine's (`recon.reconcile.whatif`).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, func, select

from recon.kinds import KINDS
from recon.reconcile import TOLERANCE_KINDS, Counts, EngineConfig, Tolerance
from recon.warehouse.models import ErpDocument, MapSetting, PosOrder, Run

__all__ = [
    "DEFAULT_TOLERANCES",
    "counts_table",
    "has_data",
    "in_effect",
    "parse_tolerances",
    "snapshot_marker",
    "tolerances_in_effect",
]

DEFAULT_TOLERANCES = "0.01, 0.05, 1%"
MAX_TOLERANCES = 8  # each is a re-run of the money checks: a panel, not a batch job
NOW = "now (as configured)"
OTHER = "other kinds"


def tolerances_in_effect(conn: Connection) -> EngineConfig:
    """The tolerances the engine reads from the mappings' [settings] (its own rule,
    `EngineConfig.from_settings`; defaults for what is unset)."""
    settings = {k: v for k, v in conn.execute(select(MapSetting.key, MapSetting.value))}
    return EngineConfig.from_settings(settings)


def in_effect(cfg: EngineConfig) -> str:
    """One line: each tolerance setting and its value, as the settings write them."""
    rounding = Tolerance(cfg.vat_rounding_max, cfg.vat_rounding_relative)
    return (
        f"amount_tolerance {cfg.amount.text()} · tender_tolerance {cfg.tender.text()} · "
        f"vat_rounding_max {rounding.text()} · stock_tolerance {cfg.stock.text()}"
    )


def snapshot_marker(conn: Connection) -> int:
    """The id of the latest run of any job (0: none): data may have changed when it moves."""
    latest = conn.execute(select(func.max(Run.id))).scalar()
    return int(latest or 0)


def has_data(conn: Connection) -> bool:
    """Whether the warehouse holds any POS order or ERP document to compare."""
    return any(
        conn.execute(select(column).limit(1)).first() is not None
        for column in (PosOrder.order_id, ErpDocument.doc_id)
    )


def parse_tolerances(text: str) -> list[tuple[str, Tolerance]]:
    """`0.01, 0.05, 1%` (commas or spaces) as (text, tolerance) in the order given, each
    once; ValueError naming the first that is not a tolerance, or when there are none or
    more than MAX_TOLERANCES."""
    words = [w for w in text.replace(",", " ").split() if w]
    if not words:
        raise ValueError("enter a tolerance such as 0.05 or 1%")
    out: dict[str, Tolerance] = {}
    for word in words:
        out.setdefault(word, Tolerance.parse(word))  # ValueError names it
    if len(out) > MAX_TOLERANCES:
        raise ValueError(f"at most {MAX_TOLERANCES} tolerances at a time")
    return list(out.items())


def counts_table(rows: list[Counts], now: Counts) -> pl.DataFrame:
    """One row per tolerance (in order) and the configured counts first: the kinds a money
    tolerance decides, the other kinds together, the total and its change against now."""
    shown = [k.name for k in KINDS if k.name in TOLERANCE_KINDS]
    records = []
    for c in [now, *rows]:
        varying = {k: c.by_kind[k] for k in shown}
        records.append(
            {
                "tolerance": NOW if c is now else c.tolerance,
                **varying,
                OTHER: c.total - sum(varying.values()),
                "total": c.total,
                "vs now": c.total - now.total,
            }
        )
    schema = {"tolerance": pl.String, **dict.fromkeys([*shown, OTHER, "total", "vs now"], pl.Int64)}
    return pl.DataFrame(records, schema=schema)
