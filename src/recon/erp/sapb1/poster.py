"""Posting POS sales and refunds to SAP Business One, each one looked up by its POS id first.

- sale   -> A/R invoice (`POST /Invoices`), `NumAtCard` = POS order id, `CardCode` = the
            customer whose `EmailAddress` is the order's, else the guest (`recon.sync.customers`),
            one line per POS product line with `ItemCode`, `Quantity`, the mapped
            `WarehouseCode` and `VatGroup`, the POS net in `LineTotal` and the POS VAT in
            `TaxTotal` (so B1 does not recompute VAT per line and drift by a penny); then one
            incoming payment
            (`POST /IncomingPayments`) for the whole order, `CounterReference` = order id,
            applied to the invoice.
- refund -> A/R credit note (`POST /CreditNotes`), `NumAtCard` = refund id, each line based
            on the original sale's invoice line (`BaseType` 13, `BaseEntry`, `BaseLine`), to
            the invoice's customer, `Comments` = `Return of POS order {original id}`; a
            written-off line (`recon.sync.returns`) has `WithoutInventoryMovement` = tYES
            ("Without Qty Posting": the credit, no stock back into the warehouse), a
            restocked one returns its quantity to the line's warehouse; then one outgoing
            payment (`POST /VendorPayments`) to the same customer, applied to the credit note.
- store-day journal (daily journal mode) -> `POST /JournalEntries`, `Reference` =
            `{store id}-{YYYY-MM-DD}`, `Reference2` = tender: the tender's account debited
            with the takings, the sales account (`[settings] sales_account`, default 4000)
            credited with the net and each tax code's account with its VAT.

Tenders: a tender whose mapped G/L account has a B1 credit card (`/CreditCards`,
`GLAccount`) becomes a `PaymentCreditCards` line with that card (the one named like the
tender when several post to the account), `CreditAcct` = the account, `VoucherNum` =
`{order id}-{payment no}`; a tender mapped to a cash account (`CashAccount` = tYES) goes to
`CashAccount` / `CashSum`. Any other mapping is refused with the fix named.

Exactly once: every write is preceded by its look-up (`NumAtCard`, `CounterReference`,
journal `Reference` + `Reference2`); the client never repeats a POST after an unclear
failure, and the retry here (after any transient error) starts again at the look-up.
Cancelled documents and payments do not count as found. Right before each write the
poster renews the worker's claim (`recon.sync.claims.check_lease`).

Limits: a refund line is based on the first invoice line of its SKU with enough quantity
on the invoice (credits by earlier refunds are not subtracted, B1 refuses the line then);
a refund line that finds no such invoice line is posted unbased at the refund's warehouse.
A refund whose original sale has no invoice in B1 is refused (it posts on a later run, once
the sale is in). Payments of 0.00 are not posted. Mixed-sign orders (exchanges) are posted
with absolute amounts, like the Sage 200 poster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from recon.clients import NotFoundError, RejectedError, SitooOrder
from recon.config.mappings import Mappings, vat_key
from recon.erp.sapb1.client import BusinessPartner, CreditCard, Document, JournalEntry, SapB1Client
from recon.pos.rules import line_values, original_order_id, product_lines
from recon.sync._outcome import Outcome
from recon.sync._retry import retry_transient
from recon.sync.claims import check_lease
from recon.sync.customers import Customers
from recon.sync.returns import is_written_off
from recon.sync.takings import StoreDayJournal

__all__ = ["ERP", "MasterDataError", "SapB1Poster", "TenderRoute"]

T = TypeVar("T")
ERP = "sapb1"
PRICE = Decimal("0.000001")  # B1 keeps unit prices to six places
ZERO = Decimal("0.00")
BASE_INVOICE = 13  # B1 object type of an A/R invoice


class MasterDataError(RejectedError):
    """SAP B1 lacks something the mappings name (guest customer, warehouse, card, account)."""

    def __init__(self, message: str) -> None:
        super().__init__(ERP, None, message, message)


@dataclass(frozen=True)
class TenderRoute:
    """Where one tender's money goes in an incoming / outgoing payment."""

    account: str
    card: int | None  # B1 credit card code; None = cash (`CashAccount` / `CashSum`)


def _live(found: Iterable[T]) -> list[T]:
    """Records that still count: not cancelled, oldest (lowest key) first."""
    kept = [f for f in found if getattr(f, "Cancelled", None) != "tYES"]
    return sorted(kept, key=lambda f: int(getattr(f, "DocEntry", 0) or getattr(f, "JdtNum", 0)))


