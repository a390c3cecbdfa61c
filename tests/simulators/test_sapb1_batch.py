"""`POST /$batch` as the Service Layer documents it (OData v3 multipart/mixed): requests
and change sets answered in order with 202, a change set all or nothing, and `$n` naming
what an earlier request of the same change set created."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from recon.simulators import sapb1
from tests.simulators.test_sapb1 import B, client, invoice, state, ticker

__all__ = ["client", "state", "ticker"]  # the fixtures, shared with test_sapb1


def part(method: str, url: str, body: Any = None, content_id: int | None = None) -> str:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        head.append(f"Content-ID: {content_id}")
    request = [f"{method} {url}"]
    if body is not None:
        request += ["Content-Type: application/json", "", json.dumps(body)]
    return "\r\n".join([*head, "", *request, ""])


def change_set(name: str, *parts: str) -> str:
    inner = "".join(f"--{name}\r\n{p}\r\n" for p in parts) + f"--{name}--"
    return f"Content-Type: multipart/mixed;boundary={name}\r\n\r\n{inner}\r\n"


def batch(client: TestClient, *parts: str) -> tuple[int, list[str]]:
    """Send the parts; the status and each top-level answer part (changeset parts joined)."""
    body = "".join(f"--batch_1\r\n{p}\r\n" for p in parts) + "--batch_1--\r\n"
    headers = {"Content-Type": "multipart/mixed;boundary=batch_1"}
    r = client.post(f"{B}/$batch", content=body.encode(), headers=headers)
    if r.status_code != 202:
        return r.status_code, [r.text]
    boundary = r.headers["content-type"].split("boundary=")[1]
    answers = r.text.split(f"--{boundary}--")[0].split(f"--{boundary}\r\n")[1:]
    return 202, answers


def statuses(answer: str) -> list[int]:
    return [int(line.split()[1]) for line in answer.split("\r\n") if line.startswith("HTTP/1.1")]


def test_a_change_set_posts_and_patches_together_and_gets_answer_in_order(
    client: TestClient, state: sapb1.SapB1State
) -> None:
    status, answers = batch(
        client,
        change_set(
            "changeset_a",
            part("POST", f"{B}/Invoices", invoice(), content_id=1),
            part("PATCH", "$1", {"Comments": "POS order 5120"}, content_id=2),
            part("POST", f"{B}/BusinessPartners", {"CardCode": "C77"}, content_id=3),
        ),
        part("GET", f"{B}/Items('TEE-BLK-M')?$select=ItemCode"),
    )
    assert status == 202
    assert [statuses(a) for a in answers] == [[201, 204, 201], [200]]
    assert '"ItemCode":"TEE-BLK-M"' in answers[1].replace(" ", "")
    assert [(d["NumAtCard"], d["Comments"]) for d in state.invoices] == [("5120", "POS order 5120")]
    assert state.find("BusinessPartners", "C77") is not None


def test_a_failing_change_set_leaves_nothing_and_the_next_one_still_runs(
    client: TestClient, state: sapb1.SapB1State
) -> None:
    stock = state.find("Items", "TEE-BLK-M")["ItemWarehouseInfoCollection"][0]["InStock"]
    status, answers = batch(
        client,
        change_set(
            "changeset_a",
            part("POST", f"{B}/Invoices", invoice(), content_id=1),
            part("POST", f"{B}/BusinessPartners", {"CardCode": "C77"}, content_id=2),
            part("POST", f"{B}/Invoices", {**invoice("5121"), "PosRef": "x"}, content_id=3),
        ),
        change_set("changeset_b", part("POST", f"{B}/Invoices", invoice("5122"), content_id=1)),
    )
    assert status == 202
    #   the failed set answers once, with its failure and B1's error body
    assert [statuses(a) for a in answers] == [[400], [201]]
    assert "Property 'PosRef' of 'Document' is invalid" in answers[0]
    assert [d["NumAtCard"] for d in state.invoices] == ["5122"]
    assert state.find("BusinessPartners", "C77") is None
    item = state.find("Items", "TEE-BLK-M")
    assert item["ItemWarehouseInfoCollection"][0]["InStock"] == stock - Decimal(1)  # 5122 only
    first = client.post(f"{B}/Invoices", json=invoice("5123")).json()
    assert first["DocEntry"] == state.invoices[0]["DocEntry"] + 1  # no entry number was lost


def test_batch_needs_a_session_and_a_readable_body(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    bad = client.post(f"{B}/$batch", content=b"{}", headers=headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, -1000)
    unknown = batch(client, change_set("cs", part("PATCH", "$9", {"Comments": "x"})))
    assert statuses(unknown[1][0]) == [400]
    client.cookies.delete("B1SESSION")
    assert batch(client, part("GET", f"{B}/Items"))[0] == 401
