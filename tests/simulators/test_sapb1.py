"""The SAP B1 Service Layer simulator against reference/sap-b1.md."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from recon.simulators import sapb1
from recon.simulators.faults import Faults
from recon.simulators.scenario import build_scenario

CREDS = sapb1.SapB1Credentials()
B = sapb1.BASE_PATH
LOGIN = {"CompanyDB": CREDS.company_db, "UserName": CREDS.user, "Password": CREDS.password}


def dec(response: Any) -> Any:
    return json.loads(response.text, parse_float=Decimal)


class Ticker:
    """A settable monotonic clock for session timeouts."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def seeded(ticker: Ticker | None = None) -> sapb1.SapB1State:
    state = sapb1.SapB1State()
    if ticker is not None:
        state.monotonic = ticker
    state.add_account("4000", "Sales", account_type="at_Revenues")
    state.add_account("1210", "Cash in tills", cash=True)
    state.add_account("1220", "Card clearing")
    state.add_account("1290", "Old card", frozen=True)
    state.add_vat_group("1", "Standard", Decimal("20"))
    state.add_vat_group("0", "Zero", Decimal("0"))
    state.add_warehouse("WH-LON", "London")
    state.add_warehouse("WH-MAN", "Manchester")
    state.add_credit_card(1, "Card", "1220")
    state.add_business_partner("CASH01", "Cash sales")
    state.add_item("TEE-BLK-M", "Tee", "1", Decimal("20.83"), default_warehouse="WH-LON")
    state.add_item("BOOK", "Book", "0", Decimal("9.99"), default_warehouse="WH-LON")
    for i in range(23):
        state.add_item(
            f"P{i:02d}", f"Product {i}", "1", Decimal("1.00"), default_warehouse="WH-LON"
        )
    state.set_stock("TEE-BLK-M", "WH-LON", Decimal(10), Decimal(2))
    return state


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def state(ticker: Ticker) -> sapb1.SapB1State:
    return seeded(ticker)


@pytest.fixture
def client(state: sapb1.SapB1State) -> Iterator[TestClient]:
    with TestClient(sapb1.create_app(state, CREDS), base_url="https://erp01:50000") as c:
        assert c.post(f"{B}/Login", json=LOGIN).status_code == 200
        yield c


def invoice(num_at_card: str = "5120", **line: Any) -> dict[str, Any]:
    base = {"ItemCode": "TEE-BLK-M", "Quantity": 1, "Price": "20.83", "VatGroup": "1"}
    base["WarehouseCode"] = "WH-LON"
    return {
        "CardCode": "CASH01",
        "DocDate": "2024-06-01",
        "NumAtCard": num_at_card,
        "DocumentLines": [{**base, **line}],
    }


# ----------------------------------------------------------------- sessions
def test_login_sets_both_cookies_and_answers_the_session(state: sapb1.SapB1State) -> None:
    c = TestClient(sapb1.create_app(state, CREDS))
    assert c.get(f"{B}/Items").status_code == 401  # no session yet
    r = c.post(f"{B}/Login", json=LOGIN)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"odata.metadata", "SessionId", "Version", "SessionTimeout"}
    assert body["SessionTimeout"] == 30
    assert c.cookies["B1SESSION"] == body["SessionId"]
    assert c.cookies["ROUTEID"] == sapb1.ROUTE_ID
    assert c.get(f"{B}/Items").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("Password", "wrong"), ("UserName", "nobody"), ("CompanyDB", "SBODEMOUS")],
)
def test_bad_login_is_401(state: sapb1.SapB1State, field: str, value: str) -> None:
    c = TestClient(sapb1.create_app(state, CREDS))
    r = c.post(f"{B}/Login", json={**LOGIN, field: value})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == sapb1.CODE_LOGIN
    assert "B1SESSION" not in c.cookies


def test_idle_session_times_out_with_301(
    client: TestClient, state: sapb1.SapB1State, ticker: Ticker
) -> None:
    state.session_timeout_seconds = 60
    ticker.now += 59  # used again inside the window: the timer restarts
    assert client.get(f"{B}/Warehouses").status_code == 200
    ticker.now += 59
    assert client.get(f"{B}/Warehouses").status_code == 200
    ticker.now += 61
    r = client.get(f"{B}/Warehouses")
    assert r.status_code == 401
    assert r.json() == {
        "error": {
            "code": 301,
            "message": {"lang": "en-us", "value": "Invalid session or session already timeout."},
        }
    }


