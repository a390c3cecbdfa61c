"""SAP B1 simulator: the B1 company seeded from a scenario's Sage 200 state, and the
scenario's expected exceptions as seen through B1.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from recon.simulators.sapb1.schema import (
    ZERO,
)
from recon.simulators.sapb1.state import SapB1State
from recon.simulators.sitoo import ORDERTYPE_ORDER, PAY_SUCCESSFUL, STATE_CLOSED

if TYPE_CHECKING:
    from recon.simulators.scenario import Scenario


# --------------------------------------------------------------------- scenario seeding
def seed_from_scenario(scenario: Scenario, posting_mode: str | None = None) -> SapB1State:
    """The B1 company for `scenario`, translated from its Sage 200 state.

    Codes keep their Sage spelling so the scenario's mappings file works unchanged:
    warehouse `name` -> `WarehouseCode`, nominal `reference` -> G/L `Code`, tax code
    `code` number -> `VatGroup` code (`"1"`, `"5"`, `"0"`), customer `reference` ->
    `CardCode`, product `code` -> `ItemCode`. Sage SOP orders become A/R invoices
    (`NumAtCard` = `customer_document_no`, `DocNum` = the Sage document number as an
    int), sales receipts become one incoming payment per POS order (`CounterReference`
    = the order id; the cash bank's receipts in `CashAccount`/`CashSum`, every other tender
    a `PaymentCreditCards` line whose `CreditAcct` is the bank code), sales payments
    become vendor payments the same way.

    Stock: B1 moves stock with every invoice and credit note, while the scenario's stock
    (Sage holdings, equal to the POS snapshot) is what both sides hold after all its
    sales. So B1 is seeded with the stock as it was before the sync posts the scenario's
    sales: the Sage holding (`InStock` = in stock, `Committed` = allocated) plus what the
    sync's documents will take out (`_sync_moves`); the hand-keyed documents seeded here
    are already inside the Sage holdings. After a per-order sync B1 then holds exactly the
    Sage holdings. `posting_mode` (default: the scenario's mappings `[settings]`) says how
    the sync will post: `daily_journal` posts journal entries, which move no stock, so B1
    is seeded with the holdings as they are.
    """
    if posting_mode not in (None, "per_order", "daily_journal"):
        raise ValueError(f"posting_mode {posting_mode!r}: use per_order or daily_journal")
    sage = scenario.sage200
    b1 = SapB1State(company_name=sage.company_name)
    stamp = sage.products[0]["date_time_created"] if sage.products else None
    b1.frozen_now = _sage_instant(stamp) if stamp else None
    for nominal in sage.nominal_codes:
        ref = nominal["reference"]
        bank = next((b for b in sage.banks if b["code"] == ref), None)
        hidden = nominal["account_status_type"] != "AccountStatusActive" or (
            bank is not None and bank["account_status_type"] != "AccountStatusActive"
        )
        kind = "at_Revenues" if ref.startswith("4") else "at_Other"
        cash = bank is not None and "cash" in bank["description"].lower()
        b1.add_account(ref, nominal["name"], cash=cash, frozen=hidden, account_type=kind)
    for bank in sage.banks:
        if b1.find("ChartOfAccounts", bank["code"]) is None:
            hidden = bank["account_status_type"] != "AccountStatusActive"
            b1.add_account(bank["code"], bank["description"], frozen=hidden)
    cards = [b for b in sage.banks if "cash" not in b["description"].lower()]
    for n, bank in enumerate(cards, start=1):
        b1.add_credit_card(n, bank["description"], bank["code"])
    vat_by_id: dict[int, str] = {}
    for tax in sage.tax_codes:
        code = str(tax["code"])
        vat_by_id[tax["id"]] = code
        b1.add_vat_group(code, tax["name"], Decimal(str(tax["tax_rate"])))
    wh_by_id = {w["id"]: w["name"] for w in sage.warehouses}
    for wh in sage.warehouses:
        b1.add_warehouse(wh["name"], wh["description"])
    customers = {c["id"]: c["reference"] for c in sage.customers}
    for cust in sage.customers:
        b1.add_business_partner(cust["reference"], cust["name"])
    default_wh = sage.warehouses[0]["name"] if sage.warehouses else None
    prices = {v["product_id"]: Decimal(str(v["product_price_price"])) for v in sage.price_views}
    codes = {p["id"]: p["code"] for p in sage.products}
    for product in sage.products:
        active = product["product_status_type"] == "EnumStockItemStatusTypeActive"
        b1.add_item(
            product["code"],
            product["name"],
            vat_by_id.get(product["tax_code_id"], "1"),
            prices.get(product["id"], ZERO),
            active=active,
            default_warehouse=default_wh,
        )
    planted = sorted(sage.sop_orders, key=lambda o: o["date_time_created"])
    for order in planted:
        b1.frozen_now = _sage_instant(order["date_time_created"])
        b1.create_document(
            "Invoices",
            {
                "CardCode": customers[order["customer_id"]],
                "DocDate": order["document_date"][:10],
                "NumAtCard": order["customer_document_no"] or None,
                "DocumentLines": [
                    {
                        "ItemCode": codes[ln["product_id"]],
                        "Quantity": ln["line_quantity"],
                        "Price": ln["selling_unit_price"],
                        "VatGroup": vat_by_id[ln["tax_code_id"]],
                        "WarehouseCode": wh_by_id[ln["warehouse_id"]],
                    }
                    for ln in order["lines"]
                    if ln["line_type"] == "EnumLineTypeStandard"
                ],
            },
            doc_num=int(order["document_no"]),
        )
    _seed_ledger_documents(b1, sage.sales_posted, vat_by_id, customers)
    _seed_payments(b1, sage.sales_posted, sage.banks, customers)
    held = {
        (codes[h["product_id"]], wh_by_id[h["warehouse_id"]]): (
            Decimal(str(h["quantity_in_stock"])),
            Decimal(str(h["quantity_allocated"])),
        )
        for h in sage.holdings
    }
    if posting_mode is None:
        settings = tomllib.loads(scenario.mappings_toml).get("settings", {})
        posting_mode = str(settings.get("posting_mode", "per_order"))
    to_move = _sync_moves(scenario, b1) if posting_mode == "per_order" else {}
    seeded = {
        (item["ItemCode"], info["WarehouseCode"])
        for item in b1.items
        for info in item["ItemWarehouseInfoCollection"]
    }
    for item_code, warehouse in sorted(held.keys() | seeded | to_move.keys()):
        in_stock, allocated = held.get((item_code, warehouse), (ZERO, ZERO))
        moves = to_move.get((item_code, warehouse), ZERO)
        b1.set_stock(item_code, warehouse, in_stock + moves, allocated)
    b1.frozen_now = None
    return b1


def _sync_moves(scenario: Scenario, b1: SapB1State) -> dict[tuple[str, str], Decimal]:
    """(ItemCode, WarehouseCode) -> quantity the sync's invoices will take out of B1, less
    what its credit notes will put back: the scenario's completed, paid POS orders (type 10)
    at a store its mappings map, minus those B1 already holds a document for (`NumAtCard`)
    and those the scenario's truth says reach no ERP document (`missing_in_erp`,
    `refund_without_credit_note`)."""
    stores = tomllib.loads(scenario.mappings_toml).get("stores", {})
    location_of: dict[str, str] = {
        str(store): str(value["location"] if isinstance(value, dict) else value)
        for store, value in stores.items()
    }
    store_of = {w["warehouseid"]: str(w["storeid"]) for w in scenario.sitoo.warehouses}
    not_posted = {
        str(t["pos_ref"])
        for t in scenario.truth
        if t["kind"] in ("missing_in_erp", "refund_without_credit_note") and t["pos_ref"]
    }
    not_posted |= {d["NumAtCard"] for d in (*b1.invoices, *b1.credit_notes) if d["NumAtCard"]}
    eligible = (ORDERTYPE_ORDER, STATE_CLOSED, PAY_SUCCESSFUL)
    moves: dict[tuple[str, str], Decimal] = {}
    for order in scenario.sitoo.orders.values():
        if (order["ordertypeid"], order["orderstateid"], order["paymentstateid"]) != eligible:
            continue
        location = location_of.get(store_of.get(order["warehouseid"], ""))
        if location is None or str(order["orderid"]) in not_posted:
            continue
        for line in order["orderitems"]:
            if line["orderitemtype"] == 10 and b1.find("Items", line["sku"]) is not None:
                key = (line["sku"], location)
                moves[key] = moves.get(key, ZERO) + Decimal(line["quantity"])
    return moves


_RECEIPT = "TradingAccountEntryTypePurchasePaymentSalesReceipt"
_LEDGER_DOCS = {
    "TradingAccountEntryTypeInvoice": "Invoices",
    "TradingAccountEntryTypeCreditNote": "CreditNotes",
}


def _seed_ledger_documents(
    b1: SapB1State,
    posted: list[dict[str, Any]],
    vat_by_id: dict[int, str],
    customers: dict[int, str],
) -> None:
    """Sage sales-ledger invoices / credit notes (no item lines) -> B1 service documents
    (`DocType` dDocument_Service, one line per tax code), `DocNum` = the Sage URN."""
    for row in sorted(posted, key=lambda r: r["date_time_created"]):
        target = _LEDGER_DOCS.get(row["trader_transaction_type"])
        if target is None:
            continue
        b1.frozen_now = _sage_instant(row["date_time_created"])
        account = next((n["code"] for n in row["nominal_analysis_items"]), b1.revenue_account)
        lines = [
            {
                "ItemDescription": item["name"],
                "AccountCode": account,
                "LineTotal": abs(Decimal(str(item["goods_amount"]))),
                "TaxTotal": abs(Decimal(str(item["tax_amount"]))),
                "VatGroup": vat_by_id[item["id"]],
            }
            for item in row["tax_analysis_items"]
        ]
        original = row["second_reference"]
        b1.create_document(
            target,
            {
                "DocType": "dDocument_Service",
                "CardCode": customers[row["customer_id"]],
                "DocDate": row["transaction_date"][:10],
                "NumAtCard": row["reference"] or None,
                "Comments": f"Return of POS order {original}" if original else None,
                "DocumentLines": lines,
            },
            doc_num=int(row["urn"]),
        )


_PAYMENT = "TradingAccountEntryTypePurchaseReceiptSalesPayment"


def _seed_payments(
    b1: SapB1State,
    posted: list[dict[str, Any]],
    banks: list[dict[str, Any]],
    customers: dict[int, str],
) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in sorted(posted, key=lambda r: r["date_time_created"]):
        kind = row["trader_transaction_type"]
        if kind in (_RECEIPT, _PAYMENT):
            target = "IncomingPayments" if kind == _RECEIPT else "VendorPayments"
            groups.setdefault((target, row["reference"]), []).append(row)
    cash_codes = {b["code"] for b in banks if "cash" in b["description"].lower()}
    for (target, ref), rows in groups.items():
        b1.frozen_now = _sage_instant(rows[0]["date_time_created"])
        body: dict[str, Any] = {
            "DocType": "rCustomer",
            "CardCode": customers[rows[0]["customer_id"]],
            "DocDate": rows[0]["transaction_date"][:10],
            "CounterReference": ref,
            "PaymentCreditCards": [],
        }
        for row in rows:
            for item in row["bank_items"]:
                value = abs(Decimal(str(item["value"])))
                if item["bank_code"] in cash_codes:
                    body["CashAccount"] = item["bank_code"]
                    body["CashSum"] = body.get("CashSum", ZERO) + value
                else:
                    card = next(c for c in b1.credit_cards if c["GLAccount"] == item["bank_code"])
                    body["PaymentCreditCards"].append(
                        {
                            "CreditCard": card["CreditCardCode"],
                            "CreditAcct": item["bank_code"],
                            "VoucherNum": f"{ref}-{len(body['PaymentCreditCards']) + 1}",
                            "CreditSum": value,
                        }
                    )
        if target == "IncomingPayments":
            invoice = next((i for i in b1.invoices if i["NumAtCard"] == ref), None)
            total = body.get("CashSum", ZERO) + sum(
                (c["CreditSum"] for c in body["PaymentCreditCards"]), ZERO
            )
            if invoice is not None:
                applied = min(total, invoice["DocTotal"] - invoice["PaidToDate"])
                if applied > 0:
                    body["PaymentInvoices"] = [
                        {
                            "DocEntry": invoice["DocEntry"],
                            "SumApplied": applied,
                            "InvoiceType": "it_Invoice",
                        }
                    ]
        b1.create_payment(target, body)


def _sage_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def truth_for_sapb1(scenario: Scenario) -> list[dict[str, str | None]]:
    """The scenario's expected exceptions as seen through SAP B1: `erp_ref` is the `DocNum`
    (the Sage document number without its leading zeros, as `seed_from_scenario` numbers
    the invoices)."""
    out: list[dict[str, str | None]] = []
    for row in scenario.truth:
        ref = row.get("erp_ref")
        copy = dict(row)
        if ref is not None and ref.isdigit():
            copy["erp_ref"] = str(int(ref))
        out.append(copy)
    return out
