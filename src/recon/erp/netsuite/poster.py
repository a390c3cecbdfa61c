"""Posting POS sales and refunds to NetSuite, each document looked up by its POS id first.

- sale   -> `invoice` upserted at `eid:{order id}`, `otherRefNum` = order id, `location` =
            the mapped location (internal id, also on every line), as `entity` the customer
            whose `email` is the order's, else the guest (`recon.sync.customers`); one item line
            per POS line: `quantity`, the POS net as `amount`, the mapped tax code (internal
            id) as `taxCode` and the POS line VAT as `tax1Amt`, so NetSuite keeps the POS
            VAT instead of recomputing it (DOMAIN "VAT").
            Then one `customerPayment` per POS payment at `eid:{order id}-{payment no}`,
            `account` = the mapped account (by `acctNumber`), `memo` = the tender name,
            applied to the invoice, from the invoice's customer.
- refund -> `creditMemo` at `eid:{refund id}`, `otherRefNum` = refund id, `createdFrom` = the
            original sale's invoice when NetSuite has it (and its `entity`); its `memo` always names
            "POS order {original id}" (what the collector falls back on without
            `createdFrom`). Lines as for a sale with positive quantities and amounts; a
            written-off line (`recon.sync.returns`) is at the `[settings] writeoff_location` (a
            location outside the stores' sellable stock: a NetSuite credit memo has no
            per-line "do not restock", its items return to the line's location). Then one
            `customerRefund` per refund tender at `eid:{refund id}-{payment no}`, applied to
            the credit memo. A tender of the other sign (a negative payment on a sale) is
            posted as the other record type under the same external id scheme.
- store-day (daily journal mode) -> one `journalEntry` upserted at `eid:{store id}-{YYYY-MM-DD}`
            (NetSuite keeps `externalId` unique per record type, so one entry carries every
            tender of the store-day): per tender a line on its mapped account (debit the
            takings, credit money paid back) with `memo` = the tender name, then per tax
            code the net on the sales account (`[settings] sales_account`, an acctNumber,
            default 4000) and the VAT on the tax mapping's account; every line at the mapped
            location. A journal found at that external id is kept; its amount per tender is
            read from the lines on the tender's account with the tender's memo.
Every write is an upsert by external id, preceded by a `GET .../eid:{id}`: a document that is
already there (posted earlier, or keyed by hand) is left exactly as it is and reported as
`exists`. After a transient failure the step starts again at the look-up, so a write whose
answer was lost is found, never written twice (the client never repeats a POST; we PUT).

Limits: the look-up is by `externalId` only (CONTRACT), so a document keyed by hand with only
`otherRefNum` is not seen and the sale is posted beside it (the collector then reports the
pair as `duplicate_in_erp`). A refund whose sale is not in NetSuite goes without
`createdFrom` (the memo still names the sale; `recon.sync.run` posts a refund after a sale of the
same batch).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from recon.clients import NotFoundError, RejectedError
from recon.clients.sitoo import SitooOrder, SitooPayment
from recon.config.mappings import Mappings, vat_key
from recon.erp.netsuite.client import NetSuiteClient
from recon.pos.rules import line_values, original_order_id, product_lines
from recon.sync._outcome import Outcome
from recon.sync._retry import retry_transient
from recon.sync.claims import check_lease
from recon.sync.customers import Customers
from recon.sync.returns import is_written_off
from recon.sync.takings import StoreDayJournal

__all__ = ["MasterDataError", "NetSuitePoster"]

T = TypeVar("T")
UNIT = Decimal("0.00001")  # unit rates: the line amount is sent exactly beside them


class MasterDataError(RejectedError):
    """NetSuite lacks something the mappings name (guest customer, location, account)."""

    def __init__(self, message: str) -> None:
        super().__init__("netsuite", None, message, message)


@dataclass(frozen=True)
class _Posted:
    outcome: Outcome
    internal_id: str
    customer: str | None = None  # a document's `entity`


def _entity(record: dict[str, Any]) -> str | None:
    ref = record.get("entity")
    return str(ref["id"]) if isinstance(ref, dict) and ref.get("id") else None


class NetSuitePoster:
    """The `recon.sync.protocol.Poster` (and its `JournalPoster`) for NetSuite."""

    erp = "netsuite"

    def __init__(
        self, client: NetSuiteClient, mappings: Mappings, *, attempts: int = 4, wait: float = 1.0
    ) -> None:
        self.client = client
        self.mappings = mappings
        self.attempts = attempts
        self.wait = wait
        items = [f.item for f in client.iter_inventory_items() if f.item is not None]
        self.item_ids = {i.itemId: i.id for i in items if i.itemId}
        accounts = [f.item for f in client.iter_accounts() if f.item is not None]
        self.account_ids = {a.acctNumber: a.id for a in accounts if a.acctNumber}
        self.location_ids = {
            loc.id for loc in (f.item for f in client.iter_locations()) if loc is not None
        }
        self.known_skus: set[str] = set(self.item_ids)
        self.active_accounts: set[str] = {
            a.acctNumber for a in accounts if a.acctNumber and not a.isInactive
        }
        self.writeoff = mappings.options.writeoff_reasons
        self._customer_id: str | None = None
        self._lock = threading.Lock()
        self.customers = Customers(
            lambda email: [c.id for c in client.find_customers_by_email(email) if not c.isInactive],
            lambda: self.customer_id,
        )

    # ------------------------------------------------------------ master data
    @property
    def customer_id(self) -> str:
        """Internal id of the guest customer (`[settings] guest_customer` = its entityId)."""
        with self._lock:
            if self._customer_id is None:
                ref = self.mappings.guest_customer
                found = self.client.find_customer(ref)
                if found is None:
                    raise MasterDataError(
                        f"guest customer '{ref}' (entityId) is not in NetSuite: create it or "
                        "set [settings] guest_customer in mappings"
                    )
                self._customer_id = found.id
            return self._customer_id

    def _location(self, location: str, fix: str = "the store mapping") -> str:
        if location not in self.location_ids:
            raise MasterDataError(
                f"location '{location}' is not a NetSuite location internal id: fix {fix}"
            )
        return location

    def _writeoff_location(self) -> str:
        """Where written-off refund lines go back to (`[settings] writeoff_location`)."""
        location = self.mappings.options.writeoff_location
        if not location:
            raise MasterDataError(
                "a refund line is written off, but [settings] writeoff_location (the NetSuite "
                "location internal id that takes written-off returns) is not set in mappings"
            )
        return self._location(location, "[settings] writeoff_location")

    def _account(self, tender: str) -> str:
        return self._gl(self.mappings.tenders[tender], f"tender '{tender}'")

    def _gl(self, number: str, what: str) -> str:
        """Internal id of the account whose `acctNumber` is `number`."""
        if number not in self.account_ids:
            raise MasterDataError(f"account '{number}' ({what}) is not in NetSuite")
        return self.account_ids[number]

    def _retrying(self, step: Callable[[], T]) -> T:
        """Run look-up-then-write `step` again after a transient failure."""
        return retry_transient(step, self.attempts, self.wait)

    # ------------------------------------------------------------ posting
    def post_sale(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        invoice = self._retrying(
            lambda: self._document(
                "invoice",
                oid,
                f"sale:{oid}",
                "sale",
                lambda: self._sale_body(order, oid, day, location),
            )
        )
        return [invoice.outcome, *self._tenders(order, oid, day, invoice, sale=True)]

    def post_refund(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        memo = self._retrying(
            lambda: self._document(
                "creditMemo",
                oid,
                f"credit_note:{oid}",
                "refund",
                lambda: self._refund_body(order, oid, day, location),
            )
        )
        return [memo.outcome, *self._tenders(order, oid, day, memo, sale=False)]

    def _find(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        try:
            return self.client.get_raw(
                record_type, f"eid:{external_id}", expand=False, fields=("id", "tranId", "entity")
            )
        except NotFoundError:
            return None

    def _document(
        self,
        record_type: str,
        external_id: str,
        key: str,
        kind: str,
        body: Callable[[], dict[str, Any]],
    ) -> _Posted:
        """Look `external_id` up; when absent, upsert `body()` there and read its tranId."""
        found = self._find(record_type, external_id)
        if found is not None:
            outcome = Outcome(key, kind, "exists", _tran_id(found))
            return _Posted(outcome, str(found["id"]), _entity(found))
        payload = body()
        internal_id, tran_id = self._write(record_type, external_id, payload)
        return _Posted(Outcome(key, kind, "posted", tran_id), internal_id, _entity(payload))

    def _write(
        self, record_type: str, external_id: str, payload: dict[str, Any]
    ) -> tuple[str, str | None]:
        """Upsert `payload` at `eid:{external_id}`; its internal id and tranId."""
        check_lease()
        internal_id = self.client.upsert_by_external_id(record_type, external_id, payload)
        stored = self.client.get_raw(record_type, internal_id, expand=False, fields=("tranId",))
        return internal_id, _tran_id(stored)

    def _lines(self, order: SitooOrder, location: str) -> list[dict[str, Any]]:
        lines = []
        for item in product_lines(order):
            line_location = location
            if is_written_off(item, self.writeoff):
                line_location = self._writeoff_location()
            v = line_values(item)
            qty = abs(v["quantity"])
            net = abs(item.moneyitemtotal_net or Decimal(0))
            lines.append(
                {
                    "item": {"id": self.item_ids[item.sku or ""]},
                    "description": item.productname or item.sku,
                    "quantity": qty,
                    "rate": (net / qty).quantize(UNIT) if qty else Decimal(0),
                    "amount": net,
                    "taxCode": {"id": self.mappings.tax[vat_key(v["vat_rate"])].tax_code},
                    "tax1Amt": abs(v["line_vat"]),
                    "location": {"id": line_location},
                }
            )
        return lines

    def _sale_body(self, order: SitooOrder, oid: str, day: date, location: str) -> dict[str, Any]:
        loc = self._location(location)
        return {
            "entity": {"id": self.customers.for_order(order)},
            "tranDate": day.isoformat(),
            "otherRefNum": oid,
            "location": {"id": loc},
            "memo": f"POS order {oid}",
            "item": {"items": self._lines(order, loc)},
        }

    def _refund_body(self, order: SitooOrder, oid: str, day: date, location: str) -> dict[str, Any]:
        loc = self._location(location)
        original = original_order_id(order)
        invoice = self._find("invoice", original) if original else None
        customer = (_entity(invoice) if invoice else None) or self.customers.for_order(order)
        body: dict[str, Any] = {
            "entity": {"id": customer},
            "tranDate": day.isoformat(),
            "otherRefNum": oid,
            "location": {"id": loc},
            "memo": f"POS refund {oid}" + (f" of POS order {original}" if original else ""),
            "item": {"items": self._lines(order, loc)},
        }
        if invoice is not None:
            body["createdFrom"] = {"id": str(invoice["id"])}
        return body

    def _tenders(
        self, order: SitooOrder, oid: str, day: date, doc: _Posted, *, sale: bool
    ) -> list[Outcome]:
        """One customer payment (money in) or refund (money out) per POS payment."""
        outcomes = []
        for no, payment in enumerate(order.payments, start=1):
            if payment.moneyamount == 0:
                continue
            step = partial(self._tender, payment, f"{oid}-{no}", oid, no, day, doc, sale)
            outcomes.append(self._retrying(step))
        return outcomes

    def _tender(
        self,
        payment: SitooPayment,
        external_id: str,
        oid: str,
        no: int,
        day: date,
        doc: _Posted,
        sale: bool,
    ) -> Outcome:
        money_in = payment.moneyamount > 0
        record_type = "customerPayment" if money_in else "customerRefund"
        kind = "receipt" if sale else "payment"
        amount = abs(payment.moneyamount)
        # the document it settles, when the money goes the document's way
        applies = money_in == sale
        body: dict[str, Any] = {
            "customer": {"id": doc.customer or self.customer_id},
            "tranDate": day.isoformat(),
            "account": {"id": self._account(payment.name)},
            "memo": payment.name,
        }
        if money_in:
            body["payment"] = amount
        else:
            body["total"] = amount
        if applies:
            body["apply"] = {
                "items": [{"doc": {"id": doc.internal_id}, "apply": True, "amount": amount}]
            }
        posted = self._document(record_type, external_id, f"{kind}:{oid}:{no}", kind, lambda: body)
        return posted.outcome

    # ------------------------------------------------------------ daily journal
    def post_journals(self, journals: Sequence[StoreDayJournal]) -> list[Outcome]:
        """Look up, then post, the one `journalEntry` of a store-day; an outcome per tender."""
        return self._retrying(partial(self._journal, journals)) if journals else []

    def _journal(self, journals: Sequence[StoreDayJournal]) -> list[Outcome]:
        reference = journals[0].reference
        try:
            found = self.client.get_raw("journalEntry", f"eid:{reference}")
        except NotFoundError:
            found = None
        if found is not None:
            lines = (found.get("line") or {}).get("items") or []
            return [
                Outcome(j.post_key, "journal", "exists", _tran_id(found), self._on_tender(lines, j))
                for j in journals
            ]
        _, tran_id = self._write("journalEntry", reference, self._journal_body(journals))
        return [Outcome(j.post_key, "journal", "posted", tran_id, j.amount) for j in journals]

    def _on_tender(self, lines: list[dict[str, Any]], j: StoreDayJournal) -> Decimal:
        """What a found journal holds for `j`'s tender: its lines on the tender's account."""
        account = self._account(j.tender)
        return sum(
            (
                Decimal(str(ln.get("debit") or 0)) - Decimal(str(ln.get("credit") or 0))
                for ln in lines
                if (ln.get("account") or {}).get("id") == account and ln.get("memo") == j.tender
            ),
            Decimal("0.00"),
        )

    def _journal_body(self, journals: Sequence[StoreDayJournal]) -> dict[str, Any]:
        first = journals[0]
        location = self._location(self.mappings.stores[first.store_id].location)
        vat_accounts = {t.tax_code: t.account for t in self.mappings.tax.values()}
        sales = self._gl(self.mappings.options.sales_account, "sales_account")
        memo = f"POS takings {first.reference}"
        lines = [(self._account(j.tender), j.amount, j.tender) for j in journals]
        by_code: dict[str, list[Decimal]] = {}
        for j in journals:
            for code, (net, vat) in j.splits.items():
                total = by_code.setdefault(code, [Decimal(0), Decimal(0)])
                total[0] += net
                total[1] += vat
        for code, (net, vat) in sorted(by_code.items()):
            lines.append((sales, -net, f"{memo} net tax code {code}"))
            if vat:
                if code not in vat_accounts:
                    raise MasterDataError(f"tax code {code} has no VAT account in mappings")
                vat_account = self._gl(vat_accounts[code], f"VAT of tax code {code}")
                lines.append((vat_account, -vat, f"{memo} VAT tax code {code}"))
        return {
            "tranDate": first.day.isoformat(),
            "memo": memo,
            "line": {
                "items": [
                    {
                        "account": {"id": account},
                        "debit" if amount > 0 else "credit": abs(amount),
                        "memo": line_memo,
                        "location": {"id": location},
                    }
                    for account, amount, line_memo in lines
                    if amount
                ]
            },
        }


def _tran_id(record: dict[str, Any]) -> str | None:
    value = record.get("tranId")
    return str(value) if value else (str(record["id"]) if record.get("id") else None)
