"""The warehouse on both backends: exact money, idempotent upserts, mappings, export, history."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from alembic import command
from sqlalchemy import Engine, func, select

from recon import snapshot
from recon.config import ConfigError
from recon.config.mappings import parse_mappings
from recon.warehouse.db import (
    alembic_config,
    close_warehouses,
    make_engine,
    newest_revision,
    open_warehouse,
    revision,
    table,
    upgrade,
    upsert,
    upsert_statement,
)
from recon.warehouse.exceptions import read_exceptions, save_exceptions
from recon.warehouse.export import export_snapshot, read_table
from recon.warehouse.mappings import import_mappings, load_mappings
from recon.warehouse.models import ExceptionEvent, PosPayment, Run
from recon.warehouse.runs import record_run

T0 = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)


def at_revision(url: str, rev: str) -> None:
    """A warehouse left at an older schema, as an earlier release of recon left it."""
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, rev)
    engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return revision(engine)
    finally:
        engine.dispose()


def test_opening_never_migrates_a_schema_behind_db_upgrade_does(warehouse_url: str) -> None:
    at_revision(warehouse_url, "0005")
    newest = newest_revision()
    assert newest not in (None, "0005")
    behind = rf"^the warehouse schema is behind \(revision 0005, this recon needs {newest}\): "
    for create in (True, False):
        with pytest.raises(ConfigError, match=behind + "run `recon db upgrade`$"):
            open_warehouse(warehouse_url, create=create)
    assert _revision(warehouse_url) == "0005"  # refused, untouched
    assert upgrade(warehouse_url) == ("0005", newest)
    assert upgrade(warehouse_url) == (newest, newest)  # again: nothing to do
    open_warehouse(warehouse_url, create=False)


def test_a_new_empty_warehouse_gets_its_schema_only_where_creating_is_allowed(
    warehouse_url: str,
) -> None:
    #  create -> revision after opening (None: refused)
    if not warehouse_url.startswith("sqlite"):  # an empty PostgreSQL schema exists already
        with pytest.raises(ConfigError, match=r"revision none, .*run `recon db upgrade`$"):
            open_warehouse(warehouse_url, create=False)
        assert _revision(warehouse_url) is None
    open_warehouse(warehouse_url, create=True)
    assert _revision(warehouse_url) == newest_revision()


def test_a_process_opens_one_warehouse_per_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    first = open_warehouse(url)
    assert open_warehouse(url, create=False) is first  # the same object, its one pool
    assert open_warehouse(f"sqlite:///{tmp_path}/other.db").engine is not first.engine
    (tmp_path / "w.db").unlink()
    with pytest.raises(ConfigError, match=r"^no warehouse at "):  # asked again, not cached
        open_warehouse(url, create=False)
    close_warehouses()
    assert open_warehouse(url) is not first  # made anew (and the new file given its schema)
    assert _revision(url) == newest_revision()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    from recon.warehouse.db import open_warehouse

    engine = open_warehouse(f"sqlite:///{tmp_path}/w.db").engine
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_new_sqlite_warehouse_and_its_wal_are_private(tmp_path: Path) -> None:
    from recon.warehouse.db import open_warehouse

    old = os.umask(0o022)  # a usual umask: files 0644 unless recon asks otherwise
    try:
        engine = open_warehouse(f"sqlite:///{tmp_path}/w.db").engine
        with engine.connect():  # the -wal and -shm files exist while a connection is open
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("w.db*")}
        engine.dispose()
    finally:
        os.umask(old)
    assert modes == {"w.db": 0o600, "w.db-wal": 0o600, "w.db-shm": 0o600}


def test_money_round_trips_exactly_and_upsert_replaces(warehouse: Engine) -> None:
    #  order_id payment_no tender  amount
    rows = [
        ("1", 1, "Card", Decimal("0.10")),
        ("1", 2, "Cash", Decimal("12345678901234.99")),
        ("2", 1, "Card", Decimal("-25.00")),
    ]
    payments = table("pos_payments")
    with warehouse.begin() as conn:
        upsert(
            conn,
            payments,
            [
                dict(zip(("order_id", "payment_no", "tender", "amount"), r, strict=True))
                for r in rows
            ],
        )
        upsert(
            conn,
            payments,
            [{"order_id": "2", "payment_no": 1, "tender": "Card", "amount": Decimal("-20.00")}],
        )
    with warehouse.connect() as conn:
        got = conn.execute(
            select(PosPayment.order_id, PosPayment.payment_no, PosPayment.amount).order_by(
                PosPayment.order_id, PosPayment.payment_no
            )
        ).all()
    assert got == [
        ("1", 1, Decimal("0.10")),
        ("1", 2, Decimal("12345678901234.99")),
        ("2", 1, Decimal("-20.00")),
    ]


def test_one_upsert_builder_does_nothing_or_updates_where_its_condition_holds(
    warehouse: Engine,
) -> None:
    payments = table("pos_payments")
    keys = ["order_id", "payment_no"]
    dialect = warehouse.dialect.name

    def pay(order: str, tender: str, amount: str) -> dict[str, object]:
        return {"order_id": order, "payment_no": 1, "tender": tender, "amount": Decimal(amount)}

    keep = upsert_statement(dialect, payments, keys)  # nothing to update: do nothing
    card_only = upsert_statement(
        dialect,
        payments,
        keys,
        ["amount"],
        where=lambda offered: payments.c.tender == offered.tender,
        returning=[payments.c.order_id],
    )
    with warehouse.begin() as conn:
        conn.execute(keep, [pay("1", "Card", "5.00"), pay("2", "Cash", "7.00")])
        conn.execute(keep, [pay("1", "Card", "9.99")])
        #                       offered row            written?
        offers = [(pay("1", "Card", "6.00"), ["1"]), (pay("2", "Card", "8.00"), [])]
        for row, written in offers:
            assert conn.execute(card_only, row).scalars().all() == written
    with warehouse.connect() as conn:
        got = conn.execute(
            select(PosPayment.order_id, PosPayment.amount).order_by(PosPayment.order_id)
        ).all()
    assert got == [("1", Decimal("6.00")), ("2", Decimal("7.00"))]


def test_an_upsert_on_another_dialect_is_one_line_naming_the_supported_ones() -> None:
    with pytest.raises(ConfigError, match=r"runs on sqlite or postgresql, not mysql$"):
        upsert_statement("mysql", table("pos_payments"), ["order_id", "payment_no"])


MAPPINGS = {
    "stores": {"1": "WH-LON", "7": {"location": "WH-AMS", "timezone": "Europe/Amsterdam"}},
    "tenders": {"Cash": "1210", "Card": "1220"},
    "tax": {"20.00": {"code": "1", "account": "2200"}, "0": {"code": "0", "account": "2200"}},
    "settings": {"posting_mode": "daily_journal", "guest_customer": "CASH99"},
}


def test_mappings_import_replaces_and_reads_back(warehouse: Engine) -> None:
    import_mappings(warehouse, parse_mappings({"tenders": {"Old": "9999"}}))
    counts = import_mappings(warehouse, parse_mappings(MAPPINGS))
    assert counts == {"map_store": 2, "map_tender": 2, "map_tax": 2, "map_settings": 2}
    got = load_mappings(warehouse)
    assert got.tenders == {"Cash": "1210", "Card": "1220"}
    assert got.stores["7"].timezone == "Europe/Amsterdam"
    assert got.stores["1"].location == "WH-LON"
    assert sorted(got.tax) == [Decimal("0.00"), Decimal("20.00")]
    assert (got.posting_mode, got.guest_customer) == ("daily_journal", "CASH99")


def test_export_writes_every_contract_table_with_contract_types(
    warehouse: Engine, tmp_path: Path
) -> None:
    with warehouse.begin() as conn:
        upsert(
            conn,
            table("pos_orders"),
            [
                {
                    "order_id": "5120",
                    "store_id": "1",
                    "business_day": date(2024, 6, 1),
                    "created_at": T0,
                    "order_type": "sale",
                    "state": "completed",
                    "paid": True,
                    "original_order_id": None,
                    "gross_total": Decimal("25.00"),
                    "vat_total": Decimal("4.17"),
                    "currency": "GBP",
                }
            ],
        )
    import_mappings(warehouse, parse_mappings(MAPPINGS))
    counts = export_snapshot(warehouse, tmp_path / "snap")
    assert counts["pos_orders"] == 1 and counts["map_store"] == 2 and counts["erp_documents"] == 0
    tables = snapshot.read_snapshot(tmp_path / "snap")
    orders = tables["pos_orders"].collect()
    assert orders.schema == pl.Schema(snapshot.TABLES["pos_orders"])
    assert orders.row(0) == (
        "5120",
        "1",
        date(2024, 6, 1),
        T0,
        "sale",
        "completed",
        True,
        None,
        Decimal("25.00"),
        Decimal("4.17"),
        "GBP",
    )
    assert read_table(warehouse, "map_tax").sort("vat_rate")["vat_rate"].to_list() == [
        Decimal("0.00"),
        Decimal("20.00"),
    ]


def _exc(id_: str, status: str | None, seen: datetime | None = None) -> dict[str, object]:
    row: dict[str, object] = {f: None for f in snapshot.EXCEPTION_FIELDS}
    row.update(
        id=id_,
        kind="missing_in_erp",
        cause="not_posted",
        store="1",
        business_day=date(2024, 6, 1),
        pos_ref=id_,
        pos_value=Decimal("25.000"),
        difference=Decimal("-25.000"),
        currency="GBP",
        severity="error",
        owner="finance",
        status=status,
        first_seen=seen,
        last_seen=seen,
    )
    return row


def test_save_exceptions_keeps_history_and_audits_status_changes(warehouse: Engine) -> None:
    t1 = datetime(2024, 6, 2, 6, 0, tzinfo=UTC)
    t2 = datetime(2024, 6, 3, 6, 0, tzinfo=UTC)
    first = pl.DataFrame(
        [_exc("a", "new", t1), _exc("b", "new", t1)], schema=snapshot.EXCEPTIONS_SCHEMA
    )
    assert save_exceptions(warehouse, first, t1) == {"new": 2}
    second = pl.DataFrame(
        [{**_exc("a", "persisting", t2), "first_seen": t1}, {**_exc("b", "resolved", t1)}],
        schema=snapshot.EXCEPTIONS_SCHEMA,
    )
    assert save_exceptions(warehouse, second, t2) == {"persisting": 1, "resolved": 1}
    stored = read_exceptions(warehouse).sort("id")
    #   id   status        first_seen  last_seen
    assert stored.select("id", "status", "first_seen", "last_seen").rows() == [
        ("a", "persisting", t1, t2),
        ("b", "resolved", t1, t1),
    ]
    assert stored["pos_value"].to_list() == [Decimal("25.000"), Decimal("25.000")]
    with warehouse.connect() as conn:
        events = conn.execute(
            select(ExceptionEvent.exception_id, ExceptionEvent.action).order_by(ExceptionEvent.id)
        ).all()
    assert events == [("a", "new"), ("b", "new"), ("a", "persisting"), ("b", "resolved")]
    assert read_exceptions(warehouse, day=date(2024, 6, 1), store="1").height == 2
    assert read_exceptions(warehouse, day=date(2024, 6, 2)).height == 0


def test_runs_record_counts_and_failures(warehouse: Engine) -> None:
    with record_run(warehouse, "collect") as run:
        run.counts["orders"] += 3
    try:
        with record_run(warehouse, "sync"):
            raise RuntimeError("vendor down")
    except RuntimeError:
        pass
    with warehouse.connect() as conn:
        rows = conn.execute(
            select(Run.job, Run.status, Run.counts, Run.message).order_by(Run.id)
        ).all()
        assert conn.execute(select(func.count()).select_from(Run)).scalar() == 2
    assert rows == [
        ("collect", "ok", '{"orders": 3}', None),
        ("sync", "failed", "{}", "RuntimeError: vendor down"),
    ]


def test_takings_of_a_rerun_store_day_replace_only_that_store_day(warehouse: Engine) -> None:
    from recon.warehouse.models import Takings
    from recon.warehouse.takings import save_takings

    d1, d2 = date(2024, 6, 1), date(2024, 6, 2)

    def frames(rows: list[tuple[str | None, date, str, str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
        takings = pl.DataFrame(
            [
                (s, d, "1220", "Card", Decimal(p), Decimal(p), Decimal(0), "GBP")
                for s, d, p, _ in rows
            ],
            schema={
                "store": pl.String,
                "business_day": pl.Date,
                "account": pl.String,
                "tender": pl.String,
                "pos_amount": snapshot.MONEY,
                "erp_amount": snapshot.MONEY,
                "variance": snapshot.MONEY,
                "currency": pl.String,
            },
            orient="row",
        )
        waterfall = pl.DataFrame(
            [(s, d, c, Decimal(0), "GBP") for s, d, _, c in rows],
            schema={
                "store": pl.String,
                "business_day": pl.Date,
                "cause": pl.String,
                "amount": snapshot.MONEY,
                "currency": pl.String,
            },
            orient="row",
        )
        return takings, waterfall

    save_takings(
        warehouse, *frames([("1", d1, "10.00", "unexplained"), ("1", d2, "20.00", "unexplained")])
    )
    save_takings(warehouse, *frames([("1", d2, "25.00", "unexplained")]), day=d2, store="1")
    with warehouse.connect() as conn:
        got = conn.execute(
            select(Takings.business_day, Takings.pos_amount).order_by(Takings.business_day)
        ).all()
    #        day  pos takings
    assert got == [(d1, Decimal("10.00")), (d2, Decimal("25.00"))]


def test_unattributed_takings_have_a_null_store_and_a_store_run_replaces_them(
    warehouse: Engine,
) -> None:
    from recon.warehouse.models import Takings, WaterfallPart
    from recon.warehouse.takings import save_takings

    day = date(2024, 6, 1)

    def frames(rows: list[tuple[str | None, str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
        money = snapshot.MONEY
        takings = pl.DataFrame(
            [(s, day, "1220", None, Decimal(0), Decimal(e), Decimal(e), "GBP") for s, e in rows],
            schema={"store": pl.String, "business_day": pl.Date, "account": pl.String,
                    "tender": pl.String, "pos_amount": money, "erp_amount": money,
                    "variance": money, "currency": pl.String},
            orient="row",
        )  # fmt: skip
        waterfall = pl.DataFrame(
            [(s, day, "unexplained", Decimal(e), "GBP") for s, e in rows],
            schema={"store": pl.String, "business_day": pl.Date, "cause": pl.String,
                    "amount": money, "currency": pl.String},
            orient="row",
        )  # fmt: skip
        return takings, waterfall

    #                         store  ERP money
    save_takings(warehouse, *frames([("1", "1.00"), (None, "5.00")]))
    save_takings(warehouse, *frames([("1", "2.00"), (None, "5.00")]), day=day, store="1")
    with warehouse.connect() as conn:
        takings = conn.execute(
            select(Takings.store, Takings.erp_amount).order_by(Takings.store.nulls_first())
        ).all()
        parts = conn.execute(select(func.count()).select_from(WaterfallPart)).scalar()
    assert takings == [(None, Decimal("5.00")), ("1", Decimal("2.00"))]  # not twice
    assert parts == 2
