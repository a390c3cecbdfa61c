"""Cancelling a document as SAP B1 does: `POST /Invoices(n)/Cancel` (and credit notes) marks
the document cancelled (`CancelStatus` csYes, SAP's enum csYes / csNo / csCancellation) and
adds the cancellation document (csCancellation) whose lines are based on it and whose stock
movement undoes the cancelled one's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from recon.simulators import sapb1
from tests.simulators.test_sapb1 import B, client, dec, invoice, state, ticker

__all__ = ["client", "state", "ticker"]  # the fixtures, shared with test_sapb1
SAP_CANCEL_STATUSES = {"csYes", "csNo", "csCancellation"}


def in_stock(state: sapb1.SapB1State, item: str = "TEE-BLK-M") -> Decimal:
    row = state.find("Items", item)
    assert row is not None
    return next(
        i["InStock"] for i in row["ItemWarehouseInfoCollection"] if i["WarehouseCode"] == "WH-LON"
    )


def documents(client: TestClient, entity_set: str) -> list[dict[str, Any]]:
    fields = "DocEntry,DocNum,NumAtCard,DocTotal,Cancelled,CancelStatus,DocumentStatus"
    got = dec(client.get(f"{B}/{entity_set}?$select={fields},DocumentLines&$orderby=DocEntry"))
    return list(got["value"])


def test_cancelling_an_invoice_adds_its_cancellation_document(
    client: TestClient, state: sapb1.SapB1State
) -> None:
    before = in_stock(state)
    doc = client.post(f"{B}/Invoices", json=invoice(Quantity=2)).json()
    assert in_stock(state) == before - 2
    assert client.post(f"{B}/Invoices({doc['DocEntry']})/Cancel").status_code == 204

    cancelled, cancellation = documents(client, "Invoices")
    head = ("NumAtCard", "DocTotal", "Cancelled", "CancelStatus", "DocumentStatus")
    assert [tuple(d[k] for k in head) for d in (cancelled, cancellation)] == [
        ("5120", Decimal("49.99"), "tYES", "csYes", "bost_Close"),  # 2 x 20.83 + VAT
        ("5120", Decimal("49.99"), "tNO", "csCancellation", "bost_Close"),
    ]
    assert cancellation["DocNum"] == cancelled["DocNum"] + 1
    line = cancellation["DocumentLines"][0]
    base = (line["BaseType"], line["BaseEntry"], line["BaseLine"], line["Quantity"])
    assert base == (13, doc["DocEntry"], 0, Decimal(2))
    assert in_stock(state) == before  # the cancellation put the stock back


def test_cancelling_a_credit_note_frees_the_invoice_to_be_credited_again(
    client: TestClient, state: sapb1.SapB1State
) -> None:
    sale = client.post(f"{B}/Invoices", json=invoice()).json()
    back = {"BaseType": 13, "BaseEntry": sale["DocEntry"], "BaseLine": 0, "Quantity": 1}
    note = {"CardCode": "CASH01", "NumAtCard": "5130", "DocumentLines": [back]}
    first = client.post(f"{B}/CreditNotes", json=note).json()
    assert client.post(f"{B}/CreditNotes", json=note).status_code == 400  # nothing left
    stock = in_stock(state)
    assert client.post(f"{B}/CreditNotes({first['DocEntry']})/Cancel").status_code == 204

    statuses = [(d["NumAtCard"], d["CancelStatus"]) for d in documents(client, "CreditNotes")]
    assert statuses == [("5130", "csYes"), ("5130", "csCancellation")]
    assert documents(client, "CreditNotes")[1]["DocumentLines"][0]["BaseType"] == 14
    assert in_stock(state) == stock - 1  # the return is taken back out
    assert client.post(f"{B}/CreditNotes", json=note).status_code == 201


def test_a_cancelled_document_cannot_be_cancelled_again(client: TestClient) -> None:
    doc = client.post(f"{B}/Invoices", json=invoice()).json()
    assert client.post(f"{B}/Invoices({doc['DocEntry']})/Cancel").status_code == 204
    again = client.post(f"{B}/Invoices({doc['DocEntry']})/Cancel")
    assert again.status_code == 400
    cancellation = documents(client, "Invoices")[1]["DocEntry"]
    assert client.post(f"{B}/Invoices({cancellation})/Cancel").status_code == 400
    assert len(documents(client, "Invoices")) == 2


def test_cancel_statuses_are_sap_enum_values_and_filter_by_name_or_value(
    client: TestClient,
) -> None:
    for n in ("5120", "5121"):
        client.post(f"{B}/Invoices", json=invoice(n))
    client.post(f"{B}/Invoices({documents(client, 'Invoices')[0]['DocEntry']})/Cancel")
    assert {d["CancelStatus"] for d in documents(client, "Invoices")} <= SAP_CANCEL_STATUSES
    for value in ("csCancellation", "C"):
        got = client.get(f"{B}/Invoices?$filter=CancelStatus eq '{value}'&$select=NumAtCard")
        assert [d["NumAtCard"] for d in got.json()["value"]] == ["5120"]
    live = client.get(f"{B}/Invoices?$filter=CancelStatus eq 'csNo'&$select=NumAtCard")
    assert [d["NumAtCard"] for d in live.json()["value"]] == ["5121"]
