"""NetSuiteClient against the NetSuite simulator over real HTTP, and the scenario seed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from recon.clients import AuthError, RejectedError, Unreachable
from recon.erp.netsuite.client import (
    NetSuiteClient,
    NetSuiteCustomerPayment,
    NetSuiteInvoice,
    StockRow,
    SuiteQLRow,
)
from recon.simulators.faults import Faults
from recon.simulators.netsuite import NetSuiteCredentials, NetSuiteState, create_app, mappings_toml
from recon.simulators.netsuite import seed_from_scenario as seed_netsuite
from recon.simulators.scenario import build_scenario
from recon.simulators.serve import serve_in_thread
from tests.simulators.test_netsuite import seeded

CREDS = NetSuiteCredentials()


@pytest.fixture
def served() -> Iterator[tuple[str, NetSuiteState, Faults]]:
    state, faults = seeded(), Faults(retry_after_seconds=0)
    with serve_in_thread(create_app(state, CREDS, faults)) as root:
        yield root, state, faults


def client(base_url: str, token: str = CREDS.token) -> NetSuiteClient:
    return NetSuiteClient(base_url, token, page_size=2, min_wait=0.001, max_wait=0.01)


def sale(lines: int = 1) -> dict[str, object]:
    item = {"item": {"id": "77001"}, "quantity": Decimal("1"), "rate": Decimal("20.83")}
    return {
        "entity": {"id": "1042"},
        "tranDate": "2024-06-01",
        "location": {"id": "3001"},
        "otherRefNum": "5120",
        "item": {"items": [item] * lines},
    }


def test_post_find_and_query(served: tuple[str, NetSuiteState, Faults]) -> None:
    base_url, _, _ = served
    with client(base_url) as c:
        assert c.get_by_external_id("invoice", "5120", NetSuiteInvoice) is None
        first = c.upsert_by_external_id("invoice", "5120", sale())
        again = c.upsert_by_external_id("invoice", "5120", sale(lines=2))  # same record
        assert first == again
        found = c.get_by_external_id("invoice", "5120", NetSuiteInvoice)
        assert found is not None and found.id == first
        assert (found.total, len(found.item), found.pos_ref) == (Decimal("50.00"), 2, "5120")
        second = c.create("invoice", sale())  # a duplicate without externalId
        assert second != first
        pay = c.create(
            "customerPayment",
            {"customer": {"id": "1042"}, "payment": Decimal("50.00"),
             "account": {"id": "5002"}, "externalId": "5120-1"},
        )  # fmt: skip
        got = c.get("customerPayment", pay, NetSuiteCustomerPayment)
        assert (got.payment, got.account and got.account.id) == (Decimal("50.00"), "5002")
        heads = [f.item for f in c.iter_transactions(["invoice", "customerPayment"])]
        #        id      pos_ref   foreigntotal
        assert [(h.id, h.pos_ref, h.foreigntotal) for h in heads if h] == [
            (first, "5120", Decimal("50")),
            (second, "5120", Decimal("25")),
            (pay, "5120-1", Decimal("50")),
        ]
        lines = [f.item for f in c.iter_transaction_lines(["invoice"])]
        items = [(ln.transaction, ln.quantity, ln.netamount) for ln in lines if ln and not
                 (ln.mainline or ln.taxline)]  # fmt: skip
        assert items == [
            (first, Decimal("-1"), Decimal("-20.83")),
            (first, Decimal("-1"), Decimal("-20.83")),
            (second, Decimal("-1"), Decimal("-20.83")),
        ]
        future = datetime.now(UTC) + timedelta(days=1)
        assert list(c.iter_transactions(["invoice"], modified_since=future)) == []
        stock = [f.item for f in c.iter_stock()]
        assert stock == [
            StockRow(item="77001", itemid="TEE-BLK-M", location="3001",
                     quantityonhand=Decimal(12), quantityavailable=Decimal(10),
                     quantitycommitted=Decimal(2))
        ]  # fmt: skip
        query = (
            "SELECT id, acctnumber, isinactive FROM account WHERE acctnumber LIKE '12%' ORDER BY id"
        )
        rows = [f.item.model_extra for f in c.suiteql(query) if isinstance(f.item, SuiteQLRow)]
        assert rows == [  # any SuiteQL row: strings, booleans as T/F (paged by 2)
            {"id": "5002", "acctnumber": "1220", "isinactive": "F"},
            {"id": "5003", "acctnumber": "1290", "isinactive": "T"},
        ]
        codes = [(f.item.id, f.item.rate) for f in c.iter_tax_codes() if f.item]
        assert codes == [("2100", Decimal("0")), ("2101", Decimal("20"))]  # by internal id
        guest = c.find_customer("CASH01")
        assert guest is not None and guest.id == "1042"


def test_errors_and_faults(served: tuple[str, NetSuiteState, Faults]) -> None:
    base_url, state, faults = served
    with pytest.raises(AuthError, match="NETSUITE_TOKEN"):
        list(client(base_url, token="wrong").iter_ids("customer"))
    with pytest.raises(
        RejectedError, match=r"Invalid item reference key 9999\. \[INVALID_KEY_OR_REF\] at item"
    ):
        client(base_url).create(
            "invoice", {**sale(), "item": {"items": [{"item": {"id": "9999"}, "quantity": 1}]}}
        )
    faults.queue("POST", "/invoice", "record_lock")
    faults.queue("POST", "/invoice", "rate_limit")
    assert client(base_url).create("invoice", sale())
    faults.queue("POST", "/suiteql", "truncated_json")
    faults.queue("GET", "/customer", "html_error")
    assert len(list(client(base_url).suiteql("SELECT id FROM customer ORDER BY id"))) == 1
    assert list(client(base_url).iter_ids("customer")) == ["1042"]
    # A lost answer to an upsert is safe to repeat: still one record.
    faults.queue("PUT", "/invoice/eid:7001", "drop_after_commit")
    client(base_url).upsert_by_external_id("invoice", "7001", sale())
    assert len([r for r in state.table("invoice").values() if r.get("externalId") == "7001"]) == 1
    # ... a lost answer to a create is not repeated: the caller must look first.
    faults.queue("POST", "/invoice", "drop_after_commit")
    with pytest.raises(Unreachable) as info:
        client(base_url).create("invoice", {**sale(), "externalId": "7002"})
    assert not info.value.safe_to_repeat
    assert client(base_url).get_by_external_id("invoice", "7002", NetSuiteInvoice) is not None


def test_record_lists_page_past_the_offset_ceiling_by_id(
    served: tuple[str, NetSuiteState, Faults],
) -> None:
    """NetSuite pages only the first 100,000 results of a query (here 5): past them the
    client reads on by id (`q=... AND id GREATER last`), as the simulator enforces."""
    base_url, state, _ = served
    state.max_query_rows = 5
    for n in range(11):
        state.add_customer(str(2000 + n), f"C{n}", f"Shop {n}", email="shop@x" if n % 3 else "")
    every = ["1042", *(str(2000 + n) for n in range(11))]
    shops = [str(2000 + n) for n in range(11) if n % 3]
    c = NetSuiteClient(base_url, CREDS.token, page_size=2, max_query_rows=5, min_wait=0.001)
    with c:
        assert list(c.iter_ids("customer")) == every
        assert list(c.iter_ids("customer", q='email IS "shop@x"')) == shops
        assert [x.id for x in c.find_customers_by_email("SHOP@x")] == shops
    with pytest.raises(RejectedError, match="at most the first 5 results"):  # what it guards
        list(client(base_url).iter_ids("customer"))  # a client told NetSuite's 100,000


class WarningMode(httpx.HTTPTransport):
    """Sends `X-NetSuite-PropertyNameValidation: Warning`, as an account's integration may."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["X-NetSuite-PropertyNameValidation"] = "Warning"
        return super().handle_request(request)


