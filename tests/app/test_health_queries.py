"""Mapping health (what holds orders back, by money) and the ageing of open exceptions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from recon.app import queries
from recon.app.filters import Filters
from tests.app.demo_warehouse import T0, Warehouse

TENDER = "map tender 'Voucher' in mappings"
VAT = "map VAT rate 0.06 to a tax code in mappings"
SKU = "SKU 'X-9' is not in the ERP item master"


def test_mapping_health_ranks_holds_by_the_money_they_block(wh: Warehouse) -> None:
    #        order   store day           gross
    for order, day, gross in [
        ("5001", "2024-06-01", "10.00"),
        ("5002", "2024-06-02", "30.00"),
        ("5003", "2024-06-01", "25.50"),
        ("5004", "2024-06-03", "99.00"),
        ("5005", "2024-06-03", "-30.00"),  # a refund of 5002: blocked money too
    ]:
        wh.order(order, day=day, gross=gross)
    #            post key          status    order   reason                    message
    for key, status, order, reason, message in [
        ("sale:5001", "held", "5001", "held_unmapped_tender", TENDER),
        ("receipt:5001:1", "held", "5001", "held_unmapped_tender", TENDER),  # same order
        ("sale:5002", "held", "5002", "held_unmapped_tender", TENDER),
        ("credit_note:5005", "held", "5005", "held_unmapped_tender", TENDER),
        ("sale:5003", "held", "5003", "held_unmapped_tax_code", VAT),
        ("sale:5004", "posted", "5004", None, None),  # not held: not counted
        ("sale:5009", "held", "5009", "held_unknown_sku", SKU),  # order not collected yet
    ]:
        wh.sync_post(key, status, order, reason, message)

    got = wh.read(queries.mapping_health)
    assert got.rows() == [
        # problem            what    orders money               currency oldest day
        ("unmapped_tender", TENDER, 3, Decimal("70.00"), "GBP", date(2024, 6, 1)),
        ("unmapped_tax_code", VAT, 1, Decimal("25.50"), "GBP", date(2024, 6, 1)),
        ("unknown_sku", SKU, 1, Decimal("0.00"), "", None),
    ]


def test_mapping_health_of_a_warehouse_without_holds_is_empty(wh: Warehouse) -> None:
    wh.sync_post("sale:1", "posted", "1")
    assert wh.read(queries.mapping_health).is_empty()


def test_ageing_buckets_open_exceptions_by_owner_and_kind(wh: Warehouse) -> None:
    now = T0 + timedelta(days=40)
    #           id   kind               diff     days old  status
    for id_, kind, diff, age, status in [
        ("a", "missing_in_erp", "-12.00", 0, "new"),
        ("b", "missing_in_erp", "-3.00", 1, "new"),  # 1 d: still 0-1 d
        ("c", "missing_in_erp", "-5.00", 2, "persisting"),
        ("d", "missing_in_erp", "-7.00", 31, "persisting"),
        ("e", "missing_in_erp", "-9.00", 31, "resolved"),  # closed: not ageing
        ("f", "stock_variance", "-4", 8, "new"),  # ops, no money
        ("g", "amount_mismatch", "0.50", 5, "new"),
    ]:
        wh.exception(id_, kind, diff=diff, status=status, first_seen=now - timedelta(days=age))

    got = wh.read(queries.ageing, Filters(status="resolved"), now=now)  # status ignored
    assert got.rows() == [
        # owner    kind               age      count money            currency oldest
        ("finance", "amount_mismatch", "4-7 d", 1, Decimal("0.500"), "GBP", 5),
        ("finance", "missing_in_erp", "0-1 d", 2, Decimal("15.000"), "GBP", 1),
        ("finance", "missing_in_erp", "2-3 d", 1, Decimal("5.000"), "GBP", 2),
        ("finance", "missing_in_erp", ">30 d", 1, Decimal("7.000"), "GBP", 31),
        ("ops", "stock_variance", "8-30 d", 1, None, "GBP", 8),
    ]
    ops = wh.read(queries.ageing, Filters(owner="ops"), now=now)
    assert ops.select("kind", "age", "count").rows() == [("stock_variance", "8-30 d", 1)]
