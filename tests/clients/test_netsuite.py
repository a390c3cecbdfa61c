"""NetSuiteClient against small fake NetSuite routers (httpx.MockTransport)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recon.clients.errors import (
    AuthError,
    MalformedResponse,
    PagingLoop,
    RecordLocked,
    RejectedError,
)
from recon.config import load_settings
from recon.erp.netsuite.client import (
    NetSuiteClient,
    NetSuiteCreditMemo,
    NetSuiteInvoice,
    TransactionLineRow,
    TransactionRow,
    ns_date,
)
from tests.clients.fakes import Recorder, json_response, scripted

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"
TOKEN = "tok-secret-123"


def client(recorder: Recorder, **kw: Any) -> NetSuiteClient:
    return NetSuiteClient(
        BASE, TOKEN, transport=recorder.transport(), min_wait=0.001, max_wait=0.01, **kw
    )


def envelope(items: list[dict[str, Any]], has_more: bool, offset: int = 0) -> dict[str, Any]:
    return {
        "links": [],
        "count": len(items),
        "hasMore": has_more,
        "offset": offset,
        "totalResults": 99,
        "items": items,
    }


def ns_error(status: int, code: str, detail: str) -> httpx.Response:
    return json_response(
        status,
        {
            "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
            "title": "Bad Request",
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
    )


def test_collection_paging_follows_has_more_and_sends_bearer() -> None:
    pages = {
        0: envelope([{"id": "1"}, {"id": "2"}], True),
        2: envelope([{"id": "3"}], False, 2),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, pages[int(request.url.params["offset"])])

    rec = Recorder(handler)
    assert list(client(rec, page_size=2).iter_ids("invoice", q="externalId IS 5")) == [
        "1",
        "2",
        "3",
    ]
    first = rec.requests[0]
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.url.path == "/services/rest/record/v1/invoice"
    assert dict(first.url.params) == {"limit": "2", "offset": "0", "q": "externalId IS 5"}


def test_create_returns_id_from_location_and_sends_exact_decimals() -> None:
    rec = scripted(
        httpx.Response(204, headers={"Location": f"{BASE}/services/rest/record/v1/invoice/8814"})
    )
    new_id = client(rec).create("invoice", {"item": {"items": [{"rate": Decimal("20.83")}]}})
    assert new_id == "8814"
    assert rec.requests[0].content == b'{"item":{"items":[{"rate":20.83}]}}'


def test_create_without_location_is_malformed_and_not_repeated() -> None:
    rec = scripted(httpx.Response(204))
    with pytest.raises(MalformedResponse, match="externalId"):
        client(rec).create("invoice", {})
    assert len(rec.requests) == 1


def test_upsert_puts_to_eid_without_ids_in_body() -> None:
    loc = f"{BASE}/services/rest/record/v1/invoice/77"
    rec = scripted(httpx.Response(204, headers={"Location": loc}))
    assert client(rec).upsert_by_external_id("invoice", "5120", {"id": "9", "memo": "x"}) == "77"
    sent = rec.requests[0]
    assert (sent.method, sent.url.path) == ("PUT", "/services/rest/record/v1/invoice/eid:5120")
    assert json.loads(sent.content) == {"memo": "x"}


def test_upsert_without_location_reads_the_id_back() -> None:
    rec = scripted(httpx.Response(204), json_response(200, {"id": "78"}))
    assert client(rec).upsert_by_external_id("invoice", "5121", {}) == "78"
    assert rec.requests[1].url.path.endswith("/invoice/eid:5121")


def test_get_by_external_id_none_on_404_and_typed_record() -> None:
    raw = {
        "id": "8814",
        "tranId": "INV10044",
        "tranDate": "2024-06-01",
        "externalId": None,
        "otherRefNum": "5120",
        "entity": {"id": "1042", "refName": "CASH01 Cash"},
        "status": "A",  # simpleEnumFormat
        "total": 25.0,
        "lastModifiedDate": "2024-06-01T09:15:00Z",
        "createdFrom": {"id": "8800"},
        "item": {"items": [{"item": {"id": "77001"}, "quantity": 1, "amount": 20.83}]},
    }
    rec = scripted(ns_error(404, "NONEXISTENT_ID", "The record instance does not exist."))
    assert client(rec).get_by_external_id("invoice", "5120", NetSuiteInvoice) is None
    rec = scripted(json_response(200, raw))
    memo = client(rec).get_by_external_id("creditMemo", "5120", NetSuiteCreditMemo)
    assert memo is not None
    assert memo.pos_ref == "5120"  # externalId empty: otherRefNum is the POS order id
    assert memo.createdFrom is not None and memo.createdFrom.id == "8800"
    assert (memo.tranDate, memo.total, memo.status and memo.status.id) == (
        date(2024, 6, 1),
        Decimal("25.0"),
        "A",
    )
    assert memo.lastModifiedDate == datetime(2024, 6, 1, 9, 15, tzinfo=UTC)
    assert [(ln.item and ln.item.id, ln.amount) for ln in memo.item] == [
        ("77001", Decimal("20.83"))
    ]
    assert rec.requests[0].url.params["expandSubResources"] == "true"


def test_suiteql_pages_with_prefer_transient_and_types_rows() -> None:
    rows = [
        {"links": [], "id": "8814", "tranid": "INV1", "type": "CustInvc", "trandate": "6/1/2024",
         "externalid": "5120", "otherrefnum": "5120", "foreigntotal": "25", "voided": "F"},
        {"links": [], "id": "8815", "type": "CustCred", "trandate": "12/31/2024",
         "otherrefnum": "5121", "foreigntotal": "-9.5", "lastmodifieddate": "12/31/2024 5:07 pm"},
    ]  # fmt: skip
    rec = scripted(
        json_response(200, envelope(rows[:1], True)),
        json_response(200, envelope(rows[1:], False, 1)),
    )
    c = client(rec, page_size=1)
    got = [f.item for f in c.iter_transactions(["invoice", "creditMemo"])]
    assert [(r.id, r.trandate, r.foreigntotal, r.pos_ref, r.voided) for r in got if r] == [
        ("8814", date(2024, 6, 1), Decimal("25"), "5120", False),
        ("8815", date(2024, 12, 31), Decimal("-9.5"), "5121", None),
    ]
    assert got[1] is not None
    assert got[1].lastmodifieddate == datetime(2024, 12, 31, 17, 7, tzinfo=UTC)
    first = rec.requests[0]
    assert (first.method, first.url.path) == ("POST", "/services/rest/query/v1/suiteql")
    assert first.headers["prefer"] == "transient"
    assert dict(first.url.params) == {"limit": "1", "offset": "0"}
    assert "t.type IN ('CustInvc', 'CustCred')" in json.loads(first.content)["q"]
    second = json.loads(rec.requests[1].content)["q"]  # the query again, after the last key
    assert rec.requests[1].url.params["offset"] == "0"
    assert second.endswith("AND (t.id > 8814) ORDER BY t.id")


@pytest.mark.parametrize(
    ("pages", "expected"),
    [  # (transaction, line) per page, then the second page's key condition
        (
            [[("7", "0"), ("7", "3")], []],
            "tl.transaction > 7 OR (tl.transaction = 7 AND tl.id > 3)",
        ),
        (
            [[("7", "3"), ("9", "1")], []],
            "tl.transaction > 9 OR (tl.transaction = 9 AND tl.id > 1)",
        ),
    ],
)
def test_suiteql_by_key_resumes_after_the_last_composite_key(
    pages: list[list[tuple[str, str]]], expected: str
) -> None:
    rows = [[{"transaction": t, "id": i} for t, i in page] for page in pages]
    more = [True] * (len(rows) - 1) + [False]
    rec = scripted(*(json_response(200, envelope(r, m)) for r, m in zip(rows, more, strict=True)))
    lines = client(rec, page_size=2).iter_transaction_lines(["invoice"])
    assert [(f.key, f.item and f.item.id) for f in lines] == [p for page in pages for p in page]
    queries = [json.loads(r.content)["q"] for r in rec.requests]
    tails = [q.split("(t.type IN ('CustInvc'))")[1] for q in queries]
    assert tails == [
        " ORDER BY tl.transaction, tl.id",
        f" AND ({expected}) ORDER BY tl.transaction, tl.id",
    ]


@pytest.mark.parametrize(
    ("tail", "error", "says"),
    [
        # a key that does not rise: the server pages in a circle, retrying will not help
        ({"item": "5", "location": "2"}, PagingLoop, "paging loops"),
        # a key that is not a number: a wrong answer, worth another try
        ({"item": "x", "location": "1"}, MalformedResponse, "cannot ask for the next page"),
    ],
)
def test_suiteql_by_key_refuses_a_page_whose_key_does_not_rise(
    tail: dict[str, str], error: type[Exception], says: str
) -> None:
    first = [{"item": "4", "location": "1"}, {"item": "5", "location": "2"}]
    rec = scripted(
        json_response(200, envelope(first, True)),
        json_response(200, envelope([{"item": "5", "location": "1"}, tail], True)),
    )
    with pytest.raises(error, match=says):
        list(client(rec, page_size=2).iter_stock())


def test_suiteql_bad_row_is_quarantined_not_fatal() -> None:
    rows = [
        {"transaction": "1", "id": "0", "netamount": "25", "mainline": "T"},
        {"transaction": "1", "id": "1", "netamount": "twenty"},
    ]
    rec = scripted(json_response(200, envelope(rows, False)))
    since = datetime(2024, 6, 1, tzinfo=UTC)
    got = list(client(rec).iter_transaction_lines(["invoice"], modified_since=since))
    assert got[0].item == TransactionLineRow(transaction="1", id="0", netamount=Decimal("25"),
                                             mainline=True)  # fmt: skip
    assert got[1].item is None and got[1].error and "netamount" in got[1].error
    q = json.loads(rec.requests[0].content)["q"]
    assert "t.lastmodifieddate >= TO_DATE('2024-06-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS')" in q


@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        (ns_error(401, "INVALID_LOGIN", "Invalid login attempt."), AuthError, "NETSUITE_TOKEN"),
        (ns_error(400, "INVALID_KEY_OR_REF", "Invalid item reference key 9."), RejectedError,
         "Invalid item reference key 9. [INVALID_KEY_OR_REF]"),
        (ns_error(400, "RCRD_HAS_BEEN_CHANGED", "Record has been changed."), RecordLocked,
         "RCRD_HAS_BEEN_CHANGED"),
    ],
)  # fmt: skip
def test_errors_read_o_error_details(
    response: httpx.Response, error: type[Exception], text: str
) -> None:
    rec = scripted(response)
    with pytest.raises(error, match=text.replace("[", r"\[").replace(".", r"\.")) as info:
        client(rec, max_attempts=2).create("invoice", {})
    assert TOKEN not in str(info.value)


def test_concurrency_429_is_retried() -> None:
    loc = {"Location": f"{BASE}/services/rest/record/v1/invoice/5"}
    rec = scripted(
        ns_error(429, "CONCURRENCY_LIMIT_EXCEEDED", "Request blocked."),
        httpx.Response(204, headers=loc),
    )
    assert client(rec).create("invoice", {}) == "5"
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024-06-01", date(2024, 6, 1)), ("6/1/2024", date(2024, 6, 1)),
     ("12/31/2024 11:00 pm", date(2024, 12, 31)), ("", None)],
)  # fmt: skip
def test_ns_date(text: str, expected: date | None) -> None:
    assert ns_date(text) == expected


def test_from_settings() -> None:
    settings = load_settings(netsuite_base_url=BASE, netsuite_token=TOKEN)
    rec = scripted(json_response(200, {"serverTime": "2024-06-01T09:15:00.123Z"}))
    c = NetSuiteClient.from_settings(settings, transport=rec.transport())
    assert c.server_time() == datetime(2024, 6, 1, 9, 15, 0, 123000, tzinfo=UTC)


def test_pos_ref_is_none_without_either_reference() -> None:
    assert TransactionRow(id="1").pos_ref is None
