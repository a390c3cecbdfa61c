from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy import Connection, Engine

from recon.app import queries
from recon.app.causes import cause_text
from recon.app.filters import Filters
from recon.warehouse.db import open_warehouse
from tests.app.demo_warehouse import T0, Warehouse

D = Decimal
JUN1, JUN2 = date(2024, 6, 1), date(2024, 6, 2)


def test_drift_by_store_day_counts_and_money_at_stake(wh: Warehouse) -> None:
    #            id    kind                    store day           pos      erp      diff
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00")
    wh.exception("b", "amount_mismatch", "1", "2024-06-01", "10.00", "9.50", "-0.50")
    wh.exception("c", "tender_variance", "1", "2024-06-01", None, "3.00", None)  # erp only
    wh.exception("d", "duplicate_in_erp", "1", "2024-06-02", "-4.00", None, None)  # pos only
    wh.exception("e", "stock_variance", "1", "2024-06-02", "5", "2", "-3")  # ops: count only
    wh.exception("f", "unmapped_tax_code", "7", "2024-06-01", "5.00", None, None)  # a VAT rate
    wh.exception("g", "unknown_sku", None, None)  # no store-day: not in the grid
    wh.exception("h", "missing_in_erp", "7", "2024-06-01", "99.00", None, "-99", "closed")

    got = wh.read(queries.drift_by_store_day, Filters())

    expected = pl.DataFrame(
        [
            # store day   count finance ops money_at_stake currency
            ("1", JUN1, 3, 3, 0, D("15.50"), "GBP"),  # 12 + 0.50 + 3
            ("1", JUN2, 2, 1, 1, D("4.00"), "GBP"),  # 4; stock variance counts only
            ("7", JUN1, 1, 1, 0, D("0.00"), ""),  # VAT rate is not money; h is closed
        ],
        schema=got.schema,
        orient="row",
    )
    assert_frame_equal(got, expected)


def test_money_at_stake_counts_a_held_sale_and_the_variance_it_explains_once(
    wh: Warehouse,
) -> None:
    # A 59.00 sale held back (unmapped tender) leaves the store-day's takings 59.00 short:
    # one problem, so 59.00 at stake, not 118.00.
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "59.00", None, "-59.00",
                 cause="held_unmapped_tender")  # fmt: skip
    wh.exception("b", "tender_variance", "1", "2024-06-01", "59.00", "0.00", "-59.00",
                 cause="explained_by_missing_in_erp")  # fmt: skip
    wh.exception("c", "tender_variance", "1", "2024-06-02", "10.00", "9.00", "-1.00",
                 cause="unexplained")  # fmt: skip

    cells = wh.read(queries.drift_by_store_day, Filters())
    assert cells.select("business_day", "money_at_stake").rows() == [
        (JUN1, D("59.00")),
        (JUN2, D("1.00")),  # a variance nothing explains is its own problem
    ]
    assert wh.read(queries.totals, Filters()).money_by_currency == {"GBP": D("60.00")}


def test_drift_filters_by_kind_owner_store_and_days(wh: Warehouse) -> None:
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00")
    wh.exception("b", "stock_variance", "1", "2024-06-01", "5", "2", "-3")
    wh.exception("c", "missing_in_erp", "7", "2024-06-02", "8.00", None, "-8.00")
    wh.exception("d", "missing_in_erp", "7", "2024-06-03", "1.00", None, "-1.00")

    def cells(f: Filters) -> list[tuple[str, date, int]]:
        frame = wh.read(queries.drift_by_store_day, f)
        return [(r["store"], r["business_day"], r["count"]) for r in frame.iter_rows(named=True)]

    assert cells(Filters(owner="ops")) == [("1", JUN1, 1)]
    assert cells(Filters(kinds=("missing_in_erp",), stores=("7",))) == [
        ("7", JUN2, 1),
        ("7", date(2024, 6, 3), 1),
    ]
    assert cells(Filters(date_from=JUN2, date_to=JUN2)) == [("7", JUN2, 1)]


def test_drift_of_an_empty_warehouse_is_an_empty_typed_frame(wh: Warehouse) -> None:
    got = wh.read(queries.drift_by_store_day, Filters())
    assert got.height == 0
    assert got.schema["money_at_stake"] == pl.Decimal(38, 2)  # money: two decimals
    assert got.schema["business_day"] == pl.Date()


def test_drift_names_every_currency_it_sums(wh: Warehouse) -> None:
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00")
    wh.exception("b", "missing_in_erp", "1", "2024-06-01", "3.00", None, "-3.00", currency="EUR")
    row = wh.read(queries.drift_by_store_day, Filters()).row(0, named=True)
    assert (row["money_at_stake"], row["currency"]) == (D("15.00"), "EUR,GBP")


def test_exceptions_status_filter(wh: Warehouse) -> None:
    for id_, status in [("a", "new"), ("b", "persisting"), ("c", "resolved"), ("d", "closed")]:
        wh.exception(id_, status=status)

    def ids(status: str) -> list[str]:
        return wh.read(queries.exceptions, Filters(status=status))["id"].to_list()

    assert ids("open") == ["a", "b"]
    assert ids("all") == ["a", "b", "c", "d"]
    assert ids("closed") == ["d"]


