"""Typed client for the Sage 200 (UK) REST API: master data, documents, ledger postings.

Knows Sage's four auth/tenant headers, OData paging (by key: `id gt LAST` with `$orderby`
and `$top`; bare arrays, stop on a short page), filters (`date_time_updated gt ...Z`,
quoted strings) and the URN answers of ledger postings. It must not decide what to post or
how to map POS data (the sync workers do), and must not store anything. `base_url` is the
`.../accounts/v1` root.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import Field

from recon.clients._base import VendorClient
from recon.clients._http import Fetched, HttpCore, validate_record
from recon.clients._paging import KeyPaginator
from recon.clients._types import (
    Money,
    OptDecimal,
    Quantity,
    Text,
    UtcDateTime,
    VatRate,
    VendorModel,
)
from recon.clients.errors import MalformedResponse

__all__ = [
    "Bank",
    "BankPostedTransaction",
    "Customer",
    "CustomerContact",
    "CustomerEmail",
    "NominalCode",
    "Product",
    "ProductPriceView",
    "Sage200Client",
    "SalesPostedTransaction",
    "SopOrder",
    "SopOrderLine",
    "TaxCode",
    "Warehouse",
    "WarehouseHolding",
    "odata_datetime",
    "odata_string",
]

M = TypeVar("M", bound=VendorModel)
_MAX_TOP = 5000


# --------------------------------------------------------------------- models
class Customer(VendorModel):
    id: int
    reference: Text | None = None
    name: Text | None = None
    short_name: Text | None = None
    on_hold: bool | None = None
    account_status_type: Text | int | None = None
    currency_id: int | None = None
    default_tax_code_id: int | None = None
    balance: Money = None
    credit_limit: Money = None
    vat_number: Text | None = None
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class CustomerContact(VendorModel):
    id: int
    customer_id: int | None = None
    name: Text | None = None
    default_email: Text | None = None


class CustomerEmail(VendorModel):
    """One e-mail address of a customer contact (`/customer_emails`); the customer is the
    contact's (`$expand=customer_contact`)."""

    id: int
    email: Text | None = None
    customer_contact_id: int | None = None
    is_default: bool | None = None
    customer_contact: CustomerContact | None = None


class Product(VendorModel):
    id: int
    code: Text | None = None
    name: Text | None = None
    description: Text | None = None
    barcode: Text | None = None
    allow_sales_order: bool | None = None
    product_group_id: int | None = None
    tax_code_id: int | None = None
    product_status_type: Text | int | None = None
    inactivation_date: UtcDateTime = None
    free_stock_quantity: Quantity = None
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class ProductPriceView(VendorModel):
    """A product's selling price in one price band ("Standard" is the default band)."""

    product_price_id: int | None = None
    product_id: int
    product_code: Text | None = None
    product_name: Text | None = None
    price_band_id: int | None = None
    price_band_name: Text | None = None
    product_price_use_standard: bool | None = None
    product_price_price: Money = None
    currency_id: int | None = None
    date_time_updated: UtcDateTime = None


class Warehouse(VendorModel):
    id: int
    name: Text | None = None
    description: Text | None = None
    warehouse_type: Text | int | None = None
    use_for_sales_trading: bool | None = None
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class WarehouseHolding(VendorModel):
    id: int
    warehouse_id: int
    product_id: int
    warehouse_name: Text | None = None
    confirmed_qty_in_stock: Quantity = None
    unconfirmed_qty_in_stock: Quantity = None
    quantity_in_stock: Quantity = None
    quantity_allocated_stock: Quantity = None
    quantity_allocated_sop: Quantity = None
    quantity_allocated: Quantity = None
    quantity_reserved: Quantity = None
    free_stock_available: Quantity = None
    free_stock_available_less_reserved: Quantity = None
    quantity_on_order: Quantity = None
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class TaxCode(VendorModel):
    id: int
    code: int | None = None
    name: Text | None = None
    tax_rate: VatRate = None
    terms: Any = None
    terms_description: Text | None = None
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class NominalCode(VendorModel):
    id: int
    reference: Text | None = None
    name: Text | None = None
    cost_centre_code: Text | None = None
    department_code: Text | None = None
    report_category_id: int | None = None
    account_status_type: Text | int | None = None
    allow_manual_journal_entries: bool | None = None
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class Bank(VendorModel):
    id: int
    code: Text | None = None
    description: Text | None = None
    sort_code: Text | None = None
    account_type: Text | int | None = None
    account_status_type: Text | int | None = None
    balance: Money = None
    currency_id: int | None = None
    bank_account_nominal_reference: Text | None = None
    bank_account_nominal_cost_centre: Text | None = None
    bank_account_nominal_department: Text | None = None
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class SopOrderLine(VendorModel):
    id: int | None = None
    line_type: Text | int | None = None
    product_id: int | None = None
    warehouse_id: int | None = None
    code: Text | None = None
    description: Text | None = None
    line_quantity: Quantity = None
    selling_unit_price: Money = None
    unit_discount_percent: OptDecimal = None
    unit_discount_value: Money = None
    tax_code_id: int | None = None
    nominal_reference: Text | None = None
    nominal_cost_centre: Text | None = None
    nominal_department: Text | None = None
    line_tax_value: Money = None
    line_total_value: Money = None
    invoice_credit_quantity: Quantity = None
    despatch_receipt_quantity: Quantity = None


