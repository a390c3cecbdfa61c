"""Posting POS sales and refunds to Sage 200, each one looked up by its POS id before writing.

- sale   -> SOP order, `customer_document_no` = POS order id, for the customer one of whose
            contacts has the order's e-mail, else the guest (`recon.sync.customers`), a line per
            SKU at the mapped warehouse; then one sales receipt per POS payment into the
            mapped bank (`reference` = order id, `second_reference` = tender), from the
            order's customer.
- refund -> sales credit note (`reference` = refund id, `second_reference` = original sale id,
            the POS VAT in `tax_analysis_items`) for the original SOP order's customer
            (else as a sale); then one sales payment per refund tender to that customer.
- store-day journal (daily journal mode) -> bank receipt (`POST /bank_receipt`) into the
            tender's bank, `reference` = `{store id}-{YYYY-MM-DD}`, `second_reference` =
            tender, one nominal analysis line per tax code (net in `goods_value`, VAT in
            `tax_value` with its `tax_code_id`) on the sales nominal (`[settings]
            sales_nominal`, default 4000). Looked up by both references first.
Each write is preceded by its look-up, and a retry after an unclear failure starts again at
the look-up, so a timeout after Sage committed never yields a second document. An order's
ledger postings (credit note, receipts, payments) are looked up once per order and counted
as they are posted, not once per payment. Right before each write the poster renews the
worker's claim (`recon.sync.claims.check_lease`). Restock or write-off (`recon.sync.returns`)
changes nothing here: the API posts credit notes to the sales ledger only (it has no SOP return), so
no refund moves Sage stock either way. Not verified against real Sage: whether a
net-negative store-day tender is accepted as a bank receipt (else it needs a bank payment).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from recon.clients import RejectedError, TransientError
from recon.clients._types import VendorModel
from recon.clients.sitoo import SitooOrder
from recon.config.mappings import Mappings, vat_key
from recon.erp.sage200.client import (
    BankPostedTransaction,
    Customer,
    Sage200Client,
    SalesPostedTransaction,
    SopOrder,
    odata_string,
)
from recon.erp.sage200.collector import is_active, ledger_kind
from recon.pos.rules import line_values, original_order_id, product_lines
from recon.sync._outcome import Outcome
from recon.sync._retry import retry_transient
from recon.sync.claims import check_lease
from recon.sync.customers import Customers
from recon.sync.takings import StoreDayJournal

T = TypeVar("T")
M = TypeVar("M", bound=VendorModel)
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
        self.sales_nominal = mappings.options.sales_nominal
        self._customer_id: int | None = None
        self.customers = Customers(
            lambda email: [
                c.id
                for c in client.find_customers_by_email(email)
                if is_active(c.account_status_type)
            ],
            lambda: self.customer_id,
        )
        self._prefetched: dict[str, tuple[list[SopOrder], list[SalesPostedTransaction]]] = {}
        # POS order id -> the customer of the SOP order this poster found or posted for it,
        # so a refund of a sale handled in the same run needs no look-up for its customer
        self._sold_to: dict[str, int] = {}
        self._lock = threading.Lock()

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
        return retry_transient(step, self.attempts, self.wait)

    # ------------------------------------------------------------ look-ups
    def prefetch(self, oids: Sequence[str]) -> None:
        """Look up many claimed orders at once: their SOP orders and ledger postings then
        serve as each order's first look-up (a retry looks again). Call only after claiming
        them, so nobody else writes for them meanwhile.

        One request per resource and id length: a string range (`ge`/`le`) over the ids,
        matched exactly here, so a wider answer costs only bytes. Any failure leaves the
        orders to look themselves up.
        """
        by_length: dict[int, list[str]] = defaultdict(list)
        for oid in oids:
            by_length[len(oid)].append(oid)
        found: dict[str, tuple[list[SopOrder], list[SalesPostedTransaction]]] = {
            oid: ([], []) for oid in oids
        }
        for ids in by_length.values():
            lo, hi = odata_string(min(ids)), odata_string(max(ids))
            sops = self._valid(
                "sop_orders",
                SopOrder,
                f"customer_document_no ge {lo} and customer_document_no le {hi}",
                "lines",
            )
            ledger = self._valid(
                "sales_posted_transactions",
                SalesPostedTransaction,
                f"reference ge {lo} and reference le {hi}",
            )
            if sops is None or ledger is None:
                return
            for o in sops:
                if o.customer_document_no in found:
                    found[o.customer_document_no][0].append(o)
            for t in ledger:
                if t.reference in found:
                    found[t.reference][1].append(t)
        with self._lock:
            self._prefetched.update(found)

    def _valid(
        self, resource: str, model: type[M], flt: str, expand: str | None = None
    ) -> list[M] | None:
        fetched = list(self.client.iter_collection(resource, model, filter=flt, expand=expand))
        if any(f.item is None for f in fetched):
            return None  # a record that does not fit: each order looks itself up
        return [f.item for f in fetched if f.item is not None]

    def _first_lookup(self, oid: str) -> tuple[list[SopOrder], list[SalesPostedTransaction]] | None:
        with self._lock:
            return self._prefetched.pop(oid, None)

    # ------------------------------------------------------------ posting
    def post_sale(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        first = self._first_lookup(oid)
        sops = [first[0]] if first else []
        outcome, customer = self._retrying(
            lambda: self._sale_document(order, oid, day, location, sops)
        )
        ledger = _Ledger(self.client, oid, first[1] if first else None)
        tenders = self._tenders(
            order, oid, day, "receipt", self.client.create_sales_receipt, ledger, customer
        )
        return [outcome, *tenders]

    def post_refund(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        first = self._first_lookup(oid)
        ledger = _Ledger(self.client, oid, first[1] if first else None)
        customer = self._retrying(lambda: self._refund_customer(order))
        outcomes = [self._retrying(lambda: self._credit_note(order, oid, day, ledger, customer))]
        outcomes += self._tenders(
            order, oid, day, "payment", self.client.create_sales_payment, ledger, customer
        )
        return outcomes

    def _refund_customer(self, order: SitooOrder) -> int:
        """The customer of the original sale's SOP order, else the one a sale would get."""
        original = original_order_id(order)
        with self._lock:
            known = self._sold_to.get(original) if original else None
        if known is not None:
            return known
        sold = self.client.find_sop_orders(original) if original else []
        found = next((o.customer_id for o in sold if o.customer_id is not None), None)
        return found if found is not None else self.customers.for_order(order)

    def _sale_document(
        self,
        order: SitooOrder,
        oid: str,
        day: date,
        location: str,
        prefetched: list[list[SopOrder]] | None = None,
    ) -> tuple[Outcome, int]:
        """The order's SOP order, found or posted, and its customer."""
        # The prefetched look-up serves the first attempt only; a retry looks again.
        found = prefetched.pop() if prefetched else self.client.find_sop_orders(oid)
        if found:
            customer = found[0].customer_id
            outcome = Outcome(f"sale:{oid}", "sale", "exists", found[0].document_no)
            if customer is None:
                return outcome, self.customers.for_order(order)
            self._sold(oid, customer)
            return outcome, customer
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
        customer = self.customers.for_order(order)
        body = {
            "customer_id": customer,
            "document_date": day.isoformat(),
            "customer_document_no": oid,
            "lines": lines,
        }
        check_lease()
        doc = self.client.create_sop_order(body)
        self._sold(oid, customer)
        return Outcome(f"sale:{oid}", "sale", "posted", doc.document_no), customer

    def _sold(self, oid: str, customer: int) -> None:
        with self._lock:
            self._sold_to[oid] = customer

    def _credit_note(
        self, order: SitooOrder, oid: str, day: date, ledger: _Ledger, customer: int
    ) -> Outcome:
        found = ledger.of_kind("credit_note")
        if found:
            return Outcome(f"credit_note:{oid}", "refund", "exists", found[0])
        goods: dict[str, Decimal] = defaultdict(Decimal)
        taxes: dict[str, Decimal] = defaultdict(Decimal)
        for item in product_lines(order):
            code = self.mappings.tax[vat_key(line_values(item)["vat_rate"])].tax_code
            goods[code] += abs(item.moneyitemtotal_net or Decimal(0))
            taxes[code] += abs(item.moneyitemtotal_vat or Decimal(0))
        original = original_order_id(order)
        body: dict[str, Any] = {
            "customer_id": customer,
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
                    "code": self.sales_nominal,
                    "cost_centre": "",
                    "department": "",
                    "narrative": f"POS refund {oid}",
                    "value": sum(goods.values(), Decimal(0)),
                }
            ],
        }
        urn = ledger.write(lambda: self.client.create_sales_credit_note(body))
        return Outcome(f"credit_note:{oid}", "refund", "posted", urn)

    def _tenders(
        self,
        order: SitooOrder,
        oid: str,
        day: date,
        kind: str,
        create: Callable[[dict[str, Any]], str],
        ledger: _Ledger,
        customer: int,
    ) -> list[Outcome]:
        """One receipt (or payment) per POS payment; existing ones match by tender and rank.

        The order's ledger postings are looked up once and counted as this loop posts; only
        after an unclear failure are they read again.
        """
        outcomes = []
        for no, payment in enumerate(order.payments, start=1):
            amount = abs(payment.moneyamount)

            def step(no: int = no, tender: str = payment.name, amount: Decimal = amount) -> Outcome:
                key = f"{kind}:{oid}:{no}"
                # The n-th payment of a tender matches the n-th posting of that tender.
                same = ledger.of_kind(kind, tender[:REF_MAX])
                rank = sum(1 for p in order.payments[: no - 1] if p.name == tender)
                if rank < len(same):
                    return Outcome(key, kind, "exists", same[rank])
                body = {
                    "customer_id": customer,
                    "bank_id": self._bank(tender),
                    "cheque_value": amount,
                    "transaction_date": day.isoformat(),
                    "reference": oid,
                    "second_reference": tender[:REF_MAX],
                }
                urn = ledger.write(lambda: create(body), kind, tender[:REF_MAX])
                return Outcome(key, kind, "posted", urn)

            outcomes.append(self._retrying(step))
        return outcomes

    # ------------------------------------------------------------ daily journal
    def find_journal(self, reference: str, tender: str) -> BankPostedTransaction | None:
        """The bank receipt posted for one store-day and tender, if there is one."""
        for tx in self.client.find_bank_posted_transactions(reference):
            if (tx.second_reference or "") == tender[:REF_MAX] and ledger_kind(
                tx.bank_transaction_type
            ) in ("receipt", None):
                return tx
        return None

    def post_journals(self, journals: Sequence[StoreDayJournal]) -> list[Outcome]:
        """Look up, then post, one bank receipt (`POST /bank_receipt`) per store-day-tender."""
        return [self._retrying(partial(self._journal, j)) for j in journals]

    def _journal(self, j: StoreDayJournal) -> Outcome:
        key = j.post_key
        found = self.find_journal(j.reference, j.tender)
        if found is not None:
            return Outcome(key, "journal", "exists", _urn_bank(found), found.cheque_value)
        if len(j.reference) > REF_MAX:
            raise MasterDataError(
                f"journal reference {j.reference} is longer than {REF_MAX} characters: "
                "use shorter store ids"
            )
        items = []
        for code, (net, vat) in sorted(j.splits.items()):
            item: dict[str, Any] = {
                "code": self.sales_nominal,
                "cost_centre": "",
                "department": "",
                "narrative": f"POS takings {j.reference} {j.tender} tax code {code}",
                "goods_value": net,
                "tax_value": vat,
                "gross_value": net + vat,
                "transaction_date": j.day.isoformat(),
                "reference": j.reference,
            }
            if code in self.tax_ids:
                item["tax_code_id"] = self.tax_ids[code]
            items.append(item)
        body = {
            "bank_id": self._bank(j.tender),
            "transaction_date": j.day.isoformat(),
            "reference": j.reference,
            "second_reference": j.tender[:REF_MAX],
            "narrative": f"POS takings store {j.store_id} {j.day.isoformat()} {j.tender}",
            "nominal_analysis_items": items,
        }
        check_lease()
        urn = self.client.create_bank_receipt(body)
        return Outcome(key, "journal", "posted", urn, j.amount)