def test_exceptions_keep_decimals_and_contract_columns(wh: Warehouse) -> None:
    wh.exception("a", "amount_mismatch", pos="10.005", erp="9.5", diff="-0.505")
    got = wh.read(queries.exceptions, Filters())
    assert tuple(got.columns) == queries.EXCEPTION_COLUMNS
    row = got.row(0, named=True)
    assert (row["pos_value"], row["erp_value"], row["difference"]) == (
        D("10.005"),
        D("9.500"),
        D("-0.505"),
    )
    assert row["first_seen"] == T0


def test_totals_by_owner_and_currency(wh: Warehouse) -> None:
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00")
    wh.exception("b", "missing_in_erp", "7", "2024-06-01", "5.00", None, "-5.00", currency="EUR")
    wh.exception("c", "unmapped_tender", None, None, "7.25", None, None)  # no store-day
    wh.exception("d", "price_mismatch", None, None, "10.00", "12.00", "2.00")  # ops
    got = wh.read(queries.totals, Filters())
    assert got == queries.Totals(
        count=4,
        by_owner={"finance": 3, "ops": 1},
        money_by_currency={"EUR": D("5.000"), "GBP": D("19.250")},
        without_store_day=2,
    )


def test_changes_since_last_run(wh: Warehouse) -> None:
    run_start = T0 + timedelta(days=1)
    wh.run("reconcile", T0, T0 + timedelta(minutes=1))
    wh.run("reconcile", run_start, run_start + timedelta(minutes=1))
    wh.run("reconcile", run_start + timedelta(hours=1), None, "running")  # not finished
    wh.exception("old", first_seen=T0, status="persisting")
    wh.exception("fresh", first_seen=run_start + timedelta(seconds=5))
    wh.exception("fixed", first_seen=T0, status="resolved", resolved_at=run_start)
    wh.exception("fixed-before", first_seen=T0, status="resolved", resolved_at=T0)

    got = wh.read(queries.changes_since_last_run, Filters())

    assert got.run_started_at == run_start
    assert got.new["id"].to_list() == ["fresh"]
    assert got.resolved["id"].to_list() == ["fixed"]


def test_changes_without_any_run_are_the_new_ones(wh: Warehouse) -> None:
    wh.exception("a", status="new")
    wh.exception("b", status="persisting")
    got = wh.read(queries.changes_since_last_run, Filters())
    assert (got.run_started_at, got.new["id"].to_list(), got.resolved.height) == (None, ["a"], 0)


def test_freshness_flags_stale_and_missing_jobs(wh: Warehouse) -> None:
    now = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
    h = timedelta(hours=1)
    wh.run("sync", now - 5 * h, now - 4 * h)  # older than 2 h: stale
    wh.run("sync", now - 30 * h, now - 29 * h, "ok")
    wh.run("collect", now - 2 * h, now - h, "failed", "sitoo down")  # fresh but failed
    wh.run("collect", now - 0.5 * h, None, "running")
    # reconcile never ran: stale

    got = wh.read(queries.freshness, now=now).select(
        "job", "last_status", "age", "stale", "running_since", "last_message"
    )

    expected = pl.DataFrame(
        [
            ("sync", "ok", 4 * h, True, None, None),
            ("collect", "failed", h, False, now - 0.5 * h, "sitoo down"),
            ("reconcile", None, None, True, None, None),
        ],
        schema=got.schema,
        orient="row",
    )
    assert_frame_equal(got, expected)
    tight = wh.read(queries.freshness, now=now, stale_after={"collect": timedelta(minutes=30)})
    assert tight.filter(pl.col("job") == "collect")["stale"].item() is True


def test_exception_detail_chain_with_both_raw_payloads(wh: Warehouse) -> None:
    wh.order(
        "5120",
        payload={"orderid": 5120, "moneytotal_gross_all": "12.00"},
        lines=[("SKU-1", "1", "12.00")],
        payments=[("Card", "12.00")],
    )
    wh.order("9999", store="7")  # another order: not in the chain
    wh.document("D1", "SO-1", "5120", payload={"customer_document_no": "5120"},
                lines=[("SKU-1", "1", "10.00")])  # fmt: skip
    wh.document("D2", "SO-2", "5120", payload={"customer_document_no": "5120", "n": 2})
    wh.document("D3", "SO-3", "9999")
    wh.journal_line("R1", 1, "5120", "12.00")
    wh.journal_line("R2", 1, "9999", "5.00")
    wh.sync_post("sale:5120", "posted", order="5120")
    wh.exception("x", "duplicate_in_erp", pos_ref="5120", erp_ref="SO-2", cause="posted_twice")
    wh.event("x", "seen")

    detail = wh.read(queries.exception_detail, "x")

    assert detail is not None
    assert detail.exception["kind"] == "duplicate_in_erp"
    assert detail.events["action"].to_list() == ["seen"]
    chain = detail.chain
    assert chain.order_id == "5120"
    assert chain.pos_order["order_id"].to_list() == ["5120"]
    assert chain.pos_lines.select("sku", "line_gross").rows() == [("SKU-1", D("12.00"))]
    assert chain.pos_payments.select("tender", "amount").rows() == [("Card", D("12.00"))]
    assert chain.erp_documents["doc_id"].to_list() == ["D1", "D2"]
    assert chain.erp_lines.select("doc_id", "net").rows() == [("D1", D("10.00"))]
    assert chain.erp_journal_lines["journal_id"].to_list() == ["R1"]
    assert chain.sync_posts["post_key"].to_list() == ["sale:5120"]
    assert [r.payload for r in chain.pos_raw()] == [
        {"orderid": 5120, "moneytotal_gross_all": "12.00"}
    ]
    assert [r.payload for r in chain.erp_raw()] == [
        {"customer_document_no": "5120"},
        {"customer_document_no": "5120", "n": 2},
    ]


