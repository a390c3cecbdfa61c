"""Posting POS sales and refunds to Sage 200, each one looked up by its POS id before writing.

- sale   -> SOP order, `customer_document_no` = POS order id, a line per SKU at the mapped
            warehouse; then one sales receipt per POS payment into the mapped bank
            (`reference` = order id, `second_reference` = tender).
- refund -> sales credit note (`reference` = refund id, `second_reference` = original sale id,
            the POS VAT in `tax_analysis_items`); then one sales payment per refund tender.
Each write is preceded by its look-up, and a retry after an unclear failure starts again at
the look-up, so a timeout after Sage committed never yields a second document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from clients import RejectedError, TransientError
from clients.sage200 import Customer, Sage200Client, SalesPostedTransaction
from clients.sitoo import SitooOrder
from collectors.sage200 import is_active, ledger_kind
from collectors.sitoo import line_values, product_lines
from config.mappings import Mappings, vat_key
from sync._outcome import Outcome

T = TypeVar("T")
UNIT = Decimal("0.00001")  # Sage unit prices carry 5 decimals
REF_MAX = 20


class MasterDataError(RejectedError):
    """The ERP lacks something the mappings name (guest customer, warehouse, bank)."""

    def __init__(self, message: str) -> None:
        super().__init__("sage200", None, message, message)


class Sage200Poster:
    erp = "sage200"

    def __init__(
        self, client: Sage200Client, mappings: Mappings, *, attempts: int = 4, wait: float = 1.0
    ) -> None:
        self.client = client
        self.mappings = mappings
        self.attempts = attempts
        self.wait = wait
        products = [f.item for f in client.iter_products() if f.item is not None]
        self.product_ids = {p.code: p.id for p in products if p.code}
        self.warehouse_ids = {
            w.name: w.id for w in (f.item for f in client.iter_warehouses()) if w and w.name
        }
        self.tax_ids = {
            str(t.code): t.id
            for t in (f.item for f in client.iter_tax_codes())
            if t and t.code is not None
        }
        banks = [f.item for f in client.iter_banks() if f.item is not None]
        self.bank_ids = {b.code: b.id for b in banks if b.code}
        nominals = [f.item for f in client.iter_nominal_codes() if f.item is not None]
        self.active_accounts = {
            b.code for b in banks if b.code and is_active(b.account_status_type)
        }
        self.active_accounts |= {
            n.reference for n in nominals if n.reference and is_active(n.account_status_type)
        }
        self.known_skus = set(self.product_ids)
        self._customer_id: int | None = None

    # ------------------------------------------------------------ master data
    @property
    def customer_id(self) -> int:
        if self._customer_id is None:
            ref = self.mappings.guest_customer
            found = [
                f.item
                for f in self.client.iter_collection(
                    "customers", Customer, filter=f"reference eq '{ref}'"
                )
                if f.item is not None
            ]
            if not found:
                raise MasterDataError(
                    f"guest customer '{ref}' is not in Sage 200: "
                    "create it or set [settings] guest_customer in mappings",
                )
            self._customer_id = found[0].id
        return self._customer_id

    def _warehouse(self, location: str) -> int:
        if location not in self.warehouse_ids:
            raise MasterDataError(
                f"warehouse '{location}' is not in Sage 200: fix the store mapping"
            )
        return self.warehouse_ids[location]

    def _bank(self, tender: str) -> int:
        code = self.mappings.tenders[tender]
        if code not in self.bank_ids:
            raise MasterDataError(f"bank '{code}' (tender '{tender}') is not in Sage 200")
        return self.bank_ids[code]

    def _retrying(self, step: Callable[[], T]) -> T:
        """Run look-up-then-write `step` again after a transient failure."""
        retry = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.wait, max=30),
            retry=retry_if_exception_type(TransientError),
            reraise=True,
        )
        return retry(step)

    # ------------------------------------------------------------ posting
    def post_sale(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        outcomes = [self._retrying(lambda: self._sale_document(order, oid, day, location))]
        outcomes += self._tenders(order, oid, day, "receipt", self.client.create_sales_receipt)
        return outcomes

    def post_refund(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        outcomes = [self._retrying(lambda: self._credit_note(order, oid, day))]
        outcomes += self._tenders(order, oid, day, "payment", self.client.create_sales_payment)
        return outcomes

    def _sale_document(self, order: SitooOrder, oid: str, day: date, location: str) -> Outcome:
        found = self.client.find_sop_orders(oid)
        if found:
            return Outcome(f"sale:{oid}", "sale", "exists", found[0].document_no)
        warehouse_id = self._warehouse(location)
        lines = []
        for item in product_lines(order):
            v = line_values(item)
            qty = v["quantity"]
            net = item.moneyitemtotal_net or Decimal(0)
            lines.append(
                {
                    "line_type": "EnumLineTypeStandard",
                    "product_id": self.product_ids[item.sku or ""],
                    "warehouse_id": warehouse_id,
                    "code": item.sku,
                    "description": item.productname or item.sku,
                    "line_quantity": qty,
                    "selling_unit_price": (net / qty).quantize(UNIT) if qty else Decimal(0),
                    "tax_code_id": self.tax_ids[self.mappings.tax[vat_key(v["vat_rate"])].tax_code],
                }
            )
        body = {
            "customer_id": self.customer_id,
            "document_date": day.isoformat(),
            "customer_document_no": oid,
            "lines": lines,
        }
        doc = self.client.create_sop_order(body)
        return Outcome(f"sale:{oid}", "sale", "posted", doc.document_no)

    def _credit_note(self, order: SitooOrder, oid: str, day: date) -> Outcome:
        found = [
            t
            for t in self.client.find_posted_transactions(oid)
            if ledger_kind(t.trader_transaction_type) == "credit_note"
        ]
        if found:
            return Outcome(f"credit_note:{oid}", "refund", "exists", _urn(found[0]))
        goods: dict[str, Decimal] = defaultdict(Decimal)
        taxes: dict[str, Decimal] = defaultdict(Decimal)
        for item in product_lines(order):
            code = self.mappings.tax[vat_key(line_values(item)["vat_rate"])].tax_code
            goods[code] += abs(item.moneyitemtotal_net or Decimal(0))
            taxes[code] += abs(item.moneyitemtotal_vat or Decimal(0))
        original = order.creditorderid or order.additionaldata.get("pos-originalsales-orderid")
        body: dict[str, Any] = {
            "customer_id": self.customer_id,
            "transaction_date": day.isoformat(),
            "reference": oid,
            "second_reference": str(original or "")[:REF_MAX],
            "document_goods_value": sum(goods.values(), Decimal(0)),
            "document_tax_value": sum(taxes.values(), Decimal(0)),
            "tax_analysis_items": [
                {"id": self.tax_ids[c], "goods_amount": goods[c], "tax_amount": taxes[c]}
                for c in goods
            ],
            "nominal_analysis_items": [
                {
                    "code": self.mappings.settings.get("sales_nominal", "4000"),
                    "cost_centre": "",
                    "department": "",
                    "narrative": f"POS refund {oid}",
                    "value": sum(goods.values(), Decimal(0)),
                }
            ],
        }
        urn = self.client.create_sales_credit_note(body)
        return Outcome(f"credit_note:{oid}", "refund", "posted", urn)

    def _tenders(
        self,
        order: SitooOrder,
        oid: str,
        day: date,
        kind: str,
        create: Callable[[dict[str, Any]], str],
    ) -> list[Outcome]:
        """One receipt (or payment) per POS payment; existing ones match by tender and rank."""
        outcomes = []
        for no, payment in enumerate(order.payments, start=1):
            amount = abs(payment.moneyamount)

            def step(no: int = no, tender: str = payment.name, amount: Decimal = amount) -> Outcome:
                key = f"{kind}:{oid}:{no}"
                existing = [
                    t
                    for t in self.client.find_posted_transactions(oid)
                    if ledger_kind(t.trader_transaction_type) == kind
                ]
                # The n-th payment of a tender matches the n-th posting of that tender.
                same = [t for t in existing if (t.second_reference or "") == tender[:REF_MAX]]
                rank = sum(1 for p in order.payments[: no - 1] if p.name == tender)
                if rank < len(same):
                    return Outcome(key, kind, "exists", _urn(same[rank]))
                urn = create(
                    {
                        "customer_id": self.customer_id,
                        "bank_id": self._bank(tender),
                        "cheque_value": amount,
                        "transaction_date": day.isoformat(),
                        "reference": oid,
                        "second_reference": tender[:REF_MAX],
                    }
                )
                return Outcome(key, kind, "posted", urn)

            outcomes.append(self._retrying(step))
        return outcomes


def _urn(tx: SalesPostedTransaction) -> str:
    return str(tx.urn if tx.urn is not None else tx.id)