def test_routeid_is_required_and_logout_ends_the_session(client: TestClient) -> None:
    route = client.cookies["ROUTEID"]
    client.cookies.delete("ROUTEID")
    assert client.get(f"{B}/Warehouses").status_code == 401  # another node
    client.cookies.set("ROUTEID", route)
    assert client.post(f"{B}/Logout").status_code == 204
    assert client.get(f"{B}/Warehouses").status_code == 401


# ----------------------------------------------------------------- paging and queries
def test_default_page_is_20_with_a_next_link(client: TestClient) -> None:
    page = client.get(f"{B}/Items?$select=ItemCode")
    body = page.json()
    assert len(body["value"]) == 20
    assert body["odata.nextLink"] == f"{B}/Items?$select=ItemCode&$skip=20"
    rest = client.get(body["odata.nextLink"]).json()
    assert [r["ItemCode"] for r in rest["value"]] == ["P19", "P20", "P21", "P22", "TEE-BLK-M"]
    assert "odata.nextLink" not in rest


@pytest.mark.parametrize(
    ("headers", "rows", "applied"),
    [
        ({"Prefer": "odata.maxpagesize=7"}, 7, "odata.maxpagesize=7"),
        ({"Prefer": "odata.maxpagesize=0"}, 25, "odata.maxpagesize=0"),  # paging off
        ({"B1S-PageSize": "3"}, 3, None),
        ({}, 20, None),
    ],
)
def test_page_size_per_request(
    client: TestClient, headers: dict[str, str], rows: int, applied: str | None
) -> None:
    r = client.get(f"{B}/Items", headers=headers)
    assert len(r.json()["value"]) == rows
    assert r.headers.get("preference-applied") == applied


def test_top_and_skip_page_through_next_links(client: TestClient) -> None:
    url = f"{B}/Items?$select=ItemCode&$orderby=ItemCode desc&$top=5&$skip=1"
    r = client.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
    seen = [x["ItemCode"] for x in r["value"]]
    while "odata.nextLink" in r:
        r = client.get(r["odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
        seen += [x["ItemCode"] for x in r["value"]]
    assert seen == ["P22", "P21", "P20", "P19", "P18"]  # after "TEE-BLK-M", 5 of them


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("ItemCode eq 'BOOK'", ["BOOK"]),
        ("startswith(ItemCode,'TEE') or ItemCode eq 'BOOK'", ["BOOK", "TEE-BLK-M"]),
        ("(ItemCode ge 'P21' and ItemCode lt 'P23') and not (ItemCode eq 'P22')", ["P21"]),
        ("SalesVATGroup eq '0'", ["BOOK"]),
        ("QuantityOnStock gt 5", ["TEE-BLK-M"]),
        ("Valid eq 'Y' and ItemCode eq 'BOOK'", ["BOOK"]),  # enum by value
        ("Valid eq 'tNO'", []),
        ("substringof('BLK',ItemCode)", ["TEE-BLK-M"]),
        ("contains(ItemName,'Tee')", ["TEE-BLK-M"]),
    ],
)
def test_filters(client: TestClient, flt: str, expected: list[str]) -> None:
    r = client.get(f"{B}/Items", params={"$filter": flt, "$select": "ItemCode"})
    assert r.status_code == 200, r.text
    assert sorted(x["ItemCode"] for x in r.json()["value"]) == expected


@pytest.mark.parametrize(
    ("literal", "count"),
    [
        ("'2024-06-01'", 1),
        ("'20240601'", 1),
        ("datetime'2024-06-01'", 1),
        ("'2024-06-01T12:00:00'", 1),  # the time part is ignored for dates
        ("'2024-06-02'", 0),
    ],
)
def test_date_filters_accept_the_documented_forms(
    client: TestClient, literal: str, count: int
) -> None:
    assert client.post(f"{B}/Invoices", json=invoice()).status_code == 201
    r = client.get(f"{B}/Invoices/$count", params={"$filter": f"DocDate ge {literal}"})
    assert r.text == str(count)


