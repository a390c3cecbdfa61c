"""Mappings and master data: unmapped tenders/locations/VAT rates, closed accounts, SKUs,
prices and stock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.reconcile._build import Snap, found


def _catalogue(snap: Snap, *skus: str) -> Snap:
    for sku in skus:
        snap.add("erp_items", sku=sku, price_gross=Decimal("12.00"), tax_code="1", active=True)
    return snap


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda s: s.order("1", store="9").pay("1", "Card", "12.00").line("1", "A", "1", "12.00"),
         {("missing_in_erp", "held_unmapped_location", "1", "9", None),
          ("unmapped_location", "store_not_mapped", None, "9", None)}),
        (lambda s: s.order("1").pay("1", "Swish", "12.00").line("1", "A", "1", "12.00"),
         {("missing_in_erp", "held_unmapped_tender", "1", "1", None),
          ("unmapped_tender", "tender_not_mapped", None, None, None)}),
        (lambda s: s.order("1").pay("1", "Card", "12.00").line("1", "A", "1", "12.00",
                                                               rate="6.00"),
         {("missing_in_erp", "held_unmapped_tax_code", "1", "1", None),
          ("unmapped_tax_code", "vat_rate_not_mapped", None, None, "A")}),
        (lambda s: s.order("1").pay("1", "Card", "12.00").line("1", "NEW", "1", "12.00"),
         {("missing_in_erp", "held_unknown_sku", "1", "1", None),
          ("unknown_sku", "sku_not_in_erp", None, None, "NEW")}),
        (lambda s: s.order("1").pay("1", "Card", "12.00").line("1", "A", "1", "12.00")
         .clear("erp_accounts").add("erp_accounts", account="1210", active=True)
         .add("erp_accounts", account="2200", active=True)
         .add("erp_accounts", account="1220", active=False),
         {("missing_in_erp", "held_closed_account", "1", "1", None),
          ("closed_account", "account_closed", None, None, None)}),
    ],
)  # fmt: skip
def test_held_order_is_reported_once_per_kind(setup: object, expected: object) -> None:
    snap = _catalogue(Snap(), "A")
    for acc in ("1210", "1220", "2200"):
        snap.add("erp_accounts", account=acc, active=True)
    setup(snap)  # type: ignore[operator]
    got = {r for r in found(snap.run(), "pos_ref", "store", "sku") if r[0] != "tender_variance"}
    assert got == expected


def test_closed_account_absent_from_erp_accounts_and_tender_named() -> None:
    snap = Snap().add("erp_accounts", account="1210", active=True)
    assert found(snap.run(), "account", "tender") == {
        ("closed_account", "account_closed", "1220", "Card"),
        ("closed_account", "account_closed", "2200", None),
    }


def test_no_closed_account_or_unknown_sku_when_erp_lists_are_empty() -> None:
    snap = Snap().sale("1")
    assert found(snap.run()) == set()


def test_unmapped_tax_code_key_is_rate_and_sku() -> None:
    snap = Snap().order("1").pay("1", "Card", "12.00").receipt("1", "1220", "12.00")
    snap.doc("D1", "1")  # posted anyway by someone else: still a mapping problem
    snap.line("1", "A", "1", "6.00", rate="5.00").line("1", "B", "1", "6.00", rate="5.00", no=2)
    assert found(snap.run(), "sku", "pos_value") == {
        ("unmapped_tax_code", "vat_rate_not_mapped", "A", Decimal("5.000")),
        ("unmapped_tax_code", "vat_rate_not_mapped", "B", Decimal("5.000")),
    }


def test_unknown_sku_from_active_catalogue_only() -> None:
    snap = _catalogue(Snap(), "A")
    snap.add(
        "pos_items", sku="A", price_gross=Decimal("12.00"), vat_rate=Decimal("20"), active=True
    )
    snap.add("pos_items", sku="B", price_gross=Decimal("1.00"), vat_rate=Decimal("20"), active=True)
    snap.add(
        "pos_items", sku="C", price_gross=Decimal("1.00"), vat_rate=Decimal("20"), active=False
    )
    assert found(snap.run(), "sku") == {("unknown_sku", "sku_not_in_erp", "B")}


@pytest.mark.parametrize(
    ("pos_price", "active", "expected"),
    [("12.00", True, set()),
     ("11.99", True, {("price_mismatch", "price_differs", Decimal("11.990"), Decimal("0.010"))}),
     ("11.99", False, set())],
)  # fmt: skip
def test_price_mismatch_is_exact(pos_price: str, active: bool, expected: object) -> None:
    snap = _catalogue(Snap(), "A")
    snap.add(
        "pos_items", sku="A", price_gross=Decimal(pos_price), vat_rate=Decimal("20"), active=active
    )
    assert found(snap.run(), "pos_value", "difference") == expected


def test_stock_variance_per_store_and_sku() -> None:
    snap = Snap()
    for loc, sku, qty in [("1", "A", "5"), ("1", "B", "2"), ("9", "A", "1")]:  # 9 is unmapped
        snap.add("pos_stock", location=loc, sku=sku, quantity=Decimal(qty), as_of=None)
    for loc, sku, qty in [("WH1", "A", "5"), ("WH1", "C", "1.5"), ("XX", "A", "4")]:
        snap.add("erp_stock", location=loc, sku=sku, quantity=Decimal(qty), as_of=None)
    assert found(snap.run(), "store", "sku", "difference") == {
        ("stock_variance", "quantity_differs", "1", "B", Decimal("-2.000")),
        ("stock_variance", "quantity_differs", "1", "C", Decimal("1.500")),
    }
