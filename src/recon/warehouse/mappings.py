"""Mappings in the warehouse: `recon mappings import` writes them, sync and engine read them.

A re-import replaces all mappings in one transaction, so readers never see half a file,
and records each mapping it adds, changes or removes in `mapping_changes` (who, when,
before -> after) in that same transaction: an edit from the dashboard is an import too.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from recon.config.mappings import Mappings, StoreMapping, TaxMapping
from recon.warehouse.db import table
from recon.warehouse.models import MappingChange, MapSetting, MapStore, MapTax, MapTender


def _entries(mappings: Mappings) -> dict[tuple[str, str], str]:
    """Every mapping as (mapping, key) -> its value as text, for the audit's before/after."""
    out: dict[tuple[str, str], str] = {}
    for s in mappings.stores.values():
        out["store", s.store_id] = s.location + (f" ({s.timezone})" if s.timezone else "")
    for tender, account in mappings.tenders.items():
        out["tender", tender] = account
    for t in mappings.tax.values():
        out["tax", str(t.vat_rate)] = f"{t.tax_code}, account {t.account}"
    for key, value in mappings.settings.items():
        out["setting", key] = value
    return out


def _audit(conn: Connection, before: Mappings, after: Mappings, actor: str, source: str) -> None:
    old, new = _entries(before), _entries(after)
    changes = [
        {"mapping": m, "key": k, "before": old.get((m, k)), "after": new.get((m, k))}
        for m, k in sorted(old.keys() | new.keys())
        if old.get((m, k)) != new.get((m, k))
    ]
    who = {"at": datetime.now(UTC), "actor": actor[:60], "source": source[:200]}
    if changes:
        conn.execute(insert(MappingChange), [{**who, **change} for change in changes])


def import_mappings(
    engine: Engine, mappings: Mappings, actor: str | None = None, source: str = "import"
) -> dict[str, int]:
    """Replace the warehouse's mappings with `mappings`; returns rows per table. Each
    mapping that changed is recorded under `actor` (default: the operating-system user)
    and `source` (the file, or "dashboard")."""
    stores = [
        {"store_id": s.store_id, "location": s.location, "timezone": s.timezone}
        for s in mappings.stores.values()
    ]
    tenders = [{"tender": t, "account": a} for t, a in mappings.tenders.items()]
    taxes = [
        {"vat_rate": t.vat_rate, "tax_code": t.tax_code, "account": t.account}
        for t in mappings.tax.values()
    ]
    settings = dict(mappings.settings)
    settings.setdefault("posting_mode", mappings.posting_mode)
    settings.setdefault("guest_customer", mappings.guest_customer)
    rows: dict[str, list[dict[str, Any]]] = {
        "map_store": stores,
        "map_tender": tenders,
        "map_tax": taxes,
        "map_settings": [{"key": k, "value": v} for k, v in settings.items()],
    }
    with engine.begin() as conn:
        before = _load(conn)
        for name, values in rows.items():
            conn.execute(table(name).delete())
            if values:
                conn.execute(table(name).insert(), values)
        after = _load(conn)  # as stored, so an unchanged re-import records nothing
        _audit(conn, before, after, actor or getpass.getuser(), source)
    return {name: len(values) for name, values in rows.items()}


def load_mappings(engine: Engine) -> Mappings:
    """The mappings as last imported (empty mappings when none were)."""
    with engine.connect() as conn:
        return _load(conn)


def _load(conn: Connection) -> Mappings:
    stores = conn.execute(select(MapStore.store_id, MapStore.location, MapStore.timezone))
    tenders = conn.execute(select(MapTender.tender, MapTender.account))
    taxes = conn.execute(select(MapTax.vat_rate, MapTax.tax_code, MapTax.account))
    settings = {k: v for k, v in conn.execute(select(MapSetting.key, MapSetting.value))}
    store_map = {s: StoreMapping(s, loc, tz) for s, loc, tz in stores}
    tender_map = {t: a for t, a in tenders}
    tax_map = {r: TaxMapping(r, c, a) for r, c, a in taxes}
    return Mappings(stores=store_map, tenders=tender_map, tax=tax_map, settings=settings)
