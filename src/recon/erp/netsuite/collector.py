"""NetSuite collector: documents, tender postings, items, accounts and stock into the warehouse.

Transactions are read with SuiteQL (`transaction` headers and their `transactionline` rows,
merged by transaction id) and landed one transaction at a time:
- `invoice` / `cashSale` -> `erp_documents` `invoice`, `salesOrder` -> `sales_order`,
  `creditMemo` / `cashRefund` -> `credit_note`, with their item lines. `pos_ref` is
  `externalId`, else `otherRefNum` (CONTRACT: how a second document for a sale is seen);
  a credit note's `original_pos_ref` is the POS id of its `createdFrom` document, else the
  order its memo names ("POS order 5120", as recon's poster writes it); `doc_no` = `tranId`;
  `location` = the location internal id of the main line (else of the first item line).
- `customerPayment` / `customerRefund` -> one `erp_journal_lines` row on the account's
  `acctNumber`, `pos_ref` = the order id of `externalId` `{order id}-{payment no}`,
  `tender` = the memo; `cashSale` / `cashRefund` also post their total to their account.
- `journalEntry` -> one `erp_journal_lines` row per line (debit positive), `pos_ref` =
  `externalId` (`{store id}-{YYYY-MM-DD}` in daily journal mode), `tender` = line memo.
Signs follow CONTRACT whatever NetSuite's: `transactionline` amounts and quantities carry the
opposite sign of the document and are negated; header totals take the record type's sign
(sales and money received positive, credit notes and money paid back negative).

Incremental: `lastmodifieddate` from a watermark less `OVERLAP`; the watermark is NetSuite's
`serverTime` taken before reading and is stored once every batch has landed (SuiteQL pages
by key, not by change time, so a partial read cannot move it; an outage mid-run re-reads from
the old mark and unchanged records are skipped by their payload hash). Headers, lines and
stock are read by key (`suiteql_by_key`): a record deleted mid-read hides no other. Master
data (items with their net `basePrice` made gross with the tax code's rate, accounts, stock
per location from `AggregateItemLocation`) is read whole every run; unchanged rows skip.

Limits: VAT per item line is not in `transactionline`; each tax line's amount is shared over
the item lines of that tax code (the item's `salesTaxCode`, or the document's only code) in
proportion to their net, so lines add up to the header VAT. A voided transaction (`voided`
= T, which also moves `lastmodifieddate`) keeps its raw payload marked deleted and loses its
canonical rows on any run; a deleted one is not reported by NetSuite, so a `--full` run marks
what it did not read as deleted (master data, read whole, on every run). Items are read
through the record service, one GET each.
Must not write to NetSuite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Engine

from recon.clients import Fetched
from recon.clients._types import VendorModel
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
from recon.erp.netsuite.client import (
    TYPE_CODES,
    NetSuiteAccount,
    NetSuiteClient,
    NetSuiteInventoryItem,
    NetSuiteTaxCode,
    StockRow,
    TransactionLineRow,
    TransactionRow,
)
from recon.warehouse.runs import RunLog

__all__ = [
    "OVERLAP",
    "SOURCE",
    "Directory",
    "NsTransaction",
    "collect_netsuite",
    "transaction_rows",
]

SOURCE = "netsuite"
BATCH = 500
OVERLAP = timedelta(minutes=5)
CENT = Decimal("0.01")
ZERO = Decimal(0)
RECORD_TYPES = (
    "invoice",
    "cashSale",
    "salesOrder",
    "creditMemo",
    "cashRefund",
    "customerPayment",
    "customerRefund",
    "journalEntry",
)
RECORD_OF = {code: name for name, code in TYPE_CODES.items()}
DOC_TYPES = {
    "CustInvc": "invoice",
    "CashSale": "invoice",
    "SalesOrd": "sales_order",
    "CustCred": "credit_note",
    "CashRfnd": "credit_note",
}
MONEY_IN_OUT = {"CustPymt": 1, "CustRfnd": -1, "CashSale": 1, "CashRfnd": -1}
NEGATIVE = ("CustCred", "CashRfnd", "CustRfnd")
PAYMENT_EID = re.compile(r"^(.+)-(\d+)$")
MEMO_ORDER = re.compile(r"\bPOS order (\w+)", re.I)
TRANSACTION_TABLES = ("erp_documents", "erp_journal_lines")  # where a transaction's rows live


class NsTransaction(VendorModel):
    """One transaction as SuiteQL gives it: the header row and all its lines."""

    head: TransactionRow
    lines: tuple[TransactionLineRow, ...]

    @property
    def main(self) -> TransactionLineRow | None:
        return next((ln for ln in self.lines if ln.mainline), None)


class Directory:
    """Internal id -> code lookups the rows need (SKUs, account numbers, tax rates, currencies)."""

    def __init__(self, client: NetSuiteClient, default_currency: str = "GBP") -> None:
        self.item_records = list(client.iter_inventory_items())
        self.account_records = list(client.iter_accounts())
        self.items = {i.id: i for i in _valid(self.item_records)}
        self.accounts = {a.id: a for a in _valid(self.account_records)}
        self.tax_codes = {t.id: t for t in _valid(client.iter_tax_codes())}
        self.currencies = {
            str(r.model_extra.get("id")): str(r.model_extra.get("symbol"))
            for r in _valid(client.suiteql("SELECT id, symbol FROM currency ORDER BY id"))
            if r.model_extra and r.model_extra.get("symbol")
        }
        self.default_currency = default_currency

    def sku(self, item_id: str | None) -> str:
        item = self.items.get(item_id or "")
        return item.itemId if item is not None and item.itemId else str(item_id or "")

    def account(self, account_id: str | None) -> str:
        acct = self.accounts.get(account_id or "")
        return acct.acctNumber if acct is not None and acct.acctNumber else str(account_id or "")

    def currency(self, currency_id: str | None) -> str:
        return self.currencies.get(currency_id or "", self.default_currency)

    def item_tax_code(self, item_id: str | None) -> str | None:
        item = self.items.get(item_id or "")
        return item.salesTaxCode.id if item is not None and item.salesTaxCode else None


def _valid(fetched: Iterable[Fetched[Any]]) -> Iterator[Any]:
    return (f.item for f in fetched if f.item is not None)


# --------------------------------------------------------------------- reading
def _num(key: str) -> int:
    return int(key) if key.isdigit() else -1


def merge_lines(
    heads: Iterable[Fetched[TransactionRow]], lines: Iterable[Fetched[TransactionLineRow]]
) -> Iterator[Fetched[NsTransaction]]:
    """Join header rows and line rows, both ordered by transaction id, into transactions.

    Lines of a transaction missing from the headers (changed between the two queries) are
    dropped: the next run reads it whole. A bad header or line quarantines the transaction.
    """
    pending = iter(lines)
    line = next(pending, None)
    for head in heads:
        tid = _num(head.key)
        mine: list[Fetched[TransactionLineRow]] = []
        while line is not None and _num(line.key) <= tid:
            if _num(line.key) == tid:
                mine.append(line)
            line = next(pending, None)
        raw = {"transaction": head.raw, "lines": [ln.raw for ln in mine]}
        bad = next((ln for ln in mine if ln.item is None), None)
        if head.item is None or bad is not None:
            error = (
                head.error if head.item is None else f"line {bad.raw.get('id', '?')}: {bad.error}"  # type: ignore[union-attr]
            )
            yield Fetched(key=head.key, raw=raw, item=None, error=error)
            continue
        ordered = tuple(ln.item for ln in mine if ln.item is not None)
        yield Fetched(
            key=head.key, raw=raw, item=NsTransaction(head=head.item, lines=ordered), error=None
        )


def read_transactions(
    client: NetSuiteClient, since: datetime | None
) -> Iterator[Fetched[NsTransaction]]:
    return merge_lines(
        client.iter_transactions(RECORD_TYPES, since),
        client.iter_transaction_lines(RECORD_TYPES, since),
    )


def source_refs(client: NetSuiteClient, ids: set[str]) -> dict[str, str]:
    """POS ids (externalId, else otherRefNum) of the transactions `ids` (createdFrom targets)."""
    wanted = sorted(i for i in ids if i.isdigit())
    if not wanted:
        return {}
    query = (
        "SELECT t.id, t.externalid, t.otherrefnum FROM transaction t "
        f"WHERE t.id IN ({', '.join(wanted)}) ORDER BY t.id"
    )
    out = {}
    for row in _valid(client.suiteql(query)):
        extra = row.model_extra or {}
        ref = extra.get("externalid") or extra.get("otherrefnum")
        if ref:
            out[str(extra.get("id"))] = str(ref)
    return out


# --------------------------------------------------------------------- mapping
def _share(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split in proportion to `weights`, to the cent; the last takes the rest."""
    if not weights:
        return []
    base = sum(weights, ZERO)
    out: list[Decimal] = []
    for w in weights[:-1]:
        out.append((total * w / base).quantize(CENT) if base else ZERO)
    out.append(total - sum(out, ZERO))
    return out


