"""The NetSuite simulator against reference/netsuite.md (record service, SuiteQL, errors)."""

from __future__ import annotations

import io
import json
import threading
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from recon.simulators.faults import Faults
from recon.simulators.netsuite import (
    QUERY_PATH,
    RECORD_PATH,
    NetSuiteCredentials,
    NetSuiteState,
    create_app,
)
from recon.simulators.serve import run_simulator

CREDS = NetSuiteCredentials()
R = RECORD_PATH
QL = {"Prefer": "transient"}


def seeded() -> NetSuiteState:
    state = NetSuiteState()
    state.add_currency("1", "GBP", "British pound")
    state.add_customer("1042", "CASH01", "Cash Sales")
    state.add_account("5001", "1100", "Debtors", "AcctRec")
    state.add_account("5002", "1220", "Card clearing", "Bank")
    state.add_account("5003", "1290", "Old card", "Bank", inactive=True)
    state.add_account("5005", "2200", "VAT", "OthCurrLiab")
    state.add_account("5006", "4000", "Sales", "Income")
    state.add_tax_code("2101", "S-GB", Decimal("20"), "5005")
    state.add_tax_code("2100", "Z-GB", Decimal("0"), "5005")
    state.add_location("3001", "WH-LON")
    state.add_item("77001", "TEE-BLK-M", "Tee", "2101", Decimal("20.83"), income_account="5006")
    state.add_item("77002", "BOOK", "Book", "2100", Decimal("9.99"), income_account="5006")
    state.set_stock("77001", "3001", Decimal("12"), Decimal("2"))
    return state


@pytest.fixture
def state() -> NetSuiteState:
    return seeded()


@pytest.fixture
def client(state: NetSuiteState) -> TestClient:
    c = TestClient(create_app(state, CREDS))
    c.headers["Authorization"] = f"Bearer {CREDS.token}"
    return c


def invoice(eid: str | None = "5120", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity": {"id": "1042"},
        "tranDate": "2024-06-01",
        "location": {"id": "3001"},
        "otherRefNum": "5120",
        "item": {
            "items": [
                {"item": {"id": "77001"}, "quantity": 2, "rate": 20.83, "taxCode": {"id": "2101"}},
                {"item": {"id": "77002"}, "quantity": 1, "rate": 9.99},
            ]
        },
        **extra,
    }
    if eid is not None:
        body["externalId"] = eid
    return body


def dec(response: Any) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def ql(client: TestClient, q: str, **params: Any) -> Any:
    return client.post(QUERY_PATH, params=params, json={"q": q}, headers=QL)


