"""Store-day takings and their variance waterfall, as the last reconcile run computed them.

A run replaces the rows of the store-days it reconciled (all of them, or one day / store),
so the dashboard always shows one consistent run per store-day. ERP money no store could be
given is kept with `store` null (unattributed); a store's run replaces those rows too.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Engine, delete, or_

from recon.warehouse.db import table
from recon.warehouse.models import Takings, WaterfallPart


def save_takings(
    engine: Engine,
    takings: pl.DataFrame,
    waterfall: pl.DataFrame,
    *,
    day: date | None = None,
    store: str | None = None,
) -> None:
    with engine.begin() as conn:
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
