"""SAP Business One collector: documents, tender postings, items, accounts and stock.

- A/R invoices -> `erp_documents` (`invoice`) + lines; `NumAtCard` is the POS order id, the
  location the first line's `WarehouseCode`, `doc_no` the `DocNum`.
- A/R credit notes -> `erp_documents` (`credit_note`) + lines, all amounts and quantities
  negative; `original_pos_ref` is the `NumAtCard` of the invoice the lines are based on
  (`BaseType` 13 / `BaseEntry`), else the id in `Comments` "Return of POS order {id}" (how
  recon's poster and the simulator's seed word a return keyed without a base document).
- Incoming payments -> `erp_journal_lines` per tender posting: `CashSum` on `CashAccount`,
  each `PaymentCreditCards` line on its `CreditAcct` (tender = the credit card's name),
  transfers on `TransferAccount`, positive; outgoing payments (refund tenders) the same,
  negative. `pos_ref` = `CounterReference`, no location (the engine takes the store from the
  order). Money is taken as B1 shows it and signed by the kind of record.
- Journal entries whose `Reference` is a store-day (`{store id}-{YYYY-MM-DD}`, daily journal
  mode) -> `erp_journal_lines`, debit minus credit; other journal entries (B1 writes one
  for every document) are left out so no tender is counted twice.
- Items -> `erp_items` (net price of `[settings] price_list`, default 1, made gross with
  the rate of the item's `SalesVATGroup`), `erp_stock` per warehouse (`InStock -
  Committed`); G/L accounts -> `erp_accounts` (active = not frozen, postable).
Cancelled documents and payments land their raw payload but no canonical rows (rows landed
before the cancellation are removed).

Incremental: documents by `UpdateDate`, which has no time, from the last date seen less one
day; payments and journal entries have no update stamp, so they are read by key
(`DocEntry` / `JdtNum` above the highest seen) or by date within `REREAD` of the latest one
seen (a payment posted late for an earlier day, a cancellation). Re-read records whose
payload is unchanged write nothing. Master data is small and read whole each run. Limit: a
payment cancelled more than `REREAD` after its `DocDate` is not seen without `--full`.
B1 documents cannot be deleted, only cancelled; items and accounts can, so master data marks
what a run did not read as deleted (`sweep`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from recon.clients import Fetched, NotFoundError
from recon.clients._types import VendorModel
from recon.collectors._landing import Landed, Pass, Rows, chunks, get_watermark, land, set_watermark
from recon.collectors.money import gross_price
from recon.config.mappings import Mappings
from recon.erp.sapb1.client import (
    Account,
    Document,
    Item,
    JournalEntry,
    Payment,
    SapB1Client,
    VatGroup,
    b1_date,
)
from recon.warehouse.db import delete_where_in, table
from recon.warehouse.models import ErpDocument
from recon.warehouse.runs import RunLog

__all__ = [
    "SOURCE",
    "collect_sapb1",
    "credit_note_rows",
    "invoice_rows",
    "item_rows",
    "journal_entry_rows",
    "payment_rows",
]

SOURCE = "sapb1"
BATCH = 500
OVERLAP = timedelta(days=1)  # UpdateDate is a date: re-read the last day seen
REREAD = timedelta(days=7)  # payments / journals: re-read this far behind the latest date
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
STORE_DAY = re.compile(r"^.+-\d{4}-\d{2}-\d{2}$")
RETURN_OF = re.compile(r"\bPOS order (\S+)")
CANCELLED_STATUSES = (
    "csYes",
    "csCancellation",
)  # SAP's CancelStatus: csYes / csNo / csCancellation


def is_cancelled(record: Document | Payment) -> bool:
    """A cancelled document (or B1's cancellation document) records no sale or payment."""
    status = getattr(record, "CancelStatus", None)
    return record.Cancelled == "tYES" or status in CANCELLED_STATUSES


def _day(value: date | None) -> date:
    return value or datetime.now(UTC).date()


# --------------------------------------------------------------------- row builders
def _document_rows(
    doc: Document,
    doc_type: str,
    currency: str,
    raw_id: int | None,
    original: str | None = None,
) -> Rows:
    if is_cancelled(doc):
        return {}
    sign = Decimal(-1) if doc_type == "credit_note" else Decimal(1)
    doc_id = f"{doc_type}:{doc.DocEntry}"
    lines = [
        {
            "doc_id": doc_id,
            "line_no": no,
            "sku": line.ItemCode or "",
            "quantity": sign * abs(line.Quantity or ZERO),
            "net": sign * abs(line.LineTotal or ZERO),
            "vat": sign * abs(line.TaxTotal or ZERO),
            "tax_code": line.VatGroup or line.TaxCode or "",
        }
        for no, line in enumerate(doc.DocumentLines, start=1)
        if line.ItemCode
    ]
    vat = doc.VatSum or ZERO
    gross = (
        doc.DocTotal
        if doc.DocTotal is not None
        else sum(
            (abs(ln.LineTotal or ZERO) + abs(ln.TaxTotal or ZERO) for ln in doc.DocumentLines), ZERO
        )
    )
    head = {
        "doc_id": doc_id,
        "doc_no": str(doc.DocNum if doc.DocNum is not None else doc.DocEntry),
        "doc_type": doc_type,
        "pos_ref": doc.NumAtCard or None,
        "original_pos_ref": original,
        "location": next((ln.WarehouseCode for ln in doc.DocumentLines if ln.WarehouseCode), None),
        "posting_date": _day(doc.DocDate),
        "gross_total": sign * abs(gross),
        "vat_total": sign * abs(vat),
        "currency": doc.DocCurrency or currency,
        "raw_id": raw_id,
    }
    return {"erp_documents": [head], "erp_document_lines": lines}


def invoice_rows(doc: Document, currency: str, raw_id: int | None) -> Rows:
    return _document_rows(doc, "invoice", currency, raw_id)


def credit_note_rows(
    doc: Document, currency: str, raw_id: int | None, base_refs: dict[int, str | None]
) -> Rows:
    """`base_refs`: invoice DocEntry -> its NumAtCard, for the notes' base documents."""
    bases = [ln.BaseEntry for ln in doc.DocumentLines if ln.BaseType == 13 and ln.BaseEntry]
    original = next((base_refs.get(b) for b in bases if base_refs.get(b)), None)
    if original is None and doc.Comments:
        match = RETURN_OF.search(doc.Comments)
        original = match.group(1) if match else None
    return _document_rows(doc, "credit_note", currency, raw_id, original)


def payment_rows(
    pay: Payment,
    entity: str,
    card_names: dict[int, str],
    currency: str,
    raw_id: int | None,
) -> Rows:
    """One journal line per tender posting of an incoming (+) or outgoing (-) payment."""
    if is_cancelled(pay):
        return {}
    sign = Decimal(-1) if entity == "VendorPayments" else Decimal(1)
    parts: list[tuple[str, str | None, Decimal]] = []
    if pay.CashSum and pay.CashAccount:
        parts.append((pay.CashAccount, "Cash", pay.CashSum))
    if pay.TransferSum and pay.TransferAccount:
        parts.append((pay.TransferAccount, "Bank transfer", pay.TransferSum))
    for card in pay.PaymentCreditCards:
        if card.CreditSum and card.CreditAcct:
            name = card_names.get(card.CreditCard or -1)
            parts.append((card.CreditAcct, name, card.CreditSum))
    prefix = "incoming_payment" if entity == "IncomingPayments" else "vendor_payment"
    return {
        "erp_journal_lines": [
            {
                "journal_id": f"{prefix}:{pay.DocEntry}",
                "line_no": no,
                "posting_date": _day(pay.DocDate),
                "location": None,
                "account": account,
                "tender": tender,
                "amount": sign * abs(amount),
                "currency": pay.DocCurrency or currency,
                "pos_ref": pay.CounterReference or None,
                "raw_id": raw_id,
            }
            for no, (account, tender, amount) in enumerate(parts, start=1)
        ]
    }


def journal_entry_rows(entry: JournalEntry, currency: str, raw_id: int | None) -> Rows:
    """A store-day journal's lines, debit positive; other journal entries give no rows."""
    if not STORE_DAY.match(entry.Reference or ""):
        return {}
    return {
        "erp_journal_lines": [
            {
                "journal_id": f"journal_entry:{entry.JdtNum}",
                "line_no": no,
                "posting_date": _day(entry.ReferenceDate),
                "location": None,
                "account": line.AccountCode or "",
                "tender": entry.Reference2 or None,
                "amount": (line.Debit or ZERO) - (line.Credit or ZERO),
                "currency": line.FCCurrency or currency,
                "pos_ref": entry.Reference,
                "raw_id": raw_id,
            }
            for no, line in enumerate(entry.JournalEntryLines, start=1)
        ]
    }


def item_rows(item: Item, rates: dict[str, Decimal], price_list: int, raw_id: int | None) -> Rows:
    """The item master row (gross price) and one stock row per warehouse of the item."""
    code = item.SalesVATGroup or item.ArTaxCode or ""
    net = item.price(price_list) or ZERO
    gross = gross_price(net, rates.get(code, ZERO))
    as_of = datetime.now(UTC)
    return {
        "erp_items": [
            {
                "sku": item.ItemCode,
                "price_gross": gross,
                "tax_code": code,
                "active": item.active,
                "raw_id": raw_id,
            }
        ],
        "erp_stock": [
            {
                "location": info.WarehouseCode,
                "sku": item.ItemCode,
                "quantity": info.available,
                "as_of": as_of,
                "raw_id": raw_id,
            }
            for info in item.ItemWarehouseInfoCollection
        ],
    }


def account_rows(account: Account, raw_id: int | None) -> Rows:
    return {"erp_accounts": [{"account": account.Code, "active": account.active, "raw_id": raw_id}]}


# --------------------------------------------------------------------- landing loops
class _Collector:
    def __init__(self, engine: Engine, client: SapB1Client, run: RunLog, full: bool) -> None:
        self.engine, self.client, self.run, self.full = engine, client, run, full

    def _land(
        self,
        conn: Connection,
        entity: str,
        batch: list[Fetched[Any]],
        build: Callable[[Any, int], Rows],
        replace: dict[str, str] | None,
        cancelled: Callable[[Any], list[tuple[str, str, str]]] | None,
    ) -> Landed:
        landed, problems = land(conn, SOURCE, entity, batch, build, replace)
        if cancelled is not None:  # rows landed before a cancellation go
            for f in batch:
                if f.item is not None:
                    for name, column, value in cancelled(f.item):
                        delete_where_in(conn, table(name), column, [value])
        for p in problems:
            self.run.problem(p)
        return landed

    def documents(
        self,
        entity: str,
        fetch: Callable[[date | None], Iterator[Fetched[Document]]],
        build: Callable[[Document, int], Rows],
        doc_type: str,
        prepare: Callable[[list[Fetched[Document]]], None] | None = None,
    ) -> Landed:
        """Documents updated since the watermark date less OVERLAP; mark = latest UpdateDate."""
        mark = None if self.full else get_watermark(self.engine, SOURCE, entity)
        since = date.fromisoformat(mark) - OVERLAP if mark else None
        high = date.fromisoformat(mark) if mark else None

        def gone(doc: Document) -> list[tuple[str, str, str]]:
            if not is_cancelled(doc):
                return []
            doc_id = f"{doc_type}:{doc.DocEntry}"
            return [("erp_document_lines", "doc_id", doc_id), ("erp_documents", "doc_id", doc_id)]

        with Pass(SOURCE, entity) as p:
            for batch in p.read(chunks(fetch(since), BATCH)):
                for f in batch:
                    stamp = f.item.UpdateDate if f.item is not None else None
                    if stamp is not None and (high is None or stamp > high):
                        high = stamp
                if prepare is not None:
                    prepare(batch)
                with self.engine.begin() as conn:
                    landed = self._land(
                        conn, entity, batch, build, {"erp_document_lines": "doc_id"}, gone
                    )
                    if high is not None:
                        set_watermark(conn, SOURCE, entity, high.isoformat())
                p.record(batch, landed)
        return p.total

    def by_key(
        self,
        entity: str,
        key: str,
        day_field: str,
        model: type[Any],
        build: Callable[[Any, int], Rows],
        prefix: str,
    ) -> Landed:
        """Records above the highest key seen, or dated within REREAD of the latest date."""
        mark = None if self.full else get_watermark(self.engine, SOURCE, entity)
        seen: dict[str, Any] = json.loads(mark) if mark else {}
        high_key: int | None = seen.get("key")
        high_day = date.fromisoformat(seen["day"]) if seen.get("day") else None
        flt = None
        if high_key is not None:
            flt = f"{key} gt {high_key}"
            if high_day is not None:
                flt += f" or {day_field} ge {b1_date(high_day - REREAD)}"

        def gone(record: Any) -> list[tuple[str, str, str]]:
            if getattr(record, "Cancelled", None) != "tYES":
                return []
            return [("erp_journal_lines", "journal_id", f"{prefix}:{getattr(record, key)}")]

        fetched = self.client.iter_collection(entity, model, filter=flt, orderby=key)
        with Pass(SOURCE, entity) as p:
            for batch in p.read(chunks(fetched, BATCH)):
                for f in batch:
                    if f.item is None:
                        continue
                    k, d = getattr(f.item, key), getattr(f.item, day_field)
                    high_key = k if high_key is None else max(high_key, k)
                    if d is not None and (high_day is None or d > high_day):
                        high_day = d
                with self.engine.begin() as conn:
                    landed = self._land(
                        conn, entity, batch, build, {"erp_journal_lines": "journal_id"}, gone
                    )
                    if high_key is not None:
                        value = {"key": high_key, "day": high_day.isoformat() if high_day else None}
                        set_watermark(conn, SOURCE, entity, json.dumps(value))
                p.record(batch, landed)
        return p.total

    def whole(
        self,
        entity: str,
        fetched: Iterable[Fetched[Any]],
        build: Callable[[Any, int], Rows],
        tables: tuple[str, ...],
        replace: dict[str, str] | None = None,
    ) -> Landed:
        """Master data, read whole: every run is complete, so every run sweeps. Pages follow
        `odata.nextLink`, an offset: a record deleted mid-read can hide another one, so the
        records a pass did not see are looked up one by one before they are swept."""
        with Pass(SOURCE, entity) as p:
            for batch in p.read(chunks(fetched, BATCH)):
                with self.engine.begin() as conn:
                    landed = self._land(conn, entity, batch, build, replace, None)
                p.record(batch, landed)
        p.sweep(self.engine, tables, self.run, lambda keys: self._still_there(entity, keys))
        return p.total

    def _still_there(self, entity: str, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for key in keys:
            try:
                self.client.get(entity, key, VendorModel)
            except NotFoundError:
                continue
            found.add(key)
        return found


def _base_refs(
    engine: Engine, client: SapB1Client, batch: list[Fetched[Document]], into: dict[int, str | None]
) -> None:
    """NumAtCard of the invoices a batch of credit notes is based on: from the warehouse
    (collected before the notes), else read from B1."""
    wanted = {
        ln.BaseEntry
        for f in batch
        if f.item is not None
        for ln in f.item.DocumentLines
        if ln.BaseType == 13 and ln.BaseEntry and ln.BaseEntry not in into
    }
    if not wanted:
        return
    with engine.connect() as conn:
        for doc_id, pos_ref in conn.execute(
            select(ErpDocument.doc_id, ErpDocument.pos_ref).where(
                ErpDocument.doc_id.in_([f"invoice:{e}" for e in wanted])
            )
        ):
            into[int(doc_id.split(":", 1)[1])] = pos_ref
    for entry in sorted(wanted - set(into)):
        try:
            into[entry] = client.get("Invoices", entry, Document).NumAtCard
        except NotFoundError:
            into[entry] = None


def collect_sapb1(
    engine: Engine, client: SapB1Client, mappings: Mappings, run: RunLog, *, full: bool = False
) -> None:
    """Collect SAP B1 into the warehouse; counts go to `run` as `sapb1_{entity}_new/changed`."""
    currency = mappings.options.erp_currency
    price_list = mappings.options.price_list
    c = _Collector(engine, client, run, full)
    valid_cards = (f.item for f in client.iter_credit_cards() if f.item is not None)
    cards = {
        card.CreditCardCode: card.CreditCardName or str(card.CreditCardCode) for card in valid_cards
    }
    groups = [f.item for f in client.iter_vat_groups() if f.item is not None]
    rates: dict[str, Decimal] = {g.Code: _rate(g) for g in groups}
    base_refs: dict[int, str | None] = {}
    landed = {
        "invoices": c.documents(
            "Invoices",
            lambda s: client.iter_invoices(updated_since=s),
            lambda d, rid: invoice_rows(d, currency, rid),
            "invoice",
        ),
        "credit_notes": c.documents(
            "CreditNotes",
            lambda s: client.iter_credit_notes(updated_since=s),
            lambda d, rid: credit_note_rows(d, currency, rid, base_refs),
            "credit_note",
            lambda batch: _base_refs(engine, client, batch, base_refs),
        ),
        "incoming_payments": c.by_key(
            "IncomingPayments",
            "DocEntry",
            "DocDate",
            Payment,
            lambda p, rid: payment_rows(p, "IncomingPayments", cards, currency, rid),
            "incoming_payment",
        ),
        "vendor_payments": c.by_key(
            "VendorPayments",
            "DocEntry",
            "DocDate",
            Payment,
            lambda p, rid: payment_rows(p, "VendorPayments", cards, currency, rid),
            "vendor_payment",
        ),
        "journal_entries": c.by_key(
            "JournalEntries",
            "JdtNum",
            "ReferenceDate",
            JournalEntry,
            lambda j, rid: journal_entry_rows(j, currency, rid),
            "journal_entry",
        ),
        "items": c.whole(
            "Items",
            client.iter_items(),
            lambda i, rid: item_rows(i, rates, price_list, rid),
            ("erp_items", "erp_stock"),
            {"erp_stock": "sku"},
        ),
        "accounts": c.whole(
            "ChartOfAccounts", client.iter_accounts(), account_rows, ("erp_accounts",)
        ),
    }
    for name, got in landed.items():
        run.counts[f"sapb1_{name}_new"] += got.new
        run.counts[f"sapb1_{name}_changed"] += got.changed
        run.counts[f"sapb1_{name}_deleted"] += got.deleted
        run.counts["quarantined"] += got.quarantined


def _rate(group: VatGroup) -> Decimal:
    return group.rate() or ZERO
