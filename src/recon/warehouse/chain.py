"""One POS order's chain: the sale, its ERP documents, its refunds and their credit notes,
its tender postings and its sync posts, each with a status, then one overall status and
the open exceptions on it.

The one service behind `recon chain ID`, the dashboard's "Find an order" page and the
exception drill-down (`order_chain`, the records around an exception). Functions of a
SQLAlchemy `Connection`, so one call reads one consistent state. Reads only; decides no
finding itself: the engine's open exceptions are what make a chain broken, besides the
links this module can see are broken without a reconcile (a held post, a missing document).

Finding the chain (`find_chain`), ID tried in this order:
1. a POS order id. A sale is its own chain; a refund is its original sale's chain
   (`found_as` "refund"), so the sale, the refund and its credit note are seen together.
2. an ERP document number (`doc_no`, what a user searches for in the ERP), then an ERP
   `doc_id`: the chain of the POS order the document carries (a credit note's refund, so its
   sale). A document that carries no POS order is a chain of its own, with no order.
3. an ERP journal id whose lines carry a POS order id (a per-order receipt or payment).
   A store-day journal (`{store}-{YYYY-MM-DD}`) is no one order's: `NotFound` says so.
An ID that names several chains (a POS order id that is also another order's document
number, one document number in two series) shows the first of them in this order, and lists
the others in `also` (found_as, order id; at most MAX_ALSO). Anything else is `NotFound`
(the CLI: exit 1 and one line), so is an ID no warehouse can hold (a NUL, a lone surrogate);
a message repeats at most 60 characters of the ID.

Each link has a `status` (the word) and a `level`: ok, pending or broken.
- order (the sale) and each refund: `completed` (and paid: due in the ERP) ok; `open`, or
  `unpaid`, pending (it may still complete; it must not post before); `cancelled` ok (never
  posts); `missing` broken (an ERP record names a POS order the warehouse lacks);
  `not_a_sale` broken when the order the chain starts at is a refund (a loop: a refund of
  itself, or of a refund); its documents are then its credit notes. A refund is never its
  own refund.
- documents: the sale's invoices / sales orders by posting date. The first is `posted`, or
  `wrong_amount` / `wrong_day` / `wrong_store` / `wrong_lines` while the engine has that
  open exception on the sale, or `not_due` when the sale is not completed and paid (posted
  anyway); every later one is `duplicate`; all but `posted` are broken. A document of the
  other kind carrying the order (a credit note carrying the sale, an invoice a refund) is
  `wrong_type` (broken), listed with that order's documents: nothing on the chain is left
  out. A completed, paid sale of a per_order store with no document gets a link with no ref,
  from its sync post: `not_collected` (the sync posted it, no collect has read it yet:
  pending), `posting` (the sync is retrying: pending), `held` / `failed` (broken, with the
  sync's reason), else `not_posted_yet` while younger than the engine's grace (pending),
  else `missing` (broken). A daily_journal store's sales have no documents of their own (its
  store-day journal is their posting, under tenders).
- credit_notes: each refund's documents, as documents (a completed, paid refund of a
  per_order store without one: as a sale without a document); a credit note naming the sale
  as its `original_pos_ref` but carrying no refund of it is `no_refund` (broken).
- tenders: per order (the sale and each refund) and POS tender, its payments against the ERP
  lines on the tender's mapped account. per_order: the order's own receipts / payments
  (`pos_ref` = the order): `received` when they agree within the tender tolerance and are in
  the order's currency, else `differs` (broken). daily_journal: the lines of the store-day
  journal `{store}-{YYYY-MM-DD}` on that account: `journaled` (its amount is the whole
  store-day's, compared there). An unmapped tender is `unmapped` (broken); payments of an
  order not due are `not_due` (pending). No ERP line: as a missing document (per_order: from
  the order's own document and its sync post; a collected document without its receipt is
  `missing`; daily_journal: from the journal's sync post, `not_due` until midnight UTC after
  the business day plus the grace, the engine's rule, else `missing`).
- sync_posts: the sync's records of the sale and its refunds (daily_journal: and of the
  store-day's journals): posted / exists / journaled / empty ok; retrying / posting pending;
  held / failed broken.

Exceptions on the chain: the open ones (new, persisting) whose pos_ref is the sale or one of
its refunds, or whose erp_ref is one of its documents or credit notes or a journal of its
own; and the tender_variance of a tender link's store-day and account: when that link is not
ok, whatever its cause (per_order: the order's receipt is part of the variance), and in
daily_journal mode when no other exception explains it (cause not `explained_by_...`: the
store-day journal is the order's only tender posting, and which order of the day is off
cannot be told; an explained variance is the explaining exception's chain's). A variance of
a per_order store-day that the order's own receipts agree with is another order's.

`Chain.text` writes every character a terminal would act on (escape sequences, newlines,
bidi overrides) as its escape: vendor text cannot forge a line or drive the terminal.

Overall status: `broken` when an open exception is on the chain or a link is broken; else
`pending` when a link is pending; else `ok`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, and_, false, or_, select

from recon.config.mappings import Mappings
from recon.kinds import KINDS
from recon.reconcile import DOC_KINDS, STORE_DAY, EngineConfig, store_day_ref
from recon.reconcile.history import OPEN_STATUSES
from recon.snapshot import EXCEPTION_FIELDS
from recon.warehouse.db import text_problem, unpack
from recon.warehouse.frames import frame_of, rows_of, schema_of
from recon.warehouse.models import (
    ErpDocument,
    ErpDocumentLine,
    ErpJournalLine,
    ExceptionRow,
    MapSetting,
    MapTender,
    PosOrder,
    PosOrderLine,
    PosPayment,
    RawPayload,
    SyncPost,
)

__all__ = [
    "BROKEN",
    "LEVELS",
    "OK",
    "PENDING",
    "ROLES",
    "Chain",
    "Link",
    "NotFound",
    "OrderChain",
    "RawRecord",
    "find_chain",
    "order_chain",
]

OK, PENDING, BROKEN = "ok", "pending", "broken"
LEVELS = (OK, PENDING, BROKEN)  # worst last
ROLES = ("order", "documents", "refunds", "credit_notes", "tenders", "sync_posts")
SYNC_LEVEL = {
    "posted": OK,
    "exists": OK,
    "journaled": OK,
    "empty": OK,
    "retrying": PENDING,
    "posting": PENDING,
    "held": BROKEN,
    "failed": BROKEN,
}
# an open exception of one of these kinds on the sale: its document's status (recon.kinds)
MISMATCH = {k.name: k.document_status for k in KINDS if k.document_status is not None}
CENT = Decimal("0.01")
MAX_ALSO = 10  # other chains an ambiguous ID names, listed beside the one shown


# --- the records around an order (the exception drill-down reads these) -------------


@dataclass(frozen=True)
class RawRecord:
    """One vendor record as received, decoded."""

    raw_id: int
    source: str
    entity: str
    vendor_id: str
    fetched_at: datetime
    payload: Any

    @property
    def label(self) -> str:
        return f"{self.source} {self.entity} {self.vendor_id}"


@dataclass(frozen=True, eq=False)
class OrderChain:
    """The rows of a POS order, its refunds and the ERP records that carry them."""

    order_id: str | None
    pos_order: pl.DataFrame
    pos_lines: pl.DataFrame
    pos_payments: pl.DataFrame
    erp_documents: pl.DataFrame
    erp_lines: pl.DataFrame
    erp_journal_lines: pl.DataFrame
    sync_posts: pl.DataFrame
    raw: dict[int, RawRecord] = field(default_factory=dict)
    refunds: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=schema_of(PosOrder)))

    def pos_raw(self) -> list[RawRecord]:
        return self._raw_of(self.pos_order) + self._raw_of(self.refunds)

    def erp_raw(self) -> list[RawRecord]:
        return self._raw_of(self.erp_documents) + self._raw_of(self.erp_journal_lines)

    def _raw_of(self, frame: pl.DataFrame) -> list[RawRecord]:
        ids = dict.fromkeys(i for i in frame.get_column("raw_id").to_list() if i is not None)
        return [self.raw[i] for i in ids if i in self.raw]


def _raw_records(conn: Connection, ids: set[int]) -> dict[int, RawRecord]:
    if not ids:
        return {}
    stmt = select(RawPayload).where(RawPayload.id.in_(sorted(ids)))
    return {
        r["id"]: RawRecord(
            r["id"], r["source"], r["entity"], r["vendor_id"], r["fetched_at"], unpack(r["payload"])
        )
        for r in conn.execute(stmt).mappings()
    }


def order_chain(
    conn: Connection,
    pos_ref: str | None,
    erp_ref: str | None = None,
    store_days: Sequence[str] = (),
) -> OrderChain:
    """The POS order `pos_ref`, its refunds, their lines and payments, and the ERP side.

    ERP documents: those whose pos_ref is the order or a refund of it, whose
    original_pos_ref is the order, or whose doc_no is `erp_ref` (when `pos_ref` is None the
    order is taken from that document). Journal lines: those whose pos_ref is one of those
    orders or one of `store_days` ("{store}-{YYYY-MM-DD}"), or whose journal_id is
    `erp_ref`. Sync posts: the orders' and the store-days' journals'. Raw payloads decoded.
    """
    if pos_ref is None and erp_ref:
        pos_ref = conn.execute(
            select(ErpDocument.pos_ref)
            .where(ErpDocument.doc_no == erp_ref, ErpDocument.pos_ref.is_not(None))
            .limit(1)
        ).scalar_one_or_none()
    pos_order = rows_of(conn, PosOrder, PosOrder.order_id == (pos_ref or ""))
    refunds = rows_of(
        conn,
        PosOrder,
        and_(PosOrder.original_order_id == pos_ref, PosOrder.order_id != pos_ref)
        if pos_ref
        else false(),
        [PosOrder.created_at, PosOrder.order_id],
    )
    orders = [pos_ref, *refunds.get_column("order_id").to_list()] if pos_ref else []
    doc_match: list[ColumnElement[bool]] = [ErpDocument.pos_ref.in_(orders)]
    if pos_ref:
        doc_match.append(ErpDocument.original_pos_ref == pos_ref)
    if erp_ref:
        doc_match.append(ErpDocument.doc_no == erp_ref)
    documents = rows_of(
        conn, ErpDocument, or_(*doc_match), [ErpDocument.posting_date, ErpDocument.doc_no]
    )
    journal_match: list[ColumnElement[bool]] = [ErpJournalLine.pos_ref.in_([*orders, *store_days])]
    if erp_ref:
        journal_match.append(ErpJournalLine.journal_id == erp_ref)
    journal = rows_of(
        conn,
        ErpJournalLine,
        or_(*journal_match),
        [ErpJournalLine.journal_id, ErpJournalLine.line_no],
    )
    post_match: list[ColumnElement[bool]] = [SyncPost.pos_order_id.in_(orders)]
    post_match += [
        SyncPost.post_key.startswith(f"journal:{ref}:", autoescape=True) for ref in store_days
    ]
    chain_raw_ids = {
        i
        for frame in (pos_order, refunds, documents, journal)
        for i in frame.get_column("raw_id").to_list()
        if i is not None
    }
    return OrderChain(
        order_id=pos_ref,
        pos_order=pos_order,
        refunds=refunds,
        pos_lines=rows_of(
            conn,
            PosOrderLine,
            PosOrderLine.order_id.in_(orders),
            [PosOrderLine.order_id, PosOrderLine.line_no],
        ),
        pos_payments=rows_of(
            conn,
            PosPayment,
            PosPayment.order_id.in_(orders),
            [PosPayment.order_id, PosPayment.payment_no],
        ),
        erp_documents=documents,
        erp_lines=rows_of(
            conn,
            ErpDocumentLine,
            ErpDocumentLine.doc_id.in_(documents.get_column("doc_id").to_list()),
            [ErpDocumentLine.doc_id, ErpDocumentLine.line_no],
        ),
        erp_journal_lines=journal,
        sync_posts=rows_of(
            conn, SyncPost, or_(*post_match), [SyncPost.first_attempt_at, SyncPost.id]
        ),
        raw=_raw_records(conn, chain_raw_ids),
    )


# --- the chain with its statuses -------------------------------------------------------


class NotFound(LookupError):
    """ID names no POS order, ERP document or per-order journal (the message says which)."""


@dataclass(frozen=True)
class Link:
    """One link of a chain: its reference (None: a link that should be there and is not),
    its status word, its level (ok / pending / broken), why in words, and its values."""

    ref: str | None
    status: str
    level: str
    detail: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    raw_id: int | None = None

    def record(self) -> dict[str, Any]:
        """JSON-ready: money as strings with two decimals, days and instants ISO."""
        shown = {"ref": self.ref, "status": self.status, "level": self.level}
        return {**shown, "detail": self.detail or None, **_jsonable(self.values)}


@dataclass(frozen=True, eq=False)
class Chain:
    """One POS order's chain as `find_chain` found it (see the module's rules)."""

    query: str
    found_as: str  # pos_order, refund, doc_no, doc_id, journal_id
    order_id: str | None
    status: str
    order: Link | None
    documents: tuple[Link, ...]
    refunds: tuple[Link, ...]
    credit_notes: tuple[Link, ...]
    tenders: tuple[Link, ...]
    sync_posts: tuple[Link, ...]
    exceptions: pl.DataFrame  # the open exceptions on the chain (CONTRACT fields)
    records: OrderChain
    also: tuple[tuple[str, str | None], ...] = ()  # other chains ID names: (found_as, order)

    def of(self, role: str) -> tuple[Link, ...]:
        """The links of one of ROLES (the order: none or one)."""
        if role == "order":
            return (self.order,) if self.order else ()
        links: tuple[Link, ...] = getattr(self, role)
        return links

    def links(self) -> Iterator[tuple[str, Link]]:
        """(role, link) for every link, in the chain's order."""
        for role in ROLES:
            for link in self.of(role):
                yield role, link

    @property
    def exception_ids(self) -> list[str]:
        return list(self.exceptions.get_column("id").to_list())

    def record(self) -> dict[str, Any]:
        """The chain as one JSON object: status, exception ids, then every link by role."""
        out: dict[str, Any] = {
            "query": self.query,
            "found_as": self.found_as,
            "order_id": self.order_id,
            "status": self.status,
            "exceptions": self.exception_ids,
            "order": self.order.record() if self.order else None,
            "also": [{"found_as": how, "order_id": order} for how, order in self.also],
        }
        for role in ROLES[1:]:
            out[role] = [link.record() for link in self.of(role)]
        return out

    def text(self) -> str:
        """A readable tree: the chain, each link with its status, then the exceptions."""
        head = f"POS order {self.order_id}" if self.order_id else f"ERP document {self.query}"
        lines = [f"{head}: {self.status}"]
        if self.query != self.order_id:
            lines[0] += f" (found by {self.found_as.replace('_', ' ')} {self.query})"
        for how, order in self.also:
            chain = f"POS order {order}'s chain" if order else "a document of no POS order"
            lines.append(f"  also: {how.replace('_', ' ')} {self.query} is on {chain}")
        titles = {
            "order": "sale",
            "documents": "ERP documents",
            "refunds": "refunds",
            "credit_notes": "credit notes",
            "tenders": "tender postings",
            "sync_posts": "sync posts",
        }
        for role in ROLES:
            links = self.of(role)
            if not links:
                lines.append(f"  {titles[role]}: none")
                continue
            lines.append(f"  {titles[role]}:")
            lines += [f"    {_line(link)}" for link in links]
        lines.append(f"  exceptions: {self.exceptions.height or 'none'}")
        for e in self.exceptions.iter_rows(named=True):
            refs = " ".join(f"{k} {e[k]}" for k in ("pos_ref", "erp_ref", "tender") if e[k])
            lines.append(f"    {e['id']}  {e['kind']} ({e['cause']})  {refs}".rstrip())
        return "\n".join(map(printable, lines))