def test_bearer_auth_and_error_body(state: NetSuiteState) -> None:
    c = TestClient(create_app(state, CREDS))
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = c.get(f"{R}/customer", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert (body["title"], body["status"]) == ("Unauthorized", 401)
        assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
        assert body["type"].endswith("#sec10.4.2")


def test_create_answers_204_with_location_and_computes_totals(client: TestClient) -> None:
    response = client.post(f"{R}/invoice", json=invoice())
    assert (response.status_code, response.text) == (204, "")
    location = response.headers["location"]
    assert location.startswith(f"http://testserver{R}/invoice/")
    new_id = location.rsplit("/", 1)[1]
    got = dec(client.get(f"{R}/invoice/{new_id}?expandSubResources=true"))
    #        line amount = round(qty x rate), tax1Amt = round(amount x rate%)
    lines = [(ln["amount"], ln["tax1Amt"], ln["taxCode"]["id"]) for ln in got["item"]["items"]]
    assert lines == [
        (Decimal("41.66"), Decimal("8.33"), "2101"),
        (Decimal("9.99"), Decimal("0.00"), "2100"),  # taxCode defaults to the item's
    ]
    assert (got["subtotal"], got["taxTotal"], got["total"]) == (
        Decimal("51.65"),
        Decimal("8.33"),
        Decimal("59.98"),
    )
    assert got["entity"] == {
        "id": "1042",
        "refName": "CASH01 Cash Sales",
        "links": [{"rel": "self", "href": f"http://testserver{R}/customer/1042"}],
    }
    assert got["status"] == {"id": "A", "refName": "Open"}
    assert got["tranId"].startswith("INV") and got["externalId"] == "5120"
    unexpanded = client.get(f"{R}/invoice/{new_id}").json()
    assert set(unexpanded["item"]) == {"links"}  # sublists are links unless expanded
    only = client.get(f"{R}/invoice/{new_id}?fields=total,tranId").json()
    assert set(only) == {"links", "id", "total", "tranId"}


def test_external_id_is_unique_per_type_and_upsert_updates(
    client: TestClient, state: NetSuiteState
) -> None:
    assert client.post(f"{R}/invoice", json=invoice()).status_code == 204
    dup = client.post(f"{R}/invoice", json=invoice())
    assert dup.status_code == 400
    assert dup.json()["o:errorDetails"][0]["o:errorCode"] == "DUP_RCRD"
    # the same externalId on another record type is fine
    payment = {"customer": {"id": "1042"}, "payment": 10, "account": {"id": "5002"}}
    assert client.post(f"{R}/customerPayment", json={**payment, "externalId": "5120"}).is_success
    # a second document for the sale can exist without externalId (otherRefNum only)
    assert client.post(f"{R}/invoice", json=invoice(eid=None)).status_code == 204
    first = client.get(f"{R}/invoice/eid:5120").json()
    put = client.put(f"{R}/invoice/eid:5120", json={"memo": "fixed"})
    assert put.status_code == 204 and put.headers["location"].endswith(f"/{first['id']}")
    again = client.get(f"{R}/invoice/eid:5120").json()
    assert (again["id"], again["memo"], again["tranId"]) == (first["id"], "fixed", first["tranId"])
    created = client.put(f"{R}/invoice/eid:5121", json=invoice(eid=None))
    assert created.status_code == 204
    assert len(state.table("invoice")) == 3
    refused = client.put(f"{R}/invoice/eid:5122", json={**invoice(eid=None), "id": "1"})
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        (invoice(item={"items": [{"item": {"id": "9999"}, "quantity": 1}]}), "INVALID_KEY_OR_REF",
         "item.items[0].item"),
        (invoice(item={"items": [{"item": {"id": "77001"}, "quantity": "x"}]}), "INVALID_CONTENT",
         "item.items[0].quantity"),
        (invoice(item={"items": []}), "USER_ERROR", "item"),
        (invoice(entity={"id": "1"}), "INVALID_KEY_OR_REF", "entity"),
        (invoice(tranDate="June 1st"), "INVALID_CONTENT", "tranDate"),
    ],
)  # fmt: skip
def test_invalid_invoices_are_400_with_error_path(
    client: TestClient, state: NetSuiteState, body: dict[str, Any], code: str, path: str
) -> None:
    response = client.post(f"{R}/invoice", json=body)
    assert response.status_code == 400
    detail = response.json()["o:errorDetails"][0]
    assert (detail["o:errorCode"], detail.get("o:errorPath")) == (code, path)
    assert state.table("invoice") == {}


def test_payments_refunds_journals(client: TestClient) -> None:
    ok = client.post(
        f"{R}/customerPayment",
        json={"customer": {"id": "1042"}, "payment": 59.98, "account": {"id": "5002"},
              "externalId": "5120-1", "tranDate": "2024-06-01"},
    )  # fmt: skip
    assert ok.status_code == 204
    closed = client.post(
        f"{R}/customerPayment",
        json={"customer": {"id": "1042"}, "payment": 1, "account": {"id": "5003"}},
    )
    assert closed.status_code == 400 and "inactive" in closed.text
    refund = client.post(
        f"{R}/customerRefund",
        json={"customer": {"id": "1042"}, "total": 9.99, "account": {"id": "5002"}},
    )
    assert refund.status_code == 204
    lines = [
        {"account": {"id": "5002"}, "debit": 12.0, "location": {"id": "3001"}},
        {"account": {"id": "5006"}, "credit": 10.0},
        {"account": {"id": "5005"}, "credit": 2.0},
    ]
    journal = client.put(f"{R}/journalEntry/eid:1-2024-06-01", json={"line": {"items": lines}})
    assert journal.status_code == 204
    lines[0]["debit"] = 12.01
    unbalanced = client.put(f"{R}/journalEntry/eid:1-2024-06-02", json={"line": {"items": lines}})
    assert unbalanced.status_code == 400 and "not in balance" in unbalanced.text


