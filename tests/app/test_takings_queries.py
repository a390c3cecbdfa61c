"""Store-day activity, takings, waterfall, VAT and stock queries: inline rows in, frames out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal

from recon.app import queries
from recon.app.filters import Filters
from tests.app.demo_warehouse import Warehouse

D = Decimal
JUN1, JUN2 = date(2024, 6, 1), date(2024, 6, 2)


def test_heatmap_cells_keep_clean_store_days_with_count_zero(wh: Warehouse) -> None:
    wh.order("1", store="1", day="2024-06-01")
    wh.order("2", store="1", day="2024-06-01")
    wh.order("3", store="1", day="2024-06-02")  # clean day
    wh.order("4", store="7", day="2024-06-02", state="cancelled")  # activity all the same
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00")
    wh.exception("b", "missing_in_pos", "9", "2024-06-02", None, "5.00", "5.00")  # no orders

    got = wh.read(queries.heatmap_cells, Filters()).select(
        "store", "business_day", "orders", "count", "money_at_stake"
    )

    expected = pl.DataFrame(
        [
            # store day  orders count money
            ("1", JUN1, 2, 1, D("12.000")),
            ("1", JUN2, 1, 0, D("0.000")),  # clean, still a cell
            ("7", JUN2, 1, 0, D("0.000")),
            ("9", JUN2, 0, 1, D("5.000")),  # an orphan on a day without POS orders
        ],
        schema=got.schema,
        orient="row",
    )
    assert_frame_equal(got, expected)


def test_heatmap_cells_follow_store_and_day_filters(wh: Warehouse) -> None:
    wh.order("1", store="1", day="2024-06-01")
    wh.order("2", store="7", day="2024-06-02")
    got = wh.read(queries.heatmap_cells, Filters(stores=("7",), date_from=JUN2))
    assert got.select("store", "business_day").rows() == [("7", JUN2)]
    assert wh.read(queries.latest_day) == JUN2


def test_stores_with_orders_and_their_latest_day(wh: Warehouse) -> None:
    #         order store day
    for order, store, day in [
        ("1", "12", "2024-06-01"),
        ("2", "12", "2024-06-03"),
        ("3", "7", "2024-06-02"),
        ("4", "7", "2024-05-30"),
        ("5", "A1", "2024-06-01"),
    ]:
        wh.order(order, store=store, day=day)
    wh.exception("x", "missing_in_pos", "99", "2024-06-04")  # no orders: not an order store
    assert wh.read(queries.order_stores) == {
        "12": date(2024, 6, 3),
        "7": JUN2,
        "A1": JUN1,
    }
    assert wh.read(queries.store_options) == ["7", "12", "99", "A1"]
    assert wh.read(queries.latest_day) == date(2024, 6, 4)  # the exception's day


def test_empty_warehouse_gives_empty_typed_frames(wh: Warehouse) -> None:
    assert wh.read(queries.latest_day) is None
    assert wh.read(queries.order_stores) == {}
    cells = wh.read(queries.heatmap_cells, Filters())
    assert (cells.height, cells.schema["orders"]) == (0, pl.Int64())
    by_day = wh.read(queries.takings_by_store_day, Filters())
    assert (by_day.height, by_day.schema["variance"]) == (0, pl.Decimal(18, 2))
    steps = queries.waterfall_steps(by_day, wh.read(queries.variance_waterfall, Filters()), "GBP")
    assert steps.rows() == [
        ("POS takings", "absolute", D("0")),
        ("ERP takings", "absolute", D("0")),
    ]
    assert wh.read(queries.vat_totals, Filters()).height == 0
    assert wh.read(queries.stock_variances, Filters()).height == 0


def test_takings_by_store_day_sums_accounts_exactly_per_currency(wh: Warehouse) -> None:
    #           store day          account pos       erp
    wh.takings("1", "2024-06-01", "1210", "100.10", "100.10")
    wh.takings("1", "2024-06-01", "1220", "0.20", "0.10")  # floats would drift here
    wh.takings("1", "2024-06-01", "1240", "12.00", "0.00")
    wh.takings("7", "2024-06-01", "1220", "50.00", "50.00", currency="EUR")
    wh.takings("1", "2024-06-02", "1210", "9.99", "9.99")

    got = wh.read(queries.takings_by_store_day, Filters(date_to=JUN1))

    expected = pl.DataFrame(
        [
            # store day   pos            erp            variance       cur    accounts
            ("1", JUN1, D("112.30"), D("100.20"), D("-12.10"), "GBP", 3),
            ("7", JUN1, D("50.00"), D("50.00"), D("0.00"), "EUR", 1),
        ],
        schema=got.schema,
        orient="row",
    )
    assert_frame_equal(got, expected)
    accounts = wh.read(queries.takings, Filters(stores=("1",), date_to=JUN1))
    assert accounts.select("account", "tender", "variance").rows() == [
        ("1210", "Cash", D("0.00")),
        ("1220", "Card", D("-0.10")),
        ("1240", None, D("-12.00")),
    ]


def test_waterfall_steps_go_from_pos_to_erp_takings_by_cause(wh: Warehouse) -> None:
    wh.takings("1", "2024-06-01", "1220", "120.00", "100.00")
    wh.takings("2", "2024-06-01", "1220", "30.00", "25.50")
    wh.waterfall("1", "2024-06-01", "explained_by_missing_in_erp", "-20.00")
    wh.waterfall("2", "2024-06-01", "explained_by_missing_in_erp", "-4.00")
    # store 2 has 0.50 no cause accounts for
    wh.waterfall("7", "2024-06-01", "unexplained", "-3.00", currency="EUR")  # other currency

    by_day = wh.read(queries.takings_by_store_day, Filters())
    parts = wh.read(queries.variance_waterfall, Filters())
    got = queries.waterfall_steps(by_day, parts, "GBP")

    assert got.rows() == [
        ("POS takings", "absolute", D("150.00")),
        ("explained_by_missing_in_erp", "relative", D("-24.00")),
        ("unaccounted", "relative", D("-0.50")),
        ("ERP takings", "absolute", D("125.50")),
    ]
    assert parts.filter(pl.col("currency") == "EUR").rows() == [("EUR", "unexplained", D("-3"))]


def test_vat_totals_compare_pos_orders_with_their_erp_documents(wh: Warehouse) -> None:
    wh.order("1", store="1", vat="2.78")
    wh.order("2", store="1", vat="1.00")  # not posted: ERP side lacks it
    wh.order("3", store="1", vat="5.00", state="open")  # not a completed sale: left out
    wh.order("4", store="7", day="2024-06-02", vat="0.10")
    wh.document("D1", "SO-1", "1", vat="2.77")  # penny rounding
    wh.document("D4", "SO-4", "4", vat="0.10")
    wh.document("D9", "SO-9", "999", vat="9.99")  # no POS order: not in any store-day

    got = wh.read(queries.vat_totals, Filters())

    assert got.select("store", "business_day", "pos_vat", "erp_vat", "difference").rows() == [
        ("1", JUN1, D("3.78"), D("2.77"), D("-1.01")),
        ("7", JUN2, D("0.10"), D("0.10"), D("0.00")),
    ]


def test_stock_variances_ranked_by_value_at_the_erp_price(wh: Warehouse) -> None:
    #            id   kind              store day  pos   erp   diff
    wh.exception("s1", "stock_variance", "1", None, "10", "9", "-1", cause="quantity_differs",
                 currency=None)  # fmt: skip
    wh.exception("s2", "stock_variance", "1", None, "5", "8", "3", currency=None)
    wh.exception("s3", "stock_variance", "7", None, "1", "0", "-1", currency=None)  # no price
    wh.exception("x", "unknown_sku", None, None)  # other kind: not here
    _sku(wh, {"s1": "COAT", "s2": "TEE", "s3": "GHOST"})
    wh.item("COAT", "120.00")
    wh.item("TEE", "15.00")

    got = wh.read(queries.stock_variances, Filters(date_from=JUN1))  # days do not apply

    assert got.select("id", "sku", "unit_price", "value").rows() == [
        ("s1", "COAT", D("120.00"), D("120.00")),
        ("s2", "TEE", D("15.00"), D("45.00")),
        ("s3", "GHOST", None, None),
    ]


def _sku(wh: Warehouse, skus: dict[str, str]) -> None:
    from sqlalchemy import update

    from recon.warehouse.models import ExceptionRow

    with wh.engine.begin() as conn:
        for id_, sku in skus.items():
            conn.execute(update(ExceptionRow).where(ExceptionRow.id == id_).values(sku=sku))


def test_revenue_shows_a_duplicate_and_an_amount_mismatch_by_store_day(wh: Warehouse) -> None:
    #        order store day          gross
    wh.order("1", "1", "2024-06-01", "50.00")
    wh.order("2", "1", "2024-06-01", "20.00")
    wh.order("3", "2", "2024-06-01", "30.00")
    wh.order("4", "2", "2024-06-01", "99.00", state="open")  # not a sale yet: left out
    #           doc   no      pos_ref gross
    wh.document("D1", "SO-1", "1", "50.00")
    wh.document("D1b", "SO-9", "1", "50.00")  # posted twice
    wh.document("D2", "SO-2", "2", "20.00")
    wh.document("D3", "SO-3", "3", "29.00")  # amount mismatch
    wh.document("D4", "CN-4", "9999", "-5.00", doc_type="credit_note")  # no POS order

    got = wh.read(queries.revenue_by_store_day, Filters())

    expected = pl.DataFrame(
        [
            # store day   cur    pos         erp          difference
            ("1", JUN1, "GBP", D("70.00"), D("120.00"), D("50.00")),
            ("2", JUN1, "GBP", D("30.00"), D("29.00"), D("-1.00")),
            (None, JUN1, "GBP", D("0.00"), D("-5.00"), D("-5.00")),  # unattributed
        ],
        schema=got.schema,
        orient="row",
    )
    assert_frame_equal(got, expected)


def test_an_orphan_document_counts_in_the_store_of_its_location_or_of_the_sale_it_refunds(
    wh: Warehouse,
) -> None:
    from sqlalchemy import insert

    from recon.warehouse.models import MapStore

    with wh.engine.begin() as conn:
        conn.execute(insert(MapStore), [{"store_id": "7", "location": "WH-AMS"}])
    wh.order("1", "1", "2024-06-01", "50.00")
    wh.document("D1", "SO-1", "1", "50.00")
    wh.document("D2", "SO-2", "8888", "12.00", location="WH-AMS")  # orphan, mapped location
    wh.document("D3", "CN-3", "9999", "-50.00", doc_type="credit_note", original_pos_ref="1")

    got = wh.read(queries.revenue_by_store_day, Filters())

    assert got.select("store", "erp_revenue", "difference").rows() == [
        ("1", D("0.00"), D("-50.00")),  # 50 carried - 50 credited with no POS refund
        ("7", D("12.00"), D("12.00")),
    ]
    assert wh.read(queries.revenue_by_store_day, Filters(stores=("7",))).height == 1


def test_latest_closed_day_is_the_last_with_takings_before_today(wh: Warehouse) -> None:
    assert wh.read(queries.latest_closed_day, JUN2) is None  # no reconcile yet
    wh.takings("1", "2024-06-02", "1210", "5.00", "5.00")  # today: still trading
    assert wh.read(queries.latest_closed_day, JUN2) == JUN2  # nothing closed: the latest
    wh.takings("1", "2024-05-31", "1210", "5.00", "5.00")
    wh.takings("7", "2024-06-01", "1210", "5.00", "5.00")
    assert wh.read(queries.latest_closed_day, JUN2) == JUN1


def test_store_names_as_sitoo_named_them(wh: Warehouse) -> None:
    from sqlalchemy import insert

    from recon.warehouse.models import PosStore

    assert wh.read(queries.store_names) == {}
    with wh.engine.begin() as conn:
        conn.execute(insert(PosStore), [{"store_id": "1", "name": "London Oxford St"}])
    assert wh.read(queries.store_names) == {"1": "London Oxford St"}


def test_store_day_money_puts_tenders_and_documents_side_by_side(wh: Warehouse) -> None:
    wh.takings("1", "2024-06-01", "1210", "50.00", "50.00")  # tenders agree ...
    wh.order("1", "1", "2024-06-01", "50.00")
    wh.document("D1", "SO-1", "1", "50.00")
    wh.document("D1b", "SO-9", "1", "50.00")  # ... but the sale was posted twice
    wh.takings("2", "2024-06-01", "1210", "30.00", "20.00")  # 10.00 short, no orders kept
    wh.takings(None, "2024-06-01", "1220", "0.00", "4.00")  # unattributed ERP money
    wh.takings("3", "2024-06-01", "1210", "5.00", "5.00")  # clean

    scope = Filters()
    got = queries.store_day_money(
        wh.read(queries.takings_by_store_day, scope),
        wh.read(queries.revenue_by_store_day, scope),
    ).drop("business_day", "currency")

    expected = pl.DataFrame(
        [
            # store pos    erp     var      pos_rev  erp_rev   rev_diff  off
            ("1", D("50.00"), D("50.00"), D("0.00"), D("50.00"), D("100.00"), D("50.00"), True),
            ("2", D("30.00"), D("20.00"), D("-10.00"), D("0.00"), D("0.00"), D("0.00"), True),
            ("3", D("5.00"), D("5.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), False),
            (None, D("0.00"), D("4.00"), D("4.00"), D("0.00"), D("0.00"), D("0.00"), True),
        ],
        schema=got.schema,
        orient="row",
    )
    assert_frame_equal(got, expected)