def _amount(line: TransactionLineRow) -> Decimal:
    value = line.foreignamount if line.foreignamount is not None else line.netamount
    return value or ZERO


def document_rows(
    tx: NsTransaction, d: Directory, sources: dict[str, str], raw_id: int | None
) -> Rows:
    head, main = tx.head, tx.main
    code = head.type or ""
    name = RECORD_OF.get(code, code)
    doc_id = f"{name}:{head.id}"
    sign = Decimal(-1) if code in NEGATIVE else Decimal(1)
    items = [ln for ln in tx.lines if not ln.mainline and not ln.taxline and ln.item]
    taxes: dict[str, Decimal] = {}
    for ln in tx.lines:
        if ln.taxline and not ln.mainline:
            taxes[ln.item or ""] = taxes.get(ln.item or "", ZERO) - _amount(ln)
    # item line -> tax code: the item's own, when the document has it; else the only one
    codes = []
    for ln in items:
        own = d.item_tax_code(ln.item)
        only = next(iter(taxes)) if len(taxes) == 1 else None
        codes.append(own if own in taxes or only is None else only)
    vat_of: dict[int, Decimal] = {}
    for tax_code, tax in taxes.items():
        members = [i for i, c in enumerate(codes) if c == tax_code]
        shares = _share(tax, [abs(_amount(items[i])) for i in members])
        vat_of.update(zip(members, shares, strict=True))
    lines = [
        {
            "doc_id": doc_id,
            "line_no": n,
            "sku": d.sku(ln.item),
            "quantity": -(ln.quantity or ZERO),
            "net": -_amount(ln),
            "vat": vat_of.get(i, ZERO),
            "tax_code": codes[i] or "",
        }
        for i, (n, ln) in enumerate(enumerate(items, start=1))
    ]
    vat = sum(taxes.values(), ZERO)
    if head.foreigntotal is not None:
        gross = sign * abs(head.foreigntotal)
    else:
        gross = -sum((_amount(ln) for ln in items), ZERO) + vat
    location = (main.location if main else None) or next(
        (ln.location for ln in items if ln.location), None
    )
    original = None
    if DOC_TYPES[code] == "credit_note":
        created_from = main.createdfrom if main else None
        original = sources.get(created_from or "")
        if original is None and head.memo:
            m = MEMO_ORDER.search(head.memo)
            original = m[1] if m else None
    rows: Rows = {
        "erp_documents": [
            {
                "doc_id": doc_id,
                "doc_no": head.tranid or head.id,
                "doc_type": DOC_TYPES[code],
                "pos_ref": head.pos_ref,
                "original_pos_ref": original,
                "location": location,
                "posting_date": head.trandate or datetime.now(UTC).date(),
                "gross_total": gross,
                "vat_total": vat,
                "currency": d.currency(head.currency),
                "raw_id": raw_id,
            }
        ],
        "erp_document_lines": lines,
    }
    if code in MONEY_IN_OUT and main is not None and main.account:
        rows["erp_journal_lines"] = [_money_line(tx, d, gross, raw_id, pos_ref=head.pos_ref)]
    return rows


