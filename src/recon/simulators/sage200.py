"""A Sage 200 (UK) API simulator (Starlette), per /work/shared/reference/sage200.md.

Serves `/uk/sage200extra/accounts/v1/...` from an in-memory `Sage200State`: the four
auth/tenant headers, bare JSON arrays with OData `$top/$skip/$orderby/$filter/$select/
$expand`, master data, SOP orders (GET/POST with per-line VAT), and the ledger / cash
book postings that answer only a URN and show up as posted transactions. Money is a
JSON number, parsed as Decimal. Answers follow Sage's OpenAPI schemas (no nulls) and a POST
body that breaks them is a 400 naming the first bad field (`_requests`). This module must
not know recon's mappings or scenarios.

Invented (documented in docs/simulators.md): the 400 body `{"message": ...}`, the 401
gateway bodies, the `bank_transaction_type` spellings and the signs of posted values.

Over 600 lines, kept as one module because it holds one concern: the Sage 200 API simulator's
state and routes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recon.simulators import _requests as spec
from recon.simulators._odata import ODataError, apply_query, parse_query, select_fields
from recon.simulators._wire import Clock, json_response, round2, sage_date, sage_instant
from recon.simulators.faults import FaultMiddleware, Faults

__all__ = [
    "BASE_PATH",
    "Sage200Credentials",
    "Sage200Error",
    "Sage200State",
    "compute_sop_totals",
    "create_app",
]

BASE_PATH = "/uk/sage200extra/accounts/v1"

TT_INVOICE = "TradingAccountEntryTypeInvoice"
TT_CREDIT_NOTE = "TradingAccountEntryTypeCreditNote"
TT_RECEIPT = "TradingAccountEntryTypePurchasePaymentSalesReceipt"
TT_PAYMENT = "TradingAccountEntryTypePurchaseReceiptSalesPayment"
BT_RECEIPT = "BankAccountEntryTypeReceipt"
BT_SALES_RECEIPT = "BankAccountEntryTypeSalesReceipt"
BT_SALES_PAYMENT = "BankAccountEntryTypeSalesPayment"

GATEWAY_BAD_KEY = (
    "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription."
)
GATEWAY_BAD_TOKEN = "Unauthorized. Access token is missing or invalid."


@dataclass(frozen=True)
class Sage200Credentials:
    token: str = "sim-sage-token"
    subscription_key: str = "sim-sage-subscription-key"
    site_id: str = "8d2c6f3a-0000-4000-8000-00000000a001"
    company_id: str = "3"

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "SAGE200_BASE_URL": base_url,
            "SAGE200_TOKEN": self.token,
            "SAGE200_SUBSCRIPTION_KEY": self.subscription_key,
            "SAGE200_SITE_ID": self.site_id,
            "SAGE200_COMPANY_ID": self.company_id,
        }


class Sage200Error(Exception):
    """A request Sage 200 refuses with 400 (the `message` names what and where)."""


def compute_sop_totals(lines: list[dict[str, Any]], tax_rates: dict[int, Decimal]) -> None:
    """Fill `line_total_value`, `line_tax_value` on each line (Sage computes them per line:
    net = round(qty x (price - discount), 2), tax = round-half-up(net x rate / 100, 2))."""
    for line in lines:
        qty = Decimal(str(line.get("line_quantity", 0)))
        price = Decimal(str(line.get("selling_unit_price", 0)))
        disc_value = Decimal(str(line.get("unit_discount_value", 0) or 0))
        disc_pct = Decimal(str(line.get("unit_discount_percent", 0) or 0))
        unit = price - disc_value if disc_value else price * (1 - disc_pct / 100)
        net = round2(qty * unit)
        rate = tax_rates.get(int(line.get("tax_code_id") or 0), Decimal(0))
        line["line_total_value"] = net
        line["line_tax_value"] = round2(net * rate / 100)


@dataclass
class Sage200State:
    """Everything the simulated company holds. Seed with the `add_*` / `post_*` methods."""

    company_name: str = "Recon Demo Retail Ltd"
    sites: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    customer_contacts: list[dict[str, Any]] = field(default_factory=list)
    customer_emails: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    price_views: list[dict[str, Any]] = field(default_factory=list)
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    holdings: list[dict[str, Any]] = field(default_factory=list)
    tax_codes: list[dict[str, Any]] = field(default_factory=list)
    nominal_codes: list[dict[str, Any]] = field(default_factory=list)
    banks: list[dict[str, Any]] = field(default_factory=list)
    sop_orders: list[dict[str, Any]] = field(default_factory=list)
    sales_posted: list[dict[str, Any]] = field(default_factory=list)
    bank_posted: list[dict[str, Any]] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    next_id: int = 90001
    next_document_no: int = 4401
    next_urn: int = 118801
    frozen_now: datetime | None = None  # seeding: stamp entities with this instant

    # -- helpers -----------------------------------------------------------------
    def _stamp(self, entity: dict[str, Any], created: bool) -> None:
        now = sage_instant(self.frozen_now) if self.frozen_now else sage_instant(self.clock.now())
        if created:
            entity["date_time_created"] = now
        entity["date_time_updated"] = now

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _add(self, table: list[dict[str, Any]], entity: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._stamp(entity, created=True)
            table.append(entity)
            return entity

    # -- master data ---------------------------------------------------------------
    def add_site(self, site_id: str, company_id: int) -> dict[str, Any]:
        return self._add(
            self.sites,
            {
                "site_id": site_id,
                "site_name": "Recon Simulator",
                "site_short_name": "SIM",
                "company_id": company_id,
                "company_name": self.company_name,
            },
        )

    def add_customer(
        self,
        id: int,
        reference: str,
        name: str,
        cash: bool = False,
        email: str | None = None,
        active: bool = True,
    ) -> dict[str, Any]:
        """A customer; with `email`, also its default contact holding that default e-mail."""
        customer = self._add(
            self.customers,
            {
                "id": id,
                "reference": reference,
                "name": name,
                "short_name": reference[:10],
                "on_hold": False,
                "account_status_type": "AccountStatusActive" if active else "AccountStatusHidden",
                "customer_type": "EnumCustomerTypeCash" if cash else "EnumCustomerTypeCredit",
                "currency_id": 1,
                "balance": Decimal("0.00"),
                "credit_limit": Decimal("0.00"),
                "vat_number": "",
            },
        )
        if email is not None:
            self.add_customer_email(id, email)
        return customer

    def add_customer_email(self, customer_id: int, email: str) -> dict[str, Any]:
        """A contact of the customer with `email` as its default e-mail (schemas
        `customer_contact`, `customer_email` of Sage's sales.json)."""
        with self.lock:
            contact = self._add(
                self.customer_contacts,
                {
                    "id": self.new_id(),
                    "customer_id": customer_id,
                    "name": email.split("@")[0],
                    "default_email": email,
                    "is_default": not any(
                        c["customer_id"] == customer_id for c in self.customer_contacts
                    ),
                },
            )
            return self._add(
                self.customer_emails,
                {
                    "id": self.new_id(),
                    "email": email,
                    "customer_contact_id": contact["id"],
                    "is_default": True,
                },
            )

    def add_tax_code(self, id: int, code: int, name: str, rate: Decimal) -> dict[str, Any]:
        return self._add(
            self.tax_codes,
            {
                "id": id,
                "code": code,
                "name": name,
                "tax_rate": rate,
                "terms": "",
                "terms_description": "",
            },
        )

    def add_nominal_code(
        self, id: int, reference: str, name: str, active: bool = True
    ) -> dict[str, Any]:
        return self._add(
            self.nominal_codes,
            {
                "id": id,
                "reference": reference,
                "name": name,
                "cost_centre_code": "",
                "department_code": "",
                "report_category_id": 1,
                "account_status_type": "AccountStatusActive" if active else "AccountStatusHidden",
                "allow_manual_journal_entries": True,
                "balance_year_to_date": Decimal("0.00"),
            },
        )

    def add_bank(self, id: int, code: str, description: str, active: bool = True) -> dict[str, Any]:
        return self._add(
            self.banks,
            {
                "id": id,
                "code": code,
                "description": description,
                "sort_code": "40-11-62",
                "account_no": f"0000{code}",
                "account_type": "BankAccountTypeCash"
                if "cash" in description.lower()
                else "BankAccountTypeCurrent",
                "account_status_type": "AccountStatusActive" if active else "AccountStatusHidden",
                "balance": Decimal("0.00"),
                "currency_id": 1,
                "bank_account_nominal_reference": code,
                "bank_account_nominal_cost_centre": "",
                "bank_account_nominal_department": "",
            },
        )

    def add_warehouse(self, id: int, name: str, description: str) -> dict[str, Any]:
        return self._add(
            self.warehouses,
            {
                "id": id,
                "name": name,
                "description": description,
                "warehouse_type": "WarehouseTypeStandard",
                "use_for_sales_trading": True,
            },
        )

    def add_product(
        self,
        id: int,
        code: str,
        name: str,
        tax_code_id: int,
        net_price: Decimal,
        active: bool = True,
    ) -> dict[str, Any]:
        product = self._add(
            self.products,
            {
                "id": id,
                "code": code,
                "name": name,
                "description": name,
                "barcode": "",
                "allow_sales_order": True,
                "product_group_id": 1,
                "tax_code_id": tax_code_id,
                "product_status_type": "EnumStockItemStatusTypeActive"
                if active
                else "EnumStockItemStatusTypeInactive",
                "stock_unit_id": 1,
            },
        )
        if not active:  # a date-time in Sage's schema, never null: an active product has none
            product["inactivation_date"] = product["date_time_created"]
        self._add(
            self.price_views,
            {
                "product_price_id": self.new_id(),  # a view: no `id` (price-book.json)
                "product_id": id,
                "product_code": code,
                "price_band_id": 1,
                "price_band_name": "Standard",
                "product_price_price": net_price,
                "currency_id": 1,
            },
        )
        return product

    def add_holding(
        self, warehouse_id: int, product_id: int, in_stock: Decimal, allocated: Decimal = Decimal(0)
    ) -> dict[str, Any]:
        wh = self._by_id(self.warehouses, warehouse_id)
        zero = Decimal("0.00000")
        return self._add(
            self.holdings,
            {
                "id": self.new_id(),
                "warehouse_id": warehouse_id,
                "product_id": product_id,
                "warehouse_name": wh["name"] if wh else "",
                "confirmed_qty_in_stock": in_stock,
                "unconfirmed_qty_in_stock": zero,
                "quantity_in_stock": in_stock,
                "quantity_allocated_stock": zero,
                "quantity_allocated_sop": allocated,
                "quantity_allocated_bom": zero,
                "quantity_allocated": allocated,
                "quantity_reserved": zero,
                "free_stock_available": in_stock - allocated,
                "free_stock_available_less_reserved": in_stock - allocated,
                "quantity_on_order": zero,
                "reorder_level": zero,
                "minimum_level": zero,
                "maximum_level": zero,
            },
        )

    @staticmethod
    def _by_id(table: list[dict[str, Any]], id: Any) -> dict[str, Any] | None:
        return next((row for row in table if row.get("id") == id), None)

    # -- writes (used by the HTTP handlers and for seeding) --------------------------
    def create_sop_order(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            customer = self._need(self.customers, body.get("customer_id"), "Customer")
            raw_lines = body.get("lines")
            if not isinstance(raw_lines, list) or not raw_lines:
                raise Sage200Error("A sales order must have at least one line.")
            cdn = body.get("customer_document_no")
            if cdn is not None and (not isinstance(cdn, str) or len(cdn) > 30):
                raise Sage200Error(
                    "customer_document_no must be a string of at most 30 characters."
                )
            doc_date = _sage_day(body.get("document_date"), "document_date") or self._today()
            lines = [self._sop_line(i, raw) for i, raw in enumerate(raw_lines)]
            rates = {t["id"]: Decimal(str(t["tax_rate"])) for t in self.tax_codes}
            compute_sop_totals(lines, rates)
            net = sum((ln["line_total_value"] for ln in lines), Decimal("0.00"))
            tax = sum((ln["line_tax_value"] for ln in lines), Decimal("0.00"))
            self.next_document_no += 1
            order: dict[str, Any] = {
                "id": self.new_id(),
                "document_no": f"{self.next_document_no:010d}",
                "document_date": sage_date(doc_date),
                "customer_id": customer["id"],
                "customer_document_no": cdn or "",
                "external_reference": "",
                "customer_type": customer["customer_type"],
                "currency_id": customer["currency_id"],
                "exchange_rate": Decimal("1.000000"),
                "document_status": "EnumDocumentStatusLive",
                "despatch_receipt_status": "EnumDocumentProcessingStatusNone",
                "invoice_credit_status": "EnumDocumentProcessingStatusNone",
                "cancelled_status": "EnumDocumentCancelledStatusNotCancelled",
                "subtotal_goods_value": net,
                "total_net_value": net,
                "total_tax_value": tax,
                "total_gross_value": net + tax,
                "requested_delivery_date": sage_date(doc_date),
                "promised_delivery_date": sage_date(doc_date),
                "payment_with_order": bool(body.get("payment_with_order", False)),
                "lines": lines,
                "memos": [],
            }
            for key, value in body.items():
                if (
                    key.startswith(("analysis_code_", "spare_")) or key in ("customer_order_no",)
                ) and isinstance(value, str | int | bool):
                    order[key] = value
            return self._add(self.sop_orders, order)

    def _today(self) -> date:
        return (self.frozen_now or datetime.now(UTC)).date()

    def _need(self, table: list[dict[str, Any]], id: Any, what: str) -> dict[str, Any]:
        if id is None:
            raise Sage200Error(f"{what} record Id is required.")
        row = self._by_id(table, id) if isinstance(id, int) and not isinstance(id, bool) else None
        if row is None:
            raise Sage200Error(f"{what} record Id {id} does not exist.")
        return row

    def _sop_line(self, index: int, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise Sage200Error(f"lines[{index}] must be an object.")
        line_type = raw.get("line_type", "EnumLineTypeStandard")
        line: dict[str, Any] = {
            "id": self.new_id(),
            "line_number": index + 1,
            "line_type": line_type,
        }
        if line_type != "EnumLineTypeStandard":
            # a free-text, charge or comment line: no stock moves, but Sage's line schema
            # still requires product, warehouse and code (0 / "" when none was sent)
            line.update(
                {
                    "product_id": raw.get("product_id") or 0,
                    "warehouse_id": raw.get("warehouse_id") or 0,
                    "code": str(raw.get("code") or ""),
                    "description": str(raw.get("description", "")),
                    "selling_unit_price": Decimal(str(raw.get("selling_unit_price", 0))),
                }
            )
            line["line_quantity"] = _dec(
                raw.get("line_quantity", 0), f"lines[{index}].line_quantity"
            )
            if raw.get("tax_code_id") is not None:  # Sage's schema has no null
                line["tax_code_id"] = raw["tax_code_id"]
            return line
        product = self._need(self.products, raw.get("product_id"), "Product")
        warehouse = self._need(self.warehouses, raw.get("warehouse_id"), "Warehouse")
        tax_id = raw.get("tax_code_id", product["tax_code_id"])
        self._need(self.tax_codes, tax_id, "Tax code")
        if "line_quantity" not in raw:
            raise Sage200Error(f"lines[{index}].line_quantity is required.")
        qty = _dec(raw["line_quantity"], f"lines[{index}].line_quantity")
        if "selling_unit_price" in raw:
            price = _dec(raw["selling_unit_price"], f"lines[{index}].selling_unit_price")
        else:
            view = next((v for v in self.price_views if v["product_id"] == product["id"]), None)
            price = Decimal(str(view["product_price_price"])) if view else Decimal(0)
        line.update(
            {
                "product_id": product["id"],
                "warehouse_id": warehouse["id"],
                "warehouse_name": warehouse["name"],
                "code": str(raw.get("code") or product["code"]),
                "description": str(raw.get("description") or product["name"]),
                "line_quantity": qty,
                "selling_unit_price": price,
                "unit_discount_percent": _dec(
                    raw.get("unit_discount_percent", 0), "unit_discount_percent"
                ),
                "unit_discount_value": _dec(
                    raw.get("unit_discount_value", 0), "unit_discount_value"
                ),
                "tax_code_id": tax_id,
                "nominal_reference": str(raw.get("nominal_reference", "4000")),
                "nominal_cost_centre": str(raw.get("nominal_cost_centre", "")),
                "nominal_department": str(raw.get("nominal_department", "")),
                "invoice_credit_quantity": Decimal(0),
                "despatch_receipt_quantity": Decimal(0),
                "allocated_quantity": Decimal(0),
            }
        )
        return line

    def _urn(self) -> int:
        self.next_urn += 1
        return self.next_urn

    def _active_bank(self, bank_id: Any) -> dict[str, Any]:
        bank = self._need(self.banks, bank_id, "Bank")
        if bank["account_status_type"] != "AccountStatusActive":
            raise Sage200Error(f"Bank account {bank['code']} is hidden and cannot be posted to.")
        return bank

    def post_sales_document(self, body: dict[str, Any], kind: str) -> int:
        """`/sales_invoices` or `/sales_credit_notes`: check the analysis, post, return the URN."""
        with self.lock:
            customer = self._need(self.customers, body.get("customer_id"), "Customer")
            ref, ref2 = _refs(body)
            tx_date = _sage_day(body.get("transaction_date"), "transaction_date") or self._today()
            goods = _dec(body.get("document_goods_value", 0), "document_goods_value")
            tax = _dec(body.get("document_tax_value", 0), "document_tax_value")
            tax_items = body.get("tax_analysis_items") or []
            nominal_items = body.get("nominal_analysis_items") or []
            if not isinstance(tax_items, list) or not isinstance(nominal_items, list):
                raise Sage200Error("tax_analysis_items and nominal_analysis_items must be arrays.")
            tax_out = []
            for i, item in enumerate(tax_items):
                tc = self._need(self.tax_codes, item.get("id"), "Tax code")
                tax_out.append(
                    {
                        "id": tc["id"],
                        "code": tc["code"],
                        "name": tc["name"],
                        "goods_amount": _dec(
                            item.get("goods_amount", 0), f"tax_analysis_items[{i}].goods_amount"
                        ),
                        "tax_amount": _dec(
                            item.get("tax_amount", 0), f"tax_analysis_items[{i}].tax_amount"
                        ),
                        "tax_discount_amount": Decimal("0.00"),
                    }
                )
            nominal_out = []
            for i, item in enumerate(nominal_items):
                code = self._nominal(item, i)
                nominal_out.append(
                    {
                        "code": code["reference"],
                        "cost_centre": item.get("cost_centre", ""),
                        "department": item.get("department", ""),
                        "name": code["name"],
                        "narrative": str(item.get("narrative", "")),
                        "value": _dec(item.get("value", 0), f"nominal_analysis_items[{i}].value"),
                    }
                )
            if tax_out and sum((t["goods_amount"] for t in tax_out), Decimal(0)) != goods:
                raise Sage200Error(
                    "The tax analysis goods amounts do not add up to document_goods_value."
                )
            if tax_out and sum((t["tax_amount"] for t in tax_out), Decimal(0)) != tax:
                raise Sage200Error(
                    "The tax analysis tax amounts do not add up to document_tax_value."
                )
            if nominal_out and sum((n["value"] for n in nominal_out), Decimal(0)) != goods:
                raise Sage200Error(
                    "The nominal analysis values do not add up to document_goods_value."
                )
            if goods < 0 or tax < 0:
                raise Sage200Error("Document values must not be negative.")
            sign = Decimal(-1) if kind == TT_CREDIT_NOTE else Decimal(1)
            urn = self._urn()
            self._add(
                self.sales_posted,
                _posted(
                    self.new_id(),
                    customer["id"],
                    kind,
                    ref,
                    ref2,
                    tx_date,
                    urn,
                    goods * sign,
                    tax * sign,
                    tax_out,
                    nominal_out,
                    [],
                ),
            )
            return urn

    def post_sales_cash(self, body: dict[str, Any], kind: str) -> int:
        """`/sales_receipts` (money in) or `/sales_payments` (money paid back)."""
        with self.lock:
            customer = self._need(self.customers, body.get("customer_id"), "Customer")
            bank = self._active_bank(body.get("bank_id"))
            if "cheque_value" not in body:
                raise Sage200Error("cheque_value is required.")
            value = _dec(body["cheque_value"], "cheque_value")
            if value <= 0:
                raise Sage200Error("cheque_value must be greater than zero.")
            ref, ref2 = _refs(body)
            tx_date = _sage_day(body.get("transaction_date"), "transaction_date") or self._today()
            urn = self._urn()
            receipt = kind == TT_RECEIPT
            ledger_value = -value if receipt else value
            bank_item = {"bank_id": bank["id"], "bank_code": bank["code"], "value": value}
            self._add(
                self.sales_posted,
                _posted(
                    self.new_id(),
                    customer["id"],
                    kind,
                    ref,
                    ref2,
                    tx_date,
                    urn,
                    ledger_value,
                    Decimal("0.00"),
                    [],
                    [],
                    [bank_item],
                ),
            )
            self._add(
                self.bank_posted,
                _bank_posted(
                    self.new_id(),
                    bank["id"],
                    BT_SALES_RECEIPT if receipt else BT_SALES_PAYMENT,
                    ref,
                    ref2,
                    tx_date,
                    urn,
                    value if receipt else -value,
                    "SalesLedger",
                    [],
                    [
                        {
                            "account_number": customer["reference"],
                            "account_name": customer["name"],
                            "trading_entry_type": kind,
                            "reference": ref,
                            "gross_value": value,
                        }
                    ],
                    str(body.get("narrative", "") or ""),
                ),
            )
            return urn

    def post_bank_receipt(self, body: dict[str, Any]) -> int:
        with self.lock:
            bank = self._active_bank(body.get("bank_id"))
            items = body.get("nominal_analysis_items") or body.get("nominal_journal_items")
            if not isinstance(items, list) or not items:
                raise Sage200Error("nominal_analysis_items is required.")
            ref, ref2 = _refs(body)
            tx_date = _sage_day(body.get("transaction_date"), "transaction_date") or self._today()
            out = []
            total = Decimal("0.00")
            tax_items = []
            for i, item in enumerate(items):
                code = self._nominal(item, i)
                gross = _dec(item.get("gross_value", 0), f"nominal_analysis_items[{i}].gross_value")
                goods = _dec(
                    item.get("goods_value", gross), f"nominal_analysis_items[{i}].goods_value"
                )
                tax = _dec(
                    item.get("tax_value", gross - goods), f"nominal_analysis_items[{i}].tax_value"
                )
                if goods + tax != gross:
                    raise Sage200Error(
                        f"nominal_analysis_items[{i}]: goods_value + tax_value "
                        "must equal gross_value."
                    )
                if item.get("tax_code_id") is not None:
                    tc = self._need(self.tax_codes, item.get("tax_code_id"), "Tax code")
                    tax_items.append(
                        {
                            "id": tc["id"],
                            "code": tc["code"],
                            "name": tc["name"],
                            "goods_amount": goods,
                            "tax_amount": tax,
                        }
                    )
                total += gross
                out.append(
                    {
                        "code": code["reference"],
                        "cost_centre": item.get("cost_centre", ""),
                        "department": item.get("department", ""),
                        "name": code["name"],
                        "narrative": str(item.get("narrative", body.get("narrative", "")) or ""),
                        "reference": str(item.get("reference", ref) or ""),
                        "value": goods,
                    }
                )
            urn = self._urn()
            row = _bank_posted(
                self.new_id(),
                bank["id"],
                BT_RECEIPT,
                ref,
                ref2,
                tx_date,
                urn,
                total,
                "CashBook",
                out,
                [],
                str(body.get("narrative", "") or ""),
            )
            row["tax_analysis_items"] = tax_items
            self._add(self.bank_posted, row)
            return urn

    def _nominal(self, item: Any, index: int) -> dict[str, Any]:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise Sage200Error(f"nominal_analysis_items[{index}].code is required.")
        code = next((n for n in self.nominal_codes if n["reference"] == item["code"]), None)
        if code is None:
            raise Sage200Error(f"Nominal code {item['code']} does not exist.")
        if code["account_status_type"] != "AccountStatusActive":
            raise Sage200Error(f"Nominal code {item['code']} is hidden and cannot be posted to.")
        return code


def _refs(body: dict[str, Any]) -> tuple[str, str]:
    ref = body.get("reference", "") or ""
    ref2 = body.get("second_reference", "") or ""
    for name, value in (("reference", ref), ("second_reference", ref2)):
        if not isinstance(value, str) or len(value) > 20:
            raise Sage200Error(f"{name} must be a string of at most 20 characters.")
    return ref, ref2


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise Sage200Error(f"{where} must be a number.")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Sage200Error(f"{where} must be a number.") from None


def _sage_day(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Sage200Error(f"{where} must be a date.")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise Sage200Error(f"{where} must be a date, got {value!r}.") from None


def _posted(
    id: int,
    customer_id: int,
    kind: str,
    ref: str,
    ref2: str,
    tx_date: date,
    urn: int,
    goods: Decimal,
    tax: Decimal,
    tax_items: list[Any],
    nominal_items: list[Any],
    bank_items: list[Any],
) -> dict[str, Any]:
    gross = goods + tax
    return {
        "id": id,
        "customer_id": customer_id,
        "trader_transaction_type": kind,
        "reference": ref,
        "second_reference": ref2,
        "queried": "",  # a one-character string in Sage's schema; "" = not queried
        "transaction_date": sage_date(tx_date),
        "posted_date": sage_date(tx_date),
        "due_date": sage_date(tx_date),
        "document_goods_value": goods,
        "document_tax_value": tax,
        "document_gross_value": gross,
        "document_allocated_value": Decimal("0.00"),
        "document_outstanding_value": gross,
        "base_goods_value": goods,
        "base_tax_value": tax,
        "base_gross_value": gross,
        "urn": urn,
        "user_name": "API",
        "tax_analysis_items": tax_items,
        "nominal_analysis_items": nominal_items,
        "bank_items": bank_items,
    }


def _bank_posted(
    id: int,
    bank_id: int,
    kind: str,
    ref: str,
    ref2: str,
    tx_date: date,
    urn: int,
    value: Decimal,
    source: str,
    nominal_items: list[Any],
    trade_items: list[Any],
    narrative: str,
) -> dict[str, Any]:
    return {
        "id": id,
        "bank_id": bank_id,
        "bank_transaction_type": kind,
        "entry_description": narrative,
        "reference": ref,
        "second_reference": ref2,
        "transaction_date": sage_date(tx_date),
        "posted_date": sage_date(tx_date),
        "cheque_value": value,
        "cheque_discount_value": Decimal("0.00"),
        "cheque_to_account_currency_rate": Decimal("1.000000"),
        "bank_cheque_to_base_currency_rate": Decimal("1.000000"),
        "cheque_currency_id": 1,
        "source": source,
        "urn": urn,
        "user_name": "API",
        "tax_analysis_items": [],
        "nominal_analysis_items": nominal_items,
        "trade_items": trade_items,
    }


def _bad(message: str, status: int = 400) -> Response:
    return json_response({"message": message}, status)


def create_app(
    state: Sage200State, creds: Sage200Credentials, faults: Faults | None = None
) -> Starlette:
    """The Starlette app serving `state` under `/uk/sage200extra/accounts/v1`."""

    collections: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "customers": lambda: state.customers,
        "customer_contacts": lambda: state.customer_contacts,
        "customer_emails": lambda: state.customer_emails,
        "products": lambda: state.products,
        "product_price_views": lambda: state.price_views,
        "warehouses": lambda: state.warehouses,
        "warehouse_holdings": lambda: state.holdings,
        "tax_codes": lambda: state.tax_codes,
        "nominal_codes": lambda: state.nominal_codes,
        "banks": lambda: state.banks,
        "sop_orders": lambda: state.sop_orders,
        "sales_posted_transactions": lambda: state.sales_posted,
        "bank_posted_transactions": lambda: state.bank_posted,
    }
    children = {
        ("banks", "bank_posted_transactions"): "bank_id",
        ("customers", "sales_posted_transactions"): "customer_id",
        ("warehouses", "warehouse_holdings"): "warehouse_id",
        ("products", "warehouse_holdings"): "product_id",
    }

    def check(request: Request, tenant: bool = True) -> Response | None:
        if request.headers.get("ocp-apim-subscription-key") != creds.subscription_key:
            return json_response({"statusCode": 401, "message": GATEWAY_BAD_KEY}, 401)
        if request.headers.get("authorization", "") != f"Bearer {creds.token}":
            return json_response({"statusCode": 401, "message": GATEWAY_BAD_TOKEN}, 401)
        if tenant:
            if request.headers.get("x-site") != creds.site_id:
                return _bad("The X-Site header is missing or names a site this user cannot access.")
            if request.headers.get("x-company") != creds.company_id:
                return _bad(
                    "The X-Company header is missing or names a company this user cannot access."
                )
        return None

    def shape(row: dict[str, Any], expand: frozenset[str]) -> dict[str, Any]:
        if "lines" in row and "lines" not in expand:
            return {k: v for k, v in row.items() if k != "lines"}
        if "customer_contact_id" in row and "customer_contact" in expand:
            contact = Sage200State._by_id(state.customer_contacts, row["customer_contact_id"])
            return {**row, "customer_contact": contact}
        return row

    async def sites(request: Request) -> Response:
        denied = check(request, tenant=False)
        if denied:
            return denied
        return json_response(state.sites)

    async def listing(request: Request) -> Response:
        denied = check(request)
        if denied:
            return denied
        name = request.path_params["name"]
        if name not in collections:
            return _bad(f"The resource '{name}' does not exist.", 404)
        try:
            query = parse_query(request.query_params)
        except ODataError as exc:
            return _bad(str(exc))
        with state.lock:
            rows = collections[name]()
            if query.where is not None and "customer_contact" not in query.expand:
                # filter before shaping: a look-up by reference must not copy every order
                rows = [r for r in rows if query.where(r)]
                query = replace(query, where=None)
            rows = [shape(r, query.expand) for r in rows]
            return json_response(apply_query(rows, query))

    async def child_listing(request: Request) -> Response:
        denied = check(request)
        if denied:
            return denied
        parent, name = request.path_params["parent"], request.path_params["name"]
        key = children.get((parent, name))
        if key is None:
            return _bad(f"The resource '{parent}/{{id}}/{name}' does not exist.", 404)
        try:
            parent_id = int(request.path_params["id"])
            query = parse_query(request.query_params)
        except ValueError as exc:
            return _bad(
                str(exc)
                if isinstance(exc, ODataError)
                else f"Invalid id {request.path_params['id']}"
            )
        with state.lock:
            if Sage200State._by_id(collections[parent](), parent_id) is None:
                return _bad(f"{parent} record Id {parent_id} does not exist.", 404)
            rows = [r for r in collections[name]() if r.get(key) == parent_id]
            return json_response(apply_query(rows, query))

    async def single(request: Request) -> Response:
        denied = check(request)
        if denied:
            return denied
        name = request.path_params["name"]
        if name not in collections:
            return _bad(f"The resource '{name}' does not exist.", 404)
        try:
            ident = int(request.path_params["id"])
            query = parse_query(
                {k: v for k, v in request.query_params.items() if k in ("$select", "$expand")}
            )
        except ValueError as exc:
            return _bad(str(exc) if isinstance(exc, ODataError) else "Invalid id.", 400)
        with state.lock:
            row = Sage200State._by_id(collections[name](), ident)
            if row is None:
                return _bad(f"{name} record Id {ident} does not exist.", 404)
            return json_response(select_fields(shape(row, query.expand), query.select))

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise Sage200Error("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise Sage200Error("The request body must be a JSON object.")
        return body

    def poster(
        action: Callable[[dict[str, Any]], Any], fields: spec.Body
    ) -> Callable[[Request], Any]:
        """POST `action`, for a body whose fields have the types Sage's schema gives them
        (`fields`): a body the schema refuses is a 400 naming the first bad field."""

        async def endpoint(request: Request) -> Response:
            denied = check(request)
            if denied:
                return denied
            try:
                body = await body_of(request)
                problem = spec.first_problem(body, fields)
                if problem:
                    raise Sage200Error(problem)
                result = action(body)
            except Sage200Error as exc:
                return _bad(str(exc))
            if isinstance(result, int):
                return json_response({"urn": str(result)})
            return json_response(result)

        return endpoint

    async def not_found(request: Request) -> Response:
        denied = check(request, tenant=False)
        if denied:
            return denied
        return _bad("The requested resource does not exist.", 404)

    b = BASE_PATH
    routes = [
        Route(b + "/sites", sites, methods=["GET"]),
        Route(
            b + "/sop_orders", poster(state.create_sop_order, spec.SAGE_SOP_ORDER), methods=["POST"]
        ),
        Route(
            b + "/sales_invoices",
            poster(lambda d: state.post_sales_document(d, TT_INVOICE), spec.SAGE_SALES_INVOICE),
            methods=["POST"],
        ),
        Route(
            b + "/sales_credit_notes",
            poster(
                lambda d: state.post_sales_document(d, TT_CREDIT_NOTE), spec.SAGE_SALES_CREDIT_NOTE
            ),
            methods=["POST"],
        ),
        Route(
            b + "/sales_receipts",
            poster(lambda d: state.post_sales_cash(d, TT_RECEIPT), spec.SAGE_SALES_RECEIPT),
            methods=["POST"],
        ),
        Route(
            b + "/sales_payments",
            poster(lambda d: state.post_sales_cash(d, TT_PAYMENT), spec.SAGE_SALES_PAYMENT),
            methods=["POST"],
        ),
        Route(
            b + "/bank_receipt",
            poster(state.post_bank_receipt, spec.SAGE_BANK_RECEIPT),
            methods=["POST"],
        ),
        Route(b + "/{name}", listing, methods=["GET"]),
        Route(b + "/{name}/{id}", single, methods=["GET"]),
        Route(b + "/{parent}/{id}/{name}", child_listing, methods=["GET"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    app = Starlette(routes=routes)
    if faults is not None:
        app.add_middleware(FaultMiddleware, faults=faults, vendor="sage200")
    return app
