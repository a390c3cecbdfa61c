"""Mappings in the warehouse: `recon mappings import` writes them, sync and engine read them.

A re-import replaces all mappings in one transaction, so readers never see half a file.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from config.mappings import Mappings, StoreMapping, TaxMapping, parse_mappings
from warehouse.db import table
from warehouse.models import MapSetting, MapStore, MapTax, MapTender


def import_mappings(engine: Engine, mappings: Mappings) -> dict[str, int]:
    """Replace the warehouse's mappings with `mappings`; returns rows per table."""
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
        for name, values in rows.items():
            conn.execute(table(name).delete())
            if values:
                conn.execute(table(name).insert(), values)
    return {name: len(values) for name, values in rows.items()}


def load_mappings(engine: Engine) -> Mappings:
    """The mappings as last imported (empty mappings when none were)."""
    with engine.connect() as conn:
        stores = conn.execute(select(MapStore.store_id, MapStore.location, MapStore.timezone))
        tenders = conn.execute(select(MapTender.tender, MapTender.account))
        taxes = conn.execute(select(MapTax.vat_rate, MapTax.tax_code, MapTax.account))
        settings = {k: v for k, v in conn.execute(select(MapSetting.key, MapSetting.value))}
        store_map = {s: StoreMapping(s, loc, tz) for s, loc, tz in stores}
        tender_map = {t: a for t, a in tenders}
        tax_map = {r: TaxMapping(r, c, a) for r, c, a in taxes}
    base = parse_mappings({"settings": settings})
    return Mappings(
        stores=store_map,
        tenders=tender_map,
        tax=tax_map,
        posting_mode=base.posting_mode,
        guest_customer=base.guest_customer,
        settings=settings,
    )