def _money_line(
    tx: NsTransaction, d: Directory, amount: Decimal, raw_id: int | None, *, pos_ref: str | None
) -> dict[str, Any]:
    head, main = tx.head, tx.main
    return {
        "journal_id": f"{RECORD_OF.get(head.type or '', head.type)}:{head.id}",
        "line_no": 1,
        "posting_date": head.trandate or datetime.now(UTC).date(),
        "location": main.location if main else None,
        "account": d.account(main.account if main else None),
        "tender": head.memo or None,
        "amount": amount,
        "currency": d.currency(head.currency),
        "pos_ref": pos_ref,
        "raw_id": raw_id,
    }


def payment_pos_ref(head: TransactionRow) -> str | None:
    """The POS order id of a payment: `externalId` `{order id}-{payment no}`."""
    if head.externalid:
        m = PAYMENT_EID.match(head.externalid)
        return m[1] if m else head.externalid
    return head.otherrefnum or None


def transaction_rows(
    tx: NsTransaction, d: Directory, sources: dict[str, str], raw_id: int | None
) -> Rows:
    """The canonical rows of one transaction (see the module docstring for the rules)."""
    code = tx.head.type or ""
    if code in DOC_TYPES:
        return document_rows(tx, d, sources, raw_id)
    if code in ("CustPymt", "CustRfnd"):
        total = tx.head.foreigntotal
        if total is None:
            total = abs(_amount(tx.main)) if tx.main else ZERO
        amount = MONEY_IN_OUT[code] * abs(total)
        return {
            "erp_journal_lines": [
                _money_line(tx, d, amount, raw_id, pos_ref=payment_pos_ref(tx.head))
            ]
        }
    if code == "Journal":
        return {
            "erp_journal_lines": [
                {
                    "journal_id": f"journalEntry:{tx.head.id}",
                    "line_no": int(ln.id) if ln.id.isdigit() else n,
                    "posting_date": tx.head.trandate or datetime.now(UTC).date(),
                    "location": ln.location,
                    "account": d.account(ln.account),
                    "tender": ln.memo or None,
                    "amount": _amount(ln),
                    "currency": d.currency(tx.head.currency),
                    "pos_ref": tx.head.pos_ref,
                    "raw_id": raw_id,
                }
                for n, ln in enumerate(tx.lines)
                if ln.account and not ln.taxline
            ]
        }
    return {}


