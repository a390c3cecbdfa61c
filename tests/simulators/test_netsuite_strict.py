"""Fields a record type does not have are refused as NetSuite refuses them: in bodies (POST,
upsert, PATCH, sublist lines), in `q` filters and in `fields`, with the 400 error body."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from recon.simulators.netsuite import NetSuiteState
from tests.simulators.test_netsuite import R, client, invoice, state

__all__ = ["client", "state"]  # the fixtures, shared with test_netsuite


def refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["title"], body["status"]) == ("Bad Request", 400)
    detail: dict[str, Any] = body["o:errorDetails"][0]
    return detail


def with_line_field(**extra: Any) -> dict[str, Any]:
    body = invoice()
    body["item"]["items"][1].update(extra)
    return body


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("POST", "invoice", invoice(discountCode="SUMMER"), "discountCode"),
        ("POST", "invoice", with_line_field(colour="red"), "item.items[1].colour"),
        ("PUT", "invoice/eid:5120", invoice(None, tranDat="2024-06-01"), "tranDat"),
        ("POST", "customer", {"entityId": "C9", "loyaltyTier": "gold"}, "loyaltyTier"),
    ],
)
def test_unknown_body_fields_are_400_and_nothing_is_written(
    client: TestClient, state: NetSuiteState, method: str, path: str, body: Any, where: str
) -> None:
    before = {t: dict(r) for t, r in state.records.items()}
    detail = refused(client.request(method, f"{R}/{path}", json=body))
    assert (detail["o:errorCode"], detail["o:errorPath"]) == ("INVALID_CONTENT", where)
    assert state.records == before


def test_patch_with_an_unknown_field_changes_nothing(client: TestClient) -> None:
    assert client.post(f"{R}/invoice", json=invoice()).status_code == 204
    detail = refused(client.patch(f"{R}/invoice/eid:5120", json={"memmo": "typo"}))
    assert detail["o:errorPath"] == "memmo"
    assert "memo" not in client.get(f"{R}/invoice/eid:5120").json()


def test_known_custom_and_ignored_fields_are_accepted(client: TestClient) -> None:
    ok = client.post(f"{R}/invoice", json=invoice(custbody_pos_register="REG-1"))
    assert ok.status_code == 204
    ignored = client.post(
        f"{R}/invoice",
        json=invoice("5121", otherRefNum="5121", discountCode="SUMMER"),
        headers={"X-NetSuite-PropertyNameValidation": "Ignore"},
    )
    assert ignored.status_code == 204
    got = client.get(f"{R}/invoice/eid:5121").json()
    assert "discountCode" not in got and got["otherRefNum"] == "5121"


WARNED = {"X-NetSuite-PropertyNameValidation": "Warning"}


@pytest.mark.parametrize(
    ("method", "path", "body", "warning"),
    [
        (
            "POST",
            "invoice",
            {**with_line_field(colour="red"), "discountCode": "SUMMER"},
            "the record type invoice has no field discountCode, item.items[1].colour.",
        ),
        (
            "PUT",
            "invoice/eid:5120",
            invoice(None, tranDat="2024-06-01", **{"couleur\u00e9\n": 1}),
            "the record type invoice has no field tranDat, couleur\\xe9\\n.",
        ),
        ("POST", "invoice", invoice(), None),  # nothing ignored: no warning
    ],
)
def test_warning_mode_drops_unknown_fields_and_names_them_in_x_netsuite_warning(
    client: TestClient, method: str, path: str, body: Any, warning: str | None
) -> None:
    answer = client.request(method, f"{R}/{path}", json=body, headers=WARNED)
    assert answer.status_code == 204
    got = answer.headers.get("X-NetSuite-Warning")
    assert got == (None if warning is None else f"Unknown fields ignored: {warning}")
    stored = client.get(f"{R}/invoice/eid:5120").json()
    assert not {"discountCode", "tranDat", "colour"} & set(stored)


def test_patch_in_warning_mode_names_what_it_ignored_and_ignore_mode_is_silent(
    client: TestClient,
) -> None:
    assert client.post(f"{R}/invoice", json=invoice()).status_code == 204
    warned = client.patch(f"{R}/invoice/eid:5120", json={"memmo": "typo"}, headers=WARNED)
    assert (warned.status_code, warned.headers["X-NetSuite-Warning"]) == (
        204,
        "Unknown fields ignored: the record type invoice has no field memmo.",
    )
    quiet = client.patch(
        f"{R}/invoice/eid:5120",
        json={"memmo": "typo"},
        headers={"X-NetSuite-PropertyNameValidation": "Ignore"},
    )
    assert quiet.status_code == 204 and "X-NetSuite-Warning" not in quiet.headers


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("q", 'posRef IS "5120"'),
        ("q", 'otherRefNum IS "5120" AND (tranDate ON "2024-06-01" OR colour IS "red")'),
    ],
)
def test_unknown_fields_in_q_are_400(client: TestClient, param: str, value: str) -> None:
    detail = refused(client.get(f"{R}/invoice", params={param: value}))
    assert (detail["o:errorCode"], detail["o:errorQueryParam"]) == ("INVALID_PARAMETER", "q")


def test_q_on_known_fields_still_filters(client: TestClient) -> None:
    client.post(f"{R}/invoice", json=invoice())
    hits = client.get(f"{R}/invoice", params={"q": 'otherRefNum IS "5120"'}).json()
    misses = client.get(f"{R}/invoice", params={"q": 'otherRefNum IS "9999"'}).json()
    assert (hits["count"], misses["count"]) == (1, 0)


def test_unknown_fields_in_fields_are_400(client: TestClient) -> None:
    client.post(f"{R}/invoice", json=invoice())
    detail = refused(client.get(f"{R}/invoice/eid:5120", params={"fields": "tranId,posRef"}))
    assert (detail["o:errorCode"], detail["o:errorQueryParam"]) == ("INVALID_PARAMETER", "fields")
    got = client.get(f"{R}/invoice/eid:5120", params={"fields": "tranId,otherRefNum"}).json()
    assert set(got) == {"links", "id", "tranId", "otherRefNum"}
