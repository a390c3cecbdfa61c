"""Sage 200 collector: documents, tender postings, items, accounts and stock into the warehouse.

- SOP orders -> `erp_documents` (sales_order) + lines; `customer_document_no` is the POS id.
- Sales-ledger invoices / credit notes -> `erp_documents` (`reference` is the POS id,
  a credit note's `second_reference` the refunded sale); credit notes are negative.
- Cash-book postings (sales receipts, sales payments, bank receipts) -> `erp_journal_lines`
  on the bank's `code`; money paid back is negative.
Transactions are read incrementally by `date_time_updated` from a watermark less an overlap
(Sage filters with whole seconds); master data is small and read whole, unchanged rows skip.
Sage does not report deletions: a `--full` run reads transactions completely and marks what
it did not see as deleted (canonical rows removed); master data does so on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Engine

from recon.clients import Fetched
from recon.collectors._landing import (
    Landed,
    Pass,
    Rows,
    chunks,
    get_watermark,
    land,
    land_whole,
    set_watermark,
)
from recon.collectors.money import gross_price
from recon.config.mappings import Mappings
from recon.erp.sage200.client import (
    BankPostedTransaction,
    Sage200Client,
    SalesPostedTransaction,
    SopOrder,
)
from recon.warehouse.runs import RunLog

SOURCE = "sage200"
BATCH = 500
OVERLAP = timedelta(minutes=5)
CENT = Decimal("0.01")
INACTIVE_WORDS = ("hidden", "inactive", "closed", "obsolete", "onhold")


def is_active(status: str | int | None) -> bool:
    """Sage account/product status enums: anything that reads hidden/inactive is not active."""
    text = str(status or "").lower().replace("_", "")
    return not any(word in text for word in INACTIVE_WORDS)


def ledger_kind(tx_type: str | int | None) -> str | None:
    """invoice / credit_note / receipt / payment from `trader_transaction_type` (or None)."""
    text = str(tx_type or "").lower()
    if "creditnote" in text:
        return "credit_note"
    if text.endswith("invoice"):
        return "invoice"
    if text.endswith("salesreceipt") or text.endswith("receipt"):
        return "receipt"
    if text.endswith("salespayment") or text.endswith("payment"):
        return "payment"
    return None


class Directory:
    """Id -> code lookups every Sage row needs (warehouse names, product codes, tax codes)."""

    def __init__(self, client: Sage200Client) -> None:
        self.product_records = list(client.iter_products())
        self.bank_records = list(client.iter_banks())
        self.warehouses = {w.id: w.name or str(w.id) for w in _valid(client.iter_warehouses())}
        self.products = {p.id: p for p in _valid(iter(self.product_records))}
        self.tax_codes = {t.id: t for t in _valid(client.iter_tax_codes())}
        self.banks = {b.id: b for b in _valid(iter(self.bank_records))}

    def tax_code(self, tax_code_id: int | None) -> str:
        tax = self.tax_codes.get(tax_code_id or -1)
        return "" if tax is None or tax.code is None else str(tax.code)


def _valid(fetched: Iterator[Fetched[Any]]) -> Iterator[Any]:
    return (f.item for f in fetched if f.item is not None)


def sop_order_rows(order: SopOrder, d: Directory, currency: str, raw_id: int | None) -> Rows:
    doc_id = f"sop_order:{order.id}"
    location = next(
        (d.warehouses.get(line.warehouse_id) for line in order.lines if line.warehouse_id), None
    )
    lines = [
        {
            "doc_id": doc_id,
            "line_no": no,
            "sku": line.code or "",
            "quantity": line.line_quantity or Decimal(0),
            "net": line.line_total_value or Decimal(0),
            "vat": line.line_tax_value or Decimal(0),
            "tax_code": d.tax_code(line.tax_code_id),
        }
        for no, line in enumerate(order.lines, start=1)
        if line.code
    ]
    net = order.total_net_value or Decimal(0)
    vat = order.total_tax_value or Decimal(0)
    head = {
        "doc_id": doc_id,
        "doc_no": order.document_no or str(order.id),
        "doc_type": "sales_order",
        "pos_ref": order.customer_document_no or None,
        "original_pos_ref": None,
        "location": location,
        "posting_date": (order.document_date or datetime.now(UTC)).date(),
        "gross_total": order.total_gross_value
        if order.total_gross_value is not None
        else net + vat,
        "vat_total": vat,
        "currency": currency,
        "raw_id": raw_id,
    }
    return {"erp_documents": [head], "erp_document_lines": lines}


def ledger_rows(tx: SalesPostedTransaction, currency: str, raw_id: int | None) -> Rows:
    kind = ledger_kind(tx.trader_transaction_type)
    if kind not in ("invoice", "credit_note"):
        return {}  # receipts and payments are read from the cash book, with their bank
    sign = Decimal(-1) if kind == "credit_note" else Decimal(1)
    goods = tx.document_goods_value or Decimal(0)
    vat = tx.document_tax_value or Decimal(0)
    gross = tx.document_gross_value if tx.document_gross_value is not None else goods + vat
    return {
        "erp_documents": [
            {
                "doc_id": f"sales_posted:{tx.id}",
                "doc_no": str(tx.urn if tx.urn is not None else tx.id),
                "doc_type": kind,
                "pos_ref": tx.reference or None,
                "original_pos_ref": (tx.second_reference or None)
                if kind == "credit_note"
                else None,
                "location": None,
                "posting_date": (tx.transaction_date or datetime.now(UTC)).date(),
                "gross_total": sign * abs(gross),
                "vat_total": sign * abs(vat),
                "currency": currency,
                "raw_id": raw_id,
            }
        ]
    }


def cash_book_rows(
    tx: BankPostedTransaction, d: Directory, currency: str, raw_id: int | None
) -> Rows:
    bank = d.banks.get(tx.bank_id or -1)
    value = tx.cheque_value or Decimal(0)
    paid_out = value < 0 or ledger_kind(tx.bank_transaction_type) == "payment"
    sign = Decimal(-1) if paid_out else Decimal(1)
    value = abs(value)
    return {
        "erp_journal_lines": [
            {
                "journal_id": f"bank_posted:{tx.id}",
                "line_no": 1,
                "posting_date": (tx.transaction_date or datetime.now(UTC)).date(),
                "location": None,
                "account": bank.code if bank and bank.code else str(tx.bank_id),
                "tender": tx.second_reference or None,
                "amount": sign * value,
                "currency": currency,
                "pos_ref": tx.reference or None,
                "raw_id": raw_id,
            }
        ]
    }


def _incremental(
    engine: Engine,
    entity: str,
    fetch: Any,
    build: Any,
    run: RunLog,
    full: bool,
    tables: tuple[str, ...],
    replace: dict[str, str] | None = None,
) -> Landed:
    """Read `entity` changed since its watermark (less OVERLAP); move the mark per batch.

    A full read is complete: afterwards what it did not see is marked deleted (`sweep`).
    """
    mark = None if full else get_watermark(engine, SOURCE, entity)
    since = datetime.fromisoformat(mark) - OVERLAP if mark else None
    high = since
    with Pass(SOURCE, entity) as p:
        for batch in p.read(chunks(fetch(since), BATCH)):
            for f in batch:
                stamp = f.item.date_time_updated if f.item is not None else None
                if stamp is not None and (high is None or stamp > high):
                    high = stamp
            with engine.begin() as conn:
                landed, problems = land(conn, SOURCE, entity, batch, build, replace)
                if high is not None:
                    set_watermark(conn, SOURCE, entity, high.isoformat())
            p.record(batch, landed)
            for problem in problems:
                run.problem(problem)
    if full:
        p.sweep(engine, tables, run)
    return p.total


def collect_sage200(
    engine: Engine, client: Sage200Client, mappings: Mappings, run: RunLog, *, full: bool = False
) -> None:
    d = Directory(client)
    cur = mappings.options.erp_currency
    landed = {
        "sop_orders": _incremental(
            engine,
            "sop_orders",
            lambda s: client.iter_sop_orders(updated_since=s),
            lambda o, rid: sop_order_rows(o, d, cur, rid),
            run,
            full,
            ("erp_documents",),
            {"erp_document_lines": "doc_id"},
        ),
        "sales_posted": _incremental(
            engine,
            "sales_posted_transactions",
            lambda s: client.iter_sales_posted_transactions(updated_since=s),
            lambda t, rid: ledger_rows(t, cur, rid),
            run,
            full,
            ("erp_documents",),
        ),
        "bank_posted": _incremental(
            engine,
            "bank_posted_transactions",
            lambda s: client.iter_bank_posted_transactions(updated_since=s),
            lambda t, rid: cash_book_rows(t, d, cur, rid),
            run,
            full,
            ("erp_journal_lines",),
        ),
    }
    landed.update(collect_master_data(engine, client, d, run))
    for name, got in landed.items():
        run.counts[f"sage200_{name}_new"] += got.new
        run.counts[f"sage200_{name}_changed"] += got.changed
        run.counts[f"sage200_{name}_deleted"] += got.deleted
        run.counts["quarantined"] += got.quarantined


def collect_master_data(
    engine: Engine, client: Sage200Client, d: Directory, run: RunLog
) -> dict[str, Landed]:
    prices = {
        p.product_id: p.product_price_price
        for p in _valid(client.iter_product_prices())
        if (p.price_band_name or "Standard") == "Standard" and p.product_price_price is not None
    }

    def item_rows(product: Any, raw_id: int) -> Rows:
        tax = d.tax_codes.get(product.tax_code_id or -1)
        rate = tax.tax_rate if tax and tax.tax_rate is not None else Decimal(0)
        net = prices.get(product.id, Decimal(0))
        return {
            "erp_items": [
                {
                    "sku": product.code or str(product.id),
                    "price_gross": gross_price(net, rate),
                    "tax_code": d.tax_code(product.tax_code_id),
                    "active": is_active(product.product_status_type),
                    "raw_id": raw_id,
                }
            ]
        }

    def bank_rows(bank: Any, raw_id: int) -> Rows:
        return {
            "erp_accounts": [
                {
                    "account": bank.code or str(bank.id),
                    "active": is_active(bank.account_status_type),
                    "raw_id": raw_id,
                }
            ]
        }

    def nominal_rows(code: Any, raw_id: int) -> Rows:
        return {
            "erp_accounts": [
                {
                    "account": code.reference or str(code.id),
                    "active": is_active(code.account_status_type),
                    "raw_id": raw_id,
                }
            ]
        }

    def holding_rows(h: Any, raw_id: int) -> Rows:
        product = d.products.get(h.product_id)
        qty = h.free_stock_available_less_reserved
        if qty is None:
            qty = h.quantity_in_stock or Decimal(0)
        return {
            "erp_stock": [
                {
                    "location": h.warehouse_name
                    or d.warehouses.get(h.warehouse_id, str(h.warehouse_id)),
                    "sku": product.code if product and product.code else str(h.product_id),
                    "quantity": qty,
                    "as_of": h.date_time_updated or datetime.now(UTC),
                    "raw_id": raw_id,
                }
            ]
        }

    whole = partial(land_whole, engine, SOURCE, run=run, batch_size=BATCH)
    return {
        "products": whole("products", iter(d.product_records), item_rows, tables=("erp_items",)),
        "banks": whole("banks", iter(d.bank_records), bank_rows, tables=("erp_accounts",)),
        "nominal_codes": whole(
            "nominal_codes", client.iter_nominal_codes(), nominal_rows, tables=("erp_accounts",)
        ),
        "holdings": whole(
            "warehouse_holdings",
            client.iter_warehouse_holdings(),
            holding_rows,
            tables=("erp_stock",),
        ),
    }