def test_collection_paging_envelope(client: TestClient) -> None:
    for i in range(5):
        assert client.post(f"{R}/invoice", json=invoice(eid=str(6000 + i))).status_code == 204
    page = client.get(f"{R}/invoice?limit=2&offset=2").json()
    assert (page["count"], page["hasMore"], page["offset"], page["totalResults"]) == (2, True, 2, 5)
    assert set(page["items"][0]) == {"links", "id"}
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert rels["next"].endswith("limit=2&offset=4")
    last = client.get(f"{R}/invoice?limit=2&offset=4").json()
    assert (last["count"], last["hasMore"]) == (1, False)
    for bad in ("limit=1001", "limit=0", "offset=1&limit=2", "limit=x"):
        assert client.get(f"{R}/invoice?{bad}").status_code == 400, bad


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("externalId IS 6001", ["6001"]),
        ('externalId IS "6001" OR externalId IS "6002"', ["6001", "6002"]),
        ("externalId START_WITH 600 AND total GREATER 100", []),
        ("total EQUAL 59.98 AND externalId ANY_OF [6000, 6002]", ["6000", "6002"]),
        ("tranDate ON_OR_AFTER 2024-06-02", ["6002"]),
        ("tranDate ON 6/1/2024 AND (externalId IS 6000 OR externalId IS 6002)", ["6000"]),
        ("memo EMPTY_NOT", ["6001"]),
    ],
)
def test_q_filters(client: TestClient, q: str, expected: list[str]) -> None:
    for i in range(3):
        extra = {"memo": "note"} if i == 1 else {}
        body = invoice(eid=str(6000 + i), tranDate=f"2024-06-0{1 + i // 2}", **extra)
        assert client.post(f"{R}/invoice", json=body).status_code == 204
    ids = [item["id"] for item in client.get(f"{R}/invoice", params={"q": q}).json()["items"]]
    eids = [client.get(f"{R}/invoice/{i}").json()["externalId"] for i in ids]
    assert eids == expected


def test_bad_q_is_400(client: TestClient) -> None:
    response = client.get(f"{R}/invoice", params={"q": "total SOMEHOW 3"})
    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorQueryParam"] == "q"


def test_unknown_ids_and_types_are_404(client: TestClient) -> None:
    for path in ("invoice/999", "invoice/eid:nope", "nonsense/1", "invoice/abc"):
        response = client.get(f"{R}/{path}")
        assert response.status_code == 404, path
        assert response.json()["title"] == "Not Found"


def test_suiteql_rows_are_strings_with_opposite_line_signs(client: TestClient) -> None:
    client.post(f"{R}/invoice", json=invoice())
    credit = invoice(eid="5130", otherRefNum="5130")
    credit["item"]["items"] = credit["item"]["items"][:1]
    credit["item"]["items"][0]["quantity"] = 1
    client.post(f"{R}/creditMemo", json=credit)
    heads = ql(
        client,
        "SELECT t.id, t.tranid, t.type, t.trandate, t.externalid, t.otherrefnum, t.foreigntotal,"
        " t.memo FROM transaction t WHERE t.trandate = TO_DATE('2024-06-01', 'YYYY-MM-DD')"
        " ORDER BY t.id",
    )
    assert heads.status_code == 200
    rows = [{k: v for k, v in r.items() if k not in ("links", "id", "tranid")} for r in
            heads.json()["items"]]  # fmt: skip
    #   memo is null: left out of the row
    assert rows == [
        {"type": "CustInvc", "trandate": "6/1/2024", "externalid": "5120",
         "otherrefnum": "5120", "foreigntotal": "59.98"},
        {"type": "CustCred", "trandate": "6/1/2024", "externalid": "5130",
         "otherrefnum": "5130", "foreigntotal": "-25"},
    ]  # fmt: skip
    lines = ql(
        client,
        "SELECT tl.transaction, tl.id, tl.item, tl.quantity, tl.netamount, tl.mainline,"
        " tl.taxline, BUILTIN.DF(tl.location) AS loc FROM transaction t JOIN transactionline tl"
        " ON tl.transaction = t.id WHERE t.type IN ('CustInvc', 'CustCred') ORDER BY t.id, tl.id",
    ).json()["items"]
    got = [(r["id"], r.get("item"), r.get("quantity"), r["netamount"], r["mainline"],
            r["taxline"], r.get("loc")) for r in lines]  # fmt: skip
    assert got == [
        # invoice: main line +total, item lines negative, one tax line per tax code
        ("0", None, None, "59.98", "T", "F", "WH-LON"),
        ("1", "77001", "-2", "-41.66", "F", "F", "WH-LON"),
        ("2", "77002", "-1", "-9.99", "F", "F", "WH-LON"),
        ("3", "2100", None, "0", "F", "T", None),
        ("4", "2101", None, "-8.33", "F", "T", None),
        # credit memo: the other way round
        ("0", None, None, "-25", "T", "F", "WH-LON"),
        ("1", "77001", "1", "20.83", "F", "F", "WH-LON"),
        ("2", "2101", None, "4.17", "F", "T", None),
    ]