@pytest.mark.parametrize(
    "query",
    ["$filter=DocTotal add 1 gt 2", "$filter=ItemCode zz 'a'", "$top=x", "$orderby=A sideways"],
)
def test_bad_queries_are_400_in_b1_shape(client: TestClient, query: str) -> None:
    r = client.get(f"{B}/Items?{query}")
    assert r.status_code == 400
    assert set(r.json()["error"]) == {"code", "message"}
    assert r.json()["error"]["message"]["lang"] == "en-us"


def test_inlinecount_is_a_string(client: TestClient) -> None:
    r = client.get(f"{B}/Warehouses?$inlinecount=allpages&$top=1").json()
    assert r["odata.count"] == "2"
    assert len(r["value"]) == 1


def test_single_entity_by_key_and_404(client: TestClient) -> None:
    item = dec(client.get(f"{B}/Items('TEE-BLK-M')?$select=ItemCode,ItemWarehouseInfoCollection"))
    assert item["ItemWarehouseInfoCollection"][0]["InStock"] == 10
    assert item["ItemWarehouseInfoCollection"][0]["Committed"] == 2
    r = client.get(f"{B}/Invoices(99)")
    assert (r.status_code, r.json()["error"]["code"]) == (404, -2028)
    r = client.get(f"{B}/Nonsense")
    assert r.status_code == 404


# ----------------------------------------------------------------- documents
@pytest.mark.parametrize(
    ("line", "line_total", "tax", "doc_total"),
    [
        ({}, "20.83", "4.17", "25.00"),
        ({"Quantity": "3"}, "62.49", "12.50", "74.99"),  # numeric strings are accepted
        ({"UnitPrice": "25.00", "DiscountPercent": 10, "Price": None}, "22.50", "4.50", "27.00"),
        ({"ItemCode": "BOOK", "VatGroup": "0", "Price": 9.99}, "9.99", "0.00", "9.99"),
        ({"Price": None}, "20.83", "4.17", "25.00"),  # price list 1
        ({"LineTotal": "41.66", "Quantity": 2, "Price": None}, "41.66", "8.33", "49.99"),
    ],
)
def test_invoice_totals_are_computed_per_line(
    client: TestClient, line: dict[str, Any], line_total: str, tax: str, doc_total: str
) -> None:
    body = invoice(**line)
    body["DocumentLines"][0] = {k: v for k, v in body["DocumentLines"][0].items() if v is not None}
    r = client.post(f"{B}/Invoices", json=body)
    assert r.status_code == 201, r.text
    doc = dec(r)
    ln = doc["DocumentLines"][0]
    assert (ln["LineTotal"], ln["TaxTotal"], doc["DocTotal"]) == (
        Decimal(line_total),
        Decimal(tax),
        Decimal(doc_total),
    )
    assert doc["VatSum"] == Decimal(tax)
    assert doc["NumAtCard"] == "5120"
    assert r.headers["location"].endswith(f"/Invoices({doc['DocEntry']})")
    assert r.headers["etag"].startswith('W/"')


