"""The Admin page: the audits of mapping and account changes."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, true

from recon.app.queries._frames import _table
from recon.warehouse.models import AccountChange, MappingChange


def mapping_changes(conn: Connection, limit: int = 500) -> pl.DataFrame:
    """The audit of mapping edits and imports, newest first: who, when, where from, and
    each mapping's value before -> after (null: not mapped)."""
    t = MappingChange
    frame = _table(conn, t, true(), order_by=[t.at.desc(), t.id.desc()], skip=("id",))
    return frame.head(limit)


def account_changes(conn: Connection, limit: int = 500) -> pl.DataFrame:
    """The audit of dashboard account changes, newest first: who, when, where from, which
    account and what changed (never a password)."""
    t = AccountChange
    frame = _table(conn, t, true(), order_by=[t.at.desc(), t.id.desc()], skip=("id",))
    return frame.head(limit)
