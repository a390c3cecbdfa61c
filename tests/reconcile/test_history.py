"""exception_id, merge_history and to_records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from recon.reconcile import exception_id, merge_history, to_records
from recon.snapshot import EXCEPTIONS_SCHEMA
from tests.reconcile._build import Snap

T1 = datetime(2024, 5, 1, 6, tzinfo=UTC)
T2 = datetime(2024, 5, 2, 6, tzinfo=UTC)


def _rows(*rows: dict[str, Any]) -> pl.DataFrame:
    full = [{c: r.get(c) for c in EXCEPTIONS_SCHEMA} for r in rows]
    return pl.DataFrame(full, schema=EXCEPTIONS_SCHEMA, orient="row")


def test_exception_id_is_stable_and_keyed() -> None:
    a = exception_id("missing_in_erp", "5120")
    assert a == exception_id("missing_in_erp", "5120") and len(a) == 16
    assert a != exception_id("missing_in_pos", "5120")
    assert exception_id("x", None) != exception_id("x", "")
    assert exception_id("x", "a", "b") != exception_id("x", "ab")


def test_engine_ids_match_exception_id() -> None:
    snap = Snap().order("7").pay("7", "Card", "12.00")
    ids = dict(snap.run().exceptions.select("kind", "id").iter_rows())
    assert ids["missing_in_erp"] == exception_id("missing_in_erp", "7")
    assert ids["tender_variance"] == exception_id("tender_variance", "1", "2024-05-01", "1220")


def test_merge_history_statuses() -> None:
    previous = _rows(
        {"id": "a", "kind": "k", "status": "new", "first_seen": T1, "last_seen": T1},
        {"id": "b", "kind": "k", "status": "persisting", "first_seen": T1, "last_seen": T1},
        {"id": "c", "kind": "k", "status": "closed", "first_seen": T1, "last_seen": T1},
        {"id": "d", "kind": "k", "status": "resolved", "first_seen": T1, "last_seen": T1},
        {"id": "e", "kind": "k", "status": "closed", "first_seen": T1, "last_seen": T1},
    )
    current = _rows(
        {"id": "a", "kind": "k", "cause": "now"}, {"id": "c", "kind": "k"},
        {"id": "d", "kind": "k"}, {"id": "f", "kind": "k"},
    )  # fmt: skip
    merged = merge_history(current, previous, T2)
    assert merged.select("id", "status", "first_seen", "last_seen", "cause").rows() == [
        ("a", "persisting", T1, T2, "now"),
        ("b", "resolved", T1, T1, None),
        ("c", "closed", T1, T2, None),
        ("d", "persisting", T1, T2, None),  # reopened
        ("e", "closed", T1, T1, None),
        ("f", "new", T2, T2, None),
    ]
    assert merged.schema == pl.Schema(EXCEPTIONS_SCHEMA)


def test_merge_history_with_empty_previous_and_naive_now() -> None:
    current = _rows({"id": "a", "kind": "k"})
    assert merge_history(current, _rows(), T1).get_column("status").to_list() == ["new"]
    with pytest.raises(ValueError, match="timezone-aware"):
        merge_history(current, _rows(), datetime(2024, 5, 1))


def test_to_records_formats() -> None:
    frame = _rows(
        {"id": "a", "kind": "amount_mismatch", "business_day": date(2024, 5, 1),
         "pos_value": Decimal("12"), "difference": Decimal("-0.5"), "first_seen": T1},
        {"id": "b", "kind": "stock_variance", "difference": Decimal("1.5")},
    )  # fmt: skip
    first, second = to_records(frame)
    assert list(first) == list(EXCEPTIONS_SCHEMA)
    assert (first["pos_value"], first["erp_value"], first["difference"]) == ("12.00", None, "-0.50")
    assert (first["business_day"], first["first_seen"]) == (
        "2024-05-01",
        "2024-05-01T06:00:00+00:00",
    )
    assert second["difference"] == "1.500"
