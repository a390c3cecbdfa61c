"""One exception's order chain: the POS order, the ERP records that carry it, and their raw
payloads as the vendors sent them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, false, or_, select

from recon.app.queries._frames import _table
from recon.warehouse.db import unpack
from recon.warehouse.models import (
    ErpDocument,
    ErpDocumentLine,
    ErpJournalLine,
    PosOrder,
    PosOrderLine,
    PosPayment,
    RawPayload,
    SyncPost,
)


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
    """The POS order an exception is about and the ERP records that carry it."""

    order_id: str | None
    pos_order: pl.DataFrame
    pos_lines: pl.DataFrame
    pos_payments: pl.DataFrame
    erp_documents: pl.DataFrame
    erp_lines: pl.DataFrame
    erp_journal_lines: pl.DataFrame
    sync_posts: pl.DataFrame
    raw: dict[int, RawRecord] = field(default_factory=dict)

    def pos_raw(self) -> list[RawRecord]:
        return self._raw_of(self.pos_order)

    def erp_raw(self) -> list[RawRecord]:
        return self._raw_of(self.erp_documents) + self._raw_of(self.erp_journal_lines)

    def _raw_of(self, frame: pl.DataFrame) -> list[RawRecord]:
        ids = dict.fromkeys(i for i in frame.get_column("raw_id").to_list() if i is not None)
        return [self.raw[i] for i in ids if i in self.raw]


def _raw_records(conn: Connection, ids: set[int]) -> dict[int, RawRecord]:
    if not ids:
        return {}
    stmt = select(RawPayload).where(RawPayload.id.in_(sorted(ids)))
    out: dict[int, RawRecord] = {}
    for r in conn.execute(stmt).mappings():
        out[r["id"]] = RawRecord(
            r["id"],
            r["source"],
            r["entity"],
            r["vendor_id"],
            r["fetched_at"],
            unpack(r["payload"]),
        )
    return out


def order_chain(
    conn: Connection,
    pos_ref: str | None,
    erp_ref: str | None = None,
    store_day_ref: str | None = None,
) -> OrderChain:
    """The POS order `pos_ref`, its lines and payments, and the ERP side of it.

    ERP documents: those whose pos_ref is the order, or whose doc_no is `erp_ref`
    (when `pos_ref` is unknown the order is taken from that document). Journal lines:
    those whose pos_ref is the order or `store_day_ref` ("{store}-{YYYY-MM-DD}"), or
    whose journal_id is `erp_ref`. Raw payloads are decoded.
    """
    doc_match: list[ColumnElement[bool]] = []
    if erp_ref:
        doc_match.append(ErpDocument.doc_no == erp_ref)
    order_id = pos_ref
    if order_id is None and doc_match:
        order_id = conn.execute(
            select(ErpDocument.pos_ref)
            .where(or_(*doc_match), ErpDocument.pos_ref.is_not(None))
            .limit(1)
        ).scalar_one_or_none()
    if order_id:
        doc_match.append(ErpDocument.pos_ref == order_id)
    documents = _table(
        conn, ErpDocument, or_(false(), *doc_match), order_by=[ErpDocument.posting_date]
    )
    doc_ids = documents.get_column("doc_id").to_list()
    refs = [r for r in (order_id, store_day_ref) if r]
    journal_match: list[ColumnElement[bool]] = [ErpJournalLine.pos_ref.in_(refs)] if refs else []
    if erp_ref:
        journal_match.append(ErpJournalLine.journal_id == erp_ref)
    journal = _table(
        conn,
        ErpJournalLine,
        or_(false(), *journal_match),
        order_by=[ErpJournalLine.journal_id, ErpJournalLine.line_no],
    )
    oid = order_id or ""
    pos_order = _table(conn, PosOrder, PosOrder.order_id == oid)
    chain_raw_ids = {
        i
        for frame in (pos_order, documents, journal)
        for i in frame.get_column("raw_id").to_list()
        if i is not None
    }
    return OrderChain(
        order_id=order_id,
        pos_order=pos_order,
        pos_lines=_table(conn, PosOrderLine, PosOrderLine.order_id == oid, [PosOrderLine.line_no]),
        pos_payments=_table(conn, PosPayment, PosPayment.order_id == oid, [PosPayment.payment_no]),
        erp_documents=documents,
        erp_lines=_table(
            conn,
            ErpDocumentLine,
            ErpDocumentLine.doc_id.in_(doc_ids),
            [ErpDocumentLine.doc_id, ErpDocumentLine.line_no],
        ),
        erp_journal_lines=journal,
        sync_posts=_table(
            conn, SyncPost, SyncPost.pos_order_id == oid, [SyncPost.first_attempt_at]
        ),
        raw=_raw_records(conn, chain_raw_ids),
    )