# --------------------------------------------------------------------- collecting
def is_void(tx: NsTransaction) -> bool:
    """A voided transaction records no sale or payment (`voided` = T)."""
    return bool(tx.head.voided)


def collect_transactions(
    engine: Engine, client: NetSuiteClient, d: Directory, run: RunLog, *, full: bool = False
) -> Landed:
    """Land every transaction changed since the watermark less OVERLAP; then move the mark.

    A voided one keeps its raw payload, marked deleted, and loses its rows; after a full
    read, the transactions it did not see (deleted in NetSuite) are marked deleted too."""
    started = client.server_time()
    mark = None if full else get_watermark(engine, SOURCE, "transactions")
    since = datetime.fromisoformat(mark) - OVERLAP if mark else None
    replace_children = {"erp_document_lines": "doc_id", "erp_journal_lines": "journal_id"}
    with Pass(SOURCE, "transactions") as p:
        for batch in p.read(chunks(read_transactions(client, since), BATCH)):
            wanted = {
                tx.item.main.createdfrom
                for tx in batch
                if tx.item is not None and tx.item.main is not None and tx.item.main.createdfrom
            }
            sources = source_refs(client, {w for w in wanted if w})

            def build(tx: NsTransaction, raw_id: int, sources: dict[str, str] = sources) -> Rows:
                return transaction_rows(tx, d, sources, raw_id)

            with engine.begin() as conn:
                landed, problems = land(
                    conn,
                    SOURCE,
                    "transactions",
                    batch,
                    build,
                    replace_children,
                    void=is_void,
                    tables=TRANSACTION_TABLES,
                )
            p.record(batch, landed)
            for problem in problems:
                run.problem(problem)
    if full:
        p.sweep(engine, TRANSACTION_TABLES, run, still_there(client, "transaction"))
    with engine.begin() as conn:
        set_watermark(conn, SOURCE, "transactions", started.isoformat())
    return p.total