class SopOrder(VendorModel):
    """A SOP sales order; `customer_document_no` carries the POS order id."""

    id: int
    document_no: Text | None = None
    customer_id: int | None = None
    customer_document_no: Text | None = None
    document_date: UtcDateTime = None
    document_status: Text | int | None = None
    invoice_credit_status: Text | int | None = None
    cancelled_status: Text | int | None = None
    customer_type: Text | int | None = None
    currency_id: int | None = None
    analysis_code_1: Text | None = None
    subtotal_goods_value: Money = None
    total_net_value: Money = None
    total_tax_value: Money = None
    total_gross_value: Money = None
    lines: list[SopOrderLine] = Field(default_factory=list)
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class SalesPostedTransaction(VendorModel):
    """A sales-ledger posting (invoice, credit note, receipt, payment) found by its URN."""

    id: int
    customer_id: int | None = None
    trader_transaction_type: Text | int | None = None
    reference: Text | None = None
    second_reference: Text | None = None
    transaction_date: UtcDateTime = None
    posted_date: UtcDateTime = None
    due_date: UtcDateTime = None
    document_goods_value: Money = None
    document_tax_value: Money = None
    document_gross_value: Money = None
    document_discount_value: Money = None
    document_allocated_value: Money = None
    document_outstanding_value: Money = None
    urn: int | None = None
    user_name: Text | None = None
    tax_analysis_items: list[dict[str, Any]] = Field(default_factory=list)
    nominal_analysis_items: list[dict[str, Any]] = Field(default_factory=list)
    bank_items: list[dict[str, Any]] = Field(default_factory=list)
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


class BankPostedTransaction(VendorModel):
    """A cash-book posting (e.g. a bank receipt), `cheque_value` in the bank's currency."""

    id: int
    bank_id: int | None = None
    bank_transaction_type: Text | int | None = None
    entry_description: Text | None = None
    reference: Text | None = None
    second_reference: Text | None = None
    transaction_date: UtcDateTime = None
    posted_date: UtcDateTime = None
    cheque_value: Money = None
    cheque_discount_value: Money = None
    cheque_currency_id: int | None = None
    source: Text | None = None
    urn: int | None = None
    user_name: Text | None = None
    tax_analysis_items: list[dict[str, Any]] = Field(default_factory=list)
    nominal_analysis_items: list[dict[str, Any]] = Field(default_factory=list)
    trade_items: list[dict[str, Any]] = Field(default_factory=list)
    date_time_created: UtcDateTime = None
    date_time_updated: UtcDateTime = None


# --------------------------------------------------------------------- OData helpers
def odata_datetime(when: datetime) -> str:
    """`2024-06-01T09:52:11Z`: UTC with Z, whole seconds (floored, so `gt` never misses)."""
    if when.tzinfo is None:
        raise ValueError("a Sage 200 timestamp filter needs a UTC-aware datetime")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def odata_string(value: str) -> str:
    """A quoted OData string literal (`'O''Brien'`)."""
    return "'" + value.replace("'", "''") + "'"


def _int_key(record: Any, key_field: str) -> int | None:
    """A record's integer key (the next page starts after it), None if it has none."""
    key = record.get(key_field) if isinstance(record, dict) else None
    return key if isinstance(key, int) and not isinstance(key, bool) else None


def _list_body(body: Any) -> str | None:
    return None if isinstance(body, list) else "a body that is not a JSON array"


def _object_body(body: Any) -> str | None:
    return None if isinstance(body, dict) else "a body that is not a JSON object"


def _urn_body(body: Any) -> str | None:
    if isinstance(body, dict) and body.get("urn") not in (None, ""):
        return None
    return 'a body without {"urn": ...}'


