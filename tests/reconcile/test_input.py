"""Bad and odd input: missing tables, missing columns, naive instants, scoping."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from reconcile import reconcile
from snapshot import EXCEPTIONS_SCHEMA, SnapshotError
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