def test_fields_netsuite_ignored_are_logged_once_per_request_and_scrubbed(
    served: tuple[str, NetSuiteState, Faults], caplog: pytest.LogCaptureFixture
) -> None:
    base_url, state, faults = served
    caplog.set_level(logging.INFO, logger="recon.http")
    faults.queue("PUT", "/invoice/eid:5120", "server_error")  # retried: still one warning
    body = {**sale(), "discountCode": "SUMMER", CREDS.token: "leaked by a mapping"}
    c = NetSuiteClient(base_url, CREDS.token, transport=WarningMode(), min_wait=0.001)
    with c:
        record_id = c.upsert_by_external_id("invoice", "5120", body)
        c.update("invoice", record_id, {"memo": "fine"})  # nothing ignored: no warning
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [
        "vendor=netsuite method=PUT path=/services/rest/record/v1/invoice/eid:5120 "
        "warning=Unknown fields ignored: the record type invoice has no field discountCode, ***."
    ]
    assert CREDS.token not in caplog.text
    stored = state.get("invoice", record_id)
    assert stored is not None and "discountCode" not in stored
    assert faults.pending() == 0  # the 500 was met and the PUT sent again


def test_seed_from_scenario_keeps_the_truth_readable() -> None:
    scenario = build_scenario("small", 1, end_day=date(2024, 6, 3))
    state = seed_netsuite(scenario)
    docs = {r["tranId"]: r for t in ("invoice", "creditMemo") for r in state.table(t).values()}
    for row in scenario.truth:  # every document the truth names exists under that number
        if row["erp_ref"] is not None:
            doc = docs[str(row["erp_ref"])]
            if row["kind"] in ("amount_mismatch", "missing_in_pos"):
                assert str(doc["total"]) == row["erp_value"]
            if row["kind"] == "duplicate_in_erp":  # the later one has only otherRefNum
                assert "externalId" not in doc and doc["otherRefNum"] == row["pos_ref"]
    sage_docs = {o["document_no"]: o for o in scenario.sage200.sop_orders}
    for tran_id, order in sage_docs.items():
        assert docs[tran_id]["total"] == order["total_gross_value"]
        assert docs[tran_id]["taxTotal"] == order["total_tax_value"]
    text = mappings_toml(scenario, state)
    assert '"1" = "3001"' in text and '"20.00" = { code = "2101", account = "2200" }' in text
    assert 'guest_customer = "CASH01"' in text