def test_invoice_takes_stock_and_credit_note_puts_it_back(
    client: TestClient, state: sapb1.SapB1State
) -> None:
    doc = client.post(f"{B}/Invoices", json=invoice(Quantity=3)).json()

    def stock() -> Decimal:
        item = state.find("Items", "TEE-BLK-M")
        assert item is not None
        return Decimal(item["ItemWarehouseInfoCollection"][0]["InStock"])

    assert stock() == 7
    line = {"BaseType": 13, "BaseEntry": doc["DocEntry"], "BaseLine": 0, "Quantity": 2}
    body = {"CardCode": "CASH01", "NumAtCard": "5121", "DocumentLines": [line]}
    r = client.post(f"{B}/CreditNotes", json=body)
    assert r.status_code == 201, r.text
    note = dec(r)
    ln = note["DocumentLines"][0]
    assert (ln["BaseType"], ln["BaseEntry"], ln["BaseLine"], ln["ItemCode"]) == (
        13,
        doc["DocEntry"],
        0,
        "TEE-BLK-M",
    )
    assert (note["DocTotal"], note["VatSum"]) == (Decimal("49.99"), Decimal("8.33"))
    assert stock() == 9
    over = client.post(f"{B}/CreditNotes", json={**body, "DocumentLines": [line]})
    assert over.status_code == 400  # only 1 left open on the base line
    assert "open quantity" in over.json()["error"]["message"]["value"]
    rest = {**line, "Quantity": 1}
    assert (
        client.post(f"{B}/CreditNotes", json={**body, "DocumentLines": [rest]}).status_code == 201
    )
    assert state.find("Invoices", doc["DocEntry"])["DocumentStatus"] == "bost_Close"  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"CardCode": "NOPE"}, "OINV.CardCode"),
        ({"DocumentLines": []}, "INV1.ItemCode"),
        ({"Lines": []}, "Property 'Lines' of 'Document' is invalid"),
        ({"line": {"ItemCode": "GHOST"}}, "INV1.ItemCode"),
        ({"line": {"VatGroup": "X9"}}, "INV1.VatGroup"),
        ({"line": {"WarehouseCode": "WH-XXX"}}, "INV1.WhsCode"),
        ({"line": {"AccountCode": "1290"}}, "INV1.AcctCode"),  # frozen G/L account
        ({"line": {"Quantity": 0}}, "INV1.Quantity"),
        ({"line": {"Quantity": "lots"}}, "'Quantity'"),
        ({"line": {"Colour": "red"}}, "Property 'Colour' of 'Document_Line' is invalid"),
        ({"DocDate": "June"}, "'DocDate'"),
    ],
)
def test_invalid_documents_are_400(client: TestClient, change: dict[str, Any], where: str) -> None:
    body = invoice()
    line = change.pop("line", None)
    if line:
        body["DocumentLines"][0].update(line)
    body.update(change)
    r = client.post(f"{B}/Invoices", json=body)
    assert r.status_code == 400
    assert where in r.json()["error"]["message"]["value"]


def test_documents_cannot_be_deleted_only_cancelled(
    client: TestClient, state: sapb1.SapB1State
) -> None:
    doc = client.post(f"{B}/Invoices", json=invoice()).json()
    r = client.delete(f"{B}/Invoices({doc['DocEntry']})")
    assert (r.status_code, r.json()["error"]["code"]) == (400, -5006)
    assert client.post(f"{B}/Invoices({doc['DocEntry']})/Cancel").status_code == 204
    again = client.get(f"{B}/Invoices({doc['DocEntry']})?$select=Cancelled,DocumentStatus")
    assert again.json()["Cancelled"] == "tYES"


