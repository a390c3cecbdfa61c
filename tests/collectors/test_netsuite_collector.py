"""The NetSuite collector against the NetSuite simulator: canonical rows and signs, idempotent
re-runs, incremental reads from the server-time watermark, quarantine of a bad record."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from recon.clients import ServerError
from recon.collectors._landing import get_watermark
from recon.config.mappings import Mappings
from recon.erp.netsuite.client import NetSuiteClient
from recon.erp.netsuite.collector import RECORD_TYPES, collect_netsuite
from recon.simulators import netsuite as sim
from recon.simulators.serve import serve_in_thread
from recon.warehouse.db import open_warehouse
from recon.warehouse.models import (
    ErpAccount,
    ErpDocument,
    ErpDocumentLine,
    ErpItem,
    ErpJournalLine,
    ErpStock,
    Quarantine,
    RawPayload,
)
from recon.warehouse.runs import RunLog, record_run

D = Decimal
KEYED = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)  # documents keyed long before any collect


def line(item: str, qty: int, rate: str, tax: str) -> dict[str, Any]:
    return {"item": {"id": item}, "quantity": qty, "rate": D(rate), "taxCode": {"id": tax}}


@pytest.fixture
def state() -> sim.NetSuiteState:
    s = sim.NetSuiteState()
    s.frozen_now = KEYED
    s.add_currency("1", "GBP", "British pound")
    s.add_customer("1042", "CASH01", "Cash Sales")
    s.add_account("5001", "1100", "Debtors", "AcctRec")
    s.add_account("5002", "1220", "Card clearing", "Bank")
    s.add_account("5003", "1240", "Vouchers", "Bank", inactive=True)
    s.add_account("5005", "2200", "VAT", "OthCurrLiab")
    s.add_account("5006", "4000", "Sales", "Income")
    s.add_tax_code("2101", "S-GB", D("20"), "5005")
    s.add_tax_code("2100", "Z-GB", D("0"), "5005")
    s.add_location("3001", "WH-LON")
    s.add_location("3002", "WH-MAN")
    s.add_item("77001", "TEE", "Tee", "2101", D("20.83"), income_account="5006")
    s.add_item("77002", "BOOK", "Book", "2100", D("9.99"), income_account="5006")
    s.set_stock("77001", "3001", D("12"), D("2"))
    s.set_stock("77002", "3002", D("5"))
    head = {"entity": {"id": "1042"}, "tranDate": "2024-06-01", "location": {"id": "3001"}}
    sale = s.create(
        "invoice",
        {**head, "externalId": "5120", "otherRefNum": "5120", "tranId": "INV-1",
         "item": {"items": [line("77001", 2, "20.83", "2101"), line("77002", 1, "9.99", "2100")]}},
    )  # fmt: skip
    s.create(
        "creditMemo",
        {**head, "externalId": "5121", "otherRefNum": "5121", "tranId": "CM-1",
         "createdFrom": {"id": sale["id"]},
         "item": {"items": [line("77001", 1, "20.83", "2101")]}},
    )  # fmt: skip
    s.create(  # a second invoice for sale 5120, keyed by hand: otherRefNum only
        "invoice",
        {**head, "otherRefNum": "5120", "tranId": "INV-2",
         "item": {"items": [line("77002", 1, "9.99", "2100")]}},
    )  # fmt: skip
    s.create(  # a return keyed by hand: no createdFrom, the memo names the sale
        "creditMemo",
        {**head, "location": None, "otherRefNum": "RMA-1", "tranId": "CM-2",
         "memo": "return of POS order 5120",
         "item": {"items": [line("77002", 1, "9.99", "2100")]}},
    )  # fmt: skip
    pay = {"customer": {"id": "1042"}, "tranDate": "2024-06-01", "account": {"id": "5002"}}
    s.create("customerPayment", {**pay, "externalId": "5120-1", "payment": D("59.98"),
                                 "memo": "Card", "tranId": "PYMT-1"})  # fmt: skip
    s.create("customerRefund", {**pay, "externalId": "5121-1", "total": D("25.00"),
                                "memo": "Card", "tranId": "RFND-1"})  # fmt: skip
    s.create(
        "journalEntry",
        {"externalId": "1-2024-06-02", "tranDate": "2024-06-02", "tranId": "JE-1",
         "line": {"items": [
             {"account": {"id": "5002"}, "debit": D("12.00"), "memo": "Card",
              "location": {"id": "3001"}},
             {"account": {"id": "5006"}, "credit": D("10.00"), "memo": "Card"},
             {"account": {"id": "5005"}, "credit": D("2.00"), "memo": "Card"}]}},
    )  # fmt: skip
    s.frozen_now = None
    return s


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_warehouse(f"sqlite:///{tmp_path}/w.db").engine


@contextmanager
def client_for(state: sim.NetSuiteState) -> Iterator[NetSuiteClient]:
    creds = sim.NetSuiteCredentials()
    with (
        serve_in_thread(sim.create_app(state, creds)) as root,
        NetSuiteClient(
            root + sim.BASE_PATH, creds.token, page_size=2, max_attempts=2, min_wait=0.01,
            max_wait=0.02,
        ) as client,
    ):  # fmt: skip
        yield client


def collect(engine: Engine, client: NetSuiteClient, *, full: bool = False) -> RunLog:
    with record_run(engine, "collect") as run:
        collect_netsuite(engine, client, Mappings(), run, full=full)
    return run


def rows(engine: Engine, *columns: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(*columns)))


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def changes(run: RunLog) -> dict[str, int]:
    return {k: v for k, v in run.counts.items() if v and k.endswith(("_new", "_changed"))}


def test_documents_payments_and_journals_land_with_contract_signs(
    engine: Engine, state: sim.NetSuiteState
) -> None:
    with client_for(state) as client:
        run = collect(engine, client)
    assert run.problems == []
    d = ErpDocument
    documents = rows(
        engine, d.doc_no, d.doc_type, d.pos_ref, d.original_pos_ref, d.location, d.gross_total,
        d.vat_total,
    )  # fmt: skip
    assert documents == [
        # doc_no  type          pos_ref  original  location  gross        vat
        ("CM-1", "credit_note", "5121", "5120", "3001", D("-25.00"), D("-4.17")),
        ("CM-2", "credit_note", "RMA-1", "5120", None, D("-9.99"), D("0.00")),  # memo names it
        ("INV-1", "invoice", "5120", None, "3001", D("59.98"), D("8.33")),
        ("INV-2", "invoice", "5120", None, "3001", D("9.99"), D("0.00")),  # otherRefNum only
    ]
    assert set(rows(engine, d.posting_date, d.currency)) == {(date(2024, 6, 1), "GBP")}
    ln = ErpDocumentLine
    with engine.connect() as conn:
        lines = sorted(
            tuple(r)
            for r in conn.execute(
                select(d.doc_no, ln.sku, ln.quantity, ln.net, ln.vat, ln.tax_code).join(
                    ln, ln.doc_id == d.doc_id
                )
            )
        )
    assert lines == [
        # doc     sku     qty          net           vat          tax code
        ("CM-1", "TEE", D("-1.000"), D("-20.83"), D("-4.17"), "2101"),
        ("CM-2", "BOOK", D("-1.000"), D("-9.99"), D("0.00"), "2100"),
        ("INV-1", "BOOK", D("1.000"), D("9.99"), D("0.00"), "2100"),
        ("INV-1", "TEE", D("2.000"), D("41.66"), D("8.33"), "2101"),
        ("INV-2", "BOOK", D("1.000"), D("9.99"), D("0.00"), "2100"),
    ]
    j = ErpJournalLine
    assert rows(engine, j.account, j.tender, j.amount, j.pos_ref, j.location) == [
        # account tender   amount        pos_ref          location
        ("1220", "Card", D("-25.00"), "5121", None),  # customerRefund 5121-1
        ("1220", "Card", D("12.00"), "1-2024-06-02", "3001"),  # journal: money in, debit
        ("1220", "Card", D("59.98"), "5120", None),  # customerPayment 5120-1
        ("2200", "Card", D("-2.00"), "1-2024-06-02", None),
        ("4000", "Card", D("-10.00"), "1-2024-06-02", None),
    ]
    assert rows(engine, ErpItem.sku, ErpItem.price_gross, ErpItem.tax_code, ErpItem.active) == [
        ("BOOK", D("9.99"), "2100", True),
        ("TEE", D("25.00"), "2101", True),  # 20.83 net x 1.20 = 24.996
    ]
    assert rows(engine, ErpAccount.account, ErpAccount.active) == [
        ("1100", True), ("1220", True), ("1240", False), ("2200", True), ("4000", True),
    ]  # fmt: skip
    assert rows(engine, ErpStock.location, ErpStock.sku, ErpStock.quantity) == [
        ("3001", "TEE", D("10.000")),  # on hand 12 - committed 2
        ("3002", "BOOK", D("5.000")),
    ]


def test_a_rerun_reads_nothing_old_and_writes_nothing(
    engine: Engine, state: sim.NetSuiteState
) -> None:
    with client_for(state) as client:
        before = client.server_time()
        first = collect(engine, client)
        second = collect(engine, client)
        third = collect(engine, client, full=True)
    mark = get_watermark(engine, "netsuite", "transactions")
    assert mark is not None and datetime.fromisoformat(mark) >= before
    assert first.counts["netsuite_transactions_new"] == 7
    assert changes(second) == {}
    assert second.counts["netsuite_transactions_unchanged"] == 0  # keyed long before the mark
    assert changes(third) == {}
    assert third.counts["netsuite_transactions_unchanged"] == 7  # full: read, hash unchanged
    assert (count(engine, ErpDocument), count(engine, ErpJournalLine)) == (4, 5)


def test_a_record_changed_after_the_watermark_is_read_again(
    engine: Engine, state: sim.NetSuiteState
) -> None:
    with client_for(state) as client:
        collect(engine, client)
        sale = state.by_external_id("invoice", "5120")
        assert sale is not None
        state.update("invoice", sale["id"], {"location": {"id": "3002"}})  # stamped now
        run = collect(engine, client)
    assert changes(run) == {"netsuite_transactions_changed": 1}
    assert rows(engine, ErpDocument.doc_no, ErpDocument.location)[2] == ("INV-1", "3002")


def test_a_bad_record_is_quarantined_and_the_rest_lands(
    engine: Engine, state: sim.NetSuiteState
) -> None:
    bad = state.by_external_id("invoice", "5120")
    assert bad is not None
    # NetSuite answers one header with a total that is not a number (SuiteQL copy edited)
    state.sql().execute(
        "UPDATE \"transaction\" SET foreigntotal = 'lots' WHERE id = ?", (int(bad["id"]),)
    )
    with client_for(state) as client:
        run = collect(engine, client)
    assert [r[0] for r in rows(engine, ErpDocument.doc_no)] == ["CM-1", "CM-2", "INV-2"]
    with engine.connect() as conn:
        reason = conn.execute(
            select(Quarantine.reason).where(Quarantine.vendor_id == bad["id"])
        ).scalar_one()
    assert "foreigntotal" in reason
    assert run.counts["quarantined"] == 1 and len(run.problems) == 1


def test_an_outage_mid_read_keeps_the_watermark_and_the_rerun_lands_the_rest(
    engine: Engine, state: sim.NetSuiteState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("recon.erp.netsuite.collector.BATCH", 2)
    with client_for(state) as client:
        original = client.iter_transaction_lines

        def down_after_some_lines(*args: Any, **kwargs: Any) -> Iterator[Any]:
            for n, f in enumerate(original(*args, **kwargs)):
                if n == 12:  # lines of three transactions read, then NetSuite fails
                    raise ServerError("netsuite", 503, "down", "NetSuite server error (503)")
                yield f

        monkeypatch.setattr(client, "iter_transaction_lines", down_after_some_lines)
        with pytest.raises(ServerError):
            collect(engine, client)
        landed = raw_transactions(engine)
        assert 0 < landed < 7
        assert get_watermark(engine, "netsuite", "transactions") is None
        monkeypatch.setattr(client, "iter_transaction_lines", original)
        run = collect(engine, client)
    assert run.counts["netsuite_transactions_new"] == 7 - landed
    assert raw_transactions(engine) == 7
    assert get_watermark(engine, "netsuite", "transactions") is not None


@pytest.mark.parametrize(
    ("read", "record_type", "key"),
    [  # what is read             what is deleted after its first page
        ("iter_transactions", "invoice", "5120"),  # the sale, first by id
        ("iter_transaction_lines", "invoice", "5120"),  # the sale, more lines than a page
        ("iter_stock", "inventoryItem", "77001"),  # an item stocked in two locations
    ],
)
def test_a_row_deleted_mid_read_loses_no_other_row(
    state: sim.NetSuiteState, read: str, record_type: str, key: str
) -> None:
    state.set_stock("77001", "3002", D("3"))  # stock: 77001 at 3001 and 3002, 77002 at 3002
    found = state.by_external_id(record_type, key) if record_type == "invoice" else None
    gone = found["id"] if found else key
    with client_for(state) as client:  # two rows a page
        args = [] if read == "iter_stock" else [RECORD_TYPES]

        def seen(f: Any) -> tuple[str | None, tuple[Any, ...]]:
            return f.key, tuple(sorted(f.raw.items()))

        before = [seen(f) for f in getattr(client, read)(*args)]
        got = []
        for n, f in enumerate(getattr(client, read)(*args)):
            if n == 1:  # the first page is read: the record goes before the second is asked
                state.delete(record_type, gone)
            got.append(seen(f))
    assert before[0][0] == gone and len(before) > 2  # it was on the first page, more follow
    assert got == before[:2] + [r for r in before[2:] if r[0] != gone]


def raw_transactions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    RawPayload.source == "netsuite", RawPayload.entity == "transactions"
                )
            ).scalar_one()
        )


def marked_deleted(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(RawPayload.vendor_id).where(
                    RawPayload.source == "netsuite",
                    RawPayload.entity == "transactions",
                    RawPayload.deleted_at.is_not(None),
                )
            ).scalars()
        )


def void_in_netsuite(state: sim.NetSuiteState, record_id: str) -> None:
    """Void a transaction as SuiteQL then shows it: `voided` T, modified now."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state.sql().execute(
        "UPDATE \"transaction\" SET voided = 'T', lastmodifieddate = ? WHERE id = ?",
        (sim._sql_instant(stamp), int(record_id)),
    )