def _ref(doc: Document) -> str:
    return str(doc.DocNum if doc.DocNum is not None else doc.DocEntry)


class SapB1Poster:
    """The `recon.sync.protocol.Poster` (and its `JournalPoster`) for SAP Business One."""

    erp = ERP

    def __init__(
        self, client: SapB1Client, mappings: Mappings, *, attempts: int = 4, wait: float = 1.0
    ) -> None:
        self.client = client
        self.mappings = mappings
        self.attempts = attempts
        self.wait = wait
        self._known_skus = {f.item.ItemCode for f in client.iter_items() if f.item is not None}
        accounts = [f.item for f in client.iter_accounts() if f.item is not None]
        self._active_accounts = {a.Code for a in accounts if a.active}
        self.cash_accounts = {a.Code for a in accounts if a.CashAccount == "tYES"}
        self.cards: dict[str, list[CreditCard]] = defaultdict(list)
        for card in (f.item for f in client.iter_credit_cards() if f.item is not None):
            if card.GLAccount:
                self.cards[card.GLAccount].append(card)
        self.warehouses = {
            w.WarehouseCode
            for w in (f.item for f in client.iter_warehouses() if f.item is not None)
            if w.Inactive != "tYES"
        }
        self.sales_account = mappings.options.sales_account
        self.writeoff = mappings.options.writeoff_reasons
        self.customers = Customers(
            lambda email: [c.CardCode for c in client.find_customers_by_email(email) if c.active],
            lambda: self.customer,
        )
        self._customer: str | None = None

    @property
    def known_skus(self) -> Collection[str]:
        return self._known_skus

    @property
    def active_accounts(self) -> Collection[str]:
        return self._active_accounts

    # ------------------------------------------------------------ master data
    @property
    def customer(self) -> str:
        """The guest business partner's `CardCode`, checked once."""
        if self._customer is None:
            code = self.mappings.guest_customer
            try:
                self.client.get("BusinessPartners", code, BusinessPartner)
            except NotFoundError:
                raise MasterDataError(
                    f"guest customer '{code}' is not a business partner in SAP B1: "
                    "create it or set [settings] guest_customer in mappings"
                ) from None
            self._customer = code
        return self._customer

    def _warehouse(self, location: str) -> str:
        if location not in self.warehouses:
            raise MasterDataError(
                f"warehouse '{location}' is not an active SAP B1 warehouse: fix the store mapping"
            )
        return location

    def route(self, tender: str) -> TenderRoute:
        """Card line or cash for `tender`, from its mapped account (see the module text)."""
        account = self.mappings.tenders[tender]
        cards = self.cards.get(account, [])
        if cards:
            named = [c for c in cards if (c.CreditCardName or "").lower() == tender.lower()]
            card = min(named or cards, key=lambda c: c.CreditCardCode)
            return TenderRoute(account, card.CreditCardCode)
        if account in self.cash_accounts:
            return TenderRoute(account, None)
        raise MasterDataError(
            f"tender '{tender}' maps to G/L account {account}, which is neither a cash account "
            "nor the account of a credit card in SAP B1: define a credit card with that G/L "
            "account (Administration > Setup > Banking > Credit Cards) or re-map the tender"
        )

    def _retrying(self, step: Callable[[], T]) -> T:
        """Run look-up-then-write `step` again after a transient failure."""
        return retry_transient(step, self.attempts, self.wait)

    # ------------------------------------------------------------ posting
    def post_sale(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        outcome, invoice = self._retrying(lambda: self._invoice(order, oid, day, location))
        tenders = self._retrying(
            lambda: self._payment(order, oid, day, "receipt", "IncomingPayments", invoice)
        )
        return [outcome, *tenders]

    def post_refund(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        oid = str(order.orderid)
        outcome, note = self._retrying(lambda: self._credit_note(order, oid, day, location))
        tenders = self._retrying(
            lambda: self._payment(order, oid, day, "payment", "VendorPayments", note)
        )
        return [outcome, *tenders]

    def _header(self, order: SitooOrder, oid: str, day: date, customer: str) -> dict[str, Any]:
        head: dict[str, Any] = {
            "CardCode": customer,
            "DocDate": day.isoformat(),
            "DocDueDate": day.isoformat(),
            "TaxDate": day.isoformat(),
            "NumAtCard": oid,
        }
        if order.currencycode:
            head["DocCurrency"] = order.currencycode
        return head

    def _line(self, item: Any, warehouse: str) -> dict[str, Any]:
        v = line_values(item)
        qty = abs(v["quantity"])
        net = abs(item.moneyitemtotal_net or ZERO)
        return {
            "ItemCode": item.sku,
            "Quantity": qty,
            "Price": (net / qty).quantize(PRICE) if qty else ZERO,
            "LineTotal": net,
            "TaxTotal": abs(item.moneyitemtotal_vat or ZERO),
            "VatGroup": self.mappings.tax[vat_key(v["vat_rate"])].tax_code,
            "WarehouseCode": warehouse,
        }

    def _invoice(
        self, order: SitooOrder, oid: str, day: date, location: str
    ) -> tuple[Outcome, Document]:
        key = f"sale:{oid}"
        found = _live(self.client.find_by_num_at_card("Invoices", oid))
        if found:
            return Outcome(key, "sale", "exists", _ref(found[0])), found[0]
        warehouse = self._warehouse(location)
        lines = [
            self._line(item, warehouse)
            for item in product_lines(order)
            if line_values(item)["quantity"] != 0
        ]
        receipt = order.additionaldata.get("pos-receiptid")
        body = {
            **self._header(order, oid, day, self.customers.for_order(order)),
            "Comments": f"Sitoo order {oid}" + (f" receipt {receipt}" if receipt else ""),
            "DocumentLines": lines,
        }
        check_lease()
        doc = self.client.create_invoice(body)
        return Outcome(key, "sale", "posted", _ref(doc)), doc

    def _credit_note(
        self, order: SitooOrder, oid: str, day: date, location: str
    ) -> tuple[Outcome, Document]:
        key = f"credit_note:{oid}"
        found = _live(self.client.find_by_num_at_card("CreditNotes", oid))
        if found:
            return Outcome(key, "refund", "exists", _ref(found[0])), found[0]
        original = original_order_id(order)
        invoices = _live(self.client.find_by_num_at_card("Invoices", original)) if original else []
        if not invoices:
            raise MasterDataError(
                f"refund {oid}: its sale {original or '(not named)'} has no A/R invoice in "
                "SAP B1 yet, so the credit note cannot be based on it; it posts once the sale is in"
            )
        invoice = invoices[0]
        warehouse = self._warehouse(location)
        taken: dict[int, Decimal] = defaultdict(Decimal)  # invoice LineNum -> quantity used
        lines = []
        for item in product_lines(order):
            line = self._line(item, warehouse)
            qty = line["Quantity"]
            if qty == 0:
                continue
            base = next(
                (
                    b
                    for b in invoice.DocumentLines
                    if b.ItemCode == item.sku
                    and b.LineNum is not None
                    and (b.Quantity or ZERO) - taken[b.LineNum] >= qty
                ),
                None,
            )
            if is_written_off(item, self.writeoff):
                line["WithoutInventoryMovement"] = "tYES"  # B1 "Without Qty Posting"
            if base is not None and base.LineNum is not None:
                taken[base.LineNum] += qty
                line = {
                    "BaseType": BASE_INVOICE,
                    "BaseEntry": invoice.DocEntry,
                    "BaseLine": base.LineNum,
                    **line,
                }
            lines.append(line)
        body = {
            **self._header(order, oid, day, invoice.CardCode or self.customers.for_order(order)),
            "Comments": f"Return of POS order {original}",
            "DocumentLines": lines,
        }
        check_lease()
        doc = self.client.create_credit_note(body)
        return Outcome(key, "refund", "posted", _ref(doc)), doc

    def _payment(
        self, order: SitooOrder, oid: str, day: date, kind: str, entity: str, doc: Document
    ) -> list[Outcome]:
        """One incoming (or outgoing) payment for all of the order's tenders; an outcome per
        POS payment, all naming that payment's `DocNum`."""
        keys = [f"{kind}:{oid}:{no}" for no in range(1, len(order.payments) + 1)]
        if not keys:
            return []
        found = _live(self.client.find_payments(entity, oid))
        if found:
            ref = str(found[0].DocNum or found[0].DocEntry)
            return [Outcome(k, kind, "exists", ref) for k in keys]
        cash: Decimal = ZERO
        cash_account: str | None = None
        cards: list[dict[str, Any]] = []
        for no, payment in enumerate(order.payments, start=1):
            amount = abs(payment.moneyamount)
            if amount == 0:
                continue
            route = self.route(payment.name)
            if route.card is None:
                if cash_account not in (None, route.account):
                    raise MasterDataError(
                        f"order {oid}: tenders post as cash to two accounts ({cash_account}, "
                        f"{route.account}); SAP B1 takes one cash account per payment"
                    )
                cash_account, cash = route.account, cash + amount
            else:
                cards.append(
                    {
                        "CreditCard": route.card,
                        "CreditAcct": route.account,
                        "VoucherNum": f"{oid}-{no}",
                        "CreditSum": amount,
                    }
                )
        total = cash + sum((c["CreditSum"] for c in cards), ZERO)
        if total == 0:
            return [Outcome(k, kind, "empty", None) for k in keys]
        body: dict[str, Any] = {
            "DocType": "rCustomer",
            "CardCode": doc.CardCode or self.customer,
            "DocDate": day.isoformat(),
            "CounterReference": oid,
            "Remarks": f"Sitoo order {oid}",
            "PaymentCreditCards": cards,
        }
        if order.currencycode:
            body["DocCurrency"] = order.currencycode
        if cash_account is not None:
            body["CashAccount"], body["CashSum"] = cash_account, cash
        open_amount = (doc.DocTotal or ZERO) - (doc.PaidToDate or ZERO)
        if open_amount > 0:
            body["PaymentInvoices"] = [
                {
                    "DocEntry": doc.DocEntry,
                    "SumApplied": min(total, open_amount),
                    "InvoiceType": "it_Invoice" if kind == "receipt" else "it_CredItnote",
                }
            ]
        check_lease()
        if entity == "IncomingPayments":
            paid = self.client.create_incoming_payment(body)
        else:
            paid = self.client.create_vendor_payment(body)
        ref = str(paid.DocNum or paid.DocEntry)
        return [Outcome(k, kind, "posted", ref) for k in keys]

    # ------------------------------------------------------------ daily journal
    def find_journal(self, reference: str, tender: str) -> JournalEntry | None:
        """The journal entry posted for one store-day and tender, if there is one."""
        for entry in _live(self.client.find_journal_entries(reference)):
            if (entry.Reference2 or "") == tender:
                return entry
        return None

    def post_journals(self, journals: Sequence[StoreDayJournal]) -> list[Outcome]:
        """Look up, then post, one journal entry per store-day-tender."""
        return [self._retrying(partial(self._journal, j)) for j in journals]

    def _journal(self, j: StoreDayJournal) -> Outcome:
        found = self.find_journal(j.reference, j.tender)
        if found is not None:
            account = self.mappings.tenders[j.tender]
            on_tender = [ln for ln in found.JournalEntryLines if ln.AccountCode == account]
            amount = sum(((ln.Debit or ZERO) - (ln.Credit or ZERO) for ln in on_tender), ZERO)
            return Outcome(j.post_key, "journal", "exists", str(found.JdtNum), amount)
        vat_account = {t.tax_code: t.account for t in self.mappings.tax.values()}
        memo = f"POS takings {j.reference} {j.tender}"
        lines = [_je_line(self.mappings.tenders[j.tender], j.amount, memo)]
        for code, (net, vat) in sorted(j.splits.items()):
            lines.append(_je_line(self.sales_account, -net, f"{memo} net tax code {code}"))
            if vat:
                if code not in vat_account:
                    raise MasterDataError(f"tax code {code} has no VAT account in mappings")
                lines.append(_je_line(vat_account[code], -vat, f"{memo} VAT tax code {code}"))
        lines = [ln for ln in lines if ln["Debit"] or ln["Credit"]]
        body = {
            "ReferenceDate": j.day.isoformat(),
            "TaxDate": j.day.isoformat(),
            "DueDate": j.day.isoformat(),
            "Memo": memo[:50],
            "Reference": j.reference,
            "Reference2": j.tender,
            "JournalEntryLines": lines,
        }
        check_lease()
        entry = self.client.create_journal_entry(body)
        return Outcome(j.post_key, "journal", "posted", str(entry.JdtNum), j.amount)


def _je_line(account: str, amount: Decimal, memo: str) -> dict[str, Any]:
    """A journal line: positive amounts debit `account`, negative ones credit it."""
    return {
        "AccountCode": account,
        "Debit": amount if amount > 0 else ZERO,
        "Credit": -amount if amount < 0 else ZERO,
        "LineMemo": memo[:50],
    }