# --------------------------------------------------------------------- client
class Sage200Client(VendorClient):
    """Sage 200 API for one site and company."""

    vendor = "sage200"

    def __init__(
        self,
        base_url: str,
        token: str,
        subscription_key: str,
        site_id: str,
        company_id: str | int,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int = 500,
        max_attempts: int = 5,
        max_wait: float = 30.0,
        min_wait: float = 0.5,
        timeout: float = 30.0,
    ) -> None:
        if not 1 <= page_size <= _MAX_TOP:
            raise ValueError(f"page_size must be between 1 and {_MAX_TOP}")
        self.page_size = page_size
        self._http = HttpCore(
            "sage200",
            base_url.rstrip("/"),
            auth_hint=(
                "SAGE200_TOKEN / SAGE200_SUBSCRIPTION_KEY (and SAGE200_SITE_ID / "
                "SAGE200_COMPANY_ID)"
            ),
            headers={
                "Authorization": f"Bearer {token}",
                "ocp-apim-subscription-key": subscription_key,
                "X-Site": str(site_id),
                "X-Company": str(company_id),
            },
            secrets=(token, subscription_key),
            transport=transport,
            max_attempts=max_attempts,
            max_wait=max_wait,
            min_wait=min_wait,
            timeout=timeout,
        )

    # ----------------------------------------------------------------- lifecycle

    # ----------------------------------------------------------------- generic reads
    def iter_collection(
        self,
        resource: str,
        model: type[M],
        *,
        filter: str | None = None,
        select: str | None = None,
        expand: str | None = None,
        key_field: str = "id",
    ) -> Iterator[Fetched[M]]:
        """Every record of `/resource` by ascending `key_field`, until a short page.

        Pages by key, not by offset: each page asks for the records after the last key
        seen (`$filter=... and key gt LAST&$orderby=key asc&$top=N`), so a record deleted
        or inserted while the pages are read does not shift a page over another record.
        """
        path = "/" + resource.strip("/")
        pages = KeyPaginator(
            self.vendor,
            self._http.url(path),
            key_field,
            key_of=lambda record: _int_key(record, key_field),
            page_size=self.page_size,
        )

        def fetch(last: int | None) -> tuple[list[Any], Any]:
            after = None if last is None else f"{key_field} gt {last}"
            where = " and ".join(f"({f})" if filter and after else f for f in (filter, after) if f)
            params: dict[str, str | int] = {"$orderby": f"{key_field} asc", "$top": self.page_size}
            if where:
                params["$filter"] = where
            if select:  # the key is always selected: the next page starts after it
                fields = [f.strip() for f in select.split(",") if f.strip()]
                params["$select"] = ",".join(
                    [*fields, key_field] if key_field not in fields else fields
                )
            if expand:
                params["$expand"] = expand
            page: list[Any] = self._http.request("GET", path, params=params, check=_list_body)
            return page, page

        for raw in pages.records(fetch):
            yield validate_record(model, raw, key_field)

    def _updated(
        self,
        resource: str,
        model: type[M],
        updated_since: datetime | None,
        *,
        expand: str | None = None,
        key_field: str = "id",
    ) -> Iterator[Fetched[M]]:
        flt = None
        if updated_since is not None:
            flt = f"date_time_updated gt {odata_datetime(updated_since)}"
        return self.iter_collection(resource, model, filter=flt, expand=expand, key_field=key_field)

    def _all_valid(self, resource: str, fetched: Iterator[Fetched[M]]) -> list[M]:
        """A lookup must see every match: a record that does not fit is an error, not a skip."""
        out: list[M] = []
        for f in fetched:
            if f.item is None:
                raise MalformedResponse(
                    "sage200",
                    200,
                    f.error or "invalid record",
                    f"Sage 200 {resource} record {f.key or '?'} does not fit: {f.error}",
                )
            out.append(f.item)
        return out

    # ----------------------------------------------------------------- typed listings
    def iter_customers(self, updated_since: datetime | None = None) -> Iterator[Fetched[Customer]]:
        return self._updated("customers", Customer, updated_since)

    def iter_products(self, updated_since: datetime | None = None) -> Iterator[Fetched[Product]]:
        return self._updated("products", Product, updated_since)

    def iter_product_prices(
        self, updated_since: datetime | None = None
    ) -> Iterator[Fetched[ProductPriceView]]:
        return self._updated(
            "product_price_views",
            ProductPriceView,
            updated_since,
            key_field="product_price_id",
        )

    def iter_warehouses(
        self, updated_since: datetime | None = None
    ) -> Iterator[Fetched[Warehouse]]:
        return self._updated("warehouses", Warehouse, updated_since)

    def iter_warehouse_holdings(
        self, updated_since: datetime | None = None
    ) -> Iterator[Fetched[WarehouseHolding]]:
        return self._updated("warehouse_holdings", WarehouseHolding, updated_since)

    def iter_tax_codes(self, updated_since: datetime | None = None) -> Iterator[Fetched[TaxCode]]:
        return self._updated("tax_codes", TaxCode, updated_since)

    def iter_nominal_codes(
        self, updated_since: datetime | None = None
    ) -> Iterator[Fetched[NominalCode]]:
        return self._updated("nominal_codes", NominalCode, updated_since)

    def iter_banks(self, updated_since: datetime | None = None) -> Iterator[Fetched[Bank]]:
        return self._updated("banks", Bank, updated_since)

    def iter_sop_orders(self, updated_since: datetime | None = None) -> Iterator[Fetched[SopOrder]]:
        """SOP orders with their lines expanded."""
        return self._updated("sop_orders", SopOrder, updated_since, expand="lines")

    def iter_sales_posted_transactions(
        self, updated_since: datetime | None = None
    ) -> Iterator[Fetched[SalesPostedTransaction]]:
        return self._updated("sales_posted_transactions", SalesPostedTransaction, updated_since)

    def iter_bank_posted_transactions(
        self, updated_since: datetime | None = None
    ) -> Iterator[Fetched[BankPostedTransaction]]:
        return self._updated("bank_posted_transactions", BankPostedTransaction, updated_since)

    # ----------------------------------------------------------------- lookups before posting
    def find_sop_orders(self, customer_document_no: str) -> list[SopOrder]:
        """SOP orders whose `customer_document_no` is the POS order id, lines expanded."""
        flt = f"customer_document_no eq {odata_string(customer_document_no)}"
        found = self.iter_collection("sop_orders", SopOrder, filter=flt, expand="lines")
        return self._all_valid("sop_orders", found)

    def find_posted_transactions(self, reference: str) -> list[SalesPostedTransaction]:
        """Sales-ledger postings whose `reference` is the POS order id."""
        flt = f"reference eq {odata_string(reference)}"
        found = self.iter_collection(
            "sales_posted_transactions", SalesPostedTransaction, filter=flt
        )
        return self._all_valid("sales_posted_transactions", found)

    def find_bank_posted_transactions(self, reference: str) -> list[BankPostedTransaction]:
        """Cash-book postings whose `reference` is e.g. `{store id}-{YYYY-MM-DD}`."""
        flt = f"reference eq {odata_string(reference)}"
        found = self.iter_collection("bank_posted_transactions", BankPostedTransaction, filter=flt)
        return self._all_valid("bank_posted_transactions", found)

    def find_customers_by_email(self, email: str) -> list[Customer]:
        """The customers one of whose contacts has the e-mail `email` (as Sage's `eq`
        compares it): `/customer_emails` with the contact expanded, then those customers."""
        flt = f"email eq {odata_string(email)}"
        found = self.iter_collection(
            "customer_emails", CustomerEmail, filter=flt, expand="customer_contact"
        )
        ids = sorted(
            {
                e.customer_contact.customer_id
                for e in self._all_valid("customer_emails", found)
                if e.customer_contact is not None and e.customer_contact.customer_id is not None
            }
        )
        if not ids:
            return []
        flt = " or ".join(f"id eq {i}" for i in ids)
        return self._all_valid("customers", self.iter_collection("customers", Customer, filter=flt))

    # ----------------------------------------------------------------- writes
    def create_sop_order(self, body: Mapping[str, Any]) -> SopOrder:
        """POST /sop_orders; Sage answers with the saved order (id, document_no, totals)."""
        answer = self._http.request("POST", "/sop_orders", body=dict(body), check=_object_body)
        fetched = validate_record(SopOrder, answer, "id")
        if fetched.item is None:
            raise MalformedResponse(
                "sage200",
                200,
                fetched.error or "invalid order",
                f"Sage 200 saved a sales order but its answer does not fit: {fetched.error}; "
                "look it up by customer_document_no before posting again",
            )
        return fetched.item

    def _post_urn(self, path: str, body: Mapping[str, Any]) -> str:
        answer = self._http.request("POST", path, body=dict(body), check=_urn_body)
        return str(answer["urn"])

    def create_sales_receipt(self, body: Mapping[str, Any]) -> str:
        """POST /sales_receipts; returns the URN of the posted transaction."""
        return self._post_urn("/sales_receipts", body)

    def create_sales_payment(self, body: Mapping[str, Any]) -> str:
        """POST /sales_payments (money paid back to a customer); returns the URN."""
        return self._post_urn("/sales_payments", body)

    def create_sales_credit_note(self, body: Mapping[str, Any]) -> str:
        """POST /sales_credit_notes; returns the URN."""
        return self._post_urn("/sales_credit_notes", body)

    def create_sales_invoice(self, body: Mapping[str, Any]) -> str:
        """POST /sales_invoices; returns the URN."""
        return self._post_urn("/sales_invoices", body)

    def create_bank_receipt(self, body: Mapping[str, Any]) -> str:
        """POST /bank_receipt (singular path); returns the URN."""
        return self._post_urn("/bank_receipt", body)