def still_there(client: NetSuiteClient, table: str) -> Callable[[list[str]], set[str]]:
    """Which of some internal ids the SuiteQL `table` still has (asked before a sweep:
    NetSuite pages by offset, so a record deleted mid-read can hide another one)."""

    def ask(ids: list[str]) -> set[str]:
        numbers = ", ".join(i for i in ids if i.isdigit())
        if not numbers:
            return set()
        query = f"SELECT id FROM {table} WHERE id IN ({numbers}) ORDER BY id"
        return {f.key for f in client.suiteql(query)}

    return ask


def _rate(tax: NetSuiteTaxCode | None) -> Decimal:
    return tax.rate if tax is not None and tax.rate is not None else ZERO


def collect_master_data(
    engine: Engine, client: NetSuiteClient, d: Directory, run: RunLog
) -> dict[str, Landed]:
    def item_rows(item: NetSuiteInventoryItem, raw_id: int) -> Rows:
        code = item.salesTaxCode.id if item.salesTaxCode else ""
        net = item.basePrice or ZERO
        return {
            "erp_items": [
                {
                    "sku": item.itemId or item.id,
                    "price_gross": gross_price(net, _rate(d.tax_codes.get(code))),
                    "tax_code": code,
                    "active": not item.isInactive,
                    "raw_id": raw_id,
                }
            ]
        }

    def account_rows(acct: NetSuiteAccount, raw_id: int) -> Rows:
        return {
            "erp_accounts": [
                {
                    "account": acct.acctNumber or acct.id,
                    "active": not acct.isInactive,
                    "raw_id": raw_id,
                }
            ]
        }

    def stock_rows(row: StockRow, raw_id: int) -> Rows:
        qty = row.available
        return {
            "erp_stock": [
                {
                    "location": row.location,
                    "sku": row.itemid or d.sku(row.item),
                    "quantity": qty,
                    "as_of": datetime.now(UTC),
                    "raw_id": raw_id,
                }
            ]
        }

    stock = (_rekey(f) for f in client.iter_stock())
    whole = partial(land_whole, engine, SOURCE, run=run, batch_size=BATCH)
    return {
        "items": whole(
            "inventory_items",
            d.item_records,
            item_rows,
            tables=("erp_items",),
            still_there=still_there(client, "item"),
        ),
        "accounts": whole(
            "accounts",
            d.account_records,
            account_rows,
            tables=("erp_accounts",),
            still_there=still_there(client, "account"),
        ),
        "stock": whole("stock", stock, stock_rows, tables=("erp_stock",)),
    }


def _rekey(fetched: Fetched[StockRow]) -> Fetched[StockRow]:
    """Stock rows are keyed by item and location (one item lives in many locations)."""
    return replace(
        fetched, key=f"{fetched.raw.get('item', fetched.key)}:{fetched.raw.get('location')}"
    )


def collect_netsuite(
    engine: Engine, client: NetSuiteClient, mappings: Mappings, run: RunLog, *, full: bool = False
) -> None:
    d = Directory(client, mappings.options.erp_currency)
    landed = {"transactions": collect_transactions(engine, client, d, run, full=full)}
    landed.update(collect_master_data(engine, client, d, run))
    for name, got in landed.items():
        run.counts[f"netsuite_{name}_new"] += got.new
        run.counts[f"netsuite_{name}_changed"] += got.changed
        run.counts[f"netsuite_{name}_unchanged"] += got.unchanged
        run.counts[f"netsuite_{name}_deleted"] += got.deleted
        run.counts["quarantined"] += got.quarantined
