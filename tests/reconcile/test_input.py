"""Bad and odd input: missing tables, missing columns, naive instants, scoping."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from recon.reconcile import EngineConfig, reconcile
from recon.snapshot import EXCEPTIONS_SCHEMA, SnapshotError
from tests.reconcile._build import DAY, Snap, found, later


def test_missing_tables_read_as_empty() -> None:
    findings = reconcile({})
    assert findings.exceptions.is_empty()
    assert findings.exceptions.schema == pl.Schema(EXCEPTIONS_SCHEMA)


def test_missing_column_is_one_clear_line() -> None:
    tables = Snap().sale("1").tables()
    tables["pos_orders"] = tables["pos_orders"].drop("paid")
    with pytest.raises(SnapshotError, match=r"^table pos_orders: missing column 'paid'$"):
        reconcile(tables)


def test_uncastable_column_is_one_clear_line() -> None:
    tables = Snap().sale("1").tables()
    tables["pos_payments"] = tables["pos_payments"].with_columns(pl.lit("abc").alias("amount"))
    with pytest.raises(SnapshotError) as err:
        reconcile(tables)
    assert "\n" not in str(err.value)


def test_naive_as_of_is_utc() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00")
    naive = snap.run(as_of=datetime(2024, 5, 1, 11)).exceptions
    aware = snap.run(as_of=datetime(2024, 5, 1, 11, tzinfo=UTC)).exceptions
    assert naive.equals(aware) and naive.is_empty()  # 1 h old: pending


def test_day_and_store_scope_keep_global_findings() -> None:
    snap = Snap().sale("1", posted=False).sale("2", store="2", day=later(1), posted=False)
    snap.order("3").pay("3", "Swish", "1.00")
    scoped = snap.run(day=DAY, store="1")
    assert found(scoped, "pos_ref") == {
        ("missing_in_erp", "not_posted", "1"),
        ("missing_in_erp", "held_unmapped_tender", "3"),
        ("tender_variance", "explained_by_missing_in_erp", None),
        ("unmapped_tender", "tender_not_mapped", None),
    }
    assert set(scoped.takings.get_column("store")) == {"1"}


A, V = "amount_tolerance", "vat_rounding_max"


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # [settings] of the snapshot  ERP VAT 2.05 (POS 2.00), gross 12.06 (POS 12.00)
        ({}, {("amount_mismatch", "amount_differs")}),
        ({A: "0.06"}, {("amount_mismatch", "vat_differs")}),
        ({A: "0.5%", V: "0.05"}, {("vat_rounding", "rounding_0.05")}),  # 0.5% of 12.00
        ({A: "0.06", V: "2.5%"}, {("vat_rounding", "rounding_0.05")}),  # 2.5% of 2.00
        ({A: "0.06", V: "2%"}, {("amount_mismatch", "vat_differs")}),
    ],
)  # fmt: skip
def test_tolerances_come_from_the_snapshot_settings(
    settings: dict[str, str], expected: set[object]
) -> None:
    snap = Snap().order("1", vat="2.00").pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1", "12.06", vat="2.05")
    for key, value in settings.items():
        snap.setting(key, value)
    assert found(snap.run()) == expected
    assert found(snap.run(EngineConfig())) == {("amount_mismatch", "amount_differs")}  # given


def test_a_bad_tolerance_setting_is_one_clear_line() -> None:
    snap = Snap().sale("1").setting("amount_tolerance", "a penny")
    with pytest.raises(SnapshotError) as err:
        snap.run()
    assert str(err.value) == (
        "table map_settings: setting amount_tolerance: 'a penny' is not an amount or a "
        "percentage such as 0.05 or 0.5%"
    )