def test_chain_from_erp_ref_when_the_pos_order_is_unknown(wh: Warehouse) -> None:
    wh.document("D9", "CN-9", "7001", doc_type="credit_note")
    wh.exception("y", "credit_note_without_refund", erp_ref="CN-9", cause="no_refund")
    detail = wh.read(queries.exception_detail, "y")
    assert detail is not None
    chain = detail.chain
    assert (chain.order_id, chain.pos_order.height) == ("7001", 0)
    assert chain.erp_documents["doc_no"].to_list() == ["CN-9"]
    assert (chain.pos_raw(), chain.erp_raw()) == ([], [])


def test_chain_of_a_store_day_exception_has_its_daily_journal(wh: Warehouse) -> None:
    wh.journal_line("J1", 1, "1-2024-06-01", "100.00")
    wh.journal_line("J2", 1, "1-2024-06-02", "50.00")
    wh.exception("t", "tender_variance", "1", "2024-06-01", "120.00", "100.00", "-20.00")
    detail = wh.read(queries.exception_detail, "t")
    assert detail is not None
    assert detail.chain.erp_journal_lines["journal_id"].to_list() == ["J1"]
    assert detail.chain.order_id is None and detail.chain.erp_documents.height == 0


def test_exception_detail_of_unknown_id_is_none(wh: Warehouse) -> None:
    assert wh.read(queries.exception_detail, "nope") is None


def test_sync_posts_and_summary(wh: Warehouse) -> None:
    wh.sync_post("sale:1", "posted", order="1")
    wh.sync_post("sale:2", "held", order="2", reason="unmapped_tender")
    wh.sync_post("sale:3", "held", order="3", reason="unmapped_tender")
    wh.sync_post("receipt:3:1", "failed", order="3", reason="closed_account")
    summary = wh.read(queries.sync_post_summary).select("kind", "status", "reason", "count")
    assert summary.rows() == [
        ("receipt", "failed", "closed_account", 1),
        ("sale", "held", "unmapped_tender", 2),
        ("sale", "posted", None, 1),
    ]
    assert sorted(wh.read(queries.sync_posts)["post_key"].to_list()) == [
        "receipt:3:1",
        "sale:2",
        "sale:3",
    ]


def test_store_options_from_exceptions_and_orders(wh: Warehouse) -> None:
    wh.exception("a", store="12")
    wh.order("1", store="7")
    wh.exception("b", store=None)
    assert wh.read(queries.store_options) == ["7", "12"]


def test_cause_text_uses_the_engine_table_else_the_code() -> None:
    texts = {"not_posted": "The sale was never posted to the ERP."}
    assert cause_text("not_posted", texts) == "The sale was never posted to the ERP."
    assert cause_text("posted_next_day", texts) == "posted next day"
    assert cause_text(None, texts) == ""


def test_one_reading_reads_one_state_though_a_write_commits_between_its_queries(
    warehouse_url: str, warehouse: Engine
) -> None:
    """A page render reads through one `reading()`: what commits mid-render (a reconcile,
    a colleague's action) shows whole on the next render, never half on this one. On
    SQLite (WAL) and PostgreSQL (REPEATABLE READ) alike; a plain connection, the control,
    sees the write at once."""
    wh = Warehouse(warehouse_url, warehouse)
    wh.exception("a")
    everything = Filters(status="all")

    def ids(conn: Connection) -> list[str]:
        return queries.exceptions(conn, everything)["id"].to_list()

    with open_warehouse(warehouse_url).reading() as conn:
        first = ids(conn)
        wh.exception("b")  # committed by another connection between two queries
        second = queries.totals(conn, everything).count
    with warehouse.connect() as plain:  # control: without one read, the write shows at once
        before = ids(plain)
        wh.exception("c")
        after = queries.totals(plain, everything).count
    #        one reading        plain connection
    assert (first, second, before, after) == (["a"], 1, ["a", "b"], 3)
    assert wh.read(ids) == ["a", "b", "c"]  # the next read sees everything committed