class _Ledger:
    """One order's sales-ledger postings, read once and kept up to date as we post.

    After a write that failed unclearly the list is dropped, so the retry reads Sage again.
    """

    def __init__(
        self, client: Sage200Client, oid: str, known: list[SalesPostedTransaction] | None = None
    ) -> None:
        self.client, self.oid = client, oid
        self._seen: list[tuple[str | None, str, str]] | None = None  # kind, 2nd ref, urn
        if known is not None:
            self._seen = [_seen(t) for t in known]

    def _load(self) -> list[tuple[str | None, str, str]]:
        if self._seen is None:
            self._seen = [_seen(t) for t in self.client.find_posted_transactions(self.oid)]
        return self._seen

    def of_kind(self, kind: str, second_reference: str | None = None) -> list[str]:
        return [
            urn
            for k, ref2, urn in self._load()
            if k == kind and (second_reference is None or ref2 == second_reference)
        ]

    def write(self, post: Callable[[], str], kind: str = "credit_note", ref2: str = "") -> str:
        seen = self._load()
        check_lease()
        try:
            urn = post()
        except TransientError:
            self._seen = None
            raise
        seen.append((kind, ref2, urn))
        return urn


def _seen(t: SalesPostedTransaction) -> tuple[str | None, str, str]:
    return (ledger_kind(t.trader_transaction_type), t.second_reference or "", _urn(t))


def _urn(tx: SalesPostedTransaction) -> str:
    return str(tx.urn if tx.urn is not None else tx.id)


def _urn_bank(tx: BankPostedTransaction) -> str:
    return str(tx.urn if tx.urn is not None else tx.id)
