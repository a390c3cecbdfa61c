"""Properties an entity type does not have are refused as the Service Layer refuses them:
in `$filter`, `$select` and `$orderby` and in bodies, with 400 and B1's error body
`{"error": {"code": -1000, "message": {"lang": "en-us", "value": "Property 'X' of 'T' is
invalid"}}}`."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from recon.simulators import sapb1
from tests.simulators.test_sapb1 import B, client, invoice, state, ticker

__all__ = ["client", "state", "ticker"]  # the fixtures, shared with test_sapb1


def refused(response: Any, prop: str, type_name: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": {
            "code": -1000,
            "message": {"lang": "en-us", "value": f"Property '{prop}' of '{type_name}' is invalid"},
        }
    }


@pytest.mark.parametrize(
    ("url", "prop", "type_name"),
    [
        (f"{B}/Invoices?$filter=PosOrderId eq '5120'", "PosOrderId", "Document"),
        (f"{B}/Invoices?$filter=NumAtCard eq '5120' or startswith(Ref, '5')", "Ref", "Document"),
        (f"{B}/Invoices?$select=DocEntry,DocTotl", "DocTotl", "Document"),
        (f"{B}/Invoices?$orderby=Total desc", "Total", "Document"),
        (f"{B}/Invoices/$count?$filter=Colour eq 'red'", "Colour", "Document"),
        (f"{B}/IncomingPayments?$filter=Reference eq '5120'", "Reference", "Payment"),
        (f"{B}/Items?$select=ItemCode,Stock", "Stock", "Item"),
        (f"{B}/Items('TEE-BLK-M')?$select=ItemCode,Stock", "Stock", "Item"),
        (f"{B}/BusinessPartners?$filter=Email eq 'a@b.c'", "Email", "BusinessPartner"),
        (f"{B}/JournalEntries?$filter=Ref eq '1-2024-06-01'", "Ref", "JournalEntry"),
    ],
)
def test_unknown_properties_in_queries_are_400(
    client: TestClient, url: str, prop: str, type_name: str
) -> None:
    refused(client.get(url), prop, type_name)


def test_known_and_user_defined_properties_still_query(client: TestClient) -> None:
    assert client.post(f"{B}/Invoices", json=invoice()).status_code == 201
    url = (
        f"{B}/Invoices?$filter=NumAtCard eq '5120' and U_SitooOrderId eq null"
        "&$select=DocEntry,DocTotal,U_SitooOrderId&$orderby=DocDate desc"
    )
    got = client.get(url)
    assert got.status_code == 200
    assert [row["DocTotal"] for row in got.json()["value"]] == [25.0]


def journal(**extra: Any) -> dict[str, Any]:
    lines = [
        {"AccountCode": "1220", "Debit": 25},
        {"AccountCode": "4000", "Credit": 25, **extra.pop("line", {})},
    ]
    return {"ReferenceDate": "2024-06-01", "Reference": "1-2024-06-01",
            "JournalEntryLines": lines, **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "prop", "type_name"),
    [
        ("Invoices", {**invoice(), "PosOrderId": "5120"}, "PosOrderId", "Document"),
        ("JournalEntries", journal(Store="1"), "Store", "JournalEntry"),
        ("JournalEntries", journal(line={"Tender": "Card"}), "Tender", "JournalEntryLine"),
        ("BusinessPartners", {"CardCode": "C1", "Loyalty": "gold"}, "Loyalty", "BusinessPartner"),
    ],
)
def test_unknown_properties_in_bodies_are_400_and_nothing_is_created(
    client: TestClient,
    state: sapb1.SapB1State,
    path: str,
    body: dict[str, Any],
    prop: str,
    type_name: str,
) -> None:
    before = len(state.table(path))
    refused(client.post(f"{B}/{path}", json=body), prop, type_name)
    assert len(state.table(path)) == before


def test_unknown_properties_in_a_patch_are_400_and_nothing_changes(client: TestClient) -> None:
    doc = client.post(f"{B}/Invoices", json=invoice()).json()
    url = f"{B}/Invoices({doc['DocEntry']})"
    refused(client.patch(url, json={"Comments": "x", "Coments": "typo"}), "Coments", "Document")
    assert client.get(f"{url}?$select=Comments").json()["Comments"] is None