def printable(text: str) -> str:
    """`text` with every character a terminal would act on or hide written as its escape
    (`\\x1b`, `\\n`, `\\u202e`): vendor text must not move the cursor, recolour, retitle the
    terminal or start a line of its own."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _shown(ident: str) -> str:
    """An ID as a message repeats it: quoted, escaped, at most 60 characters of it."""
    return repr(ident) if len(ident) <= 60 else f"{ident[:60]!r}... ({len(ident)} characters)"


def _line(link: Link) -> str:
    v = link.values
    money = next((k for k in ("gross_total", "pos_amount") if v.get(k) is not None), None)
    parts = [link.ref or "(none)", f"{link.status} [{link.level}]"]
    if money:
        parts.append(f"{_money(v[money])} {v.get('currency') or ''}".strip())
    if v.get("erp_amount") is not None:
        parts.append(f"ERP {_money(v['erp_amount'])}")
    if link.detail:
        parts.append(link.detail)
    return "  ".join(parts)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = _money(value)
        elif isinstance(value, date | datetime):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


# --- finding the chain ---------------------------------------------------------------


def _sale_of(conn: Connection, order_id: str, original: str | None = None) -> str:
    """The sale whose chain `order_id` belongs to: a refund's original sale (from the POS
    order, else the `original` the ERP names), else the order itself."""
    found = conn.execute(
        select(PosOrder.original_order_id).where(PosOrder.order_id == order_id)
    ).first()
    if found is not None and found[0]:
        return str(found[0])
    return original or order_id


def _matches(conn: Connection, ident: str) -> Iterator[tuple[str | None, str, str | None]]:
    """Everything `ident` names, in the module's order, as (the sale's POS order id, how ID
    was found, the ERP doc_no of a document carrying no POS order); a store-day journal as
    (its `{store}-{YYYY-MM-DD}`, "store_day", None)."""
    if conn.execute(select(PosOrder.order_id).where(PosOrder.order_id == ident)).first():
        sale = _sale_of(conn, ident)
        yield sale, "pos_order" if sale == ident else "refund", None
    for column, how in ((ErpDocument.doc_no, "doc_no"), (ErpDocument.doc_id, "doc_id")):
        docs = conn.execute(
            select(ErpDocument.doc_no, ErpDocument.pos_ref, ErpDocument.original_pos_ref)
            .where(column == ident)
            .order_by(ErpDocument.pos_ref.is_(None), ErpDocument.doc_id)
            .limit(MAX_ALSO + 1)
        )
        for doc in docs:
            if doc.pos_ref:  # the document is on its order's chain through its pos_ref
                yield _sale_of(conn, doc.pos_ref, doc.original_pos_ref), how, None
            else:
                yield doc.original_pos_ref, how, doc.doc_no
    refs = conn.execute(
        select(ErpJournalLine.pos_ref)
        .where(ErpJournalLine.journal_id == ident, ErpJournalLine.pos_ref.is_not(None))
        .distinct()
    ).scalars()
    for ref in sorted(r for r in refs if r is not None):
        if (
            re.match(STORE_DAY, ref)
            and not conn.execute(select(PosOrder.order_id).where(PosOrder.order_id == ref)).first()
        ):
            yield ref, "store_day", None
        else:
            yield _sale_of(conn, ref), "journal_id", None


def _resolve(
    conn: Connection, ident: str
) -> tuple[str | None, str, str | None, tuple[tuple[str, str | None], ...]]:
    """(the sale's POS order id, how ID was found, the ERP doc_no it named, and the other
    chains it names as (how, sale), at most MAX_ALSO)."""
    found = list(_matches(conn, ident))
    chains = [m for m in found if m[1] != "store_day"]
    if not chains and found:
        raise NotFound(
            f"{_shown(ident)} is the store-day journal {found[0][0]}, not one order's: "
            "search one of its orders or ERP documents"
        )
    if not chains:
        raise NotFound(f"no POS order, ERP document or journal with ID {_shown(ident)}")
    sale, how, doc_no = chains[0]
    also = dict.fromkeys((h, s) for s, h, _ in chains[1:] if s != sale)
    return sale, how, doc_no, tuple(also)[:MAX_ALSO]


def find_chain(conn: Connection, ident: str, now: datetime | None = None) -> Chain:
    """The chain of the POS order (or ERP document / journal) `ident`, judged at `now`
    (default: the current time). `NotFound` when nothing has that ID."""
    ident = ident.strip()
    if not ident:
        raise NotFound("give a POS order id or an ERP document number")
    if (problem := text_problem(ident)) is not None:
        raise NotFound(f"{_shown(ident)} is no ID: it holds {problem}")
    sale, found_as, doc_no, also = _resolve(conn, ident)
    settings = {k: v for k, v in conn.execute(select(MapSetting.key, MapSetting.value))}
    modes = Mappings(settings=settings)
    orders = rows_of(
        conn,
        PosOrder,
        or_(PosOrder.order_id == (sale or ""), PosOrder.original_order_id == (sale or "")),
    )
    daily = {
        _store_day(r)
        for r in orders.iter_rows(named=True)
        if modes.mode_of(r["store_id"]) == "daily_journal"
    }
    records = order_chain(conn, sale, doc_no, sorted(daily))
    judge = _Judge(
        records=records,
        modes=modes,
        config=EngineConfig.from_settings(settings),
        accounts={t: a for t, a in conn.execute(select(MapTender.tender, MapTender.account))},
        now=now or datetime.now(UTC),
    )
    tenders, involved = judge.tenders()
    exceptions = _open_exceptions(conn, records, involved)
    mismatch = {
        ref: kind
        for kind, ref in exceptions.select("kind", "pos_ref").reverse().iter_rows()
        if kind in MISMATCH and ref is not None
    }
    order = judge.order()
    documents = judge.documents(mismatch)
    refunds = judge.refunds()
    credit_notes = judge.credit_notes(mismatch)
    sync_posts = judge.sync_posts()
    links = [*documents, *refunds, *credit_notes, *tenders, *sync_posts]
    levels = {link.level for link in ([order] if order else []) + links}
    status = (
        BROKEN if BROKEN in levels or exceptions.height else PENDING if PENDING in levels else OK
    )
    return Chain(
        query=ident,
        found_as=found_as,
        order_id=sale,
        status=status,
        order=order,
        documents=documents,
        refunds=refunds,
        credit_notes=credit_notes,
        tenders=tenders,
        sync_posts=sync_posts,
        exceptions=exceptions,
        records=records,
        also=also,
    )


def _store_day(row: Mapping[str, Any]) -> str:
    return store_day_ref(row["store_id"], row["business_day"])


_EXC_SCHEMA = {name: schema_of(ExceptionRow)[name] for name in EXCEPTION_FIELDS}


def _open_exceptions(
    conn: Connection, records: OrderChain, involved: Mapping[tuple[str, date, str], bool]
) -> pl.DataFrame:
    """The open exceptions on the chain (see the module's rules), by kind and id."""
    t = ExceptionRow
    orders = [
        *records.pos_order.get_column("order_id").to_list(),
        *records.refunds.get_column("order_id").to_list(),
    ]
    if records.order_id and records.order_id not in orders:
        orders.append(records.order_id)
    erp_refs = records.erp_documents.get_column("doc_no").to_list()
    erp_refs += [
        j
        for j, ref in records.erp_journal_lines.select("journal_id", "pos_ref").iter_rows()
        if ref in orders
    ]
    explained = t.cause.startswith("explained_by_", autoescape=True)
    variance = [
        and_(t.store == store, t.business_day == day, t.account == account)
        if any_cause
        else and_(t.store == store, t.business_day == day, t.account == account, ~explained)
        for (store, day, account), any_cause in sorted(involved.items())
    ]
    on_chain = or_(
        t.pos_ref.in_(orders),
        t.erp_ref.in_(erp_refs),
        and_(t.kind == "tender_variance", or_(false(), *variance)),
    )
    stmt = (
        select(*(t.__table__.c[name] for name in EXCEPTION_FIELDS))
        .where(t.status.in_(OPEN_STATUSES), on_chain)
        .order_by(t.kind, t.id)
    )
    return frame_of(conn, stmt, _EXC_SCHEMA)


@dataclass(frozen=True, eq=False)
class _Judge:
    """The link rules of the module's docstring, over one `OrderChain`."""

    records: OrderChain
    modes: Mappings
    config: EngineConfig
    accounts: Mapping[str, str]  # POS tender -> ERP account
    now: datetime

    # --- the rows, by what they are ---

    def _rows(self, frame: pl.DataFrame) -> list[dict[str, Any]]:
        return list(frame.iter_rows(named=True))

    @property
    def sale(self) -> dict[str, Any] | None:
        rows = self._rows(self.records.pos_order)
        return rows[0] if rows else None

    def _orders(self) -> list[dict[str, Any]]:
        sale = self.sale
        return ([sale] if sale else []) + self._rows(self.records.refunds)

    def _daily(self, order: Mapping[str, Any]) -> bool:
        return self.modes.mode_of(order["store_id"]) == "daily_journal"

    def _post(self, key: str) -> dict[str, Any] | None:
        posts = self.records.sync_posts.filter(pl.col("post_key") == key)
        return posts.row(0, named=True) if posts.height else None

    def _doc_post(self, order: Mapping[str, Any]) -> dict[str, Any] | None:
        kind = "credit_note" if order["order_type"] == "refund" else "sale"
        return self._post(f"{kind}:{order['order_id']}")

    # --- the links ---

    def order(self) -> Link | None:
        sale = self.sale
        if sale is not None and sale["order_type"] == "refund":  # its original: itself or a refund
            why = f"a refund of {sale['original_order_id']}; no sale starts this chain"
            return replace(_order_link(sale), status="not_a_sale", level=BROKEN, detail=why)
        if sale is not None:
            return _order_link(sale)
        if self.records.order_id is None:
            return None
        return Link(
            self.records.order_id,
            "missing",
            BROKEN,
            "an ERP record names this POS order; the warehouse has no such order",
        )

    def refunds(self) -> tuple[Link, ...]:
        return tuple(_order_link(r) for r in self._rows(self.records.refunds))

    def _docs_of(
        self, order_id: str | None, credit: bool, kind: bool = True
    ) -> list[dict[str, Any]]:
        """The documents carrying `order_id` of its kind (credit notes for a refund), or
        (`kind` False) of any other kind: an invoice carrying a refund, a credit note a sale."""
        docs = self.records.erp_documents
        kinds = (
            pl.col("doc_type") == "credit_note" if credit else pl.col("doc_type").is_in(DOC_KINDS)
        )
        if order_id is None:  # an ERP document carrying no POS order: the chain is itself
            return self._rows(docs.filter(pl.col("pos_ref").is_null())) if kind else []
        kinds = kinds if kind else kinds.not_()
        return self._rows(docs.filter(kinds & (pl.col("pos_ref") == order_id)))

    def _doc_links(
        self, order: Mapping[str, Any] | None, credit: bool, mismatch: Mapping[str, str]
    ) -> list[Link]:
        order_id = order["order_id"] if order else self.records.order_id
        docs = self._docs_of(order_id, credit)
        if order_id is None:
            return [_doc_link(d, "no_pos_order", BROKEN, "carries no POS order id") for d in docs]
        links: list[Link] = []
        for n, doc in enumerate(docs):
            if n:
                links.append(
                    _doc_link(doc, "duplicate", BROKEN, f"a second document for {order_id}")
                )
            elif order is not None and not _due(order):
                links.append(
                    _doc_link(doc, "not_due", BROKEN, f"the POS order is {order['state']}")
                )
            elif order_id in mismatch:
                why = f"the engine's open {mismatch[order_id]} on {order_id}"
                links.append(_doc_link(doc, MISMATCH[mismatch[order_id]], BROKEN, why))
            else:
                links.append(_doc_link(doc, "posted", OK))
        if not docs and order is not None and _due(order) and not self._daily(order):
            links.append(self._absent(self._doc_post(order), order, "no ERP document carries it"))
        what = "refund" if credit else "sale"
        links += [
            _doc_link(d, "wrong_type", BROKEN, f"a {d['doc_type']} carries the {what} {order_id}")
            for d in self._docs_of(order_id, credit, kind=False)
        ]
        return links

    def documents(self, mismatch: Mapping[str, str]) -> tuple[Link, ...]:
        """`mismatch`: order id -> the MISMATCH kind of an open exception on it."""
        sale = self.sale  # a refund standing as the sale (a loop): its credit notes
        return tuple(self._doc_links(sale, bool(sale and sale["order_type"] == "refund"), mismatch))

    def credit_notes(self, mismatch: Mapping[str, str]) -> tuple[Link, ...]:
        links: list[Link] = []
        refund_ids = set(self.records.refunds.get_column("order_id").to_list())
        for refund in self._rows(self.records.refunds):
            links += self._doc_links(refund, True, mismatch)
        if self.records.order_id is not None:
            stray = self.records.erp_documents.filter(
                (pl.col("doc_type") == "credit_note")
                & (pl.col("original_pos_ref") == self.records.order_id)
                & pl.col("pos_ref").is_in(sorted(refund_ids)).not_().fill_null(True)
            )
            links += [
                _doc_link(d, "no_refund", BROKEN, "no POS refund of the sale carries it")
                for d in self._rows(stray)
            ]
        return tuple(links)

    def _absent(
        self, post: Mapping[str, Any] | None, order: Mapping[str, Any], missing: str
    ) -> Link:
        """The link that should be there and is not: why, from the sync post that writes it."""
        values = {"order_id": order["order_id"]}
        if post is not None:
            status = post["status"]
            why = "; ".join(str(p) for p in (post["reason"], post["message"]) if p)
            if status in ("posted", "exists", "journaled"):
                ref = f" as {post['erp_ref']}" if post["erp_ref"] else ""
                return Link(
                    None, "not_collected", PENDING, f"posted{ref}; not collected yet", values
                )
            if status in ("retrying", "posting"):
                return Link(None, "posting", PENDING, why or "the sync is posting it", values)
            if status in ("held", "failed"):
                return Link(None, status, BROKEN, why or f"the sync {status} it", values)
        if order["created_at"] > self.now - self.config.grace:
            return Link(None, "not_posted_yet", PENDING, "younger than the grace period", values)
        return Link(None, "missing", BROKEN, missing, values)

    def tenders(self) -> tuple[tuple[Link, ...], dict[tuple[str, date, str], bool]]:
        """The tender links, and the (store, day, account) whose variance is on the chain:
        True for any variance there (an order's own receipt is off), False for one that no
        other exception explains (a daily_journal store-day's)."""
        links: list[Link] = []
        involved: dict[tuple[str, date, str], bool] = {}
        payments = self.records.pos_payments.group_by(
            "order_id", "tender", maintain_order=True
        ).agg(pl.col("amount").sum())
        journal = self.records.erp_journal_lines
        for order in self._orders():
            paid = payments.filter(pl.col("order_id") == order["order_id"])
            for tender, amount in paid.select("tender", "amount").iter_rows():
                link, account = self._tender(order, tender, amount, journal)
                links.append(link)
                if account is not None and (self._daily(order) or link.level != OK):
                    key = (order["store_id"], order["business_day"], account)
                    involved[key] = involved.get(key, False) or link.level != OK
        return tuple(links), involved

    def _tender(
        self, order: Mapping[str, Any], tender: str, amount: Decimal, journal: pl.DataFrame
    ) -> tuple[Link, str | None]:
        account = self.accounts.get(tender)
        daily = self._daily(order)
        ref = _store_day(order) if daily else order["order_id"]
        values: dict[str, Any] = {
            "order_id": order["order_id"],
            "tender": tender,
            "account": account,
            "pos_amount": amount,
            "erp_amount": None,
            "currency": order["currency"],
            "journals": [],
            "store_day": _store_day(order) if daily else None,
        }
        if account is None:
            return Link(tender, "unmapped", BROKEN, "no ERP account is mapped", values), None
        lines = journal.filter((pl.col("pos_ref") == ref) & (pl.col("account") == account))
        if lines.height:
            erp = Decimal(lines.get_column("amount").sum())
            values |= {"erp_amount": erp, "journals": sorted(set(lines["journal_id"].to_list()))}
            if daily:
                detail = f"in the store-day journal {ref} (its amount is the day's)"
                return Link(tender, "journaled", OK, detail, values), account
            others = sorted(set(lines["currency"].to_list()) - {order["currency"]})
            if others:  # amounts in two currencies do not add up, nor compare
                why = f"the ERP received it in {', '.join(others)}, not {order['currency']}"
                return Link(tender, "differs", BROKEN, why, values), account
            if self.config.tender.allows(amount, erp):
                return Link(tender, "received", OK, "", values), account
            return Link(
                tender, "differs", BROKEN, "the ERP received another amount", values
            ), account
        if not _due(order):
            return Link(
                tender, "not_due", PENDING, f"the POS order is {order['state']}", values
            ), account
        if daily:
            absent = self._absent(self._post(f"journal:{ref}:{tender}"), order, "no journal line")
            closes = datetime.combine(order["business_day"], datetime.min.time(), UTC)
            if absent.status == "not_posted_yet" or (
                absent.status == "missing"
                and self.now < closes + timedelta(days=1) + self.config.grace
            ):
                absent = Link(None, "not_due", PENDING, f"the store-day {ref} has not closed", {})
        elif self._docs_of(order["order_id"], order["order_type"] == "refund"):
            absent = Link(
                None, "missing", BROKEN, "its document is in the ERP, its receipt not", {}
            )
        else:
            absent = self._absent(self._doc_post(order), order, "no ERP receipt or payment")
        return Link(tender, absent.status, absent.level, absent.detail, values), account

    def sync_posts(self) -> tuple[Link, ...]:
        return tuple(
            Link(
                p["post_key"],
                p["status"],
                SYNC_LEVEL.get(p["status"], PENDING),
                "; ".join(str(v) for v in (p["reason"], p["message"]) if v),
                {
                    k: p[k]
                    for k in ("kind", "pos_order_id", "erp_ref", "attempts", "last_attempt_at")
                },
            )
            for p in self._rows(self.records.sync_posts)
        )


def _due(order: Mapping[str, Any]) -> bool:
    """A completed, paid order: it must be in the ERP."""
    return bool(order["state"] == "completed" and order["paid"])


def _order_link(row: Mapping[str, Any]) -> Link:
    if row["state"] == "cancelled":
        status, level, detail = "cancelled", OK, "never posts"
    elif row["state"] != "completed":
        status, level, detail = row["state"], PENDING, "may still complete; posts once paid"
    elif not row["paid"]:
        status, level, detail = "unpaid", PENDING, "posts once paid"
    else:
        status, level, detail = "completed", OK, ""
    keys = ("order_type", "store_id", "business_day", "state", "paid", "original_order_id",
            "gross_total", "vat_total", "currency")  # fmt: skip
    return Link(row["order_id"], status, level, detail, {k: row[k] for k in keys}, row["raw_id"])


def _doc_link(row: Mapping[str, Any], status: str, level: str, detail: str = "") -> Link:
    keys = ("doc_id", "doc_type", "pos_ref", "original_pos_ref", "location", "posting_date",
            "gross_total", "vat_total", "currency")  # fmt: skip
    return Link(row["doc_no"], status, level, detail, {k: row[k] for k in keys}, row["raw_id"])
