"""Store-day takings and their variance waterfall, as the last reconcile run computed them.

A run replaces the rows of the store-days it reconciled (all of them, or one day / store),
so the dashboard always shows one consistent run per store-day. ERP money no store could be
given is kept with `store` null (unattributed); a store's run replaces those rows too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, or_, select

from recon.warehouse.db import table
from recon.warehouse.models import Takings, WaterfallPart

# what a sign-off's evidence holds of a takings row (its key, then its money)
_COMPARED = ("store", "business_day", "account", "currency", "pos_amount", "erp_amount", "variance")


def _key(row: Mapping[Any, Any]) -> tuple[Any, ...]:
    return (row["store"], row["business_day"], row["account"])


def _money(row: Mapping[Any, Any]) -> tuple[Any, ...]:
    return (row["currency"], row["pos_amount"], row["erp_amount"], row["variance"])


def save_takings(
    engine: Engine,
    takings: pl.DataFrame,
    waterfall: pl.DataFrame,
    *,
    day: date | None = None,
    store: str | None = None,
) -> set[date]:
    """Replace the takings and waterfall rows of the run's scope; the business days whose
    takings rows changed (a row new, gone, or with other money or currency)."""
    new = {_key(r): _money(r) for r in takings.select(_COMPARED).to_dicts()}
    with engine.begin() as conn:
        old_rows = select(*(getattr(Takings, c) for c in _COMPARED))
        if day is not None:
            old_rows = old_rows.where(Takings.business_day == day)
        if store is not None:
            old_rows = old_rows.where(or_(Takings.store == store, Takings.store.is_(None)))
        old = {_key(r): _money(r) for r in conn.execute(old_rows).mappings()}
        for model in (Takings, WaterfallPart):
            stmt = delete(model)
            if day is not None:
                stmt = stmt.where(model.business_day == day)
            if store is not None:  # the run also recomputed the unattributed (null) store
                stmt = stmt.where(or_(model.store == store, model.store.is_(None)))
            conn.execute(stmt)
        for name, frame in (("takings", takings), ("variance_waterfall", waterfall)):
            columns = [c.name for c in table(name).columns]
            rows = frame.select(columns).to_dicts()
            if rows:
                conn.execute(table(name).insert(), rows)
    return {k[1] for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
