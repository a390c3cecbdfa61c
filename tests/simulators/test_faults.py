"""Each fault kind, injected through the queue and through the seeded dice."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.testclient import TestClient

from recon.simulators import sage200, sitoo
from recon.simulators.faults import RECORD_LOCK_MESSAGE, ConnectionDropped, Faults
from recon.simulators.serve import serve_in_thread
from tests.simulators.conftest import ROOT, SAGE, SAGE_HEADERS, SITOO, B

RECEIPT = {"customer_id": 1042, "bank_id": 4001, "cheque_value": 5, "reference": "5120"}


def sage_client(state: sage200.Sage200State, faults: Faults) -> TestClient:
    client = TestClient(sage200.create_app(state, SAGE, faults))
    client.headers.update(SAGE_HEADERS)
    return client


@pytest.mark.parametrize(
    ("kind", "status"),
    [("rate_limit", 429), ("server_error", 500), ("bad_gateway", 502), ("unavailable", 503)],
)
def test_status_faults_then_recover(
    sage_state: sage200.Sage200State, kind: str, status: int
) -> None:
    faults = Faults()
    faults.queue("GET", "/customers", kind)
    client = sage_client(sage_state, faults)
    first = client.get(f"{B}/customers")
    assert first.status_code == status
    assert client.get(f"{B}/customers").status_code == 200
    if kind == "rate_limit":
        assert first.headers["retry-after"] == "1"
        assert first.json()["statusCode"] == 429


def test_sitoo_rate_limit_uses_sitoo_error_body(sitoo_state: sitoo.SitooState) -> None:
    faults = Faults(retry_after_seconds=7)
    faults.queue("*", "/orders.json", "rate_limit")
    client = TestClient(sitoo.create_app(sitoo_state, SITOO, faults))
    response = client.get(f"{ROOT}/orders.json", auth=(SITOO.api_id, SITOO.password))
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json()["statuscode"] == 429


def test_record_lock_refuses_the_write(sage_state: sage200.Sage200State) -> None:
    faults = Faults()
    faults.queue("POST", "/sales_receipts", "record_lock")
    client = sage_client(sage_state, faults)
    response = client.post(f"{B}/sales_receipts", json=RECEIPT)
    assert (response.status_code, response.json()) == (400, {"message": RECORD_LOCK_MESSAGE})
    assert sage_state.sales_posted == []


def test_drop_after_commit_stores_the_write(sage_state: sage200.Sage200State) -> None:
    faults = Faults()
    faults.queue("POST", "/sales_receipts", "drop_after_commit")
    client = sage_client(sage_state, faults)
    with pytest.raises(ConnectionDropped):
        client.post(f"{B}/sales_receipts", json=RECEIPT)
    assert [p["reference"] for p in sage_state.sales_posted] == ["5120"]


def test_drop_after_commit_over_real_http(sage_state: sage200.Sage200State) -> None:
    faults = Faults()
    faults.queue("POST", "/sop_orders", "drop_after_commit")
    app = sage200.create_app(sage_state, SAGE, faults)
    body = {
        "customer_id": 1042,
        "customer_document_no": "77",
        "lines": [{"product_id": 77001, "warehouse_id": 3001, "line_quantity": 1}],
    }
    with (
        serve_in_thread(app) as root,
        httpx.Client(base_url=root + B, headers=SAGE_HEADERS) as client,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/sop_orders", json=body)
        again = client.get("/sop_orders?$filter=customer_document_no eq '77'")
        assert len(again.json()) == 1


def test_malformed_bodies(sage_state: sage200.Sage200State) -> None:
    faults = Faults()
    faults.queue("GET", "/customers", "html_error")
    faults.queue("GET", "/customers", "truncated_json")
    client = sage_client(sage_state, faults)
    html = client.get(f"{B}/customers")
    assert (html.status_code, html.headers["content-type"]) == (502, "text/html")
    truncated = client.get(f"{B}/customers")
    assert truncated.status_code == 200
    with pytest.raises(ValueError):
        truncated.json()


def test_slow_response(sage_state: sage200.Sage200State) -> None:
    faults = Faults(delay_seconds=0.3)
    faults.queue("GET", "/customers", "slow")
    client = sage_client(sage_state, faults)
    started = time.monotonic()
    assert client.get(f"{B}/customers").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_queue_matches_method_and_path_only(sage_state: sage200.Sage200State) -> None:
    faults = Faults()
    faults.queue("POST", "/sop_orders", "server_error")
    client = sage_client(sage_state, faults)
    assert client.get(f"{B}/sop_orders").status_code == 200
    assert faults.pending() == 1


def test_random_faults_are_seeded_and_off_by_default(sage_state: sage200.Sage200State) -> None:
    def statuses(faults: Faults) -> list[int]:
        client = sage_client(sage_state, faults)
        return [client.get(f"{B}/customers").status_code for _ in range(40)]

    assert set(statuses(Faults())) == {200}
    one = statuses(Faults(seed=5, rate_limit=0.2, server_error=0.2))
    two = statuses(Faults(seed=5, rate_limit=0.2, server_error=0.2))
    assert one == two and 200 in one and 429 in one and ({500, 502, 503} & set(one))


def test_record_lock_dice_touch_writes_only(sage_state: sage200.Sage200State) -> None:
    client = sage_client(sage_state, Faults(record_lock=1.0))
    assert client.get(f"{B}/customers").status_code == 200
    assert client.post(f"{B}/sales_receipts", json=RECEIPT).status_code == 400


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults().queue("GET", "/x", "gremlins")