def test_a_voided_invoice_and_payment_lose_their_rows_and_keep_a_marked_payload(
    engine: Engine, state: sim.NetSuiteState
) -> None:
    sale = state.by_external_id("invoice", "5120")
    payment = state.by_external_id("customerPayment", "5120-1")
    assert sale is not None and payment is not None
    with client_for(state) as client:
        collect(engine, client)
        void_in_netsuite(state, sale["id"])
        void_in_netsuite(state, payment["id"])
        run = collect(engine, client)  # voiding moves lastmodifieddate: no --full needed
    assert [r[0] for r in rows(engine, ErpDocument.doc_no)] == ["CM-1", "CM-2", "INV-2"]
    with engine.connect() as conn:
        docs = set(conn.execute(select(ErpDocumentLine.doc_id)).scalars())
    assert f"invoice:{sale['id']}" not in docs
    assert [r[0] for r in rows(engine, ErpJournalLine.pos_ref)] == [
        "1-2024-06-02", "1-2024-06-02", "1-2024-06-02", "5121",
    ]  # fmt: skip
    assert marked_deleted(engine) == sorted([sale["id"], payment["id"]])
    assert run.counts["netsuite_transactions_deleted"] == 2
    assert run.problems == []


def test_a_full_run_removes_a_deleted_transaction_and_an_outage_removes_nothing(
    engine: Engine, state: sim.NetSuiteState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("recon.erp.netsuite.collector.BATCH", 2)
    rma = state.by_external_id("creditMemo", "5121")
    assert rma is not None
    with client_for(state) as client:
        collect(engine, client)
        state.delete("creditMemo", rma["id"])  # NetSuite reports no deletions
        assert collect(engine, client).counts["netsuite_transactions_deleted"] == 0
        original = client.iter_transactions

        def down_mid_read(*args: Any, **kwargs: Any) -> Iterator[Any]:
            for n, f in enumerate(original(*args, **kwargs)):
                if n == 4:
                    raise ServerError("netsuite", 503, "down", "NetSuite server error (503)")
                yield f

        monkeypatch.setattr(client, "iter_transactions", down_mid_read)
        with pytest.raises(ServerError):
            collect(engine, client, full=True)
        assert "CM-1" in [r[0] for r in rows(engine, ErpDocument.doc_no)]
        assert marked_deleted(engine) == []
        monkeypatch.setattr(client, "iter_transactions", original)
        run = collect(engine, client, full=True)
    assert [r[0] for r in rows(engine, ErpDocument.doc_no)] == ["CM-2", "INV-1", "INV-2"]
    assert count(engine, ErpDocumentLine) == 4  # CM-1's line went with it
    assert marked_deleted(engine) == [rma["id"]]
    assert run.counts["netsuite_transactions_deleted"] == 1


def test_a_transaction_hidden_by_a_page_shift_is_kept_and_a_deleted_one_goes(
    engine: Engine, state: sim.NetSuiteState, monkeypatch: pytest.MonkeyPatch
) -> None:
    #  transaction  in NetSuite  read by the --full pass      expected
    #  INV-1        yes          no (a page shifted over it)  kept: SuiteQL still has it
    #  CM-1         no           no                           swept
    sale = state.by_external_id("invoice", "5120")
    rma = state.by_external_id("creditMemo", "5121")
    assert sale is not None and rma is not None
    with client_for(state) as client:
        collect(engine, client)
        state.delete("creditMemo", rma["id"])
        original = client.iter_transactions

        def shifted(*args: Any, **kwargs: Any) -> Iterator[Any]:
            return (f for f in original(*args, **kwargs) if f.key != sale["id"])

        monkeypatch.setattr(client, "iter_transactions", shifted)
        run = collect(engine, client, full=True)
    assert [r[0] for r in rows(engine, ErpDocument.doc_no)] == ["CM-2", "INV-1", "INV-2"]
    assert marked_deleted(engine) == [rma["id"]]
    assert run.counts["netsuite_transactions_deleted"] == 1
