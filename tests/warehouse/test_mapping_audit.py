"""Every mapping an import adds, changes or removes is recorded: who, when, before -> after."""

from __future__ import annotations

from sqlalchemy import Engine, select

from recon.config.mappings import parse_mappings
from recon.warehouse.mappings import import_mappings
from recon.warehouse.models import MappingChange

SETTINGS = {"posting_mode": "per_order", "guest_customer": "CASH"}
FIRST = {
    "stores": {"1": "WH-LON", "7": {"location": "WH-AMS", "timezone": "Europe/Amsterdam"}},
    "tenders": {"Cash": "1210", "Card": "1220"},
    "tax": {"20": {"code": "1", "account": "2200"}},
    "settings": SETTINGS,
}
SECOND = {
    "stores": {"1": "WH-LON2", "7": {"location": "WH-AMS", "timezone": "Europe/Amsterdam"}},
    "tenders": {"Cash": "1210", "Swish": "1230"},
    "tax": {"20": {"code": "1", "account": "2201"}},
    "settings": SETTINGS,
}


def _changes(engine: Engine) -> list[tuple[str | None, ...]]:
    t = MappingChange
    stmt = select(t.actor, t.source, t.mapping, t.key, t.before, t.after).order_by(t.id)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def test_an_import_records_each_change_and_nothing_else(warehouse: Engine) -> None:
    import_mappings(warehouse, parse_mappings(FIRST), actor="ann", source="first.toml")
    assert len(_changes(warehouse)) == 7  # 2 stores, 2 tenders, 1 rate, 2 settings: all new
    import_mappings(warehouse, parse_mappings(FIRST), actor="ann", source="first.toml")
    assert len(_changes(warehouse)) == 7  # the same file again changes nothing

    import_mappings(warehouse, parse_mappings(SECOND), actor="bob", source="second.toml")
    assert _changes(warehouse)[7:] == [
        # actor source         mapping   key      before                 after
        ("bob", "second.toml", "store", "1", "WH-LON", "WH-LON2"),
        ("bob", "second.toml", "tax", "20.00", "1, account 2200", "1, account 2201"),
        ("bob", "second.toml", "tender", "Card", "1220", None),  # removed
        ("bob", "second.toml", "tender", "Swish", None, "1230"),  # added
    ]


def test_an_import_without_an_actor_names_the_system_user(warehouse: Engine) -> None:
    import getpass

    import_mappings(warehouse, parse_mappings({"tenders": {"Cash": "1210"}}))
    assert {(a, s) for a, s, *_ in _changes(warehouse)} == {(getpass.getuser(), "import")}