def test_suiteql_paging_stock_and_errors(client: TestClient, state: NetSuiteState) -> None:
    state.set_stock("77002", "3001", Decimal("3"))
    q = (
        "SELECT ail.item, i.itemid, ail.location, ail.quantityonhand, ail.quantityavailable,"
        " ail.quantitycommitted FROM AggregateItemLocation ail JOIN item i ON i.id = ail.item"
        " ORDER BY ail.item, ail.location"
    )
    first = ql(client, q, limit=1).json()
    assert (first["count"], first["hasMore"], first["totalResults"]) == (1, True, 2)
    assert first["items"][0] == {
        "links": [],
        "item": "77001",
        "itemid": "TEE-BLK-M",
        "location": "3001",
        "quantityonhand": "12",
        "quantityavailable": "10",
        "quantitycommitted": "2",
    }
    second = ql(client, q, limit=1, offset=1).json()
    assert (second["items"][0]["itemid"], second["hasMore"]) == ("BOOK", False)
    no_prefer = client.post(QUERY_PATH, json={"q": q})
    assert no_prefer.status_code == 400
    for bad in ("SELECT nope FROM transaction", "DELETE FROM item", "SELECT 1; SELECT 2"):
        response = ql(client, bad)
        assert response.status_code == 400, bad
        assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


def test_faults_get_the_netsuite_error_body(state: NetSuiteState) -> None:
    faults = Faults()
    c = TestClient(create_app(state, CREDS, faults))
    c.headers["Authorization"] = f"Bearer {CREDS.token}"
    faults.queue("GET", "/customer", "rate_limit")
    faults.queue("POST", "/invoice", "record_lock")
    faults.queue("GET", "/customer", "server_error")
    limited = c.get(f"{R}/customer")
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    assert limited.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    locked = c.post(f"{R}/invoice", json=invoice())
    assert locked.status_code == 400
    assert locked.json()["o:errorDetails"][0]["o:errorCode"] == "RCRD_HAS_BEEN_CHANGED"
    assert state.table("invoice") == {}
    failed = c.get(f"{R}/customer")
    assert (failed.status_code, failed.json()["title"]) == (500, "Internal Server Error")
    assert c.get(f"{R}/customer").status_code == 200


def test_concurrency_limit_answers_429(state: NetSuiteState) -> None:
    state.concurrency_limit = 0
    c = TestClient(create_app(state, CREDS))
    response = c.get(f"{R}/customer", headers={"Authorization": f"Bearer {CREDS.token}"})
    assert response.status_code == 429
    state.concurrency_limit = 5
    assert c.get(f"{R}/customer", headers={"Authorization": f"Bearer {CREDS.token}"}).is_success


def test_simulate_netsuite_prints_root_and_token() -> None:
    out = io.StringIO()
    stop = threading.Event()
    worker = threading.Thread(
        target=run_simulator, args=("netsuite", 0, "clean", 1, out), kwargs={"stop": stop}
    )
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while not out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        first = json.loads(out.getvalue().splitlines()[0])
        assert set(first["credentials"]) == {"NETSUITE_TOKEN"}
        assert first["base_url"].startswith("http://127.0.0.1:")  # the root before /services
        token = first["credentials"]["NETSUITE_TOKEN"]
        got = httpx.get(
            first["base_url"] + f"{R}/customer", headers={"Authorization": f"Bearer {token}"}
        )
        assert [i["id"] for i in got.json()["items"]] == ["1042", "1043"]
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
