"""What-if: the findings each money tolerance would leave, by kind (CONTRACT `recon whatif`).

Inline tables with the expected counts beside them, and a property: for generated snapshots
and tolerances, `WhatIf.counts(T)` equals a full engine run with the amount and tender
tolerances set to T.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.kinds import KINDS
from recon.reconcile import EngineConfig, Tolerance, prepare_whatif, reconcile
from recon.reconcile.whatif import TOLERANCE_KINDS
from recon.snapshot import SnapshotError
from tests.reconcile._build import LATER, Snap, later
from tests.reconcile.test_properties import ACCOUNT, Order, build, orders


def _shift(snap: Snap, table: str, ref: str, column: str, by: str) -> None:
    for row in snap.rows[table]:
        if row["pos_ref"] == ref:
            row[column] += Decimal(by)


def breaks() -> Snap:
    #             order  gross    store  what the ERP has
    snap = Snap()
    snap.sale("101", "12.00")  # document 0.03 above the sale
    snap.sale("102", "100.00")  # document 1.00 above (1% of the sale)
    snap.sale("103", "50.00", store="2", tenders=(("Cash", "50.00"),))  # receipt 0.40 short
    snap.sale("104", "24.00")  # gross 0.04 above, of it 0.01 VAT
    snap.sale("105", "8.00", posted=False)  # not posted: missing at any tolerance
    snap.sale("106", "5.00", day=later(1))  # all agrees (and 105 is no longer recent)
    _shift(snap, "erp_documents", "101", "gross_total", "0.03")
    _shift(snap, "erp_documents", "102", "gross_total", "1.00")
    _shift(snap, "erp_journal_lines", "103", "amount", "-0.40")
    _shift(snap, "erp_documents", "104", "gross_total", "0.04")
    _shift(snap, "erp_documents", "104", "vat_total", "0.01")
    return snap


@pytest.mark.parametrize(
    ("tolerance", "amount_mismatch", "vat_rounding", "tender_variance", "total"),
    [
        ("0", 3, 0, 2, 6),  # 101, 102, 104 differ; 103's takings and 105's (missing)
        ("0.00", 3, 0, 2, 6),
        ("0.03", 1, 1, 2, 5),  # 101 agrees; 104's gross agrees but for 0.01 VAT: rounding
        ("0.05", 1, 1, 2, 5),
        ("0.40", 1, 1, 1, 4),  # at the edge: 103's receipt 0.40 short is within 0.40
        ("0.5%", 1, 1, 2, 5),  # 0.06 of 12.00, 0.50 of 100.00 (102 off), 0.25 of 50.00
        ("1%", 0, 1, 1, 3),  # 102 exactly at 1%; 103's 0.40 within 0.50
        ("5", 0, 1, 1, 3),  # store 1's takings stay 8.00 short (105 is not posted)
    ],
)
def test_counts_per_tolerance(
    tolerance: str, amount_mismatch: int, vat_rounding: int, tender_variance: int, total: int
) -> None:
    got = prepare_whatif(breaks().tables(), as_of=LATER).counts(Tolerance.parse(tolerance))
    assert (
        got.by_kind["amount_mismatch"],
        got.by_kind["vat_rounding"],
        got.by_kind["tender_variance"],
        got.by_kind["missing_in_erp"],
        got.total,
    ) == (amount_mismatch, vat_rounding, tender_variance, 1, total)


def test_every_kind_listed_in_order_and_total_is_their_sum() -> None:
    got = prepare_whatif(breaks().tables(), as_of=LATER).counts(Tolerance.parse("0"), "0")
    assert list(got.by_kind) == [k.name for k in KINDS]
    assert got.total == sum(got.by_kind.values()) == 6
    assert got.as_json() == {"tolerance": "0", "total": 6, "by_kind": got.by_kind}


def test_as_configured_is_the_engine_run_of_the_snapshot() -> None:
    #  setting                        -> the configured run counts as `reconcile` does
    snap = breaks().setting("amount_tolerance", "0.05").setting("tender_tolerance", "1%")
    whatif = prepare_whatif(snap.tables(), as_of=LATER)
    now = whatif.counts()
    assert now.tolerance == "as configured"
    assert (now.by_kind["amount_mismatch"], now.by_kind["tender_variance"], now.total) == (1, 1, 4)
    assert whatif.counts(Tolerance.parse("0")).total == 6  # a what-if replaces both settings


def test_vat_rounding_max_and_stock_tolerance_stay_as_configured() -> None:
    snap = breaks().setting("vat_rounding_max", "0")
    snap.add("pos_stock", location="1", sku="A", quantity=Decimal(5), as_of=LATER)
    snap.add("erp_stock", location="WH1", sku="A", quantity=Decimal(4), as_of=LATER)
    got = prepare_whatif(snap.tables(), as_of=LATER).counts(Tolerance.parse("0.05"))
    # 104's 0.01 VAT is above a 0 rounding limit: amount_mismatch (vat_differs), and the
    # stock 1 off stays a finding whatever the money tolerance.
    assert (got.by_kind["amount_mismatch"], got.by_kind["vat_rounding"]) == (2, 0)
    assert got.by_kind["stock_variance"] == 1


def test_empty_snapshot_counts_zero() -> None:
    got = prepare_whatif(Snap().tables()).counts(Tolerance.parse("1%"), "1%")
    assert got.total == 0 and set(got.by_kind.values()) == {0}


def test_a_bad_configured_tolerance_is_a_snapshot_error() -> None:
    with pytest.raises(SnapshotError, match="amount_tolerance"):
        prepare_whatif(Snap().setting("amount_tolerance", "a lot").tables())


# --- the property: what-if equals a full run with that tolerance configured -------------

TOLERANCES = st.one_of(
    st.integers(0, 600).map(lambda c: f"{Decimal(c) / 100:.2f}"),
    st.integers(0, 40).map(lambda tenths: f"{Decimal(tenths) / 10}%"),
)


def _full_run_counts(snap: Snap, tolerance: Tolerance) -> Counter[str]:
    settings_rows = pl.DataFrame(snap.rows["map_settings"], schema={"key": str, "value": str})
    configured = EngineConfig.from_settings(dict(settings_rows.iter_rows()))
    cfg = replace(configured, amount=tolerance, tender=tolerance)
    found = reconcile(snap.tables(), cfg, as_of=LATER).exceptions
    return Counter(found.get_column("kind").to_list())


@settings(max_examples=40, deadline=None)
@given(orders(), st.data(), st.lists(TOLERANCES, min_size=1, max_size=4))
def test_whatif_equals_a_full_run_at_that_tolerance(
    rows: list[Order], data: st.DataObject, tolerances: list[str]
) -> None:
    posted = {o.order_id for o in rows if data.draw(st.booleans())}
    snap = build(rows, posted=posted)
    cents = st.integers(-300, 300).map(lambda c: f"{Decimal(c) / 100:.2f}")
    for doc in snap.rows["erp_documents"]:  # gross and VAT a little or a lot off
        if data.draw(st.booleans()):
            doc["gross_total"] += Decimal(data.draw(cents))
        if data.draw(st.booleans()):
            doc["vat_total"] += Decimal(data.draw(st.integers(-4, 4))) / 100
    for line in snap.rows["erp_journal_lines"]:  # receipts off
        if data.draw(st.booleans()):
            line["amount"] += Decimal(data.draw(cents))
    if data.draw(st.booleans()):  # a stray receipt
        snap.receipt(None, ACCOUNT["Card"], data.draw(cents), location="WH1")
    for key in ("amount_tolerance", "tender_tolerance", "vat_rounding_max"):
        if data.draw(st.booleans()):
            snap.setting(key, data.draw(TOLERANCES))
    whatif = prepare_whatif(snap.tables(), as_of=LATER)
    for text in tolerances:
        tolerance = Tolerance.parse(text)
        got = whatif.counts(tolerance, text)
        want = _full_run_counts(snap, tolerance)
        assert got.by_kind == {k.name: want[k.name] for k in KINDS}, text
        assert got.total == sum(want.values())
    assert set(TOLERANCE_KINDS) <= {k.name for k in KINDS}


# --- any text as a tolerance: refused by the one rule, or counted ----------------------

_PREPARED = prepare_whatif(breaks().tables(), as_of=LATER)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet="0123456789.-+%eE_ nNaIiF\u0663\uff11", max_size=30),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.from_regex(r"\d{1,18}(\.\d{1,9})?%?", fullmatch=True),
    )
)
def test_any_text_is_refused_by_the_rule_or_counted(text: str) -> None:
    """`1e-999` passed Decimal and then panicked Polars (scale 999 > precision 38)."""
    try:
        tolerance = Tolerance.parse(text)
    except ValueError as exc:
        assert repr(text) in str(exc)
        return
    got = _PREPARED.counts(tolerance, text)
    assert (got.tolerance, got.total) == (text, sum(got.by_kind.values()))
    assert 2 <= got.total <= 6  # between the widest and the strictest counts above


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("1e-999", False),  # an exponent: past a Polars decimal's scale
        ("1e999", False),
        ("1E+2", False),
        ("NaN", False),
        ("inf", False),
        ("-1", False),
        ("-0", False),  # no sign at all
        ("1_000", False),  # Decimal reads underscores; a settings file should not
        ("\u0663", False),  # Arabic-Indic three: Decimal reads it as 3
        ("\uff11", False),  # fullwidth one
        ("0.5 + 1%", False),
        ("1%%", False),
        ("%", False),
        (".", False),
        ("1000000000000000", False),  # 16 digits: past any money value
        ("0.0000001", False),  # 7 decimals
        (" 0.05 ", True),
        ("999999999999999.999999%", True),
        (".5", True),
        ("1.", True),
    ],
)
def test_a_tolerance_is_plain_decimal_notation(text: str, accepted: bool) -> None:
    try:
        Tolerance.parse(text)
    except ValueError:
        assert not accepted
    else:
        assert accepted