def test_if_match_with_a_stale_etag_is_412(client: TestClient) -> None:
    doc = client.post(f"{B}/Invoices", json=invoice()).json()
    url = f"{B}/Invoices({doc['DocEntry']})"
    etag = client.get(url).headers["etag"]
    first = client.patch(url, json={"Comments": "mine"}, headers={"If-Match": etag})
    assert first.status_code == 204
    stale = client.patch(url, json={"Comments": "theirs"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == -2039
    fresh = client.get(url).headers["etag"]
    assert client.patch(url, json={"Comments": "x"}, headers={"If-Match": fresh}).status_code == 204


def test_a_record_held_by_a_desktop_user_refuses_writes(
    client: TestClient, state: sapb1.SapB1State
) -> None:
    state.hold("BusinessPartners", "CASH01")
    r = client.post(f"{B}/Invoices", json=invoice())
    assert (r.status_code, r.json()["error"]["code"]) == (400, -2039)
    state.release("BusinessPartners", "CASH01")
    assert client.post(f"{B}/Invoices", json=invoice()).status_code == 201


# ----------------------------------------------------------------- payments, journals, BPs
def test_incoming_payment_cash_and_card_lines(client: TestClient) -> None:
    doc = client.post(f"{B}/Invoices", json=invoice()).json()
    body = {
        "CardCode": "CASH01",
        "DocDate": "2024-06-01",
        "CounterReference": "5120",
        "CashAccount": "1210",
        "CashSum": "5.00",
        "PaymentCreditCards": [
            {"CreditCard": 1, "CreditAcct": "1220", "VoucherNum": "5120-1", "CreditSum": 20}
        ],
        "PaymentInvoices": [{"DocEntry": doc["DocEntry"], "SumApplied": "25.00"}],
    }
    r = client.post(f"{B}/IncomingPayments", json=body)
    assert r.status_code == 201, r.text
    pay = dec(r)
    assert (pay["CashAccount"], pay["CashSum"], pay["CounterReference"]) == (
        "1210",
        Decimal("5.00"),
        "5120",
    )
    assert pay["PaymentCreditCards"][0]["CreditAcct"] == "1220"
    paid = client.get(f"{B}/Invoices({doc['DocEntry']})?$select=PaidToDate,DocumentStatus")
    assert dec(paid) == {
        "odata.metadata": paid.json()["odata.metadata"],
        "PaidToDate": Decimal("25.00"),
        "DocumentStatus": "bost_Close",
    }
    found = client.get(f"{B}/IncomingPayments?$filter=CounterReference eq '5120'").json()
    assert len(found["value"]) == 1


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"CashAccount": "1290"}, "CashAcct"),  # frozen
        ({"CashSum": 0}, "DocTotal"),
        ({"card": {"CreditCard": 9}}, "CreditCard"),
        ({"card": {"VoucherNum": ""}}, "VoucherNum"),
        ({"card": {"CreditAcct": "9999"}}, "CreditAcct"),
    ],
)
def test_invalid_payments_are_400(client: TestClient, change: dict[str, Any], where: str) -> None:
    card = {"CreditCard": 1, "CreditAcct": "1220", "VoucherNum": "v", "CreditSum": 1}
    card.update(change.pop("card", {}))
    body = {"CardCode": "CASH01", "CashAccount": "1210", "CashSum": 1, **change}
    if "CashSum" in change:
        body["PaymentCreditCards"] = []
    else:
        body["PaymentCreditCards"] = [card]
    r = client.post(f"{B}/VendorPayments", json=body)
    assert r.status_code == 400
    assert where in r.json()["error"]["message"]["value"]


def test_journal_entries_must_balance(client: TestClient) -> None:
    lines = [
        {"AccountCode": "1210", "Debit": "25.00"},
        {"AccountCode": "4000", "Credit": "20.83"},
        {"AccountCode": "4000", "Credit": "4.17"},
    ]
    body = {"ReferenceDate": "2024-06-01", "Reference": "1-2024-06-01", "JournalEntryLines": lines}
    r = client.post(f"{B}/JournalEntries", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["Reference"] == "1-2024-06-01"
    lines[2]["Credit"] = "4.16"
    bad = client.post(f"{B}/JournalEntries", json=body)
    assert bad.status_code == 400
    assert "Unbalanced" in bad.json()["error"]["message"]["value"]


def test_duplicate_business_partner_is_400_minus_10(client: TestClient) -> None:
    r = client.post(f"{B}/BusinessPartners", json={"CardCode": "C20000", "CardType": "C"})
    assert (r.status_code, r.json()["CardType"]) == (201, "cCustomer")
    again = client.post(f"{B}/BusinessPartners", json={"CardCode": "C20000"})
    assert (again.status_code, again.json()["error"]["code"]) == (400, -10)
    assert "1320000140" in again.json()["error"]["message"]["value"]


def test_prefer_return_no_content_is_204(client: TestClient) -> None:
    r = client.post(f"{B}/Invoices", json=invoice(), headers={"Prefer": "return-no-content"})
    assert r.status_code == 204
    assert r.headers["location"].endswith("/Invoices(1201)")


# ----------------------------------------------------------------- faults in B1's shape
@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("server_error", 500, -1), ("record_lock", 400, -2039), ("unavailable", 503, -1)],
)
def test_faults_answer_in_b1_error_shape(
    state: sapb1.SapB1State, kind: str, status: int, code: int
) -> None:
    faults = Faults()
    faults.queue("POST", "/Invoices", kind)
    with TestClient(sapb1.create_app(state, CREDS, faults)) as c:
        c.post(f"{B}/Login", json=LOGIN)
        r = c.post(f"{B}/Invoices", json=invoice())
        assert r.status_code == status
        assert r.json()["error"]["code"] == code
        assert c.post(f"{B}/Invoices", json=invoice()).status_code == 201


