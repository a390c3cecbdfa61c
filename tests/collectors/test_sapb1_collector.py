"""The SAP B1 collector against the SAP B1 simulator: incremental by UpdateDate (documents)
and by key or recent date (payments), idempotent, quarantining bad records, signing
money by the kind of record, and the row builders on small inline records."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from recon.collectors._landing import get_watermark
from recon.config.mappings import Mappings
from recon.erp.sapb1 import collector as b1_collector
from recon.erp.sapb1.client import Document, Item, Payment, SapB1Client
from recon.simulators import sapb1 as sim
from recon.simulators.scenario import build_scenario
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

END = date(2026, 3, 14)
LATER = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)  # a change after the first collect


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_warehouse(f"sqlite:///{tmp_path}/w.db").engine


@pytest.fixture
def state() -> sim.SapB1State:
    state = sim.seed_from_scenario(build_scenario("small", 3, END))
    state.frozen_now = datetime(2026, 3, 14, 18, 0, tzinfo=UTC)
    for n in range(25):  # card receipts so payments page too
        state.create_payment(
            "IncomingPayments",
            {
                "CardCode": "CASH01",
                "DocDate": "2026-03-14",
                "CounterReference": str(7000 + n),
                "PaymentCreditCards": [
                    {"CreditCard": 1, "CreditAcct": "1220", "VoucherNum": f"{7000 + n}-1",
                     "CreditSum": Decimal("10.00")}
                ],
            },
        )  # fmt: skip
    state.frozen_now = None
    return state


@contextmanager
def client_for(state: sim.SapB1State) -> Iterator[SapB1Client]:
    creds = sim.SapB1Credentials()
    with (
        serve_in_thread(sim.create_app(state, creds)) as root,
        SapB1Client(
            root + sim.BASE_PATH,
            creds.company_db,
            creds.user,
            creds.password,
            page_size=10,
            max_attempts=2,
            min_wait=0.01,
            max_wait=0.02,
        ) as client,
    ):
        yield client


def collect(engine: Engine, client: SapB1Client, *, full: bool = False) -> RunLog:
    with record_run(engine, "collect") as run:
        b1_collector.collect_sapb1(engine, client, Mappings(), run, full=full)
    return run


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def journal(engine: Engine, journal_id: str) -> list[tuple[str, Decimal, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(ErpJournalLine.account, ErpJournalLine.amount, ErpJournalLine.pos_ref)
            .where(ErpJournalLine.journal_id == journal_id)
            .order_by(ErpJournalLine.line_no)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def tender_parts(pay: dict[str, Any]) -> int:
    return (1 if pay["CashSum"] else 0) + len(pay["PaymentCreditCards"])


def test_everything_lands_once_and_a_rerun_writes_nothing(
    engine: Engine, state: sim.SapB1State
) -> None:
    with client_for(state) as client:
        first = collect(engine, client)
        second = collect(engine, client)
    payments = [*state.incoming_payments, *state.vendor_payments]
    #  what                                   expected
    assert count(engine, ErpDocument) == len(state.invoices) + len(state.credit_notes)
    assert count(engine, ErpJournalLine) == sum(tender_parts(p) for p in payments)
    assert count(engine, ErpItem) == len(state.items)
    assert count(engine, ErpAccount) == len(state.accounts)
    assert count(engine, ErpStock) == sum(
        len(i["ItemWarehouseInfoCollection"]) for i in state.items
    )
    assert first.counts["sapb1_invoices_new"] == len(state.invoices)
    assert first.counts["sapb1_incoming_payments_new"] == len(state.incoming_payments) > 20
    assert {k: v for k, v in second.counts.items() if v and k.endswith(("_new", "_changed"))} == {}
    assert first.problems == [] and second.problems == []


def test_a_document_changed_after_the_watermark_is_read_again(
    engine: Engine, state: sim.SapB1State
) -> None:
    invoice = state.invoices[0]
    with client_for(state) as client:
        collect(engine, client)
        state.frozen_now = LATER
        invoice["DocTotal"] = Decimal("999.99")
        state.update("Invoices", invoice["DocEntry"], {"Comments": "re-keyed by hand"})
        state.frozen_now = None
        run = collect(engine, client)
    assert run.counts["sapb1_invoices_changed"] == 1
    assert run.counts["sapb1_invoices_new"] == 0
    with engine.connect() as conn:
        gross = conn.execute(
            select(ErpDocument.gross_total).where(
                ErpDocument.doc_id == f"invoice:{invoice['DocEntry']}"
            )
        ).scalar_one()
    assert gross == Decimal("999.99")


def test_a_cancellation_after_the_watermark_removes_what_was_landed(
    engine: Engine, state: sim.SapB1State
) -> None:
    invoice = state.invoices[0]
    payment = state.incoming_payments[-1]
    with client_for(state) as client:
        collect(engine, client)
        assert journal(engine, f"incoming_payment:{payment['DocEntry']}") == [
            ("1220", Decimal("10.00"), payment["CounterReference"])
        ]
        state.frozen_now = LATER
        state.action("Invoices", invoice["DocEntry"], "Cancel")
        state.action("IncomingPayments", payment["DocEntry"], "Cancel")
        state.frozen_now = None
        collect(engine, client)
    doc_id = f"invoice:{invoice['DocEntry']}"
    cancellation = state.invoices[-1]  # B1 added it for the cancelled invoice
    assert (cancellation["CancelStatus"], cancellation["NumAtCard"]) == (
        "csCancellation",
        invoice["NumAtCard"],
    )
    with engine.connect() as conn:
        docs = conn.execute(select(func.count()).where(ErpDocument.doc_id == doc_id)).scalar()
        lines = conn.execute(select(func.count()).where(ErpDocumentLine.doc_id == doc_id)).scalar()
        same_ref = conn.execute(
            select(func.count()).where(ErpDocument.pos_ref == invoice["NumAtCard"])
        ).scalar()
    assert (docs, lines, same_ref) == (0, 0, 0)  # neither the invoice nor its cancellation
    assert journal(engine, f"incoming_payment:{payment['DocEntry']}") == []


def test_a_payment_posted_late_for_an_old_day_is_read_by_its_key(
    engine: Engine, state: sim.SapB1State
) -> None:
    with client_for(state) as client:
        collect(engine, client)
        assert get_watermark(engine, "sapb1", "IncomingPayments") is not None
        late = state.create_payment(  # dated weeks before anything the watermark has seen
            "IncomingPayments",
            {"CardCode": "CASH01", "DocDate": "2026-01-02", "CounterReference": "4711",
             "CashAccount": "1210", "CashSum": Decimal("12.50")},
        )  # fmt: skip
        run = collect(engine, client)
    assert run.counts["sapb1_incoming_payments_new"] == 1
    #       account  amount   pos_ref
    assert journal(engine, f"incoming_payment:{late['DocEntry']}") == [
        ("1210", Decimal("12.50"), "4711")
    ]


def test_a_bad_record_is_quarantined_and_the_rest_lands(
    engine: Engine, state: sim.SapB1State
) -> None:
    bad = state.invoices[1]
    bad["DocTotal"] = "lots"
    with client_for(state) as client:
        run = collect(engine, client)
    assert count(engine, ErpDocument) == len(state.invoices) + len(state.credit_notes) - 1
    with engine.connect() as conn:
        reason = conn.execute(
            select(Quarantine.reason).where(
                Quarantine.source == "sapb1", Quarantine.vendor_id == str(bad["DocEntry"])
            )
        ).scalar_one()
    assert "DocTotal" in reason
    assert len(run.problems) == 1 and run.counts["quarantined"] == 1


# --------------------------------------------------------------------- row builders
def _payment(**fields: Any) -> Payment:
    return Payment.model_validate({"DocEntry": 301, "DocDate": "2026-03-12", **fields})


CARD = {"CreditCard": 2, "CreditAcct": "1230", "VoucherNum": "5001-2", "CreditSum": "4.50"}


@pytest.mark.parametrize(
    ("entity", "fields", "expected"),
    [
        #  a sale's receipt: cash + gift card, both positive
        (
            "IncomingPayments",
            {"CashAccount": "1210", "CashSum": "20.00", "PaymentCreditCards": [CARD]},
            [("1210", "Cash", Decimal("20.00")), ("1230", "Gift Card", Decimal("4.50"))],
        ),
        #  money paid back: negative, whatever sign B1 shows
        (
            "VendorPayments",
            {"CashAccount": "1210", "CashSum": "20.00", "PaymentCreditCards": [CARD]},
            [("1210", "Cash", Decimal("-20.00")), ("1230", "Gift Card", Decimal("-4.50"))],
        ),
        #  a card line on an unknown card code keeps its account, no tender name
        (
            "IncomingPayments",
            {"PaymentCreditCards": [{**CARD, "CreditCard": 9}]},
            [("1230", None, Decimal("4.50"))],
        ),
        #  cancelled: nothing
        ("IncomingPayments", {"CashAccount": "1210", "CashSum": "20.00", "Cancelled": "tYES"}, []),
    ],
)
def test_payment_rows(
    entity: str, fields: dict[str, Any], expected: list[tuple[str, str | None, Decimal]]
) -> None:
    rows = b1_collector.payment_rows(
        _payment(CounterReference="5001", **fields), entity, {2: "Gift Card"}, "GBP", None
    )
    got = [(r["account"], r["tender"], r["amount"]) for r in rows.get("erp_journal_lines", [])]
    assert got == expected
    assert all(r["pos_ref"] == "5001" for r in rows.get("erp_journal_lines", []))


def _document(**fields: Any) -> Document:
    line = {"LineNum": 0, "ItemCode": "TEE-BLK-M", "Quantity": "2", "LineTotal": "33.33",
            "TaxTotal": "6.67", "VatGroup": "1", "WarehouseCode": "WH-LON"}  # fmt: skip
    base = {"DocEntry": 601, "DocNum": 40001, "DocDate": "2026-03-13", "NumAtCard": "5050",
            "DocTotal": "40.00", "VatSum": "6.67", "DocCurrency": "GBP"}  # fmt: skip
    lines = [{**line, **fields.pop("line", {})}]
    return Document.model_validate({**base, **fields, "DocumentLines": lines})


@pytest.mark.parametrize(
    ("fields", "original"),
    [
        ({"line": {"BaseType": 13, "BaseEntry": 1201, "BaseLine": 0}}, "5001"),  # by base
        ({"Comments": "Return of POS order 5002"}, "5002"),  # keyed without a base
        ({}, None),
    ],
)
def test_credit_note_rows_are_negative_and_name_the_sale(
    fields: dict[str, Any], original: str | None
) -> None:
    rows = b1_collector.credit_note_rows(_document(**fields), "GBP", None, {1201: "5001"})
    head, line = rows["erp_documents"][0], rows["erp_document_lines"][0]
    #            field               expected
    assert head["doc_type"] == "credit_note"
    assert head["doc_no"] == "40001"
    assert head["pos_ref"] == "5050"
    assert head["original_pos_ref"] == original
    assert head["location"] == "WH-LON"
    assert (head["gross_total"], head["vat_total"]) == (Decimal("-40.00"), Decimal("-6.67"))
    assert (line["quantity"], line["net"], line["vat"]) == (
        Decimal("-2"),
        Decimal("-33.33"),
        Decimal("-6.67"),
    )
    assert line["tax_code"] == "1"


@pytest.mark.parametrize(
    ("net", "vat_group", "gross"),
    [
        ("20.83", "1", Decimal("25.00")),  # 20.83 x 1.20 = 24.996
        ("10.10", "5", Decimal("10.61")),  # 10.605: half up
        ("3.20", "12", Decimal("3.60")),
        ("7.00", "X", Decimal("7.00")),  # unknown VAT group: no VAT added
    ],
)
def test_item_prices_are_made_gross_with_the_items_vat_rate(
    net: str, vat_group: str, gross: Decimal
) -> None:
    item = Item.model_validate(
        {
            "ItemCode": "TEE-BLK-M",
            "SalesVATGroup": vat_group,
            "ItemPrices": [{"PriceList": 1, "Price": net}, {"PriceList": 2, "Price": "1.00"}],
            "ItemWarehouseInfoCollection": [
                {"WarehouseCode": "WH-LON", "InStock": "12", "Committed": "2"}
            ],
        }
    )
    rates = {"1": Decimal("20"), "5": Decimal("5"), "12": Decimal("12.5")}
    rows = b1_collector.item_rows(item, rates, 1, None)
    assert rows["erp_items"][0]["price_gross"] == gross
    assert [(s["location"], s["quantity"]) for s in rows["erp_stock"]] == [
        ("WH-LON", Decimal("10"))
    ]


def test_an_item_hidden_by_a_page_shift_is_kept_and_a_deleted_one_goes(
    engine: Engine, state: sim.SapB1State, monkeypatch: pytest.MonkeyPatch
) -> None:
    #  item    in B1    read by the pass           expected
    #  hidden  yes      no (a page shifted over)   kept: B1 still has it when asked
    #  gone    no       no                         swept
    hidden, gone = state.items[0]["ItemCode"], state.items[1]["ItemCode"]
    with client_for(state) as client:
        collect(engine, client)
        state.items.remove(state.items[1])
        original = client.iter_items

        def shifted() -> Iterator[Any]:
            return (f for f in original() if f.key != hidden)

        monkeypatch.setattr(client, "iter_items", shifted)
        run = collect(engine, client)
    with engine.connect() as conn:
        skus = set(conn.execute(select(ErpItem.sku)).scalars())
        swept = conn.execute(
            select(RawPayload.vendor_id).where(
                RawPayload.entity == "Items", RawPayload.deleted_at.is_not(None)
            )
        ).all()
    assert (hidden in skus, gone in skus) == (True, False)
    assert swept == [(gone,)]
    assert run.counts["sapb1_items_deleted"] == 1
