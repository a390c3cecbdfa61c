"""Seeding from a scenario: the NetSuite state built from a scenario's Sage 200 state,
and the `[netsuite]` mappings TOML that matches it.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from recon.simulators.netsuite.records import _parse_instant
from recon.simulators.netsuite.state import NetSuiteState

if TYPE_CHECKING:
    from recon.simulators.scenario import Scenario


# --------------------------------------------------------------------- scenario seeding
_TAX_NAMES = {Decimal("20"): "S-GB", Decimal("5"): "R-GB", Decimal("0"): "Z-GB"}
_ACCT_TYPES = {"1100": "AcctRec", "2200": "OthCurrLiab"}
_RECEIPT = "TradingAccountEntryTypePurchasePaymentSalesReceipt"
_PAYMENT = "TradingAccountEntryTypePurchaseReceiptSalesPayment"
_CREDIT_NOTE = "TradingAccountEntryTypeCreditNote"


def _acct_type(number: str, banks: set[str]) -> str:
    if number in banks:
        return "Bank"
    if number in _ACCT_TYPES:
        return _ACCT_TYPES[number]
    return "Income" if number.startswith("4") else "OthCurrAsset"


def seed_from_scenario(scenario: Scenario) -> NetSuiteState:
    """The NetSuite account that matches `scenario` (see docs/simulators.md "NetSuite").

    Internal ids are the Sage ids: location = Sage warehouse id, inventory item = Sage
    product id, customer = Sage customer id, tax code (salesTaxItem) = Sage tax code id,
    account = Sage nominal code id (acctNumber = the nominal / bank code). Planted documents
    come from the Sage SOP orders: the first per `customer_document_no` is an invoice with
    `externalId` and `otherRefNum` = the POS order id, a second one only `otherRefNum`; each
    keeps the Sage `document_no` as `tranId`, so `scenario.truth` holds unchanged. Sage
    sales receipts become customer payments with `externalId` `{order id}-{n}`.
    """
    sage = scenario.sage200
    state = NetSuiteState()
    with sage.lock:
        first_stamp = min(
            (_parse_instant(c["date_time_created"]) for c in sage.customers),
            default=datetime(2024, 1, 1, tzinfo=UTC),
        )
        state.frozen_now = first_stamp
        state.add_currency("1", "GBP", "British pound")
        state.add_currency("4", "EUR", "Euro")
        banks = {b["code"] for b in sage.banks}
        by_number: dict[str, str] = {}
        for n in sage.nominal_codes:
            number = str(n["reference"])
            active = n["account_status_type"] == "AccountStatusActive"
            state.add_account(
                str(n["id"]), number, n["name"], _acct_type(number, banks), not active
            )
            by_number[number] = str(n["id"])
        for b in sage.banks:
            if b["code"] not in by_number:
                active = b["account_status_type"] == "AccountStatusActive"
                state.add_account(str(b["id"]), b["code"], b["description"], "Bank", not active)
                by_number[b["code"]] = str(b["id"])
        for c in sage.customers:
            state.add_customer(str(c["id"]), c["reference"], c["name"])
        for t in sage.tax_codes:
            rate = Decimal(str(t["tax_rate"]))
            name = _TAX_NAMES.get(rate.normalize() if rate else Decimal("0"), f"VAT-{t['code']}")
            state.add_tax_code(str(t["id"]), name, rate, by_number.get("2200"))
        for w in sage.warehouses:
            state.add_location(str(w["id"]), w["name"])
        prices = {v["product_id"]: Decimal(str(v["product_price_price"])) for v in sage.price_views}
        for p in sage.products:
            state.add_item(
                str(p["id"]),
                p["code"],
                p["name"],
                str(p["tax_code_id"]),
                prices.get(p["id"], Decimal("0.00")),
                p["product_status_type"] == "EnumStockItemStatusTypeActive",
                by_number.get("4000"),
            )
        for h in sage.holdings:
            state.set_stock(
                str(h["product_id"]),
                str(h["warehouse_id"]),
                Decimal(str(h["quantity_in_stock"])),
                Decimal(str(h["quantity_allocated"])),
            )
        seen: set[str] = set()
        for order in sorted(sage.sop_orders, key=lambda o: o["id"]):
            state.frozen_now = _parse_instant(order["date_time_created"])
            cdn = str(order["customer_document_no"])
            lines = order["lines"]
            body: dict[str, Any] = {
                "entity": {"id": str(order["customer_id"])},
                "tranId": order["document_no"],
                "tranDate": str(order["document_date"])[:10],
                "otherRefNum": cdn,
                "location": {"id": str(lines[0]["warehouse_id"])},
                "memo": "keyed by hand",
                "item": {
                    "items": [
                        {
                            "item": {"id": str(ln["product_id"])},
                            "quantity": Decimal(str(ln["line_quantity"])),
                            "rate": Decimal(str(ln["selling_unit_price"])),
                            "taxCode": {"id": str(ln["tax_code_id"])},
                            "location": {"id": str(ln["warehouse_id"])},
                        }
                        for ln in lines
                    ]
                },
            }
            if cdn not in seen:
                body["externalId"] = cdn
                seen.add(cdn)
            state.create("invoice", body)
        numbers: dict[str, int] = {}
        for tx in sorted(sage.sales_posted, key=lambda t: t["id"]):
            state.frozen_now = _parse_instant(tx["date_time_created"])
            kind = tx["trader_transaction_type"]
            if kind == _CREDIT_NOTE:
                _seed_credit_memo(state, tx)
                continue
            if kind not in (_RECEIPT, _PAYMENT):
                continue
            ref = str(tx["reference"])
            numbers[ref] = numbers.get(ref, 0) + 1
            bank = tx["bank_items"][0]["bank_code"] if tx["bank_items"] else None
            amount = abs(Decimal(str(tx["document_gross_value"])))
            body = {
                "customer": {"id": str(tx["customer_id"])},
                "externalId": f"{ref}-{numbers[ref]}",
                "tranDate": str(tx["transaction_date"])[:10],
                "account": {"id": by_number[bank]} if bank else None,
                "undepFunds": bank is None,
                "memo": str(tx["second_reference"]),
            }
            if kind == _RECEIPT:
                state.create("customerPayment", {**body, "payment": amount})
            else:
                state.create("customerRefund", {**body, "total": amount})
        state.frozen_now = None
    return state


def _seed_credit_memo(state: NetSuiteState, tx: dict[str, Any]) -> None:
    """A Sage ledger credit note as a credit memo keyed by hand: `tranId` = the Sage URN,
    `otherRefNum` = its reference, no `createdFrom`; one line per tax code (goods as the
    amount, the Sage tax as `tax1Amt`) on the first item with that tax code."""
    lines = []
    for t in tx["tax_analysis_items"]:
        code = str(t["id"])
        item = next(
            (i for i in state.table("inventoryItem").values() if i["salesTaxCode"]["id"] == code),
            None,
        )
        if item is None:
            continue
        goods = abs(Decimal(str(t["goods_amount"])))
        lines.append(
            {
                "item": {"id": item["id"]},
                "quantity": Decimal(1),
                "rate": goods,
                "taxCode": {"id": code},
                "tax1Amt": abs(Decimal(str(t["tax_amount"]))),
                "description": "Return keyed by hand",
            }
        )
    if lines:
        state.create(
            "creditMemo",
            {
                "entity": {"id": str(tx["customer_id"])},
                "tranId": str(tx["urn"]),
                "tranDate": str(tx["transaction_date"])[:10],
                "otherRefNum": str(tx["reference"]),
                "memo": f"return of POS order {tx['second_reference']}",
                "item": {"items": lines},
            },
        )


def mappings_toml(scenario: Scenario, state: NetSuiteState) -> str:
    """The scenario's mappings file with NetSuite values (CONTRACT mapping table): store ->
    location internal id, VAT rate -> tax code internal id; tender accounts (acctNumber),
    the VAT account and the guest customer (entityId) keep their codes."""
    doc = tomllib.loads(scenario.mappings_toml)
    loc_ids = {rec["name"]: rec["id"] for rec in state.table("location").values()}
    sage_tax = {str(t["code"]): str(t["id"]) for t in scenario.sage200.tax_codes}
    out = ["[stores]            # Sitoo store id -> NetSuite location internal id"]
    for store, value in doc.get("stores", {}).items():
        if isinstance(value, str):
            out.append(f'"{store}" = "{loc_ids[value]}"')
        else:
            loc, tz = loc_ids[value["location"]], value["timezone"]
            out.append(f'"{store}" = {{ location = "{loc}", timezone = "{tz}" }}')
    out += ["", "[tenders]           # Sitoo payment name -> NetSuite account number"]
    out += [f'"{t}" = "{a}"' for t, a in doc.get("tenders", {}).items()]
    out += ["", "[tax]               # POS VAT rate -> NetSuite tax code internal id, account"]
    for rate, value in doc.get("tax", {}).items():
        out.append(
            f'"{rate}" = {{ code = "{sage_tax[value["code"]]}", account = "{value["account"]}" }}'
        )
    out += ["", "[settings]"]
    out += [f'{k} = "{v}"' for k, v in doc.get("settings", {}).items()]
    out.append("")
    return "\n".join(out)