# ----------------------------------------------------------------- the scenario in B1
@pytest.mark.parametrize("name", ["small", "demo"])
def test_seed_from_scenario_matches_sage_documents(name: str) -> None:
    scenario = build_scenario(name, 1, date(2024, 6, 14))
    state = sapb1.seed_from_scenario(scenario)
    sage = scenario.sage200
    by_num = {int(o["document_no"]): o for o in sage.sop_orders}
    assert sorted(i["DocNum"] for i in state.invoices) == sorted(by_num)
    for inv in state.invoices:
        order = by_num[inv["DocNum"]]
        assert inv["NumAtCard"] == order["customer_document_no"]
        assert (inv["DocTotal"], inv["VatSum"]) == (
            order["total_gross_value"],
            order["total_tax_value"],
        )
    assert {w["WarehouseCode"] for w in state.warehouses} == {w["name"] for w in sage.warehouses}
    assert {v["Code"] for v in state.vat_groups} >= {"1", "5", "0"}
    assert {"1210", "1220", "1230"} <= {a["Code"] for a in state.accounts}
    assert state.find("BusinessPartners", "CASH01") is not None
    truth_refs = {t["erp_ref"] for t in sapb1.truth_for_sapb1(scenario) if t["erp_ref"]}
    doc_nums = {str(d["DocNum"]) for d in [*state.invoices, *state.credit_notes]}
    assert truth_refs and truth_refs <= doc_nums
    for pay in state.incoming_payments:
        assert any(i["NumAtCard"] == pay["CounterReference"] for i in state.invoices)


def _stock(state: sapb1.SapB1State) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(ItemCode, WarehouseCode) -> (InStock, Committed)."""
    return {
        (item["ItemCode"], info["WarehouseCode"]): (info["InStock"], info["Committed"])
        for item in state.items
        for info in item["ItemWarehouseInfoCollection"]
    }


def test_seeded_stock_is_the_stock_before_the_sales_the_sync_will_invoice() -> None:
    scenario = build_scenario("clean", 1, date(2024, 6, 14))
    sage = scenario.sage200
    code = {p["id"]: p["code"] for p in sage.products}
    where = {w["id"]: w["name"] for w in sage.warehouses}
    holdings = {
        (code[h["product_id"]], where[h["warehouse_id"]]): (
            Decimal(str(h["quantity_in_stock"])),
            Decimal(str(h["quantity_allocated"])),
        )
        for h in sage.holdings
    }
    location = {101: "WH-LON", 102: "WH-MAN"}  # the clean scenario's mappings
    sold: Counter[tuple[str, str]] = Counter()
    for order in scenario.sitoo.orders.values():
        if order["orderstateid"] == 10 and order["paymentstateid"] == 20:
            for line in order["orderitems"]:
                sold[(line["sku"], location[order["warehouseid"]])] += line["quantity"]
    assert sum(sold.values()) > 0

    per_order = _stock(sapb1.seed_from_scenario(scenario))
    journals = _stock(sapb1.seed_from_scenario(scenario, posting_mode="daily_journal"))

    assert journals == holdings  # journal entries move no stock
    assert per_order == {k: (s + sold[k], c) for k, (s, c) in holdings.items()}


def test_seed_refuses_an_unknown_posting_mode() -> None:
    with pytest.raises(ValueError, match="posting_mode 'weekly'"):
        sapb1.seed_from_scenario(build_scenario("clean", 1, date(2024, 6, 14)), "weekly")


def test_simulator_app_serves_the_scenario_company() -> None:
    from recon.simulators.serve import simulator_app

    app, suffix, env = simulator_app("sapb1", "clean", 1)
    assert suffix == "/b1s/v1"
    assert set(env) == {"SAPB1_BASE_URL", "SAPB1_COMPANY_DB", "SAPB1_USER", "SAPB1_PASSWORD"}
    with TestClient(app) as c:
        login = {
            "CompanyDB": env["SAPB1_COMPANY_DB"],
            "UserName": env["SAPB1_USER"],
            "Password": env["SAPB1_PASSWORD"],
        }
        assert c.post(f"{suffix}/Login", json=login).status_code == 200
        codes = [w["WarehouseCode"] for w in c.get(f"{suffix}/Warehouses").json()["value"]]
    assert codes == ["WH-LON", "WH-MAN"]
