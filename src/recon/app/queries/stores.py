"""What every page's filters read: the stores with orders or exceptions, their names, and
the latest business day.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from recon.warehouse.models import ExceptionRow, PosOrder, PosStore


def order_stores(conn: Connection) -> dict[str, date]:
    """Every store with POS orders and its latest business day with one.

    A loose index scan (a recursive CTE that seeks the next store id in the
    store-day index), so a year of orders costs one index seek per store instead of a
    scan of every order; the same SQL on SQLite and PostgreSQL.
    """
    t = PosOrder.__table__.c
    walk = select(func.min(t.store_id).label("store_id")).cte("walk", recursive=True)
    following = select(func.min(t.store_id)).where(t.store_id > walk.c.store_id)
    walk = walk.union_all(select(following.scalar_subquery()).where(walk.c.store_id.is_not(None)))
    last = select(func.max(t.business_day)).where(t.store_id == walk.c.store_id)
    stmt = select(walk.c.store_id, last.scalar_subquery().label("last_day")).where(
        walk.c.store_id.is_not(None)
    )
    return {str(store): day for store, day in conn.execute(stmt)}


def store_names(conn: Connection) -> dict[str, str]:
    """Store id -> name as Sitoo names it (kept by the collector); stores it never named
    are absent (show their id)."""
    return {str(i): str(n) for i, n in conn.execute(select(PosStore.store_id, PosStore.name))}


def store_options(conn: Connection) -> list[str]:
    """Every store that has an exception or a POS order, sorted."""
    a = conn.execute(select(ExceptionRow.store).where(ExceptionRow.store.is_not(None)).distinct())
    stores = {str(s) for s in a.scalars()}
    stores.update(order_stores(conn))
    return sorted(stores, key=lambda s: (len(s), s))


def latest_day(conn: Connection) -> date | None:
    """The latest business day with POS orders or exceptions (None on an empty warehouse)."""
    days = [conn.execute(select(func.max(ExceptionRow.business_day))).scalar_one_or_none()]
    days.extend(order_stores(conn).values())
    known = [d for d in days if d is not None]
    return max(known) if known else None
